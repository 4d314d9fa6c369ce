// The rolling migration of docs/migration.md as one test, with the real
// Heartbeat 3.0.6 daemon (Debian's package) and a client probing the VIP
// every 5 ms from its own namespace:
//   1. Heartbeat + Heartbeat: node01 holds the VIP (its haresources line);
//      `hacli migrate --rolling` converts both nodes' files into the spec;
//   2. node02 replaced: its Heartbeat stops, ha-agent starts there on the
//      heartbeat3 wire and joins node01's Heartbeat; hb_standby on node01
//      hands the VIP to node02;
//   3. node01 replaced: its Heartbeat stops, ha-agent starts there on the
//      heartbeat3 wire; auto_failback brings the VIP home to node01;
//   4. one `hacli apply` switches both agents to the native wire.
// Throughout, no two hosts ever hold the VIP at once and the client never
// waits more than 1 s for an answer.
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/hb3_pair.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/heartbeat_node.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;
using harness::HeartbeatConfig;
using harness::HeartbeatNode;
using harness::NetLab;
using harness::Process;

constexpr const char* kVip = kHb3Vip;
constexpr int kProbePort = 7000;
constexpr char kSecret[] = "rolling-secret";

class RollingMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
    lab_ = std::make_unique<NetLab>("hb3roll");
    ASSERT_TRUE(lab_->status().ok()) << lab_->status();
    ASSERT_TRUE(lab_->AddNetwork("lan", "192.0.2.0/24").ok());
    ASSERT_TRUE(lab_->AddHost("node01", {{"lan", "eth0", "192.0.2.11"}}).ok());
    ASSERT_TRUE(lab_->AddHost("node02", {{"lan", "eth0", "192.0.2.12"}}).ok());
    ASSERT_TRUE(lab_->AddHost("client", {{"lan", "eth0", "192.0.2.50"}}).ok());
    for (const char* n : {"node01", "node02"}) {
      HeartbeatConfig c = Hb3HeartbeatConfig(n, kSecret, /*auto_failback=*/true);
      auto hb = HeartbeatNode::Create(*lab_, n, c);
      ASSERT_TRUE(hb.ok()) << hb.status();
      hb_.push_back(*std::move(hb));
    }
    certs_ = dir_.File("certs");
    ASSERT_EQ(mkdir(certs_.c_str(), 0700), 0);
    ApiCertOptions o;
    o.cluster = "mixed";
    o.nodes = {{"node01", {"192.0.2.11"}}, {"node02", {"192.0.2.12"}}};
    absl::Status s = WriteApiCerts(certs_, o);
    ASSERT_TRUE(s.ok()) << s;
    for (const char* n : {"node01", "node02"}) {
      ASSERT_EQ(mkdir(dir_.File(n).c_str(), 0700), 0);
      // The service behind the VIP, on both nodes for the whole test.
      auto log = harness::NewLogPath(absl::StrCat("hb3roll-probe-", n));
      ASSERT_TRUE(log.ok());
      auto p = lab_->Spawn(n,
                           {RunfilePath("tests/cluster/probe_server"), "--port",
                            absl::StrCat(kProbePort), "--name", n, "--max-runtime", "600"},
                           *log);
      ASSERT_TRUE(p.ok()) << p.status();
      servers_.push_back(*std::move(p));
    }
    VipSamplerOptions so;
    so.hosts = {{"node01", Netns("node01")}, {"node02", Netns("node02")}};
    so.address = kVip;
    so.pause = absl::Milliseconds(2);
    so.max_duration = absl::Seconds(300);
    auto sampler = VipHolderSampler::Start(so);
    ASSERT_TRUE(sampler.ok()) << sampler.status();
    sampler_ = *std::move(sampler);
  }

  void TearDown() override {
    if (probe_ != nullptr) probe_->Stop();
    if (sampler_ != nullptr) sampler_->Stop();
    if (HasFailure()) {
      for (auto& hb : hb_) std::cerr << hb->LogTail() << "\n";
      for (auto& [n, p] : agents_) {
        std::cerr << "--- ha-agent " << n << ":\n" << ReadFile(p.log_path()) << "\n";
      }
    }
    agents_.clear();
    hb_.clear();
    servers_.clear();
    lab_.reset();
  }

  std::string Netns(const std::string& host) const { return "/run/netns/" + lab_->prefix() + host; }
  std::string Socket(const std::string& n) const { return dir_.File(n + "/state/agent.sock"); }

  void StartAgent(const std::string& n) {
    auto log = harness::NewLogPath("hb3roll-agent-" + n);
    ASSERT_TRUE(log.ok());
    auto p = lab_->Spawn(n,
                         {HaAgentPath(), "--config", dir_.File(n + "/cluster.yaml"), "--node", n,
                          "--state-dir", dir_.File(n + "/state")},
                         *log);
    ASSERT_TRUE(p.ok()) << p.status();
    agents_.emplace_back(n, *std::move(p));
  }

  bool WaitHolder(const std::string& host, absl::Duration deadline) {
    return WaitSoleHolder(*sampler_, host, deadline);
  }

  // Prints the longest gap the client saw in [from, to] and checks it.
  void Phase(const std::string& name, agent::MonoTime from, agent::MonoTime to) {
    const ProbeGap gap = LongestGapIn(probe_->Answers(), from, to);
    std::cout << "phase " << name << ": longest gap " << absl::FormatDuration(gap.length())
              << ", answered by " << absl::StrJoin(NodesAnswering(probe_->Answers(), from, to), ",")
              << "\n";
    EXPECT_LE(gap.length(), absl::Seconds(1)) << name;
  }

  std::unique_ptr<NetLab> lab_;
  std::vector<std::unique_ptr<HeartbeatNode>> hb_;  // node01, node02
  std::vector<std::pair<std::string, Process>> agents_;
  std::vector<Process> servers_;
  ScratchDir dir_;
  std::string certs_;
  std::string migrated_spec_;
  std::unique_ptr<VipHolderSampler> sampler_;
  std::unique_ptr<VipProbe> probe_;
};

