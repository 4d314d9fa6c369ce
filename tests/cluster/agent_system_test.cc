// A real ha-agent and the system around it:
// - systemd's notification protocol: with NOTIFY_SOCKET and WATCHDOG_USEC
//   set as systemd sets them, the agent sends READY=1 once it is up,
//   WATCHDOG=1 periodically, RELOADING=1 then READY=1 around a SIGHUP,
//   and STOPPING=1 at shutdown (a datagram socket of the test's stands in
//   for systemd's);
// - the watchdog device: a FIFO read by the test stands in for one (this
//   kernel may have no softdog): keep-alives while the agent is healthy,
//   none while its loop is frozen (SIGSTOP), the magic close on a clean
//   stop and none after a SIGKILL;
// - respawn: programs run as their user, are restarted when killed, not
//   after exit status 100, stopped when a reload drops them and at
//   shutdown.
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

extern char** environ;

namespace hacluster::testing {
namespace {

using harness::Process;

// The state letter of /proc/PID/stat ('T' when stopped), or '?'.
char ProcessState(pid_t pid) {
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
}

// The caller's environment plus `more`.
std::vector<std::string> EnvWith(const std::vector<std::string>& more) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "NOTIFY_SOCKET=") || absl::StartsWith(*e, "WATCHDOG_")) continue;
    env.push_back(*e);
  }
  env.insert(env.end(), more.begin(), more.end());
  return env;
}

struct Stamped {
  absl::Time at;
  std::string text;
};

// Reads what arrives on an fd (a datagram socket or a FIFO) on a thread of
// its own, with the time each piece arrived.
class Recorder {
 public:
  Recorder(int fd, bool datagrams) : fd_(fd), datagrams_(datagrams) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Recorder() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::vector<Stamped> Got() const {
    absl::MutexLock l(&mu_);
    return got_;
  }
  bool eof() const { return eof_.load(); }
  // Polls in a row that found nothing to read (reset by any data): two
  // mean everything sent before them has been recorded.
  int quiet_polls() const { return quiet_polls_.load(); }
  size_t Count(absl::string_view part) const {
    size_t n = 0;
    for (const Stamped& s : Got()) n += absl::StrContains(s.text, part);
    return n;
  }
  bool WaitCount(absl::string_view part, size_t n, absl::Duration limit) const {
    return harness::WaitFor([&] { return Count(part) >= n; }, limit);
  }

 private:
  void Loop() {
    char buf[4096];
    // Bounded: the test ends it; 10 minutes at most.
    const absl::Time end = absl::Now() + absl::Minutes(10);
    while (!stop_ && absl::Now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) {
        ++quiet_polls_;
        continue;
      }
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n > 0) {
        quiet_polls_ = 0;
        const absl::Time now = absl::Now();
        absl::MutexLock l(&mu_);
        if (datagrams_) {
          got_.push_back({now, std::string(buf, n)});
        } else {
          for (ssize_t i = 0; i < n; ++i) got_.push_back({now, std::string(1, buf[i])});
        }
      } else if (n == 0 || (p.revents & POLLHUP)) {
        // A FIFO whose writer closed: EOF until a writer opens again.
        eof_ = true;
        if (n == 0) {
          pollfd q{fd_, 0, 0};
          poll(&q, 1, 20);
        }
      }
    }
  }

  const int fd_;
  const bool datagrams_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> eof_{false};
  std::atomic<int> quiet_polls_{0};
  mutable absl::Mutex mu_;
  std::vector<Stamped> got_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class AgentSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoopbackSpot spot = RandomLoopbackSpot();
    dir_.Write("authkey", "agent-system-test-secret\n", 0600);
    options_.nodes = {{"node01", {spot.prefix + "11"}}, {"node02", {spot.prefix + "12"}}};
    options_.udp_port = spot.port;
  }

  absl::StatusOr<Process> StartAgent(const std::string& spec,
                                     const std::vector<std::string>& env = {}) {
    auto log = harness::NewLogPath("agent-system");
    if (!log.ok()) return log.status();
    log_ = *log;
    harness::SpawnOptions o;
    o.env = EnvWith(env);
    return harness::SpawnProcess({HaAgentPath(), "--config", spec, "--node", "node01",
                                  "--state-dir", dir_.File("node01")},
                                 log_, o);
  }
  // A FIFO at `path` with this test reading it: a stand-in watchdog device
  // (a reader must exist before the agent opens it). Null on failure.
  std::unique_ptr<Recorder> StandInWatchdog(const std::string& path) {
    if (mkfifo(path.c_str(), 0600) != 0) return nullptr;
    const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return nullptr;
    return std::make_unique<Recorder>(fd, /*datagrams=*/false);
  }
  // The test's spec with `device` as its watchdog_device.
  std::string WatchdogSpec(const std::string& device) {
    return dir_.Write("cluster.yaml",
                      absl::StrCat(SpecYaml(options_), "watchdog_device: ", device, "\n"));
  }
  bool WaitUp() {
    AgentClient client(dir_.File("node01/agent.sock"));
    return harness::WaitFor([&] { return client.Status().ok(); }, absl::Seconds(20));
  }
  std::string Log() const { return ReadFile(log_); }

  ScratchDir dir_;
  SpecOptions options_;
  std::string log_;
};

