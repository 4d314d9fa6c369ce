// What a real ha-agent says at start about its spec and its state
// directory: a spec warning is said at its file:line:col on stderr, at
// start and again at each reload (SIGHUP), and the agent runs; a state directory other users can write is refused
// with the directory named and the fix.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

using harness::Process;

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) {
    ++n;
  }
  return n;
}

class AgentStartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoopbackSpot spot = RandomLoopbackSpot();
    dir_.Write("authkey", "agent-start-test-secret\n", 0600);
    options_.nodes = {{"node01", {spot.prefix + "11"}}, {"node02", {spot.prefix + "12"}}};
    options_.udp_port = spot.port;
  }

  ScratchDir dir_;
  SpecOptions options_;
};

TEST_F(AgentStartTest, SpecWarningsAreSaidAtTheirLinesAtStartAndReload) {
  std::string base = SpecYaml(options_);
  const int n = static_cast<int>(std::count(base.begin(), base.end(), '\n'));
  std::string spec = dir_.Write("cluster.yaml", absl::StrCat(base, R"yaml(connectivity:
  deadping: 200ms
)yaml"));
  const std::string expected[] = {
      absl::StrCat(spec, ":", n + 2, ":13: warning: deadping has no effect: there are no "
                   "ping_nodes or ping_groups"),
  };
  auto log = harness::NewLogPath("agent-start");
  ASSERT_TRUE(log.ok()) << log.status();
  auto p = harness::SpawnProcess({HaAgentPath(), "--config", spec, "--node", "node01",
                                  "--state-dir", dir_.File("node01")},
                                 *log);
  ASSERT_TRUE(p.ok()) << p.status();
  // It starts (warnings do not stop it) ...
  AgentClient client(dir_.File("node01/agent.sock"));
  ASSERT_TRUE(harness::WaitFor([&] { return client.Status().ok(); }, absl::Seconds(10)))
      << ReadFile(*log);
  // ... having said each warning once (they are logged before the API opens).
  std::string text = ReadFile(*log);
  for (const std::string& w : expected) {
    EXPECT_EQ(Count(text, w), 1) << "expected once: " << w << "\nlog:\n" << text;
  }
  // And says them again when it re-reads the spec.
  ASSERT_TRUE(p->Kill(SIGHUP).ok());
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        std::string now = ReadFile(*log);
        return std::all_of(std::begin(expected), std::end(expected),
                           [&](const std::string& w) { return Count(now, w) == 2; });
      },
      absl::Seconds(10)))
      << ReadFile(*log);
  EXPECT_TRUE(client.Status().ok());
  ASSERT_TRUE(p->Kill(SIGTERM).ok());
  auto exit = p->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok()) << exit->ToString();
}

TEST_F(AgentStartTest, AWorldWritableStateDirectoryIsRefusedNamingIt) {
  std::string spec = dir_.Write("cluster.yaml", SpecYaml(options_));
  std::string state = dir_.File("state");
  ASSERT_EQ(mkdir(state.c_str(), 0700), 0);
  ASSERT_EQ(chmod(state.c_str(), 0777), 0);
  auto r = harness::RunProcess(
      {HaAgentPath(), "--config", spec, "--node", "node01", "--state-dir", state});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code, 1) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, absl::StrCat("state directory ", state, " (owner ")))
      << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "mode 0777) is writable by others")) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, absl::StrCat("chmod go-w ", state))) << r->output;
  // Nothing was made in it.
  EXPECT_NE(access((state + "/agent.lock").c_str(), F_OK), 0);
  EXPECT_NE(access((state + "/generation").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace hacluster::testing
