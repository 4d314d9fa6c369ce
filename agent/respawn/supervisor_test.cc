// The supervisor with real processes (shell one-liners) on the system
// clock: restarts, exit status 100, the crash-loop back-off, the stop
// (SIGTERM, then SIGKILL), and what a program gets: its user, groups,
// process group and descriptors. Waits are bounded; times are only
// checked from below (a restart never comes before its back-off).
#include "agent/respawn/supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ProbePath() {
  const char* dir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  if (dir == nullptr || ws == nullptr) return "agent/respawn/respawn_probe";
  return absl::StrCat(dir, "/", ws, "/agent/respawn/respawn_probe");
}

// Members of process group `pgid` that are alive (not zombies waiting for
// a reaper).
int LiveInGroup(pid_t pgid) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (d == nullptr) return -1;
  for (dirent* e = readdir(d); e != nullptr; e = readdir(d)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid)) continue;
    std::string stat = Read(absl::StrCat("/proc/", pid, "/stat"));
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
    // After the name: state, ppid, pgrp.
    if (f.size() > 2 && f[2] == absl::StrCat(pgid) && f[0] != "Z") ++n;
  }
  closedir(d);
  return n;
}

std::vector<std::string> Lines(const std::string& path) {
  return absl::StrSplit(Read(path), '\n', absl::SkipEmpty());
}

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/respawn-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0777);  // programs run as another user write here
    LogOptions o;
    o.to_stderr = false;
    o.file = dir_ + "/agent.log";
    auto l = Logger::Create(o);
    ASSERT_TRUE(l.ok()) << l.status();
    logger_ = *std::move(l);
  }
  void TearDown() override {
    supervisor_.reset();
    std::string cmd = absl::StrCat("rm -rf ", dir_);
    (void)!system(cmd.c_str());
  }

  void Make(BackoffOptions b = {}, absl::Duration grace = absl::Seconds(10)) {
    supervisor_ = std::make_unique<RespawnSupervisor>(*logger_, clock_, b, grace);
    ASSERT_TRUE(supervisor_->Init().ok());
  }

  RespawnProgram Shell(const std::string& script, const std::string& user = "root") {
    spec::v1::ClusterSpec spec;
    auto* r = spec.add_respawn();
    r->set_user(user);
    r->add_argv("/bin/sh");
    r->add_argv("-c");
    r->add_argv(script);
    auto p = ResolveRespawn(spec);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? (*p)[0] : RespawnProgram{};
  }

  // Drives the supervisor as the agent's loop does until `done`, at most
  // `limit`; false on timeout.
  bool RunUntil(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(20)) {
    const MonoTime end = clock_.Now() + limit;
    while (!done()) {
      const MonoTime now = clock_.Now();
      if (now >= end) return false;
      const absl::Duration wait =
          std::min({supervisor_->NextDeadline() - now, end - now, absl::Milliseconds(50)});
      pollfd p{supervisor_->fd(), POLLIN, 0};
      poll(&p, 1, std::max<int64_t>(0, absl::ToInt64Milliseconds(wait) + 1));
      if (p.revents & POLLIN) supervisor_->Reap(clock_.Now());
      supervisor_->Tick(clock_.Now());
    }
    return true;
  }

  std::string Log() { return Read(dir_ + "/agent.log"); }

  std::string dir_;
  SystemClock clock_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<RespawnSupervisor> supervisor_;
};

TEST_F(SupervisorTest, RestartedWhenItDies) {
  Make();
  const std::string pids = dir_ + "/pids";
  supervisor_->Set({Shell(absl::StrCat("echo $$ >> ", pids, "; exec sleep 60"))}, clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return Lines(pids).size() == 1; }));
  int first = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Lines(pids)[0], &first));
  ASSERT_EQ(kill(first, SIGKILL), 0);
  ASSERT_TRUE(RunUntil([&] { return Lines(pids).size() == 2; })) << Log();
  int second = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Lines(pids)[1], &second));
  EXPECT_NE(first, second);
  EXPECT_EQ(supervisor_->Running(), std::vector<pid_t>{second});
  // One line for the end, saying why it is restarted.
  EXPECT_NE(Log().find(absl::StrCat("respawn[0] /bin/sh (pid ", first, ") ended: killed by "
                                    "signal 9 (Killed) after ")),
            std::string::npos)
      << Log();
  EXPECT_NE(Log().find("restarting"), std::string::npos);
}

