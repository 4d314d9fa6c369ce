// The fault matrix: a resource group (the VIP and the LSB probe-service)
// between two real ha-agent processes on the FailoverTest lab
// (failover_fixture.h: keepalive 100 ms, deadtime 500 ms, ucast heartbeats
// on two networks, auto_failback off), each fault repeated on whichever node
// is active at the time, with a client probing the VIP every 2 ms and a
// sampler listing the VIP on each node every 10 ms throughout.
//
// Scenarios: crash of the active node (kill -9, VIP gone); kill -9 of the
// active agent alone (VIP and service left up); link down of the active
// node; one of the two heartbeat media cut; both cut, without and with a
// ping node; a one-way cut into each node; 20% and 50% loss of heartbeats
// (nftables `numgen random` in each node's namespace: this kernel has no
// sch_netem) and 0-100 ms of jitter on them (an NFQUEUE rule and
// jitter_queue, for the same reason); an agent restart on the active node (kill -9 and start at
// once: the running resources are adopted, not bounced); resource start,
// monitor and stop failures; a wall-clock step of +1 h and -1 h on one node
// (libfaketime, see WallClockStepOnOneNode); a flood of forged and replayed
// heartbeats; the standby node restarted repeatedly.
//
// For each scenario it prints one row: the time with no holder and with two
// holders (from the sampler), the failovers and the false ones, whether
// every resource ended in the expected state, the client's longest gap.
// Checked in every run: no instant with two holders while a medium connects
// the nodes in at least one direction; no false failover; every resource
// in its expected state after each repetition; the crash outage within the
// failover benchmark's target (deadtime + 10 ms) plus what this run measured
// calm: the group's own start here and the client's calm gap.
//
//   fault_matrix_test            # short: each scenario 2 times (the suite)
//   fault_matrix_test --long     # each scenario 10 times
//   fault_matrix_test --reps=N   # each scenario N times
//
// The table is printed at the end and written to
// $TEST_UNDECLARED_OUTPUTS_DIR/fault_matrix.md when that is set.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/agent.pb.h"
#include "tests/cluster/failover_fixture.h"
#include "tests/cluster/heartbeat_capture.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

