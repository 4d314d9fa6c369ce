#include "agent/node/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace hacluster::agent {
namespace {

constexpr uint64_t kTimerTag = EventLoop::kFirstOwnTag;

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

}  // namespace

void BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const Clock& clock,
                                                             bool timerfd_deadline) {
  std::unique_ptr<EventLoop> loop(new EventLoop(clock));
  loop->loud_fd_ = epoll_create1(EPOLL_CLOEXEC);
  loop->quiet_fd_ = epoll_create1(EPOLL_CLOEXEC);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  loop->signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (loop->loud_fd_ < 0 || loop->quiet_fd_ < 0 || loop->signal_fd_ < 0) {
    return Errno("cannot set up the event loop");
  }
  // Signals wake the loop in either set.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kSignalTag;
  if (epoll_ctl(loop->loud_fd_, EPOLL_CTL_ADD, loop->signal_fd_, &ev) != 0 ||
      epoll_ctl(loop->quiet_fd_, EPOLL_CTL_ADD, loop->signal_fd_, &ev) != 0) {
    return Errno("epoll_ctl");
  }
  if (timerfd_deadline) {
    absl::Status s = loop->UseTimerFd();
    if (!s.ok()) return s;
  }
  return loop;
}

EventLoop::~EventLoop() {
  for (int fd : {loud_fd_, quiet_fd_, signal_fd_, timer_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::Status EventLoop::Watch(int fd, uint64_t tag, bool loud_only) {
  if (tag >= kFirstOwnTag) return absl::InvalidArgumentError("tag out of range");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(loud_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Errno("epoll_ctl");
  if (!loud_only && epoll_ctl(quiet_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    absl::Status s = Errno("epoll_ctl");
    epoll_ctl(loud_fd_, EPOLL_CTL_DEL, fd, nullptr);
    return s;
  }
  return absl::OkStatus();
}

void EventLoop::Unwatch(int fd) {
  epoll_ctl(loud_fd_, EPOLL_CTL_DEL, fd, nullptr);
  epoll_ctl(quiet_fd_, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT for loud-only fds
}

absl::Status EventLoop::UseTimerFd() {
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) return Errno("cannot create a timerfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerTag;
  if (epoll_ctl(loud_fd_, EPOLL_CTL_ADD, timer_fd_, &ev) != 0 ||
      epoll_ctl(quiet_fd_, EPOLL_CTL_ADD, timer_fd_, &ev) != 0) {
    return Errno("epoll_ctl");
  }
  return absl::OkStatus();
}

void EventLoop::ArmTimer(absl::Duration left) {
  itimerspec spec{};
  if (left != absl::InfiniteDuration()) {
    // A zero it_value would disarm the timer.
    spec.it_value = absl::ToTimespec(std::max(left, absl::Nanoseconds(1)));
  }
  timer_armed_ = left != absl::InfiniteDuration();
  timerfd_settime(timer_fd_, 0, &spec, nullptr);
}

absl::StatusOr<int> EventLoop::Wait(MonoTime deadline, bool poll_only, bool quiet,
                                    uint64_t* tags, int max) {
  const absl::Duration left =
      poll_only ? absl::ZeroDuration() : std::max(deadline - clock_.Now(), absl::ZeroDuration());
  const int epoll_fd = quiet ? quiet_fd_ : loud_fd_;
  constexpr int kMaxReady = 32;
  epoll_event ready[kMaxReady];
  max = std::min(max, kMaxReady);
  int n = -1;
  if (timer_fd_ < 0) {
    timespec timeout = absl::ToTimespec(left);
    n = epoll_pwait2(epoll_fd, ready, max, left == absl::InfiniteDuration() ? nullptr : &timeout,
                     nullptr);
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
      absl::Status s = UseTimerFd();
      if (!s.ok()) return s;
    }
  }
  if (timer_fd_ >= 0) {
    // A timer left from an earlier wait would only wake the loop once.
    if (left > absl::ZeroDuration() && (left != absl::InfiniteDuration() || timer_armed_)) {
      ArmTimer(left);
    }
    n = epoll_wait(epoll_fd, ready, max, left > absl::ZeroDuration() ? -1 : 0);
  }
  if (n < 0) {
    if (errno == EINTR) return 0;
    return Errno("epoll_wait");
  }
  int out = 0;
  for (int i = 0; i < n; ++i) {
    if (ready[i].data.u64 == kTimerTag) {
      uint64_t expirations;
      (void)!read(timer_fd_, &expirations, sizeof(expirations));
      timer_armed_ = false;
      continue;
    }
    tags[out++] = ready[i].data.u64;
  }
  return out;
}

std::vector<int> EventLoop::TakeSignals() {
  std::vector<int> signals;
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    signals.push_back(static_cast<int>(info.ssi_signo));
  }
  return signals;
}

}  // namespace hacluster::agent
