// Three real ha-agent processes on loopback, each on its own 127.x.y.z
// address: the cluster forms, a node killed with SIGKILL is declared dead by
// the others within deadtime + one keepalive (seen in GetStatus, in
// `hacli status -o json` and in `hacli watch`), and when it comes back it
// has generation + 1. Also: start-up refusals, SIGHUP reload, SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;
using harness::Process;

class LoopbackClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A loopback /24 of our own, so parallel test runs do not meet.
    LoopbackSpot spot = RandomLoopbackSpot();
    prefix_ = spot.prefix;
    port_ = spot.port;
    dir_.Write("authkey", "s3cret-of-the-test-cluster\n", 0600);
  }

  SpecOptions Options(int nodes) {
    SpecOptions o;
    for (int i = 1; i <= nodes; ++i) {
      o.nodes.push_back({absl::StrCat("node0", i), {absl::StrCat(prefix_, 10 + i)}});
    }
    o.udp_port = port_;
    o.keepalive = "100ms";
    o.deadtime = "600ms";
    o.initdead = "1s";
    return o;
  }

  std::string Socket(const std::string& node) { return dir_.File(node + "/agent.sock"); }

  absl::StatusOr<Process> StartAgent(const std::string& spec, const std::string& node) {
    auto log = harness::NewLogPath("agent-" + node);
    if (!log.ok()) return log.status();
    return harness::SpawnProcess({HaAgentPath(), "--config", spec, "--node", node,
                                  "--state-dir", dir_.File(node)},
                                 *log);
  }

  bool WaitState(const std::string& observer, const std::string& node, v1::NodeState state,
                 absl::Duration deadline = absl::Seconds(10)) {
    AgentClient client(Socket(observer));
    return harness::WaitFor([&] { return client.StateOf(node) == state; }, deadline);
  }

  ScratchDir dir_;
  std::string prefix_;
  int port_ = 0;
};