constexpr int kHeartbeatPort = 694;
constexpr char kFaketimeLib[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

int g_reps = 2;
bool g_long = false;

using Stretches = std::vector<std::pair<MonoTime, MonoTime>>;

// The failovers a scenario expects: none (any is false), at least one (a
// node or its links died: more than one counts the rest as false), or any
// number (reported, not judged: 50% loss, a one-way cut into the standby,
// planned moves of the resource-failure scenarios).
enum class Failovers { kNone, kOne, kAny };

struct RepResult {
  absl::Duration no_holder;
  absl::Duration two_holders;
  absl::Duration client_gap;
  // The part of two_holders while a medium connected the nodes.
  absl::Duration two_holders_connected;
  int failovers = 0;
  int false_failovers = 0;
  bool resources_ok = false;
  std::optional<absl::Duration> outage;  // crash: kill -> first answer of the survivor
  std::optional<absl::Duration> allowed;
};

struct Row {
  std::string scenario;
  std::vector<RepResult> reps;
  std::string note;
};

std::vector<Row>& Rows() {
  static auto* rows = new std::vector<Row>();
  return *rows;
}

absl::Duration Total(const Stretches& s) {
  absl::Duration d;
  for (const auto& [b, e] : s) d += e - b;
  return d;
}

// The parts of `a` and `b` that overlap, within [from, to].
Stretches Intersect(const Stretches& a, const Stretches& b, MonoTime from, MonoTime to) {
  Stretches out;
  for (const auto& [a1, a2] : a) {
    for (const auto& [b1, b2] : b) {
      const MonoTime begin = std::max({a1, b1, from});
      const MonoTime end = std::min({a2, b2, to});
      if (begin < end) out.emplace_back(begin, end);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The time in [from, to] that no host's holding interval covers.
absl::Duration NoHolderTime(const std::vector<HolderChange>& changes,
                            const std::vector<std::string>& hosts, MonoTime from, MonoTime to) {
  Stretches all;
  for (const std::string& h : hosts) {
    for (const auto& s : HoldingIntervals(changes, h, to)) all.push_back(s);
  }
  std::sort(all.begin(), all.end());
  absl::Duration covered;
  MonoTime cursor = from;
  for (const auto& [b, e] : all) {
    const MonoTime begin = std::max(b, cursor);
    const MonoTime end = std::min(e, to);
    if (begin < end) {
      covered += end - begin;
      cursor = end;
    }
  }
  return (to - from) - covered;
}

std::string Describe(const Stretches& s, MonoTime origin) {
  std::vector<std::string> parts;
  for (const auto& [b, e] : s) parts.push_back(absl::StrCat("+", Ms(b - origin), " .. +", Ms(e - origin)));
  return parts.empty() ? "none" : absl::StrJoin(parts, ", ");
}

double ToMs(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

class FaultMatrixTest : public FailoverTest {
 protected:
  void TearDown() override {
    probe_.reset();
    FailoverTest::TearDown();
    // One row per scenario, also when it failed halfway.
    if (!row_.scenario.empty()) {
      PrintRow(row_);
      Rows().push_back(row_);
    }
  }

  static std::string Other(const std::string& node) {
    return node == "node01" ? "node02" : "node01";
  }

  // The lab, the observers and both agents; the group running on node01
  // and the client answered by it; a calm window measured.
  void Begin(const std::string& scenario, const std::string& lab_name, bool ping_node = false,
             const std::string& monitor = "") {
    row_.scenario = scenario;
    BuildLab(lab_name, ping_node);
    if (HasFatalFailure()) return;
    // Bounded by the repetitions: about 30 s each at most, and a margin.
    bound_ = absl::Seconds(60 + 30 * g_reps);
    ASSERT_NE(StartSampler(absl::Milliseconds(10), bound_), nullptr);
    ClusterSetup setup = GroupSetup(VipAndServiceResources(monitor), /*auto_failback=*/false);
    setup.ping_node = ping_node;
    StartCluster(setup);
    if (HasFatalFailure()) return;
    ExpectRunningOn("node01");
    if (HasFatalFailure()) return;
    holder_ = "node01";
    if (ping_node) {
      WaitPingScoresKnown();
      if (HasFatalFailure()) return;
    }
    probe_ = StartProbe(bound_);
    ASSERT_NE(probe_, nullptr);
    ExpectAnswerFrom(*probe_, "node01", MonotonicNow());
    // The group's start on node01 at cluster start, nothing failing: what
    // a takeover costs here beyond the detection.
    auto starting = EventsOf("node01", Kind(v1::EVENT_KIND_GROUP_STARTING));
    auto running = EventsOf("node01", Kind(v1::EVENT_KIND_GROUP_RUNNING));
    ASSERT_FALSE(starting.empty());
    ASSERT_FALSE(running.empty());
    group_start_ = EventTime(running.front()) - EventTime(starting.front());
    calm_ = MeasureCalmWindow(*probe_, 500, "start");
  }

  struct Rep {
    int index = 0;
    MonoTime from;
    std::string holder_before;
    // Where the nodes are connected by a medium in at least one direction:
    // two holders there fail the test.
    Stretches connected;
    Failovers failovers = Failovers::kNone;
    std::optional<absl::Duration> outage;
    std::optional<absl::Duration> allowed;
    // When the nodes were joined again after both held the group: from
    // then on the client must not wait longer than deadtime for the node
    // that keeps it (it announces the VIP again, though the other may have
    // let go before it was heard).
    std::optional<MonoTime> rejoined;
  };

  Rep BeginRep(int index) {
    Rep r;
    r.index = index;
    r.from = MonotonicNow();
    r.holder_before = holder_;
    std::cerr << "---- " << row_.scenario << " " << index + 1 << "/" << g_reps << ": active "
              << holder_ << "\n";
    return r;
  }

  // GROUP_STARTING events of the group after `from` on nodes other than
  // `holder_before`.
  int CountFailovers(const std::string& holder_before, MonoTime from) {
    int n = 0;
    for (const std::string& node : Nodes()) {
      if (node == holder_before || recorders_.count(node) == 0) continue;
      n += EventsOf(
               node,
               [](const v1::Event& e) {
                 return e.kind() == v1::EVENT_KIND_GROUP_STARTING && e.group() == kGroup;
               },
               from)
               .size();
    }
    return n;
  }

  // Both agents run and agree that the group runs on one node, every
  // resource of it running there; the sampler lists the VIP on that node
  // alone; one service instance, on it; the client answered by it. The
  // holder, or "" (a failure is recorded). `expected`: that node, or "" for
  // any.
  std::string ExpectResourcesInPlace(const std::string& expected,
                                     absl::Duration deadline = absl::Seconds(15)) {
    std::string holder;
    std::string why;
    const bool ok = harness::WaitFor(
        [&] {
          holder.clear();
          for (const std::string& n : Nodes()) {
            auto g = GroupSeenBy(n);
            if (!g.has_value()) {
              why = absl::StrCat(n, " has no status of the group");
              return false;
            }
            if (g->state() != v1::GROUP_STATE_RUNNING || g->holder().empty()) {
              why = absl::StrCat(n, " sees the group ", v1::GroupState_Name(g->state()), " on \"",
                                 g->holder(), "\"");
              return false;
            }
            if (!holder.empty() && holder != g->holder()) {
              why = absl::StrCat("the agents disagree: ", holder, " vs ", g->holder());
              return false;
            }
            holder = g->holder();
            if (n == holder) {
              for (const auto& r : g->resources()) {
                if (!r.running()) {
                  why = absl::StrCat(r.name(), " not running on ", n);
                  return false;
                }
              }
            }
          }
          if (!expected.empty() && holder != expected) {
            why = absl::StrCat("the group runs on ", holder, ", not ", expected);
            return false;
          }
          if (!sampler_->WaitForRoundAfter(MonotonicNow(), absl::Seconds(1))) return false;
          if (sampler_->Holders() != std::vector<std::string>{holder}) {
            why = absl::StrCat("the VIP is on [", absl::StrJoin(sampler_->Holders(), ","), "]");
            return false;
          }
          const std::vector<std::string> instances = ServiceInstances();
          if (instances.size() != 1 || !absl::StartsWith(instances[0], holder + ":")) {
            why = absl::StrCat("service instances [", absl::StrJoin(instances, ","), "]");
            return false;
          }
          return true;
        },
        deadline, absl::Milliseconds(50));
    EXPECT_TRUE(ok) << row_.scenario << ": resources not in the expected state: " << why << "\n"
                    << Diagnose();
    if (!ok) return "";
    auto a = probe_->WaitForAnswer(MonotonicNow(), holder, absl::Seconds(5));
    EXPECT_TRUE(a.has_value()) << "the client is not answered by " << holder;
    return a.has_value() ? holder : "";
  }

  // Ends a repetition: the expected state checked (`expected` holder, or
  // "" for any), the figures recorded.
  void EndRep(Rep& r, const std::string& expected) {
    const std::string holder = ExpectResourcesInPlace(expected);
    const MonoTime end = MonotonicNow();
    RepResult res;
    res.resources_ok = !holder.empty();
    res.no_holder = NoHolderTime(sampler_->Changes(), Nodes(), r.from, end);
    const Stretches both = Intersect(sampler_->HeldStretches("node01"),
                                     sampler_->HeldStretches("node02"), r.from, end);
    res.two_holders = Total(both);
    res.client_gap = LongestGap(probe_->Answers(), r.from, end);
    res.failovers = CountFailovers(r.holder_before, r.from);
    switch (r.failovers) {
      case Failovers::kNone:
        res.false_failovers = res.failovers;
        break;
      case Failovers::kOne:
        res.false_failovers = std::max(0, res.failovers - 1);
        EXPECT_GE(res.failovers, 1) << row_.scenario << ": no failover\n" << Diagnose();
        break;
      case Failovers::kAny:
        break;
    }
    EXPECT_EQ(res.false_failovers, 0)
        << row_.scenario << ": " << res.false_failovers << " false failover(s)\n"
        << Diagnose();
    // Two holders while connected.
    Stretches bad;
    for (const auto& [cb, ce] : r.connected) {
      for (const auto& s : Intersect(both, {{cb, std::min(ce, end)}}, r.from, end)) {
        bad.push_back(s);
      }
    }
    res.two_holders_connected = Total(bad);
    EXPECT_TRUE(bad.empty()) << row_.scenario << ": two holders while the nodes were connected: "
                             << Describe(bad, r.from) << "\n" << sampler_->Describe();
    if (r.rejoined.has_value()) {
      const ProbeGap gap = LongestGapIn(probe_->Answers(), *r.rejoined, end);
      EXPECT_LE(gap.length(), kDeadtime)
          << row_.scenario << ": after the nodes were joined again the client went "
          << Ms(gap.length()) << " without an answer (from +" << Ms(gap.from - *r.rejoined)
          << "); the holder's VIP was not announced again?\n" << Diagnose();
    }
    res.outage = r.outage;
    res.allowed = r.allowed;
    std::cerr << row_.scenario << " " << r.index + 1 << ": holder " << holder << ", no holder "
              << Ms(res.no_holder) << ", two holders " << Ms(res.two_holders) << " ("
              << Describe(both, r.from) << "), failovers " << res.failovers << " (false "
              << res.false_failovers << "), client's longest gap " << Ms(res.client_gap)
              << (res.outage ? absl::StrCat(", outage ", Ms(*res.outage), " (allowed ",
                                            Ms(*res.allowed), ")")
                             : "")
              << "\n";
    row_.reps.push_back(res);
    if (!holder.empty()) holder_ = holder;
  }

  static constexpr MonoTime kForever = absl::InfiniteDuration();

  // Bounded wait for both agents to hear each other (and not be in
  // initdead).
  void WaitReunited(absl::Duration deadline = absl::Seconds(10)) {
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          for (const std::string& a : Nodes()) {
            auto st = Client(a).Status();
            if (!st.ok() || st->in_initdead()) return false;
            if (Client(a).StateOf(Other(a)) != v1::NODE_STATE_UP) return false;
          }
          return true;
        },
        deadline))
        << "the agents never heard each other again\n" << Diagnose();
  }

  // Bounded wait until each node reaches the ping node and knows that the
  // other does (the score its heartbeats carry): a cut before that would
  // meet a node that still takes its peer for cut off from the ping node.
  void WaitPingScoresKnown() {
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          for (const std::string& a : Nodes()) {
            auto st = Client(a).Status();
            if (!st.ok() || st->connectivity_score() != 1) return false;
            for (const auto& n : st->nodes()) {
              if (n.name() == Other(a) && n.connectivity_score() != 1) return false;
            }
          }
          return true;
        },
        absl::Seconds(5)))
        << "the nodes never knew that both reach the ping node\n" << Diagnose();
  }

  uint64_t Dropped(const std::string& node, const std::string& reason) {
    auto st = Client(node).Status();
    if (!st.ok()) return 0;
    auto it = st->dropped_packets().find(reason);
    return it == st->dropped_packets().end() ? 0 : it->second;
  }

  // An nftables table in `node`'s namespace (created, or deleted when
  // `rules` is empty).
  void NftTable(const std::string& node, const std::string& table,
                const std::vector<std::string>& rules) {
    std::vector<std::vector<std::string>> cmds;
    if (rules.empty()) {
      cmds.push_back({"nft", "delete", "table", "inet", table});
    } else {
      cmds.push_back({"nft", "add", "table", "inet", table});
      // nft joins its arguments: one rule per argument.
      for (const std::string& r : rules) cmds.push_back({"nft", r});
    }
    for (const auto& argv : cmds) {
      auto r = lab().Run(node, argv);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(r->status.ok()) << absl::StrJoin(argv, " ") << ": " << r->output;
    }
  }

  // Heartbeats sent by `node` lost at `percent`% (0: the rule removed).
  void SetLoss(const std::string& node, int percent) {
    if (percent == 0) {
      NftTable(node, "hat_loss", {});
      return;
    }
    NftTable(node, "hat_loss",
             {"add chain inet hat_loss out { type filter hook output priority 0; }",
              absl::StrCat("add rule inet hat_loss out udp dport ", kHeartbeatPort,
                           " numgen random mod 100 < ", percent, " drop")});
  }

  // Every heartbeat arriving at `node` dropped (or no longer).
  void SetDeaf(const std::string& node, bool deaf) {
    if (!deaf) {
      NftTable(node, "hat_oneway", {});
      return;
    }
    NftTable(node, "hat_oneway",
             {"add chain inet hat_oneway in { type filter hook input priority 0; }",
              absl::StrCat("add rule inet hat_oneway in udp dport ", kHeartbeatPort, " drop")});
  }

  // Lets the client probe run for `d` (the scenario's duration: not a wait
  // for a condition).
  void Hold(absl::Duration d) { LetProbeRun(*probe_, std::max<int64_t>(1, d / absl::Milliseconds(2))); }

  void KillAgent(const std::string& node) {
    ASSERT_TRUE(agents_[node].Kill(SIGKILL).ok());
    auto exit = agents_[node].Wait(absl::Seconds(5));
    ASSERT_TRUE(exit.ok()) << exit.status();
  }

  // The agent's last event of `kind` after `after`.
  std::optional<v1::Event> LastEvent(const std::string& node, v1::EventKind kind,
                                     MonoTime after) {
    auto events = EventsOf(node, Kind(kind), after);
    if (events.empty()) return std::nullopt;
    return events.back();
  }

  void Note(const std::string& note) {
    if (!row_.note.empty()) absl::StrAppend(&row_.note, "; ");
    absl::StrAppend(&row_.note, note);
  }

  static void PrintRow(const Row& row) { std::cerr << TableHeader() << RowLine(row); }

 public:
  static std::string TableHeader() {
    return "| scenario | runs | no holder, ms (median / max) | two holders, ms (total / max) | "
           "two holders while connected, ms | failovers (false) | resources as expected | "
           "client's longest gap, ms (median / max) | notes |\n"
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  }

  static std::string RowLine(const Row& row) {
    std::vector<double> none, two, gap;
    int failovers = 0, false_failovers = 0, ok = 0;
    std::vector<double> outages;
    double allowed = 0;
    for (const RepResult& r : row.reps) {
      none.push_back(ToMs(r.no_holder));
      two.push_back(ToMs(r.two_holders));
      gap.push_back(ToMs(r.client_gap));
      failovers += r.failovers;
      false_failovers += r.false_failovers;
      ok += r.resources_ok ? 1 : 0;
      if (r.outage) outages.push_back(ToMs(*r.outage));
      if (r.allowed) allowed = std::max(allowed, ToMs(*r.allowed));
    }
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[(v.size() - 1) / 2];  // the lower median
    };
    auto max = [](const std::vector<double>& v) {
      return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
    };
    double two_total = 0;
    for (double t : two) two_total += t;
    double connected_total = 0;
    for (const RepResult& r : row.reps) connected_total += ToMs(r.two_holders_connected);
    std::string note = row.note;
    if (!outages.empty()) {
      note = absl::StrCat(absl::StrFormat("outage (kill -> survivor answers) median %.0f ms, max %.0f ms, allowed %.0f ms",
                                          median(outages), max(outages), allowed),
                          note.empty() ? "" : "; ", note);
    }
    return absl::StrFormat("| %s | %d | %.0f / %.0f | %.0f / %.0f | %.0f | %d (%d) | %d of %d | %.0f / %.0f | %s |\n",
                           row.scenario, row.reps.size(), median(none), max(none), two_total,
                           max(two), connected_total, failovers, false_failovers, ok, row.reps.size(), median(gap),
                           max(gap), note);
  }

 protected:
  std::unique_ptr<VipProbe> probe_;
  std::string holder_;
  absl::Duration bound_;
  absl::Duration group_start_;
  CalmWindow calm_;
  Row row_;
};

