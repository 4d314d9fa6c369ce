// The agent's management API: the gRPC Agent service (proto/agent.proto)
// served on a Unix socket and, when the spec lists api.listen addresses,
// over TCP with mutual TLS only. Handlers are thin: each asks ApiAuth who
// calls and whether it may, then GetStatus copies the snapshot the event
// loop published in the EventHub, WatchEvents follows its feed, the writes
// go to the loop through Operations.
//
// The API can never delay a heartbeat: its threads are gRPC's (and the
// socket acceptor's), at normal priority below the loop's SCHED_RR, and
// created off the loop (a SIGHUP's new TLS server is built on a thread of
// its own); requests are bounded in size and concurrent streams, and a TLS
// handshake that does not finish in time is dropped.
//
// Thread-safety: gRPC runs handlers on its own threads; they only call the
// EventHub, Operations and ApiAuth, which are thread-safe. Start, ReloadTls
// and Shutdown are called by one thread (the loop).
#ifndef HACLUSTER_AGENT_SERVICE_API_SERVER_H_
#define HACLUSTER_AGENT_SERVICE_API_SERVER_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/log/logger.h"
#include "agent/service/api_auth.h"
#include "agent/service/event_hub.h"
#include "agent/service/operations.h"
#include "proto/agent.grpc.pb.h"

namespace grpc {
class Server;
}

namespace hacluster::agent {

class AgentService final : public v1::Agent::Service {
 public:
  // `hub`, `ops` and `auth` are not owned and must outlive the service.
  AgentService(EventHub& hub, Operations& ops, ApiAuth& auth) : hub_(hub), ops_(ops), auth_(auth) {}
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
  grpc::Status ListServers(grpc::ServerContext* context, const v1::ListServersRequest* request,
                           v1::ListServersResponse* response) override;
  grpc::Status GetSpec(grpc::ServerContext* context, const v1::GetSpecRequest* request,
                       v1::GetSpecResponse* response) override;
  grpc::Status PrepareApply(grpc::ServerContext* context, const v1::PrepareApplyRequest* request,
                            v1::OperationResponse* response) override;
  grpc::Status CommitApply(grpc::ServerContext* context, const v1::ApplyStepRequest* request,
                           v1::OperationResponse* response) override;
  grpc::Status AbortApply(grpc::ServerContext* context, const v1::ApplyStepRequest* request,
                          v1::OperationResponse* response) override;

 private:
  // An admin's write: authorizes, submits `request`, waits up to `timeout`
  // (default 30 s) unless `no_wait`, and audits the outcome.
  grpc::Status Write(grpc::ServerContext* context, const std::string& call,
                     OperationRequest request, const google::protobuf::Duration& timeout,
                     bool no_wait, v1::OperationResponse* response);
  grpc::Status Read(grpc::ServerContext* context, const char* call);
  // An admin's write refused for bad arguments before it reaches the loop:
  // authorized first (an unauthorized caller hears that instead), audited,
  // INVALID_ARGUMENT with `why`.
  grpc::Status RefuseWrite(grpc::ServerContext* context, const std::string& call,
                           const std::string& why);

  EventHub& hub_;
  Operations& ops_;
  ApiAuth& auth_;
};

struct ApiOptions {
  // The Unix socket (its directory must exist), mode 0660, and its group
  // (empty: the agent's).
  std::string socket_path;
  std::string socket_group;
  // TCP addresses ("host:port", "[v6]:port") served with mutual TLS; empty:
  // none. The files: the server's certificate and key, and the CA of the
  // clients' certificates.
  std::vector<std::string> tcp_addresses;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Stamped on audit events.
  uint64_t generation = 0;
};

class ApiServer {
 public:
  // Serves the API as `options` say. A stale socket left by a dead agent is
  // replaced, any other file there is refused; an unknown socket group, a
  // certificate or key the checks refuse (expired, not yet valid, not
  // matching, a key others may read) or an address that cannot be bound
  // is an error naming it. Audit lines go to `logger`. Nothing is owned.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const ApiOptions& options,
                                                          EventHub& hub, Operations& ops,
                                                          Logger& logger);
  // The Unix socket alone, logging to stderr (for tests of the clients).
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const std::string& socket_path,
                                                          EventHub& hub, Operations& ops);
  ~ApiServer();
  // SIGHUP: re-reads the certificate files and the TCP addresses of
  // `options` on a thread of its own and returns at once. When they pass
  // the checks a new TLS server takes over (bound beside the old one, which
  // then closes); else the running one stays. Either way it is logged.
  void ReloadTls(const ApiOptions& options);
  // Waits for a reload started by ReloadTls to finish (for tests).
  void WaitForReload();
  // Ends open calls (watches get end of stream) and removes the socket.
  void Shutdown();
  const std::string& socket_path() const { return options_.socket_path; }
  // "SOCKET" or "SOCKET and mTLS on A, B".
  std::string Description() const;
  // The TCP ports bound, in the order of the addresses (port 0 asked for
  // any); empty without TCP.
  std::vector<int> TcpPorts() const;

 private:
  class UnixAcceptor;
  struct TlsServer;
  ApiServer(const ApiOptions& options, EventHub& hub, Operations& ops, Logger& logger);
  absl::Status StartUnix();
  // Checks the files of `options` and builds a TLS server on its addresses.
  absl::StatusOr<std::unique_ptr<TlsServer>> BuildTls(const ApiOptions& options);
  void RunReload(ApiOptions options);

  ApiOptions options_;
  EventHub& hub_;
  Operations& ops_;
  Logger& logger_;
  std::unique_ptr<Logger> own_logger_;
  ApiAuth auth_;
  AgentService unix_service_;
  std::unique_ptr<grpc::Server> unix_server_;
  std::unique_ptr<UnixAcceptor> acceptor_;
  mutable absl::Mutex tls_mu_;
  std::unique_ptr<TlsServer> tls_ ABSL_GUARDED_BY(tls_mu_);
  std::thread reload_;
  absl::Mutex reload_mu_;
  std::optional<ApiOptions> pending_reload_ ABSL_GUARDED_BY(reload_mu_);
  bool reload_running_ ABSL_GUARDED_BY(reload_mu_) = false;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SERVICE_API_SERVER_H_
