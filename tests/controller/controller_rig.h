// A real ha-controller process for tests and benchmarks, with clients of
// both of its faces: HTTPS (cpp-httplib, with a client certificate of the
// test CA, or none) and gRPC (the Controller service over mutual TLS).
//
// Thread-safety: for the thread that made it; the clients it hands out are
// independent and may be used on other threads.
#ifndef HACLUSTER_TESTS_CONTROLLER_CONTROLLER_RIG_H_
#define HACLUSTER_TESTS_CONTROLLER_CONTROLLER_RIG_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "httplib.h"
#include "proto/controller.grpc.pb.h"
#include "tests/harness/process.h"

namespace hacluster::testing {

struct ControllerRigOptions {
  std::string spec;      // --spec: a file or a directory
  std::string cert_dir;  // ca.crt, server.crt/.key (a node certificate), admin, reader
  std::string host;      // the address it listens on (in server.crt's SANs)
  int http_port = 0;
  int grpc_port = 0;
  std::string poll_interval = "200ms";
};

class ControllerRig {
 public:
  ControllerRig() = default;
  ~ControllerRig();

  // Starts ha-controller and waits (bounded) until its HTTPS port answers.
  absl::Status Start(const ControllerRigOptions& options);
  harness::Process& process() { return process_; }
  std::string Log() const;

  // An HTTPS client that trusts the CA and presents CERT_DIR/NAME.crt
  // (none when `name` is empty).
  std::unique_ptr<httplib::SSLClient> Https(const std::string& name) const;
  // A Controller stub with CERT_DIR/NAME.crt, on a channel of its own.
  std::unique_ptr<controller::v1::Controller::Stub> Grpc(const std::string& name) const;
  std::string BaseUrl() const;

 private:
  ControllerRigOptions options_;
  harness::Process process_;
};

// The path of the ha-controller binary in the test's runfiles.
std::string HaControllerPath();

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CONTROLLER_CONTROLLER_RIG_H_
