#include "cli/agent_commands.h"

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/exit_codes.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

// Lower-case enum value name without its prefix, '_' -> '-'.
std::string ShortName(const std::string& full, absl::string_view prefix) {
  std::string s = absl::AsciiStrToLower(absl::StripPrefix(full, prefix));
  return absl::StrReplaceAll(s, {{"_", "-"}});
}

std::string Ago(const google::protobuf::Duration& d) {
  int64_t ms = TimeUtil::DurationToMilliseconds(d);
  if (ms < 1000) return absl::StrCat(ms, "ms ago");
  if (ms < 120000) return absl::StrFormat("%.1fs ago", ms / 1000.0);
  return absl::StrFormat("%dm%02ds ago", ms / 60000, (ms / 1000) % 60);
}

std::string Dur(const google::protobuf::Duration& d) {
  int64_t ms = TimeUtil::DurationToMilliseconds(d);
  if (ms % 1000 != 0) return absl::StrCat(ms, "ms");
  return absl::StrCat(ms / 1000, "s");
}

std::string Wall(const google::protobuf::Timestamp& t) {
  absl::Time at = absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t));
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S", at, absl::LocalTimeZone());
}

// Lines of a table: each column as wide as its widest cell plus two spaces,
// no trailing blanks.
std::vector<std::string> AlignColumns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      absl::StrAppend(&line, r[i]);
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 2, ' ');
    }
    lines.push_back(std::string(absl::StripTrailingAsciiWhitespace(line)));
  }
  return lines;
}

// "  ip 192.0.2.50: start ok", "  lsb apache2: monitor failed: exit 7, 2
// monitor failures".
std::string ResourceLine(const v1::ResourceStatus& r) {
  // Names derived from the kind already start with it ("ip 192.0.2.50").
  const bool kind_in_name = !r.kind().empty() && absl::StartsWith(r.name(), r.kind() + " ");
  std::string out =
      kind_in_name ? absl::StrCat("  ", r.name(), ": ")
                   : absl::StrCat("  ", r.kind(), r.kind().empty() || r.name().empty() ? "" : " ",
                                  r.name(), ": ");
  if (r.last_op() == v1::RESOURCE_OP_UNSPECIFIED) {
    absl::StrAppend(&out, "not run on this node");
  } else {
    absl::StrAppend(&out, ResourceOpName(r.last_op()), r.last_ok() ? " ok" : " failed");
    if (!r.last_ok() && !r.last_message().empty()) absl::StrAppend(&out, ": ", r.last_message());
  }
  if (r.monitor_failures() > 0) {
    absl::StrAppend(&out, ", ", r.monitor_failures(), " monitor failure",
                    r.monitor_failures() == 1 ? "" : "s");
  }
  return out;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

constexpr char kSocketHint[] =
    "Is ha-agent running? Use --socket PATH or HACLI_SOCKET for another socket (the spec's "
    "api.unix_socket, default STATE_DIR/agent.sock), or --server HOST:PORT for a remote agent.\n";
constexpr char kCertificateHint[] =
    "Give --cert and --key (or HACLI_CERT and HACLI_KEY): a client certificate the cluster's CA "
    "signed.\n";
constexpr char kRoleHint[] =
    "The client certificate's role may not make this call (changes need the admin role).\n";

// "UNAVAILABLE", "PERMISSION_DENIED", ...: gRPC's codes are google.rpc.Code,
// as absl's are, so absl names them.
std::string GrpcCodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// One failure: "hacli: COMMAND: MESSAGE" and the hint on stderr; with -o json
// the error object on stdout.
int Emit(const ErrorReport& report, int code, const std::string& target, absl::string_view message,
         absl::string_view hint, absl::string_view grpc_status) {
  report.err << "hacli: " << report.command << ": " << message << "\n" << hint;
  if (report.format == OutputFormat::kJson) {
    report.out << ErrorJson(code, message, target, grpc_status, /*pretty=*/!report.one_line)
               << "\n";
  }
  return code;
}

}  // namespace

