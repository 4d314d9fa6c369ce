#include "agent/log/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

#include <sys/stat.h>
#include <syslog.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TmpPath(const std::string& name) {
  return std::string(getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(LoggerTest, FormatLineLooksLikeHaLog) {
  absl::Time t = absl::FromUnixMillis(1700000000123);
  std::string line = Logger::FormatLine(t, 4711, "ha-agent", LogLevel::kWarning, "node x dead");
  EXPECT_TRUE(absl::EndsWith(line, ".123 ha-agent[4711]: WARN: node x dead")) << line;
  EXPECT_EQ(line[4], '/');
  EXPECT_EQ(line[10], '_');
}

TEST(LoggerTest, FileGetsInfoButNotDebugAndDebugFileGetsBoth) {
  LogOptions o;
  o.to_stderr = false;
  o.file = TmpPath("ha-log");
  o.debug_file = TmpPath("ha-debug");
  auto logger = Logger::Create(o);
  ASSERT_TRUE(logger.ok()) << logger.status();
  (*logger)->Info("link node02:eth1 up");
  (*logger)->Debug("packet detail");
  std::string log = ReadAll(o.file);
  std::string debug = ReadAll(o.debug_file);
  EXPECT_TRUE(absl::StrContains(log, "info: link node02:eth1 up\n"));
  EXPECT_FALSE(absl::StrContains(log, "packet detail"));
  EXPECT_TRUE(absl::StrContains(debug, "info: link node02:eth1 up\n"));
  EXPECT_TRUE(absl::StrContains(debug, "debug: packet detail\n"));
  struct stat st;
  ASSERT_EQ(stat(o.file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(LoggerTest, UnopenableFileIsNamedInTheError) {
  LogOptions o;
  o.file = TmpPath("no-such-dir/ha-log");
  auto logger = Logger::Create(o);
  ASSERT_FALSE(logger.ok());
  EXPECT_TRUE(absl::StrContains(logger.status().message(), o.file)) << logger.status();
  EXPECT_TRUE(absl::StrContains(logger.status().message(), "No such file")) << logger.status();
}

TEST(LoggerTest, UnknownFacilityIsRefused) {
  LogOptions o;
  o.syslog_facility = "local9";
  auto logger = Logger::Create(o);
  ASSERT_FALSE(logger.ok());
  EXPECT_TRUE(absl::StrContains(logger.status().message(), "local9"));
  EXPECT_EQ(SyslogFacilityCode("local0"), LOG_LOCAL0);
  EXPECT_EQ(SyslogFacilityCode("daemon"), LOG_DAEMON);
}

TEST(LoggerTest, ReopenAfterRotationWritesTheNewFile) {
  LogOptions o;
  o.to_stderr = false;
  o.file = TmpPath("rotated-log");
  auto logger = Logger::Create(o);
  ASSERT_TRUE(logger.ok());
  (*logger)->Info("before");
  ASSERT_EQ(rename(o.file.c_str(), (o.file + ".1").c_str()), 0);
  ASSERT_TRUE((*logger)->Reopen(o).ok());
  (*logger)->Info("after");
  EXPECT_TRUE(absl::StrContains(ReadAll(o.file + ".1"), "before"));
  EXPECT_FALSE(absl::StrContains(ReadAll(o.file), "before"));
  EXPECT_TRUE(absl::StrContains(ReadAll(o.file), "after"));
}

TEST(LoggerTest, FailedReopenKeepsTheOldFile) {
  LogOptions o;
  o.to_stderr = false;
  o.file = TmpPath("kept-log");
  auto logger = Logger::Create(o);
  ASSERT_TRUE(logger.ok());
  LogOptions bad = o;
  bad.file = TmpPath("missing-dir/x");
  EXPECT_FALSE((*logger)->Reopen(bad).ok());
  (*logger)->Info("still here");
  EXPECT_TRUE(absl::StrContains(ReadAll(o.file), "still here"));
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

// In a child process with a private mount namespace, a datagram socket of
// the test's stands in for journald's at /run/systemd/journal/socket, and
// stderr is a file that JOURNAL_STREAM names (as systemd sets it) or not.
// Returns what the "journal" received ("" if nothing) and what stderr got,
// separated by "\n--stderr--\n"; or an error line starting with "ERROR".
std::string LogThroughJournal(bool stderr_is_journal) {
  const std::string out = TmpPath(stderr_is_journal ? "journal-out" : "journal-out-no");
  pid_t pid = fork();
  if (pid == 0) {
    FILE* report = fopen(out.c_str(), "w");
    auto fail = [&](const char* what) {
      fprintf(report, "ERROR %s: %s", what, strerror(errno));
      fclose(report);
      _exit(1);
    };
    if (unshare(CLONE_NEWNS) != 0) fail("unshare");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail("mount private");
    if (mount("tmpfs", "/run/systemd", "tmpfs", 0, "mode=0755") != 0) fail("mount tmpfs");
    if (mkdir("/run/systemd/journal", 0755) != 0) fail("mkdir");
    int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, "/run/systemd/journal/socket");
    if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) fail("bind");
    const std::string err_path = out + ".stderr";
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err < 0 || dup2(err, 2) < 0) fail("stderr");
    struct stat st {};
    fstat(2, &st);
    const std::string stream = stderr_is_journal
                                   ? absl::StrCat(st.st_dev, ":", st.st_ino)
                                   : absl::StrCat(st.st_dev, ":", st.st_ino + 1);
    setenv("JOURNAL_STREAM", stream.c_str(), 1);
    auto logger = Logger::Create(LogOptions{});
    if (!logger.ok()) fail("logger");
    (*logger)->Log(LogLevel::kWarning, "node node02 dead: no heartbeat for 2s",
                   {.node = "node02", .group = "web", .link = "eth1", .resource = ""});
    char buf[4096];
    ssize_t n = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
    fprintf(report, "%s\n--stderr--\n", n > 0 ? std::string(buf, n).c_str() : "");
    fflush(stderr);
    FILE* e = fopen(err_path.c_str(), "r");
    while (e != nullptr && fgets(buf, sizeof buf, e) != nullptr) fputs(buf, report);
    fclose(report);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LoggerJournalTest, LinesGoToTheJournalWithPriorityAndFieldsWhenStderrIsIt) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  const std::string got = LogThroughJournal(true);
  if (absl::StartsWith(got, "ERROR unshare")) GTEST_SKIP() << got;
  ASSERT_FALSE(absl::StartsWith(got, "ERROR")) << got;
  const std::string journal = got.substr(0, got.find("\n--stderr--\n"));
  const std::string err = got.substr(got.find("\n--stderr--\n") + 12);
  std::vector<std::string> lines = absl::StrSplit(journal, '\n', absl::SkipEmpty());
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "GROUP=web", "LINK=eth1", "MESSAGE=node node02 dead: no heartbeat for 2s",
                       "NODE=node02", "PRIORITY=4", "SYSLOG_IDENTIFIER=ha-agent"}))
      << journal;
  // Not twice: stderr (the journal's stream) got nothing.
  EXPECT_EQ(err, "");
}

TEST(LoggerJournalTest, StderrThatIsNotTheJournalGetsTheLine) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a private mount namespace";
  const std::string got = LogThroughJournal(false);
  if (absl::StartsWith(got, "ERROR unshare")) GTEST_SKIP() << got;
  ASSERT_FALSE(absl::StartsWith(got, "ERROR")) << got;
  const std::string journal = got.substr(0, got.find("\n--stderr--\n"));
  const std::string err = got.substr(got.find("\n--stderr--\n") + 12);
  EXPECT_EQ(journal, "");
  EXPECT_TRUE(absl::StrContains(err, "WARN: node node02 dead: no heartbeat for 2s")) << err;
}

}  // namespace
}  // namespace hacluster::agent