TEST_F(SupervisorTest, ExitStatus100IsNotRestarted) {
  Make();
  const std::string runs = dir_ + "/runs";
  supervisor_->Set({Shell(absl::StrCat("echo run >> ", runs, "; exit 100"))}, clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return Log().find("means do not restart") != std::string::npos; }))
      << Log();
  EXPECT_TRUE(supervisor_->Idle());
  EXPECT_EQ(supervisor_->NextDeadline(), absl::InfiniteDuration());
  // Nothing starts it again: wait as long as a first restart would take
  // (none is scheduled at all, which NextDeadline showed).
  RunUntil([] { return false; }, absl::Milliseconds(300));
  EXPECT_EQ(Lines(runs).size(), 1u);
}

TEST_F(SupervisorTest, ACrashLoopBacksOff) {
  const BackoffOptions b{.stable_after = absl::Seconds(30),
                         .first_delay = absl::Milliseconds(100),
                         .max_delay = absl::Milliseconds(400)};
  Make(b);
  const std::string starts = dir_ + "/starts";
  supervisor_->Set({Shell(absl::StrCat("date +%s%N >> ", starts, "; exit 3"))}, clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return Lines(starts).size() >= 6; })) << Log();
  std::vector<int64_t> ns;
  for (const std::string& l : Lines(starts)) {
    int64_t v = 0;
    ASSERT_TRUE(absl::SimpleAtoi(l, &v));
    ns.push_back(v);
  }
  // Gaps between starts: at least the back-off (the run itself adds).
  const absl::Duration min_gap[] = {absl::ZeroDuration(), absl::Milliseconds(100),
                                    absl::Milliseconds(200), absl::Milliseconds(400),
                                    absl::Milliseconds(400)};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_GE(absl::Nanoseconds(ns[i + 1] - ns[i]), min_gap[i]) << "gap " << i;
  }
  EXPECT_NE(Log().find("exit status 3 after"), std::string::npos);
  EXPECT_NE(Log().find("(4th quick end in a row, a crash loop): restarting in 400ms"),
            std::string::npos)
      << Log();
}

TEST_F(SupervisorTest, StopSendsTermThenKillAfterTheGrace) {
  Make({}, absl::Milliseconds(300));
  const std::string pids = dir_ + "/pids";
  supervisor_->Set({Shell(absl::StrCat("echo $$ >> ", pids, "; exec sleep 60")),
                    Shell(absl::StrCat("trap '' TERM; echo $$ >> ", pids, "; sleep 60; sleep 60"))},
                   clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return Lines(pids).size() == 2; }));
  const MonoTime stop = clock_.Now();
  supervisor_->Stop(stop);
  ASSERT_TRUE(RunUntil([&] { return supervisor_->Idle(); })) << Log();
  EXPECT_GE(clock_.Now() - stop, absl::Milliseconds(300));
  const std::string log = Log();
  EXPECT_NE(log.find("stopped: killed by signal 15"), std::string::npos) << log;
  EXPECT_NE(log.find("did not stop within 300ms of SIGTERM: SIGKILL"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped: killed by signal 9"), std::string::npos) << log;
  // Its child (the sleep in the same process group) went with it.
  for (const std::string& l : Lines(pids)) {
    int pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(l, &pid));
    EXPECT_TRUE(RunUntil([&] { return LiveInGroup(pid) == 0; }, absl::Seconds(5)))
        << "process group " << pid << " still there";
  }
}

TEST_F(SupervisorTest, WhatAProgramLeftInItsProcessGroupGoesWithIt) {
  Make();
  const std::string child = dir_ + "/child";
  // The program starts a child in its group, then ends (and asks not to be
  // restarted): the child must not outlive it.
  supervisor_->Set({Shell(absl::StrCat("sleep 600 & echo $! > ", child, ".tmp; mv ", child,
                                       ".tmp ", child, "; exit 100"))},
                   clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return supervisor_->Idle() && Lines(child).size() == 1; })) << Log();
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Lines(child)[0], &pid));
  // Gone, or a zombie waiting for its reaper (this sandbox's init may be
  // slow to reap orphans).
  auto gone = [&] {
    return kill(pid, 0) != 0 ||
           Read(absl::StrCat("/proc/", pid, "/stat")).find(") Z") != std::string::npos;
  };
  EXPECT_TRUE(RunUntil(gone, absl::Seconds(5)))
      << "the program's child " << pid << " outlived it";
}

