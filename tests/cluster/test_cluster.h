// Pieces for tests that run real ha-agent processes: a spec writer, a short
// scratch directory (Unix socket paths must stay under 108 bytes, which
// Bazel's TEST_TMPDIR is not), the paths of the built binaries, and a
// client of an agent's API that can follow its events in the background.
//
// Thread-safety: EventRecorder is safe to read from the test thread while
// its own thread records; everything else is for the test thread only.
#ifndef HACLUSTER_TESTS_CLUSTER_TEST_CLUSTER_H_
#define HACLUSTER_TESTS_CLUSTER_TEST_CLUSTER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/agent.grpc.pb.h"

namespace grpc {
class ClientContext;
}

namespace hacluster::testing {

// A directory under /tmp, removed (with everything in it) on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `contents` to File(name) with `mode`; returns the path.
  std::string Write(const std::string& name, const std::string& contents, int mode = 0644) const;

 private:
  std::string path_;
};

// The whole file, or "" when it can't be read.
std::string ReadFile(const std::string& path);

// CLOCK_MONOTONIC in nanoseconds: the scale of Event.monotonic_ns.
int64_t MonotonicNs();

// A loopback /24 of a run's own ("127.A.B.", add the host byte) and a UDP
// port, drawn at random so that parallel runs on one machine do not meet.
struct LoopbackSpot {
  std::string prefix;
  int port = 0;
};
LoopbackSpot RandomLoopbackSpot();

// The path of `rel` (a workspace-relative path) in the test's runfiles;
// `rel` itself when run by hand from the runfiles tree.
std::string RunfilePath(const std::string& rel);

// The `p`th percentile (0..100) of `v` by nearest rank, for benchmarks; NaN
// when `v` is empty.
double Percentile(std::vector<double> v, double p);

// Paths of the binaries under test, from the test's runfiles.
std::string HaAgentPath();
std::string HacliPath();

struct SpecNode {
  std::string name;
  std::vector<std::string> addresses;
  // spec.nodes[].labels, e.g. {"gui_server_id", "101"}.
  std::vector<std::pair<std::string, std::string>> labels = {};
};

struct SpecOptions {
  std::string cluster_name = "testcluster";
  std::vector<SpecNode> nodes;
  // YAML list items under media:, e.g. "- ucast: {interface: lo}".
  std::vector<std::string> media = {"- ucast: {interface: lo}"};
  int udp_port = 0;  // 0: not written (default 694)
  std::string keepalive = "100ms";
  std::string deadtime = "500ms";
  std::string warntime;  // empty: default
  std::string initdead = "1s";
  // The key file (relative to the spec) and method.
  std::string key_file = "authkey";
  std::string key_method = "sha256";
  std::vector<std::string> ping_nodes;
  std::string deadping;
};

std::string SpecYaml(const SpecOptions& options);

// A client of one agent's API socket.
class AgentClient {
 public:
  explicit AgentClient(const std::string& socket);
  absl::StatusOr<agent::v1::GetStatusResponse> Status(absl::Duration timeout = absl::Seconds(2));
  // The state `node` has in the agent's status; UNSPECIFIED when unreachable.
  agent::v1::NodeState StateOf(const std::string& node);
  uint64_t GenerationOf(const std::string& node);

 private:
  std::string socket_;
  std::unique_ptr<agent::v1::Agent::Stub> stub_;
};

// Follows an agent's WatchEvents stream on a thread of its own and keeps
// every event; the stream ends when the agent stops or on destruction.
class EventRecorder {
 public:
  explicit EventRecorder(const std::string& socket);
  ~EventRecorder();
  std::vector<agent::v1::Event> Events() const;
  // The first recorded event of `kind` about `node` (and `link` if given).
  bool Has(agent::v1::EventKind kind, const std::string& node, const std::string& link = "") const;
  // Bounded wait for such an event.
  bool WaitFor(agent::v1::EventKind kind, const std::string& node, absl::Duration deadline,
               const std::string& link = "") const;
  bool connected() const { return connected_.load(); }

 private:
  std::unique_ptr<agent::v1::Agent::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::atomic<bool> connected_{false};
  mutable absl::Mutex mu_;
  std::vector<agent::v1::Event> events_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_TEST_CLUSTER_H_
