#include "agent/exec/command.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hacluster::exec {
namespace {

using spec::v1::Resource;

constexpr absl::Duration kDefaultTimeout = absl::Seconds(20);

// The name shown in errors: the resource's own, else one from its kind.
std::string DisplayName(const Resource& r) {
  if (!r.name().empty()) return r.name();
  switch (r.kind_case()) {
    case Resource::kIp:
      return r.ip().address();
    case Resource::kLsb:
      return r.lsb().name();
    case Resource::kHeartbeat:
      return r.heartbeat().name();
    case Resource::kOcf:
      return r.ocf().type();
    case Resource::KIND_NOT_SET:
      break;
  }
  return "(unnamed)";
}

absl::Status Invalid(const Resource& r, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("resource ", DisplayName(r), ": ", what));
}

// A name that is used as one path component.
absl::Status CheckFileName(const Resource& r, absl::string_view field,
                           absl::string_view value) {
  if (value.empty()) return Invalid(r, absl::StrCat(field, " is empty"));
  if (value == "." || value == ".." || absl::StrContains(value, '/') ||
      absl::StrContains(value, '\0')) {
    return Invalid(r, absl::StrCat(field, " '", value,
                                   "' is not a plain file name"));
  }
  return absl::OkStatus();
}

absl::Status CheckNoNul(const Resource& r, absl::string_view field,
                        absl::string_view value) {
  if (absl::StrContains(value, '\0')) {
    return Invalid(r, absl::StrCat(field, " contains a NUL byte"));
  }
  return absl::OkStatus();
}

