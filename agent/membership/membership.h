// Membership: who is alive, as this node sees it.
//
// Fed with every heartbeat that passed the wire check (agent/wire) and with
// timer ticks, it keeps the state of every configured node and of every
// (peer node, link) path, and reports each change as an agent.v1.Event:
//
// - Nodes are UNKNOWN (never heard, still within initdead), UP or DEAD. The
//   local node is always UP, with the local generation and no links.
// - A link (one medium towards one peer) is UNKNOWN until a heartbeat comes
//   on it, then UP; DEAD after deadtime without a heartbeat on it
//   (LINK_DEAD); UP again with the next one (LINK_UP).
// - A node is DEAD only when no link has heard it for deadtime: one link
//   dying while another still carries heartbeats is a link event only. When
//   a node dies its links die with it, their LINK_DEAD events coming before
//   the NODE_DEAD.
// - A deadline is reached at exactly last heartbeat + deadtime (a Tick at
//   that instant declares the death, one a millisecond earlier does not).
// - Nothing (node or link) is declared dead before start + initdead. A node
//   never heard by then is declared DEAD at start + initdead; one heard
//   during initdead and then silent at max(last + deadtime, start + initdead).
// - A heartbeat that comes on an UP link more than warntime after the
//   previous one on that link is reported as HEARTBEAT_LATE (warntime 0
//   turns these reports off).
// - The first heartbeat of a node that is UNKNOWN or DEAD brings it UP
//   (NODE_UP, then LINK_UP for its link), whatever its generation. While it
//   is UP a higher generation means it restarted within deadtime
//   (NODE_RESTARTED); a lower one is a stale packet and is ignored.
// - Peers' connectivity scores come from their heartbeats, the local one
//   from SetLocalConnectivity; a change while UP is CONNECTIVITY_CHANGED.
//
// Events carry kind, node, link (for link events), generation (the node's,
// as known), reason (one line for operators) and monotonic_ns (the `now` of
// the call that produced them). The agent assigns id, time and
// local_generation.
//
// Membership is pure logic: it never reads a clock, every call takes the
// current monotonic time. Per-packet cost: OnHeartbeat for a node and link
// that are UP, with nothing to report, does not allocate.
//
// Thread-safety: not synchronised. The agent's event loop owns it and is the
// only thread that calls it.
#ifndef HACLUSTER_AGENT_MEMBERSHIP_MEMBERSHIP_H_
#define HACLUSTER_AGENT_MEMBERSHIP_MEMBERSHIP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "proto/agent.pb.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {

// What Membership needs of the cluster spec.
struct MembershipConfig {
  // This node's name; must be one of `nodes`.
  std::string local_node;
  // Every configured node, in spec order, the local node included.
  std::vector<std::string> nodes;
  // The link name of each medium; the index is the `link` argument of
  // OnHeartbeat (the medium's index in spec.media).
  std::vector<std::string> links;
  // The spec's timing: keepalive (only shown in status), warntime (0 = no
  // late-heartbeat reports), deadtime, initdead.
  absl::Duration keepalive;
  absl::Duration warntime;
  absl::Duration deadtime;
  absl::Duration initdead;
};

// How long before its death deadline an UP node becomes fading (see
// Membership::Fading): a fifth of deadtime. Long enough for the fading node
// to hear of it (one heartbeat) and stop what it holds; short enough that
// a fading node is all but dead (at keepalive = deadtime / 5, four
// heartbeats in a row lost).
absl::Duration FadeLead(absl::Duration deadtime);

class Membership {
 public:
  // `local_generation` is this agent's generation; `start` the time it
  // started (initdead counts from it).
  Membership(MembershipConfig config, uint64_t local_generation,
             MonoTime start);

  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // A heartbeat that passed the wire check came from hb.node on link
  // `link` (an index into config.links) at `now`. Appends the events it
  // causes to *out. Returns whether the heartbeat was taken into account:
  // false for an unknown node name, for the local node's own heartbeat, for
  // a link index outside config.links, and for a generation lower than the
  // one known while the node is UP.
  bool OnHeartbeat(const wire::v1::Heartbeat& hb, int link, MonoTime now,
                   std::vector<agent::v1::Event>* out);

  // Declares dead the links and nodes whose deadline is at or before `now`.
  // Appends the events to *out.
  void Tick(MonoTime now, std::vector<agent::v1::Event>* out);

