// A mixed pair: the real Heartbeat 3.0.6 daemon (Debian's package) on
// node01 and ha-agent on the heartbeat3 wire on node02, on one bridge
// (tests/harness HeartbeatNode, NetLab). The pair forms whichever starts
// first and each side reports the other up (`cl_status nodestatus`, the
// agent's status with the peer's wire and software); hb_standby on the
// Heartbeat node and `hacli standby` / `hacli takeover` on the agent move
// the VIP both ways with never two holders; a kill -9 of either side (and
// the VIP gone with its machine) lets the other take the VIP; a link loss
// heals to one holder; Heartbeat-format messages that are forged,
// wrong-key or replayed are dropped and counted; auto_failback on and off.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/core/clock.h"
#include "agent/hb3wire/codec.h"
#include "agent/wire/keyring.h"
#include "gtest/gtest.h"
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
constexpr char kSecret[] = "mixed-pair-secret";
constexpr absl::Duration kDeadtime = kHb3Deadtime;

class MixedPairTest : public ::testing::Test {
 protected:
  // auto_failback on both sides.
  virtual bool Failback() const { return true; }
  // A second group, vip2, in node02's haresources line.
  virtual bool SecondGroup() const { return false; }

  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
    lab_ = std::make_unique<NetLab>("hb3mix");
    ASSERT_TRUE(lab_->status().ok()) << lab_->status();
    ASSERT_TRUE(lab_->AddNetwork("lan", "192.0.2.0/24").ok());
    ASSERT_TRUE(lab_->AddHost("node01", {{"lan", "eth0", "192.0.2.11"}}).ok());
    ASSERT_TRUE(lab_->AddHost("node02", {{"lan", "eth0", "192.0.2.12"}}).ok());
    HeartbeatConfig c = Hb3HeartbeatConfig("node01", kSecret, Failback(), SecondGroup());
    auto hb = HeartbeatNode::Create(*lab_, "node01", c);
    ASSERT_TRUE(hb.ok()) << hb.status();
    hb_ = *std::move(hb);
    dir_.Write("authkey", absl::StrCat(kSecret, "\n"), 0600);
    spec_ = dir_.Write("cluster.yaml", Hb3AgentSpec(1, "heartbeat3", Failback(), "", SecondGroup()));
    VipSamplerOptions so;
    so.hosts = {{"node01", "/run/netns/" + lab_->prefix() + "node01"},
                {"node02", "/run/netns/" + lab_->prefix() + "node02"}};
    so.address = kVip;
    so.pause = absl::Milliseconds(2);
    so.max_duration = absl::Seconds(240);
    auto sampler = VipHolderSampler::Start(so);
    ASSERT_TRUE(sampler.ok()) << sampler.status();
    sampler_ = *std::move(sampler);
    if (SecondGroup()) {
      so.address = kHb3Vip2;
      auto sampler2 = VipHolderSampler::Start(so);
      ASSERT_TRUE(sampler2.ok()) << sampler2.status();
      sampler2_ = *std::move(sampler2);
    }
  }

  void TearDown() override {
    if (sampler_ != nullptr) sampler_->Stop();
    if (sampler2_ != nullptr) sampler2_->Stop();
    if (HasFailure()) {
      if (hb_ != nullptr) std::cerr << "--- Heartbeat node01 log:\n" << hb_->LogTail() << "\n";
      if (agent_.pid() > 0) std::cerr << "--- ha-agent node02 log:\n" << ReadFile(agent_.log_path());
    }
    agent_ = Process();
    hb_.reset();
    lab_.reset();
  }

  void StartAgent() {
    auto log = harness::NewLogPath("hb3mix-agent");
    ASSERT_TRUE(log.ok()) << log.status();
    auto p = lab_->Spawn("node02",
                         {HaAgentPath(), "--config", spec_, "--node", "node02", "--state-dir",
                          dir_.File("state")},
                         *log);
    ASSERT_TRUE(p.ok()) << p.status();
    agent_ = *std::move(p);
  }

  std::string Socket() const { return dir_.File("state/agent.sock"); }

  harness::RunResult Hacli(std::vector<std::string> args) {
    std::vector<std::string> argv = {HacliPath(), "--socket", Socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = harness::RunProcess(argv, absl::Seconds(30));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  }

  // Both sides report the other up; the agent names the peer's wire and
  // software.
  void ExpectPairFormed() {
    AgentClient c(Socket());
    ASSERT_TRUE(harness::WaitFor([&] { return c.StateOf("node01") == v1::NODE_STATE_UP; },
                                 absl::Seconds(30)))
        << "ha-agent never saw node01 up";
    ASSERT_TRUE(WaitHeartbeatSeesActive(*hb_, "node02", absl::Seconds(30)))
        << "Heartbeat never reported node02 active";
    auto st = c.Status();
    ASSERT_TRUE(st.ok()) << st.status();
    bool seen = false;
    for (const auto& n : st->nodes()) {
      EXPECT_EQ(n.wire(), "heartbeat3") << n.name();
      if (n.name() == "node01") {
        seen = true;
      } else {
        EXPECT_TRUE(absl::StartsWith(n.software(), "ha-agent ")) << n.software();
      }
    }
    EXPECT_TRUE(seen);
    // Heartbeat's start-up hand-shake and its auto-failback are over (an
    // operator does not run hb_standby in the middle of a node's join).
    EXPECT_TRUE(WaitHeartbeatSettled(*hb_)) << "Heartbeat did not settle";
    // The peer's software is known from its first status message.
    EXPECT_TRUE(harness::WaitFor(
        [&] {
          auto s = c.Status();
          if (!s.ok()) return false;
          for (const auto& n : s->nodes()) {
            if (n.name() == "node01") return n.software() == "Heartbeat 3 (protocol 1)";
          }
          return false;
        },
        absl::Seconds(5)));
    harness::RunResult text = Hacli({"status"});
    EXPECT_NE(text.output.find("heartbeat3"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("Heartbeat 3 (protocol 1)"), std::string::npos) << text.output;
  }

  bool WaitHolder(const std::string& host, absl::Duration deadline) {
    return WaitSoleHolder(*sampler_, host, deadline);
  }

  // Sends, from node01's namespace to the agent's UDP port, messages in
  // Heartbeat's format that must be dropped: signed with a wrong secret,
  // with a key index the agent lacks, altered after signing, and a replay
  // of node01's current generation. Each is counted in the agent's status
  // by reason, as the native wire's are, and node01 stays up.
  void ExpectBadMessagesDroppedAndCounted() {
    AgentClient c(Socket());
    auto before = c.Status();
    ASSERT_TRUE(before.ok());
    uint64_t hg = 0;
    for (const auto& n : before->nodes()) {
      if (n.name() == "node01") hg = n.generation();
    }
    ASSERT_GT(hg, 0u);
    auto count = [](const v1::GetStatusResponse& st, const std::string& reason) -> uint64_t {
      auto it = st.dropped_packets().find(reason);
      return it == st.dropped_packets().end() ? 0 : it->second;
    };
    wire::Keyring right({{1, spec::v1::AUTH_METHOD_SHA1, kSecret}}, 1);
    wire::Keyring wrong({{1, spec::v1::AUTH_METHOD_SHA1, "guessed"}}, 1);
    wire::Keyring other_index({{5, spec::v1::AUTH_METHOD_SHA1, kSecret}}, 5);
    auto make = [&](const wire::Keyring& ring, uint64_t generation) {
      hb3wire::Codec codec({"node01", std::string(16, 'f'), generation}, {"node01", "node02"},
                           &ring);
      hb3wire::HaMessage m;
      m.Add("t", "resource");
      m.Add("rsc_hold", "none");
      m.Add("rtype", "full");
      m.Add("isstable", "1");
      auto d = codec.Encode(m, true, absl::Now(), "0.00 0.00 0.00 1/1 1");
      EXPECT_TRUE(d.ok()) << d.status();
      return d.ok() ? *d : std::string();
    };
    std::string altered = make(right, hg + 1000);
    altered[altered.find("rsc_hold=none") + 9] = 'N';
    const std::vector<std::string> frames = {make(wrong, hg + 1000), make(other_index, hg + 1000),
                                             altered, make(right, hg)};
    auto fd = OpenSocketInNetns("/run/netns/" + lab_->prefix() + "node01", AF_INET, SOCK_DGRAM, 0);
    ASSERT_TRUE(fd.ok()) << fd.status();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(694);
    inet_pton(AF_INET, "192.0.2.12", &to.sin_addr);
    for (const std::string& f : frames) {
      ASSERT_EQ(sendto(*fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(f.size()));
    }
    close(*fd);
    EXPECT_TRUE(harness::WaitFor(
        [&] {
          auto st = c.Status();
          return st.ok() && count(*st, "bad-mac") >= count(*before, "bad-mac") + 2 &&
                 count(*st, "unknown-key") >= count(*before, "unknown-key") + 1 &&
                 count(*st, "replay") >= count(*before, "replay") + 1;
        },
        absl::Seconds(10)))
        << "forged, wrong-key and replayed Heartbeat messages not counted by reason";
    EXPECT_EQ(c.StateOf("node01"), v1::NODE_STATE_UP);
  }

  void ExpectNoOverlap() {
    EXPECT_EQ(sampler_->overlap_rounds(), 0u);
    for (const HolderOverlap& o : sampler_->Overlaps()) {
      ADD_FAILURE() << "two holders at once: " << o.holders.size();
    }
  }

  std::unique_ptr<NetLab> lab_;
  std::unique_ptr<HeartbeatNode> hb_;
  ScratchDir dir_;
  std::string spec_;
  Process agent_;
  std::unique_ptr<VipHolderSampler> sampler_;
  std::unique_ptr<VipHolderSampler> sampler2_;
};

// Heartbeat first: it takes the VIP; the agent joins. hb_standby hands the
// VIP to the agent, hacli standby hands it back, hacli takeover takes it,
// hb_takeover on the Heartbeat node takes it back, hacli takeover again;
// bad Heartbeat-format messages are dropped and counted, hacli move is
// refused; kill -9 of the agent (its VIP gone with it) and Heartbeat takes
// it within its deadtime and resource-script time.
TEST_F(MixedPairTest, HeartbeatFirstStandbyAndTakeoverBothWaysThenAgentCrash) {
  ASSERT_TRUE(hb_->Start().ok());
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(40))) << "Heartbeat never took the VIP";
  StartAgent();
  ExpectPairFormed();
  if (HasFatalFailure()) return;
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(1)));

  auto r = hb_->Exec({harness::kHbStandby}, absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(WaitHolder("node02", absl::Seconds(30)))
      << "hb_standby on node01 did not move the VIP to the ha-agent";
  AgentClient c(Socket());
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = c.Status();
        if (!st.ok()) return false;
        for (const auto& g : st->groups()) {
          if (g.name() == "vip") return g.holder() == "node02";
        }
        return false;
      },
      absl::Seconds(10)));
  harness::RunResult standby = Hacli({"standby", "--timeout", "30s"});
  EXPECT_TRUE(standby.status.ok()) << standby.output;
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(30)))
      << "hacli standby on node02 did not move the VIP to Heartbeat";

  harness::RunResult takeover = Hacli({"takeover", "--timeout", "30s"});
  EXPECT_TRUE(takeover.status.ok()) << takeover.output;
  ASSERT_TRUE(WaitHolder("node02", absl::Seconds(30)))
      << "hacli takeover on node02 did not take the VIP from Heartbeat";

  // hb_takeover on the Heartbeat node asks for everything back.
  auto back = hb_->Exec({harness::kHbTakeover}, absl::Seconds(20));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(30)))
      << "hb_takeover on node01 did not take the VIP from the ha-agent";
  takeover = Hacli({"takeover", "--timeout", "30s"});
  EXPECT_TRUE(takeover.status.ok()) << takeover.output;
  ASSERT_TRUE(WaitHolder("node02", absl::Seconds(30)));

  ExpectBadMessagesDroppedAndCounted();

  harness::RunResult move = Hacli({"move", "vip", "node01"});
  EXPECT_FALSE(move.status.ok());
  EXPECT_NE(move.output.find("heartbeat3"), std::string::npos) << move.output;
  ExpectNoOverlap();

  // The agent's machine dies: kill -9 and its VIP gone.
  const agent::MonoTime killed = agent::MonotonicNow();
  ASSERT_TRUE(agent_.Kill(SIGKILL).ok());
  (void)agent_.Wait(absl::Seconds(5));
  auto del = lab_->Spawn("node02", {"ip", "addr", "del", absl::StrCat(kVip, "/24"), "dev", "eth0"},
                         *harness::NewLogPath("hb3mix-del"));
  ASSERT_TRUE(del.ok());
  (void)del->Wait(absl::Seconds(5));
  ASSERT_TRUE(WaitHolder("node01", kDeadtime + absl::Seconds(20)))
      << "Heartbeat did not take the VIP after the ha-agent died";
  std::optional<agent::MonoTime> at = sampler_->LastSeenHolding("node01");
  ASSERT_TRUE(at.has_value());
  std::cout << "Heartbeat took the VIP " << absl::FormatDuration(*at - killed)
            << " after kill -9 of ha-agent (deadtime " << absl::FormatDuration(kDeadtime)
            << ", plus its IPaddr script)\n";
  ExpectNoOverlap();
}