int ReportFailure(const ErrorReport& report, int code, const std::string& target,
                  absl::string_view message) {
  return Emit(report, code, target, message, /*hint=*/"", /*grpc_status=*/"");
}

int ReportUsageError(const ErrorReport& report, absl::string_view message) {
  return Emit(report, kExitUsage, /*target=*/"", message,
              absl::StrCat("Run 'hacli ", report.command, " --help'.\n"), "");
}

int ReportConnectError(const ErrorReport& report, const absl::Status& s) {
  const int code = ExitCodeFor(s);
  std::string hint;
  if (code == kExitUsage) {
    hint = "Run 'hacli --help' for --socket, --server, --ca, --cert, --key.\n";
  }
  return Emit(report, code, /*target=*/"", s.message(), hint, "");
}

int ReportCallError(const ErrorReport& report, const AgentConnection& agent,
                    absl::Duration deadline, const grpc::Status& s) {
  const std::string& at = agent.target;
  std::string message;
  std::string hint;
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      message = absl::StrCat("cannot reach the agent at ", at, ": ", s.error_message());
      if (!agent.remote) hint = kSocketHint;
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrCat("no answer from the agent at ", at, " within ",
                             absl::FormatDuration(deadline));
      if (report.changes_state) hint = "What was asked may still go on: see 'hacli status'.\n";
      break;
    case grpc::StatusCode::NOT_FOUND:  // the agent's words name what it does not know
      message = absl::StrCat(s.error_message(), " (asked the agent at ", at, ")");
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      message =
          absl::StrCat("the agent at ", at, " did not accept this client: ", s.error_message());
      if (agent.remote) hint = kCertificateHint;
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      message = absl::StrCat("the agent at ", at, " denied the call: ", s.error_message());
      if (agent.remote) hint = kRoleHint;
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      message =
          absl::StrCat("the agent at ", at,
                       " does not offer this call (it runs an older version): ", s.error_message());
      break;
    default:
      message = absl::StrCat("the agent at ", at, " refused: ", s.error_message());
  }
  return Emit(report, ExitCodeFor(s), at, message, hint, GrpcCodeName(s.error_code()));
}

std::string NodeStateName(v1::NodeState s) {
  return ShortName(v1::NodeState_Name(s), "NODE_STATE_");
}
std::string LinkStateName(v1::LinkState s) {
  return ShortName(v1::LinkState_Name(s), "LINK_STATE_");
}
std::string EventKindName(v1::EventKind k) {
  return ShortName(v1::EventKind_Name(k), "EVENT_KIND_");
}
std::string GroupStateName(v1::GroupState s) {
  return ShortName(v1::GroupState_Name(s), "GROUP_STATE_");
}
std::string ResourceOpName(v1::ResourceOp op) {
  return ShortName(v1::ResourceOp_Name(op), "RESOURCE_OP_");
}

