#include "controller/controller_service.h"

#include "absl/strings/str_cat.h"

namespace hacluster::controller {

namespace av1 = ::hacluster::agent::v1;

grpc::Status ControllerService::Read(grpc::ServerContext* context, const char* call) {
  agent::Caller caller;
  return auth_.Authorize(context, agent::ApiRole::kReader, call, &caller);
}

template <typename Response, typename Fn>
grpc::Status ControllerService::Write(grpc::ServerContext* context, const std::string& call,
                                      Response* response, Fn fn) {
  agent::Caller caller;
  grpc::Status allowed = auth_.Authorize(context, agent::ApiRole::kAdmin, call, &caller);
  if (!allowed.ok()) return allowed;
  absl::StatusOr<Response> result = fn();
  if (!result.ok()) {
    auth_.AuditResult(caller, call, false, std::string(result.status().message()));
    return ToGrpc(result.status());
  }
  *response = *std::move(result);
  auth_.AuditResult(caller, call, true, "forwarded");
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListClusters(grpc::ServerContext* context,
                                             const v1::ListClustersRequest*,
                                             v1::ListClustersResponse* response) {
  grpc::Status allowed = Read(context, "clusters");
  if (!allowed.ok()) return allowed;
  *response = fleet_.ListClusters();
  return grpc::Status::OK;
}

grpc::Status ControllerService::GetClusterStatus(grpc::ServerContext* context,
                                                 const v1::GetClusterStatusRequest* request,
                                                 v1::ClusterStatus* response) {
  grpc::Status allowed = Read(context, "status");
  if (!allowed.ok()) return allowed;
  std::shared_ptr<const v1::ClusterStatus> st = fleet_.Status(request->cluster());
  if (st == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no cluster ", request->cluster()));
  }
  *response = *st;
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListServers(grpc::ServerContext* context,
                                            const v1::ClusterServersRequest* request,
                                            v1::ClusterServersResponse* response) {
  grpc::Status allowed = Read(context, "servers");
  if (!allowed.ok()) return allowed;
  absl::StatusOr<v1::ClusterServersResponse> r = fleet_.ListServers(request->cluster());
  if (!r.ok()) return ToGrpc(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status ControllerService::Where(grpc::ServerContext* context, const v1::WhereRequest* request,
                                      v1::WhereResponse* response) {
  grpc::Status allowed = Read(context, "where");
  if (!allowed.ok()) return allowed;
  absl::StatusOr<v1::WhereResponse> r = fleet_.Where(request->target(), request->cluster());
  if (!r.ok()) return ToGrpc(r.status());
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status ControllerService::WatchEvents(grpc::ServerContext* context,
                                            const v1::WatchEventsRequest* request,
                                            grpc::ServerWriter<v1::ClusterEvent>* writer) {
  grpc::Status allowed = Read(context, "watch");
  if (!allowed.ok()) return allowed;
  uint64_t cursor = request->only_new() ? fleet_.LastEventId() : request->after_id();
  std::vector<v1::ClusterEvent> batch;
  while (!context->IsCancelled()) {
    batch.clear();
    if (!fleet_.NextEvents(&cursor, request->cluster(), absl::Seconds(1), &batch)) break;
    for (const v1::ClusterEvent& e : batch) {
      if (!writer->Write(e)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::Standby(grpc::ServerContext* context,
                                        const v1::NodeStandbyRequest* request,
                                        av1::OperationResponse* response) {
  return Write(context, absl::StrCat("standby cluster=", request->cluster(), " node=", request->node()),
               response, [&] { return ForwardStandby(fleet_, *request); });
}

grpc::Status ControllerService::Takeover(grpc::ServerContext* context,
                                         const v1::NodeTakeoverRequest* request,
                                         av1::OperationResponse* response) {
  return Write(context,
               absl::StrCat("takeover cluster=", request->cluster(), " node=", request->node()),
               response, [&] { return ForwardTakeover(fleet_, *request); });
}

grpc::Status ControllerService::Move(grpc::ServerContext* context,
                                     const v1::ClusterMoveRequest* request,
                                     av1::OperationResponse* response) {
  return Write(context,
               absl::StrCat("move cluster=", request->cluster(), " group=",
                            request->request().group(), " node=", request->request().node()),
               response, [&] { return ForwardMove(fleet_, *request); });
}

grpc::Status ControllerService::Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                                      v1::ApplyResponse* response) {
  return Write(context, absl::StrCat("apply expect_version=", request->expect_version()), response,
               [&] { return ApplyThrough(fleet_, files_, *request); });
}

}  // namespace hacluster::controller