// The agent first (auto_failback on): it takes the VIP, node01 being dead
// to it; Heartbeat joins and gets its VIP back through the hand-over.
// kill -9 of Heartbeat with its VIP gone: the agent holds the VIP within
// deadtime + 100 ms.
TEST_F(MixedPairTest, AgentFirstFailbackAndHeartbeatCrash) {
  StartAgent();
  ASSERT_TRUE(WaitHolder("node02", absl::Seconds(30))) << "the agent never took the VIP";
  ASSERT_TRUE(hb_->Start().ok());
  ExpectPairFormed();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(30)))
      << "auto_failback: the VIP did not go back to Heartbeat's node01";
  ExpectNoOverlap();

  const agent::MonoTime killed = agent::MonotonicNow();
  ASSERT_TRUE(hb_->KillHard().ok());
  ASSERT_TRUE(hb_->RemoveAddress(kVip).ok());
  ASSERT_TRUE(WaitHolder("node02", kDeadtime + absl::Seconds(10)))
      << "the agent did not take the VIP after Heartbeat died";
  std::vector<std::pair<agent::MonoTime, agent::MonoTime>> stretches =
      sampler_->HeldStretches("node02");
  ASSERT_FALSE(stretches.empty());
  const absl::Duration took = stretches.back().first - killed;
  std::cout << "ha-agent held the VIP " << absl::FormatDuration(took)
            << " after kill -9 of Heartbeat (deadtime " << absl::FormatDuration(kDeadtime)
            << ")\n";
  EXPECT_LE(took, kDeadtime + absl::Milliseconds(100));
  ExpectNoOverlap();
}

