// A running ha-agent is called ha-agent wherever processes are listed:
// /proc/PID/comm (what ps, top, pgrep and ss -p show), and pidof, which
// (sysvinit-utils on Debian) matches a bare name against argv[0] and its
// basename. The agent re-executes itself once for LD_BIND_NOW through
// /proc/self/exe, which would otherwise leave it named "exe"; checked with
// that re-exec, without it, and started through a symlink.
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

extern char** environ;

namespace hacluster::testing {
namespace {

using harness::Process;

class ProcessNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoopbackSpot spot = RandomLoopbackSpot();
    dir_.Write("authkey", "process-name-test-secret\n", 0600);
    SpecOptions o;
    o.nodes = {{"node01", {spot.prefix + "11"}}, {"node02", {spot.prefix + "12"}}};
    o.udp_port = spot.port;
    spec_ = dir_.Write("cluster.yaml", SpecYaml(o));
  }

  // Starts node01 from `program` and waits (bounded) until it answers on
  // its API socket, which it opens only after any re-exec.
  Process Start(const std::string& program, const harness::SpawnOptions& options = {}) {
    auto log = harness::NewLogPath("agent-process-name");
    EXPECT_TRUE(log.ok()) << log.status();
    auto p = harness::SpawnProcess(
        {program, "--config", spec_, "--node", "node01", "--state-dir", dir_.File("node01")},
        *log, options);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return Process();
    AgentClient client(dir_.File("node01/agent.sock"));
    EXPECT_TRUE(harness::WaitFor([&] { return client.Status().ok(); }, absl::Seconds(10)))
        << "the agent never answered; log " << *log << ":\n"
        << ReadFile(*log);
    return *std::move(p);
  }

  // The whitespace-separated words `argv` prints (exit status ignored:
  // pidof and pgrep exit 1 when they find nothing, which the test sees
  // as a missing pid).
  static std::vector<std::string> Words(const std::vector<std::string>& argv) {
    auto r = harness::RunProcess(argv);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    return absl::StrSplit(r->output, absl::ByAnyChar(" \n"), absl::SkipEmpty());
  }

  static bool Contains(const std::vector<std::string>& words, pid_t pid) {
    std::string p = absl::StrCat(pid);
    for (const std::string& w : words) {
      if (w == p) return true;
    }
    return false;
  }

  // Every way of listing processes names `p` ha-agent.
  static void ExpectNamedHaAgent(const Process& p) {
    ASSERT_GT(p.pid(), 0);
    std::string proc = absl::StrCat("/proc/", p.pid());
    EXPECT_EQ(ReadFile(proc + "/comm"), "ha-agent\n");
    std::string stat = ReadFile(proc + "/stat");
    EXPECT_NE(stat.find(" (ha-agent) "), std::string::npos) << stat;
    auto ps_comm = Words({"ps", "-o", "comm=", "-p", absl::StrCat(p.pid())});
    EXPECT_EQ(ps_comm, std::vector<std::string>{"ha-agent"});
    auto pidof = Words({"pidof", "ha-agent"});
    EXPECT_TRUE(Contains(pidof, p.pid()))
        << "pidof ha-agent: " << absl::StrJoin(pidof, " ") << "; pid " << p.pid();
    auto pgrep = Words({"pgrep", "-x", "ha-agent"});
    EXPECT_TRUE(Contains(pgrep, p.pid()))
        << "pgrep -x ha-agent: " << absl::StrJoin(pgrep, " ") << "; pid " << p.pid();
  }

  // The environment the process was exec'ed with (the last exec).
  static std::string ExecEnvironment(const Process& p) {
    return ReadFile(absl::StrCat("/proc/", p.pid(), "/environ"));
  }

  ScratchDir dir_;
  std::string spec_;
};

TEST_F(ProcessNameTest, AfterTheBindNowReExecItIsNamedHaAgent) {
  Process p = Start(HaAgentPath());
  // It did re-execute itself (the mark it sets for the new image).
  EXPECT_NE(ExecEnvironment(p).find(std::string("LD_BIND_NOW=ha-agent\0", 21)),
            std::string::npos);
  ExpectNamedHaAgent(p);
  // Its threads were started after the name was set.
  auto threads = Words({"ps", "-L", "-o", "comm=", "-p", absl::StrCat(p.pid())});
  EXPECT_FALSE(threads.empty());
  EXPECT_EQ(threads.front(), "ha-agent");
}

TEST_F(ProcessNameTest, WithoutTheReExecItIsNamedHaAgent) {
  harness::SpawnOptions options;
  options.env.emplace();
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "LD_BIND_NOW=")) options.env->push_back(*e);
  }
  options.env->push_back("LD_BIND_NOW=1");  // bound already: no re-exec
  Process p = Start(HaAgentPath(), options);
  EXPECT_NE(ExecEnvironment(p).find(std::string("LD_BIND_NOW=1\0", 14)), std::string::npos);
  ExpectNamedHaAgent(p);
}

TEST_F(ProcessNameTest, StartedThroughASymlinkNamedHaAgentIsFoundByPidof) {
  ASSERT_EQ(mkdir(dir_.File("sbin").c_str(), 0755), 0);
  std::string link = dir_.File("sbin/ha-agent");
  ASSERT_EQ(symlink(HaAgentPath().c_str(), link.c_str()), 0);
  Process p = Start(link);
  ExpectNamedHaAgent(p);
}

// A symlink of another name: the kernel would name the process after it;
// comm (ps, pgrep) still says ha-agent. (pidof matches argv[0], the name it
// was started by, which the agent leaves as the caller chose.)
TEST_F(ProcessNameTest, StartedThroughASymlinkOfAnotherNameCommIsStillHaAgent) {
  std::string link = dir_.File("hb-agent");
  ASSERT_EQ(symlink(HaAgentPath().c_str(), link.c_str()), 0);
  Process p = Start(link);
  EXPECT_EQ(ReadFile(absl::StrCat("/proc/", p.pid(), "/comm")), "ha-agent\n");
  EXPECT_TRUE(Contains(Words({"pgrep", "-x", "ha-agent"}), p.pid()));
}

}  // namespace
}  // namespace hacluster::testing
