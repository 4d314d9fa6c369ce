// The Controller gRPC service: thin handlers over the Fleet (reads) and
// controller/forward (writes). Callers are identified and authorized as by
// the agent (agent/service/api_auth): a client certificate of the cluster
// CA with role reader may read; admin (or node) may also write; writes and
// refusals are audited in the controller's log.
//
// Thread-safety: gRPC calls the handlers on its threads; everything they
// touch is thread-safe.
#ifndef HACLUSTER_CONTROLLER_CONTROLLER_SERVICE_H_
#define HACLUSTER_CONTROLLER_CONTROLLER_SERVICE_H_

#include "agent/service/api_auth.h"
#include "controller/fleet.h"
#include "controller/forward.h"
#include "proto/controller.grpc.pb.h"

namespace hacluster::controller {

class ControllerService final : public v1::Controller::Service {
 public:
  // None is owned; all must outlive the service.
  ControllerService(const Fleet& fleet, const ClientFiles& files, agent::ApiAuth& auth)
      : fleet_(fleet), files_(files), auth_(auth) {}

  grpc::Status ListClusters(grpc::ServerContext* context, const v1::ListClustersRequest* request,
                            v1::ListClustersResponse* response) override;
  grpc::Status GetClusterStatus(grpc::ServerContext* context,
                                const v1::GetClusterStatusRequest* request,
                                v1::ClusterStatus* response) override;
  grpc::Status ListServers(grpc::ServerContext* context, const v1::ClusterServersRequest* request,
                           v1::ClusterServersResponse* response) override;
  grpc::Status Where(grpc::ServerContext* context, const v1::WhereRequest* request,
                     v1::WhereResponse* response) override;
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::ClusterEvent>* writer) override;
  grpc::Status Standby(grpc::ServerContext* context, const v1::NodeStandbyRequest* request,
                       agent::v1::OperationResponse* response) override;
  grpc::Status Takeover(grpc::ServerContext* context, const v1::NodeTakeoverRequest* request,
                        agent::v1::OperationResponse* response) override;
  grpc::Status Move(grpc::ServerContext* context, const v1::ClusterMoveRequest* request,
                    agent::v1::OperationResponse* response) override;
  grpc::Status Apply(grpc::ServerContext* context, const v1::ApplyRequest* request,
                     v1::ApplyResponse* response) override;

 private:
  grpc::Status Read(grpc::ServerContext* context, const char* call);
  // Authorizes an admin call, runs it, audits the outcome.
  template <typename Response, typename Fn>
  grpc::Status Write(grpc::ServerContext* context, const std::string& call, Response* response,
                     Fn fn);

  const Fleet& fleet_;
  const ClientFiles& files_;
  agent::ApiAuth& auth_;
};

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_CONTROLLER_SERVICE_H_