// Link loss: cut off from each other for longer than deadtime, each side
// takes the other for dead and runs the VIP (a two-node partition without
// fencing, as with two Heartbeat nodes). Once the path heals, the pair
// settles back to one holder, node01 (the VIP's haresources node), and
// each side reports the other up.
TEST_F(MixedPairTest, LinkLossHealsToOneHolder) {
  ASSERT_TRUE(hb_->Start().ok());
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(40))) << "Heartbeat never took the VIP";
  StartAgent();
  ExpectPairFormed();
  if (HasFatalFailure()) return;

  ASSERT_TRUE(lab_->CutPath("node01", "node02").ok());
  AgentClient c(Socket());
  ASSERT_TRUE(harness::WaitFor([&] { return c.StateOf("node01") == v1::NODE_STATE_DEAD; },
                               kDeadtime + absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        std::vector<std::string> h = sampler_->Holders();
        return h.size() == 2;
      },
      absl::Seconds(10)))
      << "in the partition each side runs the VIP";
  ASSERT_TRUE(lab_->HealPath("node01", "node02").ok());
  ASSERT_TRUE(harness::WaitFor([&] { return c.StateOf("node01") == v1::NODE_STATE_UP; },
                               absl::Seconds(10)));
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(20)))
      << "after the heal the VIP did not settle on node01 alone";
  EXPECT_TRUE(WaitHeartbeatSeesActive(*hb_, "node02", absl::Seconds(20)));
  // And it stays that way.
  const agent::MonoTime healed = agent::MonotonicNow();
  ASSERT_TRUE(harness::WaitFor([&] { return agent::MonotonicNow() - healed >= absl::Seconds(3); },
                               absl::Seconds(5), absl::Milliseconds(100)));
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(1)));
}

