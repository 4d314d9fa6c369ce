// What applying a new spec would do on one node, as readable lines: per
// group the resources started, stopped or restarted (by the same matching a
// reload uses: by name, else kind and key), groups added, removed or moved,
// and the node-wide changes (media reopened, timing, keys). Pure: it
// compares the node's running spec with the new one, given which node holds
// each group now.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_CLI_SPEC_PLAN_H_
#define HACLUSTER_CLI_SPEC_PLAN_H_

#include <map>
#include <string>
#include <vector>

#include "proto/cluster_spec.pb.h"

namespace hacluster::cli {

// `holders`: group name -> the node holding it now (absent: none).
std::vector<std::string> PlanForNode(const spec::v1::ClusterSpec& running,
                                     const spec::v1::ClusterSpec& next, const std::string& node,
                                     const std::map<std::string, std::string>& holders);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_SPEC_PLAN_H_