TEST_F(RollingMigrationTest, HeartbeatPairToAgentPairToNativeWire) {
  // 1. Heartbeat + Heartbeat.
  ASSERT_TRUE(hb_[0]->Start().ok());
  ASSERT_TRUE(hb_[1]->Start().ok());
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(40))) << "Heartbeat never took the VIP";
  ASSERT_TRUE(WaitHeartbeatSeesActive(*hb_[0], "node02"));
  ASSERT_TRUE(WaitHeartbeatSeesActive(*hb_[1], "node01"));
  ASSERT_TRUE(WaitHeartbeatSettled(*hb_[0]));
  VipProbeOptions po;
  po.netns_path = Netns("client");
  po.address = kVip;
  po.port = kProbePort;
  po.interval = absl::Milliseconds(5);
  po.max_duration = absl::Seconds(240);
  auto probe = VipProbe::Start(po);
  ASSERT_TRUE(probe.ok()) << probe.status();
  probe_ = *std::move(probe);
  const agent::MonoTime t0 = agent::MonotonicNow();
  ASSERT_TRUE(probe_->WaitForAnswer(t0, "node01", absl::Seconds(10)).has_value())
      << "the client gets no answer on the VIP";

  // Step 0 of the guide, while Heartbeat runs: `hacli migrate --rolling`
  // of both nodes' files, the spec and its key file on both nodes. (The
  // lab's Heartbeat logs to a file the test reads for its log lines: the
  // agents log to stderr instead of that ha.cf logfile. The API section is
  // for the final apply.)
  {
    // Copies of the two /etc/ha.d: the lab gives each daemon a logfile of
    // its own, where real pairs have one ha.cf but for the ucast lines.
    for (int i = 0; i < 2; ++i) {
      const std::string n = i == 0 ? "node01" : "node02";
      ASSERT_EQ(mkdir(dir_.File(n + "-ha.d").c_str(), 0700), 0);
      for (const char* f : {"ha.cf", "haresources", "authkeys"}) {
        std::string text = ReadFile(hb_[i]->Dir() + "/etc/ha.d/" + f);
        ASSERT_FALSE(text.empty()) << f;
        if (std::string(f) == "ha.cf") {
          const size_t at = text.find("logfile ");
          ASSERT_NE(at, std::string::npos) << text;
          text.replace(at, text.find('\n', at) - at, "logfile /var/log/ha-log");
        }
        dir_.Write(n + "-ha.d/" + f, text, 0600);
      }
    }
    auto mig = harness::RunProcess(
        {HacliPath(), "migrate", "--from", dir_.File("node02-ha.d"), "--peer",
         dir_.File("node01-ha.d"), "--node", "node02", "--rolling", "--cluster-name", "mixed",
         "-o", dir_.File("cluster.yaml")},
        absl::Seconds(30));
    ASSERT_TRUE(mig.ok()) << mig.status();
    ASSERT_TRUE(mig->status.ok()) << mig->output;
    std::string spec = ReadFile(dir_.File("cluster.yaml"));
    ASSERT_NE(spec.find("wire: heartbeat3"), std::string::npos) << spec;
    const size_t logging = spec.find("\nlogging:\n");
    ASSERT_NE(logging, std::string::npos) << spec;
    const size_t after = spec.find("\nwire:", logging + 1);
    ASSERT_NE(after, std::string::npos) << spec;
    spec.erase(logging, after - logging);
    spec += ApiYaml({":7443"}, certs_);
    migrated_spec_ = spec;
    const std::string key = ReadFile(dir_.File("cluster.authkey1"));
    ASSERT_FALSE(key.empty());
    for (const char* n : {"node01", "node02"}) {
      dir_.Write(absl::StrCat(n, "/cluster.yaml"), spec);
      dir_.Write(absl::StrCat(n, "/cluster.authkey1"), key, 0600);
    }
  }

  // 2. node02: Heartbeat out, ha-agent in; hb_standby on node01.
  const agent::MonoTime t1 = agent::MonotonicNow();
  ASSERT_TRUE(hb_[1]->Stop().ok());
  StartAgent("node02");
  AgentClient c2(Socket("node02"));
  ASSERT_TRUE(harness::WaitFor([&] { return c2.StateOf("node01") == v1::NODE_STATE_UP; },
                               absl::Seconds(30)));
  ASSERT_TRUE(WaitHeartbeatSeesActive(*hb_[0], "node02"));
  ASSERT_TRUE(WaitHeartbeatSettled(*hb_[0]));
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(1)));
  auto r = hb_[0]->Exec({harness::kHbStandby}, absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(WaitHolder("node02", absl::Seconds(30))) << "hb_standby did not hand over";
  ASSERT_TRUE(probe_->WaitForAnswer(agent::MonotonicNow(), "node02", absl::Seconds(10)));
  Phase("Heartbeat + ha-agent", t1, agent::MonotonicNow());

  // 3. node01: Heartbeat out, ha-agent in; auto_failback brings the VIP
  // home over the heartbeat3 wire, agent to agent.
  const agent::MonoTime t2 = agent::MonotonicNow();
  ASSERT_TRUE(hb_[0]->Stop().ok());
  StartAgent("node01");
  AgentClient c1(Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return c1.StateOf("node02") == v1::NODE_STATE_UP; },
                               absl::Seconds(30)));
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(30))) << "the VIP did not fail back";
  ASSERT_TRUE(probe_->WaitForAnswer(agent::MonotonicNow(), "node01", absl::Seconds(10)));
  Phase("ha-agent + ha-agent, heartbeat3", t2, agent::MonotonicNow());

  // 4. One apply to the native wire.
  const agent::MonoTime t3 = agent::MonotonicNow();
  EventRecorder events(Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return events.connected(); }, absl::Seconds(5)));
  // The converted spec with wire: native and the next config_version (it
  // had none: version 0).
  std::string native = migrated_spec_;
  const size_t wire = native.find("wire: heartbeat3");
  ASSERT_NE(wire, std::string::npos);
  native.replace(wire, strlen("wire: heartbeat3"), "wire: native");
  native = "config_version: 1\n" + native;
  const std::string next = dir_.Write("native.yaml", native);
  auto apply = lab_->Run("client",
                         {HacliPath(), "--ca", certs_ + "/ca.crt", "--cert",
                          certs_ + "/admin.crt", "--key", certs_ + "/admin.key", "apply", "-f",
                          next},
                         absl::Seconds(60));
  ASSERT_TRUE(apply.ok()) << apply.status();
  ASSERT_TRUE(apply->status.ok()) << apply->output;
  for (auto* c : {&c1, &c2}) {
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          auto st = c->Status();
          if (!st.ok() || st->config_version() != 1) return false;
          for (const auto& n : st->nodes()) {
            if (n.wire() != "native" || n.state() != v1::NODE_STATE_UP) return false;
          }
          return true;
        },
        absl::Seconds(10)))
        << "not both on the native wire, both up";
  }
  // A few deadtimes on the native wire: nobody died, the VIP stayed.
  const agent::MonoTime settled = agent::MonotonicNow();
  ASSERT_TRUE(harness::WaitFor([&] { return agent::MonotonicNow() - settled >= absl::Seconds(5); },
                               absl::Seconds(10), absl::Milliseconds(100)));
  EXPECT_FALSE(events.Has(v1::EVENT_KIND_NODE_DEAD, "node02"));
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(1)));
  Phase("native wire", t3, agent::MonotonicNow());

  probe_->Stop();
  Phase("whole migration", t0, agent::MonotonicNow());
  EXPECT_EQ(sampler_->overlap_rounds(), 0u) << "two holders at once";
}

}  // namespace
}  // namespace hacluster::testing
