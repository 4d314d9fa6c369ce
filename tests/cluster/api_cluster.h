// Two real agents on loopback (127.x.y.1 and .2 of a run's own, ucast on
// lo) that serve their API over mutual TLS on each node's own address
// (api.listen ":PORT"), with a group "svc" (an OCF Dummy) preferring
// node01: what the API benchmark and the hostile-client test run against.
//
// Thread-safety: for the thread that made it; Target, CertDir and Socket
// may be read from any thread once Start returned.
#ifndef HACLUSTER_TESTS_CLUSTER_API_CLUSTER_H_
#define HACLUSTER_TESTS_CLUSTER_API_CLUSTER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "proto/agent.grpc.pb.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"

namespace hacluster::testing {

struct ApiClusterOptions {
  std::string keepalive = "5ms";
  std::string deadtime = "20ms";
  std::string warntime = "10ms";
  // Each node its own copy of the spec (node01.yaml, node02.yaml), as on
  // real machines, instead of one shared file.
  bool spec_per_node = false;
  // api.metrics_listen ":PORT" when not 0.
  int metrics_port = 0;
};

class ApiCluster {
 public:
  ApiCluster();
  ~ApiCluster();
  // Starts both agents and waits (bounded) until each sees the other up
  // and svc runs on node01.
  absl::Status Start(const ApiClusterOptions& options);
  // "127.x.y.N:PORT" of a node's TLS API.
  std::string Target(const std::string& node) const;
  std::string Socket(const std::string& node) const { return dir_.File(node + "/agent.sock"); }
  // Where ca.crt, admin.crt/.key, reader.crt/.key are.
  std::string CertDir() const { return dir_.File("certs"); }
  std::string Address(const std::string& node) const;
  // The spec both agents run, and a path in the cluster's scratch directory.
  std::string SpecPath() const { return dir_.File("cluster.yaml"); }
  // The spec file `node` runs (SpecPath unless spec_per_node).
  std::string SpecPathOf(const std::string& node) const {
    return spec_per_node_ ? dir_.File(node + ".yaml") : SpecPath();
  }
  // Starts the agent of `node` again (after it was killed), without
  // waiting for anything.
  absl::Status StartAgent(const std::string& node);
  std::string File(const std::string& name) const { return dir_.File(name); }
  harness::Process& Agent(const std::string& node) { return agents_.at(node); }
  // A stub over TLS with DIR/NAME.crt/.key (no client certificate when
  // `name` is empty), trusting DIR/ca.crt; a channel of its own.
  std::unique_ptr<agent::v1::Agent::Stub> TlsStub(const std::string& node,
                                                  const std::string& name) const;
  std::unique_ptr<agent::v1::Agent::Stub> UnixStub(const std::string& node) const;

 private:
  ScratchDir dir_;
  std::string prefix_;
  int port_ = 0;
  bool spec_per_node_ = false;
  std::map<std::string, harness::Process> agents_;
};

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_API_CLUSTER_H_
