#include "cli/apply_command.h"

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/diagnostics.h"
#include "agent/config/yaml_codec.h"
#include "agent/node/settings.h"
#include "cli/exit_codes.h"
#include "cli/spec_plan.h"
#include "grpcpp/grpcpp.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;

struct Node {
  std::string name;
  std::vector<std::string> endpoints;
  std::optional<AgentConnection> connection;
  std::string unreachable;  // why, when it could not be reached
  std::optional<v1::GetStatusResponse> status;
  uint64_t apply_id = 0;    // prepared
};

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

// The file read and validated, and every node of it reached: its status
// asked, and the nodes it sees alive. An exit status when that fails.
struct Reached {
  std::string text;
  spec::v1::ClusterSpec spec;
  std::vector<Node> nodes;
  std::set<std::string> alive;
  std::map<uint64_t, std::vector<std::string>> versions;
};

std::optional<int> ReadSpecFileText(const ApplyArgs& args, const char* command,
                                    std::ostream& err, std::string* text) {
  std::ifstream in(args.file);
  if (!in) {
    err << "hacli " << command << ": cannot read " << args.file << "\n";
    return kExitUsage;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return std::nullopt;
}

std::optional<int> LoadAndReach(const std::string& text, const std::string& source,
                                const std::string& base_dir, const ApplyArgs& args,
                                const char* command, std::ostream& err, Reached* r) {
  r->text = text;
  config::ValidateOptions options;
  options.base_dir = base_dir;
  config::ParsedSpec parsed = config::LoadSpecText(text, source, options);
  err << config::FormatDiagnostics(parsed.diagnostics);
  if (config::HasErrors(parsed.diagnostics)) {
    err << "hacli " << command << ": " << source << " is invalid; nothing was sent\n";
    return kExitFailed;
  }
  r->spec = parsed.spec;
  for (const auto& n : r->spec.nodes()) {
    Node node;
    node.name = n.name();
    auto endpoints = agent::ApiListenAddresses(r->spec, n.name());
    if (!endpoints.ok()) {
      err << "hacli " << command << ": " << endpoints.status().message() << "\n";
      return kExitUsage;
    }
    node.endpoints = *std::move(endpoints);
    if (node.endpoints.empty()) {
      err << "hacli " << command
          << ": the spec has no api.listen: hacli reaches the nodes over it\n";
      return kExitUsage;
    }
    r->nodes.push_back(std::move(node));
  }
  for (Node& n : r->nodes) {
    ConnectionOptions o = args.connection;
    o.socket.clear();
    o.servers = n.endpoints;
    absl::StatusOr<AgentConnection> c = ConnectToAgent(o);
    if (!c.ok()) {
      if (ExitCodeFor(c.status()) == kExitUsage) {
        err << "hacli " << command << ": " << c.status().message() << "\n";
        return kExitUsage;
      }
      n.unreachable = std::string(c.status().message());
      continue;
    }
    v1::GetStatusResponse st;
    grpc::Status s = c->stub->GetStatus(Context(args.timeout).get(), v1::GetStatusRequest(), &st);
    if (!s.ok()) {
      if (ExitCodeFor(s) == kExitDenied) {
        err << "hacli " << command << ": " << n.name << ": " << s.error_message() << "\n";
        return kExitDenied;
      }
      n.unreachable = s.error_message();
      continue;
    }
    r->alive.insert(n.name);
    for (const auto& ns : st.nodes()) {
      if (ns.state() == v1::NODE_STATE_UP) r->alive.insert(ns.name());
    }
    r->versions[st.config_version()].push_back(n.name);
    n.connection = *std::move(c);
    n.status = std::move(st);
  }
  return std::nullopt;
}

}  // namespace

int RunApply(const ApplyArgs& args, std::ostream& out, std::ostream& err) {
  std::string text;
  if (std::optional<int> code = ReadSpecFileText(args, "apply", err, &text)) return *code;
  return ApplySpecText(text, args.file, config::DirName(args.file), args, out, err);
}

