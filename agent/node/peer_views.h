// What the loop reads from its peers' latest heartbeats, as pure logic:
// whether a peer's view of the groups changed (placement is computed again
// only then), which peers do not hear this node (one-way heartbeat loss:
// their heartbeats no longer list it), and which run another spec (drift).
//
// Thread-safety: pure functions; DriftTracker is owned by the loop thread.
#ifndef HACLUSTER_AGENT_NODE_PEER_VIEWS_H_
#define HACLUSTER_AGENT_NODE_PEER_VIEWS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "agent/core/clock.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {

// Whether two heartbeats say the same about groups: claims and their
// phases, failures, placement requests, standby, whom the sender hears,
// which peers it says are fading, and which groups it awaits.
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

// Config drift: which live peers run another config version or spec than
// this node, by their heartbeats (version, and the spec hash when they
// send one). Reports each change once.
class DriftTracker {
 public:
  struct Change {
    std::string node;
    bool drift = false;   // true: now differs; false: agrees again
    std::string reason;   // for the CONFIG_DRIFT event
  };

  // The local version and hash (at start and after each reload); the
  // changes this makes to the peers' drift.
  std::vector<Change> SetLocal(uint64_t version, std::string hash);
  // A heartbeat of `node` (up); a change when its drift changed.
  std::optional<Change> OnHeartbeat(const std::string& node, const wire::v1::Heartbeat& hb);
  // `node` died: forgotten, without a change (its next heartbeat decides).
  void Forget(const std::string& node);
  bool Drifting(const std::string& node) const;
  bool Any() const;
  // What `node` said it runs: its hash (empty if unknown).
  std::string HashOf(const std::string& node) const;

 private:
  struct Peer {
    uint64_t version = 0;
    std::string hash;
    bool drift = false;
  };
  bool Differs(const Peer& p) const;
  Change Describe(const std::string& node, const Peer& p) const;

  uint64_t version_ = 0;
  std::string hash_;
  std::map<std::string, Peer> peers_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_PEER_VIEWS_H_
