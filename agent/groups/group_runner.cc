#include "agent/groups/group_runner.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/time_util.h"

namespace hacluster::agent {
namespace {

const char* OpName(v1::ResourceOp op) {
  switch (op) {
    case v1::RESOURCE_OP_START:
      return "start";
    case v1::RESOURCE_OP_STOP:
      return "stop";
    case v1::RESOURCE_OP_MONITOR:
      return "monitor";
    case v1::RESOURCE_OP_PROBE:
      return "probe";
    default:
      return "operation";
  }
}

}  // namespace

std::string ResourceKind(const spec::v1::Resource& r) {
  switch (r.kind_case()) {
    case spec::v1::Resource::kIp:
      return "ip";
    case spec::v1::Resource::kLsb:
      return "lsb";
    case spec::v1::Resource::kHeartbeat:
      return "heartbeat";
    case spec::v1::Resource::kOcf:
      return "ocf";
    default:
      return "unknown";
  }
}

std::string ResourceDisplayName(const spec::v1::Resource& r) {
  if (!r.name().empty()) return r.name();
  switch (r.kind_case()) {
    case spec::v1::Resource::kIp:
      return absl::StrCat("ip ", r.ip().address());
    case spec::v1::Resource::kLsb:
      return absl::StrCat("lsb ", r.lsb().name());
    case spec::v1::Resource::kHeartbeat:
      return absl::StrCat("heartbeat ", r.heartbeat().name());
    case spec::v1::Resource::kOcf:
      return absl::StrCat("ocf ", r.ocf().provider().empty() ? "heartbeat" : r.ocf().provider(),
                          ":", r.ocf().type());
    default:
      return "resource";
  }
}

GroupRunner::GroupRunner(spec::v1::ResourceGroup group, GroupRunnerOptions options)
    : group_(std::move(group)), options_(options), resources_(group_.resources_size()) {}

wire::v1::GroupClaim::Phase GroupRunner::claim() const {
  switch (state_) {
    case State::kStarting:
      return wire::v1::GroupClaim::PHASE_STARTING;
    case State::kRunning:
    case State::kReshaping:
      return wire::v1::GroupClaim::PHASE_HELD;
    case State::kStopping:
      return wire::v1::GroupClaim::PHASE_STOPPING;
    case State::kProbing:
      return wire::v1::GroupClaim::PHASE_PROBING;
    default:
      return wire::v1::GroupClaim::PHASE_UNSPECIFIED;
  }
}

std::string GroupRunner::ResourceName(int i) const {
  return ResourceDisplayName(group_.resources(i));
}

v1::Event GroupRunner::MakeEvent(v1::EventKind kind, std::string reason, MonoTime now) const {
  v1::Event e;
  e.set_kind(kind);
  e.set_group(group_.name());
  e.set_reason(std::move(reason));
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  return e;
}

void GroupRunner::Launch(int resource, v1::ResourceOp op, std::vector<GroupOp>* ops) {
  GroupOp o;
  o.id = next_id_++;
  o.group = group_.name();
  o.resource = resource;
  o.spec = group_.resources(resource);
  o.op = op;
  running_op_ = o.id;
  running_resource_ = resource;
  running_kind_ = op;
  // A resource being started may be partly up whatever the outcome: it
  // needs a stop from now on.
  if (op == v1::RESOURCE_OP_START) resources_[resource].running = true;
  ops->push_back(std::move(o));
}

void GroupRunner::Start(const std::string& reason, MonoTime now, std::vector<GroupOp>* ops,
                        std::vector<v1::Event>* events) {
  if (state_ != State::kStopped && state_ != State::kFailed) return;
  state_ = State::kStarting;
  goal_ = Goal::kRun;
  next_start_ = 0;
  restart_from_ = -1;
  monitor_failures_ = 0;
  stop_failures_ = 0;
  fail_reason_.clear();
  events->push_back(MakeEvent(v1::EVENT_KIND_GROUP_STARTING,
                              absl::StrCat("starting group ", group_.name(), ": ", reason), now));
  Continue(now, ops, events);
}

void GroupRunner::Probe(std::vector<GroupOp>* ops) {
  if (state_ != State::kStopped || resources_.empty()) return;
  state_ = State::kProbing;
  goal_ = Goal::kNone;
  probe_next_ = 0;
  probe_running_.clear();
  probe_stopped_.clear();
  probe_doubt_.clear();
  Launch(0, v1::RESOURCE_OP_PROBE, ops);
}

void GroupRunner::Stop(const std::string& reason, MonoTime now, std::vector<GroupOp>* ops,
                       std::vector<v1::Event>* events) {
  if (state_ == State::kStopped || state_ == State::kFailed) return;
  if (state_ == State::kProbing) {
    // Once the probe has said what runs here.
    goal_ = Goal::kStop;
    probe_stop_reason_ = reason;
    return;
  }
  if (state_ == State::kStopping) {
    // A restart becomes a plain stop; a failing group still ends failed.
    restart_from_ = -1;
    down_to_ = 0;
    if (goal_ != Goal::kFail) goal_ = Goal::kStop;
    return;
  }
  events->push_back(MakeEvent(v1::EVENT_KIND_GROUP_STOPPING,
                              absl::StrCat("stopping group ", group_.name(), ": ", reason), now));
  goal_ = Goal::kStop;
  if (state_ == State::kStarting && busy()) return;  // after the running start
  StopFrom(0, now, ops, events);
}

void GroupRunner::StopFrom(int down_to, MonoTime now, std::vector<GroupOp>* ops,
                           std::vector<v1::Event>* events) {
  state_ = State::kStopping;
  down_to_ = down_to;
  for (Resource& r : resources_) r.next_monitor = absl::InfiniteDuration();
  Continue(now, ops, events);
}

void GroupRunner::Continue(MonoTime now, std::vector<GroupOp>* ops,
                           std::vector<v1::Event>* events) {
  if (busy()) return;
  if (state_ == State::kReshaping) {
    ContinueReshape(now, ops, events);
    return;
  }
  if (state_ == State::kStarting) {
    if (goal_ == Goal::kStop || goal_ == Goal::kFail) {
      StopFrom(0, now, ops, events);
      return;
    }
    if (next_start_ < static_cast<int>(resources_.size())) {
      Launch(next_start_, v1::RESOURCE_OP_START, ops);
      return;
    }
    state_ = State::kRunning;
    goal_ = Goal::kNone;
    ScheduleMonitors(now);
    events->push_back(MakeEvent(v1::EVENT_KIND_GROUP_RUNNING,
                                absl::StrCat("group ", group_.name(), " running"), now));
    return;
  }
  if (state_ != State::kStopping) return;
  if (retry_stop_at_ != absl::InfiniteDuration()) return;  // waiting to retry
  for (int i = static_cast<int>(resources_.size()) - 1; i >= down_to_; --i) {
    if (resources_[i].running) {
      Launch(i, v1::RESOURCE_OP_STOP, ops);
      return;
    }
  }
  if (restart_from_ >= 0) {
    next_start_ = restart_from_;
    restart_from_ = -1;
    down_to_ = 0;
    state_ = State::kStarting;
    goal_ = Goal::kRun;
    Continue(now, ops, events);
    return;
  }
  // A reshape that failed over ends with the new definition in place.
  if (pending_.has_value()) TakePending();
  reshape_stops_.clear();
  if (goal_ == Goal::kFail) {
    state_ = State::kFailed;
    events->push_back(MakeEvent(
        v1::EVENT_KIND_GROUP_FAILED,
        absl::StrCat("group ", group_.name(), " failed here and is left to another node: ",
                     fail_reason_),
        now));
  } else {
    state_ = State::kStopped;
    events->push_back(MakeEvent(v1::EVENT_KIND_GROUP_STOPPED,
                                absl::StrCat("group ", group_.name(), " stopped"), now));
  }
  goal_ = Goal::kNone;
  down_to_ = 0;
}

bool GroupRunner::CanReshape(const spec::v1::ResourceGroup& next, std::string* refusal) const {
  switch (state_) {
    case State::kStopped:
    case State::kFailed:
      return true;
    case State::kRunning:
      break;
    default:
      *refusal = absl::StrCat(
          "group ", group_.name(), " is ",
          state_ == State::kProbing    ? "being probed"
          : state_ == State::kStarting ? "starting"
          : state_ == State::kStopping ? "stopping"
                                       : "being reconfigured",
          " here: reload once it has settled");
      return false;
  }
  for (const auto* g : {&group_, &next}) {
    std::set<std::string> names;
    for (const auto& r : g->resources()) {
      if (!names.insert(ResourceDisplayName(r)).second) {
        *refusal = absl::StrCat("group ", g->name(), " has two resources named '",
                                ResourceDisplayName(r),
                                "': give them distinct names to change the running group");
        return false;
      }
    }
  }
  return true;
}

bool GroupRunner::Reshape(spec::v1::ResourceGroup next, MonoTime now, std::vector<GroupOp>* ops,
                          std::vector<v1::Event>* events, std::string* refusal) {
  if (!CanReshape(next, refusal)) return false;
  if (state_ != State::kRunning) {  // stopped or failed: nothing runs
    pending_ = std::move(next);
    TakePending();
    return true;
  }
  std::map<std::string, const spec::v1::Resource*> incoming;
  for (const auto& r : next.resources()) incoming[ResourceDisplayName(r)] = &r;
  std::set<std::string> outgoing;
  std::vector<std::string> stopped, restarted, started;
  reshape_stops_.clear();
  for (int i = 0; i < group_.resources_size(); ++i) {
    const auto& r = group_.resources(i);
    const std::string name = ResourceDisplayName(r);
    outgoing.insert(name);
    auto it = incoming.find(name);
    if (it == incoming.end()) {
      stopped.push_back(name);
    } else if (it->second->SerializeAsString() != r.SerializeAsString()) {
      restarted.push_back(name);
    } else {
      continue;
    }
    reshape_stops_.push_back(i);  // ascending: the last is stopped first
  }
  for (const auto& r : next.resources()) {
    if (outgoing.count(ResourceDisplayName(r)) == 0) started.push_back(ResourceDisplayName(r));
  }
  pending_ = std::move(next);
  if (stopped.empty() && restarted.empty() && started.empty()) {
    TakePending();  // only the group's own settings changed
    return true;
  }
  std::vector<std::string> parts;
  if (!stopped.empty()) parts.push_back(absl::StrCat("stopping ", absl::StrJoin(stopped, ", ")));
  if (!restarted.empty()) {
    parts.push_back(absl::StrCat("restarting ", absl::StrJoin(restarted, ", ")));
  }
  if (!started.empty()) parts.push_back(absl::StrCat("starting ", absl::StrJoin(started, ", ")));
  reshape_summary_ = absl::StrJoin(parts, "; ");
  state_ = State::kReshaping;
  goal_ = Goal::kRun;
  events->push_back(MakeEvent(
      v1::EVENT_KIND_GROUP_STARTING,
      absl::StrCat("reconfiguring running group ", group_.name(), ": ", reshape_summary_,
                   "; the other resources go on running"),
      now));
  // A monitor under way ends first (Continue waits for it).
  Continue(now, ops, events);
  return true;
}

void GroupRunner::TakePending() {
  std::map<std::string, Resource> kept;
  for (int i = 0; i < group_.resources_size(); ++i) {
    kept[group_.resources(i).SerializeAsString() + "\n" + ResourceName(i)] = resources_[i];
  }
  group_ = *std::move(pending_);
  pending_.reset();
  std::vector<Resource> resources(group_.resources_size());
  for (int i = 0; i < group_.resources_size(); ++i) {
    auto it = kept.find(group_.resources(i).SerializeAsString() + "\n" + ResourceName(i));
    if (it != kept.end()) resources[i] = it->second;
  }
  resources_ = std::move(resources);
}

void GroupRunner::ContinueReshape(MonoTime now, std::vector<GroupOp>* ops,
                                  std::vector<v1::Event>* events) {
  if (goal_ == Goal::kFail) {  // a start failed
    StopFrom(0, now, ops, events);
    return;
  }
  while (!reshape_stops_.empty()) {
    const int i = reshape_stops_.back();
    if (!resources_[i].running) {
      reshape_stops_.pop_back();
      continue;
    }
    Launch(i, v1::RESOURCE_OP_STOP, ops);
    return;
  }
  if (pending_.has_value()) TakePending();
  for (int i = 0; i < static_cast<int>(resources_.size()); ++i) {
    if (!resources_[i].running) {
      Launch(i, v1::RESOURCE_OP_START, ops);
      return;
    }
  }
  state_ = State::kRunning;
  goal_ = Goal::kNone;
  ScheduleMonitors(now);
  events->push_back(MakeEvent(
      v1::EVENT_KIND_GROUP_RUNNING,
      absl::StrCat("group ", group_.name(), " running with its new definition (",
                   reshape_summary_, ")"),
      now));
}

void GroupRunner::ScheduleMonitors(MonoTime now) {
  for (int i = 0; i < static_cast<int>(resources_.size()); ++i) {
    const auto& spec = group_.resources(i);
    resources_[i].next_monitor =
        spec.has_monitor_interval()
            ? now + absl::Seconds(spec.monitor_interval().seconds()) +
                  absl::Nanoseconds(spec.monitor_interval().nanos())
            : absl::InfiniteDuration();
  }
}

void GroupRunner::OnResult(const GroupOpResult& result, MonoTime now, std::vector<GroupOp>* ops,
                           std::vector<v1::Event>* events) {
  if (result.id == 0 || result.id != running_op_) return;
  running_op_ = 0;
  const int i = running_resource_;
  const v1::ResourceOp op = running_kind_;
  Resource& r = resources_[i];
  r.last_op = op;
  r.last_ok = result.ok;
  r.last_message = result.message;
  r.last_time = now;
  r.has_run = true;

  const char* verdict = result.ok ? "ok" : "failed";
  if (op == v1::RESOURCE_OP_PROBE) {
    verdict = result.ok ? "running" : result.may_be_running ? "in doubt" : "not running";
  }
  v1::Event e = MakeEvent(
      v1::EVENT_KIND_RESOURCE_OP,
      absl::StrCat(OpName(op), " of ", ResourceName(i), " (group ", group_.name(), "): ",
                   verdict, result.message.empty() ? "" : ": ", result.message),
      now);
  e.set_resource(ResourceName(i));
  e.set_op(op);
  e.set_ok(result.ok);
  events->push_back(std::move(e));

  switch (op) {
    case v1::RESOURCE_OP_START:
      if (result.ok) {
        ++next_start_;
      } else if (goal_ != Goal::kFail) {
        goal_ = Goal::kFail;
        fail_reason_ = absl::StrCat("start of ", ResourceName(i), " failed: ", result.message);
      }
      break;
    case v1::RESOURCE_OP_STOP:
      if (result.ok) {
        r.running = false;
        stop_failures_ = 0;
      } else {
        if (state_ == State::kReshaping) {
          // What cannot be stopped cannot be reconfigured: the group fails
          // over, its stops retried as any failed stop's.
          goal_ = Goal::kFail;
          fail_reason_ = absl::StrCat("stop of ", ResourceName(i),
                                      " for a reconfiguration failed: ", result.message);
          state_ = State::kStopping;
          down_to_ = 0;
          for (Resource& res : resources_) res.next_monitor = absl::InfiniteDuration();
        }
        ++stop_failures_;
        retry_stop_at_ = now + options_.stop_retry;
        events->push_back(MakeEvent(
            v1::EVENT_KIND_STOP_FAILED,
            absl::StrCat("stop of ", ResourceName(i), " (group ", group_.name(), ") failed (",
                         stop_failures_, stop_failures_ == 1 ? " time" : " times",
                         "): ", result.message, "; the group stays claimed here and the stop is "
                         "retried in ", absl::FormatDuration(options_.stop_retry)),
            now));
        events->back().set_resource(ResourceName(i));
        return;
      }
      break;
    case v1::RESOURCE_OP_MONITOR:
      if (state_ != State::kRunning) break;  // a stop is under way anyway
      if (result.ok) {
        const auto& iv = group_.resources(i).monitor_interval();
        r.next_monitor = now + absl::Seconds(iv.seconds()) + absl::Nanoseconds(iv.nanos());
        break;
      }
      ++monitor_failures_;
      if (monitor_failures_ >= options_.max_monitor_failures) {
        goal_ = Goal::kFail;
        fail_reason_ = absl::StrCat(monitor_failures_, " monitor failures (the last of ",
                                    ResourceName(i), ": ", result.message, ")");
        events->push_back(MakeEvent(
            v1::EVENT_KIND_GROUP_STOPPING,
            absl::StrCat("stopping group ", group_.name(), ": ", fail_reason_), now));
        StopFrom(0, now, ops, events);
      } else {
        restart_from_ = i;
        goal_ = Goal::kRun;
        events->push_back(MakeEvent(
            v1::EVENT_KIND_GROUP_STOPPING,
            absl::StrCat("restarting ", ResourceName(i), " of group ", group_.name(),
                         " after monitor failure ", monitor_failures_, " of ",
                         options_.max_monitor_failures, ": ", result.message),
            now));
        StopFrom(i, now, ops, events);
      }
      return;
    case v1::RESOURCE_OP_PROBE:
      OnProbeResult(i, result, now, ops, events);
      return;
    default:
      break;
  }
  Continue(now, ops, events);
}

void GroupRunner::OnProbeResult(int i, const GroupOpResult& result, MonoTime now,
                                std::vector<GroupOp>* ops, std::vector<v1::Event>* events) {
  Resource& r = resources_[i];
  r.running = result.ok || result.may_be_running;
  (result.ok ? probe_running_ : result.may_be_running ? probe_doubt_ : probe_stopped_)
      .push_back(ResourceName(i));
  if (++probe_next_ < static_cast<int>(resources_.size())) {
    Launch(probe_next_, v1::RESOURCE_OP_PROBE, ops);
    return;
  }
  const bool stop_asked = goal_ == Goal::kStop;
  const std::string asked = std::move(probe_stop_reason_);
  probe_stop_reason_.clear();
  goal_ = Goal::kNone;
  if (probe_running_.size() == resources_.size() && !stop_asked) {
    state_ = State::kRunning;
    monitor_failures_ = 0;
    stop_failures_ = 0;
    next_start_ = static_cast<int>(resources_.size());
    ScheduleMonitors(now);
    events->push_back(MakeEvent(
        v1::EVENT_KIND_GROUP_RUNNING,
        absl::StrCat("group ", group_.name(),
                     " found running at start-up (left by an earlier agent): adopted without "
                     "a restart"),
        now));
    return;
  }
  if (probe_running_.empty() && probe_doubt_.empty()) {
    state_ = State::kStopped;
    return;
  }
  std::string found;
  if (!probe_running_.empty()) {
    absl::StrAppend(&found, absl::StrJoin(probe_running_, ", "), " running");
  }
  if (!probe_stopped_.empty()) {
    absl::StrAppend(&found, found.empty() ? "" : "; ", absl::StrJoin(probe_stopped_, ", "),
                    " not running");
  }
  if (!probe_doubt_.empty()) {
    absl::StrAppend(&found, found.empty() ? "" : "; ", absl::StrJoin(probe_doubt_, ", "),
                    " in doubt");
  }
  events->push_back(MakeEvent(
      v1::EVENT_KIND_GROUP_STOPPING,
      absl::StrCat("stopping group ", group_.name(), ": found at start-up (", found, ")",
                   stop_asked ? absl::StrCat("; ", asked)
                              : "; what runs of it is stopped before it may run anywhere"),
      now));
  goal_ = Goal::kStop;
  StopFrom(0, now, ops, events);
}

void GroupRunner::Tick(MonoTime now, std::vector<GroupOp>* ops, std::vector<v1::Event>* events) {
  if (busy()) return;
  if (state_ == State::kStopping && retry_stop_at_ <= now) {
    retry_stop_at_ = absl::InfiniteDuration();
    Continue(now, ops, events);
    return;
  }
  if (state_ != State::kRunning) return;
  for (int i = 0; i < static_cast<int>(resources_.size()); ++i) {
    if (resources_[i].next_monitor <= now) {
      resources_[i].next_monitor = absl::InfiniteDuration();  // until the result
      Launch(i, v1::RESOURCE_OP_MONITOR, ops);
      return;
    }
  }
}

MonoTime GroupRunner::NextDeadline() const {
  if (busy()) return absl::InfiniteDuration();
  MonoTime next = state_ == State::kStopping ? retry_stop_at_ : absl::InfiniteDuration();
  if (state_ == State::kRunning) {
    for (const Resource& r : resources_) next = std::min(next, r.next_monitor);
  }
  return next;
}

void GroupRunner::FillResources(const std::function<absl::Time(MonoTime)>& wall,
                                v1::GroupStatus* status) const {
  for (int i = 0; i < static_cast<int>(resources_.size()); ++i) {
    const Resource& r = resources_[i];
    v1::ResourceStatus* s = status->add_resources();
    s->set_name(ResourceName(i));
    s->set_kind(ResourceKind(group_.resources(i)));
    s->set_running(r.running && !(i == running_resource_ && busy() &&
                                  running_kind_ == v1::RESOURCE_OP_START));
    s->set_last_op(r.last_op);
    s->set_last_ok(r.last_ok);
    s->set_last_message(r.last_message);
    if (r.has_run) {
      *s->mutable_last_time() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(wall(r.last_time)));
    }
    s->set_monitor_failures(static_cast<uint32_t>(monitor_failures_));
  }
}

}  // namespace hacluster::agent