// ------------------------------------------------------------------------
// Deaths of the active node.

// kill -9 of the agent, the VIP removed and the service stopped, as when
// the machine dies; the node comes back and the group stays where it went.
TEST_F(FaultMatrixTest, CrashOfActiveNode) {
  Begin("crash of the active node (kill -9, VIP gone)", "fmcrash");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.failovers = Failovers::kOne;
    const std::string active = holder_, peer = Other(holder_);
    const MonoTime kill = MonotonicNow();
    CrashNode(active);
    if (HasFatalFailure()) return;
    const MonoTime back = ExpectAnswerFrom(*probe_, peer, kill);
    r.outage = back - kill;
    // The failover benchmark's target for a crash is deadtime + 10 ms from
    // the kill to the survivor's first answer, for a group of one VIP.
    // This group also starts an LSB service: the time its start took at
    // cluster start in this run, and the calm client gap, are added.
    r.allowed = kDeadtime + absl::Milliseconds(10) + group_start_ + calm_.longest.length() +
                kGapMargin;
    auto dead = WaitEvent(
        peer,
        [&](const v1::Event& e) {
          return e.kind() == v1::EVENT_KIND_NODE_DEAD && e.node() == active;
        },
        kill, absl::Seconds(2));
    ASSERT_TRUE(dead.has_value()) << Diagnose();
    std::cerr << "crash: " << peer << " declared " << active << " dead "
              << Ms(EventTime(*dead) - kill) << " after the kill, the client was answered "
              << Ms(*r.outage) << " after it (group start at cluster start: " << Ms(group_start_)
              << ")\n";
    EXPECT_LE(*r.outage, *r.allowed) << "crash outage";
    const MonoTime restart = MonotonicNow();
    StartAgent(active);
    if (HasFatalFailure()) return;
    WaitReunited();
    if (HasFatalFailure()) return;
    r.connected = {{restart, kForever}};
    EndRep(r, peer);
  }
}