class MixedPairTwoGroupsTest : public MixedPairTest {
 protected:
  bool SecondGroup() const override { return true; }
};

// Both halves of haresources: vip on node01 (Heartbeat's), vip2 on node02
// (the agent's). Heartbeat starts first and takes both (node02 dead to it);
// the agent joins and Heartbeat's auto_failback hands vip2 over. The agent
// dies (kill -9, vip2 gone with it): Heartbeat takes vip2. The agent comes
// back: it starts nothing Heartbeat holds while it does not know what that
// is (its first heartbeats after a restart), and gets vip2 back through
// Heartbeat's failback; vip2 never has two holders. A clean stop of the
// agent says `shutdone`: Heartbeat takes vip2 at once.
TEST_F(MixedPairTwoGroupsTest, AgentsGroupFailsBackAndNeverRunsTwiceAfterAnAgentCrash) {
  ASSERT_TRUE(hb_->Start().ok());
  ASSERT_TRUE(WaitSoleHolder(*sampler2_, "node01", absl::Seconds(40)))
      << "Heartbeat did not take vip2 while node02 was dead";
  StartAgent();
  ExpectPairFormed();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitSoleHolder(*sampler2_, "node02", absl::Seconds(30)))
      << "Heartbeat's failback did not hand vip2 to the agent";
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(1)));

  ASSERT_TRUE(agent_.Kill(SIGKILL).ok());
  (void)agent_.Wait(absl::Seconds(5));
  auto del = lab_->Spawn("node02", {"ip", "addr", "del", absl::StrCat(kHb3Vip2, "/24"), "dev", "eth0"},
                         *harness::NewLogPath("hb3mix-del2"));
  ASSERT_TRUE(del.ok());
  (void)del->Wait(absl::Seconds(5));
  ASSERT_TRUE(WaitSoleHolder(*sampler2_, "node01", kDeadtime + absl::Seconds(20)))
      << "Heartbeat did not take vip2 after the agent died";
  ASSERT_TRUE(WaitHeartbeatSettled(*hb_));

  StartAgent();
  ASSERT_TRUE(WaitSoleHolder(*sampler2_, "node02", absl::Seconds(30)))
      << "vip2 did not come back to the restarted agent";
  EXPECT_TRUE(WaitHolder("node01", absl::Seconds(1)));
  EXPECT_EQ(sampler2_->overlap_rounds(), 0u) << "vip2 on both nodes at once";
  ExpectNoOverlap();

  // A clean stop of the agent: it releases vip2 and says `shutdone`, on
  // which Heartbeat takes over at once (not after deadtime).
  ASSERT_TRUE(agent_.Kill(SIGTERM).ok());
  ASSERT_TRUE(agent_.Wait(absl::Seconds(20)).ok());
  EXPECT_TRUE(harness::WaitFor(
      [&] { return absl::StrContains(hb_->LogTail(), "Received shutdown notice from 'node02'"); },
      absl::Seconds(10)))
      << "Heartbeat got no shutdone";
  ASSERT_TRUE(WaitSoleHolder(*sampler2_, "node01", absl::Seconds(20)))
      << "Heartbeat did not take vip2 after the agent stopped";
  EXPECT_EQ(sampler2_->overlap_rounds(), 0u);
}

