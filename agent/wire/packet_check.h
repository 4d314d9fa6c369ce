// The one check every received packet passes before it may change state.
//
// Check() decodes the frame (layout, key id in the keyring, method of that
// key, MAC, payload: see codec.h), then checks the cluster name and the
// replay window. Any key of the keyring is accepted, so keys can rotate:
// senders use the active key, receivers accept every configured one.
//
// Replay window. Per node, the highest generation seen: a heartbeat of a
// lower generation is a replay, one of a higher generation starts afresh.
// Within the generation, each link (medium) has its own window, because
// every medium carries the same heartbeat with the same seq and the copy
// that arrives on the second medium is not a replay. So the window is kept
// per (node, generation, link): the highest seq seen and a 64-entry bitmap
// below it, as IPsec does (RFC 4303 3.4.3); a seq already seen, or 64 or
// more below the highest, is a replay. An out-of-order seq inside the window
// is accepted once. A link that has not yet heard the node in its current
// generation accepts only a seq at most kFreshLinkLag below the node's
// newest (the copy of a heartbeat the other links just delivered, on a link
// up to that many heartbeats slower), so a link the node was never heard
// on is no way in for old frames.
//
// This state is kept for the life of the agent, whatever membership says of
// the node: a dead node's captured frames stay replays. A node that restarts
// comes back with a higher generation. Floors() exports, per node, the
// generation and the highest seq seen, which the agent persists in its state
// directory; a new PacketCheck seeded with them (SetFloor) refuses every seq
// at or below them, so frames captured before an agent restart are replays
// after it too.
//
// At most kMaxTrackedNodes nodes are tracked; past that, the node that sent
// the oldest accepted heartbeat is forgotten. Only packets that carry a
// valid MAC can add nodes, so this matters only with crc keys, which anyone
// can forge.
//
// Own packets (node == local node; bcast and mcast loop them back) are
// accepted with own = true and do not touch the replay window.
//
// Thread-safety: not thread-safe; the event loop owns it. The keyring is not
// owned and must outlive the PacketCheck (or be replaced with
// UpdateKeyring() before it goes away).
#ifndef HACLUSTER_AGENT_WIRE_PACKET_CHECK_H_
#define HACLUSTER_AGENT_WIRE_PACKET_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "agent/wire/codec.h"
#include "agent/wire/keyring.h"
#include "proto/wire.pb.h"

namespace hacluster::wire {

class PacketCheck {
 public:
  static constexpr int kMaxLinks = 64;
  static constexpr uint64_t kReplayWindow = 64;
  static constexpr size_t kMaxTrackedNodes = 1024;
  static constexpr uint64_t kFreshLinkLag = 4;

  struct Result {
    // The heartbeat may be used (and *hb holds it).
    bool ok = false;
    // ok, and the heartbeat is this node's own, looped back: not an error,
    // but not news either.
    bool own = false;
    // Why the packet was dropped; meaningful only when !ok.
    DropReason reason = DropReason::kMalformed;
    // The frame's key id once its header was readable, else 0.
    uint32_t key_id = 0;
    // For the drop log: what exactly was wrong. Empty when ok. Names and
    // cluster names from the packet are quoted with non-printable bytes
    // escaped.
    std::string detail;
  };

  PacketCheck(std::string cluster_name, std::string local_node, const Keyring* keyring);
  PacketCheck(const PacketCheck&) = delete;
  PacketCheck& operator=(const PacketCheck&) = delete;

  // Checks `frame`, received on link number `link` (0 to kMaxLinks-1: the
  // index of the medium; another value is a programming error and aborts),
  // and parses it into *hb. *hb is meaningful only when the result is ok.
  // Allocates nothing on the accepting path once the node is known and *hb
  // is reused.
  Result Check(absl::string_view frame, int link, wire::v1::Heartbeat* hb);

  // The checks after decoding (a node name, seq at least 1, own packets,
  // the replay window), for a message of another wire format (agent/hb3wire)
  // that the caller has already decoded and authenticated with key
  // `key_id`. Same links and replay state as Check.
  Result CheckDecoded(const wire::v1::Heartbeat& hb, int link, uint32_t key_id);

  // The replay floor of one node: its highest generation and, within it,
  // the highest seq seen on any link (or restored by SetFloor).
  struct Floor {
    std::string node;
    uint64_t generation = 0;
    uint64_t seq = 0;
    bool operator==(const Floor& o) const {
      return node == o.node && generation == o.generation && seq == o.seq;
    }
  };
  // Every tracked node's floor, sorted by node name.
  std::vector<Floor> Floors() const;
  // Restores a floor saved by an earlier run: frames of `floor.node` with a
  // lower generation, or of that generation with a seq at or below
  // `floor.seq`, are replays. A floor below what is already known changes
  // nothing. Counts against kMaxTrackedNodes like a heard node.
  void SetFloor(const Floor& floor);
  // Increases whenever Floors() would change (for a caller that saves them
  // only when something changed).
  uint64_t floors_version() const { return accepted_ + restored_; }

  // Uses `keyring` from now on (configuration reload). Replay state stays.
  void UpdateKeyring(const Keyring* keyring);

  size_t TrackedNodesForTest() const { return nodes_.size(); }

 private:
  // One link's window: `top` is the highest seq seen (0: none yet); bit i of
  // `seen` is set when seq top-i was seen.
  struct Window {
    uint64_t top = 0;
    uint64_t seen = 0;
  };
  struct NodeState {
    uint64_t generation = 0;
    // The highest seq of `generation` seen on any link, or restored.
    uint64_t max_seq = 0;
    // Seqs of `generation` at or below this are replays on every link
    // (restored from an earlier run).
    uint64_t floor = 0;
    uint64_t last_accepted = 0;  // value of accepted_ at its latest accept
    absl::InlinedVector<Window, 4> links;  // by link number
  };

  // Applies the replay window to `hb` from `link`; fills *result when it is
  // a replay.
  bool AcceptSequence(const wire::v1::Heartbeat& hb, int link, Result* result);
  void EvictOldestNode();

  const std::string cluster_name_;
  const std::string local_node_;
  FrameCodec codec_;
  absl::flat_hash_map<std::string, NodeState> nodes_;
  uint64_t accepted_ = 0;  // heartbeats accepted so far, to order nodes
  uint64_t restored_ = 0;  // SetFloor calls that changed a floor
};

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_PACKET_CHECK_H_
