// Bounded polling for tests: wait until a condition holds, or give up.
//
// Tests that start real processes cannot know when a peer has noticed
// something; they poll for the state they expect instead of sleeping a fixed
// time. WaitFor checks the condition at once, then every `poll` until it holds
// or `deadline` has passed, and checks it one last time at the deadline, so a
// condition that becomes true within the deadline is always seen.
//
// Thread-safety: WaitFor is reentrant; `cond` runs on the calling thread.
// It reads the monotonic clock and sleeps: it is for tests and harness code,
// never for the agent's logic.
#ifndef HACLUSTER_TESTS_HARNESS_WAIT_H_
#define HACLUSTER_TESTS_HARNESS_WAIT_H_

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace hacluster::harness {

// Returns true as soon as `cond()` returns true; false when it is still false
// once `deadline` (measured from the call) has passed. `cond` is called at
// most deadline / poll + 2 times. A `poll` below 1 ms is taken as 1 ms.
bool WaitFor(absl::FunctionRef<bool()> cond, absl::Duration deadline,
             absl::Duration poll = absl::Milliseconds(10));

}  // namespace hacluster::harness

#endif  // HACLUSTER_TESTS_HARNESS_WAIT_H_
