// What the agent's loop waits on: file descriptors watched by tag, the
// signals that stop and reload it (SIGTERM, SIGINT, SIGHUP through a
// signalfd), and a deadline on an injected Clock.
//
// Every fd is in the loud set; all but those watched "loud only" are also
// in the quiet set, which the loop waits on when it is due to wake soon
// anyway (media that date their frames are loud only: their frames wait in
// the socket for that wake). The deadline is turned into a timeout by the
// clock, so a FakeClock that has passed it makes Wait return at once: the
// loop's decisions are tested without sleeping. Where the kernel lacks
// epoll_pwait2 (before 5.11) or a seccomp filter refuses it, a timerfd
// armed with the same timeout takes its place.
//
// Thread-safety: one thread (the loop) calls everything. The signals must
// be blocked in every thread (BlockSignals in agent.h) before Create.
#ifndef HACLUSTER_AGENT_NODE_EVENT_LOOP_H_
#define HACLUSTER_AGENT_NODE_EVENT_LOOP_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/core/clock.h"

namespace hacluster::agent {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads
// it starts later), so that only the loop's signalfd sees them, and ignores
// SIGPIPE.
void BlockSignals();

class EventLoop {
 public:
  // Tags at or above this are the loop's own; callers use smaller ones.
  static constexpr uint64_t kFirstOwnTag = uint64_t{1} << 40;
  // Returned by Wait when a signal is pending: TakeSignals reads it.
  static constexpr uint64_t kSignalTag = kFirstOwnTag + 1;

  // `clock` is not owned and must outlive the loop. With
  // `timerfd_deadline`, the timerfd is used from the start (for tests of
  // that path).
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(const Clock& clock,
                                                           bool timerfd_deadline = false);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for input, reported as `tag` (< kFirstOwnTag); in the loud
  // set only when `loud_only`. An error names the OS reason.
  absl::Status Watch(int fd, uint64_t tag, bool loud_only = false);
  // Stops watching `fd` (a closed fd has left the sets already).
  void Unwatch(int fd);

  // Waits until an fd is ready or the clock reaches `deadline`
  // (InfiniteDuration: no deadline); with `poll_only` not at all. `quiet`
  // waits on the quiet set. Fills `tags` with up to `max` ready tags and
  // returns how many (0: the deadline passed); EINTR returns 0.
  absl::StatusOr<int> Wait(MonoTime deadline, bool poll_only, bool quiet, uint64_t* tags,
                           int max);

  // The signals received since the last call, in order.
  std::vector<int> TakeSignals();

  // Whether the timerfd stands in for epoll_pwait2's timeout.
  bool uses_timerfd() const { return timer_fd_ >= 0; }

 private:
  explicit EventLoop(const Clock& clock) : clock_(clock) {}
  absl::Status UseTimerFd();
  void ArmTimer(absl::Duration left);

  const Clock& clock_;
  int loud_fd_ = -1;
  int quiet_fd_ = -1;
  int signal_fd_ = -1;
  int timer_fd_ = -1;
  bool timer_armed_ = false;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_EVENT_LOOP_H_
