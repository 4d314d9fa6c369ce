#include "agent/exec/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "agent/core/clock.h"
#include "agent/exec/command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::exec {
namespace {

using agent::MonotonicNow;
using spec::v1::Resource;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;

constexpr char kDummyAgent[] = "/usr/lib/ocf/resource.d/heartbeat/Dummy";
constexpr char kMailToScript[] = "/etc/ha.d/resource.d/MailTo";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// True once `pid` no longer exists or is a zombie (killed, and waiting for
// whichever process inherited it to reap it). Waits at most `limit`.
bool GoneWithin(pid_t pid, absl::Duration limit) {
  const agent::MonoTime end = MonotonicNow() + limit;
  while (true) {
    if (kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() &&
        stat[paren + 2] == 'Z') {
      return true;
    }
    if (MonotonicNow() >= end) return false;
    poll(nullptr, 0, 5);  // a bounded poll of another process's state
  }
}

// Reads a pid that a script writes to `path`, waiting at most 10 s for it.
pid_t PidFrom(const std::string& path) {
  const agent::MonoTime end = MonotonicNow() + absl::Seconds(10);
  while (MonotonicNow() < end) {
    int pid = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(path)), &pid) &&
        pid > 0) {
      return pid;
    }
    poll(nullptr, 0, 5);
  }
  return -1;
}

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(tmp != nullptr ? tmp : "/tmp",
                                     "/runner_test.XXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }

  // Writes an executable sh script and returns its path.
  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << "#!/bin/sh\n" << body;
    EXPECT_EQ(chmod(path.c_str(), 0755), 0);
    return path;
  }

  Command ScriptCommand(const std::string& body,
                        absl::Duration timeout = absl::Seconds(10)) {
    Command c;
    c.argv = {Script(absl::StrCat("script", ++scripts_), body)};
    c.env = {absl::StrCat("PATH=", kScriptPath)};
    c.timeout = timeout;
    return c;
  }

  std::string dir_;
  int scripts_ = 0;
};

TEST_F(RunnerTest, ReportsExitStatusAndInterleavedOutput) {
  RunResult r = exec::Run(ScriptCommand("echo out\necho err >&2\necho more\nexit 3\n"));
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "out\nerr\nmore\n");
  EXPECT_GT(r.duration, absl::ZeroDuration());
}

TEST_F(RunnerTest, PassesArgumentsWithoutAShell) {
  Command c = ScriptCommand("for a in \"$@\"; do echo \"[$a]\"; done\n");
  c.argv.push_back("a b");
  c.argv.push_back("$HOME;*");
  c.argv.push_back("");
  RunResult r = exec::Run(c);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output, "[a b]\n[$HOME;*]\n[]\n");
}

TEST_F(RunnerTest, KeepsTheTailOfLongOutput) {
  // 3000 numbered lines, about 17 KiB: more than the pipe holds at once
  // with the reader away, and well over what is kept.
  RunResult r = exec::Run(ScriptCommand(
      "i=0; while [ $i -lt 3000 ]; do echo \"line $i\"; i=$((i+1)); done\n"));
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output.size(), RunResult::kMaxOutput);
  EXPECT_THAT(r.output, EndsWith("line 2998\nline 2999\n"));
}

TEST_F(RunnerTest, EnvironmentIsExactlyTheCommands) {
  setenv("RUNNER_TEST_LEAK", "1", 1);
  Command c;
  c.argv = {"/usr/bin/env"};
  c.env = {"A=1", "B=two words", "PATH=/nowhere"};
  RunResult r = exec::Run(c);
  unsetenv("RUNNER_TEST_LEAK");
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output, "A=1\nB=two words\nPATH=/nowhere\n");
}

TEST_F(RunnerTest, MissingOrNonExecutableProgramIsNotStarted) {
  Command c;
  c.argv = {dir_ + "/nosuch"};
  RunResult r = exec::Run(c);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.error, absl::StrCat("spawn ", dir_,
                                  "/nosuch: No such file or directory"));

  const std::string plain = Script("plain", "exit 0\n");
  ASSERT_EQ(chmod(plain.c_str(), 0644), 0);
  c.argv = {plain};
  r = exec::Run(c);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.error, absl::StrCat("spawn ", plain, ": Permission denied"));

  r = exec::Run(Command{});
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.error, "cannot run an empty command");
}