// kill -9 of the agent alone: the VIP and the service stay up on its node,
// as after a real crash of the agent. The peer cannot tell this from a node
// crash: after deadtime it takes the group too (two holders, reported). The
// agent restarted at once after that: one holder within deadtime + one
// keepalive of the restart.
TEST_F(FaultMatrixTest, AgentKilledWithVipLeftUp) {
  Begin("kill -9 of the active agent alone, VIP left up", "fmagentkill");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.failovers = Failovers::kOne;
    const std::string active = holder_, peer = Other(holder_);
    KillAgent(active);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(HasVip(active));
    ASSERT_TRUE(WaitHolder(peer, peer, absl::Seconds(10))) << Diagnose();
    const MonoTime restart = MonotonicNow();
    StartAgent(active);
    if (HasFatalFailure()) return;
    WaitReunited();
    if (HasFatalFailure()) return;
    // Once the restarted agent has had deadtime + one keepalive to settle.
    r.connected = {{restart + kDeadtime + kKeepalive, kForever}};
    EndRep(r, "");
  }
  Note("two holders: from the peer's takeover until the restarted agent settles");
}

// Both NICs of the active node down: the peer takes over; links up again,
// the two holders that meet settle within deadtime + one keepalive.
TEST_F(FaultMatrixTest, LinkDownOfActiveNode) {
  Begin("link down of the active node (both NICs)", "fmlinkdown");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.failovers = Failovers::kOne;
    const std::string active = holder_, peer = Other(holder_);
    const MonoTime down = MonotonicNow();
    ASSERT_TRUE(lab().SetLinkUp(active, "eth0", false).ok());
    ASSERT_TRUE(lab().SetLinkUp(active, "eth1", false).ok());
    ASSERT_TRUE(WaitHolder(peer, peer, absl::Seconds(10))) << Diagnose();
    ExpectAnswerFrom(*probe_, peer, down);
    Hold(kDeadtime);
    ASSERT_TRUE(lab().SetLinkUp(active, "eth0", true).ok());
    ASSERT_TRUE(lab().SetLinkUp(active, "eth1", true).ok());
    const MonoTime up = MonotonicNow();
    r.rejoined = up;
    WaitReunited();
    if (HasFatalFailure()) return;
    r.connected = {{r.from, down}, {up + kDeadtime + kKeepalive, kForever}};
    EndRep(r, "");
  }
  Note("two holders: the isolated node keeps its VIP on its downed NIC until the links return");
}

// ------------------------------------------------------------------------
// Heartbeat media.

// One of the two media cut between the nodes (lan and hb in turns) for
// four deadtimes, then healed: nothing moves.
TEST_F(FaultMatrixTest, OneOfTwoMediaCut) {
  Begin("one of two heartbeat media cut", "fmonemedium");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    const std::string nic = i % 2 == 0 ? "eth1" : "eth0";
    const std::string link = nic == "eth1" ? "198.51.100" : "192.0.2";
    const MonoTime cut = MonotonicNow();
    ASSERT_TRUE(lab().CutPath("node01", "node02", nic).ok());
    for (const std::string& n : Nodes()) {
      EXPECT_TRUE(WaitEvent(n, Kind(v1::EVENT_KIND_LINK_DEAD), cut, absl::Seconds(3)))
          << n << " never reported the link dead\n" << Diagnose();
    }
    Hold(2 * kDeadtime);
    const MonoTime heal = MonotonicNow();
    ASSERT_TRUE(lab().HealPath("node01", "node02", nic).ok());
    for (const std::string& n : Nodes()) {
      EXPECT_TRUE(WaitEvent(n, Kind(v1::EVENT_KIND_LINK_UP), heal, absl::Seconds(3)))
          << n << " never reported the link up again\n" << Diagnose();
    }
    EXPECT_EQ(NodesAnswering(probe_->Answers(), r.from, MonotonicNow()),
              std::set<std::string>{holder_});
    EndRep(r, holder_);
  }
}

// Both media cut, no ping node: each side runs the group (split brain,
// reported); on heal one keeps it, the other releases within deadtime +
// one keepalive.
TEST_F(FaultMatrixTest, BothMediaCutWithoutPingNode) {
  Begin("both media cut, no ping node", "fmbothcut");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.failovers = Failovers::kOne;
    const std::string peer = Other(holder_);
    const MonoTime cut = MonotonicNow();
    ASSERT_TRUE(lab().CutPath("node01", "node02").ok());
    ASSERT_TRUE(WaitHolder(peer, peer, absl::Seconds(10))) << Diagnose();
    Hold(2 * kDeadtime);
    ASSERT_TRUE(lab().HealPath("node01", "node02").ok());
    const MonoTime heal = MonotonicNow();
    r.rejoined = heal;
    WaitReunited();
    if (HasFatalFailure()) return;
    r.connected = {{r.from, cut}, {heal + kDeadtime + kKeepalive, kForever}};
    EndRep(r, "");
  }
  Note("two holders: split brain while no medium connects the nodes, until the heal settles");
}

// Both media cut with a ping node, the active node cut from the ping node
// as well: it yields (deadping 300 ms < deadtime), the peer, which still
// reaches the ping node, takes over: no two holders at any time. Each run
// starts once both nodes know from the other's heartbeats that it reaches
// the ping node: cut before that, the active node takes its peer for cut
// off from the ping node too and does not yield until deadtime (two
// holders for 20-81 ms in 9 of 10 runs before this wait). The heal: the
// heartbeat paths first, then the ping node (as
// PartitionTest::HealNetwork).
TEST_F(FaultMatrixTest, BothMediaCutWithPingNode) {
  Begin("both media cut, ping node (active cut from it too)", "fmbothping", /*ping_node=*/true);
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.failovers = Failovers::kOne;
    // No medium joins the nodes during the cut, but the active node yields
    // at deadping, before the peer's deadtime runs out: no two holders at
    // any time.
    r.connected = {{r.from, kForever}};
    const std::string active = holder_, peer = Other(holder_);
    ASSERT_TRUE(lab().CutPath(active, peer).ok());
    ASSERT_TRUE(lab().CutPath(active, "pingnode").ok());
    ASSERT_TRUE(WaitHolder(peer, peer, absl::Seconds(10))) << Diagnose();
    Hold(2 * kDeadtime);
    ASSERT_TRUE(lab().HealPath(active, peer).ok());
    WaitReunited();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(lab().HealPath(active, "pingnode").ok());
    WaitPingScoresKnown();
    if (HasFatalFailure()) return;
    EndRep(r, peer);
  }
}

