#include "migrate/hacf_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_join.h"
#include "migrate/legacy_lines.h"

namespace hacluster::migrate {

namespace {

using config::Diagnostic;
using config::Location;
using config::Severity;

constexpr int kMany = -1;

// A directive the converter handles.
struct Convertible {
  const char* name;
  int min_args;
  int max_args;  // kMany: no limit
  const char* usage;
};

constexpr Convertible kConvertible[] = {
    {"node", 1, kMany, "node NAME [NAME...]"},
    {"keepalive", 1, 1, "keepalive TIME (seconds, or e.g. 500ms)"},
    {"deadtime", 1, 1, "deadtime TIME (seconds, or e.g. 500ms)"},
    {"warntime", 1, 1, "warntime TIME (seconds, or e.g. 500ms)"},
    {"initdead", 1, 1, "initdead TIME (seconds, or e.g. 500ms)"},
    {"deadping", 1, 1, "deadping TIME (seconds, or e.g. 500ms)"},
    {"udpport", 1, 1, "udpport PORT"},
    {"ucast", 2, 2, "ucast INTERFACE ADDRESS"},
    {"bcast", 1, kMany, "bcast INTERFACE [INTERFACE...]"},
    {"mcast", 5, 5, "mcast INTERFACE GROUP PORT TTL LOOP"},
    {"mcast6", 5, 5, "mcast6 INTERFACE GROUP PORT HOPS LOOP"},
    {"serial", 1, kMany, "serial DEVICE [DEVICE...]"},
    {"baud", 1, 1, "baud SPEED"},
    {"auto_failback", 1, 1, "auto_failback on|off|legacy"},
    {"nice_failback", 1, 1, "nice_failback on|off"},
    {"ping", 1, kMany, "ping HOST [HOST...]"},
    {"ping_group", 2, kMany, "ping_group NAME HOST [HOST...]"},
    {"respawn", 2, kMany, "respawn USER COMMAND [ARGS...]"},
    {"watchdog", 1, 1, "watchdog DEVICE"},
    {"logfile", 1, 1, "logfile PATH"},
    {"debugfile", 1, 1, "debugfile PATH"},
    {"logfacility", 1, 1, "logfacility FACILITY"},
    {"use_logd", 1, 1, "use_logd yes|no"},
    {"apiauth", 1, kMany, "apiauth CLIENT uid=USER gid=GROUP"},
    {"hopfudge", 1, 1, "hopfudge N"},
    {"crm", 1, 1, "crm yes|no"},
    {"pacemaker", 1, 1, "pacemaker yes|no"},
    {"autojoin", 1, 1, "autojoin none|other|any"},
};

// A Heartbeat directive the converter cannot express, and what to do.
// Tuning that only affects how Heartbeat itself runs is dropped with a
// warning; anything that changes what the cluster does is an error.
struct Unsupported {
  const char* name;
  const char* advice;
  bool harmless = true;
};

constexpr Unsupported kUnsupported[] = {
    {"stonith",
     "Heartbeat's STONITH plugins are not converted; set fencing.command in the "
     "spec to a program that fences the node given as {node}, and remove this line", false},
    {"stonith_host",
     "Heartbeat's STONITH plugins are not converted; set fencing.command in the "
     "spec to a program that fences the node given as {node}, and remove this line", false},
    {"debug", "for debug output set logging.debug_file (ha.cf's debugfile) and remove this line"},
    {"realtime", "the agent sets its own scheduling priority; remove this line"},
    {"rtprio", "the agent sets its own scheduling priority; remove this line"},
    {"compression", "the agent's heartbeat packets are not compressed; remove this line"},
    {"compression_threshold",
     "the agent's heartbeat packets are not compressed; remove this line"},
    {"traditional_compression",
     "the agent's heartbeat packets are not compressed; remove this line"},
    {"msgfmt", "the agent has a single wire format; remove this line"},
    {"syslogmsgfmt", "the agent has a single log format; remove this line"},
    {"conn_logd_time",
     "the agent logs to logfile or logfacility directly; remove this line"},
    {"coredumps", "core dumps are set by the service manager (e.g. systemd's "
                  "LimitCORE); remove this line"},
    {"coreroot", "core dumps are set by the service manager (e.g. systemd's "
                 "LimitCORE); remove this line"},
    {"uuidfrom", "the agent identifies nodes by name; remove this line"},
    {"normalpoll", "the agent has no polling setting; remove this line"},
    {"max_rexmit_delay", "the agent does not retransmit heartbeats; remove this line"},
    {"hbgenmethod", "the agent keeps its own generation counter; remove this line"},
    {"use_apphbd", "the agent has no apphbd client; remove this line"},
    {"memreserve", "the agent does not reserve memory this way; remove this line"},
    {"env", "set the environment of respawned programs in their own wrapper; "
            "remove this line", false},
    {"record_config_changes", "Heartbeat 2 CRM setting; remove this line"},
    {"record_pengine_inputs", "Heartbeat 2 CRM setting; remove this line"},
    {"enable_config_writes", "Heartbeat 2 CRM setting; remove this line"},
    {"log_badpack", "the agent always logs rejected packets; remove this line"},
    {"hbaping", "use ping or ping_group (ICMP) instead", false},
};

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

}  // namespace

std::string HaCfDirective::Normalized() const {
  std::string out = name;
  for (const std::string& a : args) absl::StrAppend(&out, " ", a);
  return out;
}

const std::vector<std::string>& ConvertibleHaCfDirectives() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>();
    for (const Convertible& c : kConvertible) v->push_back(c.name);
    return v;
  }();
  return *names;
}