TEST_F(LoopbackClusterTest, KilledNodeIsDeclaredDeadInTimeAndComesBackWithTheNextGeneration) {
  std::string spec = dir_.Write("cluster.yaml", SpecYaml(Options(3)));
  std::vector<Process> agents;
  for (const char* n : {"node01", "node02", "node03"}) {
    auto p = StartAgent(spec, n);
    ASSERT_TRUE(p.ok()) << p.status();
    agents.push_back(*std::move(p));
  }
  for (const char* observer : {"node01", "node02", "node03"}) {
    for (const char* node : {"node01", "node02", "node03"}) {
      ASSERT_TRUE(WaitState(observer, node, v1::NODE_STATE_UP))
          << observer << " never saw " << node << " up; log " << agents[0].log_path();
    }
  }
  AgentClient client1(Socket("node01"));
  // Nobody is declared dead before initdead has passed: wait for its end.
  for (const char* observer : {"node01", "node02"}) {
    AgentClient c(Socket(observer));
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          auto st = c.Status();
          return st.ok() && !st->in_initdead();
        },
        absl::Seconds(10)));
  }
  uint64_t generation = client1.GenerationOf("node03");
  ASSERT_GE(generation, 1u);

  EventRecorder recorder(Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return recorder.connected(); }, absl::Seconds(5)));
  auto watch_log = harness::NewLogPath("hacli-watch");
  ASSERT_TRUE(watch_log.ok());
  auto watch = harness::SpawnProcess(
      {HacliPath(), "--socket", Socket("node02"), "watch", "--new", "-o", "json"}, *watch_log);
  ASSERT_TRUE(watch.ok()) << watch.status();
  // hacli connected once it is blocked reading: its stream is registered
  // when the agent has it; give it a bounded moment by probing status.
  ASSERT_TRUE(harness::WaitFor(
      [&] { return AgentClient(Socket("node02")).Status().ok(); }, absl::Seconds(5)));

  int64_t killed_at = MonotonicNs();
  ASSERT_TRUE(agents[2].Kill(SIGKILL).ok());
  ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_NODE_DEAD, "node03", absl::Seconds(10)));
  int64_t declared_at = 0;
  for (const auto& e : recorder.Events()) {
    if (e.kind() == v1::EVENT_KIND_NODE_DEAD && e.node() == "node03") {
      declared_at = e.monotonic_ns();
      break;
    }
  }
  double latency_ms = (declared_at - killed_at) / 1e6;
  EXPECT_LE(latency_ms, 600 + 100) << "declared dead " << latency_ms << " ms after the kill";
  EXPECT_GE(latency_ms, 600 - 100 - 5) << "declared dead too early";
  EXPECT_TRUE(WaitState("node02", "node03", v1::NODE_STATE_DEAD, absl::Seconds(5)));
  // The surviving nodes stay up for each other.
  EXPECT_EQ(client1.StateOf("node02"), v1::NODE_STATE_UP);

  // hacli status -o json says so.
  auto status = harness::RunOrError({HacliPath(), "--socket", Socket("node02"), "status", "-o", "json"});
  ASSERT_TRUE(status.ok()) << status.status();
  v1::GetStatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*status, &parsed).ok()) << *status;
  bool found = false;
  for (const auto& n : parsed.nodes()) {
    if (n.name() != "node03") continue;
    found = true;
    EXPECT_EQ(n.state(), v1::NODE_STATE_DEAD) << *status;
  }
  EXPECT_TRUE(found) << *status;
  // ...and so does hacli watch, one JSON object per line.
  bool watched = harness::WaitFor(
      [&] {
        for (absl::string_view line : absl::StrSplit(ReadFile(*watch_log), '\n')) {
          v1::Event e;
          if (google::protobuf::util::JsonStringToMessage(std::string(line), &e).ok() &&
              e.kind() == v1::EVENT_KIND_NODE_DEAD && e.node() == "node03") {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(5));
  EXPECT_TRUE(watched) << ReadFile(*watch_log);

  // Back again: a new generation.
  auto again = StartAgent(spec, "node03");
  ASSERT_TRUE(again.ok()) << again.status();
  agents[2] = *std::move(again);
  ASSERT_TRUE(WaitState("node01", "node03", v1::NODE_STATE_UP));
  EXPECT_EQ(client1.GenerationOf("node03"), generation + 1);
  EXPECT_TRUE(recorder.WaitFor(v1::EVENT_KIND_NODE_UP, "node03", absl::Seconds(5)));
}

TEST_F(LoopbackClusterTest, RestartWithinDeadtimeIsSeenAsANewGeneration) {
  SpecOptions o = Options(2);
  o.deadtime = "5s";
  o.keepalive = "100ms";
  std::string spec = dir_.Write("cluster.yaml", SpecYaml(o));
  auto a = StartAgent(spec, "node01");
  auto b = StartAgent(spec, "node02");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(WaitState("node01", "node02", v1::NODE_STATE_UP));
  AgentClient client(Socket("node01"));
  uint64_t generation = client.GenerationOf("node02");
  EventRecorder recorder(Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return recorder.connected(); }, absl::Seconds(5)));
  ASSERT_TRUE(b->Stop().ok());
  auto b2 = StartAgent(spec, "node02");
  ASSERT_TRUE(b2.ok());
  ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_NODE_RESTARTED, "node02", absl::Seconds(10)));
  EXPECT_FALSE(recorder.Has(v1::EVENT_KIND_NODE_DEAD, "node02"));
  EXPECT_EQ(client.GenerationOf("node02"), generation + 1);
}