// Heartbeats into one node dropped (nftables in its namespace) for four
// deadtimes: the other direction still connects the nodes, so at no
// instant may both hold the VIP. Into the active node: nothing moves. Into
// the standby: it tells the active node it is fading, and at its deadline
// declares it dead and takes the group; the active node, hearing the
// first, has released it by then (a failover by design, reported).
class OneWayTest : public FaultMatrixTest {
 public:
  void Run(bool into_active) {
    Begin(into_active ? "one-way cut: heartbeats into the active node lost"
                      : "one-way cut: heartbeats into the standby lost",
          into_active ? "fmowactive" : "fmowstandby");
    if (HasFatalFailure()) return;
    for (int i = 0; i < g_reps; ++i) {
      Rep r = BeginRep(i);
      r.connected = {{r.from, kForever}};
      r.failovers = into_active ? Failovers::kNone : Failovers::kAny;
      // Heartbeats into the standby lost: its heartbeats list the active
      // node as fading a fifth of deadtime before it declares it dead; the
      // active node, which still hears them, releases the group then, and
      // the standby starts it at its deadline: never two holders.
      const std::string deaf = into_active ? holder_ : Other(holder_);
      SetDeaf(deaf, true);
      if (HasFatalFailure()) return;
      ASSERT_TRUE(harness::WaitFor(
          [&] { return Client(deaf).StateOf(Other(deaf)) == v1::NODE_STATE_DEAD; },
          absl::Seconds(5)))
          << deaf << " never declared its peer dead\n" << Diagnose();
      Hold(3 * kDeadtime);
      SetDeaf(deaf, false);
      if (HasFatalFailure()) return;
      WaitReunited();
      if (HasFatalFailure()) return;
      EndRep(r, into_active ? holder_ : "");
    }
  }
};

TEST_F(OneWayTest, HeartbeatsIntoActiveLost) { Run(true); }
TEST_F(OneWayTest, HeartbeatsIntoStandbyLost) { Run(false); }

// Random loss of heartbeats, in both directions on both media (each node
// drops that share of what it sends), for ten deadtimes (short mode) or
// twenty (long mode).
class LossTest : public FaultMatrixTest {
 public:
  void Run(int percent) {
    Begin(absl::StrCat(percent, "% heartbeat loss, both ways, both media"),
          absl::StrCat("fmloss", percent));
    if (HasFatalFailure()) return;
    uint64_t late = 0;
    for (int i = 0; i < g_reps; ++i) {
      Rep r = BeginRep(i);
      r.connected = {{r.from, kForever}};
      // Up to 20% a failover is false; at 50% one may be right (five
      // keepalives lost in a row on both media: the peer is silent for
      // deadtime), reported.
      r.failovers = percent <= 20 ? Failovers::kNone : Failovers::kAny;
      // Such a failover takes the group from a holder that still hears the
      // taker now and then: told by the taker's heartbeats that it is
      // fading (sent four times over the last fifth of deadtime), it
      // releases the group before the taker starts it.
      for (const std::string& n : Nodes()) SetLoss(n, percent);
      if (HasFatalFailure()) return;
      Hold((g_long ? 20 : 10) * kDeadtime);
      for (const std::string& n : Nodes()) SetLoss(n, 0);
      if (HasFatalFailure()) return;
      WaitReunited();
      if (HasFatalFailure()) return;
      for (const std::string& n : Nodes()) {
        late += EventsOf(n, Kind(v1::EVENT_KIND_HEARTBEAT_LATE), r.from).size();
      }
      EndRep(r, percent <= 20 ? holder_ : "");
    }
    Note(absl::StrCat(late, " late-heartbeat events; ", g_long ? 20 : 10,
                      " deadtimes of loss per run"));
  }
};

TEST_F(LossTest, Loss20Percent) { Run(20); }
TEST_F(LossTest, Loss50Percent) { Run(50); }

// Jitter on every heartbeat, both ways, both media: each node's heartbeats
// held for a delay drawn uniformly from 0-100 ms (one keepalive) before
// they leave, so they arrive up to 200 ms apart and out of order. This
// kernel has no sch_netem: an iptables NFQUEUE rule in each node's
// namespace hands them to jitter_queue, which accepts each after its delay.
// Nothing may move.
TEST_F(FaultMatrixTest, HeartbeatJitter) {
  Begin("jitter 0-100 ms on every heartbeat, both ways, both media", "fmjitter");
  if (HasFatalFailure()) return;
  const std::string jitter = RunfilePath("tests/cluster/jitter_queue");
  const std::vector<std::string> rule = {"-p", "udp", "--dport", absl::StrCat(kHeartbeatPort),
                                         "-j", "NFQUEUE", "--queue-num", "7", "--queue-bypass"};
  auto iptables = [&](const std::string& node, const std::string& op) {
    std::vector<std::string> argv = {"iptables", op, "OUTPUT"};
    argv.insert(argv.end(), rule.begin(), rule.end());
    auto r = lab().Run(node, argv);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->status.ok()) << absl::StrJoin(argv, " ") << ": " << r->output;
  };
  uint64_t late = 0, replays = 0, delayed = 0;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    std::map<std::string, uint64_t> replays_before;
    const absl::Duration length = (g_long ? 20 : 10) * kDeadtime;
    std::map<std::string, Process> queues;
    for (const std::string& n : Nodes()) {
      replays_before[n] = Dropped(n, "replay");
      auto p = lab().Spawn(n, {jitter, "--queue", "7", "--min-delay-ms", "0", "--max-delay-ms",
                               "100", "--seconds",
                               absl::StrCat(absl::ToDoubleSeconds(length)), "--seed",
                               absl::StrCat(10 * i + n.back())});
      ASSERT_TRUE(p.ok()) << p.status();
      queues[n] = *std::move(p);
    }
    // The queues bind before the rules send them anything (until then,
    // --queue-bypass lets heartbeats through).
    Hold(absl::Milliseconds(100));
    for (const std::string& n : Nodes()) iptables(n, "-A");
    if (HasFatalFailure()) return;
    for (auto& [n, p] : queues) {
      auto exit = p.Wait(length + absl::Seconds(10));
      ASSERT_TRUE(exit.ok()) << exit.status();
      EXPECT_TRUE(exit->ok()) << n << "'s jitter_queue: " << exit->ToString() << "\n"
                              << Tail(ReadFile(p.log_path()), 5);
      // "queued=N delayed=N max_held=N"
      const std::string line(absl::StripAsciiWhitespace(Tail(ReadFile(p.log_path()), 1)));
      uint64_t n_delayed = 0;
      const size_t at = line.find("delayed=");
      EXPECT_TRUE(at != std::string::npos &&
                  absl::SimpleAtoi(line.substr(at + 8, line.find(' ', at) - at - 8), &n_delayed))
          << line;
      EXPECT_GT(n_delayed, 0u) << n << "'s jitter_queue delayed nothing: " << line;
      delayed += n_delayed;
    }
    for (const std::string& n : Nodes()) iptables(n, "-D");
    if (HasFatalFailure()) return;
    WaitReunited();
    if (HasFatalFailure()) return;
    for (const std::string& n : Nodes()) {
      late += EventsOf(n, Kind(v1::EVENT_KIND_HEARTBEAT_LATE), r.from).size();
      replays += Dropped(n, "replay") - replays_before[n];
    }
    EXPECT_EQ(NodesAnswering(probe_->Answers(), r.from, MonotonicNow()),
              std::set<std::string>{holder_});
    EndRep(r, holder_);
  }
  Note(absl::StrCat(delayed, " heartbeats delayed; ", late, " late-heartbeat events, ", replays,
                    " reordered heartbeats dropped as replays; ", g_long ? 20 : 10,
                    " deadtimes of jitter per run"));
}

