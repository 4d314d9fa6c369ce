// GroupController: every resource group of the spec on the local node, and
// the cluster-wide bookkeeping that decides them.
//
// It owns one GroupRunner per group and, at each Evaluate, builds the
// placement view (agent/placement) from what membership knows of every node
// (alive, connectivity score, last heartbeat: claims, failed groups,
// operator requests) plus its own runners, and acts on each group's
// decision: start it, stop it, or wait for another node to release it.
// Release before acquire follows from placement's Decide; this class adds:
//
// - Operator requests (standby, takeover, move): planned here against the
//   current view, kept newest per group, adopted from peers' heartbeats, and
//   put into the local heartbeat so that every node applies them. A request
//   for a node that dies is dropped (the group then stays where failover put
//   it). An operation is DONE when each of its groups is held by the node
//   asked for and claimed by no other alive node; FAILED when one is
//   superseded by a newer request, its node dies, or the group fails there.
// - Local failures: a group that failed here (start failure, repeated
//   monitor failures) is listed in the heartbeat's failed_groups, so no node
//   picks this one for it, until an operator's request names this node.
// - Start-up probe (Probe, once, before the first heartbeat): every group
//   is probed for what of it already runs here (left by an agent that
//   crashed) and claimed PROBING meanwhile; found running it is adopted
//   (HELD) and placement resolves any double claim by its usual rules,
//   found in part it is stopped first (STOPPING): the peers never see a
//   release of something still running here.
// - Initdead: nothing is acquired while membership is within initdead with
//   configured nodes still unheard (the caller says so).
// - Fencing (spec.fencing.command): when a node dies while claiming groups,
//   those groups are not acquired until the fencing command has succeeded
//   for it (retried every `fence_retry`); FencesToRun hands the commands out.
// - Hand-off of a planned move: the holder stops a group whose target is a
//   live peer that hears it only once that peer's heartbeats list the group
//   as awaited (it is waiting for the release and reads every heartbeat as
//   it comes), or after `handoff_wait`. So the release is acted on at once,
//   not up to a keepalive later when the target would next wake. Only
//   while the peer is heard: silent for more than half of `handoff_wait`
//   (a cut, a lost ping node's yield) the group is stopped at once.
// - Split brain: when a healed partition shows two holders of a group, a
//   SPLIT_BRAIN event says who keeps it (placement's rule) and the keeper's
//   addresses are announced again (Reannounce), also once the other let go.
//   A peer that comes back after a death while a group is held here may
//   have held it meanwhile and let go before its claim was heard here (no
//   split brain seen): the holder's addresses are announced again then too,
//   as the segment may have followed the peer's announcements.
//
// Every decision, operation result and transition becomes an agent.v1.Event
// with a one-line reason (peer dead, operator request, failback, split-brain
// resolution, quorum lost...).
//
// Pure logic: no clock, no I/O (operations and fencing are run by the
// caller, which feeds results back). Thread-safety: not synchronised; the
// agent's loop owns it.
#ifndef HACLUSTER_AGENT_GROUPS_CONTROLLER_H_
#define HACLUSTER_AGENT_GROUPS_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "agent/groups/group_runner.h"
#include "agent/placement/placement.h"
#include "agent/service/operations.h"
#include "proto/agent.pb.h"
#include "proto/cluster_spec.pb.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {

// What membership knows of one configured node.
struct NodeInput {
  std::string name;
  bool alive = false;
  uint32_t score = 0;
  // False when its heartbeats say it does not hear the local node (one-way
  // loss: see agent/placement).
  bool hears_local = true;
  // Its newest heartbeat (claims, failed groups, requests); null for the
  // local node and for nodes never heard.
  const wire::v1::Heartbeat* heartbeat = nullptr;
  // When it was last heard (-InfiniteDuration: never, or the local node).
  MonoTime last_heard = -absl::InfiniteDuration();
};

// What one call asks the caller to do, appended to by every method.
struct ControllerOutput {
  std::vector<GroupOp> ops;                // resource operations to run
  std::vector<v1::Event> events;           // to log and publish
  std::vector<std::pair<uint64_t, v1::OperationResponse>> answers;  // operation updates
  std::vector<std::string> reannounce;     // groups whose addresses to announce again
  bool claims_changed = false;             // send a heartbeat now
};

