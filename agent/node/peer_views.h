// What the loop reads from its peers' latest heartbeats, as pure
// functions: whether a peer's view of the groups changed (placement is
// computed again only then), and which peers do not hear this node
// (one-way heartbeat loss: their heartbeats no longer list it).
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_AGENT_NODE_PEER_VIEWS_H_
#define HACLUSTER_AGENT_NODE_PEER_VIEWS_H_

#include <map>
#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "agent/core/clock.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {

// Whether two heartbeats say the same about groups: claims and their
// phases, failures, placement requests, standby.
bool SameGroupState(const wire::v1::Heartbeat& a, const wire::v1::Heartbeat& b);

struct PeerHeartbeat {
  const std::string* name;
  const wire::v1::Heartbeat* last;  // its latest while it is up; else null
};

// Views, not copies: the loop calls DeafPeers at every wake.
struct DeafPeersInput {
  absl::string_view local_node;
  absl::Span<const PeerHeartbeat> peers;
  // When each peer came up (or restarted); a peer missing here counts from
  // `start`.
  const std::map<std::string, MonoTime>* up_since = nullptr;
  MonoTime start;
  // A peer that just came up may not have heard this node yet: it is taken
  // at its word only after this long.
  absl::Duration grace;
};

// The up peers whose latest heartbeat reports whom it hears and does not
// list the local node, once their grace has passed. *next is when a
// peer's grace ends (InfiniteDuration: none pending). A peer that does not
// report whom it hears (an older agent) hears everyone.
std::set<std::string> DeafPeers(const DeafPeersInput& in, MonoTime now, MonoTime* next);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_PEER_VIEWS_H_
