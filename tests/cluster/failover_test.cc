// Failover of resource groups between real ha-agent processes on a NetLab,
// watched from outside the agents by a client probing the VIP and a sampler
// listing it on both nodes: the lab, the agents and the observers are the
// FailoverTest fixture's (failover_fixture.h).
//
// What is checked: crash and link loss of the active node (VIP, service and
// the client's neighbour entry move to the peer), the same with the real OCF
// IPaddr2 and Dummy agents and with Heartbeat's IPaddr script, standby /
// takeover / move / failback without two holders, auto_failback on and off,
// partitions with a ping node (who yields, who keeps serving, split brain
// resolved on heal), and resource failures (start, monitor, stop).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "proto/agent.pb.h"
#include "tests/cluster/failover_fixture.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/netlab.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

// ------------------------------------------------------------------------
// The harness itself, without agents: the parts every failover test
// relies on, each shown able to fail.

TEST_F(FailoverTest, InitScriptServesTheVipAndFollowsLsbExitCodes) {
  BuildLab("initscript");
  InstallProbeService("node01");
  EXPECT_EQ(RunInit("node01", "status"), 3) << last_init_output_;
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "status"), 0) << last_init_output_;
  const pid_t pid = ProbePid("node01");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(RunInit("node01", "start"), 0) << "start of a running service";
  EXPECT_EQ(ProbePid("node01"), pid) << "a second start started another server";

  // The service answers on a VIP added by hand, from the VIP, and the
  // client's neighbour entry names node01's MAC.
  auto add = lab().Run("node01", {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"});
  ASSERT_TRUE(add.ok() && add->status.ok()) << (add.ok() ? add->output : add.status().ToString());
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow(), absl::Seconds(5));
  const std::string mac01 = MacOf("node01");
  ASSERT_FALSE(mac01.empty());
  EXPECT_EQ(ClientNeighbourMac(), mac01);
  EXPECT_NE(MacOf("node02"), mac01);

  // Killed behind the script's back: "dead, pid file left".
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(harness::WaitFor([&] { return kill(pid, 0) != 0; }, absl::Seconds(5)));
  EXPECT_EQ(RunInit("node01", "status"), 1) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "stop"), 0) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "status"), 3) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "stop"), 0) << "stop of a stopped service";

  // The faults the resource-failure tests use.
  SetProbeFaults("node01", FailStart());
  EXPECT_EQ(RunInit("node01", "start"), 1);
  EXPECT_EQ(RunInit("node01", "status"), 3);
  SetProbeFaults("node01", FailStop());
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "stop"), 1);
  EXPECT_EQ(RunInit("node01", "status"), 0) << "a failed stop stopped the service";
  SetProbeFaults("node01", {});
  EXPECT_EQ(RunInit("node01", "stop"), 0);
  EXPECT_EQ(RunInit("node01", "status"), 3);
}

