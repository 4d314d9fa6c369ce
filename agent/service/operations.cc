#include "agent/service/operations.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/core/clock.h"

namespace hacluster::agent {
namespace {
constexpr size_t kKeepFinished = 256;
}  // namespace

Operations::Operations() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Operations::~Operations() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<uint64_t> Operations::Submit(OperationRequest request) {
  uint64_t id;
  {
    PiMutexLock lock(&mu_);
    if (closed_ || fd_ < 0) return absl::UnavailableError("the agent is stopping");
    id = next_id_++;
    request.id = id;
    v1::OperationResponse pending;
    pending.set_operation_id(id);
    pending.set_state(v1::OPERATION_STATE_PENDING);
    pending.set_message("submitted");
    answers_[id] = std::move(pending);
    submitted_.push_back(std::move(request));
  }
  uint64_t one = 1;
  (void)!write(fd_, &one, sizeof(one));
  return id;
}

std::vector<OperationRequest> Operations::Take() {
  uint64_t count;
  (void)!read(fd_, &count, sizeof(count));
  PiMutexLock lock(&mu_);
  return std::exchange(submitted_, {});
}

void Operations::Update(uint64_t id, v1::OperationResponse response) {
  PiMutexLock lock(&mu_);
  auto it = answers_.find(id);
  if (it == answers_.end()) return;
  response.set_operation_id(id);
  const bool was_pending = it->second.state() == v1::OPERATION_STATE_PENDING;
  it->second = std::move(response);
  changed_.SignalAll();
  if (was_pending && it->second.state() != v1::OPERATION_STATE_PENDING) {
    finished_.push_back(id);
    while (finished_.size() > kKeepFinished) {
      answers_.erase(finished_.front());
      finished_.pop_front();
    }
  }
}

std::optional<v1::OperationResponse> Operations::Wait(uint64_t id, absl::Duration timeout) {
  PiMutexLock lock(&mu_);
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = answers_.find(id);
    return closed_ || it == answers_.end() ||
           it->second.state() != v1::OPERATION_STATE_PENDING;
  };
  const MonoTime deadline = MonotonicNow() + timeout;
  // Bounded: each wait ends by the deadline, and the loop with it.
  for (int i = 0; i < 100000 && !done(); ++i) {
    const absl::Duration left = deadline - MonotonicNow();
    if (left <= absl::ZeroDuration()) break;
    changed_.WaitWithTimeout(&mu_, left);
  }
  auto it = answers_.find(id);
  if (it == answers_.end()) return std::nullopt;
  v1::OperationResponse r = it->second;
  if (r.state() == v1::OPERATION_STATE_PENDING && timeout > absl::ZeroDuration()) {
    r.set_state(v1::OPERATION_STATE_TIMED_OUT);
    r.set_message(absl::StrCat("timed out after ", absl::FormatDuration(timeout), ": ",
                               r.message()));
  }
  return r;
}

void Operations::Close() {
  PiMutexLock lock(&mu_);
  closed_ = true;
  changed_.SignalAll();
}

}  // namespace hacluster::agent