TEST_F(LoopbackClusterTest, RefusesToStartWithAClearMessage) {
  std::string spec = dir_.Write("cluster.yaml", SpecYaml(Options(2)));
  // Unknown node.
  auto r = harness::RunProcess({HaAgentPath(), "--config", spec, "--node", "node09",
                                "--state-dir", dir_.File("x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code, 1);
  EXPECT_TRUE(absl::StrContains(r->output, "\"node09\" (--node), is not a node of the spec"))
      << r->output;
  // Key file readable by others.
  chmod(dir_.File("authkey").c_str(), 0644);
  r = harness::RunProcess({HaAgentPath(), "--config", spec, "--node", "node01", "--state-dir",
                           dir_.File("x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code, 1);
  EXPECT_TRUE(absl::StrContains(r->output, dir_.File("authkey"))) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "mode 0644")) << r->output;
  chmod(dir_.File("authkey").c_str(), 0600);
  // Invalid spec: file:line:col and a summary.
  std::string bad = dir_.Write("bad.yaml", SpecYaml(Options(2)) + "timing:\n  keepalive: soon\n");
  r = harness::RunProcess({HaAgentPath(), "--config", bad, "--node", "node01", "--state-dir",
                           dir_.File("x")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code, 1);
  EXPECT_TRUE(absl::StrContains(r->output, bad + ":")) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "is invalid")) << r->output;
  // Usage.
  r = harness::RunProcess({HaAgentPath(), "--nonsense"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code, 2);
  r = harness::RunProcess({HaAgentPath(), "--help"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code, 0);
  EXPECT_TRUE(absl::StrContains(r->output, "SIGHUP")) << r->output;
}

// A UDP socket bound to `address`:`port`; -1 when it cannot be.
int BoundUdpSocket(const std::string& address, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &at.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof(at)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST_F(LoopbackClusterTest, SighupAppliesAValidSpecAndKeepsTheOldOneOnAnInvalidOne) {
  std::string spec = dir_.Write("cluster.yaml", SpecYaml(Options(2)));
  auto a = StartAgent(spec, "node01");
  ASSERT_TRUE(a.ok());
  AgentClient client(Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return client.Status().ok(); }, absl::Seconds(10)));
  EventRecorder recorder(Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return recorder.connected(); }, absl::Seconds(5)));

  // Invalid: refused, still version 1 and still answering.
  dir_.Write("cluster.yaml", SpecYaml(Options(2)) + "bogus_key: 1\n");
  ASSERT_TRUE(a->Kill(SIGHUP).ok());
  ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_CONFIG_REJECTED, "", absl::Seconds(5)));
  auto st = client.Status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->config_version(), 1u);

  // Valid with a new version, timing and a second medium on the same
  // address and port (the old socket must be closed first): applied.
  std::string text = SpecYaml(Options(2));
  text = absl::StrReplaceAll(text, {{"config_version: 1", "config_version: 2"},
                                    {"deadtime: 600ms", "deadtime: 800ms"},
                                    {"media:\n", absl::StrCat("media:\n  - ucast: {interface: lo, port: ",
                                                              port_ + 1, "}\n")}});
  dir_.Write("cluster.yaml", text);
  ASSERT_TRUE(a->Kill(SIGHUP).ok());
  ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_CONFIG_RELOADED, "", absl::Seconds(5)));
  for (const auto& e : recorder.Events()) {
    if (e.kind() == v1::EVENT_KIND_CONFIG_RELOADED) {
      EXPECT_TRUE(absl::StrContains(e.reason(), "media reopened")) << e.reason();
    }
  }
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto s = client.Status();
        return s.ok() && s->config_version() == 2u && s->deadtime().nanos() == 800000000 &&
               s->nodes_size() == 2 && s->nodes(1).links_size() == 2;
      },
      absl::Seconds(5)));

  // A third medium on a port another socket holds: it cannot open, so the
  // reload is refused and the two running media are open again.
  const int taken_port = port_ + 2;
  const int holder = BoundUdpSocket(absl::StrCat(prefix_, 11), taken_port);
  ASSERT_GE(holder, 0);
  std::string three = absl::StrReplaceAll(
      text, {{"config_version: 2", "config_version: 3"},
             {"media:\n", absl::StrCat("media:\n  - ucast: {interface: lo, port: ", taken_port,
                                       "}\n")}});
  dir_.Write("cluster.yaml", three);
  const size_t before = recorder.Events().size();
  ASSERT_TRUE(a->Kill(SIGHUP).ok());
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto ev = recorder.Events();
        for (size_t i = before; i < ev.size(); ++i) {
          if (ev[i].kind() == v1::EVENT_KIND_CONFIG_REJECTED) return true;
        }
        return false;
      },
      absl::Seconds(5)));
  close(holder);
  st = client.Status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->config_version(), 2u);
  // The agent's heartbeats still go out on both running media: node02's
  // address on the spec's port and on port + 1 both receive them.
  for (int port : {port_, port_ + 1}) {
    const int peer = BoundUdpSocket(absl::StrCat(prefix_, 12), port);
    ASSERT_GE(peer, 0) << port;
    pollfd p{peer, POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 5000), 1) << "no heartbeat on port " << port;
    close(peer);
  }

  // SIGTERM: clean exit, socket gone.
  ASSERT_TRUE(a->Kill(SIGTERM).ok());
  auto exit = a->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok()) << exit->ToString();
  struct stat sb;
  EXPECT_NE(stat(Socket("node01").c_str(), &sb), 0);
}

}  // namespace
}  // namespace hacluster::testing