// ------------------------------------------------------------------------
// The agents themselves.

// The active node's agent killed and started again at once, as an upgrade
// in place: the restarted agent probes what runs and adopts it. The
// service keeps its pid, no start runs, the peer declares nothing dead,
// the client is answered by the active node throughout.
TEST_F(FaultMatrixTest, AgentRestartOnActiveNode) {
  Begin("agent restart on the active node (kill -9, start at once)", "fmrestart");
  if (HasFatalFailure()) return;
  int late_starts = 0;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    const std::string active = holder_, peer = Other(holder_);
    const pid_t service = ProbePid(active);
    ASSERT_GT(service, 0);
    const MonoTime kill = MonotonicNow();
    KillAgent(active);
    if (HasFatalFailure()) return;
    StartAgent(active);
    if (HasFatalFailure()) return;
    WaitReunited();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(WaitEvent(active, Kind(v1::EVENT_KIND_GROUP_RUNNING), -absl::InfiniteDuration(),
                          absl::Seconds(5)))
        << Diagnose();
    auto started = EventsOf(active, Kind(v1::EVENT_KIND_AGENT_STARTED));
    const bool late = !started.empty() && EventTime(started.front()) - kill > kDeadtime - kKeepalive;
    if (late) {
      // The machine started the agent too late for its peer's deadtime:
      // a death, rightly declared; checked as such.
      ++late_starts;
      r.failovers = Failovers::kAny;
      r.connected.clear();
      std::cerr << "the restarted agent started " << Ms(EventTime(started.front()) - kill)
                << " after the kill: later than deadtime allows\n";
    } else {
      EXPECT_TRUE(EventsOf(peer, [&](const v1::Event& e) {
                    return e.kind() == v1::EVENT_KIND_NODE_DEAD && e.node() == active;
                  }, kill).empty())
          << peer << " declared " << active << " dead";
      EXPECT_EQ(ProbePid(active), service) << "the service was restarted";
      EXPECT_TRUE(EventsOf(active, ResourceOp(v1::RESOURCE_OP_START, true)).empty())
          << "the restarted agent started the service again";
      EXPECT_EQ(NodesAnswering(probe_->Answers(), r.from, MonotonicNow()),
                std::set<std::string>{active});
    }
    EndRep(r, late ? "" : active);
  }
  if (late_starts > 0) Note(absl::StrCat(late_starts, " restart(s) came after deadtime (machine too slow)"));
}

// The standby's agent stopped (SIGTERM and SIGKILL in turns) and started
// again, three times per run: the active node keeps serving.
TEST_F(FaultMatrixTest, StandbyRestartsRepeatedly) {
  Begin("standby node restarting repeatedly (3 restarts per run)", "fmstandby");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    const std::string standby = Other(holder_);
    for (int k = 0; k < 3; ++k) {
      if ((i + k) % 2 == 0) {
        KillAgent(standby);
      } else {
        auto exit = agents_[standby].Stop(absl::Seconds(5));
        ASSERT_TRUE(exit.ok()) << exit.status();
      }
      if (HasFatalFailure()) return;
      StartAgent(standby);
      if (HasFatalFailure()) return;
      WaitReunited();
      if (HasFatalFailure()) return;
    }
    EXPECT_EQ(NodesAnswering(probe_->Answers(), r.from, MonotonicNow()),
              std::set<std::string>{holder_});
    EndRep(r, holder_);
  }
}

// ------------------------------------------------------------------------
// Resource failures.

// The service cannot start on the standby; an operator moves the group
// there: the start fails and the group comes back to the node it left.
TEST_F(FaultMatrixTest, ResourceStartFailure) {
  Begin("resource start failure (move to a node whose start fails)", "fmstartfail");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.failovers = Failovers::kAny;  // the planned move's attempt
    const std::string active = holder_, peer = Other(holder_);
    SetProbeFaults(peer, FailStart());
    const MonoTime asked = MonotonicNow();
    harness::RunResult res = Hacli(active, {"move", kGroup, peer, "--no-wait"});
    ASSERT_TRUE(res.status.ok()) << res.status.ToString() << ": " << res.output;
    ASSERT_TRUE(WaitEvent(peer, ResourceOp(v1::RESOURCE_OP_START, false), asked, absl::Seconds(10)))
        << "no failed start on " << peer << "\n" << Diagnose();
    ASSERT_TRUE(WaitEvent(peer, Kind(v1::EVENT_KIND_GROUP_FAILED), asked, absl::Seconds(5)))
        << Diagnose();
    const std::string holder = ExpectResourcesInPlace(active);
    ASSERT_EQ(holder, active);
    auto g = GroupSeenBy(active);
    ASSERT_TRUE(g.has_value());
    EXPECT_TRUE(Contains({g->failed_on().begin(), g->failed_on().end()}, peer))
        << g->DebugString();
    SetProbeFaults(peer, {});
    r.connected = {{r.from, kForever}};
    EndRep(r, active);
  }
  Note("failovers: the planned moves' attempts");
}

