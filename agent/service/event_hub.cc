#include "agent/service/event_hub.h"

#include <utility>

#include "google/protobuf/util/time_util.h"

namespace hacluster::agent {
namespace {

void Age(google::protobuf::Duration* d, absl::Duration by) {
  using google::protobuf::util::TimeUtil;
  *d = TimeUtil::NanosecondsToDuration(TimeUtil::DurationToNanoseconds(*d) +
                                       absl::ToInt64Nanoseconds(by));
}

}  // namespace

EventHub::EventHub(size_t history)
    : history_(history == 0 ? 1 : history),
      status_(std::make_shared<const v1::GetStatusResponse>()) {}

void EventHub::PublishStatus(v1::GetStatusResponse status, MonoTime at) {
  auto snapshot = std::make_shared<const v1::GetStatusResponse>(std::move(status));
  PiMutexLock lock(&mu_);
  status_.swap(snapshot);
  status_at_ = at;
  // The old snapshot is freed after the lock is released.
}

uint64_t EventHub::Emit(v1::Event event) {
  PiMutexLock lock(&mu_);
  event.set_id(++last_id_);
  events_.push_back(std::move(event));
  while (events_.size() > history_) events_.pop_front();
  changed_.SignalAll();
  return last_id_;
}

void EventHub::Close() {
  PiMutexLock lock(&mu_);
  closed_ = true;
  changed_.SignalAll();
}

std::shared_ptr<const v1::GetStatusResponse> EventHub::Snapshot() const {
  PiMutexLock lock(&mu_);
  return status_;
}

v1::GetStatusResponse EventHub::Status(MonoTime now) const {
  std::shared_ptr<const v1::GetStatusResponse> snapshot;
  absl::Duration passed;
  {
    PiMutexLock lock(&mu_);
    snapshot = status_;
    passed = now - status_at_;
  }
  v1::GetStatusResponse copy = *snapshot;
  if (passed <= absl::ZeroDuration()) return copy;
  for (auto& node : *copy.mutable_nodes()) {
    if (node.has_since_last_heard()) Age(node.mutable_since_last_heard(), passed);
    for (auto& link : *node.mutable_links()) {
      if (link.has_since_last_heard()) Age(link.mutable_since_last_heard(), passed);
    }
  }
  return copy;
}

uint64_t EventHub::LastId() const {
  PiMutexLock lock(&mu_);
  return last_id_;
}

EventHub::WaitResult EventHub::Next(uint64_t* cursor, absl::Duration timeout,
                                    std::vector<v1::Event>* out, size_t max) {
  PiMutexLock lock(&mu_);
  const uint64_t after = *cursor;
  const MonoTime deadline = MonotonicNow() + timeout;
  // Bounded: each wait ends by the deadline, and the loop with it.
  for (int i = 0; i < 10000 && !closed_ && last_id_ <= after; ++i) {
    const absl::Duration left = deadline - MonotonicNow();
    if (left <= absl::ZeroDuration()) break;
    changed_.WaitWithTimeout(&mu_, left);
  }
  if (last_id_ <= after) return closed_ ? WaitResult::kClosed : WaitResult::kTimeout;
  // events_ holds ids [last_id_ - size + 1, last_id_].
  uint64_t first_held = last_id_ - events_.size() + 1;
  uint64_t from = after + 1 < first_held ? first_held : after + 1;
  for (uint64_t id = from; id <= last_id_ && max > 0; ++id, --max) {
    out->push_back(events_[id - first_held]);
    *cursor = id;
  }
  return WaitResult::kEvents;
}

void EventHub::PublishSpec(v1::GetSpecResponse spec) {
  auto published = std::make_shared<const v1::GetSpecResponse>(std::move(spec));
  PiMutexLock lock(&mu_);
  spec_ = std::move(published);
}

std::shared_ptr<const v1::GetSpecResponse> EventHub::Spec() const {
  PiMutexLock lock(&mu_);
  return spec_ != nullptr ? spec_ : std::make_shared<const v1::GetSpecResponse>();
}

}  // namespace hacluster::agent