TEST_F(RunnerTest, ReportsDeathBySignal) {
  RunResult r = exec::Run(ScriptCommand("echo bye\nkill -KILL $$\n"));
  EXPECT_TRUE(r.started);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "bye\n");
}

TEST_F(RunnerTest, TimeoutTerminatesTheScriptAndItsChild) {
  const std::string pid_file = dir_ + "/child.pid";
  Command c = ScriptCommand(
      absl::StrCat("echo starting\nsleep 1000 &\necho $! > ", pid_file,
                   "\nwait\n"),
      absl::Milliseconds(300));
  // A long grace: the script dies on SIGTERM, so none of it is waited out.
  RunResult r = exec::Run(c, absl::Seconds(30));
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.output, "starting\n");
  EXPECT_GE(r.duration, absl::Milliseconds(300));
  EXPECT_LT(r.duration, absl::Seconds(10));
  const pid_t child = PidFrom(pid_file);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(GoneWithin(child, absl::Seconds(5)))
      << "the script's child " << child << " survived the timeout";

  Outcome o = Interpret(Resource(), Op::kStart, r);
  EXPECT_FALSE(o.ok);
}

TEST_F(RunnerTest, ScriptIgnoringTermIsKilledAfterTheGrace) {
  const std::string pid_file = dir_ + "/child.pid";
  // The child inherits the ignored SIGTERM.
  Command c = ScriptCommand(
      absl::StrCat("trap '' TERM\nsleep 1000 &\necho $! > ", pid_file,
                   "\nwhile :; do wait; done\n"),
      absl::Milliseconds(200));
  RunResult r = exec::Run(c, absl::Milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(r.duration, absl::Milliseconds(400));
  EXPECT_LT(r.duration, absl::Seconds(10));
  const pid_t child = PidFrom(pid_file);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(GoneWithin(child, absl::Seconds(5)))
      << "the script's child " << child << " survived SIGKILL";
}

TEST_F(RunnerTest, DaemonLeftBehindByAFinishedScriptIsNotKilledNorWaitedFor) {
  // The daemon keeps the output pipe open; the result must not wait for it.
  const std::string pid_file = dir_ + "/daemon.pid";
  Command c = ScriptCommand(absl::StrCat("sleep 1000 &\necho $! > ", pid_file,
                                         "\necho started\nexit 0\n"));
  RunResult r = exec::Run(c);
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_LT(r.duration, absl::Seconds(5));
  const pid_t daemon = PidFrom(pid_file);
  ASSERT_GT(daemon, 0);
  EXPECT_EQ(kill(daemon, 0), 0) << "the daemon was killed";
  kill(daemon, SIGKILL);
  EXPECT_TRUE(GoneWithin(daemon, absl::Seconds(5)));
}

// What the script reports about itself, one "key value" per line.
constexpr char kSelfReport[] =
    "awk '{print \"pid\", $1; print \"pgrp\", $5; print \"rtprio\", $40; "
    "print \"policy\", $41}' /proc/$$/stat\n"
    "echo \"stdin $(readlink /proc/$$/fd/0)\"\n"
    "echo \"cwd $(pwd)\"\n";

TEST_F(RunnerTest, ChildGetsCleanSignalsSchedulingAndFiles) {
  // As the agent's loop: SCHED_RR, TERM/INT/HUP blocked, SIGPIPE ignored,
  // and a file descriptor open without close-on-exec.
  struct sigaction old_pipe;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  const int leaked = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);

  std::string output;
  bool realtime = false;
  std::thread loop([&] {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, nullptr);
    sched_param param{};
    param.sched_priority = 1;
    realtime = pthread_setschedparam(pthread_self(), SCHED_RR, &param) == 0;
    // The spawned process itself, without a shell in between.
    Command grep;
    grep.argv = {"/bin/grep", "-E", "^(SigBlk|SigIgn):", "/proc/self/status"};
    RunResult r = exec::Run(grep);
    EXPECT_EQ(r.exit_status, 0) << r.output;
    output = r.output;
    r = exec::Run(ScriptCommand(absl::StrCat(
        kSelfReport, "[ -e /proc/$$/fd/", leaked,
        " ] && echo leaked yes || echo leaked no\n")));
    EXPECT_EQ(r.exit_status, 0) << r.output;
    output += r.output;
  });
  loop.join();
  close(leaked);
  sigaction(SIGPIPE, &old_pipe, nullptr);

  std::map<std::string, std::string> report;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(
        line, absl::MaxSplits(absl::ByAnyChar(" \t"), 1));
    report[absl::StrCat(absl::StripSuffix(kv.first, ":"))] =
        std::string(absl::StripAsciiWhitespace(kv.second));
  }
  EXPECT_EQ(report["SigBlk"], "0000000000000000") << output;
  // Nothing ignored but signals 32 and 33, which glibc keeps for itself and
  // posix_spawn leaves ignored (programs that use them set their handlers).
  uint64_t ignored = ~0ULL;
  ASSERT_TRUE(absl::SimpleHexAtoi(report["SigIgn"], &ignored)) << output;
  constexpr uint64_t kGlibcInternal = (1ULL << (32 - 1)) | (1ULL << (33 - 1));
  EXPECT_EQ(ignored & ~kGlibcInternal, 0u) << output;
  EXPECT_EQ(ignored & (1ULL << (SIGPIPE - 1)), 0u) << output;
  EXPECT_EQ(report["policy"], "0") << output;  // SCHED_OTHER
  EXPECT_EQ(report["rtprio"], "0") << output;
  EXPECT_EQ(report["pgrp"], report["pid"]) << output;  // its own group
  EXPECT_NE(report["pgrp"], absl::StrCat(getpgrp()));
  EXPECT_EQ(report["stdin"], "/dev/null");
  EXPECT_EQ(report["cwd"], "/");
  EXPECT_EQ(report["leaked"], "no");
  if (!realtime) {
    GTEST_SKIP() << "SCHED_RR not permitted here: the scheduling part only "
                    "checked from a SCHED_OTHER thread";
  }
}

