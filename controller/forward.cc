#include "controller/forward.h"

#include <sstream>

#include "absl/strings/str_split.h"
#include "agent/config/yaml_codec.h"
#include "cli/apply_command.h"
#include "cli/exit_codes.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

// The forwarded call's deadline: the operation's own timeout (default 30 s,
// as the agent's) and a margin for the answer.
absl::Time DeadlineFor(const google::protobuf::Duration& timeout, bool no_wait) {
  absl::Duration t = absl::Seconds(30);
  if (timeout.seconds() > 0 || timeout.nanos() > 0) {
    t = absl::Seconds(timeout.seconds()) + absl::Nanoseconds(timeout.nanos());
  }
  if (no_wait) t = absl::Seconds(5);
  return absl::Now() + t + absl::Seconds(5);
}

template <typename Request, typename Call>
absl::StatusOr<av1::OperationResponse> Forward(const Fleet& fleet, const std::string& cluster,
                                               const std::string& node, const Request& request,
                                               Call call) {
  absl::StatusOr<av1::Agent::Stub*> stub = fleet.StubOf(cluster, node);
  if (!stub.ok()) return stub.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(DeadlineFor(request.timeout(), request.no_wait())));
  av1::OperationResponse resp;
  grpc::Status s = call(**stub, &ctx, request, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

absl::StatusOr<av1::OperationResponse> ForwardStandby(const Fleet& fleet,
                                                      const v1::NodeStandbyRequest& req) {
  if (req.node().empty()) return absl::InvalidArgumentError("standby: which node? (node)");
  return Forward(fleet, req.cluster(), req.node(), req.request(),
                 [](av1::Agent::Stub& s, grpc::ClientContext* c, const av1::StandbyRequest& r,
                    av1::OperationResponse* o) { return s.Standby(c, r, o); });
}

absl::StatusOr<av1::OperationResponse> ForwardTakeover(const Fleet& fleet,
                                                       const v1::NodeTakeoverRequest& req) {
  if (req.node().empty()) return absl::InvalidArgumentError("takeover: which node? (node)");
  return Forward(fleet, req.cluster(), req.node(), req.request(),
                 [](av1::Agent::Stub& s, grpc::ClientContext* c, const av1::TakeoverRequest& r,
                    av1::OperationResponse* o) { return s.Takeover(c, r, o); });
}

absl::StatusOr<av1::OperationResponse> ForwardMove(const Fleet& fleet,
                                                   const v1::ClusterMoveRequest& req) {
  // Any node can take a move: it travels in the heartbeats.
  return Forward(fleet, req.cluster(), "", req.request(),
                 [](av1::Agent::Stub& s, grpc::ClientContext* c, const av1::MoveRequest& r,
                    av1::OperationResponse* o) { return s.Move(c, r, o); });
}

absl::StatusOr<v1::ApplyResponse> ApplyThrough(const Fleet& fleet, const ClientFiles& files,
                                               const v1::ApplyRequest& req) {
  config::ParsedSpec parsed = config::ParseSpecYaml(req.spec_yaml(), "apply");
  const CatalogCluster* cluster = fleet.catalog().Find(parsed.spec.cluster_name());
  if (cluster == nullptr) {
    return absl::InvalidArgumentError(
        "the spec's cluster_name is not a cluster this controller watches");
  }
  cli::ApplyArgs args;
  args.expect_version = req.expect_version();
  args.connection.ca = files.ca;
  args.connection.cert = files.cert;
  args.connection.key = files.key;
  std::ostringstream out, err;
  const int code = cli::ApplySpecText(req.spec_yaml(), cluster->file + " (applied)",
                                      config::DirName(cluster->file), args, out, err);
  v1::ApplyResponse resp;
  resp.set_applied(code == cli::kExitOk);
  if (code == cli::kExitOk) resp.set_config_version(parsed.spec.config_version());
  for (const std::string& text : {out.str(), err.str()}) {
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      resp.add_lines(std::string(line));
    }
  }
  return resp;
}

}  // namespace hacluster::controller
