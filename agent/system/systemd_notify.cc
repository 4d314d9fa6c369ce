#include "agent/system/systemd_notify.h"

#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace hacluster::agent {
namespace {

// A STATUS= value on one line.
std::string OneLine(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"\n", " "}});
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* socket = getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0) {
    watchdog_timeout_ = absl::Microseconds(usec);
  }
}

void SystemdNotifier::Send(const std::string& message) {
  if (!enabled_) return;
  sd_notify(/*unset_environment=*/0, message.c_str());
}

void SystemdNotifier::Ready(absl::string_view status) {
  Send(absl::StrCat("READY=1\nSTATUS=", OneLine(status)));
}

void SystemdNotifier::Reloading(absl::string_view status) {
  // MONOTONIC_USEC lets systemd 253 and later tell this reload from an
  // earlier one; 252 ignores it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  Send(absl::StrCat("RELOADING=1\nMONOTONIC_USEC=", usec, "\nSTATUS=", OneLine(status)));
}

void SystemdNotifier::Stopping(absl::string_view status) {
  Send(absl::StrCat("STOPPING=1\nSTATUS=", OneLine(status)));
}

void SystemdNotifier::Status(absl::string_view status) {
  Send(absl::StrCat("STATUS=", OneLine(status)));
}

void SystemdNotifier::KeepAlive() {
  if (watchdog_timeout_ > absl::ZeroDuration()) Send("WATCHDOG=1");
}

}  // namespace hacluster::agent
