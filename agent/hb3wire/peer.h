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
// `resource` message holds, keeps claiming what it gives away until it
// says `done` (its stop is finished only then), and claims what we gave it
// from our `done` until its own (it starts them meanwhile). A hand-over it starts
// becomes placement requests (group -> local node), so that placement
// here agrees with Heartbeat's stickiness (a group given by hb_standby
// stays here until asked back). Its answer `other` to our hand-over lists
// the groups as awaiting, so the local hand-off proceeds at once.
//
// Thread-safety: not thread-safe; the event loop owns it.
#ifndef HACLUSTER_AGENT_HB3WIRE_PEER_H_
#define HACLUSTER_AGENT_HB3WIRE_PEER_H_

#include <cstdint>
#include <map>
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
  // A hand-over the peer began (`me`) that it does not follow with its
  // release (`resource ... info=standby`) within this long was ignored by
  // the peer itself (Heartbeat's own limit for an answer).
  static constexpr absl::Duration kHandOverAnswer = absl::Seconds(10);
  // A gap in the peer's sequence numbers is asked for again this often, and
  // given up (the messages after it are used) after kGapGiveUp.
  static constexpr absl::Duration kRexmitEvery = absl::Milliseconds(250);
  static constexpr absl::Duration kGapGiveUp = absl::Seconds(1);
  // Out-of-order messages kept while a gap is open.
  static constexpr size_t kMaxPending = 256;
  // What the peer released is started here; a start that does not come
  // (failed, or placement wants it elsewhere) does not hold the peer's
  // hand-over longer than this: our `done` goes out anyway.
  static constexpr absl::Duration kTakeWait = absl::Seconds(2);

  // `local_groups`: groups whose preferred node is the local node;
  // `peer_groups`: the peer's.
  PeerSession(std::string local, std::string peer, std::vector<std::string> local_groups,
              std::vector<std::string> peer_groups);

  // After a reload: the groups by preferred node again.
  void SetGroups(std::vector<std::string> local_groups, std::vector<std::string> peer_groups) {
    local_groups_ = std::move(local_groups);
    peer_groups_ = std::move(peer_groups);
  }

  // A checked message from the peer (Codec::Check, not own). Sequenced
  // messages are used once each and in seq order: a copy from a second
  // medium or a retransmission already used is dropped, and one after a gap
  // waits (up to kGapGiveUp, the gap asked for again every kRexmitEvery by
  // Tick) for the missing ones. `wall` stamps placement requests.
  void OnMessage(const Received& m, absl::Time wall, std::vector<Outgoing>* out);
  // Membership declared the peer dead: a hand-over with it is over; when
  // it is heard again (same generation: a healed partition) both sides say
  // `starting` and what they hold again.
  void OnPeerDead();
  // After each decision pass: announces changes of what the local node
  // holds, runs the giver's side of a hand-over, asks for missing messages.
  void Tick(const LocalState& local, std::vector<Outgoing>* out);
  // Once after start and after each restart of the peer (or its return
  // after a death), when it is first heard: `starting`, then what the local
  // node holds (Heartbeat counts the sender of `starting` unstable until
  // its next `resource` isstable=1, and ignores hand-overs meanwhile).
  // Returns whether it sent them.
  bool TakeStarting(std::vector<Outgoing>* out);
  // The seq to acknowledge (the peer's messages received in order), when it
  // moved since the last call.
  std::optional<uint64_t> TakeAck();

  // The peer's native heartbeat: node, generation, a seq that grows with
  // every change, claims, awaiting, and placement requests. Until the peer
  // has said what it holds (its first `resource` since it was heard), it
  // claims every group PROBING, so nothing starts here meanwhile.
  void FillHeartbeat(wire::v1::Heartbeat* hb) const;
  bool heard() const { return heard_; }
  // The peer's last status ("init", "up", "active"...), for status.
  const std::string& status() const { return status_; }
  // "Heartbeat 3 (protocol 1)", or "ha-agent VERSION" for an ha-agent on
  // this wire; empty before its first status message.
  const std::string& software() const { return software_; }
  // Highest seq of the current generation used, with none missing below.
  uint64_t contiguous_seq() const { return contiguous_; }
  const std::string& peer_uuid() const { return peer_uuid_; }
  uint64_t generation() const { return generation_; }

  // The groups of a hold, seen from `holder` (local or peer).
  std::set<std::string> GroupsOf(uint8_t hold, bool holder_is_local) const;
  // The hold that covers `groups`, seen from `holder`.
  uint8_t HoldOf(const std::set<std::string>& groups, bool holder_is_local) const;

 private:
  // One hand-over the peer gives us: its hold, when it began, whether its
  // release was announced.
  struct PeerGive {
    uint8_t hold = kHoldNone;
    absl::Time since;
    bool releasing = false;
  };

  // Uses one sequenced message, in order.
  void Process(const Received& m, absl::Time wall, std::vector<Outgoing>* out);
  HaMessage Resource(uint8_t hold, bool stable, absl::string_view info) const;
  HaMessage AskResources(uint8_t hold, absl::string_view info) const;
  void RequestRetransmit(uint64_t first, uint64_t last, std::vector<Outgoing>* out);
  // The peer's request: `group` belongs on `node` (replaces an older one).
  void Place(const std::string& group, const std::string& node, absl::Time wall);
  // Forgets what the peer held and gave (it restarted, or returns).
  void ForgetPeerState();

  std::string local_;
  std::string peer_;
  std::vector<std::string> local_groups_;
  std::vector<std::string> peer_groups_;

  bool heard_ = false;
  bool dead_ = false;
  uint64_t generation_ = 0;
  uint64_t contiguous_ = 0;
  uint64_t acked_ = 0;
  // Messages after a gap, by seq, and since when the gap is open.
  std::map<uint64_t, Received> pending_;
  absl::Time gap_since_;
  absl::Time rexmit_at_ = absl::InfinitePast();
  uint64_t version_ = 1;  // the synthesized heartbeat's seq
  std::string peer_uuid_;
  std::string status_;
  std::string software_;
  uint8_t peer_holds_ = kHoldNone;
  bool holds_known_ = false;
  // It said `shutdone`: it stopped everything and leaves.
  bool peer_leaving_ = false;
  bool send_starting_ = true;

  // The peer's hand-over to us (one at a time, as Heartbeat runs them).
  std::optional<PeerGive> peer_giving_;
  // Placement requests the peer's hand-overs made.
  std::vector<wire::v1::Placement> placements_;

  // Our side of a hand-over to the peer: the groups, our hold, when we
  // said `me`, and whether the peer answered `other`.
  std::set<std::string> giving_;
  uint8_t giving_hold_ = kHoldNone;
  absl::Time giving_since_;
  bool peer_awaits_ = false;
  // After our giver's `done`: the peer is starting what we gave (it claims
  // it), and its next `done` of that hold is its taker's, not a hand-over
  // of its own.
  std::optional<uint8_t> expect_taker_done_;
  // What the peer released to us (it said done): its hold, the groups,
  // when; we say done once they run here (or none is starting any more).
  struct Take {
    uint8_t hold = kHoldNone;
    std::set<std::string> groups;
    absl::Time since;
  };
  std::vector<Take> taking_;
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
};

}  // namespace hacluster::hb3wire

#endif  // HACLUSTER_AGENT_HB3WIRE_PEER_H_