TEST_F(FailoverTest, SamplerCatchesTwoHoldersAcrossNamespaces) {
  BuildLab("sampler");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  ExpectHolders({});
  const std::vector<std::string> add = {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"};
  const std::vector<std::string> del = {"ip", "addr", "del", "192.0.2.50/24", "dev", "eth0"};
  ASSERT_TRUE(lab().Run("node01", add)->status.ok());
  ExpectHolders({"node01"});
  EXPECT_EQ(sampler->overlap_rounds(), 0u);
  ASSERT_TRUE(lab().Run("node02", add)->status.ok());
  ExpectHolders({"node01", "node02"});
  EXPECT_GT(sampler->overlap_rounds(), 0u);
  ASSERT_TRUE(lab().Run("node01", del)->status.ok());
  const MonoTime released = MonotonicNow();
  ExpectHolders({"node02"});
  EXPECT_LE(*sampler->LastSeenHolding("node01"), released);
  EXPECT_FALSE(sampler->SeenHolding("node01", released, MonotonicNow()));
  EXPECT_TRUE(sampler->SeenHolding("node02", released, MonotonicNow()));
  std::vector<std::string> story;
  for (const HolderChange& c : sampler->Changes()) {
    story.push_back(absl::StrCat(c.host, c.holds ? "+" : "-"));
  }
  EXPECT_EQ(story, (std::vector<std::string>{"node01-", "node02-", "node01+", "node02+",
                                             "node01-"}));
  sampler->Stop();
  EXPECT_TRUE(sampler->status().ok()) << sampler->status();
  // Tens of thousands of rounds a second on an idle machine; a few hundred
  // at the very least.
  EXPECT_GT(sampler->rounds(), 100u);
}

// What ExpectGapsAsCalm relies on to tell the VIP's outage from a stall of
// the machine: the server frozen (SIGSTOP) silences the VIP and node01's own
// address alike, which is not counted; the VIP removed for as long leaves
// node01's own address answering, which is.
TEST_F(FailoverTest, GapCheckCountsAVipOutageButNotAStallOfTheWholePath) {
  BuildLab("gapcheck");
  InstallProbeService("node01");
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  const std::vector<std::string> add = {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"};
  const std::vector<std::string> del = {"ip", "addr", "del", "192.0.2.50/24", "dev", "eth0"};
  ASSERT_TRUE(lab().Run("node01", add)->status.ok());
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const CalmWindow calm = MeasureCalmWindow(*probe, 250, "before");
  const absl::Duration allowed = calm.longest.length() + kGapMargin;

  std::ifstream pidfile(Pidfile("node01"));
  int pid = 0;
  ASSERT_TRUE(pidfile >> pid) << "no pid in " << Pidfile("node01");
  const MonoTime stall = MonotonicNow();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  LetProbeRun(*probe, 40);  // about 80 ms
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  LetProbeRun(*probe, 50);
  const MonoTime after_stall = MonotonicNow();
  const ProbeGap stalled = ExpectGapsAsCalm(*probe, calm, stall, after_stall, "stall");
  EXPECT_GT(stalled.length(), allowed) << "the frozen server left no gap to excuse";

  const MonoTime outage = MonotonicNow();
  ASSERT_TRUE(lab().Run("node01", del)->status.ok());
  LetProbeRun(*probe, 40);
  ASSERT_TRUE(lab().Run("node01", add)->status.ok());
  ASSERT_TRUE(probe->WaitForAnswer(MonotonicNow(), "node01", absl::Seconds(10)).has_value());
  LetProbeRun(*probe, 50);
  const MonoTime after_outage = MonotonicNow();
  EXPECT_NONFATAL_FAILURE(ExpectGapsAsCalm(*probe, calm, outage, after_outage, "outage"),
                          "node01's own address went at most");
  ASSERT_EQ(RunInit("node01", "stop"), 0);
}

// What the partition tests rely on: a cut and a heal of the paths between
// the nodes, which the client does not use, leave the client's gaps as they
// were in a calm window of the same probe just before (no absolute figure:
// the machine is shared; the figures are printed and recorded as test
// properties), and every probe is answered, by node01.
TEST_F(FailoverTest, CutAndHealOfHeartbeatPathsLeaveClientGapsAsCalm) {
  BuildLab("calm");
  InstallProbeService("node01");
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  auto add = lab().Run("node01", {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"});
  ASSERT_TRUE(add.ok() && add->status.ok());
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  const MonoTime first = ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const CalmWindow calm = MeasureCalmWindow(*probe, 250, "nothing_cut");
  const MonoTime cut = MonotonicNow();
  ASSERT_TRUE(lab().CutPath("node01", "node02").ok());
  LetProbeRun(*probe, 250);
  const MonoTime heal = MonotonicNow();
  ASSERT_TRUE(lab().HealPath("node01", "node02").ok());
  LetProbeRun(*probe, 250);
  const MonoTime end = MonotonicNow();
  ExpectGapsAsCalm(*probe, calm, cut, heal, "cut");
  ExpectGapsAsCalm(*probe, calm, heal, end, "heal");
  const std::vector<ProbeAnswer> answers = probe->Answers();
  std::cerr << "calm: " << probe->sent() << " probes, " << answers.size() << " answers, "
            << sampler->rounds() << " sampler rounds over " << Ms(end - first) << "\n";
  EXPECT_EQ(NodesAnswering(answers, first, end), std::set<std::string>{"node01"});
  // No probe lost: the only ones unanswered are the last few, in flight.
  EXPECT_GE(answers.size() + 5, probe->sent());
  EXPECT_EQ(sampler->overlap_rounds(), 0u);
  ASSERT_EQ(RunInit("node01", "stop"), 0);
}

TEST_F(FailoverTest, ScriptDirectoriesAreBoundOnlyInsideTheWrappedProcess) {
  BuildLab("mounts");
  InstallProbeService("node01");
  auto r = lab().Run("node01", {"/bin/sh", "-c", kMountWrapper, "ha-agent-mounts",
                                InitDir("node01"), RscDir("node01"), "/bin/sh", "-c",
                                "cat /etc/init.d/probe.env && touch /run/resource-agents/hat-check"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status.ok()) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "PROBE_NAME=node01")) << r->output;
  EXPECT_TRUE(std::filesystem::exists(RscDir("node01") + "/hat-check"));
  EXPECT_FALSE(std::filesystem::exists("/run/resource-agents/hat-check"));
  EXPECT_FALSE(std::filesystem::exists("/etc/init.d/probe.env"));
  const std::vector<std::string> host = MountPoints(ReadFile("/proc/self/mountinfo"));
  EXPECT_FALSE(Contains(host, "/etc/init.d"));
  EXPECT_FALSE(Contains(host, "/run/resource-agents"));
}

// ------------------------------------------------------------------------
// Death of the active node.

TEST_F(FailoverTest, VipAndLsbServiceMoveToPeerWhenActiveNodeCrashesAndFailBack) {
  BuildLab("crash");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const std::string mac01 = MacOf("node01");
  const std::string mac02 = MacOf("node02");
  ASSERT_FALSE(mac01.empty());
  ASSERT_NE(mac01, mac02);
  ASSERT_EQ(ClientNeighbourMac(), mac01) << "the client must know node01's MAC before the crash";
  ExpectWhere("node01");

  const MonoTime crash = MonotonicNow();
  CrashNode("node01");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  const MonoTime back = ExpectAnswerFrom(*probe, "node02", crash);
  RecordProperty("crash_outage_ms", absl::StrCat(absl::ToInt64Milliseconds(back - crash)));
  std::cerr << "crash: the client was answered again by node02 after " << Ms(back - crash)
            << "\n";
  LetProbeRun(*probe, 100);
  EXPECT_EQ(NodesAnswering(probe->Answers(), back, MonotonicNow()),
            std::set<std::string>{"node02"});
  EXPECT_EQ(ClientNeighbourMac(), mac02) << "the gratuitous ARP did not reach the client";
  EXPECT_TRUE(HasVip("node02"));
  EXPECT_FALSE(HasVip("node01"));
  EXPECT_EQ(Where("node02", kVip), "node02");
  EXPECT_EQ(Where("node02", kGroup), "node02");
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();

  // node01 comes back: with auto_failback on, the group returns to it, and
  // at no instant do both nodes hold the VIP.
  const MonoTime restart = MonotonicNow();
  StartAgent("node01");
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01", absl::Seconds(15));
  ExpectAnswerFrom(*probe, "node01", restart);
  ExpectHolders({"node01"});
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  EXPECT_EQ(ClientNeighbourMac(), mac01);
  ExpectWhere("node01");
}

TEST_F(FailoverTest, LinkLossOfActiveNodeMovesVipAndServiceToPeer) {
  BuildLab("linkdown");
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  ASSERT_EQ(ClientNeighbourMac(), MacOf("node01"));

  const MonoTime cut = MonotonicNow();
  ASSERT_TRUE(lab().SetLinkUp("node01", "eth0", false).ok());
  ASSERT_TRUE(lab().SetLinkUp("node01", "eth1", false).ok());
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  const MonoTime back = ExpectAnswerFrom(*probe, "node02", cut);
  std::cerr << "link loss: the client was answered again by node02 after " << Ms(back - cut)
            << "\n";
  LetProbeRun(*probe, 100);
  EXPECT_EQ(NodesAnswering(probe->Answers(), back, MonotonicNow()),
            std::set<std::string>{"node02"});
  EXPECT_EQ(ClientNeighbourMac(), MacOf("node02"));
  EXPECT_TRUE(HasVip("node02"));
  EXPECT_EQ(Where("node02", kVip), "node02");
}

// The same crash with the real OCF IPaddr2 and Dummy agents, or with
// Heartbeat's resource.d/IPaddr, as installed: the VIP, Dummy's state (in
// each node's own /run/resource-agents) and the service move.
class ScriptVipFailoverTest : public FailoverTest {
 protected:
  void CrashFailover(const std::string& vip_resource) {
    const std::string dummy_state = "/run/resource-agents/hat-dummy.state";
    std::string resources = absl::StrCat(
        vip_resource, "      - ocf:\n          type: Dummy\n          params: {state: ",
        dummy_state, "}\n        name: dummy\n", "      - lsb: {name: ", kScript,
        "}\n        name: service\n");
    auto sampler = StartSampler();
    ASSERT_NE(sampler, nullptr);
    StartCluster(GroupSetup(resources));
    if (HasFatalFailure()) return;
    ExpectRunningOn("node01", absl::Seconds(15));
    if (HasFatalFailure()) return;
    EXPECT_TRUE(std::filesystem::exists(RscDir("node01") + "/hat-dummy.state"));
    EXPECT_FALSE(std::filesystem::exists(RscDir("node02") + "/hat-dummy.state"));
    EXPECT_FALSE(std::filesystem::exists(dummy_state)) << "Dummy wrote the host's own directory";
    auto probe = StartProbe();
    ASSERT_NE(probe, nullptr);
    ExpectAnswerFrom(*probe, "node01", MonotonicNow());
    ASSERT_EQ(ClientNeighbourMac(), MacOf("node01"));

    const MonoTime crash = MonotonicNow();
    CrashNode("node01");
    if (HasFatalFailure()) return;
    ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(15))) << Diagnose();
    const MonoTime back = ExpectAnswerFrom(*probe, "node02", crash);
    std::cerr << "crash: the client was answered again by node02 after " << Ms(back - crash)
              << "\n";
    EXPECT_TRUE(HasVip("node02"));
    EXPECT_FALSE(HasVip("node01"));
    EXPECT_TRUE(std::filesystem::exists(RscDir("node02") + "/hat-dummy.state"));
    // The resource agents' announcement reaches the client too.
    EXPECT_TRUE(harness::WaitFor([&] { return ClientNeighbourMac() == MacOf("node02"); },
                                 absl::Seconds(3)))
        << ClientNeighbourMac();
    auto g = GroupSeenBy("node02");
    ASSERT_TRUE(g.has_value());
    ASSERT_EQ(g->resources_size(), 3) << g->DebugString();
    for (const auto& r : g->resources()) {
      EXPECT_TRUE(r.running()) << r.DebugString();
      EXPECT_EQ(r.last_op(), v1::RESOURCE_OP_START) << r.DebugString();
      EXPECT_TRUE(r.last_ok()) << r.DebugString();
    }
    EXPECT_EQ(Where("node02", kGroup), "node02");
    // The VIP of an IPaddr2 or IPaddr resource is a VIP too: a GUI asks
    // where it is.
    EXPECT_EQ(Where("node02", kVip), "node02");
    EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  }
};

TEST_F(ScriptVipFailoverTest, OcfIpaddr2AndDummyFailOverWithTheService) {
  ASSERT_TRUE(std::filesystem::exists("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"));
  BuildLab("ocf");
  CrashFailover(absl::StrCat("      - ocf:\n          type: IPaddr2\n          params: {ip: ", kVip,
                             ", cidr_netmask: \"24\", nic: eth0}\n        name: vip\n"));
}

TEST_F(ScriptVipFailoverTest, HeartbeatIpaddrScriptAndDummyFailOverWithTheService) {
  ASSERT_TRUE(std::filesystem::exists("/etc/ha.d/resource.d/IPaddr"));
  BuildLab("hbipaddr");
  CrashFailover(absl::StrCat("      - heartbeat: {name: IPaddr, args: [\"", kVip,
                             "/24/eth0\"]}\n        name: vip\n"));
}

// ------------------------------------------------------------------------
// Planned moves.

TEST_F(FailoverTest, StandbyTakeoverMoveAndFailbackNeverShowTwoHolders) {
  BuildLab("planned");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());

  struct Step {
    std::string on;
    std::vector<std::string> args;
    std::string holder;
  };
  const std::vector<Step> steps = {
      {"node01", {"standby", "--timeout", "10s"}, "node02"},
      {"node01", {"takeover", "--timeout", "10s"}, "node01"},
      {"node01", {"move", kGroup, "node02", "--timeout", "10s"}, "node02"},
      {"node02", {"standby", "failback", "--timeout", "10s"}, "node01"},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(absl::StrCat("hacli on ", step.on, ": ", absl::StrJoin(step.args, " ")));
    const MonoTime start = MonotonicNow();
    harness::RunResult r = Hacli(step.on, step.args);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString() << ": " << r.output << Diagnose();
    // The command returns once the move is complete: the VIP is there now.
    ExpectHolders({step.holder});
    // The agent that answered knows at once; its peer from the next
    // heartbeat.
    EXPECT_TRUE(WaitHolder(step.on, step.holder, absl::ZeroDuration())) << Diagnose();
    for (const char* observer : {"node01", "node02"}) {
      EXPECT_TRUE(WaitHolder(observer, step.holder, absl::Seconds(1))) << observer;
    }
    ExpectWhere(step.holder);
    const MonoTime answered = ExpectAnswerFrom(*probe, step.holder, start);
    std::cerr << absl::StrJoin(step.args, " ") << ": answered by " << step.holder << " after "
              << Ms(answered - start) << ", client gap "
              << Ms(LongestGap(probe->Answers(), start, answered)) << "\n";
    EXPECT_TRUE(sampler->SeenHolding(step.holder, start, MonotonicNow()));
    EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
    if (HasFailure()) return;
  }
}

