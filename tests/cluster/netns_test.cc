// Real ha-agent processes on a real L2 segment: hosts in network namespaces
// joined by bridges (tests/harness NetLab). bcast and mcast clusters form;
// with two media, a link taken down is reported dead while the node stays
// up, and both down make the node dead; two clusters with different keys on
// one bridge ignore each other and report the failed authentication with
// the sender's address.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;
using harness::NetLab;
using harness::Process;

v1::LinkState LinkStateOf(AgentClient& client, const std::string& node, const std::string& link) {
  auto st = client.Status();
  if (!st.ok()) return v1::LINK_STATE_UNSPECIFIED;
  for (const auto& n : st->nodes()) {
    if (n.name() != node) continue;
    for (const auto& l : n.links()) {
      if (l.name() == link) return l.state();
    }
  }
  return v1::LINK_STATE_UNSPECIFIED;
}

class NetnsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
  }

  // node01 and node02 with eth0 on "lan" and eth1 on "hb".
  void BuildTwoNetworks(NetLab& lab) {
    ASSERT_TRUE(lab.status().ok()) << lab.status();
    ASSERT_TRUE(lab.AddNetwork("lan", "203.0.113.0/24").ok());
    ASSERT_TRUE(lab.AddNetwork("hb", "198.51.100.0/24").ok());
    for (int i : {1, 2}) {
      absl::Status s = lab.AddHost(absl::StrCat("node0", i),
                                   {{"lan", "eth0", absl::StrCat("203.0.113.1", i)},
                                    {"hb", "eth1", absl::StrCat("198.51.100.1", i)}});
      ASSERT_TRUE(s.ok()) << s;
    }
  }

  SpecOptions TwoNodeOptions(std::vector<std::string> media) {
    SpecOptions o;
    o.nodes = {{"node01", {"203.0.113.11", "198.51.100.11"}},
               {"node02", {"203.0.113.12", "198.51.100.12"}}};
    o.media = std::move(media);
    o.keepalive = "100ms";
    o.deadtime = "500ms";
    o.initdead = "1s";
    return o;
  }

  absl::StatusOr<Process> Start(NetLab& lab, const std::string& host, const std::string& node,
                                const std::string& spec, const std::string& state_dir) {
    auto log = harness::NewLogPath("netns-agent-" + host);
    if (!log.ok()) return log.status();
    return lab.Spawn(host,
                     {HaAgentPath(), "--config", spec, "--node", node, "--state-dir", state_dir},
                     *log);
  }

  // Starts node01 and node02 and waits until each sees the other up with
  // every link up.
  void StartPair(NetLab& lab, const std::string& spec, std::vector<Process>* agents,
                 const std::vector<std::string>& links) {
    for (const char* n : {"node01", "node02"}) {
      auto p = Start(lab, n, n, spec, dir_.File(n));
      ASSERT_TRUE(p.ok()) << p.status();
      agents->push_back(*std::move(p));
    }
    for (auto [observer, peer] : {std::pair<const char*, const char*>{"node01", "node02"},
                                  {"node02", "node01"}}) {
      AgentClient c(dir_.File(std::string(observer) + "/agent.sock"));
      for (const std::string& link : links) {
        ASSERT_TRUE(harness::WaitFor(
            [&] { return LinkStateOf(c, peer, link) == v1::LINK_STATE_UP; }, absl::Seconds(15)))
            << observer << " never heard " << peer << " on " << link << "; logs "
            << (*agents)[0].log_path() << " " << (*agents)[1].log_path() << "\n"
            << ReadFile((*agents)[0].log_path());
      }
      ASSERT_EQ(c.StateOf(peer), v1::NODE_STATE_UP);
    }
  }

  // With heartbeats on eth0 and eth1: eth1 down -> that link dead, node up;
  // eth0 down too -> node dead; links back -> node up.
  void LinkThenNodeDeath(NetLab& lab) {
    AgentClient c(dir_.File("node01/agent.sock"));
    EventRecorder recorder(dir_.File("node01/agent.sock"));
    ASSERT_TRUE(harness::WaitFor([&] { return recorder.connected(); }, absl::Seconds(5)));
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          auto st = c.Status();
          return st.ok() && !st->in_initdead();
        },
        absl::Seconds(10)));

    ASSERT_TRUE(lab.SetLinkUp("node02", "eth1", false).ok());
    ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_LINK_DEAD, "node02", absl::Seconds(5), "eth1"));
    EXPECT_EQ(LinkStateOf(c, "node02", "eth1"), v1::LINK_STATE_DEAD);
    EXPECT_EQ(LinkStateOf(c, "node02", "eth0"), v1::LINK_STATE_UP);
    EXPECT_EQ(c.StateOf("node02"), v1::NODE_STATE_UP);
    EXPECT_FALSE(recorder.Has(v1::EVENT_KIND_NODE_DEAD, "node02"));

    ASSERT_TRUE(lab.SetLinkUp("node02", "eth0", false).ok());
    ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_NODE_DEAD, "node02", absl::Seconds(5)));
    EXPECT_EQ(c.StateOf("node02"), v1::NODE_STATE_DEAD);

    ASSERT_TRUE(lab.SetLinkUp("node02", "eth0", true).ok());
    ASSERT_TRUE(lab.SetLinkUp("node02", "eth1", true).ok());
    EXPECT_TRUE(harness::WaitFor([&] { return c.StateOf("node02") == v1::NODE_STATE_UP; },
                                 absl::Seconds(10)));
  }

  ScratchDir dir_;
};