struct ControllerOptions {
  GroupRunnerOptions runner;
  absl::Duration fence_retry = absl::Seconds(5);
  // An operation not finished after this long fails.
  absl::Duration operation_limit = absl::Hours(1);
  // How long the holder of a planned move waits for the target to say it
  // awaits the group before it stops it anyway (a target that never says:
  // an agent that predates the hand-off).
  absl::Duration handoff_wait = absl::Seconds(1);
  // The hand-off ends only when the target awaits the group, or falls
  // silent for half of handoff_wait (a Heartbeat 3 peer starts what it is
  // given only after its own hand-over, so a release it did not ask for
  // would leave the group stopped everywhere).
  bool handoff_waits_for_target = false;
};

// The virtual IP a resource manages: an ip resource's address, or the
// address given to the IP agents operators migrate from Heartbeat (OCF
// heartbeat:IPaddr2/IPaddr `ip` param, resource.d IPaddr/IPaddr2's first
// argument); "" for anything else. Status lists these, so `hacli where`
// answers for them too.
std::string VirtualAddressOf(const spec::v1::Resource& r);

class GroupController {
 public:
  // Keeps a copy of `spec`.
  GroupController(const spec::v1::ClusterSpec& spec, std::string local,
                  ControllerOptions options = {});

  // Whether Reconfigure would take `spec` now: InvalidArgument naming each
  // group it cannot (one changed while it is being probed, started or
  // stopped here, or with two resources of one name; one added again while
  // its removal is still stopping it).
  absl::Status CheckReconfigure(const spec::v1::ClusterSpec& spec) const;
  // A new spec (SIGHUP, apply), checked as above; nothing changes when it
  // is refused. Groups whose definition is unchanged keep their runner and
  // state; new groups start stopped; a changed group takes its new
  // definition (GroupRunner::Reshape: running here, only the resources the
  // change touches are stopped or started; a new preferred node moves it by
  // the usual rules at the next Evaluate); a removed group that runs here is
  // stopped, and claimed STOPPING in the heartbeats until it has.
  absl::Status Reconfigure(const spec::v1::ClusterSpec& spec, MonoTime now,
                           ControllerOutput* out);

  // Probes every group (see above); the caller runs the probe operations.
  void Probe(MonoTime now, ControllerOutput* out);

  // One decision pass over every group. `nodes`: every spec node in spec
  // order (the local one included). `hold_acquire`: initdead with nodes
  // unheard.
  void Evaluate(const std::vector<NodeInput>& nodes, bool hold_acquire, MonoTime now,
                ControllerOutput* out);

  // The result of a GroupOp handed out earlier.
  void OnResult(const std::string& group, const GroupOpResult& result, MonoTime now,
                ControllerOutput* out);
  // Monitors and stop retries that are due.
  void Tick(MonoTime now, ControllerOutput* out);
  // When Tick next has something to do (InfiniteDuration: nothing).
  MonoTime NextDeadline() const;

  // An operator's standby/takeover/move, planned against the view of the
  // last Evaluate. Answers it (FAILED at once when it cannot be done, DONE
  // when there is nothing to move, else PENDING with what moves) through
  // out->answers; `stamp_ns` (wall clock) orders requests cluster-wide.
  void Submit(const OperationRequest& request, int64_t stamp_ns, MonoTime now,
              ControllerOutput* out);

  // A node died / came up (membership events); `last` is its last
  // heartbeat, if any.
  void OnNodeDead(const std::string& node, const wire::v1::Heartbeat* last, MonoTime now,
                  ControllerOutput* out);
  void OnNodeUp(const std::string& node);

  // Fencing commands due now: the nodes to fence (marked running).
  std::vector<std::string> FencesToRun(MonoTime now);
  void OnFenceResult(const std::string& node, bool ok, const std::string& message, MonoTime now,
                     ControllerOutput* out);

  // The agent is shutting down: from the next Evaluate on, the local node is
  // no candidate for any group, so it stops what it runs (others take over
  // once it has let go). Its heartbeat says standby.
  void Leave() { leaving_ = true; }
  bool leaving() const { return leaving_; }
  // No local group claimed (all stopped or failed).
  bool Idle() const;

  // Claims, failed groups and requests for the local heartbeat.
  void FillHeartbeat(wire::v1::Heartbeat* hb) const;
  // Groups, quorum, for GetStatus (as of the last Evaluate).
  void FillStatus(const std::function<absl::Time(MonoTime)>& wall,
                  v1::GetStatusResponse* status) const;

  // True while a group waits for another node to release it, two nodes hold
  // one, or an operation is pending: the caller then reads heartbeats
  // without delay.
  bool Urgent() const;