TEST_F(RunnerTest, RealDummyAgentStartsMonitorsAndStops) {
  ASSERT_TRUE(Exists(kDummyAgent))
      << kDummyAgent << " is missing: install resource-agents (setup.sh)";
  Resource r;
  r.set_name("dummy1");
  r.mutable_ocf()->set_type("Dummy");
  const std::string state = dir_ + "/dummy.state";
  (*r.mutable_ocf()->mutable_params())["state"] = state;

  auto run = [&](Op op) {
    absl::StatusOr<Command> c = CommandFor(r, op);
    EXPECT_TRUE(c.ok()) << c.status();
    RunResult result = exec::Run(*c);
    EXPECT_TRUE(result.error.empty()) << result.error;
    return std::make_pair(result, Interpret(r, op, result));
  };

  auto [monitor0, before] = run(Op::kMonitor);
  EXPECT_EQ(monitor0.exit_status, 7) << monitor0.output;
  EXPECT_FALSE(before.ok);
  EXPECT_FALSE(before.running);

  auto [start, started] = run(Op::kStart);
  EXPECT_EQ(start.exit_status, 0) << start.output;
  EXPECT_TRUE(started.ok) << started.message;
  EXPECT_TRUE(started.running);
  EXPECT_TRUE(Exists(state));

  auto [monitor1, up] = run(Op::kMonitor);
  EXPECT_EQ(monitor1.exit_status, 0) << monitor1.output;
  EXPECT_TRUE(up.ok) << up.message;
  EXPECT_TRUE(up.running);

  auto [stop, stopped] = run(Op::kStop);
  EXPECT_EQ(stop.exit_status, 0) << stop.output;
  EXPECT_TRUE(stopped.ok) << stopped.message;
  EXPECT_FALSE(stopped.running);
  EXPECT_FALSE(Exists(state));

  // A recurring monitor (interval set) gets the agent's exit reason.
  r.mutable_monitor_interval()->set_seconds(10);
  auto [monitor2, down] = run(Op::kMonitor);
  EXPECT_EQ(monitor2.exit_status, 7) << monitor2.output;
  EXPECT_FALSE(down.ok);
  EXPECT_FALSE(down.running);
  EXPECT_EQ(down.message, "not running: No process state file found");
}