namespace {
// Every name Heartbeat knows: what an unknown directive is compared with.
const std::vector<std::string>& KnownNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>(ConvertibleHaCfDirectives());
    for (const Unsupported& u : kUnsupported) v->push_back(u.name);
    return v;
  }();
  return *names;
}
}  // namespace

HaCfParse ParseHaCf(absl::string_view text, const std::string& filename) {
  HaCfParse out;
  config::SuggestionBudget suggestions;
  auto error = [&](int line, std::string message) {
    out.diagnostics.push_back(
        Diagnostic{Severity::kError, Location{filename, line, 0}, std::move(message)});
  };
  ErrorLimit limit;
  for (const LegacyLine& line : SplitLegacyLines(text)) {
    if (limit.Reached(&out.diagnostics, filename, line.line)) break;
    std::string name = Lower(line.words[0].text);
    if (name == "udp") {  // Heartbeat's old alias, still accepted by it
      out.diagnostics.push_back(Diagnostic{
          Severity::kWarning, Location{filename, line.line, 0},
          "'udp' is Heartbeat's old name for bcast; converted as bcast"});
      name = "bcast";
    }
    const Convertible* known = nullptr;
    for (const Convertible& c : kConvertible) {
      if (name == c.name) known = &c;
    }
    if (known == nullptr) {
      const Unsupported* unsupported = nullptr;
      for (const Unsupported& u : kUnsupported) {
        if (name == u.name) unsupported = &u;
      }
      if (unsupported != nullptr && unsupported->harmless) {
        absl::string_view why = unsupported->advice;
        absl::ConsumeSuffix(&why, "; remove this line");
        out.diagnostics.push_back(Diagnostic{
            Severity::kWarning, Location{filename, line.line, 0},
            absl::StrCat("directive '", line.words[0].text, "' is dropped: ", why)});
        continue;
      }
      if (unsupported != nullptr) {
        error(line.line, absl::StrCat("directive '", line.words[0].text,
                                      "' cannot be converted: ", unsupported->advice));
        continue;
      }
      std::string guess = suggestions.Closest(name, KnownNames());
      if (std::string notice = suggestions.RanOutNotice(); !notice.empty()) {
        out.diagnostics.push_back(
            Diagnostic{Severity::kWarning, Location{filename, line.line, 0}, std::move(notice)});
      }
      if (!guess.empty()) {
        error(line.line, absl::StrCat("unknown directive '", line.words[0].text,
                                      "'; did you mean '", guess, "'?"));
      } else {
        error(line.line,
              absl::StrCat("unknown directive '", line.words[0].text,
                           "'; Heartbeat has no such ha.cf directive (see ha.cf(5)); "
                           "fix or remove the line"));
      }
      continue;
    }
    int nargs = static_cast<int>(line.words.size()) - 1;
    if (nargs < known->min_args || (known->max_args != kMany && nargs > known->max_args)) {
      error(line.line,
            absl::StrCat(known->name, " takes ",
                         known->min_args == known->max_args
                             ? absl::StrCat(known->min_args)
                             : absl::StrCat("at least ", known->min_args),
                         known->min_args == 1 && known->max_args == 1 ? " argument"
                                                                      : " arguments",
                         ", not ", nargs, "; write: ", known->usage));
      continue;
    }
    HaCfDirective d;
    d.name = name;
    d.line = line.line;
    for (size_t i = 1; i < line.words.size(); ++i) d.args.push_back(line.words[i].text);
    out.directives.push_back(std::move(d));
  }
  return out;
}

}  // namespace hacluster::migrate
