// GroupRunner: one resource group on the local node, as a state machine.
//
// It decides which resource operation comes next; running it is someone
// else's job (the agent hands each Op to an executor off the loop and feeds
// the result back). One operation at a time per group:
//
// - Start: resources left to right. A failed start (or a start that timed
//   out) stops what was started, the failed resource included, right to
//   left, and the group ends FAILED here: placement then avoids this node.
// - Stop: resources right to left. A stop asked for while a start is under
//   way takes effect when the running operation ends.
// - A failed stop is retried every `stop_retry`, each failure reported; the
//   group stays claimed (STOPPING) meanwhile, so no other node starts it.
// - Monitor: every resource with a monitor interval is checked at that
//   interval while the group runs. A failure restarts the resource (and the
//   ones after it: stop right to left down to it, start again left to
//   right); `max_monitor_failures` failures since the group started fail
//   the group over (stop, FAILED here).
//
// - Probe (at agent start-up, from stopped): each resource is probed left
//   to right (is it already running here, left by an agent that crashed?)
//   while the group is claimed PROBING. All found running: the group is
//   adopted as running, without a restart. None: stopped. Some, or any in
//   doubt (the probe failed): stopped right to left, as a stop would.
//   A Stop asked for meanwhile takes effect when the probe ends.
//
// - Reshape (a reload changed the group's definition): stopped or failed,
//   the new definition is simply taken. Running, it bounces nothing the
//   change does not touch: the resources removed or changed (matched by
//   their display name) are stopped right to left, then the new
//   definition's changed and added resources are started left to right,
//   while the others run on (state RESHAPING, still claimed HELD). A failed
//   start or stop there fails the group over, as elsewhere.
//
// Every operation result and every transition becomes an agent.v1.Event
// (RESOURCE_OP, GROUP_*, STOP_FAILED) with group, resource and a reason.
//
// Pure logic: no clock (every call takes `now`), no I/O. Thread-safety: not
// synchronised; the agent's loop owns it.
#ifndef HACLUSTER_AGENT_GROUPS_GROUP_RUNNER_H_
#define HACLUSTER_AGENT_GROUPS_GROUP_RUNNER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "proto/agent.pb.h"
#include "proto/cluster_spec.pb.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {

struct GroupOp {
  uint64_t id = 0;  // unique per runner; the result names it
  std::string group;
  int resource = 0;  // index in the group's resources, as the runner had them
  // That resource's definition when the operation was asked for: a reload
  // may change the group's resources while the operation runs.
  spec::v1::Resource spec;
  v1::ResourceOp op = v1::RESOURCE_OP_UNSPECIFIED;
};

struct GroupOpResult {
  uint64_t id = 0;
  bool ok = false;
  std::string message;  // what the operation said (exit status, output, timeout)
  // The resource may be active after a failed operation (a probe or
  // monitor that could not tell, a stop that failed); false when the
  // result shows it cleanly stopped. Read for probes only.
  bool may_be_running = true;
};

struct GroupRunnerOptions {
  absl::Duration stop_retry = absl::Seconds(5);
  int max_monitor_failures = 3;
};

class GroupRunner {
 public:
  enum class State { kStopped, kProbing, kStarting, kRunning, kStopping, kFailed, kReshaping };

  GroupRunner(spec::v1::ResourceGroup group, GroupRunnerOptions options = {});

  const std::string& name() const { return group_.name(); }
  State state() const { return state_; }
  // What the local node claims in its heartbeats: PROBING, STARTING, HELD,
  // STOPPING, or UNSPECIFIED (nothing: stopped or failed).
  wire::v1::GroupClaim::Phase claim() const;
  // Failed here (start failure or monitor failures); cleared by Start.
  bool failed() const { return state_ == State::kFailed; }
  // A stop failed and is being retried.
  bool blocked() const { return stop_failures_ > 0 && state_ == State::kStopping; }
  // The operation under way, if any.
  bool busy() const { return running_op_ != 0; }

