// The Heartbeat 3 peer of a mixed pair, as pure logic: what the local
// ha-agent says to a node running Heartbeat 3.0.6 in haresources mode, and
// how that node's messages read as a native heartbeat (wire.proto) for
// membership and placement.
//
// Heartbeat tracks resources as two halves per node: "local" (haresources
// lines naming that node: here, the groups whose preferred node it is) and
// "foreign" (the other node's); "all" is both, "none" neither. Messages
// (captured from the real daemon):
//   status          st=init|up|active, dt (deadtime, ms hex), protocol=1
//   starting        a node begins acquiring resources; the other answers
//                   with `resource`
//   resource        rsc_hold=<what the sender holds> isstable=0|1 [info]
//   ask_resources   the hand-over: the giver sends info=me rsc_hold=<part
//                   it gives>, the taker answers info=other, the giver
//                   stops them and sends info=done, then the taker starts
//                   them and sends info=done. hb_standby gives "all"; the
//                   holder of a returning node's groups gives "foreign"
//                   when auto_failback is on.
//   hb_takeover     rsc_hold=all: the sender wants everything; the other
//                   runs the hand-over as giver
//   reqnodes / repnodes   the node list, asked by a starting node
//   NS_ackmsg       dest, ackseq: acknowledges the dest's messages
//   NS_rexmit       dest, firstseq, lastseq (decimal): asks dest to send
//                   them again
//
// Read as a native heartbeat, the peer claims the groups its last
// `resource` message holds, and keeps claiming what it gives away until
// it says `done` (its stop is finished only then). A hand-over it starts
// becomes placement requests (group -> local node), so that placement
// here agrees with Heartbeat's stickiness (a group given by hb_standby
// stays here until asked back). Its answer `other` to our hand-over lists
// the groups as awaiting, so the local hand-off proceeds at once.
//
// Thread-safety: not thread-safe; the event loop owns it.
#ifndef HACLUSTER_AGENT_HB3WIRE_PEER_H_
#define HACLUSTER_AGENT_HB3WIRE_PEER_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/hb3wire/codec.h"
#include "agent/hb3wire/ha_msg.h"
#include "proto/wire.pb.h"

namespace hacluster::hb3wire {

// The field an ha-agent adds to its status messages on this wire: its
// version (Heartbeat ignores fields it does not know).
inline constexpr absl::string_view kAgentField = "ha_agent";

// Heartbeat's halves, as a bit set.
enum Hold : uint8_t { kHoldNone = 0, kHoldLocal = 1, kHoldForeign = 2, kHoldAll = 3 };
// "none", "local", "foreign", "all".
absl::string_view HoldName(uint8_t hold);
std::optional<uint8_t> ParseHold(absl::string_view name);

// A message to send: its own fields, and whether it takes a seq.
struct Outgoing {
  HaMessage body;
  bool sequenced = true;
};

// What the local node holds and does, each turn.
struct LocalState {
  // Groups claimed here (held, starting, stopping, probing).
  std::set<std::string> claimed;
  // Whether a start or stop is under way.
  bool busy = false;
  // Groups placement moves from here to the peer (stopping here, or
  // waiting for the hand-off).
  std::set<std::string> moving_to_peer;
  // Groups placement puts here that the peer still holds (an operator's
  // takeover): asked for with hb_takeover once they waited a second
  // without the peer giving them by itself.
  std::set<std::string> awaiting;
  absl::Time now;
};

class PeerSession {
 public:
  // `local_groups`: groups whose preferred node is the local node;
  // `peer_groups`: the peer's.
  PeerSession(std::string local, std::string peer, std::vector<std::string> local_groups,
              std::vector<std::string> peer_groups);

  // After a reload: the groups by preferred node again.
  void SetGroups(std::vector<std::string> local_groups, std::vector<std::string> peer_groups) {
    local_groups_ = std::move(local_groups);
    peer_groups_ = std::move(peer_groups);
  }

