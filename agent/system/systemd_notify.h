// The agent's and the controller's side of systemd's service protocol
// (Type=notify units), through libsystemd's sd_notify: READY=1 once the
// service is up, RELOADING=1 then READY=1 around a re-read of the
// configuration, STOPPING=1 at shutdown, STATUS= lines, and WATCHDOG=1
// keep-alives when the unit has WatchdogSec= (sd_watchdog_enabled).
// Without NOTIFY_SOCKET in the environment (not started by systemd) every
// call does nothing. The environment is left as it is: children get
// their own, built environments.
//
// Thread-safety: the calls may come from any thread, but the unit's
// NotifyAccess=main wants them from the main process, which every thread
// of it is.
#ifndef HACLUSTER_AGENT_SYSTEM_SYSTEMD_NOTIFY_H_
#define HACLUSTER_AGENT_SYSTEM_SYSTEMD_NOTIFY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hacluster::agent {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and the watchdog settings (WATCHDOG_USEC,
  // WATCHDOG_PID) from the environment.
  SystemdNotifier();

  // Started by systemd with a notification socket.
  bool enabled() const { return enabled_; }
  // The unit's watchdog timeout (WatchdogSec); zero when it has none.
  absl::Duration watchdog_timeout() const { return watchdog_timeout_; }
  // How often to send WATCHDOG=1: a third of the timeout; zero: never.
  absl::Duration KeepAliveInterval() const { return watchdog_timeout_ / 3; }

  void Ready(absl::string_view status);
  void Reloading(absl::string_view status);
  void Stopping(absl::string_view status);
  void Status(absl::string_view status);
  void KeepAlive();

 private:
  void Send(const std::string& message);
  bool enabled_ = false;
  absl::Duration watchdog_timeout_ = absl::ZeroDuration();
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SYSTEM_SYSTEMD_NOTIFY_H_
