#include "agent/log/logger.h"

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