TEST_F(FailoverTest, GroupStaysOnPeerAfterRestartWithAutoFailbackOff) {
  BuildLab("nofailback");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources(), /*auto_failback=*/false));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  CrashNode("node01");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();

  const MonoTime restart = MonotonicNow();
  StartAgent("node01");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = Client("node01").Status();
        return st.ok() && !st->in_initdead() && Client("node01").StateOf("node02") ==
                                                    v1::NODE_STATE_UP;
      },
      absl::Seconds(10)));
  // Four deadtimes after node01 is back and settled: the group has not moved.
  EXPECT_FALSE(harness::WaitFor(
      [&] {
        auto g = GroupSeenBy("node01");
        return g.has_value() && g->holder() != "node02";
      },
      4 * kDeadtime))
      << Diagnose();
  ExpectWhere("node02");
  EXPECT_FALSE(sampler->SeenHolding("node01", restart, MonotonicNow())) << sampler->Describe();
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
}

// With a ping node configured, node01 starts first and hears node02 before
// node02's first ping reply is back (node02 reports score 0 for a moment).
// node02 has not lost its ping node, it has not pinged yet: the group must
// start on its preferred node02, and with auto_failback off a start on
// node01 would never be undone.
TEST_F(FailoverTest, PreferredNodeGetsTheGroupAtStartWithPingNodesWhicheverStartsFirst) {
  BuildLab("pingstart", /*ping_node=*/true);
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  ClusterSetup setup = GroupSetup(VipAndServiceResources(), /*auto_failback=*/false);
  setup.preferred = "node02";
  setup.ping_node = true;
  setup.start_order = {"node01", "node02"};
  StartCluster(setup);
  if (HasFatalFailure()) return;
  ExpectRunningOn("node02", absl::Seconds(5));
  EXPECT_FALSE(sampler->SeenHolding("node01", -absl::InfiniteDuration(), MonotonicNow()))
      << "the group started on node01 first\n"
      << Diagnose();
  ExpectWhere("node02");
}

