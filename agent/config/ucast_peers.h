// Where each ucast medium of a spec sends heartbeats, seen from one node.
//
// One rule for every part of the project that needs it (validation, the
// legacy writer, the agent's ucast medium):
// - A medium that lists peers sends to those peers, except the sending
//   node's own addresses (Heartbeat skips a ucast to itself too), so one list
//   naming every node serves all of them.
// - Media without peers send to the other nodes' addresses. When every node
//   has exactly one address per such medium, they pair by position: the Kth
//   peer-less ucast medium sends to each other node's Kth address (one
//   network per medium). Otherwise each of them sends to every address of
//   every other node.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_AGENT_CONFIG_UCAST_PEERS_H_
#define HACLUSTER_AGENT_CONFIG_UCAST_PEERS_H_

#include <string>
#include <vector>

#include "proto/cluster_spec.pb.h"

namespace hacluster::config {

// Whether the peer-less ucast media pair with node addresses by position.
bool UcastMediaPairByPosition(const spec::v1::ClusterSpec& spec);

// The addresses that ucast medium spec.media(media_index) sends to from
// node `node`, in order, without duplicates. Empty when the medium is not a
// ucast medium or there is nobody to send to.
std::vector<std::string> UcastDestinations(const spec::v1::ClusterSpec& spec,
                                           const std::string& node, int media_index);

}  // namespace hacluster::config

#endif  // HACLUSTER_AGENT_CONFIG_UCAST_PEERS_H_
