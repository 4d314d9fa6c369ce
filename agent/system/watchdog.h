// The hardware (or kernel soft) watchdog of the spec's `watchdog_device`
// (ha.cf's `watchdog /dev/watchdog`): while the agent runs it keeps the
// device alive; if the agent's loop hangs, or the agent dies without a
// clean stop, the keep-alives stop and the kernel resets the node once the
// device's timeout passes. Peers have declared such a node dead after
// deadtime and taken its groups, so the reset makes sure it no longer
// holds them.
//
// Linux watchdog API (linux/watchdog.h): the device is opened write-only;
// WDIOC_GETSUPPORT tells what it can do; with WDIOF_SETTIMEOUT the timeout
// is set to deadtime rounded up to whole seconds (at least 1 s); every
// write is a keep-alive; writing 'V' before close (the "magic close")
// disarms it, done only by Disarm on a clean stop. A device that answers
// no watchdog ioctl (a stand-in, such as a FIFO read by a test) is kept
// alive by writes alone and its timeout is whatever it has.
//
// Thread-safety: one thread (the agent's loop) calls everything.
#ifndef HACLUSTER_AGENT_SYSTEM_WATCHDOG_H_
#define HACLUSTER_AGENT_SYSTEM_WATCHDOG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace hacluster::agent {

class Watchdog {
 public:
  // Opens `device` and sets its timeout from `deadtime` where the device
  // can. An error names the device and the OS reason.
  static absl::StatusOr<std::unique_ptr<Watchdog>> Open(const std::string& device,
                                                        absl::Duration deadtime);
  // Closes without the magic close: a real watchdog stays armed.
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // One keep-alive (a write). An error says why it could not be written.
  absl::Status KeepAlive();
  // Sets the timeout from `deadtime` again (a reload changed it), where the
  // device can; false when it cannot (the timeout stays).
  bool SetTimeout(absl::Duration deadtime);
  // The magic close: writes 'V' and closes. Only on a clean stop.
  absl::Status Disarm();

  const std::string& device() const { return device_; }
  // The device's timeout: as set or read back; zero when it cannot say.
  absl::Duration timeout() const { return timeout_; }
  // The device's identity (WDIOC_GETSUPPORT), or why there is none.
  const std::string& identity() const { return identity_; }
  // How often to send a keep-alive: a quarter of the timeout, at most 1 s
  // (1 s when the timeout is unknown).
  absl::Duration KeepAliveInterval() const;
  // What the device said it can do (WDIOC_GETSUPPORT): whether it answered
  // at all (a watchdog driver), takes the magic close (without it any
  // close, a crash's included, stops it), and lets its timeout be set.
  bool is_watchdog() const { return is_watchdog_; }
  bool magic_close() const { return magic_close_; }
  bool settable_timeout() const { return settable_timeout_; }

 private:
  Watchdog(std::string device, int fd) : device_(std::move(device)), fd_(fd) {}
  std::string device_;
  int fd_ = -1;
  absl::Duration timeout_ = absl::ZeroDuration();
  std::string identity_;
  bool is_watchdog_ = false;
  bool magic_close_ = false;
  bool settable_timeout_ = false;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SYSTEM_WATCHDOG_H_
