#include "cli/heartbeat_dropin_run.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <iostream>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/core/version.h"
#include "cli/agent_commands.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"

namespace hacluster::cli::heartbeat {
namespace {

namespace v1 = agent::v1;

constexpr int kHbOk = 0;
constexpr int kHbFailed = 1;

// What cl_status's logger puts before its lines, for this process now.
LogStamp StampNow() {
  LogStamp s;
  s.time = absl::FormatTime("%b %d %H:%M:%S", absl::Now(), absl::LocalTimeZone());
  utsname u{};
  s.host = uname(&u) == 0 ? u.nodename : "localhost";
  s.pid = absl::StrCat(getpid());
  return s;
}

void SetDeadline(grpc::ClientContext& ctx, absl::Duration after) {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + after));
}

// gRPC's codes are absl's, number for number.
absl::Status ToAbsl(const grpc::Status& s, const std::string& agent_name) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(agent_name, ": ", s.error_message()));
}

// A failed Standby / Takeover call, for the operator.
std::string CallFailure(const std::string& program, const std::string& agent_name,
                        absl::Duration deadline, const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat(program, ": cannot reach ", agent_name, ": ", s.error_message(),
                          "\nIs ha-agent running? Use --socket PATH or HACLI_SOCKET for another "
                          "socket.\n");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat(program, ": no answer from ", agent_name, " within ",
                          absl::FormatDuration(deadline),
                          "; the move may still go on (see 'cl_status rscstatus')\n");
    default:
      return absl::StrCat(program, ": ", agent_name, " refused: ", s.error_message(), "\n");
  }
}

// Sends the Standby or Takeover request that waits up to `timeout`.
grpc::Status Send(HbTool tool, v1::StandbyScope scope, absl::Duration timeout,
                  v1::Agent::StubInterface& stub, grpc::ClientContext* ctx,
                  v1::OperationResponse* op) {
  const google::protobuf::Duration wait =
      google::protobuf::util::TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(timeout));
  if (tool == HbTool::kStandby) {
    v1::StandbyRequest req;
    req.set_scope(scope);
    *req.mutable_timeout() = wait;
    return stub.Standby(ctx, req, op);
  }
  v1::TakeoverRequest req;
  req.set_scope(scope);
  *req.mutable_timeout() = wait;
  return stub.Takeover(ctx, req, op);
}

// "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past a
// separate value. False when argv[*i] is another option.
bool TakeValue(const std::string& name, int argc, const char* const* argv, int* i,
               std::string* value, std::string* error) {
  const std::string arg = argv[*i];
  if (absl::StartsWith(arg, name + "=")) {
    *value = arg.substr(name.size() + 1);
    return true;
  }
  if (arg != name) return false;
  if (*i + 1 >= argc) {
    *error = absl::StrCat(name, " needs a value");
  } else {
    *value = argv[++*i];
  }
  return true;
}

}  // namespace

DropinFlags ParseDropinFlags(int argc, const char* const* argv, bool with_timeout) {
  DropinFlags f;
  int i = 1;
  for (; i < argc && absl::StartsWith(argv[i], "--") && f.error.empty(); ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--help") {
      f.help = true;
      continue;
    }
    if (arg == "--version") {
      f.version = true;
      continue;
    }
    if (TakeValue("--socket", argc, argv, &i, &f.connection.socket, &f.error)) continue;
    std::string value;
    if (TakeValue("--server", argc, argv, &i, &value, &f.error)) {
      f.connection.servers.push_back(value);
      continue;
    }
    if (TakeValue("--ca", argc, argv, &i, &f.connection.ca, &f.error)) continue;
    if (TakeValue("--cert", argc, argv, &i, &f.connection.cert, &f.error)) continue;
    if (TakeValue("--key", argc, argv, &i, &f.connection.key, &f.error)) continue;
    if (TakeValue("--connect-timeout", argc, argv, &i, &value, &f.error)) {
      absl::StatusOr<absl::Duration> d = ParseTimeout(value, /*allow_zero=*/false);
      if (d.ok()) {
        f.connection.connect_timeout = *d;
      } else {
        f.error = absl::StrCat("--connect-timeout: ", d.status().message());
      }
      continue;
    }
    if (with_timeout && TakeValue("--timeout", argc, argv, &i, &f.timeout, &f.error)) continue;
    break;  // not ours: Heartbeat's tool answers it
  }
  f.args.assign(argv + i, argv + argc);
  return f;
}

