// Test-only pieces for hacli's remote connections: a throwaway PKI made with
// the openssl command in a scratch directory, and an Agent service served
// over TLS on loopback that behaves as the agent's TLS listener does at its
// edge (the TLS layer asks for a client certificate but lets the service
// judge it: no certificate answers UNAUTHENTICATED, a reader's write
// PERMISSION_DENIED).
//
// Thread-safety: TestPki is a plain value. FakeTlsAgent's handlers run on
// gRPC's threads; its setters and Release() may be called from any thread.
#ifndef HACLUSTER_CLI_TLS_TESTING_H_
#define HACLUSTER_CLI_TLS_TESTING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::cli::tls_testing {

// Certificates and keys in one directory, each NAME as NAME.pem and
// NAME.key (P-256):
//   ca          the CA that signs the rest
//   server      CN=node01, subjectAltName IP:127.0.0.1, IP:::1
//   client      CN=admin, a client certificate
//   elsewhere   CN=node09, subjectAltName IP:192.0.2.9 only
//   dns-ip      CN=node01, subjectAltName DNS:127.0.0.1 only (a DNS name
//               that reads as an IP address)
//   other-ca    a CA that signed none of these
class TestPki {
 public:
  // Makes them all in `dir`, which must exist. An error names the openssl
  // command that failed and what it printed.
  static absl::StatusOr<TestPki> Make(const std::string& dir);

  std::string Pem(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

// GetStatus answers a status whose cluster_name is the agent's name, so a
// test sees which agent answered; Standby is refused as for a reader's
// certificate. With Hang(), GetStatus waits (up to 30 s) for Release() or
// for the caller to give up, and answers nothing useful.
class FakeTlsAgent final : public agent::v1::Agent::Service {
 public:
  explicit FakeTlsAgent(std::string name) : name_(std::move(name)) {}

  grpc::Status GetStatus(grpc::ServerContext* ctx, const agent::v1::GetStatusRequest*,
                         agent::v1::GetStatusResponse* response) override;
  grpc::Status Standby(grpc::ServerContext* ctx, const agent::v1::StandbyRequest*,
                       agent::v1::OperationResponse*) override;

  void Hang() {
    absl::MutexLock lock(&mu_);
    hang_ = true;
  }
  // Ends every wait of a hanging GetStatus; for the end of a test.
  void Release() { released_.Notify(); }

 private:
  const std::string name_;
  absl::Mutex mu_;
  bool hang_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification released_;
};

// A FakeTlsAgent served with SslServerCredentials on `host` (e.g.
// "127.0.0.1" or "[::1]") at a port the kernel picks.
class TlsServer {
 public:
  // nullptr when the address cannot be bound (e.g. no IPv6 on this host).
  // `cert` is the name of the server's certificate in `pki`.
  static std::unique_ptr<TlsServer> Start(const std::string& host, const TestPki& pki,
                                          const std::string& cert, const std::string& name);
  // Releases hanging calls, then shuts the server down.
  ~TlsServer();

  // HOST:PORT as a client dials it.
  const std::string& address() const { return address_; }
  FakeTlsAgent& agent() { return agent_; }

 private:
  explicit TlsServer(const std::string& name) : agent_(name) {}
  FakeTlsAgent agent_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// The contents of a file; empty when it cannot be read.
std::string ReadFileForTest(const std::string& path);

}  // namespace hacluster::cli::tls_testing

#endif  // HACLUSTER_CLI_TLS_TESTING_H_
