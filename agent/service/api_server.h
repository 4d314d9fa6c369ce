// The agent's management API: the gRPC Agent service (proto/agent.proto)
// served on a Unix socket. Handlers are thin: GetStatus copies the snapshot
// the event loop published in the EventHub, WatchEvents follows its feed.
//
// Thread-safety: gRPC runs handlers on its own threads; they only call the
// EventHub and Operations, which are thread-safe. Start/Shutdown are called by one thread.
#ifndef HACLUSTER_AGENT_SERVICE_API_SERVER_H_
#define HACLUSTER_AGENT_SERVICE_API_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/service/event_hub.h"
#include "agent/service/operations.h"
#include "proto/agent.grpc.pb.h"

namespace grpc {
class Server;
}

namespace hacluster::agent {

class AgentService final : public v1::Agent::Service {
 public:
  // `hub` and `ops` are not owned and must outlive the service.
  AgentService(EventHub& hub, Operations& ops) : hub_(hub), ops_(ops) {}
  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::Event>* writer) override;
  grpc::Status Standby(grpc::ServerContext* context, const v1::StandbyRequest* request,
                       v1::OperationResponse* response) override;
  grpc::Status Takeover(grpc::ServerContext* context, const v1::TakeoverRequest* request,
                        v1::OperationResponse* response) override;
  grpc::Status Move(grpc::ServerContext* context, const v1::MoveRequest* request,
                    v1::OperationResponse* response) override;
  grpc::Status GetOperation(grpc::ServerContext* context, const v1::GetOperationRequest* request,
                            v1::OperationResponse* response) override;
  grpc::Status Where(grpc::ServerContext* context, const v1::WhereRequest* request,
                     v1::WhereResponse* response) override;

 private:
  // Submits `request`, then waits up to `timeout` (default 30 s) unless
  // `no_wait`.
  grpc::Status Run(OperationRequest request, const google::protobuf::Duration& timeout,
                   bool no_wait, v1::OperationResponse* response);

  EventHub& hub_;
  Operations& ops_;
};

class ApiServer {
 public:
  // Serves the Agent service on the Unix socket `socket_path` (its
  // directory must exist; a stale socket left by a dead agent is replaced,
  // any other file there is refused) with mode 0660. `hub` and `ops` are
  // not owned.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const std::string& socket_path,
                                                          EventHub& hub, Operations& ops);
  ~ApiServer();
  // Ends open calls (watches get end of stream) and removes the socket.
  void Shutdown();
  const std::string& socket_path() const { return socket_path_; }

 private:
  ApiServer(std::string path, EventHub& hub, Operations& ops);
  std::string socket_path_;
  EventHub& hub_;
  Operations& ops_;
  AgentService service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SERVICE_API_SERVER_H_