  // A checked message from the peer (Codec::Check, not own). `wall`
  // stamps placement requests.
  void OnMessage(const Received& m, absl::Time wall, std::vector<Outgoing>* out);
  // Membership declared the peer dead: a hand-over with it is over.
  void OnPeerDead();
  // After each decision pass: announces changes of what the local node
  // holds, and runs the giver's side of a hand-over.
  void Tick(const LocalState& local, std::vector<Outgoing>* out);
  // Once after start and after each restart of the peer, when it is first
  // heard: `starting`, then what the local node holds (Heartbeat counts the
  // sender of `starting` unstable until its next `resource` isstable=1, and
  // ignores hand-overs meanwhile). Returns whether it sent them.
  bool TakeStarting(std::vector<Outgoing>* out);

  // The peer's native heartbeat: node, generation, seq of its last
  // message, claims, awaiting, and placement requests.
  void FillHeartbeat(wire::v1::Heartbeat* hb) const;
  bool heard() const { return heard_; }
  // The peer's last status ("init", "up", "active"...), for status.
  const std::string& status() const { return status_; }
  // "Heartbeat 3 (protocol 1)", or "ha-agent VERSION" for an ha-agent on
  // this wire; empty before its first status message.
  const std::string& software() const { return software_; }
  // Highest seq received in the current generation with no gap below it,
  // and the seq range missing above it, if any.
  uint64_t contiguous_seq() const { return contiguous_; }
  const std::string& peer_uuid() const { return peer_uuid_; }

  // The groups of a hold, seen from `holder` (local or peer).
  std::set<std::string> GroupsOf(uint8_t hold, bool holder_is_local) const;
  // The hold that covers `groups`, seen from `holder`.
  uint8_t HoldOf(const std::set<std::string>& groups, bool holder_is_local) const;

 private:
  HaMessage Resource(uint8_t hold, bool stable, absl::string_view info) const;
  HaMessage AskResources(uint8_t hold, absl::string_view info) const;
  void RequestRetransmit(uint64_t first, uint64_t last, std::vector<Outgoing>* out);
  // The peer's request: `group` belongs on `node` (replaces an older one).
  void Place(const std::string& group, const std::string& node, absl::Time wall);

  const std::string local_;
  const std::string peer_;
  std::vector<std::string> local_groups_;
  std::vector<std::string> peer_groups_;

  bool heard_ = false;
  uint64_t generation_ = 0;
  uint64_t last_seq_ = 0;
  uint64_t contiguous_ = 0;
  std::string peer_uuid_;
  std::string status_;
  std::string software_;
  uint8_t peer_holds_ = kHoldNone;
  bool send_starting_ = true;

  // The peer gives us `giving_` (its hold bits) and has not said done.
  // Each `me` is its own hand-over, ended by the `done` naming the same
  // hold (Heartbeat may run its auto-failback and an hb_standby back to
  // back).
  std::vector<uint8_t> peer_giving_;
  // Placement requests the peer's hand-overs made.
  std::vector<wire::v1::Placement> placements_;

  // Our side of a hand-over to the peer: the groups, and whether the peer
  // answered `other`.
  std::set<std::string> giving_;
  uint8_t giving_hold_ = kHoldNone;
  bool peer_awaits_ = false;
  // Groups we take from the peer that it has released (it said done);
  // we say done once they run here.
  std::vector<std::pair<uint8_t, std::set<std::string>>> taking_;
  // Groups the local node awaited at the last Tick (its own requests:
  // the peer's hand-over of them needs no placement of its own).
  std::set<std::string> local_awaiting_;

  // What we last announced in `resource`.
  std::optional<uint8_t> announced_;
  bool announced_stable_ = false;
  // The peer finished its start-up (a `resource` with isstable=1 since its
  // last `starting`): it answers hand-overs only then.
  bool peer_stable_ = false;
  // Our hb_takeover: since when the local node awaits groups, and whether
  // it asked.
  std::optional<absl::Time> awaiting_since_;
  bool takeover_asked_ = false;
  // Retransmission requested up to this seq (to ask once per gap).
  uint64_t rexmit_asked_ = 0;
};

}  // namespace hacluster::hb3wire

#endif  // HACLUSTER_AGENT_HB3WIRE_PEER_H_