// The service killed three times on the active node (monitor every
// 200 ms): restarted in place twice, the third failure moves the group to
// the peer; then the operator moves it back (clearing the failure).
TEST_F(FaultMatrixTest, ResourceMonitorFailure) {
  Begin("resource monitor failure (3 kills of the service: 2 restarts, 1 move)", "fmmonitor",
        /*ping_node=*/false, "200ms");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    r.failovers = Failovers::kOne;
    const std::string active = holder_, peer = Other(holder_);
    for (int k = 1; k <= 3; ++k) {
      const pid_t pid = ProbePid(active);
      ASSERT_GT(pid, 0);
      const MonoTime killed = MonotonicNow();
      ASSERT_EQ(kill(pid, SIGKILL), 0);
      ASSERT_TRUE(WaitEvent(active, ResourceOp(v1::RESOURCE_OP_MONITOR, false), killed,
                            absl::Seconds(3)))
          << "no failed monitor after kill " << k << "\n" << Diagnose();
      if (k < 3) {
        ASSERT_TRUE(WaitEvent(active, ResourceOp(v1::RESOURCE_OP_START, true), killed,
                              absl::Seconds(5)))
            << "the service was not restarted in place\n" << Diagnose();
        ASSERT_TRUE(harness::WaitFor([&] { return ProbePid(active) > 0 && ProbePid(active) != pid; },
                                     absl::Seconds(5)));
      }
    }
    ASSERT_TRUE(WaitHolder(peer, peer, absl::Seconds(10))) << Diagnose();
    ExpectResourcesInPlace(peer);
    harness::RunResult res = Hacli(peer, {"move", kGroup, active, "--timeout", "10s"});
    ASSERT_TRUE(res.status.ok()) << res.status.ToString() << ": " << res.output << Diagnose();
    EndRep(r, active);
  }
  Note("each run: 2 restarts in place, a move to the peer on the 3rd failure, a planned move back");
}

// The service's stop fails on the active node; an operator moves the group:
// the group is blocked there (STOP_FAILED) and the peer never takes it;
// once the stop works again the retry lets it go to the peer.
TEST_F(FaultMatrixTest, ResourceStopFailure) {
  Begin("resource stop failure (move while stop fails)", "fmstopfail");
  if (HasFatalFailure()) return;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    r.failovers = Failovers::kAny;  // the planned move
    const std::string active = holder_, peer = Other(holder_);
    SetProbeFaults(active, FailStop());
    const MonoTime asked = MonotonicNow();
    harness::RunResult res = Hacli(active, {"move", kGroup, peer, "--no-wait"});
    ASSERT_TRUE(res.status.ok()) << res.status.ToString() << ": " << res.output;
    ASSERT_TRUE(WaitEvent(active, Kind(v1::EVENT_KIND_STOP_FAILED), asked, absl::Seconds(5)))
        << Diagnose();
    ASSERT_TRUE(WaitHolder(active, active, absl::Seconds(2), v1::GROUP_STATE_BLOCKED))
        << Diagnose();
    Hold(2 * kDeadtime);
    EXPECT_FALSE(sampler_->SeenHolding(peer, asked, MonotonicNow())) << sampler_->Describe();
    EXPECT_EQ(NodesAnswering(probe_->Answers(), asked, MonotonicNow()),
              std::set<std::string>{active});
    SetProbeFaults(active, {});
    EndRep(r, peer);
  }
  Note("failovers: the planned moves, each done at the stop's next retry (5 s)");
}

// ------------------------------------------------------------------------
// The wall clock.

// A step of the wall clock by +1 h or -1 h on node01 alone (the active
// node), and back, while it runs. The agent times everything on
// CLOCK_MONOTONIC; the step must move nothing.
//
// How: stepping the machine's real clock needs CAP_SYS_TIME and would step
// every process on it (a time namespace offsets only the monotonic and
// boot-time clocks, not the wall clock). node01's agent instead runs under
// Debian's libfaketime (LD_PRELOAD) with FAKETIME_DONT_FAKE_MONOTONIC=1,
// so only CLOCK_REALTIME (clock_gettime, gettimeofday, time) is offset, by
// the value in a file (FAKETIME_TIMESTAMP_FILE, "+0", "+1h", "-1h") that it
// re-reads at most every second (FAKETIME_CACHE_DURATION=1; a file read on
// every clock call would cost the heartbeat loop). A step is the file
// rewritten; the test waits until the agent's own wall clock shows it (the
// wall time of the event of a SIGHUP reload). One thing a real step moves
// that this does not: the kernel's receive timestamps on heartbeats
// (SO_TIMESTAMPNS, real CLOCK_REALTIME); the agent converts them with its
// own, now offset, wall clock and then bounds them by its monotonic reads,
// which is what a step between a datagram's arrival and its read looks
// like.
TEST_F(FaultMatrixTest, WallClockStepOnOneNode) {
  ASSERT_TRUE(std::filesystem::exists(kFaketimeLib))
      << kFaketimeLib << " is missing (Debian's libfaketime, see setup.sh)";
  const std::string offset_file = dir_.Write("faketime-offset", "+0\n");
  agent_env_["node01"] = {absl::StrCat("LD_PRELOAD=", kFaketimeLib),
                          absl::StrCat("FAKETIME_TIMESTAMP_FILE=", offset_file),
                          "FAKETIME_DONT_FAKE_MONOTONIC=1", "FAKETIME_CACHE_DURATION=1"};
  Begin("wall-clock step of +1 h / -1 h on the active node (libfaketime)", "fmclock");
  if (HasFatalFailure()) return;
  // The agent's wall clock minus the test's, from a SIGHUP's event.
  auto agent_offset = [&](absl::Duration expected) -> std::optional<absl::Duration> {
    std::optional<absl::Duration> seen;
    harness::WaitFor(
        [&] {
          const MonoTime asked = MonotonicNow();
          const absl::Time real = absl::Now();
          if (!agents_["node01"].Kill(SIGHUP).ok()) return false;
          auto e = WaitEvent("node01", Kind(v1::EVENT_KIND_CONFIG_RELOADED), asked,
                             absl::Seconds(2));
          if (!e.has_value()) return false;
          const absl::Time wall = absl::FromUnixSeconds(e->time().seconds()) +
                                  absl::Nanoseconds(e->time().nanos());
          seen = wall - real;
          return absl::AbsDuration(*seen - expected) < absl::Seconds(30);
        },
        absl::Seconds(5), absl::Milliseconds(300));
    return seen;
  };
  auto before = agent_offset(absl::ZeroDuration());
  ASSERT_TRUE(before.has_value() && absl::AbsDuration(*before) < absl::Seconds(30))
      << "node01's wall clock is off before any step";
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    ASSERT_EQ(holder_, "node01") << "the group left the node whose clock steps";
    const absl::Duration step = i % 2 == 0 ? absl::Hours(1) : -absl::Hours(1);
    dir_.Write("faketime-offset", i % 2 == 0 ? "+1h\n" : "-1h\n");
    auto off = agent_offset(step);
    ASSERT_TRUE(off.has_value()) << "no reload event";
    EXPECT_LT(absl::AbsDuration(*off - step), absl::Seconds(30))
        << "node01's wall clock did not step: " << *off;
    std::cerr << "node01's wall clock is now " << absl::FormatDuration(*off) << " off\n";
    Hold(4 * kDeadtime);
    dir_.Write("faketime-offset", "+0\n");
    off = agent_offset(absl::ZeroDuration());
    ASSERT_TRUE(off.has_value() && absl::AbsDuration(*off) < absl::Seconds(30))
        << "node01's wall clock did not step back";
    Hold(4 * kDeadtime);
    for (const std::string& n : Nodes()) {
      EXPECT_TRUE(EventsOf(n, Kind(v1::EVENT_KIND_NODE_DEAD), r.from).empty())
          << n << " declared a node dead";
    }
    EXPECT_EQ(NodesAnswering(probe_->Answers(), r.from, MonotonicNow()),
              std::set<std::string>{"node01"});
    EndRep(r, "node01");
  }
  Note("odd runs +1 h then back, even runs -1 h then back; 2 s at each offset");
}

