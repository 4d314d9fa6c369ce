// What ha-controller knows of the clusters it watches, kept fresh from the
// agents: for every node, a watcher thread polls the agent's GetStatus over
// mutual TLS and follows its WatchEvents stream (re-polling after each
// burst of events, and at least every poll interval). Each cluster's
// aggregated status (cluster_view) is rebuilt when one of its nodes'
// answers changes and is kept as an immutable snapshot, so readers
// (gRPC, HTTP, metrics) only copy a pointer under the lock.
//
// Every event of every agent is appended to one feed, with the
// controller's own ids (a bounded history), for WatchEvents and the
// dashboard's server-sent events.
//
// Thread-safety: every public method may be called from any thread after
// Start; Stop joins the watchers.
#ifndef HACLUSTER_CONTROLLER_FLEET_H_
#define HACLUSTER_CONTROLLER_FLEET_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/cluster_catalog.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"
#include "proto/controller.pb.h"

namespace hacluster::controller {

struct FleetOptions {
  // PEM: the CA the agents' certificates chain to, and the controller's
  // own client certificate and key (an admin or node certificate, so that
  // forwarded writes and applies are allowed).
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
  // Each agent is asked for its status at least this often.
  absl::Duration poll_interval = absl::Seconds(1);
  // Each call's deadline.
  absl::Duration call_timeout = absl::Seconds(3);
  // Events kept for watchers that resume or start late.
  size_t event_history = 4096;
};

class Fleet {
 public:
  Fleet(Catalog catalog, FleetOptions options);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  void Start();
  void Stop();

  const Catalog& catalog() const { return catalog_; }

  // The latest aggregated status of every cluster (catalog order) or one.
  std::vector<std::shared_ptr<const v1::ClusterStatus>> Statuses() const;
  std::shared_ptr<const v1::ClusterStatus> Status(const std::string& cluster) const;
  v1::ListClustersResponse ListClusters() const;
  // NotFound when no cluster (or not `cluster`, when given) has it.
  absl::StatusOr<v1::WhereResponse> Where(const std::string& target,
                                          const std::string& cluster) const;
  // The server list as a reachable node of `cluster` answers it.
  absl::StatusOr<v1::ClusterServersResponse> ListServers(const std::string& cluster) const;

  // The agent stub of `node` in `cluster` (NotFound for an unknown one).
  // An empty `node` picks the first node whose last poll answered
  // (Unavailable when none did).
  absl::StatusOr<agent::v1::Agent::Stub*> StubOf(const std::string& cluster,
                                                  const std::string& node) const;

  // Events with a controller id above *cursor (optionally of one cluster),
  // at most `max`, waiting up to `timeout` for one; false once stopped.
  bool NextEvents(uint64_t* cursor, const std::string& cluster, absl::Duration timeout,
                  std::vector<v1::ClusterEvent>* out, size_t max = 256) const;
  uint64_t LastEventId() const;

 private:
  struct Node;
  void Watch(size_t cluster, size_t node);
  void Poll(size_t cluster, size_t node, agent::v1::Agent::Stub& stub);
  void Rebuild(size_t cluster);
  void Publish(size_t cluster, const std::string& node, agent::v1::Event event);

  const Catalog catalog_;
  const FleetOptions options_;
  // nodes_[cluster][node], catalog order.
  std::vector<std::vector<std::unique_ptr<Node>>> nodes_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<std::mutex>> rebuild_mu_;  // per cluster
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable events_changed_;
  std::vector<std::shared_ptr<const v1::ClusterStatus>> statuses_;  // guarded by mu_
  std::deque<v1::ClusterEvent> events_;                             // guarded by mu_
  uint64_t last_event_id_ = 0;                                      // guarded by mu_
  bool stopped_ = false;                                            // guarded by mu_
};

// The controller's TLS credentials towards agents, from FleetOptions.
std::shared_ptr<grpc::ChannelCredentials> AgentCredentials(const FleetOptions& options);

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_FLEET_H_