int ApplySpecText(const std::string& spec_text, const std::string& source,
                  const std::string& base_dir, const ApplyArgs& args, std::ostream& out,
                  std::ostream& err) {
  Reached reached;
  if (std::optional<int> code =
          LoadAndReach(spec_text, source, base_dir, args, "apply", err, &reached)) {
    return *code;
  }
  const std::string& text = reached.text;
  const spec::v1::ClusterSpec& spec = reached.spec;
  std::vector<Node>& nodes = reached.nodes;
  const std::set<std::string>& alive = reached.alive;
  const std::map<uint64_t, std::vector<std::string>>& versions = reached.versions;
  if (versions.empty()) {
    for (const Node& n : nodes) err << n.name << ": unreachable: " << n.unreachable << "\n";
    err << "hacli apply: no agent reachable; nothing was sent\n";
    return kExitUnreachable;
  }
  uint64_t expect = args.expect_version;
  if (expect == 0) {
    if (versions.size() > 1) {
      std::vector<std::string> seen;
      for (const auto& [v, who] : versions) {
        seen.push_back(absl::StrCat(absl::StrJoin(who, ", "), " run ", v));
      }
      err << "hacli apply: the nodes run different config versions (" << absl::StrJoin(seen, "; ")
          << "): say which one this spec replaces with --expect-version\n";
      return kExitFailed;
    }
    expect = versions.begin()->first;
  }

  // Phase 1: every live node prepares; any refusal aborts.
  bool refused = false;
  const absl::Duration deadtime = agent::TimingOf(spec).deadtime;
  for (Node& n : nodes) {
    if (alive.count(n.name) == 0) {
      out << n.name << ": skipped: dead in the cluster's membership"
          << (n.unreachable.empty() ? "" : absl::StrCat(" (", n.unreachable, ")"))
          << "; when it returns it fetches this spec from its peers, and starts no group "
             "until it has\n";
      continue;
    }
    if (!n.connection.has_value()) {
      out << n.name << ": refused: alive in the cluster's membership but its API does not "
          << "answer (" << n.unreachable << ")\n";
      refused = true;
      break;
    }
    v1::PrepareApplyRequest req;
    req.set_spec_yaml(text);
    req.set_expect_version(expect);
    // Long enough for the other nodes' prepares and this node's commit;
    // if this hacli dies before committing, every node drops the spec
    // within deadtime (a node that sees a peer run it commits it instead).
    const absl::Duration hold = std::max(deadtime, absl::Milliseconds(500));
    req.mutable_hold()->set_seconds(absl::ToInt64Seconds(hold));
    req.mutable_hold()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(hold % absl::Seconds(1))));
    v1::OperationResponse resp;
    grpc::Status s =
        n.connection->stub->PrepareApply(Context(args.timeout).get(), req, &resp);
    if (!s.ok()) {
      out << n.name << ": refused: " << s.error_message() << "\n";
      refused = true;
      break;
    }
    if (resp.state() != v1::OPERATION_STATE_DONE) {
      out << n.name << ": " << resp.message() << "\n";
      refused = true;
      break;
    }
    n.apply_id = resp.operation_id();
    out << n.name << ": " << resp.message() << "\n";
  }
  if (refused) {
    for (Node& n : nodes) {
      if (n.apply_id == 0) continue;
      v1::ApplyStepRequest req;
      req.set_apply_id(n.apply_id);
      v1::OperationResponse resp;
      grpc::Status s = n.connection->stub->AbortApply(Context(args.timeout).get(), req, &resp);
      out << n.name << ": "
          << (s.ok() ? resp.message()
                     : absl::StrCat("abort failed (", s.error_message(),
                                    "); the node drops the prepared spec when its hold passes"))
          << "\n";
    }
    err << "hacli apply: aborted; every node runs config version " << expect << " still\n";
    return kExitFailed;
  }

  // Phase 2: every prepared node commits.
  std::vector<std::string> committed, failed;
  for (Node& n : nodes) {
    if (n.apply_id == 0) continue;
    v1::ApplyStepRequest req;
    req.set_apply_id(n.apply_id);
    v1::OperationResponse resp;
    // A node that committed already (it saw a peer run the spec) may have
    // replaced its TLS listener (new certificates), closing this
    // connection: the commit then goes over a new one instead of failing.
    std::unique_ptr<grpc::ClientContext> ctx = Context(args.timeout);
    ctx->set_wait_for_ready(true);
    grpc::Status s = n.connection->stub->CommitApply(ctx.get(), req, &resp);
    const bool ok = s.ok() && resp.state() == v1::OPERATION_STATE_DONE;
    out << n.name << ": " << (s.ok() ? resp.message() : s.error_message()) << "\n";
    (ok ? committed : failed).push_back(n.name);
  }
  if (!failed.empty()) {
    err << "hacli apply: committed on " << (committed.empty() ? "no node" : absl::StrJoin(committed, ", "))
        << " but not on " << absl::StrJoin(failed, ", ")
        << " (their status shows the config drift)\n";
    return kExitFailed;
  }
  out << "applied config version " << spec.config_version() << " to "
      << absl::StrJoin(committed, ", ") << "\n";
  return kExitOk;
}

int RunDiff(const ApplyArgs& args, std::ostream& out, std::ostream& err) {
  std::string text;
  if (std::optional<int> code = ReadSpecFileText(args, "diff", err, &text)) return *code;
  Reached reached;
  if (std::optional<int> code =
          LoadAndReach(text, args.file, config::DirName(args.file), args, "diff", err, &reached)) {
    return *code;
  }
  int answered = 0;
  for (Node& n : reached.nodes) {
    if (!n.connection.has_value()) {
      out << n.name << ": unreachable (" << n.unreachable << ")"
          << (reached.alive.count(n.name) > 0 ? "; alive in the membership: an apply would abort"
                                              : "; dead in the membership: an apply skips it")
          << "\n";
      continue;
    }
    v1::GetSpecResponse running;
    grpc::Status s =
        n.connection->stub->GetSpec(Context(args.timeout).get(), v1::GetSpecRequest(), &running);
    if (!s.ok()) {
      out << n.name << ": " << s.error_message() << "\n";
      continue;
    }
    config::ParsedSpec parsed = config::ParseSpecYaml(running.spec_yaml(), n.name + " (running)");
    std::map<std::string, std::string> holders;
    for (const auto& g : n.status->groups()) {
      if (!g.holder().empty()) holders[g.name()] = g.holder();
    }
    ++answered;
    const uint64_t version = running.config_version();
    out << n.name << " (runs config version " << version << ")";
    if (reached.spec.config_version() != version + 1) {
      out << ": an apply would be refused: the new spec has version "
          << reached.spec.config_version() << ", it must be " << version + 1;
    }
    out << ":\n";
    // The running spec comes without inline secrets (they never travel):
    // the plan compares both sides without them.
    for (const std::string& line : PlanForNode(agent::RedactSecrets(parsed.spec),
                                               agent::RedactSecrets(reached.spec), n.name,
                                               holders)) {
      out << "  " << line << "\n";
    }
  }
  if (answered == 0) return kExitUnreachable;
  return answered == static_cast<int>(reached.nodes.size()) ? kExitOk : kExitFailed;
}

}  // namespace hacluster::cli