// ------------------------------------------------------------------------
// Partitions, with a ping node on lan: both heartbeat paths between the
// nodes cut (CutPath on both networks); the client still reaches both.

class PartitionTest : public FailoverTest {
 protected:
  // The preferred node starts first (see PingNodeTest for the other order).
  void StartPartitionCluster(const std::string& preferred) {
    BuildLab(absl::StrCat("part", std::string(1, preferred.back())), /*ping_node=*/true);
    if (HasFatalFailure()) return;
    ASSERT_NE(StartSampler(), nullptr);
    // auto_failback off: when the network heals, nothing is planned to
    // move, so what the client sees is the heal alone.
    ClusterSetup setup = GroupSetup(VipAndServiceResources(), /*auto_failback=*/false);
    setup.preferred = preferred;
    setup.ping_node = true;
    setup.start_order = {preferred, preferred == "node01" ? "node02" : "node01"};
    StartCluster(setup);
    if (HasFatalFailure()) return;
    ExpectRunningOn(preferred);
    if (HasFatalFailure()) return;
    // Both reach the ping node before anything is cut.
    for (const char* n : {"node01", "node02"}) {
      ASSERT_TRUE(harness::WaitFor(
          [&] {
            auto st = Client(n).Status();
            return st.ok() && st->connectivity_score() == 1;
          },
          absl::Seconds(5)))
          << n << " never reached the ping node\n" << Diagnose();
    }
    probe_ = StartProbe();
    ASSERT_NE(probe_, nullptr);
    first_answer_ = ExpectAnswerFrom(*probe_, preferred, MonotonicNow());
    LetProbeRun(*probe_, 50);
  }