// ------------------------------------------------------------------------
// Hostile traffic.

// From an attacker host on both networks, for ten deadtimes: 5,000 junk
// datagrams a second at both nodes' heartbeat ports (flood_sender: oversized,
// garbage, well-formed frames with a bad MAC), and the frames each node sent
// to the other, captured earlier, replayed to it every 50 ms. Nothing
// moves; the replays are counted as such.
TEST_F(FaultMatrixTest, ForgedAndReplayedHeartbeatFlood) {
  Begin("flood of forged and replayed heartbeats", "fmflood");
  if (HasFatalFailure()) return;
  absl::Status added = lab().AddHost("attacker", {{"lan", "eth0", "192.0.2.66"},
                                                  {"hb", "eth1", "198.51.100.66"}});
  ASSERT_TRUE(added.ok()) << added;
  // Each node's frames as the other receives them.
  std::map<std::string, std::vector<CapturedFrame>> frames;  // by receiver
  for (int k = 1; k <= 2; ++k) {
    const std::string receiver = absl::StrCat("node0", k);
    const int s = 3 - k;
    auto capture = HeartbeatCapture::Start(
        Netns(receiver), {absl::StrCat("192.0.2.1", s), absl::StrCat("198.51.100.1", s)},
        kHeartbeatPort, 100);
    ASSERT_TRUE(capture.ok()) << capture.status();
    ASSERT_TRUE(harness::WaitFor([&] { return (*capture)->Frames().size() >= 30; },
                                 absl::Seconds(10)));
    (*capture)->Stop();
    frames[receiver] = (*capture)->Frames();
  }
  auto fd = OpenSocketInNetns(Netns("attacker"), AF_INET, SOCK_DGRAM, 0);
  ASSERT_TRUE(fd.ok()) << fd.status();
  auto replay = [&]() {
    size_t sent = 0;
    for (const auto& [receiver, list] : frames) {
      const char k = receiver.back();
      for (const CapturedFrame& f : list) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(kHeartbeatPort);
        const std::string dst = absl::StartsWith(f.source, "192.0.2.")
                                    ? absl::StrCat("192.0.2.1", std::string(1, k))
                                    : absl::StrCat("198.51.100.1", std::string(1, k));
        inet_pton(AF_INET, dst.c_str(), &to.sin_addr);
        if (sendto(*fd, f.payload.data(), f.payload.size(), 0,
                   reinterpret_cast<sockaddr*>(&to), sizeof(to)) ==
            static_cast<ssize_t>(f.payload.size())) {
          ++sent;
        }
      }
    }
    return sent;
  };
  const std::string sender = RunfilePath("tests/cluster/flood_sender");
  uint64_t replays_total = 0, replays_sent = 0;
  for (int i = 0; i < g_reps; ++i) {
    Rep r = BeginRep(i);
    r.connected = {{r.from, kForever}};
    std::map<std::string, uint64_t> before;
    for (const std::string& n : Nodes()) before[n] = Dropped(n, "replay");
    const absl::Duration flood = 10 * kDeadtime;
    auto p = lab().Spawn("attacker",
                         {sender, "--to", "192.0.2.11:694", "--to", "192.0.2.12:694", "--to",
                          "198.51.100.11:694", "--to", "198.51.100.12:694", "--rate", "5000",
                          "--seconds", absl::StrCat(absl::ToInt64Seconds(flood)), "--seed",
                          absl::StrCat(i + 1)});
    ASSERT_TRUE(p.ok()) << p.status();
    const MonoTime end = MonotonicNow() + flood;
    while (MonotonicNow() < end) {
      replays_sent += replay();
      Hold(absl::Milliseconds(50));
    }
    auto exit = p->Wait(absl::Seconds(10));
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_TRUE(exit->ok()) << exit->ToString();
    for (const std::string& n : Nodes()) {
      const uint64_t d = Dropped(n, "replay") - before[n];
      EXPECT_GT(d, 0u) << n << " counted no replay";
      replays_total += d;
      EXPECT_TRUE(EventsOf(n, [](const v1::Event& e) {
                    return e.kind() == v1::EVENT_KIND_NODE_DEAD ||
                           e.kind() == v1::EVENT_KIND_NODE_RESTARTED ||
                           e.kind() == v1::EVENT_KIND_SPLIT_BRAIN;
                  }, r.from).empty())
          << n << " saw a membership change during the flood\n" << Diagnose();
    }
    EndRep(r, holder_);
  }
  close(*fd);
  Note(absl::StrCat("5,000 junk datagrams/s for 5 s per run; ", replays_sent,
                    " frames replayed, ", replays_total, " counted as replays"));
}

}  // namespace
}  // namespace hacluster::testing

int main(int argc, char** argv) {
  // Our flags first: --long, --reps=N.
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--long") {
      hacluster::testing::g_long = true;
      hacluster::testing::g_reps = std::max(hacluster::testing::g_reps, 10);
    } else if (absl::StartsWith(a, "--reps=")) {
      int n = 0;
      if (!absl::SimpleAtoi(a.substr(7), &n) || n < 1 || n > 100) {
        std::cerr << "--reps: a number from 1 to 100, not " << a.substr(7) << "\n";
        return 2;
      }
      hacluster::testing::g_reps = n;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (hacluster::testing::g_long && hacluster::testing::g_reps < 10) hacluster::testing::g_reps = 10;
  int n = static_cast<int>(rest.size());
  ::testing::InitGoogleTest(&n, rest.data());
  const int status = RUN_ALL_TESTS();
  std::string table = absl::StrCat(
      "Fault matrix (", hacluster::testing::g_long ? "long" : "short", " mode, ",
      hacluster::testing::g_reps, " runs per scenario; keepalive 100 ms, deadtime 500 ms)\n\n",
      hacluster::testing::FaultMatrixTest::TableHeader());
  for (const auto& row : hacluster::testing::Rows()) {
    absl::StrAppend(&table, hacluster::testing::FaultMatrixTest::RowLine(row));
  }
  std::cout << "\n" << table << std::flush;
  if (const char* out = getenv("TEST_UNDECLARED_OUTPUTS_DIR"); out != nullptr) {
    std::ofstream(absl::StrCat(out, "/fault_matrix.md")) << table;
  }
  return status;
}
