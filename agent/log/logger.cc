#include "agent/log/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
// The journal line names the agent's event, not this file and line.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hacluster::agent {
namespace {

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "info";
}

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return LOG_DEBUG;
    case LogLevel::kInfo:
      return LOG_INFO;
    case LogLevel::kWarning:
      return LOG_WARNING;
    case LogLevel::kError:
      return LOG_ERR;
  }
  return LOG_INFO;
}

absl::StatusOr<FILE*> OpenAppend(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open log file ", path, ": ", strerror(errno)));
  }
  FILE* f = fdopen(fd, "a");
  if (f == nullptr) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot open log file ", path, ": ", strerror(errno)));
  }
  setvbuf(f, nullptr, _IOLBF, 0);
  return f;
}

// JOURNAL_STREAM is "DEVICE:INODE" of the stream systemd connected to the
// unit's stdout/stderr; stderr is the journal only while it is that file.
bool StderrIsJournal() {
  const char* stream = getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

// One line to the journal; false when it could not be sent.
bool SendToJournal(LogLevel level, absl::string_view ident, absl::string_view message,
                   const LogFields& fields) {
  std::string parts[7];
  int n = 0;
  parts[n++] = absl::StrCat("MESSAGE=", message);
  parts[n++] = absl::StrCat("PRIORITY=", SyslogPriority(level));
  parts[n++] = absl::StrCat("SYSLOG_IDENTIFIER=", ident);
  if (!fields.node.empty()) parts[n++] = absl::StrCat("NODE=", fields.node);
  if (!fields.group.empty()) parts[n++] = absl::StrCat("GROUP=", fields.group);
  if (!fields.link.empty()) parts[n++] = absl::StrCat("LINK=", fields.link);
  if (!fields.resource.empty()) parts[n++] = absl::StrCat("RESOURCE=", fields.resource);
  iovec iov[7];
  for (int i = 0; i < n; ++i) iov[i] = {parts[i].data(), parts[i].size()};
  return sd_journal_sendv(iov, n) >= 0;
}

}  // namespace

int SyslogFacilityCode(absl::string_view name) {
  static const std::pair<absl::string_view, int> kCodes[] = {
      {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
      {"daemon", LOG_DAEMON}, {"kern", LOG_KERN},         {"lpr", LOG_LPR},
      {"mail", LOG_MAIL},     {"news", LOG_NEWS},         {"syslog", LOG_SYSLOG},
      {"user", LOG_USER},     {"uucp", LOG_UUCP},         {"local0", LOG_LOCAL0},
      {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},     {"local3", LOG_LOCAL3},
      {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},     {"local6", LOG_LOCAL6},
      {"local7", LOG_LOCAL7},
  };
  for (const auto& [n, code] : kCodes) {
    if (n == name) return code;
  }
  return -1;
}

std::string Logger::FormatLine(absl::Time when, int pid, absl::string_view ident,
                               LogLevel level, absl::string_view message) {
  return absl::StrCat(absl::FormatTime("%Y/%m/%d_%H:%M:%E3S", when, absl::LocalTimeZone()), " ",
                      ident, "[", pid, "]: ", LevelName(level), ": ", message);
}

absl::StatusOr<std::unique_ptr<Logger>> Logger::Create(const LogOptions& options) {
  std::unique_ptr<Logger> logger(new Logger());
  logger->journal_ = StderrIsJournal();
  PiMutexLock lock(&logger->mu_);
  absl::Status s = logger->OpenLocked(options);
  if (!s.ok()) return s;
  return logger;
}

Logger::~Logger() {
  PiMutexLock lock(&mu_);
  CloseLocked();
}

absl::Status Logger::OpenLocked(const LogOptions& options) {
  int facility = -1;
  if (!options.syslog_facility.empty()) {
    facility = SyslogFacilityCode(options.syslog_facility);
    if (facility < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown syslog facility \"", options.syslog_facility, "\""));
    }
  }
  FILE* file = nullptr;
  FILE* debug_file = nullptr;
  if (!options.file.empty()) {
    auto f = OpenAppend(options.file);
    if (!f.ok()) return f.status();
    file = *f;
  }
  if (!options.debug_file.empty()) {
    auto f = OpenAppend(options.debug_file);
    if (!f.ok()) {
      if (file != nullptr) fclose(file);
      return f.status();
    }
    debug_file = *f;
  }
  CloseLocked();
  options_ = options;
  file_ = file;
  debug_file_ = debug_file;
  if (facility >= 0) {
    // openlog keeps the ident pointer: options_ outlives the connection.
    openlog(options_.ident.c_str(), LOG_PID | LOG_NDELAY, facility);
    syslog_open_ = true;
  }
  return absl::OkStatus();
}

void Logger::CloseLocked() {
  if (file_ != nullptr) fclose(file_);
  if (debug_file_ != nullptr) fclose(debug_file_);
  file_ = nullptr;
  debug_file_ = nullptr;
  if (syslog_open_) closelog();
  syslog_open_ = false;
}

absl::Status Logger::Reopen(const LogOptions& options) {
  PiMutexLock lock(&mu_);
  return OpenLocked(options);
}

void Logger::Log(LogLevel level, absl::string_view message, const LogFields& fields) {
  PiMutexLock lock(&mu_);
  std::string line =
      absl::StrCat(FormatLine(absl::Now(), getpid(), options_.ident, level, message), "\n");
  if (debug_file_ != nullptr) fputs(line.c_str(), debug_file_);
  if (level == LogLevel::kDebug) return;
  if (options_.to_stderr &&
      !(journal_ && SendToJournal(level, options_.ident, message, fields))) {
    fputs(line.c_str(), stderr);
  }
  if (file_ != nullptr) fputs(line.c_str(), file_);
  if (syslog_open_) {
    syslog(SyslogPriority(level), "%.*s", static_cast<int>(message.size()), message.data());
  }
}

}  // namespace hacluster::agent