  // Where gaps are measured from: `t` - 200 ms, not before the first answer.
  MonoTime GapWindowStart(MonoTime t) {
    return std::max(first_answer_, t - absl::Milliseconds(200));
  }

  // The calm window the gaps across a cut or a heal are compared with:
  // measured in the same test just before the cut, same probe, nothing
  // moving, 1000 probes (2 s): at least as long as each window it is
  // compared with (ExpectGapsAsCalm).
  CalmWindow MeasureCalmBeforeCut() { return MeasureCalmWindow(*probe_, 1000, "before_cut"); }

  void CutHeartbeats() { ASSERT_TRUE(lab().CutPath("node01", "node02").ok()); }
  void HealHeartbeats() { ASSERT_TRUE(lab().HealPath("node01", "node02").ok()); }

  // Both see each other up again.
  void WaitReunited() {
    for (auto [a, b] : {std::pair<const char*, const char*>{"node01", "node02"},
                        {"node02", "node01"}}) {
      ASSERT_TRUE(harness::WaitFor([&] { return Client(a).StateOf(b) == v1::NODE_STATE_UP; },
                                   absl::Seconds(5)))
          << a << " never heard " << b << " again\n" << Diagnose();
    }
  }

  // The heal of a partition in which node01 lost its ping node and its
  // peer: the heartbeat paths first, and once both nodes hear each other,
  // the ping node. Healed at once, node01 could get a ping reply before
  // node02's next heartbeat (up to a keepalive later); node02 being dead to
  // it then, it would rightly take the group, as after a crash of node02
  // (two holders meeting on a heal: SplitBrainHealKeepsPreferredNode...).
  void HealNetwork() {
    HealHeartbeats();
    WaitReunited();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(lab().HealPath("node01", "pingnode").ok());
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          auto st = Client("node01").Status();
          return st.ok() && st->connectivity_score() == 1;
        },
        absl::Seconds(5)))
        << "node01 never reached the ping node again\n" << Diagnose();
  }

  std::unique_ptr<VipProbe> probe_;
  MonoTime first_answer_;

  void TearDown() override {
    probe_.reset();
    FailoverTest::TearDown();
  }
};