std::string FormatStatusText(const v1::GetStatusResponse& st) {
  std::string out = absl::StrCat(
      "cluster ", st.cluster_name(), "  config version ", st.config_version(), "  this node ",
      st.local_node(), " (generation ", st.local_generation(), ")\n", "timing: keepalive ",
      Dur(st.keepalive()), ", warntime ", Dur(st.warntime()), ", deadtime ", Dur(st.deadtime()),
      ", initdead ", Dur(st.initdead()), st.in_initdead() ? "  (still in initdead)" : "", "\n",
      st.config_drift() ? "CONFIG DRIFT: a node runs another config version or spec (see "
                          "CONFIG, * marks it)\n"
                        : "",
      st.groups_held_reason().empty() ? ""
                                      : absl::StrCat("GROUPS HELD: ", st.groups_held_reason(), "\n"),
      "\n");
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"NODE", "STATE", "GENERATION", "LAST HEARD", "LINKS", "SCORE", "CONFIG", "WIRE", "SOFTWARE"});
  for (const v1::NodeStatus& n : st.nodes()) {
    std::vector<std::string> links;
    for (const v1::LinkStatus& l : n.links()) {
      links.push_back(absl::StrCat(l.name(), ":", LinkStateName(l.state())));
    }
    std::string heard = n.local() ? "(this node)"
                        : n.has_since_last_heard() ? Ago(n.since_last_heard())
                                                   : "never";
    rows.push_back({n.name(), NodeStateName(n.state()),
                    n.generation() == 0 ? "-" : absl::StrCat(n.generation()), heard,
                    links.empty() ? "-" : absl::StrJoin(links, " "),
                    absl::StrCat(n.connectivity_score()),
                    n.config_version() == 0
                        ? "-"
                        : absl::StrCat(n.config_version(),
                                       n.config_hash().empty()
                                           ? ""
                                           : absl::StrCat(" ", n.config_hash().substr(0, 8)),
                                       n.config_drift() ? " *" : ""),
                    n.wire().empty() ? "native" : n.wire(),
                    n.software().empty() ? "-" : n.software()});
  }
  for (const std::string& line : AlignColumns(rows)) absl::StrAppend(&out, line, "\n");
  if (st.groups_size() > 0) {
    std::vector<std::vector<std::string>> grows;
    grows.push_back({"GROUP", "HOLDER", "STATE", "TARGET", "PREFERRED", "ADDRESSES"});
    for (const v1::GroupStatus& g : st.groups()) {
      grows.push_back({g.name(), OrDash(g.holder()), GroupStateName(g.state()), OrDash(g.target()),
                       OrDash(g.preferred_node()),
                       g.addresses().empty() ? "-" : absl::StrJoin(g.addresses(), ",")});
    }
    std::vector<std::string> lines = AlignColumns(grows);
    absl::StrAppend(&out, "\n", lines[0], "\n");
    for (int i = 0; i < st.groups_size(); ++i) {
      const v1::GroupStatus& g = st.groups(i);
      absl::StrAppend(&out, lines[i + 1], "\n");
      for (const v1::ResourceStatus& r : g.resources()) {
        absl::StrAppend(&out, ResourceLine(r), "\n");
      }
      if (g.failed_on_size() > 0) {
        absl::StrAppend(&out, "  failed on: ", absl::StrJoin(g.failed_on(), ", "), "\n");
      }
    }
  }
  if (!st.has_quorum()) {
    absl::StrAppend(&out, "\nno quorum",
                    st.quorum_reason().empty() ? "" : absl::StrCat(": ", st.quorum_reason()),
                    " (this partition runs no groups)\n");
  }
  if (st.ping_targets_size() > 0) {
    absl::StrAppend(&out, "\nconnectivity score ", st.connectivity_score(), ":");
    for (const v1::PingTargetStatus& p : st.ping_targets()) {
      absl::StrAppend(&out, " ", p.group().empty() ? "" : absl::StrCat(p.group(), "/"), p.host(),
                      ":", ShortName(v1::PingState_Name(p.state()), "PING_STATE_"));
    }
    absl::StrAppend(&out, "\n");
  }
  if (!st.dropped_packets().empty()) {
    std::vector<std::string> drops;
    std::map<std::string, uint64_t> sorted(st.dropped_packets().begin(),
                                           st.dropped_packets().end());
    for (const auto& [reason, n] : sorted) drops.push_back(absl::StrCat(reason, " ", n));
    absl::StrAppend(&out, "\ndropped packets: ", absl::StrJoin(drops, ", "), "\n");
  }
  return out;
}

std::string FormatServersText(const v1::ListServersResponse& list) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NODE", "STATE", "ROLE", "ADDRESSES", "GROUPS", "VIPS", "CONFIG", "LABELS"});
  for (const v1::Server& n : list.nodes()) {
    std::map<std::string, std::string> labels(n.labels().begin(), n.labels().end());
    std::vector<std::string> label_text;
    for (const auto& [key, value] : labels) label_text.push_back(absl::StrCat(key, "=", value));
    rows.push_back({n.name(), OrDash(n.state()), OrDash(n.role()),
                    OrDash(absl::StrJoin(n.addresses(), ",")),
                    OrDash(absl::StrJoin(n.groups(), ",")), OrDash(absl::StrJoin(n.vips(), ",")),
                    n.config_version() == 0 ? "-" : absl::StrCat(n.config_version()),
                    OrDash(absl::StrJoin(label_text, ","))});
  }
  std::string out;
  for (const std::string& line : AlignColumns(rows)) absl::StrAppend(&out, line, "\n");
  if (!list.answered_by().empty()) {
    absl::StrAppend(&out, "(answered by ", list.answered_by(), ")\n");
  }
  return out;
}

