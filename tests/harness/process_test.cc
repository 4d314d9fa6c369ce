#include "tests/harness/process.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/harness/wait.h"

namespace hacluster::harness {
namespace {

// A process's state letter and process group from /proc/PID/stat; state 0
// when the process does not exist.
struct ProcStat {
  char state = 0;
  pid_t pgrp = -1;
};

ProcStat ReadProcStat(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return {};
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::vector<std::string> f =
      absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
  ProcStat s;
  if (f.size() < 3 || f[0].empty()) return {};
  s.state = f[0][0];
  absl::SimpleAtoi(f[2], &s.pgrp);
  return s;
}

bool Alive(pid_t pid) {
  const ProcStat s = ReadProcStat(pid);
  return s.state != 0 && s.state != 'Z' && s.state != 'X';
}

// Living (not zombie) processes in process group `pgrp`.
int LiveMembersOf(pid_t pgrp) {
  int n = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (struct dirent* e = readdir(proc)) {
    int pid;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    const ProcStat s = ReadProcStat(pid);
    if (s.pgrp == pgrp && s.state != 'Z' && s.state != 'X' && s.state != 0) {
      ++n;
    }
  }
  closedir(proc);
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(RunProcessTest, CapturesStdoutStderrAndExitCode) {
  absl::StatusOr<RunResult> r =
      RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->status.exited());
  EXPECT_FALSE(r->status.ok());
  EXPECT_EQ(r->status.code, 3);
  EXPECT_EQ(r->status.ToString(), "exit code 3");
  EXPECT_EQ(r->output, "out\nerr\n");
}

TEST(RunProcessTest, ReportsDeathBySignal) {
  absl::StatusOr<RunResult> r = RunProcess({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->status.exited());
  EXPECT_EQ(r->status.signal, SIGKILL);
  EXPECT_TRUE(absl::StartsWith(r->status.ToString(), "killed by signal 9"))
      << r->status.ToString();
}

TEST(RunProcessTest, TimeoutKillsTheCommandAndSaysDeadlineExceeded) {
  const absl::Time start = absl::Now();
  absl::StatusOr<RunResult> r = RunProcess(
      {"sh", "-c", "echo started; exec sleep 30"}, absl::Milliseconds(300));
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded)
      << r.status();
  EXPECT_TRUE(absl::StrContains(r.status().message(), "sh -c"));
  EXPECT_TRUE(absl::StrContains(r.status().message(), "started"));
  EXPECT_GE(elapsed, absl::Milliseconds(300));
  EXPECT_LT(elapsed, absl::Seconds(5));
}

TEST(RunProcessTest, ReturnsWhenTheCommandExitsAndKillsWhatItLeftInItsGroup) {
  const absl::Time start = absl::Now();
  // The background sleep keeps the output pipe open after sh exits.
  absl::StatusOr<RunResult> r =
      RunProcess({"sh", "-c", "echo $$; sleep 30 & exit 0"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  pid_t group = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r->output), &group))
      << r->output;
  EXPECT_TRUE(WaitFor([&] { return LiveMembersOf(group) == 0; },
                      absl::Seconds(5)));
}

TEST(RunProcessTest, OutputIsCappedButTheCommandRunsToTheEnd) {
  absl::StatusOr<RunResult> r =
      RunProcess({"head", "-c", "3000000", "/dev/zero"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->status.ok()) << r->status.ToString();
  EXPECT_EQ(r->output.size(), RunResult::kMaxOutput);
}

TEST(RunProcessTest, GivenEnvironmentReplacesTheCallers) {
  SpawnOptions options;
  options.env = std::vector<std::string>{"HARNESS_ONLY=yes"};
  absl::StatusOr<RunResult> r =
      RunProcess({"env"}, absl::Seconds(10), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "HARNESS_ONLY=yes\n");
}

TEST(RunProcessTest, RunsInTheGivenDirectory) {
  SpawnOptions options;
  options.cwd = "/";
  absl::StatusOr<RunResult> r =
      RunProcess({"pwd"}, absl::Seconds(10), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->output, "/\n");
}

TEST(RunProcessTest, ChildHasOnlyStdioOpen) {
  absl::StatusOr<RunResult> r = RunProcess({"ls", "/proc/self/fd"});
  ASSERT_TRUE(r.ok()) << r.status();
  // 0, 1, 2 and the directory ls itself opened to list them.
  std::vector<std::string> fds =
      absl::StrSplit(r->output, '\n', absl::SkipEmpty());
  EXPECT_LE(fds.size(), 4u) << r->output;
}

TEST(RunProcessTest, UnknownProgramIsNotFoundAndNamed) {
  absl::StatusOr<RunResult> r = RunProcess({"no-such-program-xyzzy"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "no-such-program-xyzzy"))
      << r.status();
}

TEST(RunProcessTest, EmptyArgvIsInvalid) {
  EXPECT_EQ(RunProcess({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RunProcessTest, MissingNetworkNamespaceIsNotFoundAndNamed) {
  SpawnOptions options;
  options.netns_path = "/run/netns/hat-no-such-namespace";
  absl::StatusOr<RunResult> r = RunProcess({"true"}, absl::Seconds(10), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(r.status().message(),
                                "/run/netns/hat-no-such-namespace"))
      << r.status();
}

TEST(RunOrErrorTest, FailureNamesCommandStatusAndOutput) {
  absl::StatusOr<std::string> out =
      RunOrError({"sh", "-c", "echo broken >&2; exit 2"});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(absl::StrContains(out.status().message(), "sh -c"));
  EXPECT_TRUE(absl::StrContains(out.status().message(), "exit code 2"));
  EXPECT_TRUE(absl::StrContains(out.status().message(), "broken"));
  EXPECT_EQ(*RunOrError({"echo", "fine"}), "fine\n");
}

TEST(FindProgramTest, LooksInSbinDirectoriesWhenPathLacksThem) {
  const char* old = getenv("PATH");
  const std::string saved = old != nullptr ? old : "";
  setenv("PATH", "/nonexistent-dir", 1);
  absl::StatusOr<std::string> sh = FindProgram("sh");
  setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(sh.ok()) << sh.status();
  EXPECT_TRUE(absl::EndsWith(*sh, "/sh"));
  EXPECT_EQ(access(sh->c_str(), X_OK), 0);
  EXPECT_EQ(FindProgram("/nonexistent-dir/sh").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SpawnProcessTest, StdoutAndStderrGoToTheLogFile) {
  const std::string log = absl::StrCat(DefaultLogDir(), "/spawn_log_test.log");
  unlink(log.c_str());
  absl::StatusOr<Process> p =
      SpawnProcess({"sh", "-c", "echo to-out; echo to-err >&2"}, log);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->log_path(), log);
  absl::StatusOr<ExitStatus> s = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->ok());
  EXPECT_EQ(ReadFile(log), "to-out\nto-err\n");
}

TEST(SpawnProcessTest, DefaultLogFilesAreNewFilesInTheLogDir) {
  absl::StatusOr<Process> a = SpawnProcess({"true"});
  absl::StatusOr<Process> b = SpawnProcess({"true"});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(absl::StartsWith(a->log_path(), DefaultLogDir() + "/true."));
  EXPECT_NE(a->log_path(), b->log_path());
}

TEST(SpawnProcessTest, LogInAMissingDirectoryIsAnErrorNamingIt) {
  absl::StatusOr<Process> p =
      SpawnProcess({"true"}, "/nonexistent-dir/x.log");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "/nonexistent-dir/x.log"))
      << p.status();
}

TEST(SpawnProcessTest, WaitTimesOutWhileRunningAndKillEndsTheProcess) {
  absl::StatusOr<Process> p = SpawnProcess({"sleep", "30"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_GT(p->pid(), 0);
  EXPECT_FALSE(p->TryWait().has_value());
  const absl::Time start = absl::Now();
  EXPECT_EQ(p->Wait(absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  ASSERT_TRUE(p->Kill(SIGTERM).ok());
  absl::StatusOr<ExitStatus> s = p->Wait(absl::Seconds(5));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->signal, SIGTERM);
  // Once it has exited, Kill refuses: the pid is not a target any more.
  EXPECT_EQ(p->Kill(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SpawnProcessTest, StopEscalatesToSigkillWhenTermIsIgnored) {
  absl::StatusOr<Process> p =
      SpawnProcess({"sh", "-c", "trap '' TERM; echo ready; exec sleep 30"});
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string log = p->log_path();
  ASSERT_TRUE(WaitFor([&] { return ReadFile(log) == "ready\n"; },
                      absl::Seconds(5)));
  const absl::Time start = absl::Now();
  absl::StatusOr<ExitStatus> s = p->Stop(absl::Milliseconds(200));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->signal, SIGKILL);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
}

TEST(SpawnProcessTest, DestroyingTheProcessKillsItsWholeGroup) {
  pid_t group = -1;
  {
    absl::StatusOr<Process> p =
        SpawnProcess({"sh", "-c", "sleep 30 & sleep 30 & wait"});
    ASSERT_TRUE(p.ok()) << p.status();
    group = p->pid();
    ASSERT_TRUE(WaitFor([&] { return LiveMembersOf(group) == 3; },
                        absl::Seconds(5)));
  }
  EXPECT_TRUE(WaitFor([&] { return LiveMembersOf(group) == 0; },
                      absl::Seconds(5)));
}

TEST(SpawnProcessTest, MovedProcessKeepsOwnershipOfTheChild) {
  absl::StatusOr<Process> p = SpawnProcess({"sleep", "30"});
  ASSERT_TRUE(p.ok()) << p.status();
  const pid_t pid = p->pid();
  Process moved = *std::move(p);
  EXPECT_EQ(moved.pid(), pid);
  Process empty;
  EXPECT_EQ(empty.pid(), -1);
  EXPECT_EQ(empty.Kill(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
  empty = std::move(moved);
  EXPECT_TRUE(Alive(pid));
  empty = Process();  // kills and reaps
  EXPECT_FALSE(Alive(pid));
}

TEST(SpawnProcessTest, ChildIsKilledWhenItsParentDies) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  const pid_t helper = fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    close(report[0]);
    absl::StatusOr<Process> p = SpawnProcess({"sleep", "30"});
    const pid_t pid = p.ok() ? p->pid() : -1;
    ssize_t ignored = write(report[1], &pid, sizeof(pid));
    (void)ignored;
    _exit(0);  // no destructors: only PR_SET_PDEATHSIG can end the sleep
  }
  close(report[1]);
  pid_t child = -1;
  ASSERT_EQ(read(report[0], &child, sizeof(child)),
            static_cast<ssize_t>(sizeof(child)));
  close(report[0]);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(helper, nullptr, 0), helper);
  EXPECT_TRUE(WaitFor([&] { return !Alive(child); }, absl::Seconds(5)));
}

}  // namespace
}  // namespace hacluster::harness