AgentLink ConnectDropinAgent(const DropinFlags& flags) {
  absl::StatusOr<AgentConnection> c = ConnectToAgent(flags.connection);
  if (!c.ok()) return AgentLink{nullptr, "the agent", c.status()};
  return AgentLink{std::move(c->stub), absl::StrCat("the agent at ", c->target), absl::OkStatus()};
}

int RunClStatus(const DropinFlags& flags, const AgentLink& agent, std::ostream& out,
                std::ostream& err) {
  StatusFetch fetch = [&agent]() -> absl::StatusOr<v1::GetStatusResponse> {
    if (!agent.error.ok()) return agent.error;
    grpc::ClientContext ctx;
    SetDeadline(ctx, absl::Seconds(kClTimeoutSeconds));
    v1::GetStatusResponse status;
    grpc::Status s = agent.stub->GetStatus(&ctx, v1::GetStatusRequest(), &status);
    if (!s.ok()) return ToAbsl(s, agent.name);
    return status;
  };
  Output o = ClStatus(flags.args, fetch, StampNow());
  out << o.out;
  err << o.err;
  return o.exit_code;
}

int RunHbCommand(HbTool tool, const std::string& program, const DropinFlags& flags,
                 const AgentLink& agent, std::ostream& out, std::ostream& err) {
  std::variant<HbRequest, Output> parsed = ParseHbArgs(tool, program, flags.args);
  if (const Output* usage = std::get_if<Output>(&parsed)) {
    out << usage->out;
    err << usage->err;
    return usage->exit_code;
  }
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(flags.timeout, /*allow_zero=*/false);
  if (!timeout.ok()) {
    err << program << ": " << timeout.status().message() << "\n";
    return kHbUsage;
  }
  const HbRequest& request = std::get<HbRequest>(parsed);
  if (tool == HbTool::kStandby) err << GoingStandbyLine(request, StampNow().time);
  if (!agent.error.ok()) {
    err << program << ": " << agent.error.message() << "\n";
    return absl::IsInvalidArgument(agent.error) ? kHbUsage : kHbFailed;
  }
  const absl::Duration deadline = *timeout + kDeadlineMargin;
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  v1::OperationResponse op;
  grpc::Status s = Send(tool, request.scope, *timeout, *agent.stub, &ctx, &op);
  if (!s.ok()) {
    err << CallFailure(program, agent.name, deadline, s);
    return kHbFailed;
  }
  if (OperationExitStatus(op, *timeout) == 0) return kHbOk;
  err << program << ": " << FormatOperationLine(op, *timeout) << "\n";
  return kHbFailed;
}

const char kDropinConnectionHelp[] = R"(It reaches the local agent over its API socket: --socket PATH, else
$HACLI_SOCKET, else /run/ha-agent/agent.sock if it exists (the package's
example spec), else /var/lib/ha-agent/agent.sock (the spec's
api.unix_socket); or remote agents over mutual TLS, as hacli does:
--server HOST:PORT (repeated, or a comma list; the first that answers is
used) with --ca FILE --cert FILE --key FILE, or the environment variables
HACLI_SERVER, HACLI_CA, HACLI_CERT, HACLI_KEY (a flag wins).
--version prints the program's version.
)";

std::string DropinVersion(const char* program) {
  return VersionLine(program) + "\n";
}

int HbMain(HbTool tool, const std::string& help, int argc, char** argv) {
  DropinFlags flags = ParseDropinFlags(argc, argv, /*with_timeout=*/true);
  if (flags.help) {
    std::cout << help;
    return 0;
  }
  if (flags.version) {
    std::cout << DropinVersion(tool == HbTool::kStandby ? "hb_standby" : "hb_takeover");
    return 0;
  }
  if (!flags.error.empty()) {
    std::cerr << argv[0] << ": " << flags.error << "\nRun '" << argv[0] << " --help'.\n";
    return kHbUsage;
  }
  return RunHbCommand(tool, argv[0], flags, ConnectDropinAgent(flags), std::cout, std::cerr);
}

}  // namespace hacluster::cli::heartbeat