// Holder node01 loses its ping node as the partition starts: it yields, the
// connected node02 takes over; when the network heals, node02 keeps serving
// and the client sees no gap.
TEST_F(PartitionTest, HolderThatLosesItsPingNodeYieldsAndHealKeepsOneHolder) {
  StartPartitionCluster("node01");
  if (HasFatalFailure()) return;
  VipHolderSampler& sampler = *sampler_;
  const CalmWindow calm = MeasureCalmBeforeCut();
  const MonoTime cut = MonotonicNow();
  CutHeartbeats();
  ASSERT_TRUE(lab().CutPath("node01", "pingnode").ok());
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  ASSERT_TRUE(harness::WaitFor([&] { return !HasVip("node01"); }, absl::Seconds(5)))
      << "node01 never released the VIP\n" << Diagnose();
  const MonoTime served = ExpectAnswerFrom(*probe_, "node02", cut);
  std::cerr << "partition: node02 answered after " << Ms(served - cut) << "\n";
  // node01 yields at deadping (its peer still alive, with a better score),
  // before node02 declares it dead: never two holders.
  EXPECT_EQ(sampler.overlap_rounds(), 0u) << sampler.Describe();
  ExpectHolders({"node02"});
  // node01 runs nothing and knows it.
  auto g = GroupSeenBy("node01");
  ASSERT_TRUE(g.has_value());
  EXPECT_NE(g->holder(), "node01") << g->DebugString();
  LetProbeRun(*probe_, 100);

  const MonoTime heal = MonotonicNow();
  HealNetwork();
  if (HasFatalFailure()) return;
  // A second after the heal: still node02 alone, serving all along.
  LetProbeRun(*probe_, 500);
  ExpectHolders({"node02"});
  EXPECT_FALSE(sampler.SeenHolding("node01", heal, MonotonicNow())) << sampler.Describe();
  EXPECT_EQ(sampler.overlap_rounds(), 0u) << sampler.Describe();
  // No outage across the heal: the client's gaps stay as in the calm window
  // (a release and re-acquire would show as tens of ms more, see
  // kGapMargin), and only node02 answered.
  const MonoTime end = MonotonicNow();
  ExpectGapsAsCalm(*probe_, calm, GapWindowStart(heal), end, "heal");
  EXPECT_EQ(NodesAnswering(probe_->Answers(), heal, end), std::set<std::string>{"node02"});
  for (const char* n : {"node01", "node02"}) {
    EXPECT_EQ(Where(n, kVip), "node02") << n;
  }
}

// Holder node02 is the connected side: node01 loses its ping node and its
// peer, and must run nothing; node02 serves without a gap through the cut
// and the heal.
TEST_F(PartitionTest, ConnectedHolderKeepsServingThroughPartitionAndHeal) {
  StartPartitionCluster("node02");
  if (HasFatalFailure()) return;
  VipHolderSampler& sampler = *sampler_;
  const CalmWindow calm = MeasureCalmBeforeCut();
  const MonoTime cut = MonotonicNow();
  CutHeartbeats();
  ASSERT_TRUE(lab().CutPath("node01", "pingnode").ok());
  // Both sides notice, and node01 knows it lost the ping node.
  ASSERT_TRUE(harness::WaitFor(
      [&] { return Client("node01").StateOf("node02") == v1::NODE_STATE_DEAD; },
      absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor(
      [&] { return Client("node02").StateOf("node01") == v1::NODE_STATE_DEAD; },
      absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = Client("node01").Status();
        return st.ok() && st->connectivity_score() == 0;
      },
      absl::Seconds(5)));
  // Four deadtimes of partition: node01 never takes the group.
  EXPECT_FALSE(harness::WaitFor([&] { return sampler.SeenHolding("node01", cut, MonotonicNow()); },
                                4 * kDeadtime))
      << sampler.Describe();
  ExpectHolders({"node02"});

  const MonoTime heal = MonotonicNow();
  HealNetwork();
  if (HasFatalFailure()) return;
  LetProbeRun(*probe_, 500);
  ExpectHolders({"node02"});
  EXPECT_EQ(sampler.overlap_rounds(), 0u) << sampler.Describe();
  EXPECT_FALSE(sampler.SeenHolding("node01", cut, MonotonicNow())) << sampler.Describe();
  // No outage through the cut and the heal: each stretch as long as the
  // calm window has gaps as in it (see kGapMargin), and only node02
  // answered.
  const MonoTime end = MonotonicNow();
  std::cerr << "cut and heal: the heal began " << Ms(heal - cut) << " after the cut\n";
  ExpectGapsAsCalm(*probe_, calm, GapWindowStart(cut), end, "cut_and_heal");
  EXPECT_EQ(NodesAnswering(probe_->Answers(), cut, end), std::set<std::string>{"node02"});
}