TEST_F(NetnsClusterTest, BcastClusterFormsAndTellsLinkDeathFromNodeDeath) {
  NetLab lab("bcast");
  BuildTwoNetworks(lab);
  dir_.Write("authkey", "bcast-secret\n", 0600);
  std::string spec = dir_.Write(
      "cluster.yaml",
      SpecYaml(TwoNodeOptions({"- bcast: {interface: eth0}", "- bcast: {interface: eth1}"})));
  std::vector<Process> agents;
  StartPair(lab, spec, &agents, {"eth0", "eth1"});
  if (HasFatalFailure()) return;
  LinkThenNodeDeath(lab);
}

TEST_F(NetnsClusterTest, McastClusterFormsAndTellsLinkDeathFromNodeDeath) {
  NetLab lab("mcast");
  BuildTwoNetworks(lab);
  dir_.Write("authkey", "mcast-secret\n", 0600);
  std::string spec = dir_.Write(
      "cluster.yaml",
      SpecYaml(TwoNodeOptions({"- mcast: {interface: eth0, group: 239.255.0.1, ttl: 1}",
                               "- mcast: {interface: eth1, group: 239.255.0.2, ttl: 1}"})));
  std::vector<Process> agents;
  StartPair(lab, spec, &agents, {"eth0", "eth1"});
  if (HasFatalFailure()) return;
  LinkThenNodeDeath(lab);
}

TEST_F(NetnsClusterTest, CutPathOnOneNetworkKillsOnlyThatLink) {
  NetLab lab("cut");
  BuildTwoNetworks(lab);
  dir_.Write("authkey", "ucast-secret\n", 0600);
  std::string spec = dir_.Write(
      "cluster.yaml",
      SpecYaml(TwoNodeOptions({"- ucast: {interface: eth0}", "- ucast: {interface: eth1}"})));
  std::vector<Process> agents;
  StartPair(lab, spec, &agents, {"eth0", "eth1"});
  if (HasFatalFailure()) return;
  AgentClient c(dir_.File("node01/agent.sock"));
  ASSERT_TRUE(lab.CutPath("node01", "node02", "eth0").ok());
  EXPECT_TRUE(harness::WaitFor(
      [&] { return LinkStateOf(c, "node02", "eth0") == v1::LINK_STATE_DEAD; }, absl::Seconds(5)));
  EXPECT_EQ(LinkStateOf(c, "node02", "eth1"), v1::LINK_STATE_UP);
  EXPECT_EQ(c.StateOf("node02"), v1::NODE_STATE_UP);
  ASSERT_TRUE(lab.HealPath("node01", "node02", "eth0").ok());
  EXPECT_TRUE(harness::WaitFor(
      [&] { return LinkStateOf(c, "node02", "eth0") == v1::LINK_STATE_UP; }, absl::Seconds(5)));
}

