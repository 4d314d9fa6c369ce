// The controller's writes: standby, takeover and move forwarded to the
// agent that must act, and Apply run as `hacli apply` runs it (two phases,
// compare-and-swap on config_version) with the controller's own client
// certificate. Shared by the gRPC service and the HTTP endpoints, so both
// do exactly the same thing.
//
// Thread-safety: the functions may run on any thread at once.
#ifndef HACLUSTER_CONTROLLER_FORWARD_H_
#define HACLUSTER_CONTROLLER_FORWARD_H_

#include <string>

#include "absl/status/statusor.h"
#include "controller/fleet.h"
#include "proto/agent.pb.h"
#include "proto/controller.pb.h"

namespace hacluster::controller {

// The controller's TLS files, by path (as hacli takes them), for Apply.
struct ClientFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

absl::StatusOr<agent::v1::OperationResponse> ForwardStandby(const Fleet& fleet,
                                                            const v1::NodeStandbyRequest& req);
absl::StatusOr<agent::v1::OperationResponse> ForwardTakeover(const Fleet& fleet,
                                                             const v1::NodeTakeoverRequest& req);
absl::StatusOr<agent::v1::OperationResponse> ForwardMove(const Fleet& fleet,
                                                         const v1::ClusterMoveRequest& req);
// InvalidArgument when the spec names a cluster the controller does not
// watch (its nodes would be unknown); otherwise what happened, line by line.
absl::StatusOr<v1::ApplyResponse> ApplyThrough(const Fleet& fleet, const ClientFiles& files,
                                               const v1::ApplyRequest& req);

// A gRPC status as an absl::Status (same code and message), and back.
absl::Status FromGrpc(const grpc::Status& s);
grpc::Status ToGrpc(const absl::Status& s);

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_FORWARD_H_
