#include "agent/system/watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace hacluster::agent {

absl::StatusOr<std::unique_ptr<Watchdog>> Watchdog::Open(const std::string& device,
                                                         absl::Duration deadtime) {
  // Non-blocking: a stand-in FIFO without a reader is an error (ENXIO), not
  // a hang, and a keep-alive never blocks the loop.
  const int fd = open(device.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        "watchdog_device ", device, ": cannot open: ", strerror(err),
        err == ENOENT ? " (is the watchdog driver loaded? e.g. modprobe softdog)" : "",
        err == EBUSY ? " (another process, such as the watchdog daemon, has it open)" : ""));
  }
  std::unique_ptr<Watchdog> w(new Watchdog(device, fd));
  watchdog_info info{};
  if (ioctl(fd, WDIOC_GETSUPPORT, &info) != 0) {
    w->identity_ = absl::StrCat("answers no watchdog ioctl (", strerror(errno),
                                "): kept alive by writes, timeout unknown");
    return w;
  }
  w->identity_ = std::string(reinterpret_cast<const char*>(info.identity),
                             strnlen(reinterpret_cast<const char*>(info.identity),
                                     sizeof(info.identity)));
  w->is_watchdog_ = true;
  w->magic_close_ = (info.options & WDIOF_MAGICCLOSE) != 0;
  w->settable_timeout_ = (info.options & WDIOF_SETTIMEOUT) != 0;
  if (w->settable_timeout_ && !w->SetTimeout(deadtime)) {
    const int err = errno;
    // The magic close: a device we give up on must not reset the node.
    (void)!write(fd, "V", 1);
    close(fd);
    w->fd_ = -1;
    return absl::FailedPreconditionError(
        absl::StrCat("watchdog_device ", device, ": cannot set its timeout: ", strerror(err)));
  }
  if (!w->settable_timeout_) {
    int seconds = 0;
    if (ioctl(fd, WDIOC_GETTIMEOUT, &seconds) == 0 && seconds > 0) {
      w->timeout_ = absl::Seconds(seconds);
    }
  }
  return w;
}

bool Watchdog::SetTimeout(absl::Duration deadtime) {
  if (fd_ < 0 || !settable_timeout_) return false;
  // Deadtime rounded up to whole seconds: the reset comes after the peers
  // have declared this node dead, never before.
  int seconds = static_cast<int>(std::max<double>(1, std::ceil(absl::ToDoubleSeconds(deadtime))));
  if (ioctl(fd_, WDIOC_SETTIMEOUT, &seconds) != 0) return false;
  timeout_ = absl::Seconds(seconds);
  return true;
}

Watchdog::~Watchdog() {
  if (fd_ >= 0) close(fd_);
}

absl::Duration Watchdog::KeepAliveInterval() const {
  if (timeout_ <= absl::ZeroDuration()) return absl::Seconds(1);
  return std::min(timeout_ / 4, absl::Seconds(1));
}

absl::Status Watchdog::KeepAlive() {
  if (fd_ < 0) return absl::FailedPreconditionError("the watchdog is closed");
  if (write(fd_, "k", 1) != 1) {
    return absl::UnavailableError(absl::StrCat("watchdog_device ", device_,
                                               ": keep-alive not written: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Watchdog::Disarm() {
  if (fd_ < 0) return absl::OkStatus();
  const bool written = write(fd_, "V", 1) == 1;
  const int err = errno;
  close(fd_);
  fd_ = -1;
  if (!written) {
    return absl::UnavailableError(absl::StrCat("watchdog_device ", device_,
                                               ": magic close not written: ", strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace hacluster::agent
