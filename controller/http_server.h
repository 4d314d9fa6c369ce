// ha-controller's HTTPS side, for what does not speak gRPC: JSON (protobuf's
// JSON mapping of the Controller service's messages: one schema), server-
// sent events, Prometheus text on /metrics and the web dashboard at /.
//
// Every request needs a client certificate of the cluster CA, checked as
// the gRPC API checks it: none gives 401, a refused one 403, both with a
// JSON error; writes (POST) need an admin or node certificate (403
// otherwise), a JSON body (415 otherwise) and, from a browser, this origin
// (403 otherwise: no cross-site form can act). A body over 1 MiB gives
// 413, an unknown path 404; every error is JSON: {"error": "...", "code": N}.
//
// Paths:
//   GET  /                               the dashboard (static HTML, CSS, JS)
//   GET  /metrics                        Prometheus text format 0.0.4
//   GET  /v1/whoami                      {"subject", "role"} of the caller
//   GET  /v1/clusters                    ListClustersResponse
//   GET  /v1/clusters/{name}/status      ClusterStatus
//   GET  /v1/clusters/{name}/servers     ClusterServersResponse
//   GET  /v1/where/{ip-or-group}         WhereResponse (?cluster=NAME)
//   GET  /v1/events                      ClusterEvent as server-sent events
//                                        (?cluster=NAME; Last-Event-ID resumes)
//   POST /v1/clusters/{name}/nodes/{node}/standby   body: StandbyRequest
//   POST /v1/clusters/{name}/nodes/{node}/takeover  body: TakeoverRequest
//   POST /v1/clusters/{name}/move                   body: MoveRequest
//
// Thread-safety: Start and Stop from one thread; requests are served on
// the server's own pool of threads.
#ifndef HACLUSTER_CONTROLLER_HTTP_SERVER_H_
#define HACLUSTER_CONTROLLER_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "agent/log/logger.h"
#include "agent/service/api_auth.h"
#include "controller/fleet.h"

namespace hacluster::agent {
class HttpsServer;
}  // namespace hacluster::agent

namespace hacluster::controller {

struct HttpOptions {
  std::string host;  // "127.0.0.1", "::", "0.0.0.0"
  int port = 0;      // 0: any free port (port() says which)
  // PEM file paths: the server's certificate and key, the CA of clients.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Threads serving requests; each open event stream holds one.
  int threads = 64;
};

inline constexpr size_t kMaxBodyBytes = 1 << 20;

// The dashboard page (controller/dashboard/index.html, built in).
extern const char kDashboardHtml[];

class HttpServer {
 public:
  // `fleet` and `logger` are not owned and must outlive the server.
  HttpServer(const Fleet& fleet, agent::Logger& logger);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS files, binds and starts serving on a thread of its own.
  // Errors name the file or the address.
  absl::Status Start(const HttpOptions& options);
  void Stop();
  int port() const { return port_; }

 private:
  const Fleet& fleet_;
  agent::Logger& logger_;
  std::unique_ptr<agent::HttpsServer> https_;
  int port_ = 0;
};

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_HTTP_SERVER_H_
