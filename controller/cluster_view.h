// The controller's aggregated answers, computed from a cluster's spec and
// the latest status each of its agents gave: the cluster status (every node
// as each node sees it, who holds each group, drift), the one-line summary,
// "where is X" and the server list. Pure: no I/O, no clock.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_CONTROLLER_CLUSTER_VIEW_H_
#define HACLUSTER_CONTROLLER_CLUSTER_VIEW_H_

#include <optional>
#include <string>
#include <vector>

#include "controller/cluster_catalog.h"
#include "proto/controller.pb.h"

namespace hacluster::controller {

namespace v1 = ::hacluster::controller::v1;

// `views` holds one NodeView per node of `cluster`, in its order (filled by
// the watchers: reachable or not, with the status when reachable). The
// holders and drift are derived here.
v1::ClusterStatus BuildClusterStatus(const CatalogCluster& cluster,
                                     std::vector<v1::NodeView> views);

v1::ClusterSummary Summarize(const CatalogCluster& cluster, const v1::ClusterStatus& status);

// Who holds `target` (a virtual IP, or a group name) according to
// `status`; nullopt when the cluster has no such group or address.
std::optional<v1::WhereResponse> WhereIn(const CatalogCluster& cluster,
                                         const v1::ClusterStatus& status,
                                         const std::string& target);

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_CLUSTER_VIEW_H_