TEST_F(RunnerTest, HeartbeatScriptGetsItsArgsInOrderThenTheOperation) {
  ScriptPaths paths;
  paths.init_d = dir_ + "/init.d";
  paths.resource_d = dir_ + "/ha.d/resource.d";
  ASSERT_EQ(mkdir(paths.init_d.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/ha.d").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(paths.resource_d.c_str(), 0755), 0);
  const std::string record = dir_ + "/args";
  // As haresources' Recorder::10.0.0.1::two words::x; says "running" when
  // the state file exists, as Heartbeat scripts do.
  const std::string script = paths.resource_d + "/Recorder";
  std::ofstream(script) << "#!/bin/sh\n"
                        << "printf '%s|' \"$@\" >> " << record << "\n"
                        << "echo >> " << record << "\n"
                        // Not on stdout: a random temporary path there
                        // could hold "OK", which a status reads as running.
                        << "echo \"HA_DIR=$HA_DIR\" >> " << record << ".env\n"
                        << "state=" << dir_ << "/recorder.state\n"
                        << "case \"$4\" in\n"
                        << "  start) touch $state;;\n"
                        << "  stop) rm -f $state;;\n"
                        << "  status) [ -f $state ] && echo running || "
                           "echo stopped;;\n"
                        << "esac\n";
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);

  Resource r;
  r.mutable_heartbeat()->set_name("Recorder");
  for (const char* arg : {"10.0.0.1", "two words", "x"}) {
    r.mutable_heartbeat()->add_args(arg);
  }
  std::vector<Outcome> outcomes;
  for (Op op : {Op::kStart, Op::kMonitor, Op::kStop, Op::kMonitor}) {
    absl::StatusOr<Command> c = CommandFor(r, op, paths);
    ASSERT_TRUE(c.ok()) << c.status();
    RunResult result = exec::Run(*c);
    EXPECT_EQ(result.exit_status, 0) << result.output;
    outcomes.push_back(Interpret(r, op, result));
  }
  const std::string env_line = "HA_DIR=" + dir_ + "/ha.d\n";
  EXPECT_EQ(ReadFile(record + ".env"), env_line + env_line + env_line + env_line);
  EXPECT_EQ(ReadFile(record),
            "10.0.0.1|two words|x|start|\n"
            "10.0.0.1|two words|x|status|\n"
            "10.0.0.1|two words|x|stop|\n"
            "10.0.0.1|two words|x|status|\n");
  EXPECT_TRUE(outcomes[0].ok && outcomes[0].running);
  EXPECT_TRUE(outcomes[1].ok && outcomes[1].running) << outcomes[1].message;
  EXPECT_TRUE(outcomes[2].ok && !outcomes[2].running);
  EXPECT_FALSE(outcomes[3].ok || outcomes[3].running) << outcomes[3].message;
}

TEST_F(RunnerTest, RealHeartbeatWrapperScriptWorksWithTheGivenEnvironment) {
  // resource.d/MailTo sources hto-mapfuncs, shellfuncs and ocf-shellfuncs
  // and runs the OCF MailTo agent: a status that gets through all of that
  // reports "stopped" (nothing was started) rather than an error.
  ASSERT_TRUE(Exists(kMailToScript))
      << kMailToScript << " is missing: install heartbeat (setup.sh)";
  Resource r;
  r.set_name("mail");
  r.mutable_heartbeat()->set_name("MailTo");
  r.mutable_heartbeat()->add_args("root@localhost");
  r.mutable_heartbeat()->add_args("runner-test-never-started");
  absl::StatusOr<Command> c = CommandFor(r, Op::kMonitor);
  ASSERT_TRUE(c.ok()) << c.status();
  RunResult result = exec::Run(*c);
  EXPECT_EQ(result.exit_status, 7) << result.output;
  EXPECT_THAT(result.output, HasSubstr("stopped"));
  EXPECT_THAT(result.output, HasSubstr("INFO:  Resource is stopped"));
  Outcome o = Interpret(r, Op::kMonitor, result);
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(o.running);
}

// ---- OpExecutor ----

// Waits at most 10 s for the executor's fd to be readable.
bool Readable(const OpExecutor& e) {
  struct pollfd p = {e.fd(), POLLIN, 0};
  return poll(&p, 1, 10000) == 1;
}

TEST(OpExecutorTest, ReportsCompletionsThroughTheEventFd) {
  absl::StatusOr<std::unique_ptr<OpExecutor>> e = OpExecutor::Create();
  ASSERT_TRUE(e.ok()) << e.status();
  OpExecutor& ex = **e;
  struct pollfd p = {ex.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  EXPECT_TRUE(ex.TakeCompleted().empty());

  absl::Notification release;
  std::atomic<int> ran{0};
  ASSERT_TRUE(ex.Submit(7, [&] { ++ran; }).ok());
  ASSERT_TRUE(ex.Submit(8, [&] {
                  release.WaitForNotificationWithTimeout(absl::Seconds(10));
                  ++ran;
                }).ok());
  EXPECT_EQ(ex.InFlight(), 2u);
  ASSERT_TRUE(Readable(ex));
  EXPECT_THAT(ex.TakeCompleted(), ElementsAre(7));
  EXPECT_EQ(poll(&p, 1, 0), 0) << "fd still readable after TakeCompleted";
  EXPECT_EQ(ex.InFlight(), 1u);

  // An id in flight cannot be submitted again; a taken one can.
  EXPECT_EQ(ex.Submit(8, [] {}).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(ex.Submit(7, [&] { ++ran; }).ok());
  release.Notify();
  std::vector<uint64_t> done;
  while (done.size() < 2 && Readable(ex)) {
    for (uint64_t id : ex.TakeCompleted()) done.push_back(id);
  }
  std::sort(done.begin(), done.end());
  EXPECT_THAT(done, ElementsAre(7, 8));
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(ex.InFlight(), 0u);
}

TEST(OpExecutorTest, WorkRunsAtNormalPriorityWhenSubmittedFromARealtimeLoop) {
  absl::StatusOr<std::unique_ptr<OpExecutor>> e = OpExecutor::Create();
  ASSERT_TRUE(e.ok()) << e.status();
  int policy = -1;
  bool realtime = false;
  std::thread loop([&] {
    sched_param param{};
    param.sched_priority = 1;
    realtime = pthread_setschedparam(pthread_self(), SCHED_RR, &param) == 0;
    ASSERT_TRUE((*e)->Submit(1, [&] {
                     sched_param p;
                     pthread_getschedparam(pthread_self(), &policy, &p);
                   }).ok());
    ASSERT_TRUE(Readable(**e));
    EXPECT_THAT((*e)->TakeCompleted(), ElementsAre(1));
  });
  loop.join();
  EXPECT_EQ(policy, SCHED_OTHER);
  if (!realtime) GTEST_SKIP() << "SCHED_RR not permitted here";
}

TEST(OpExecutorTest, DestructorWaitsForRunningWork) {
  std::atomic<bool> finished{false};
  absl::Notification started;
  {
    absl::StatusOr<std::unique_ptr<OpExecutor>> e = OpExecutor::Create();
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_TRUE((*e)->Submit(1, [&] {
                     started.Notify();
                     // A real operation: a script that takes a while.
                     Command c;
                     c.argv = {"/bin/sh", "-c", "sleep 0.2"};
                     RunResult r = exec::Run(c);
                     finished = r.exit_status == 0;
                   }).ok());
    ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  EXPECT_TRUE(finished.load());
}

TEST(OpExecutorTest, OperationsRunInParallel) {
  absl::StatusOr<std::unique_ptr<OpExecutor>> e = OpExecutor::Create();
  ASSERT_TRUE(e.ok()) << e.status();
  // Each script waits until all three have started (a rendezvous through
  // files), so they can only finish if they run at the same time.
  const char* tmp = getenv("TEST_TMPDIR");
  std::string templ =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/parallel.XXXXXX");
  ASSERT_NE(mkdtemp(templ.data()), nullptr);
  std::atomic<int> ok{0};
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE((*e)->Submit(id, [&, id] {
                     Command c;
                     c.argv = {"/bin/sh", "-c",
                               absl::StrCat("touch ", templ, "/", id,
                                            "; while [ $(ls ", templ,
                                            " | wc -l) -lt 3 ]; do sleep "
                                            "0.01; done")};
                     c.env = {absl::StrCat("PATH=", kScriptPath)};
                     c.timeout = absl::Seconds(20);
                     if (exec::Run(c).exit_status == 0) ++ok;
                   }).ok());
  }
  std::vector<uint64_t> done;
  while (done.size() < 3 && Readable(**e)) {
    for (uint64_t id : (*e)->TakeCompleted()) done.push_back(id);
  }
  EXPECT_EQ(done.size(), 3u);
  EXPECT_EQ(ok.load(), 3);
}

}  // namespace
}  // namespace hacluster::exec