std::string FormatEventText(const v1::Event& e) {
  std::string out = absl::StrCat(Wall(e.time()), " #", e.id(), " ", EventKindName(e.kind()));
  if (!e.node().empty()) absl::StrAppend(&out, " node=", e.node());
  if (!e.link().empty()) absl::StrAppend(&out, " link=", e.link());
  if (!e.group().empty()) absl::StrAppend(&out, " group=", e.group());
  if (!e.resource().empty()) absl::StrAppend(&out, " resource=", e.resource());
  if (e.operation_id() != 0) absl::StrAppend(&out, " operation=", e.operation_id());
  if (!e.reason().empty()) absl::StrAppend(&out, ": ", e.reason());
  return out;
}

int RunStatus(const StatusArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report{"status", args.format, out, err};
  absl::StatusOr<AgentConnection> agent = ConnectToAgent(args.connection);
  if (!agent.ok()) return ReportConnectError(report, agent.status());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + args.timeout));
  v1::GetStatusResponse status;
  grpc::Status s = agent->stub->GetStatus(&ctx, v1::GetStatusRequest(), &status);
  if (!s.ok()) return ReportCallError(report, *agent, args.timeout, s);
  if (args.format == OutputFormat::kJson) {
    out << ApiJson(status, /*pretty=*/true) << "\n";
  } else {
    out << FormatStatusText(status);
  }
  return kExitOk;
}

int RunServers(const ServersArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report{"servers", args.format, out, err};
  absl::StatusOr<AgentConnection> agent = ConnectToAgent(args.connection);
  if (!agent.ok()) return ReportConnectError(report, agent.status());
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + args.timeout));
  v1::ListServersResponse list;
  grpc::Status s = agent->stub->ListServers(&ctx, v1::ListServersRequest(), &list);
  if (!s.ok()) return ReportCallError(report, *agent, args.timeout, s);
  if (args.format == OutputFormat::kJson) {
    out << ApiJson(list, /*pretty=*/true, /*with_defaults=*/true) << "\n";
  } else {
    out << FormatServersText(list);
  }
  return kExitOk;
}

int RunWatch(const WatchArgs& args, std::ostream& out, std::ostream& err) {
  // Events are one JSON object a line, and so is an error after them.
  const ErrorReport report{"watch", args.format, out, err, /*one_line=*/true};
  absl::StatusOr<AgentConnection> agent = ConnectToAgent(args.connection);
  if (!agent.ok()) return ReportConnectError(report, agent.status());
  grpc::ClientContext ctx;
  v1::WatchEventsRequest req;
  req.set_after_id(args.after_id);
  req.set_only_new(args.only_new);
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader = agent->stub->WatchEvents(&ctx, req);
  v1::Event e;
  uint64_t seen = 0;
  while (reader->Read(&e)) {
    if (args.format == OutputFormat::kJson) {
      out << ApiJson(e, /*pretty=*/false) << "\n";
    } else {
      out << FormatEventText(e) << "\n";
    }
    out.flush();
    ++seen;
    if (args.count > 0 && seen >= args.count) {
      ctx.TryCancel();
      return kExitOk;
    }
  }
  grpc::Status s = reader->Finish();
  // Before the first event, a failure is the call's (unreachable, denied);
  // after it, the agent was there and ended the stream: it stopped or died.
  if (!s.ok() && seen == 0) return ReportCallError(report, *agent, absl::InfiniteDuration(), s);
  return ReportFailure(report, kExitFailed, agent->target,
                       absl::StrCat("the agent at ", agent->target, " ended the event stream",
                                    s.ok() ? " (it is stopping)" : ": " + s.error_message()));
}

}  // namespace hacluster::cli