class MixedPairNoFailbackTest : public MixedPairTest {
 protected:
  bool Failback() const override { return false; }
};

// The agent first (auto_failback off): it takes the VIP, node01 being dead
// to it; Heartbeat joins and the VIP stays where it is; hacli standby hands
// it to Heartbeat. A reload to the native wire is refused while the peer
// runs Heartbeat.
TEST_F(MixedPairNoFailbackTest, AgentFirstNoFailbackThenStandbyToHeartbeat) {
  StartAgent();
  ASSERT_TRUE(WaitHolder("node02", absl::Seconds(30))) << "the agent never took the VIP";
  ASSERT_TRUE(hb_->Start().ok());
  ExpectPairFormed();
  if (HasFatalFailure()) return;
  EXPECT_TRUE(WaitHolder("node02", absl::Seconds(1)));

  harness::RunResult standby = Hacli({"standby", "--timeout", "30s"});
  EXPECT_TRUE(standby.status.ok()) << standby.output;
  ASSERT_TRUE(WaitHolder("node01", absl::Seconds(30)))
      << "hacli standby on node02 did not move the VIP to Heartbeat";
  ExpectNoOverlap();

  // The native wire while the peer runs Heartbeat: refused, with the way.
  EventRecorder events(Socket());
  ASSERT_TRUE(harness::WaitFor([&] { return events.connected(); }, absl::Seconds(5)));
  dir_.Write("cluster.yaml", Hb3AgentSpec(2, "native", Failback()));
  ASSERT_TRUE(agent_.Kill(SIGHUP).ok());
  ASSERT_TRUE(events.WaitFor(v1::EVENT_KIND_CONFIG_REJECTED, "", absl::Seconds(10)));
  for (const v1::Event& e : events.Events()) {
    if (e.kind() != v1::EVENT_KIND_CONFIG_REJECTED) continue;
    EXPECT_TRUE(absl::StrContains(e.reason(), "node01 runs Heartbeat 3 (protocol 1)") &&
                absl::StrContains(e.reason(), "once both nodes run ha-agent"))
        << e.reason();
  }
  AgentClient c(Socket());
  auto st = c.Status();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->config_version(), 1u);
  EXPECT_EQ(c.StateOf("node01"), v1::NODE_STATE_UP);
}

}  // namespace
}  // namespace hacluster::testing
