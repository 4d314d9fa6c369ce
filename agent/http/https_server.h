// An HTTPS listener (cpp-httplib) that asks every client for a certificate
// and judges it per request with the API's verifier (agent/service/
// api_auth's CertVerifierForCa): what ha-controller's JSON, dashboard and
// metrics, and the agent's own /metrics, are served with.
//
// The handshake lets any certificate through (it still proves the client
// holds its key); the request is then answered 401 without a certificate
// and 403 with one the verifier refuses, with a JSON error. Handlers find
// the caller in the request headers X-Ha-Caller (the subject) and X-Ha-Role
// ("admin" or "reader"); whatever a client sent under those names is
// dropped first.
//
// Thread-safety: Start and Stop from one thread; requests run on the
// server's pool of threads.
#ifndef HACLUSTER_AGENT_HTTP_HTTPS_SERVER_H_
#define HACLUSTER_AGENT_HTTP_HTTPS_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "agent/service/api_auth.h"
#include "httplib.h"

namespace hacluster::agent {

struct HttpsOptions {
  std::string host;  // an address of this host ("0.0.0.0", "::", "192.0.2.11")
  int port = 0;      // 0: any free port
  // PEM file paths.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  int threads = 8;                  // each open streaming answer holds one
  size_t max_body = size_t{1} << 20;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (host "0.0.0.0": every address)
// into `options`' host and port. False when it is none of these or the
// port is not 1..65535.
bool ParseHostPort(const std::string& text, HttpsOptions* options);
// "host:port", "[v6]:port".
std::string JoinHostPort(const std::string& host, int port);

// {"error": MESSAGE, "code": CODE} as the answer, with that status.
void JsonError(httplib::Response& res, int code, const std::string& message);
// `s` as a JSON string literal.
std::string JsonString(const std::string& s);

class HttpsServer {
 public:
  HttpsServer() = default;
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Loads and checks the TLS files (errors name them) and sets up the
  // server; routes are added to server() before Listen.
  absl::Status Init(const HttpsOptions& options);
  httplib::SSLServer& server() { return *server_; }
  // Binds and serves on a thread of its own. Errors name the address.
  absl::Status Listen();
  void Stop();
  int port() const { return port_; }

 private:
  HttpsOptions options_;
  std::shared_ptr<const CertVerifier> verifier_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_HTTP_HTTPS_SERVER_H_
