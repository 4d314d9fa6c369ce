#include "agent/core/clock.h"

#include <time.h>

#include "absl/time/clock.h"

namespace hacluster::agent {

MonoTime MonotonicNow() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

MonoTime SystemClock::Now() const { return MonotonicNow(); }

absl::Time WallTimeOf(MonoTime t) { return absl::Now() - (MonotonicNow() - t); }

}  // namespace hacluster::agent