TEST_F(NetnsClusterTest, TwoClustersWithDifferentKeysOnOneBridgeIgnoreEachOther) {
  NetLab lab("two");
  ASSERT_TRUE(lab.status().ok()) << lab.status();
  ASSERT_TRUE(lab.AddNetwork("lan", "203.0.113.0/24").ok());
  const std::vector<std::pair<std::string, std::string>> hosts = {
      {"a1", "203.0.113.21"}, {"a2", "203.0.113.22"}, {"b1", "203.0.113.31"},
      {"b2", "203.0.113.32"}};
  for (const auto& [host, address] : hosts) {
    ASSERT_TRUE(lab.AddHost(host, {{"lan", "eth0", address}}).ok());
  }
  // Same port, same medium, same node names even: only the keys differ.
  std::vector<Process> agents;
  for (const char* cluster : {"a", "b"}) {
    SpecOptions o;
    o.cluster_name = "billing";
    o.nodes = {{"node01", {hosts[cluster[0] == 'a' ? 0 : 2].second}},
               {"node02", {hosts[cluster[0] == 'a' ? 1 : 3].second}}};
    o.media = {"- bcast: {interface: eth0}"};
    o.keepalive = "100ms";
    o.deadtime = "500ms";
    o.initdead = "1s";
    o.key_file = absl::StrCat("authkey-", cluster);
    dir_.Write(o.key_file, absl::StrCat("secret of cluster ", cluster, "\n"), 0600);
    std::string spec = dir_.Write(absl::StrCat("cluster-", cluster, ".yaml"), SpecYaml(o));
    for (int i : {1, 2}) {
      std::string host = absl::StrCat(cluster, i);
      auto p = Start(lab, host, absl::StrCat("node0", i), spec, dir_.File(host));
      ASSERT_TRUE(p.ok()) << p.status();
      agents.push_back(*std::move(p));
    }
  }
  AgentClient a1(dir_.File("a1/agent.sock"));
  AgentClient b1(dir_.File("b1/agent.sock"));
  ASSERT_TRUE(harness::WaitFor([&] { return a1.StateOf("node02") == v1::NODE_STATE_UP; },
                               absl::Seconds(15)));
  ASSERT_TRUE(harness::WaitFor([&] { return b1.StateOf("node02") == v1::NODE_STATE_UP; },
                               absl::Seconds(15)));
  // Each cluster keeps running on its own: node02 stays the one of its own
  // cluster (same generation as that agent's), with the other cluster's
  // packets dropped as failed authentication.
  EventRecorder recorder(dir_.File("a1/agent.sock"));
  ASSERT_TRUE(recorder.WaitFor(v1::EVENT_KIND_AUTH_FAILURE, "", absl::Seconds(10)));
  bool names_sender = false;
  for (const auto& e : recorder.Events()) {
    if (e.kind() != v1::EVENT_KIND_AUTH_FAILURE) continue;
    if (absl::StrContains(e.reason(), "203.0.113.3")) names_sender = true;
    EXPECT_FALSE(absl::StrContains(e.reason(), "203.0.113.22")) << "own cluster's packet dropped";
  }
  EXPECT_TRUE(names_sender);
  auto st = a1.Status();
  ASSERT_TRUE(st.ok());
  EXPECT_GT(st->dropped_packets().at("bad-mac"), 0u);
  // The log says it too, with the sender's address.
  EXPECT_TRUE(harness::WaitFor(
      [&] { return absl::StrContains(ReadFile(agents[0].log_path()), "from 203.0.113.3"); },
      absl::Seconds(5)))
      << ReadFile(agents[0].log_path());
  // Over a few deadtimes of the other cluster's traffic (two of its nodes
  // at 10 heartbeats a second: 40 more drops is 2 s, four deadtimes),
  // nothing dies or flaps in either cluster.
  uint64_t dropped = st->dropped_packets().at("bad-mac");
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto now = a1.Status();
        return now.ok() && now->dropped_packets().at("bad-mac") >= dropped + 40;
      },
      absl::Seconds(10)));
  EXPECT_FALSE(recorder.Has(v1::EVENT_KIND_NODE_DEAD, "node02"));
  EXPECT_FALSE(recorder.Has(v1::EVENT_KIND_NODE_RESTARTED, "node02"));
  EXPECT_EQ(a1.StateOf("node02"), v1::NODE_STATE_UP);
  EXPECT_EQ(b1.StateOf("node02"), v1::NODE_STATE_UP);
}

// The contract with migration: the YAML `hacli migrate` makes of a
// Heartbeat pair's /etc/ha.d runs as is, on hosts with those addresses.
TEST_F(NetnsClusterTest, SpecMigratedFromHeartbeatFilesRunsAsIs) {
  NetLab lab("migrated");
  ASSERT_TRUE(lab.status().ok()) << lab.status();
  ASSERT_TRUE(lab.AddNetwork("lan", "192.0.2.0/24").ok());
  ASSERT_TRUE(lab.AddNetwork("hb", "198.51.100.0/24").ok());
  for (int i : {1, 2}) {
    ASSERT_TRUE(lab.AddHost(absl::StrCat("node0", i),
                            {{"lan", "eth0", absl::StrCat("192.0.2.1", i)},
                             {"hb", "eth1", absl::StrCat("198.51.100.1", i)}})
                    .ok());
  }
  // git keeps no file modes: authkeys gets 0600 as on a real node.
  for (const char* n : {"node01", "node02"}) {
    std::filesystem::create_directories(dir_.File(absl::StrCat("legacy/", n)));
    for (const char* f : {"ha.cf", "haresources", "authkeys"}) {
      dir_.Write(absl::StrCat("legacy/", n, "/", f),
                 ReadFile(absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"),
                                       "/examples/legacy/", n, "/", f)),
                 0600);
    }
  }
  std::string spec = dir_.File("cluster.yaml");
  auto migrated = harness::RunOrError({HacliPath(), "migrate", "--from",
                                       dir_.File("legacy/node01"), "--peer",
                                       dir_.File("legacy/node02"), "-o", spec});
  ASSERT_TRUE(migrated.ok()) << migrated.status();
  std::vector<Process> agents;
  StartPair(lab, spec, &agents, {"eth0", "eth1"});
}

}  // namespace
}  // namespace hacluster::testing