// Both keep their ping node: each side takes the group (split brain). On
// heal, the preferred node01 keeps it and node02 releases within a
// deadtime; the client is served by node01 again.
TEST_F(PartitionTest, SplitBrainHealKeepsPreferredNodeAndReleasesTheOther) {
  StartPartitionCluster("node01");
  if (HasFatalFailure()) return;
  VipHolderSampler& sampler = *sampler_;
  CutHeartbeats();
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  ExpectHolders({"node01", "node02"});
  ASSERT_TRUE(WaitHolder("node01", "node01", absl::Seconds(1))) << Diagnose();

  const MonoTime heal_start = MonotonicNow();
  HealHeartbeats();
  const MonoTime healed = MonotonicNow();
  ASSERT_TRUE(harness::WaitFor([&] { return !HasVip("node02"); }, absl::Seconds(5)))
      << "node02 never released the VIP\n" << Diagnose();
  auto last02 = sampler.LastSeenHolding("node02");
  ASSERT_TRUE(last02.has_value());
  std::cerr << "split brain: node02 released " << Ms(*last02 - heal_start)
            << " after the heal began\n";
  EXPECT_LE(*last02, healed + kDeadtime) << sampler.Describe();
  EXPECT_TRUE(sampler.SeenHolding("node01", heal_start, MonotonicNow()));
  ExpectHolders({"node01"});
  ExpectRunningOn("node01", absl::Seconds(2));
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        for (const char* n : {"node01", "node02"}) {
          if (!EventsOf(n, Kind(v1::EVENT_KIND_SPLIT_BRAIN), heal_start).empty()) return true;
        }
        return false;
      },
      absl::Seconds(2)))
      << "no SPLIT_BRAIN event on either node";
  // The client had node02's MAC (its last announcement): node01 must
  // announce again for the client to reach it.
  const MonoTime answered = ExpectAnswerFrom(*probe_, "node01", heal_start, absl::Seconds(3));
  std::cerr << "split brain: client answered by node01 " << Ms(answered - heal_start)
            << " after the heal began\n";
  EXPECT_EQ(ClientNeighbourMac(), MacOf("node01"));
}

// ------------------------------------------------------------------------
// Resource failures.

TEST_F(FailoverTest, StartFailureRunsGroupOnPeerAndListsTheFailedNode) {
  BuildLab("startfail");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()), {{"node01", FailStart()}});
  if (HasFatalFailure()) return;
  ExpectRunningOn("node02", absl::Seconds(15));
  if (HasFatalFailure()) return;
  for (const char* observer : {"node01", "node02"}) {
    auto g = GroupSeenBy(observer);
    ASSERT_TRUE(g.has_value());
    EXPECT_TRUE(Contains({g->failed_on().begin(), g->failed_on().end()}, "node01"))
        << observer << ": " << g->DebugString();
  }
  const MonoTime ever = -absl::InfiniteDuration();
  EXPECT_TRUE(WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_START, false), ever,
                        absl::Seconds(2)))
      << "no failed start of the service reported on node01";
  EXPECT_TRUE(WaitEvent("node01", Kind(v1::EVENT_KIND_GROUP_FAILED), ever, absl::Seconds(2)));
  // node01 unwound what it had started (the VIP) before node02 started it.
  // From the agents' events: node01 may hold the VIP for a few ms only, less
  // than the sampler (not real-time) can be sure to see on a loaded machine.
  auto vip_op = [](v1::ResourceOp op) {
    return [op](const v1::Event& e) {
      return e.kind() == v1::EVENT_KIND_RESOURCE_OP && e.group() == kGroup &&
             absl::StrContains(e.resource(), "vip") && e.op() == op && e.ok();
    };
  };
  auto started01 = WaitEvent("node01", vip_op(v1::RESOURCE_OP_START), ever, absl::Seconds(2));
  auto stopped01 = WaitEvent("node01", vip_op(v1::RESOURCE_OP_STOP), ever, absl::Seconds(2));
  auto started02 = WaitEvent("node02", vip_op(v1::RESOURCE_OP_START), ever, absl::Seconds(2));
  ASSERT_TRUE(started01.has_value())
      << "the VIP never started on node01: the failure was not the service's\n" << Diagnose();
  ASSERT_TRUE(stopped01.has_value()) << "node01 never removed the VIP\n" << Diagnose();
  ASSERT_TRUE(started02.has_value()) << Diagnose();
  EXPECT_LT(EventTime(*stopped01), EventTime(*started02))
      << "node02 added the VIP " << Ms(EventTime(*stopped01) - EventTime(*started02))
      << " before node01 had removed it";
  std::cerr << "start failure: node01 held the VIP for "
            << Ms(EventTime(*stopped01) - EventTime(*started01)) << "; the sampler "
            << (sampler->SeenHolding("node01", EventTime(*started01), EventTime(*stopped01))
                    ? "saw"
                    : "did not see")
            << " it\n";
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  ExpectHolders({"node02"});
  EXPECT_EQ(RunInit("node01", "status"), 3);
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node02", MonotonicNow());
  ExpectWhere("node02");
}