  // Starts the group (from stopped or failed); `reason` says why (it goes
  // into the GROUP_STARTING event). No-op unless stopped or failed.
  void Start(const std::string& reason, MonoTime now, std::vector<GroupOp>* ops,
             std::vector<v1::Event>* events);
  // Probes what of the group already runs here (see above). No-op unless
  // stopped, or for a group without resources.
  void Probe(std::vector<GroupOp>* ops);
  // Stops the group; no-op when stopped, failed or already stopping.
  void Stop(const std::string& reason, MonoTime now, std::vector<GroupOp>* ops,
            std::vector<v1::Event>* events);
  // A new definition of this group (same name); see above. False, with
  // *refusal saying why and nothing changed, while the group is being
  // probed, started or stopped, or when two of its resources share a
  // display name: reload once it has settled.
  bool Reshape(spec::v1::ResourceGroup next, MonoTime now, std::vector<GroupOp>* ops,
               std::vector<v1::Event>* events, std::string* refusal);
  // Whether Reshape would take `next` now (*refusal says why not).
  bool CanReshape(const spec::v1::ResourceGroup& next, std::string* refusal) const;
  const spec::v1::ResourceGroup& group() const { return group_; }

  // The result of the operation with `result.id`; others are ignored.
  void OnResult(const GroupOpResult& result, MonoTime now, std::vector<GroupOp>* ops,
                std::vector<v1::Event>* events);
  // Starts the monitors and stop retries that are due.
  void Tick(MonoTime now, std::vector<GroupOp>* ops, std::vector<v1::Event>* events);
  // When Tick next has something to do; InfiniteDuration when nothing.
  MonoTime NextDeadline() const;

  // Resource status for GetStatus (last operation of each resource).
  void FillResources(const std::function<absl::Time(MonoTime)>& wall,
                     v1::GroupStatus* status) const;

 private:
  struct Resource {
    bool running = false;
    v1::ResourceOp last_op = v1::RESOURCE_OP_UNSPECIFIED;
    bool last_ok = false;
    std::string last_message;
    MonoTime last_time;
    bool has_run = false;
    MonoTime next_monitor = absl::InfiniteDuration();
  };

  void Launch(int resource, v1::ResourceOp op, std::vector<GroupOp>* ops);
  // Begins stopping from the highest running resource down to `down_to`;
  // then `then` decides what follows.
  void StopFrom(int down_to, MonoTime now, std::vector<GroupOp>* ops,
                std::vector<v1::Event>* events);
  void Continue(MonoTime now, std::vector<GroupOp>* ops, std::vector<v1::Event>* events);
  void OnProbeResult(int resource, const GroupOpResult& result, MonoTime now,
                     std::vector<GroupOp>* ops, std::vector<v1::Event>* events);
  void ScheduleMonitors(MonoTime now);
  v1::Event MakeEvent(v1::EventKind kind, std::string reason, MonoTime now) const;
  std::string ResourceName(int i) const;

  spec::v1::ResourceGroup group_;
  GroupRunnerOptions options_;
  std::vector<Resource> resources_;
  State state_ = State::kStopped;
  uint64_t next_id_ = 1;
  uint64_t running_op_ = 0;
  int running_resource_ = -1;
  v1::ResourceOp running_kind_ = v1::RESOURCE_OP_UNSPECIFIED;
  // What the group is heading for once the running operation ends.
  enum class Goal { kNone, kRun, kStop, kFail } goal_ = Goal::kNone;
  // After a stop sequence down to restart_from_, start again from there
  // (monitor restart); -1 when not restarting.
  int restart_from_ = -1;
  // The next resource to start; the lowest index a stop goes down to.
  int next_start_ = 0;
  int down_to_ = 0;
  int stop_failures_ = 0;
  MonoTime retry_stop_at_ = absl::InfiniteDuration();
  int monitor_failures_ = 0;
  std::string fail_reason_;
  // Probe: the next resource to probe, and what was found so far.
  int probe_next_ = 0;
  std::vector<std::string> probe_running_;
  std::vector<std::string> probe_stopped_;
  std::vector<std::string> probe_doubt_;
  // Why a Stop was asked for while probing (said when the probe ends).
  std::string probe_stop_reason_;
  // Reshaping: the old indices still to stop (the last one first), then
  // the definition to take; what the reshape does, for its last event.
  std::vector<int> reshape_stops_;
  std::optional<spec::v1::ResourceGroup> pending_;
  std::string reshape_summary_;

  void ContinueReshape(MonoTime now, std::vector<GroupOp>* ops, std::vector<v1::Event>* events);
  // Takes pending_ as the group's definition; resources kept (same name and
  // definition) keep their state, the others start stopped.
  void TakePending();
};

// The name shown for resource `r` (its name, else derived from its kind,
// e.g. "ip 192.0.2.50", "lsb apache2", "ocf heartbeat:Dummy").
std::string ResourceDisplayName(const spec::v1::Resource& r);
// "ip", "lsb", "heartbeat" or "ocf".
std::string ResourceKind(const spec::v1::Resource& r);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_GROUPS_GROUP_RUNNER_H_
