// Prometheus text exposition (format 0.0.4) of what agents report: nodes
// up and dead, links, group holders, failovers, late heartbeats, refused
// packets by source, config versions and drift. One writer serves both
// ha-controller's /metrics (every node of every cluster) and an agent's
// own (api.metrics_listen).
//
// Naming follows Prometheus' conventions: an `ha_` prefix, base units
// (seconds), `_total` on counters, one HELP and TYPE per family. Labels:
// `cluster`, `node` (the node a value is about), `observer` (the node whose
// agent reported it, where nodes may disagree), and `link`, `group`,
// `source`, `reason`.
//
// Thread-safety: MetricsWriter is a value built by one thread; the free
// functions are pure.
#ifndef HACLUSTER_CONTROLLER_METRICS_H_
#define HACLUSTER_CONTROLLER_METRICS_H_

#include <map>
#include <string>
#include <vector>

#include "proto/agent.pb.h"

namespace hacluster::controller {

// Collects samples by family and renders them, families in a fixed order.
class MetricsWriter {
 public:
  // Adds what `status` (the agent of `reporter`, in `cluster`) says.
  void AddAgentStatus(const std::string& cluster, const ::hacluster::agent::v1::GetStatusResponse& status);
  // The controller's own view of an agent: reachable or not.
  void AddReachable(const std::string& cluster, const std::string& node, bool reachable);
  // The controller's verdict on a cluster: drift between its nodes.
  void AddClusterDrift(const std::string& cluster, bool drift);
  std::string Render() const;

  // `value` escaped for a label value (backslash, double quote, newline).
  static std::string EscapeLabel(const std::string& value);

 private:
  void Add(const std::string& family, std::vector<std::pair<std::string, std::string>> labels,
           double value);
  // family -> rendered sample lines
  std::map<std::string, std::vector<std::string>> samples_;
};

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_METRICS_H_