  // Fading peers: the UP nodes not heard for deadtime - FadeLead(deadtime)
  // or longer at `now`, in config order, into *out (cleared first). Unless
  // heard again, Tick declares each dead FadeLead later; the agent tells
  // them so in its heartbeats (wire.v1.Heartbeat.fading), so a node that is
  // heard by nobody but still hears this one can release its groups before
  // this one takes them. *next: the earliest time another UP node could
  // become fading (InfiniteDuration: none). Does not allocate once *out has
  // the capacity.
  void Fading(MonoTime now, std::vector<std::string>* out, MonoTime* next) const;

  // The earliest time at which Tick could declare something dead;
  // absl::InfiniteDuration() when nothing is pending. The event loop arms
  // its timer with it (again after every call that changes state).
  MonoTime NextDeadline() const;

  // Sets the local node's connectivity score (from Connectivity::Score()).
  // A change appends CONNECTIVITY_CHANGED for the local node to *out.
  void SetLocalConnectivity(uint32_t score, MonoTime now,
                            std::vector<agent::v1::Event>* out);

  // Fills local_node, local_generation, in_initdead, keepalive, warntime,
  // deadtime, initdead, connectivity_score and nodes[] (replacing any
  // there) of `status`. Each node gets name, state, generation, last_heard,
  // since_last_heard, links, connectivity_score, and from its last
  // heartbeat config_version and standby; `local` marks this node. `now`
  // gives since_last_heard; `wall` turns a monotonic time into the wall
  // time shown as last_heard (the agent passes WallTimeOf). The agent fills
  // the rest (cluster name, config version, start time, ping targets,
  // drops, node addresses and labels, and the local node's config_version
  // and standby).
  void FillStatus(MonoTime now,
                  const std::function<absl::Time(MonoTime)>& wall,
                  agent::v1::GetStatusResponse* status) const;

  // The state of `node`; NODE_STATE_UNSPECIFIED for a name not configured.
  agent::v1::NodeState StateOf(absl::string_view node) const;

  // The newest heartbeat (highest generation, then sequence number) heard
  // from `node` since it last came up; nullptr for the local node, a name
  // not configured, or a node never heard. Valid until the next call of a
  // non-const method.
  const wire::v1::Heartbeat* LastHeartbeat(absl::string_view node) const;

  // When `node` was last heard (any link); -InfiniteDuration() for the
  // local node, a name not configured, or a node never heard.
  MonoTime LastHeard(absl::string_view node) const;

  // True while `now` is before start + initdead.
  bool InInitdead(MonoTime now) const;

  // SIGHUP: new timing, links and nodes. What is known about a node that is
  // still configured is kept (state, generation, last heartbeat), and so is
  // what is known about its links that keep their names; new links start
  // UNKNOWN. The new timing applies to every pending deadline at once. A
  // node added now is UNKNOWN and, if never heard, is declared DEAD at
  // max(start + initdead, now + deadtime).
  void Reconfigure(MembershipConfig config, MonoTime now);

  // The next heartbeat of each node is kept whatever its seq (within its
  // generation): after the wire switched, the peers' sequence numbers
  // count on another wire's terms.
  void AcceptNextHeartbeats();

 private:
  struct Link {
    agent::v1::LinkState state = agent::v1::LINK_STATE_UNKNOWN;
    MonoTime last_heard;  // meaningful once state is not UNKNOWN
  };
  struct Node {
    std::string name;
    bool local = false;
    agent::v1::NodeState state = agent::v1::NODE_STATE_UNKNOWN;
    uint64_t generation = 0;
    bool heard = false;  // ever heard since this agent started
    MonoTime last_heard;  // meaningful once heard
    // When the node was configured: the start, or the Reconfigure that
    // added it (then added_later is set).
    MonoTime added_at;
    bool added_later = false;
    uint32_t connectivity_score = 0;
    bool has_heartbeat = false;
    bool accept_any_seq = false;  // AcceptNextHeartbeats
    wire::v1::Heartbeat last_heartbeat;
    std::vector<Link> links;  // one per config_.links entry; empty if local
  };

  // The instant a silence that began at `last` becomes death: never before
  // the end of initdead.
  MonoTime DeathDeadline(MonoTime last) const;
  // When a node never heard is declared dead.
  MonoTime NeverHeardDeadline(const Node& node) const;
  const Node* Find(absl::string_view name) const;
  void BuildIndex();

  MembershipConfig config_;
  uint64_t local_generation_;
  MonoTime start_;
  std::vector<Node> nodes_;  // in config_.nodes order
  absl::flat_hash_map<std::string, size_t> index_;  // name -> nodes_ index
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_MEMBERSHIP_MEMBERSHIP_H_
