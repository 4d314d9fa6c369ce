// Placement: which node should run each resource group, and what the local
// node must do about it.
//
// Every node computes the same answer from the same view (the spec, which
// nodes are alive, and what each says in its heartbeats: the groups it
// claims, its connectivity score, the groups that failed on it, and the
// operator's placement requests), so no election is needed:
//
// Candidates for group G are the alive nodes of this partition that
//   - are in a partition with quorum: with 3 or more configured nodes, more
//     than half of them alive; with 1 or 2 nodes, always, except that
//   - with connectivity configured (ping nodes or groups) only the nodes
//     with the best score among the alive ones are candidates (ipfail: a
//     node that lost its ping nodes while its peer did not yields), and
//     when that best score is 0 while a configured node is not alive (a
//     partition, or the peer died while this side lost the network too),
//     nobody here is a candidate: this side cannot tell whether it is the
//     cut-off one;
//   - have not failed G (start failure or repeated monitor failures).
// Among the candidates, G's target is, in this order:
//   1. the node of the newest operator request for G (standby, takeover,
//      move), while that node is a candidate;
//   2. with auto_failback on, the preferred node;
//   3. a candidate that already holds G (claims it HELD or STARTING); if
//      several do (a healed partition), the preferred node if it is one of
//      them, else the first in spec order: the others release at once;
//   4. the preferred node; else the first candidate in spec order.
//
// One-way loss: when an alive peer that holds G (HELD or STARTING) does
// not hear the local node (its heartbeats no longer list it: it has
// declared the local node dead), the peer cannot learn that the local node
// holds G too, so the local node yields: it stops G, and does not start it,
// whatever the rules above say, until the peer hears it again.
//
// Before that, while such a peer P lists the local node as fading (not
// heard for most of deadtime: P declares it dead at the deadline unless it
// hears it again), or once P no longer hears it but does not claim G yet:
// if P, in its own view (the local node dead, alive the nodes P hears),
// would be G's target, P starts G at the deadline without being able to
// learn that the local node holds it. So the local node stops G now, and
// does not start it, while this lasts. When P would not start G (another
// target, or no quorum on P's side) the local node keeps G.
//
// Start-up probe: a node that claims G PROBING (it has just started and
// checks what of G runs on it) blocks every other node from starting G, as
// any claim does, but is not a holder for rule 3.
//
// Release before acquire: the local node starts G only when it is G's
// target, may acquire (see Decide), and no alive node claims G in any phase;
// it stops G as soon as it is not the target. So a planned move never has two
// holders: the new holder starts only after the old one's heartbeat says it
// let go.
//
// Pure logic: no clock, no I/O. Thread-safety: none needed (free functions
// over values).
#ifndef HACLUSTER_AGENT_PLACEMENT_PLACEMENT_H_
#define HACLUSTER_AGENT_PLACEMENT_PLACEMENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/agent.pb.h"
#include "proto/cluster_spec.pb.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {

using ClaimPhase = wire::v1::GroupClaim::Phase;

// What the local node knows of one configured node (itself included).
struct NodeView {
  std::string name;
  bool alive = false;  // UP (the local node always is)
  // Shutting down: it releases what it holds and is no candidate for
  // anything (its heartbeats say standby), but its claims still count.
  bool leaving = false;
  uint32_t score = 0;  // connectivity score
  // False when this peer's heartbeats say it does not hear the local node
  // (one-way loss; see the header comment). Always true for the local node.
  bool hears_local = true;
  // Its heartbeats list the local node as fading: it has not heard the
  // local node for most of deadtime and declares it dead at the deadline
  // unless it hears it again (see the header comment).
  bool fading_local = false;
  // The nodes its heartbeats say it hears; unset when it does not say
  // (taken to hear every node) and for the local node.
  std::optional<std::set<std::string>> hears;
  std::map<std::string, ClaimPhase> claims;  // group -> phase
  std::set<std::string> failed_groups;
};

// An operator's request "group on node", newest per group wins.
struct PlacementRequest {
  std::string group;
  std::string node;
  int64_t stamp_ns = 0;
  std::string requested_by;
};

// Whether `a` is newer than `b` (stamp, then requesting node's name).
bool Newer(const PlacementRequest& a, const PlacementRequest& b);

struct ClusterView {
  // Groups, nodes (their order breaks ties), auto_failback, connectivity.
  const spec::v1::ClusterSpec* spec = nullptr;
  // One per spec node, in spec order.
  std::vector<NodeView> nodes;
  // The newest request per group.
  std::map<std::string, PlacementRequest> requests;
};

struct Quorum {
  bool ok = true;
  std::string reason;  // why not, for status and events
};

// Whether this partition (the alive nodes of `view`) may run groups.
Quorum QuorumOf(const ClusterView& view);

// The candidates for `group` in spec order (see the header comment).
std::vector<std::string> Candidates(const ClusterView& view, const std::string& group);

// The node `group` should run on; nullopt when no node may run it.
std::optional<std::string> Target(const ClusterView& view, const std::string& group);

// The alive nodes that claim `group`, in spec order, with their phases.
std::vector<std::pair<std::string, ClaimPhase>> Claimers(const ClusterView& view,
                                                         const std::string& group);

enum class Action {
  kNone,
  kStart,  // the local node is the target and nobody else claims it
  kStop,   // the local node claims it and is not the target
  kWait,   // the local node is the target, but another node still claims it
};

struct Decision {
  Action action = Action::kNone;
  std::optional<std::string> target;
  std::string reason;  // one line for operators: why this action
};

// What `local` should do about `group`. `may_acquire` is false while the
// agent must not start groups (within initdead with nodes still unheard, or
// a dead holder not yet fenced).
Decision Decide(const ClusterView& view, const std::string& local, const std::string& group,
                bool may_acquire);

// The requests an operator's standby (`takeover` false) or takeover (true)
// on node `local` makes: one per group it moves. An error when some group in
// scope cannot move (no other candidate, or the requested node cannot run
// it); then nothing is requested. An empty result means nothing to move.
absl::StatusOr<std::vector<PlacementRequest>> PlanStandbyOrTakeover(
    const ClusterView& view, const std::string& local, v1::StandbyScope scope, bool takeover,
    int64_t stamp_ns);

// The request of `hacli move GROUP NODE`; an error naming the group or node
// when either is unknown or the node is not alive.
absl::StatusOr<PlacementRequest> PlanMove(const ClusterView& view, const std::string& local,
                                          const std::string& group, const std::string& node,
                                          int64_t stamp_ns);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_PLACEMENT_PLACEMENT_H_