TEST_F(AgentSystemTest, TellsSystemdReadyReloadingStoppingAndKeepsItsWatchdogAlive) {
  const std::string path = dir_.File("notify");
  const int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  Recorder notes(sock, /*datagrams=*/true);
  const std::string spec = dir_.Write("cluster.yaml", SpecYaml(options_));
  // WatchdogSec=600ms: WATCHDOG=1 every 200 ms.
  auto p = StartAgent(spec, {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=600000"});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(notes.WaitCount("READY=1", 1, absl::Seconds(20))) << Log();
  // Ready means the API answers already.
  AgentClient client(dir_.File("node01/agent.sock"));
  EXPECT_TRUE(client.Status().ok());
  EXPECT_TRUE(absl::StrContains(notes.Got()[0].text, "STATUS=node node01 of cluster testcluster"))
      << notes.Got()[0].text;
  // Periodic keep-alives.
  ASSERT_TRUE(notes.WaitCount("WATCHDOG=1", 5, absl::Seconds(20))) << Log();
  std::vector<absl::Time> dog;
  for (const Stamped& s : notes.Got()) {
    if (s.text == "WATCHDOG=1") dog.push_back(s.at);
  }
  // Not faster than the interval asks, over the whole stretch (a single
  // gap, read by this thread, can look short after a late read).
  ASSERT_GE(dog.size(), 5u);
  const absl::Duration span = dog.back() - dog.front();
  EXPECT_LE(static_cast<double>(dog.size() - 1),
            absl::FDivDuration(span, absl::Milliseconds(200)) + 1.5)
      << dog.size() << " keep-alives over " << span;
  // A reload: RELOADING=1, then READY=1 again.
  const size_t before = notes.Got().size();
  ASSERT_TRUE(p->Kill(SIGHUP).ok());
  ASSERT_TRUE(notes.WaitCount("READY=1", 2, absl::Seconds(20))) << Log();
  std::vector<std::string> after;
  for (size_t i = before; i < notes.Got().size(); ++i) {
    if (notes.Got()[i].text != "WATCHDOG=1") after.push_back(notes.Got()[i].text);
  }
  ASSERT_GE(after.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(after[0], "RELOADING=1\nMONOTONIC_USEC=")) << after[0];
  EXPECT_TRUE(absl::StartsWith(after[1], "READY=1\n")) << after[1];
  // The stop: STOPPING=1, then the exit.
  ASSERT_TRUE(p->Kill(SIGTERM).ok());
  auto exit = p->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok()) << exit->ToString();
  EXPECT_TRUE(harness::WaitFor([&] { return notes.Count("STOPPING=1") == 1; }, absl::Seconds(5)))
      << Log();
}

TEST_F(AgentSystemTest, WatchdogKeepAlivesStopWhileTheLoopIsFrozenAndACleanStopDisarmsIt) {
  const std::string fifo = dir_.File("watchdog");
  std::unique_ptr<Recorder> stand_in = StandInWatchdog(fifo);
  ASSERT_NE(stand_in, nullptr);
  Recorder& dog = *stand_in;
  const std::string spec = WatchdogSpec(fifo);
  auto p = StartAgent(spec);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(WaitUp()) << Log();
  // Healthy: keep-alives (a stand-in has no timeout to read: every 1 s).
  ASSERT_TRUE(dog.WaitCount("k", 3, absl::Seconds(20))) << Log();
  EXPECT_TRUE(absl::StrContains(Log(), absl::StrCat("watchdog ", fifo,
                                                    ": timeout as the device has it")))
      << Log();
  absl::Duration healthy_max_gap = absl::ZeroDuration();
  {
    std::vector<Stamped> g = dog.Got();
    for (size_t i = 1; i < g.size(); ++i) healthy_max_gap = std::max(healthy_max_gap, g[i].at - g[i - 1].at);
  }
  // Frozen: no keep-alive for three times the longest healthy gap. Counted
  // from once the kernel shows the agent stopped and this reader had time
  // to read what came before.
  ASSERT_TRUE(p->Kill(SIGSTOP).ok());
  ASSERT_TRUE(harness::WaitFor([&] { return ProcessState(p->pid()) == 'T'; }, absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor([&] { return dog.quiet_polls() >= 2; }, absl::Seconds(5)));
  const size_t at_stop = dog.Got().size();
  const absl::Time stopped = absl::Now();
  const absl::Duration frozen_for = std::max(3 * healthy_max_gap, absl::Seconds(3));
  EXPECT_FALSE(harness::WaitFor([&] { return dog.Got().size() > at_stop; }, frozen_for))
      << "a keep-alive came from a frozen loop";
  EXPECT_GE(absl::Now() - stopped, frozen_for);
  // Thawed: they resume.
  ASSERT_TRUE(p->Kill(SIGCONT).ok());
  ASSERT_TRUE(harness::WaitFor([&] { return dog.Got().size() > at_stop; }, absl::Seconds(20)));
  // A clean stop: the last byte is the magic close, then the device closes.
  ASSERT_TRUE(p->Kill(SIGTERM).ok());
  auto exit = p->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok()) << exit->ToString();
  ASSERT_TRUE(harness::WaitFor([&] { return dog.eof(); }, absl::Seconds(5)));
  std::vector<Stamped> g = dog.Got();
  ASSERT_FALSE(g.empty());
  EXPECT_EQ(g.back().text, "V");
  EXPECT_EQ(dog.Count("V"), 1u);
  EXPECT_TRUE(absl::StrContains(Log(), absl::StrCat("watchdog ", fifo, " disarmed (clean stop)")));
}

TEST_F(AgentSystemTest, AKilledAgentLeavesItsWatchdogArmed) {
  const std::string fifo = dir_.File("watchdog");
  std::unique_ptr<Recorder> stand_in = StandInWatchdog(fifo);
  ASSERT_NE(stand_in, nullptr);
  Recorder& dog = *stand_in;
  const std::string spec = WatchdogSpec(fifo);
  auto p = StartAgent(spec);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(dog.WaitCount("k", 1, absl::Seconds(20))) << Log();
  ASSERT_TRUE(p->Kill(SIGKILL).ok());
  ASSERT_TRUE(p->Wait(absl::Seconds(10)).ok());
  ASSERT_TRUE(harness::WaitFor([&] { return dog.eof(); }, absl::Seconds(5)));
  EXPECT_EQ(dog.Count("V"), 0u);
}

TEST_F(AgentSystemTest, AWatchdogDeviceThatCannotOpenStopsTheStartNamingIt) {
  const std::string spec = WatchdogSpec(dir_.File("no-watchdog"));
  auto r = harness::RunProcess({HaAgentPath(), "--config", spec, "--node", "node01",
                                "--state-dir", dir_.File("node01")},
                               absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code, 1) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, absl::StrCat("watchdog_device ", dir_.File("no-watchdog"),
                                                        ": cannot open: No such file or directory")))
      << r->output;
}