TEST_F(SupervisorTest, ARemovedProgramIsStoppedAndAKeptOneIsLeftAlone) {
  Make();
  const std::string a = dir_ + "/a", b = dir_ + "/b";
  RespawnProgram pa = Shell(absl::StrCat("echo $$ >> ", a, "; exec sleep 60"));
  RespawnProgram pb = Shell(absl::StrCat("echo $$ >> ", b, "; exec sleep 60"));
  supervisor_->Set({pa, pb}, clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return Lines(a).size() == 1 && Lines(b).size() == 1; }));
  supervisor_->Set({pb}, clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return supervisor_->Running().size() == 1; })) << Log();
  EXPECT_NE(Log().find("is no longer in the spec: stopping it"), std::string::npos);
  EXPECT_EQ(Lines(b).size(), 1u);  // not restarted
  EXPECT_EQ(Lines(a).size(), 1u);  // not restarted either
}

TEST_F(SupervisorTest, RunsAsItsUserInItsOwnProcessGroupWithNoInheritedDescriptors) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change user";
  Make();
  // A descriptor of the agent's that must not reach the program.
  const int leak = open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leak, 0);
  const std::string out = dir_ + "/id";
  spec::v1::ClusterSpec spec;
  auto* r = spec.add_respawn();
  r->set_user("nobody");
  // A copy another user can reach (the runfiles are under root's home).
  const std::string probe = dir_ + "/respawn_probe";
  ASSERT_EQ(system(absl::StrCat("install -m 0755 ", ProbePath(), " ", probe).c_str()), 0);
  r->add_argv(probe);
  r->add_argv(out);
  auto programs = ResolveRespawn(spec);
  ASSERT_TRUE(programs.ok()) << programs.status();
  supervisor_->Set(*programs, clock_.Now());
  ASSERT_TRUE(RunUntil([&] { return Lines(out).size() == 9; })) << Log();
  close(leak);
  std::vector<std::string> l = Lines(out);
  passwd* pw = getpwnam("nobody");
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(l[0], absl::StrCat(pw->pw_uid));
  EXPECT_EQ(l[1], absl::StrCat(pw->pw_gid));
  // Its groups are nobody's own, not root's.
  std::vector<gid_t> groups(64);
  int n = 64;
  ASSERT_GE(getgrouplist("nobody", pw->pw_gid, groups.data(), &n), 0);
  std::vector<std::string> want;
  for (int i = 0; i < n; ++i) want.push_back(absl::StrCat(groups[i]));
  std::vector<std::string> got = absl::StrSplit(l[2], ' ', absl::SkipEmpty());
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  // Its own process group: the pgid is its pid.
  EXPECT_EQ(std::string(absl::StripAsciiWhitespace(l[3])), l[4]);
  // Only 0, 1 and 2: not the descriptor opened above.
  EXPECT_EQ(l[5], "0 1 2");
  EXPECT_EQ(l[6], absl::StrCat(pw->pw_dir, " nobody"));
  // No blocked signal (the agent blocks several), and SCHED_OTHER (the
  // agent's loop runs SCHED_RR).
  EXPECT_EQ(l[7], "0");
  EXPECT_EQ(l[8], absl::StrCat(SCHED_OTHER));
}

TEST(ResolveRespawnTest, ErrorsNameTheEntryAndWhy) {
  spec::v1::ClusterSpec spec;
  auto* r = spec.add_respawn();
  r->set_user("root");
  r->add_argv("/bin/true");
  r = spec.add_respawn();
  r->set_user("no-such-user-here");
  r->add_argv("/bin/true");
  EXPECT_EQ(ResolveRespawn(spec).status().message(),
            "respawn[1] /bin/true: user no-such-user-here does not exist");
  spec.mutable_respawn(1)->set_user("root");
  spec.mutable_respawn(1)->set_argv(0, "ccm");
  EXPECT_EQ(ResolveRespawn(spec).status().message(),
            "respawn[1] ccm: the program must be an absolute path (argv[0])");
  spec.mutable_respawn(1)->set_argv(0, "/usr/lib/heartbeat/no-such-program");
  EXPECT_EQ(ResolveRespawn(spec).status().message(),
            "respawn[1] /usr/lib/heartbeat/no-such-program: cannot run "
            "/usr/lib/heartbeat/no-such-program: No such file or directory");
  spec.mutable_respawn(1)->set_argv(0, "/etc/passwd");
  EXPECT_EQ(ResolveRespawn(spec).status().message(),
            "respawn[1] /etc/passwd: /etc/passwd is not an executable file");
  spec.mutable_respawn(1)->set_argv(0, "/bin/true");
  auto ok = ResolveRespawn(spec);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].uid, 0u);
}

}  // namespace
}  // namespace hacluster::agent