bool IsEnvName(absl::string_view name) {
  if (name.empty()) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(name[0])) &&
      name[0] != '_') {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

// OK when `path` is an executable regular file; otherwise the reason.
absl::Status CheckExecutable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return absl::Status(absl::ErrnoToStatusCode(err),
                        absl::StrCat("script ", path, ": ", strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("script ", path, " is not a regular file"));
  }
  if (access(path.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("script ", path, " is not executable: ",
                     strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WithResource(const Resource& r, const absl::Status& s) {
  return absl::Status(s.code(),
                      absl::StrCat("resource ", DisplayName(r), ": ",
                                   s.message()));
}

// The directory that holds `dir` ("/etc/ha.d" for "/etc/ha.d/resource.d").
std::string ParentDir(absl::string_view dir) {
  dir = absl::StripSuffix(dir, "/");
  const size_t slash = dir.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(dir.substr(0, slash));
}

std::string ScriptVerb(Op op, bool ocf) {
  switch (op) {
    case Op::kStart:
      return "start";
    case Op::kStop:
      return "stop";
    case Op::kMonitor:
      return ocf ? "monitor" : "status";
  }
  return "status";
}

int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::StatusOr<Command> LsbCommand(const Resource& r, Op op,
                                   const ScriptPaths& paths) {
  const std::string& name = r.lsb().name();
  if (absl::Status s = CheckFileName(r, "lsb name", name); !s.ok()) return s;
  std::string path = absl::StrCat(paths.init_d, "/", name);
  if (absl::Status s = CheckExecutable(path); !s.ok()) {
    return WithResource(r, s);
  }
  Command c;
  c.argv = {std::move(path), ScriptVerb(op, false)};
  c.env = {absl::StrCat("PATH=", kScriptPath)};
  c.timeout = OpTimeout(r, op);
  return c;
}

absl::StatusOr<Command> HeartbeatCommand(const Resource& r, Op op,
                                         const ScriptPaths& paths) {
  const spec::v1::HeartbeatScript& hb = r.heartbeat();
  if (absl::Status s = CheckFileName(r, "heartbeat script name", hb.name());
      !s.ok()) {
    return s;
  }
  for (const std::string& arg : hb.args()) {
    if (absl::Status s = CheckNoNul(r, "argument", arg); !s.ok()) return s;
  }
  // ResourceManager's scriptpath(): resource.d first, then init.d, each
  // taken only when it is an executable file.
  std::string path = absl::StrCat(paths.resource_d, "/", hb.name());
  const absl::Status in_resource_d = CheckExecutable(path);
  if (!in_resource_d.ok()) {
    std::string init_path = absl::StrCat(paths.init_d, "/", hb.name());
    const absl::Status in_init_d = CheckExecutable(init_path);
    if (!in_init_d.ok()) {
      const bool missing = absl::IsNotFound(in_resource_d) &&
                           absl::IsNotFound(in_init_d);
      return absl::Status(
          missing ? absl::StatusCode::kNotFound
                  : absl::StatusCode::kFailedPrecondition,
          absl::StrCat("resource ", DisplayName(r), ": no usable script: ",
                       in_resource_d.message(), "; ", in_init_d.message()));
    }
    path = std::move(init_path);
  }
  Command c;
  c.argv.reserve(hb.args_size() + 2);
  c.argv.push_back(std::move(path));
  for (const std::string& arg : hb.args()) c.argv.push_back(arg);
  c.argv.push_back(ScriptVerb(op, false));
  const std::string ha_dir = ParentDir(paths.resource_d);
  c.env = {
      absl::StrCat("PATH=", kScriptPath),
      absl::StrCat("HA_DIR=", ha_dir),
      absl::StrCat("HA_FUNCS=", ha_dir, "/shellfuncs"),
      absl::StrCat("HA_RESOURCEDIR=", paths.resource_d),
      absl::StrCat("OCF_ROOT=", paths.ocf_root),
      "HA_LOGFACILITY=none",
      "HA_DEBUGLOG=/dev/null",
  };
  c.timeout = OpTimeout(r, op);
  return c;
}

absl::StatusOr<Command> OcfCommand(const Resource& r, Op op,
                                   const ScriptPaths& paths) {
  const spec::v1::OcfAgent& ocf = r.ocf();
  const std::string provider =
      ocf.provider().empty() ? "heartbeat" : ocf.provider();
  if (absl::Status s = CheckFileName(r, "ocf type", ocf.type()); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckFileName(r, "ocf provider", provider); !s.ok()) {
    return s;
  }
  // Sorted, so that the environment does not depend on map order.
  std::map<std::string, std::string> vars;
  for (const auto& [key, value] : ocf.params()) {
    if (!IsEnvName(key)) {
      return Invalid(r, absl::StrCat("param name '", key,
                                     "' is not usable as an environment "
                                     "variable (letters, digits and '_')"));
    }
    if (absl::Status s = CheckNoNul(r, absl::StrCat("param ", key), value);
        !s.ok()) {
      return s;
    }
    vars[absl::StrCat("OCF_RESKEY_", key)] = value;
  }
  std::string path =
      absl::StrCat(paths.ocf_root, "/resource.d/", provider, "/", ocf.type());
  if (absl::Status s = CheckExecutable(path); !s.ok()) {
    return WithResource(r, s);
  }
  const absl::Duration timeout = OpTimeout(r, op);
  const absl::Duration interval =
      op == Op::kMonitor && r.has_monitor_interval()
          ? FromProto(r.monitor_interval())
          : absl::ZeroDuration();
  // Params of the same name win over these (emplace keeps the first).
  vars.emplace("OCF_RESKEY_CRM_meta_timeout", absl::StrCat(Ms(timeout)));
  vars.emplace("OCF_RESKEY_CRM_meta_interval", absl::StrCat(Ms(interval)));

  Command c;
  c.argv = {std::move(path), ScriptVerb(op, true)};
  c.env = {
      absl::StrCat("PATH=", kScriptPath),
      absl::StrCat("OCF_ROOT=", paths.ocf_root),
      "OCF_RA_VERSION_MAJOR=1",
      "OCF_RA_VERSION_MINOR=0",
      absl::StrCat("OCF_RESOURCE_INSTANCE=",
                   r.name().empty() ? ocf.type() : r.name()),
      absl::StrCat("OCF_RESOURCE_TYPE=", ocf.type()),
      absl::StrCat("OCF_RESOURCE_PROVIDER=", provider),
  };
  c.env.reserve(c.env.size() + vars.size());
  for (const auto& [name, value] : vars) {
    c.env.push_back(absl::StrCat(name, "=", value));
  }
  c.timeout = timeout;
  return c;
}

// ---- Interpretation ----

// The meaning of an OCF (and LSB non-status) exit code.
const char* OcfCodeText(int code) {
  switch (code) {
    case 0:
      return "success";
    case 1:
      return "generic error";
    case 2:
      return "invalid arguments";
    case 3:
      return "unimplemented";
    case 4:
      return "insufficient privileges";
    case 5:
      return "not installed";
    case 6:
      return "not configured";
    case 7:
      return "not running";
    default:
      return nullptr;
  }
}

const char* LsbStatusText(int code) {
  switch (code) {
    case 0:
      return "running";
    case 1:
      return "dead, pid file exists";
    case 2:
      return "dead, lock file exists";
    case 3:
      return "not running";
    case 4:
      return "status unknown";
    default:
      return nullptr;
  }
}

// The last non-blank line of `output`, trimmed.
std::string LastLine(absl::string_view output) {
  output = absl::StripTrailingAsciiWhitespace(output);
  const size_t nl = output.rfind('\n');
  if (nl != absl::string_view::npos) output.remove_prefix(nl + 1);
  return std::string(absl::StripAsciiWhitespace(output));
}

// The reason an OCF agent gave with ocf_exit_reason (the last one), else
// the last line of output.
std::string OcfReason(absl::string_view output) {
  constexpr absl::string_view kPrefix = "ocf-exit-reason:";
  size_t pos = output.rfind(kPrefix);
  while (pos != absl::string_view::npos) {
    if (pos == 0 || output[pos - 1] == '\n') {
      absl::string_view rest = output.substr(pos + kPrefix.size());
      const size_t nl = rest.find('\n');
      if (nl != absl::string_view::npos) rest = rest.substr(0, nl);
      rest = absl::StripAsciiWhitespace(rest);
      if (!rest.empty()) return std::string(rest);
    }
    if (pos == 0) break;
    pos = output.rfind(kPrefix, pos - 1);
  }
  return LastLine(output);
}

std::string WithDetail(std::string text, absl::string_view detail) {
  if (!detail.empty()) absl::StrAppend(&text, ": ", detail);
  return text;
}

std::string ExitText(int code, const char* meaning, absl::string_view detail) {
  std::string text = absl::StrCat("exit status ", code);
  if (meaning != nullptr) absl::StrAppend(&text, " (", meaning, ")");
  return WithDetail(std::move(text), detail);
}

const char* DoneText(Op op) {
  switch (op) {
    case Op::kStart:
      return "started";
    case Op::kStop:
      return "stopped";
    case Op::kMonitor:
      return "running";
  }
  return "done";
}

// Start and stop of OCF agents and LSB scripts: the same codes.
Outcome ActionOutcome(Op op, int code, absl::string_view reason) {
  if (code == 0) return {true, op != Op::kStop, DoneText(op)};
  if (op == Op::kStop && code == 7) {
    return {true, false, WithDetail("stopped (was not running)", reason)};
  }
  return {false, true, ExitText(code, OcfCodeText(code), reason)};
}

Outcome OcfMonitorOutcome(int code, absl::string_view reason) {
  switch (code) {
    case 0:
      return {true, true, "running"};
    case 7:
      return {false, false, WithDetail("not running", reason)};
    case 5:
      return {false, false, ExitText(code, OcfCodeText(code), reason)};
    default:
      return {false, true, ExitText(code, OcfCodeText(code), reason)};
  }
}

Outcome LsbStatusOutcome(int code, absl::string_view reason) {
  switch (code) {
    case 0:
      return {true, true, "running"};
    case 1:
    case 2:
    case 3:
      return {false, false,
              WithDetail(absl::StrCat("not running (", LsbStatusText(code),
                                      ")"),
                         reason)};
    default:
      return {false, true, ExitText(code, LsbStatusText(code), reason)};
  }
}

// ResourceManager's case pattern *[Nn][Oo][Tt]\ *[Rr]unning*: "not "
// (any case) and, somewhere after it, "running" or "Running".
bool MatchesNotRunning(absl::string_view s) {
  for (size_t i = 0; i + 4 <= s.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(s[i])) == 'n' &&
        absl::ascii_tolower(static_cast<unsigned char>(s[i + 1])) == 'o' &&
        absl::ascii_tolower(static_cast<unsigned char>(s[i + 2])) == 't' &&
        s[i + 3] == ' ') {
      // The earliest "not " leaves the most room for "running" after it.
      const absl::string_view rest = s.substr(i + 4);
      return absl::StrContains(rest, "running") ||
             absl::StrContains(rest, "Running");
    }
  }
  return false;
}

}  // namespace

absl::string_view OpName(Op op) {
  switch (op) {
    case Op::kStart:
      return "start";
    case Op::kStop:
      return "stop";
    case Op::kMonitor:
      return "monitor";
  }
  return "?";
}

absl::Duration OpTimeout(const Resource& r, Op op) {
  bool has = false;
  absl::Duration d;
  switch (op) {
    case Op::kStart:
      has = r.has_start_timeout();
      d = FromProto(r.start_timeout());
      break;
    case Op::kStop:
      has = r.has_stop_timeout();
      d = FromProto(r.stop_timeout());
      break;
    case Op::kMonitor:
      has = r.has_monitor_timeout();
      d = FromProto(r.monitor_timeout());
      break;
  }
  return has && d > absl::ZeroDuration() ? d : kDefaultTimeout;
}

absl::StatusOr<Command> CommandFor(const Resource& r, Op op,
                                   const ScriptPaths& paths) {
  switch (r.kind_case()) {
    case Resource::kLsb:
      return LsbCommand(r, op, paths);
    case Resource::kHeartbeat:
      return HeartbeatCommand(r, op, paths);
    case Resource::kOcf:
      return OcfCommand(r, op, paths);
    case Resource::kIp:
      return Invalid(r, "an ip resource is managed natively, not by a script");
    case Resource::KIND_NOT_SET:
      break;
  }
  return Invalid(r, "no kind (ip, lsb, heartbeat or ocf) is set");
}

bool HeartbeatStatusSaysRunning(absl::string_view output) {
  if (MatchesNotRunning(output)) return false;
  return absl::StrContains(output, "running") ||
         absl::StrContains(output, "Running") ||
         absl::StrContains(output, "OK");
}

Outcome Interpret(const Resource& r, Op op, const RunResult& result) {
  // A start that never ran left nothing behind; a stop or monitor that
  // never ran leaves the resource in doubt, as does any run that did not
  // end by itself.
  if (!result.started) {
    return {false, op != Op::kStart,
            result.error.empty() ? "not started" : result.error};
  }
  const std::string last = LastLine(result.output);
  if (result.timed_out) {
    return {false, true,
            WithDetail(absl::StrCat("timed out after ",
                                    absl::FormatDuration(OpTimeout(r, op))),
                       last)};
  }
  if (result.signal != 0) {
    return {false, true,
            WithDetail(absl::StrCat("killed by signal ", result.signal), last)};
  }
  if (!result.error.empty()) return {false, true, result.error};
  const int code = result.exit_status;
  switch (r.kind_case()) {
    case Resource::kOcf: {
      const std::string reason = OcfReason(result.output);
      return op == Op::kMonitor ? OcfMonitorOutcome(code, reason)
                                : ActionOutcome(op, code, reason);
    }
    case Resource::kLsb:
      return op == Op::kMonitor ? LsbStatusOutcome(code, last)
                                : ActionOutcome(op, code, last);
    case Resource::kHeartbeat:
      if (op == Op::kMonitor) {
        if (HeartbeatStatusSaysRunning(result.output)) {
          return {true, true, "running"};
        }
        return {false, false, WithDetail("not running", last)};
      }
      if (code == 0) return {true, op != Op::kStop, DoneText(op)};
      return {false, true, ExitText(code, nullptr, last)};
    case Resource::kIp:
    case Resource::KIND_NOT_SET:
      break;
  }
  return {false, true,
          absl::StrCat("resource ", DisplayName(r),
                       " is not run by a script (", ExitText(code, nullptr, last),
                       ")")};
}

}  // namespace hacluster::exec