TEST_F(AgentSystemTest, AStartThatFailsNeverArmsTheWatchdog) {
  const std::string fifo = dir_.File("watchdog");
  std::unique_ptr<Recorder> stand_in = StandInWatchdog(fifo);
  ASSERT_NE(stand_in, nullptr);
  Recorder& dog = *stand_in;
  // The API socket cannot be made (its directory does not exist): a step
  // after the spec and the state directory, which fails the start.
  const std::string spec = dir_.Write(
      "cluster.yaml", absl::StrCat(SpecYaml(options_), "watchdog_device: ", fifo,
                                   "\napi:\n  unix_socket: ", dir_.File("missing/agent.sock"),
                                   "\n"));
  auto r = harness::RunProcess({HaAgentPath(), "--config", spec, "--node", "node01",
                                "--state-dir", dir_.File("node01")},
                               absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code, 1) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "cannot listen on the API socket")) << r->output;
  // The device was never opened: not one keep-alive that would arm it.
  EXPECT_EQ(dog.Got().size(), 0u);
  EXPECT_FALSE(absl::StrContains(r->output, "kept alive every")) << r->output;
}

std::vector<std::string> Lines(const std::string& path) {
  return absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
}

TEST_F(AgentSystemTest, RespawnProgramsRunAsTheirUserAndAreRestartedStoppedAndDropped) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to run programs as another user";
  // A directory the programs (user nobody) can write.
  const std::string out = dir_.File("out");
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(mkdir(out.c_str(), 0777), 0);
  ASSERT_EQ(chmod(out.c_str(), 0777), 0);
  const std::string a = out + "/a", b = out + "/b";
  const std::string keeper = absl::StrCat(
      "  - user: nobody\n    argv: [/bin/sh, -c, 'echo $$ $(id -un) >> ", a,
      "; exec sleep 600']\n");
  const std::string once = absl::StrCat("  - user: nobody\n    argv: [/bin/sh, -c, 'echo $$ >> ",
                                        b, "; exit 100']\n");
  const std::string spec =
      dir_.Write("cluster.yaml", absl::StrCat(SpecYaml(options_), "respawn:\n", keeper, once));
  auto p = StartAgent(spec);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(harness::WaitFor([&] { return Lines(a).size() == 1 && Lines(b).size() == 1; },
                               absl::Seconds(20)))
      << Log();
  std::vector<std::string> first = absl::StrSplit(Lines(a)[0], ' ');
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1], "nobody");
  // Exit status 100: not restarted, and said why.
  ASSERT_TRUE(harness::WaitFor(
      [&] { return absl::StrContains(Log(), "means do not restart"); }, absl::Seconds(20)))
      << Log();
  // Killed: restarted.
  int pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(first[0], &pid));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(harness::WaitFor([&] { return Lines(a).size() == 2; }, absl::Seconds(20))) << Log();
  EXPECT_TRUE(absl::StrContains(Log(), absl::StrCat("respawn[0] /bin/sh (pid ", pid,
                                                    ") ended: killed by signal 9")))
      << Log();
  EXPECT_EQ(Lines(b).size(), 1u);
  std::vector<std::string> second = absl::StrSplit(Lines(a)[1], ' ');
  int pid2 = 0;
  ASSERT_TRUE(absl::SimpleAtoi(second[0], &pid2));
  // A reload that drops the first entry stops it (the second stays ended).
  dir_.Write("cluster.yaml", absl::StrCat(SpecYaml(options_), "respawn:\n", once));
  ASSERT_TRUE(p->Kill(SIGHUP).ok());
  ASSERT_TRUE(harness::WaitFor([&] { return kill(pid2, 0) != 0; }, absl::Seconds(20))) << Log();
  EXPECT_TRUE(absl::StrContains(Log(), "is no longer in the spec: stopping it")) << Log();
  EXPECT_EQ(Lines(a).size(), 2u);
  // Added back, then the agent stops: the program is stopped with it.
  dir_.Write("cluster.yaml", absl::StrCat(SpecYaml(options_), "respawn:\n", keeper, once));
  ASSERT_TRUE(p->Kill(SIGHUP).ok());
  ASSERT_TRUE(harness::WaitFor([&] { return Lines(a).size() == 3; }, absl::Seconds(20))) << Log();
  int pid3 = 0;
  ASSERT_TRUE(absl::SimpleAtoi(std::vector<std::string>(absl::StrSplit(Lines(a)[2], ' '))[0], &pid3));
  ASSERT_TRUE(p->Kill(SIGTERM).ok());
  auto exit = p->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok()) << exit->ToString();
  EXPECT_NE(kill(pid3, 0), 0);
  EXPECT_TRUE(absl::StrContains(Log(), absl::StrCat("(pid ", pid3, "): stopping (SIGTERM)")))
      << Log();
}

}  // namespace
}  // namespace hacluster::testing