  // Groups the last Evaluate stops here (now, or once the hand-off wait
  // ends) because placement puts them on `node`.
  std::set<std::string> MovesTo(const std::string& node) const;

  // True when a hand-off wait (see above) has run out by `now`: the caller
  // then runs Evaluate.
  bool HandoffExpired(MonoTime now) const;
  // Sets ControllerOptions::handoff_wait (the caller derives it from the
  // spec's timing, at start and at each reload).
  void SetHandoffWait(absl::Duration wait) { options_.handoff_wait = wait; }
  void SetHandoffWaitsForTarget(bool waits) { options_.handoff_waits_for_target = waits; }
  // The spec of group `name` (null when unknown).
  const spec::v1::ResourceGroup* Group(const std::string& name) const;
  // The local runner of `name` (null when unknown).
  const GroupRunner* Runner(const std::string& name) const;

 private:
  struct Tracked {
    uint64_t id = 0;
    std::string what;  // "standby", "move g1 to node02"...
    std::vector<PlacementRequest> requests;
    MonoTime started;
  };
  struct Fence {
    std::set<std::string> groups;
    bool running = false;
    MonoTime next_try;
  };

  ClusterView LastView() const;
  void Record(const PlacementRequest& r);
  bool Fenced(const std::string& group) const;
  std::string StartReason(const ClusterView& view, const std::string& group,
                          const Decision& d) const;
  void Progress(const ClusterView& view, MonoTime now, ControllerOutput* out);
  void FillGroup(const ClusterView& view, const std::string& group, v1::GroupStatus* gs) const;
  // Runs `fn` on runner `group`, then notes failure and claim changes.
  void Drive(const std::string& group, MonoTime now, ControllerOutput* out,
             const std::function<void(GroupRunner&, std::vector<GroupOp>*,
                                      std::vector<v1::Event>*)>& fn);
  v1::Event MakeEvent(v1::EventKind kind, const std::string& group, std::string reason,
                      MonoTime now) const;

  spec::v1::ClusterSpec spec_;
  std::string local_;
  ControllerOptions options_;
  std::map<std::string, std::unique_ptr<GroupRunner>> runners_;
  // Runners of groups a reload removed, until they have stopped.
  std::map<std::string, std::unique_ptr<GroupRunner>> retiring_;
  // Groups that failed here and were not asked back by an operator since.
  std::set<std::string> failed_here_;
  std::map<std::string, PlacementRequest> requests_;
  std::vector<Tracked> tracked_;
  std::map<std::string, Fence> fences_;
  // The inputs of the last Evaluate (heartbeat pointers not kept).
  struct KnownNode {
    std::string name;
    bool alive = false;
    uint32_t score = 0;
    bool leaving = false;
    bool hears_local = true;
    bool fading_local = false;
    std::optional<std::set<std::string>> hears;
    std::set<std::string> awaiting;  // groups its heartbeat says it awaits
    MonoTime last_heard = -absl::InfiniteDuration();
    std::map<std::string, ClaimPhase> claims;
    std::set<std::string> failed_groups;
    std::vector<PlacementRequest> requests;  // as its heartbeat carries them
  };
  std::vector<KnownNode> known_;
  bool hold_acquire_ = false;
  bool leaving_ = false;
  // Per group: the alive node that held it at the last Evaluate, and
  // whether two nodes held it.
  std::map<std::string, std::string> last_holder_;
  std::set<std::string> split_;
  // Peers seen alive at some Evaluate, and those alive at the latest one:
  // a peer alive again after a death (a healed partition, a restart) is a
  // "rejoin" (see Evaluate).
  std::set<std::string> ever_alive_;
  std::set<std::string> alive_;
  std::set<std::string> waiting_;
  // Groups this node is the target of and waits for another to release (in
  // the heartbeat as `awaiting`).
  std::set<std::string> awaiting_;
  // Planned moves away from here waiting for the target's `awaiting`, per
  // group: since when, and when the wait ends (handoff_wait after it began,
  // or the target silent for half of that, whichever comes first).
  struct Handoff {
    MonoTime since;
    MonoTime ends;
  };
  std::map<std::string, Handoff> handoffs_;
  // Group -> the node placement moves it to, as of the last Evaluate.
  std::map<std::string, std::string> moves_;
  // Groups being taken over from a holder that died, since when; counted
  // as failovers once running here.
  std::map<std::string, MonoTime> taking_over_;
  uint64_t failovers_ = 0;
  absl::Duration last_failover_ = absl::ZeroDuration();
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_GROUPS_CONTROLLER_H_
