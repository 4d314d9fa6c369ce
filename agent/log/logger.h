// The agent's log: one line per event, as operators know them from
// Heartbeat's ha-log, written to any of stderr, a log file and syslog (with
// the facility from spec.logging). Debug lines go to the debug file only.
//
// Line format (stderr and files):
//   2026/11/22_10:15:02.118 ha-agent[4711]: WARN: node node02 dead: ...
// Syslog gets the message with the matching priority (ident "ha-agent").
// When stderr is systemd's journal (JOURNAL_STREAM names it, as systemd
// sets it for a unit's stderr), lines meant for stderr go to the journal
// through its native protocol instead: PRIORITY (so `journalctl -p
// warning` shows node deaths), SYSLOG_IDENTIFIER, and the fields of the
// line (NODE, GROUP, LINK, RESOURCE) that the caller gave.
//
// Thread-safety: Log() and Reopen() may be called from any thread; lines are
// written whole, in the order the calls take the internal lock.
#ifndef HACLUSTER_AGENT_LOG_LOGGER_H_
#define HACLUSTER_AGENT_LOG_LOGGER_H_

#include <stdio.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/core/pi_mutex.h"
#include "absl/time/time.h"

namespace hacluster::agent {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Journal fields of one line; empty ones are left out.
struct LogFields {
  absl::string_view node;
  absl::string_view group;
  absl::string_view link;
  absl::string_view resource;
};

struct LogOptions {
  bool to_stderr = true;
  std::string file;             // appended to; empty = none
  std::string syslog_facility;  // "daemon", "local0".."local7", ...; empty = no syslog
  std::string debug_file;       // debug and all other lines; empty = none
  std::string ident = "ha-agent";
};

class Logger {
 public:
  // Opens the files (created 0640 if missing) and syslog. An error names the
  // file and the OS reason, or the unknown facility.
  static absl::StatusOr<std::unique_ptr<Logger>> Create(const LogOptions& options);
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  void Log(LogLevel level, absl::string_view message, const LogFields& fields = {});
  void Debug(absl::string_view m) { Log(LogLevel::kDebug, m); }
  void Info(absl::string_view m) { Log(LogLevel::kInfo, m); }
  void Warn(absl::string_view m) { Log(LogLevel::kWarning, m); }
  void Error(absl::string_view m) { Log(LogLevel::kError, m); }

  // Re-opens the files (after logrotate moved them, or on SIGHUP with new
  // options). On error the old destinations stay in use.
  absl::Status Reopen(const LogOptions& options);

  // The line as written to stderr and files, without the newline.
  static std::string FormatLine(absl::Time when, int pid, absl::string_view ident,
                                LogLevel level, absl::string_view message);

  // Whether stderr is the journal (JOURNAL_STREAM matches fd 2).
  bool journal() const { return journal_; }

 private:
  Logger() = default;
  absl::Status OpenLocked(const LogOptions& options) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Priority inheritance: the loop never waits long behind another
  // thread's line.
  PiMutex mu_;
  LogOptions options_ ABSL_GUARDED_BY(mu_);
  FILE* file_ ABSL_GUARDED_BY(mu_) = nullptr;
  FILE* debug_file_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool syslog_open_ ABSL_GUARDED_BY(mu_) = false;
  // Set once at Create.
  bool journal_ = false;
};

// The syslog facility code for a name ("local0" -> LOG_LOCAL0), or -1.
int SyslogFacilityCode(absl::string_view name);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_LOG_LOGGER_H_
