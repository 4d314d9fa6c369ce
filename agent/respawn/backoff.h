// When a respawned program (spec `respawn`, ha.cf's `respawn USER CMD`) is
// started again after it ended, by Heartbeat's rules and a crash-loop
// back-off:
// - exit status 100 means "do not restart me": it is not restarted (until
//   the agent restarts or a reload adds the entry again);
// - a program that ran at least `stable_after` is restarted at once, and
//   its back-off starts over;
// - one that ended sooner is in a crash loop: the first quick end restarts
//   at once, each further one in a row waits twice as long as the last
//   (first_delay, 2 x first_delay, ...), at most max_delay.
// Each decision carries one line for the log saying why.
//
// Pure: no clock, no I/O. Thread-safety: none (one owner).
#ifndef HACLUSTER_AGENT_RESPAWN_BACKOFF_H_
#define HACLUSTER_AGENT_RESPAWN_BACKOFF_H_

#include <string>

#include "absl/time/time.h"

namespace hacluster::agent {

struct BackoffOptions {
  absl::Duration stable_after = absl::Seconds(30);
  absl::Duration first_delay = absl::Milliseconds(250);
  absl::Duration max_delay = absl::Seconds(60);
};

// How a program ended: its exit status, or the signal that killed it.
struct ProgramEnd {
  int exit_status = 0;
  int signal = 0;  // non-zero: killed by this signal (exit_status unused)
};

// "exit status 3", "killed by signal 9 (Killed)".
std::string DescribeEnd(const ProgramEnd& end);

// The exit status by which a program asks not to be restarted (Heartbeat's).
inline constexpr int kDoNotRestartStatus = 100;

struct RespawnDecision {
  bool restart = false;
  absl::Duration delay = absl::ZeroDuration();  // from the end
  std::string why;  // e.g. "exit status 1 after 120ms (3rd quick end in a row): restarting in 500ms"
};

class RespawnBackoff {
 public:
  explicit RespawnBackoff(BackoffOptions options = {}) : options_(options) {}
  // The program ended as `end` after running for `ran`.
  RespawnDecision OnEnd(const ProgramEnd& end, absl::Duration ran);
  // Quick ends in a row so far.
  int quick_ends() const { return quick_ends_; }

 private:
  BackoffOptions options_;
  int quick_ends_ = 0;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_RESPAWN_BACKOFF_H_
