#include "tests/harness/wait.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "agent/core/clock.h"

namespace hacluster::harness {

bool WaitFor(absl::FunctionRef<bool()> cond, absl::Duration deadline,
             absl::Duration poll) {
  poll = std::max(poll, absl::Milliseconds(1));
  const agent::MonoTime end = agent::MonotonicNow() + deadline;
  while (true) {
    if (cond()) return true;
    const absl::Duration left = end - agent::MonotonicNow();
    if (left <= absl::ZeroDuration()) return false;
    absl::SleepFor(std::min(poll, left));
  }
}

}  // namespace hacluster::harness
