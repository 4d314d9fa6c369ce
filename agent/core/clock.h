// The monotonic clock every timing decision of the agent reads.
//
// Failure detection must never follow the wall clock (a clock jump must not
// fail anything over), and its logic must be testable without sleeping: the
// pure parts (membership, connectivity, rate limits) take a MonoTime from a
// Clock that the agent gives them, and tests give them a FakeClock.
//
// Thread-safety: SystemClock is safe from any thread. FakeClock is not
// synchronised: drive it from the thread that runs the logic under test.
#ifndef HACLUSTER_AGENT_CORE_CLOCK_H_
#define HACLUSTER_AGENT_CORE_CLOCK_H_

#include "absl/time/time.h"

namespace hacluster::agent {

// A point on a monotonic time line: the time since an arbitrary origin
// (CLOCK_MONOTONIC's for SystemClock). Only differences are meaningful.
using MonoTime = absl::Duration;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;
};

// CLOCK_MONOTONIC.
class SystemClock final : public Clock {
 public:
  MonoTime Now() const override;
};

// A clock that moves only when told to. Starts at `start`.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(MonoTime start = absl::Seconds(1000)) : now_(start) {}
  MonoTime Now() const override { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  void Set(MonoTime t) { now_ = t; }

 private:
  MonoTime now_;
};

// CLOCK_MONOTONIC read directly, for code that is I/O anyway.
MonoTime MonotonicNow();

// The wall-clock time that corresponds to monotonic time `t`, as seen now
// (for display only: events and status show wall-clock times).
absl::Time WallTimeOf(MonoTime t);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_CORE_CLOCK_H_