TEST_F(FailoverTest, MonitorFailuresRestartTheServiceThenMoveTheGroup) {
  BuildLab("monitor");
  StartCluster(GroupSetup(VipAndServiceResources("200ms")));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  // Two kills: each detected by the monitor and restarted in place.
  for (uint32_t failures = 1; failures <= 2; ++failures) {
    SCOPED_TRACE(absl::StrCat("kill ", failures));
    const pid_t pid = ProbePid("node01");
    ASSERT_GT(pid, 0);
    const MonoTime killed = MonotonicNow();
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    auto failed = WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_MONITOR, false), killed,
                            absl::Seconds(3));
    ASSERT_TRUE(failed.has_value()) << "no failed monitor after the kill\n" << Diagnose();
    std::cerr << "monitor failure " << failures << " seen "
              << Ms(EventTime(*failed) - killed) << " after the kill\n";
    auto stopped = WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_STOP, true), EventTime(*failed),
                             absl::Seconds(5));
    ASSERT_TRUE(stopped.has_value()) << Diagnose();
    auto started = WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_START, true),
                             EventTime(*stopped), absl::Seconds(5));
    ASSERT_TRUE(started.has_value()) << "the service was not restarted\n" << Diagnose();
    EXPECT_EQ(RunInit("node01", "status"), 0);
    EXPECT_NE(ProbePid("node01"), pid);
    auto g = GroupSeenBy("node01");
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->holder(), "node01");
    EXPECT_EQ(g->state(), v1::GROUP_STATE_RUNNING);
    ASSERT_EQ(g->resources_size(), 2);
    EXPECT_EQ(g->resources(1).monitor_failures(), failures) << g->DebugString();
  }
  EXPECT_TRUE(HasVip("node01"));
  EXPECT_FALSE(HasVip("node02"));

  // The third failure moves the group.
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const MonoTime killed = MonotonicNow();
  ASSERT_EQ(kill(ProbePid("node01"), SIGKILL), 0);
  ASSERT_TRUE(WaitEvent("node01", Kind(v1::EVENT_KIND_GROUP_FAILED), killed, absl::Seconds(5)))
      << Diagnose();
  ExpectRunningOn("node02");
  if (HasFatalFailure()) return;
  auto g = GroupSeenBy("node02");
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(Contains({g->failed_on().begin(), g->failed_on().end()}, "node01"))
      << g->DebugString();
  ExpectAnswerFrom(*probe, "node02", killed);
  EXPECT_FALSE(HasVip("node01"));
  ExpectWhere("node02");
}

TEST_F(FailoverTest, StopFailureBlocksTheGroupAndPeerNeverTakesIt) {
  BuildLab("stopfail");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  SetProbeFaults("node01", FailStop());

  const MonoTime asked = MonotonicNow();
  harness::RunResult r = Hacli("node01", {"standby", "--no-wait"});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString() << ": " << r.output;
  auto first = WaitEvent("node01", Kind(v1::EVENT_KIND_STOP_FAILED), asked, absl::Seconds(5));
  ASSERT_TRUE(first.has_value()) << "no STOP_FAILED\n" << Diagnose();
  ASSERT_TRUE(WaitHolder("node01", "node01", absl::Seconds(2), v1::GROUP_STATE_BLOCKED))
      << Diagnose();
  // node02 sees the group still claimed by node01 and does not start it.
  auto seen = GroupSeenBy("node02");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->holder(), "node01") << seen->DebugString();
  // The stop is retried every 5 s.
  auto second =
      WaitEvent("node01", Kind(v1::EVENT_KIND_STOP_FAILED), EventTime(*first), absl::Seconds(8));
  ASSERT_TRUE(second.has_value()) << "the failed stop was not retried\n" << Diagnose();
  const absl::Duration retry = EventTime(*second) - EventTime(*first);
  std::cerr << "stop retried after " << Ms(retry) << "\n";
  EXPECT_GE(retry, absl::Milliseconds(4500));
  EXPECT_LE(retry, absl::Milliseconds(6500));
  EXPECT_EQ(GroupSeenBy("node01")->state(), v1::GROUP_STATE_BLOCKED);
  EXPECT_FALSE(sampler->SeenHolding("node02", asked, MonotonicNow())) << sampler->Describe();
  EXPECT_TRUE(HasVip("node01"));
  // Nothing was stopped: node01 still serves.
  EXPECT_EQ(NodesAnswering(probe->Answers(), asked, MonotonicNow()),
            std::set<std::string>{"node01"});

  // Once the script's stop works again, the next retry lets the group go.
  const MonoTime fixed = MonotonicNow();
  SetProbeFaults("node01", {});
  ExpectRunningOn("node02", absl::Seconds(10));
  if (HasFatalFailure()) return;
  ExpectAnswerFrom(*probe, "node02", fixed);
  ExpectHolders({"node02"});
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  EXPECT_EQ(RunInit("node01", "status"), 3);
}

}  // namespace
}  // namespace hacluster::testing
