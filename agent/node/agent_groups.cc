#include "agent/node/agent_loop.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

namespace hacluster::agent {

void AgentLoop::Submit(uint64_t id, std::function<void()> fn) {
  absl::Status s = executor_->Submit(id, std::move(fn));
  if (s.ok()) return;
  // No thread: the work fails at once rather than hang the group.
  logger_.Error(absl::StrCat("cannot run resource work: ", s.message()));
  auto it = work_.find(id);
  if (it == work_.end()) return;
  it->second.result->message = std::string(s.message());
  ControllerOutput out;
  Work w = std::move(it->second);
  work_.erase(it);
  if (w.floors) {
    floors_saving_ = false;
    return;
  }
  MonoTime now = clock_.Now();
  if (w.group.empty()) {
    groups_->OnFenceResult(w.node, false, w.result->message, now, &out);
  } else {
    groups_->OnResult(w.group, {w.op_id, false, w.result->message}, now, &out);
  }
  Apply(out, now);
}

void AgentLoop::Apply(ControllerOutput& out, MonoTime now) {
  for (GroupOp& op : out.ops) {
    const uint64_t id = next_work_id_++;
    Work w;
    w.group = op.group;
    w.op_id = op.id;
    w.resource = op.spec;
    w.op = op.op;
    std::optional<vip::Placement> place;
    auto vp = vip_places_.find({op.group, ResourceDisplayName(op.spec)});
    if (vp != vip_places_.end()) place = vp->second;
    std::shared_ptr<WorkResult> result = w.result;
    spec::v1::Resource resource = op.spec;
    exec::ScriptPaths paths = script_paths_;
    v1::ResourceOp kind = op.op;
    work_.emplace(id, std::move(w));
    Submit(id, [result, resource, kind, place, paths, announcer = announcer_] {
      const MonoTime begin = MonotonicNow();
      *result = RunResourceOp(resource, kind, place, paths, announcer.get());
      absl::StrAppend(&result->message, " (",
                      absl::FormatDuration(absl::Trunc(MonotonicNow() - begin,
                                                       absl::Microseconds(10))),
                      ")");
    });
  }
  out.ops.clear();
  for (const std::string& group : out.reannounce) ScheduleAnnouncements(group, now, false);
  out.reannounce.clear();
  for (auto& [id, answer] : out.answers) {
    answer.set_operation_id(id);
    ops_.Update(id, std::move(answer));
  }
  out.answers.clear();
  for (v1::Event& e : out.events) events_.push_back(std::move(e));
  out.events.clear();
  if (out.claims_changed) {
    groups_->FillHeartbeat(&out_hb_);
    // Peers learn of a release or a request now, not a keepalive later.
    SendHeartbeat(now);
    groups_dirty_ = true;
  }
  out.claims_changed = false;
}

void AgentLoop::TakeOperations(MonoTime now) {
  ControllerOutput out;
  for (const OperationRequest& r : ops_.Take()) {
    if (leaving_) {
      v1::OperationResponse answer;
      answer.set_state(v1::OPERATION_STATE_FAILED);
      answer.set_message("refused: this ha-agent is shutting down");
      ops_.Update(r.id, std::move(answer));
      continue;
    }
    switch (r.kind) {
      case OperationRequest::Kind::kPrepareApply:
        PrepareApply(r, now);
        break;
      case OperationRequest::Kind::kCommitApply:
        CommitApply(r, now);
        break;
      case OperationRequest::Kind::kAbortApply:
        AbortApply(r, now);
        break;
      case OperationRequest::Kind::kMove:
        if (hb3_ != nullptr) {
          v1::OperationResponse answer;
          answer.set_state(v1::OPERATION_STATE_FAILED);
          answer.set_message(absl::StrCat(
              "refused: wire: heartbeat3 (a mixed pair with Heartbeat 3, which has no operator "
              "moves); use standby or takeover, or move once both nodes run the native wire"));
          ops_.Update(r.id, std::move(answer));
          break;
        }
        groups_->Submit(r, absl::ToUnixNanos(absl::Now()), now, &out);
        break;
      default:
        groups_->Submit(r, absl::ToUnixNanos(absl::Now()), now, &out);
    }
  }
  Apply(out, now);
  groups_dirty_ = true;
}

void AgentLoop::TakeCompletedWork(MonoTime now) {
  ControllerOutput out;
  for (uint64_t id : executor_->TakeCompleted()) {
    auto it = work_.find(id);
    if (it == work_.end()) continue;
    Work w = std::move(it->second);
    work_.erase(it);
    const WorkResult& r = *w.result;
    if (w.floors) {
      floors_saving_ = false;
      if (!r.ok) logger_.Warn(r.message);
      continue;
    }
    if (w.group.empty()) {
      groups_->OnFenceResult(w.node, r.ok, r.message, now, &out);
      continue;
    }
    const std::pair<std::string, std::string> key{w.group, ResourceDisplayName(w.resource)};
    if (r.placement.has_value()) vip_places_[key] = *r.placement;
    if (w.op == v1::RESOURCE_OP_STOP && r.ok) vip_places_.erase(key);
    if (r.announce && r.placement.has_value()) {
      announcements_.Add(r.placement->interface, w.resource.ip().address(), now,
                         /*first_sent=*/true);
    }
    GroupOpResult result;
    result.id = w.op_id;
    result.ok = r.ok;
    result.message = r.message;
    result.may_be_running = r.may_be_running;
    groups_->OnResult(w.group, result, now, &out);
  }
  Apply(out, now);
  groups_dirty_ = true;
}

void AgentLoop::ScheduleAnnouncements(const std::string& group, MonoTime now,
                                        bool first_sent) {
  const spec::v1::ResourceGroup* g = groups_->Group(group);
  if (g == nullptr) return;
  for (const spec::v1::Resource& r : g->resources()) {
    auto vp = vip_places_.find({group, ResourceDisplayName(r)});
    if (vp == vip_places_.end()) continue;
    announcements_.Add(vp->second.interface, r.ip().address(), now, first_sent);
  }
}

void AgentLoop::SendAnnouncements(MonoTime now) {
  for (const AnnouncementSchedule::Due& d : announcements_.TakeDue(now)) {
    // Only an address still here is announced: a group stopped meanwhile
    // must not draw traffic back.
    absl::StatusOr<bool> here = vip::HasAddress(d.address);
    if (!here.ok() || !*here) {
      announcements_.Forget(d.address);
      continue;
    }
    absl::Status s = announcer_ != nullptr ? announcer_->Announce(d.interface, d.address)
                                           : vip::Announce(d.interface, d.address);
    if (!s.ok()) logger_.Warn(absl::StrCat("announcing ", d.address, ": ", s.message()));
  }
}

void AgentLoop::RunGroups(MonoTime now) {
  ControllerOutput out;
  for (const std::string& node : groups_->FencesToRun(now)) {
    const uint64_t id = next_work_id_++;
    Work w;
    w.node = node;
    std::shared_ptr<WorkResult> result = w.result;
    spec::v1::Fencing fencing = config_.spec.fencing();
    work_.emplace(id, std::move(w));
    logger_.Info(absl::StrCat("fencing ", node, ": running ",
                              absl::StrJoin(fencing.command(), " ")));
    Submit(id, [result, fencing, node] { *result = RunFence(fencing, node); });
  }
  if (groups_->NextDeadline() <= now) {
    groups_->Tick(now, &out);
    if (groups_->HandoffExpired(now)) groups_dirty_ = true;
  }
  if (groups_dirty_) {
    groups_dirty_ = false;
    std::vector<NodeInput> nodes;
    nodes.reserve(config_.spec.nodes_size());
    for (const auto& n : config_.spec.nodes()) {
      NodeInput in;
      in.name = n.name();
      in.alive = n.name() == local_node_ || membership_->StateOf(n.name()) == v1::NODE_STATE_UP;
      const wire::v1::Heartbeat* last = membership_->LastHeartbeat(n.name());
      in.score = n.name() == local_node_ ? connectivity_->PlacementScore()
                 : last != nullptr          ? last->connectivity_score()
                                            : 0;
      in.heartbeat = in.alive ? last : nullptr;
      in.last_heard = membership_->LastHeard(n.name());
      in.hears_local = deaf_peers_.count(n.name()) == 0;
      nodes.push_back(std::move(in));
    }
    bool all_heard = true;
    for (const NodeInput& n : nodes) all_heard = all_heard && n.alive;
    const bool hold = leaving_ || CatchingUp() || (membership_->InInitdead(now) && !all_heard);
    groups_->Evaluate(nodes, hold, now, &out);
    // The heartbeat always says what the controller now knows (adopted
    // requests included).
    groups_->FillHeartbeat(&out_hb_);
  }
  Apply(out, now);
}

}  // namespace hacluster::agent
