#include "cli/agent_commands.h"

#include <algorithm>
#include <cstdlib>
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
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

constexpr int kOk = 0;
constexpr int kFailed = 1;

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

}  // namespace

std::unique_ptr<v1::Agent::Stub> ConnectAgent(const std::string& socket) {
  return v1::Agent::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
}

std::string AgentCallError(const std::string& socket, const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::StrCat("hacli: cannot reach the agent at ", socket, ": ", s.error_message(),
                        "\nIs ha-agent running? Use --socket PATH or HACLI_SOCKET for another "
                        "socket (the spec's api.unix_socket, default STATE_DIR/agent.sock).\n");
  }
  return absl::StrCat("hacli: the agent at ", socket, " answered: ", s.error_message(), "\n");
}

std::string ApiJson(const google::protobuf::Message& m, bool pretty, bool with_defaults) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = pretty;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = with_defaults;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  if (!pretty) return out;
  return absl::StrCat(absl::StripTrailingAsciiWhitespace(out));
}

std::string ResolveSocket(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("HACLI_SOCKET");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultAgentSocket;
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
      ", initdead ", Dur(st.initdead()), st.in_initdead() ? "  (still in initdead)" : "", "\n\n");
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NODE", "STATE", "GENERATION", "LAST HEARD", "LINKS", "SCORE", "CONFIG"});
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
                    n.config_version() == 0 ? "-" : absl::StrCat(n.config_version())});
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
  std::string socket = ResolveSocket(args.socket);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(args.timeout)));
  v1::GetStatusResponse status;
  grpc::Status s = ConnectAgent(socket)->GetStatus(&ctx, v1::GetStatusRequest(), &status);
  if (!s.ok()) {
    err << AgentCallError(socket, s);
    return kFailed;
  }
  if (args.format == OutputFormat::kJson) {
    out << ApiJson(status, /*pretty=*/true) << "\n";
  } else {
    out << FormatStatusText(status);
  }
  return kOk;
}

int RunWatch(const WatchArgs& args, std::ostream& out, std::ostream& err) {
  std::string socket = ResolveSocket(args.socket);
  grpc::ClientContext ctx;
  v1::WatchEventsRequest req;
  req.set_after_id(args.after_id);
  req.set_only_new(args.only_new);
  auto stub = ConnectAgent(socket);
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader = stub->WatchEvents(&ctx, req);
  v1::Event e;
  uint64_t seen = 0;
  while (reader->Read(&e)) {
    if (args.format == OutputFormat::kJson) {
      out << ApiJson(e, /*pretty=*/false) << "\n";
    } else {
      out << FormatEventText(e) << "\n";
    }
    out.flush();
    if (args.count > 0 && ++seen >= args.count) {
      ctx.TryCancel();
      return kOk;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) {
    err << AgentCallError(socket, s);
    return kFailed;
  }
  err << "hacli: the agent at " << socket << " ended the event stream (it is stopping)\n";
  return kFailed;
}

}  // namespace hacluster::cli
