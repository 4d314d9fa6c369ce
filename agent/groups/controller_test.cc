#include "agent/groups/controller.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

using State = GroupRunner::State;

// node01 and node02 (or more), one group "web" (an ip and an lsb resource,
// the lsb one monitored every 1s) preferred on node01.
spec::v1::ClusterSpec Spec(int nodes = 2, bool failback = false, bool fencing = false) {
  spec::v1::ClusterSpec s;
  s.set_cluster_name("c");
  for (int i = 1; i <= nodes; ++i) s.add_nodes()->set_name("node0" + std::to_string(i));
  s.set_auto_failback(failback ? spec::v1::AUTO_FAILBACK_ON : spec::v1::AUTO_FAILBACK_OFF);
  auto* g = s.add_groups();
  g->set_name("web");
  g->set_preferred_node("node01");
  g->add_resources()->mutable_ip()->set_address("192.0.2.50");
  auto* lsb = g->add_resources();
  lsb->mutable_lsb()->set_name("apache2");
  lsb->mutable_monitor_interval()->set_seconds(1);
  if (fencing) {
    s.mutable_fencing()->add_command("/bin/fence");
    s.mutable_fencing()->add_command("{node}");
  }
  return s;
}

// Several controllers that hear each other's heartbeats, with operations
// completed by the test.
class Sim {
 public:
  explicit Sim(const spec::v1::ClusterSpec& spec) : spec_(spec) {
    for (const auto& n : spec.nodes()) {
      nodes_[n.name()].controller = std::make_unique<GroupController>(spec, n.name());
      nodes_[n.name()].alive = true;
      order_.push_back(n.name());
    }
  }

  GroupController& c(const std::string& n) { return *nodes_[n].controller; }
  ControllerOutput& out(const std::string& n) { return nodes_[n].out; }

  // Each alive node sends its heartbeat; every alive node evaluates.
  void Round(bool hold = false) {
    for (auto& [name, n] : nodes_) {
      if (!n.alive) continue;
      n.heartbeat.Clear();
      n.heartbeat.set_node(name);
      n.controller->FillHeartbeat(&n.heartbeat);
      if (no_awaiting_.count(name) > 0) n.heartbeat.clear_awaiting();
    }
    for (const std::string& name : order_) {
      Node& n = nodes_[name];
      if (!n.alive) continue;
      std::vector<NodeInput> in;
      for (const std::string& other : order_) {
        NodeInput i;
        i.name = other;
        i.alive = nodes_[other].alive && !Cut(name, other) && deaf_.count({name, other}) == 0;
        i.hears_local = deaf_.count({other, name}) == 0;
        i.score = nodes_[other].score;
        i.heartbeat = other == name || !i.alive ? nullptr : &nodes_[other].heartbeat;
        if (i.alive && other != name) {
          auto q = quiet_since_.find(other);
          i.last_heard = q != quiet_since_.end() ? q->second : now_;
        }
        in.push_back(i);
      }
      n.controller->Evaluate(in, hold, now_, &n.out);
    }
  }

  // Completes every pending op of every node with `ok`, repeatedly, until
  // none is left (bounded), with a round of heartbeats after each step.
  void Settle(int rounds = 20) {
    for (int i = 0; i < rounds; ++i) {
      Round();
      bool any = false;
      for (const std::string& name : order_) {
        Node& n = nodes_[name];
        std::vector<GroupOp> ops;
        ops.swap(n.out.ops);
        for (const GroupOp& op : ops) {
          any = true;
          ran_[name].push_back(op);
          if (op.op == v1::RESOURCE_OP_PROBE) {
            GroupOpResult r;
            r.id = op.id;
            r.ok = leftover_[name];
            r.may_be_running = leftover_[name];
            r.message = r.ok ? "running" : "not running";
            n.controller->OnResult(op.group, r, now_, &n.out);
            continue;
          }
          bool ok = fail_.count({name, op.op}) == 0;
          n.controller->OnResult(op.group, {op.id, ok, ok ? "ok" : "exit status 1"}, now_,
                                 &n.out);
        }
      }
      now_ += absl::Milliseconds(10);
      if (!any && i > 2) break;
    }
  }

  void Kill(const std::string& n) { nodes_[n].alive = false; }
  // The node's agent starts again, with nothing running.
  void Revive(const std::string& n) {
    nodes_[n].alive = true;
    nodes_[n].controller = std::make_unique<GroupController>(spec_, n);
    nodes_[n].out = ControllerOutput();
  }
  // The node's agent crashes and starts again at once, its resources left
  // running (`leftover`) or not, and probes them.
  void RestartAgent(const std::string& n, bool leftover) {
    leftover_[n] = leftover;
    nodes_[n].alive = true;
    nodes_[n].controller = std::make_unique<GroupController>(spec_, n);
    nodes_[n].out = ControllerOutput();
    nodes_[n].controller->Probe(now_, &nodes_[n].out);
  }
  // `listener` stops hearing `speaker` (one-way loss).
  void Deafen(const std::string& listener, const std::string& speaker) {
    deaf_.insert({listener, speaker});
  }
  void SetScore(const std::string& n, uint32_t s) { nodes_[n].score = s; }
  void CutBetween(const std::string& a, const std::string& b) { cuts_.insert({a, b}); }
  void Heal() {
    cuts_.clear();
    deaf_.clear();
  }
  void FailOn(const std::string& n, v1::ResourceOp op) { fail_.insert({n, op}); }
  // The node is still alive to the others but last heard at `since` (its
  // heartbeats stopped coming; not yet dead).
  void QuietSince(const std::string& n, MonoTime since) { quiet_since_[n] = since; }
  // The node's heartbeats never list awaited groups (an older agent).
  void NoAwaiting(const std::string& n) { no_awaiting_.insert(n); }
  // Whether the node has been asked to stop "web" and not told the result.
  bool StopPending(const std::string& n) {
    for (const GroupOp& op : nodes_[n].out.ops) {
      if (op.op == v1::RESOURCE_OP_STOP) return true;
    }
    return false;
  }
  void ClearFailures() { fail_.clear(); }
  const wire::v1::Heartbeat& heartbeat(const std::string& n) { return nodes_[n].heartbeat; }
  MonoTime now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  std::vector<GroupOp>& ran(const std::string& n) { return ran_[n]; }

  // The nodes whose runner of "web" claims it (starting, held or stopping).
  std::vector<std::string> Claimers() {
    std::vector<std::string> out;
    for (const std::string& name : order_) {
      if (nodes_[name].alive &&
          c(name).Runner("web")->claim() != wire::v1::GroupClaim::PHASE_UNSPECIFIED) {
        out.push_back(name);
      }
    }
    return out;
  }
  std::string Holder() {
    std::string h;
    for (const std::string& name : order_) {
      if (nodes_[name].alive && c(name).Runner("web")->state() == State::kRunning) {
        h += (h.empty() ? "" : ",") + name;
      }
    }
    return h;
  }

  bool HasEvent(const std::string& n, v1::EventKind kind, const std::string& text) {
    for (const v1::Event& e : nodes_[n].out.events) {
      if (e.kind() == kind && absl::StrContains(e.reason(), text)) return true;
    }
    return false;
  }

 private:
  struct Node {
    std::unique_ptr<GroupController> controller;
    bool alive = false;
    uint32_t score = 0;
    wire::v1::Heartbeat heartbeat;
    ControllerOutput out;
  };
  bool Cut(const std::string& a, const std::string& b) const {
    return cuts_.count({a, b}) > 0 || cuts_.count({b, a}) > 0;
  }
  spec::v1::ClusterSpec spec_;
  std::map<std::string, Node> nodes_;
  std::vector<std::string> order_;
  std::set<std::pair<std::string, std::string>> cuts_;
  std::set<std::pair<std::string, v1::ResourceOp>> fail_;
  std::set<std::pair<std::string, std::string>> deaf_;  // (listener, speaker)
  std::map<std::string, bool> leftover_;
  std::set<std::string> no_awaiting_;
  std::map<std::string, MonoTime> quiet_since_;
  std::map<std::string, std::vector<GroupOp>> ran_;
  MonoTime now_ = absl::Seconds(100);
};

TEST(GroupControllerTest, GroupStartsOnItsPreferredNodeOnly) {
  Sim sim(Spec());
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
  EXPECT_TRUE(sim.ran("node02").empty());
  // The heartbeat carries the claim.
  ASSERT_EQ(sim.heartbeat("node01").groups_size(), 1);
  EXPECT_EQ(sim.heartbeat("node01").groups(0).phase(), wire::v1::GroupClaim::PHASE_HELD);
}

TEST(GroupControllerTest, NothingIsAcquiredWhileHeld) {
  Sim sim(Spec());
  sim.Round(/*hold=*/true);
  EXPECT_TRUE(sim.out("node01").ops.empty());
  EXPECT_TRUE(sim.c("node01").Urgent());  // waiting
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
}

TEST(GroupControllerTest, PeerDeathMovesTheGroupWithThatReason) {
  Sim sim(Spec());
  sim.Settle();
  sim.Kill("node01");
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
  EXPECT_TRUE(sim.HasEvent("node02", v1::EVENT_KIND_GROUP_STARTING, "its holder node01 is dead"));
  // Failback off: node01 back does not take it.
  sim.Revive("node01");
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
}

TEST(GroupControllerTest, TakeoverFromADeadHolderIsCountedWithItsDuration) {
  Sim sim(Spec());
  sim.Settle();
  v1::GetStatusResponse before;
  sim.c("node02").FillStatus([](MonoTime t) { return absl::FromUnixNanos(0) + t; }, &before);
  EXPECT_EQ(before.counters().failovers(), 0u);
  EXPECT_FALSE(before.counters().has_last_failover_duration());
  sim.Kill("node01");
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node02");
  v1::GetStatusResponse after;
  sim.c("node02").FillStatus([](MonoTime t) { return absl::FromUnixNanos(0) + t; }, &after);
  EXPECT_EQ(after.counters().failovers(), 1u);
  // Two resources started one after the other, 10 ms of simulated time each.
  const int64_t ms = after.counters().last_failover_duration().seconds() * 1000 +
                     after.counters().last_failover_duration().nanos() / 1000000;
  EXPECT_GT(ms, 0);
  EXPECT_LT(ms, 1000);
  // The node that died took nothing over.
  v1::GetStatusResponse other;
  sim.c("node01").FillStatus([](MonoTime t) { return absl::FromUnixNanos(0) + t; }, &other);
  EXPECT_EQ(other.counters().failovers(), 0u);
}

TEST(GroupControllerTest, FailbackOnReturnsItOnlyAfterTheOtherReleased) {
  Sim sim(Spec(2, /*failback=*/true));
  sim.Settle();
  sim.Kill("node01");
  sim.Settle();
  sim.Revive("node01");
  for (int i = 0; i < 20; ++i) {
    sim.Settle(1);
    EXPECT_LE(sim.Claimers().size(), 1u) << "round " << i;
  }
  EXPECT_EQ(sim.Holder(), "node01");
  EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_GROUP_STARTING, "failback"));
}

TEST(GroupControllerTest, StandbyMovesTheGroupAndTheOperationEndsDone) {
  Sim sim(Spec());
  sim.Settle();
  OperationRequest r;
  r.id = 7;
  r.kind = OperationRequest::Kind::kStandby;
  sim.c("node01").Submit(r, 1000, sim.now(), &sim.out("node01"));
  auto& answers = sim.out("node01").answers;
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].second.state(), v1::OPERATION_STATE_PENDING);
  EXPECT_EQ(answers[0].second.message(), "standby all: moving web to node02");
  EXPECT_TRUE(sim.out("node01").claims_changed);
  for (int i = 0; i < 20; ++i) {
    sim.Settle(1);
    EXPECT_LE(sim.Claimers().size(), 1u) << "round " << i;
  }
  EXPECT_EQ(sim.Holder(), "node02");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].first, 7u);
  EXPECT_EQ(answers[1].second.state(), v1::OPERATION_STATE_DONE);
  EXPECT_TRUE(absl::StrContains(answers[1].second.message(), "web on node02"));
  ASSERT_EQ(answers[1].second.groups_size(), 1);
  EXPECT_EQ(answers[1].second.groups(0).holder(), "node02");
  EXPECT_FALSE(sim.c("node01").Urgent());
  // The request was adopted by node02 and is carried by both.
  EXPECT_EQ(sim.heartbeat("node02").placements_size(), 1);
  EXPECT_TRUE(sim.HasEvent("node02", v1::EVENT_KIND_GROUP_STARTING, "operator request from node01"));
}

// `standby` (all groups) asked of node01, as operation 7.
void StandbyOnNode01(Sim& sim) {
  OperationRequest r;
  r.id = 7;
  r.kind = OperationRequest::Kind::kStandby;
  sim.c("node01").Submit(r, 1000, sim.now(), &sim.out("node01"));
}

// A planned move is handed off: the holder stops the group only once the
// target's heartbeat says it awaits it (the target then reads the release
// as it comes, whatever the keepalive), and the target says so at once.
TEST(GroupControllerTest, StandbyStopsOnlyOnceTheTargetAwaitsTheGroup) {
  Sim sim(Spec());
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01");
  StandbyOnNode01(sim);
  sim.out("node02").claims_changed = false;
  // node01 evaluates before it has heard node02 await the group.
  sim.Round();
  EXPECT_FALSE(sim.StopPending("node01"));
  EXPECT_TRUE(sim.c("node01").Urgent()) << "reads heartbeats as they come meanwhile";
  EXPECT_LE(sim.c("node01").NextDeadline(), sim.now() + absl::Milliseconds(500));
  EXPECT_FALSE(sim.c("node01").HandoffExpired(sim.now() + absl::Milliseconds(499)));
  // node02 heard the request: it awaits web, and says so at once.
  EXPECT_TRUE(sim.out("node02").claims_changed);
  wire::v1::Heartbeat hb;
  sim.c("node02").FillHeartbeat(&hb);
  ASSERT_EQ(hb.awaiting_size(), 1);
  EXPECT_EQ(hb.awaiting(0), "web");
  // The next round carries it: node01 stops web now.
  sim.Round();
  EXPECT_TRUE(sim.StopPending("node01"));
  for (int i = 0; i < 20; ++i) {
    sim.Settle(1);
    EXPECT_LE(sim.Claimers().size(), 1u) << "round " << i;
  }
  EXPECT_EQ(sim.Holder(), "node02");
  sim.c("node02").FillHeartbeat(&hb);
  EXPECT_EQ(hb.awaiting_size(), 0) << "held, no longer awaited";
  EXPECT_FALSE(sim.c("node01").Urgent());
}

// A target that never says it awaits the group (an agent before the
// hand-off) gets it all the same, after handoff_wait.
TEST(GroupControllerTest, HandOffWaitRunsOutForATargetThatNeverSaysItAwaits) {
  Sim sim(Spec());
  sim.Settle();
  sim.NoAwaiting("node02");
  StandbyOnNode01(sim);
  sim.Round();
  // node02 keeps being heard, every 100 ms, without saying it awaits web.
  for (int i = 1; i < 10; ++i) {
    sim.Advance(absl::Milliseconds(100));
    sim.Round();
    EXPECT_FALSE(sim.StopPending("node01")) << i * 100 << " ms";
  }
  sim.Advance(absl::Milliseconds(100));
  EXPECT_TRUE(sim.c("node01").HandoffExpired(sim.now()));
  sim.Round();
  EXPECT_TRUE(sim.StopPending("node01"));
  EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_GROUP_STOPPING,
                           "web belongs on node02 (node02 did not say within 1s that it "
                           "awaits it)"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
}

// A target that has not been heard for half of handoff_wait cannot answer
// (a cut; this node yields because it lost its ping nodes): the group is
// stopped at once, and a hand-off under way ends when the target falls
// silent.
TEST(GroupControllerTest, NoHandOffToATargetThatIsNotHeard) {
  Sim sim(Spec());
  sim.Settle();
  sim.NoAwaiting("node02");
  sim.QuietSince("node02", sim.now() - absl::Milliseconds(501));
  StandbyOnNode01(sim);
  sim.Round();
  EXPECT_TRUE(sim.StopPending("node01"));
  EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_GROUP_STOPPING, "web belongs on node02"));
  EXPECT_FALSE(sim.HasEvent("node01", v1::EVENT_KIND_GROUP_STOPPING, "did not say"));
}

TEST(GroupControllerTest, HandOffEndsWhenTheTargetFallsSilent) {
  Sim sim(Spec());
  sim.Settle();
  sim.NoAwaiting("node02");
  StandbyOnNode01(sim);
  sim.Round();
  EXPECT_FALSE(sim.StopPending("node01"));
  // node02 last heard now; the wait would end in 1 s, but ends 500 ms after
  // node02 was last heard.
  sim.QuietSince("node02", sim.now());
  sim.Round();
  EXPECT_FALSE(sim.c("node01").HandoffExpired(sim.now() + absl::Milliseconds(499)));
  EXPECT_TRUE(sim.c("node01").HandoffExpired(sim.now() + absl::Milliseconds(500)));
  sim.Advance(absl::Milliseconds(500));
  sim.Round();
  EXPECT_TRUE(sim.StopPending("node01"));
}

TEST(GroupControllerTest, TakeoverAndMoveAndNothingToDo) {
  Sim sim(Spec(3));
  sim.Settle();
  OperationRequest t;
  t.id = 1;
  t.kind = OperationRequest::Kind::kTakeover;
  sim.c("node03").Submit(t, 1000, sim.now(), &sim.out("node03"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node03");
  EXPECT_EQ(sim.out("node03").answers.back().second.state(), v1::OPERATION_STATE_DONE);

  OperationRequest m;
  m.id = 2;
  m.kind = OperationRequest::Kind::kMove;
  m.group = "web";
  m.node = "node02";
  sim.c("node01").Submit(m, 2000, sim.now(), &sim.out("node01"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
  EXPECT_EQ(sim.out("node01").answers.back().second.state(), v1::OPERATION_STATE_DONE);

  OperationRequest again = t;
  again.id = 3;
  sim.c("node02").Submit(again, 3000, sim.now(), &sim.out("node02"));
  EXPECT_EQ(sim.out("node02").answers.back().second.state(), v1::OPERATION_STATE_DONE);
  EXPECT_EQ(sim.out("node02").answers.back().second.message(), "takeover all: nothing to move");

  OperationRequest bad = m;
  bad.id = 4;
  bad.node = "node09";
  sim.c("node01").Submit(bad, 4000, sim.now(), &sim.out("node01"));
  EXPECT_EQ(sim.out("node01").answers.back().second.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_EQ(sim.out("node01").answers.back().second.message(),
            "move web to node09 refused: no node named node09 in the spec");
}

TEST(GroupControllerTest, NewerRequestSupersedesAPendingOperation) {
  Sim sim(Spec(3));
  sim.Settle();
  OperationRequest m;
  m.id = 1;
  m.kind = OperationRequest::Kind::kMove;
  m.group = "web";
  m.node = "node02";
  sim.c("node01").Submit(m, 1000, sim.now(), &sim.out("node01"));
  OperationRequest m2 = m;
  m2.id = 2;
  m2.node = "node03";
  sim.c("node01").Submit(m2, 2000, sim.now(), &sim.out("node01"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node03");
  std::map<uint64_t, v1::OperationState> last;
  for (const auto& [id, resp] : sim.out("node01").answers) last[id] = resp.state();
  EXPECT_EQ(last[1], v1::OPERATION_STATE_FAILED);
  EXPECT_EQ(last[2], v1::OPERATION_STATE_DONE);
}

TEST(GroupControllerTest, StartFailureLeavesTheGroupToThePeerUntilMovedBack) {
  Sim sim(Spec());
  sim.FailOn("node01", v1::RESOURCE_OP_START);
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
  ASSERT_EQ(sim.heartbeat("node01").failed_groups_size(), 1);
  v1::GetStatusResponse st;
  sim.c("node02").FillStatus([](MonoTime t) { return absl::UnixEpoch() + t; }, &st);
  ASSERT_EQ(st.groups_size(), 1);
  EXPECT_EQ(st.groups(0).holder(), "node02");
  EXPECT_EQ(st.groups(0).state(), v1::GROUP_STATE_RUNNING);
  ASSERT_EQ(st.groups(0).failed_on_size(), 1);
  EXPECT_EQ(st.groups(0).failed_on(0), "node01");
  // A move back clears the failure there.
  sim.ClearFailures();
  OperationRequest m;
  m.id = 1;
  m.kind = OperationRequest::Kind::kMove;
  m.group = "web";
  m.node = "node01";
  sim.c("node02").Submit(m, 1000, sim.now(), &sim.out("node02"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
  EXPECT_EQ(sim.heartbeat("node01").failed_groups_size(), 0);
  EXPECT_EQ(sim.out("node02").answers.back().second.state(), v1::OPERATION_STATE_DONE);
}

TEST(GroupControllerTest, MoveToANodeWhereTheGroupFailsEndsFailed) {
  Sim sim(Spec());
  sim.Settle();
  sim.FailOn("node02", v1::RESOURCE_OP_START);
  OperationRequest m;
  m.id = 5;
  m.kind = OperationRequest::Kind::kMove;
  m.group = "web";
  m.node = "node02";
  sim.c("node01").Submit(m, 1000, sim.now(), &sim.out("node01"));
  sim.Settle();
  const auto& last = sim.out("node01").answers.back().second;
  EXPECT_EQ(last.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(last.message(), "web failed on node02")) << last.message();
}

TEST(GroupControllerTest, DeadHolderIsFencedBeforeItsGroupsAreTaken) {
  Sim sim(Spec(2, false, /*fencing=*/true));
  sim.Settle();
  const wire::v1::Heartbeat last = sim.heartbeat("node01");
  sim.Kill("node01");
  sim.c("node02").OnNodeDead("node01", &last, sim.now(), &sim.out("node02"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "");
  EXPECT_TRUE(sim.HasEvent("node02", v1::EVENT_KIND_FENCING, "node01 died holding web"));
  std::vector<std::string> fence = sim.c("node02").FencesToRun(sim.now());
  ASSERT_EQ(fence, std::vector<std::string>{"node01"});
  EXPECT_TRUE(sim.c("node02").FencesToRun(sim.now()).empty());  // running
  sim.c("node02").OnFenceResult("node01", false, "exit status 1", sim.now(), &sim.out("node02"));
  EXPECT_EQ(sim.c("node02").NextDeadline(), sim.now() + absl::Seconds(5));
  EXPECT_TRUE(sim.c("node02").FencesToRun(sim.now() + absl::Seconds(4)).empty());
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "");
  sim.Advance(absl::Seconds(5));
  ASSERT_EQ(sim.c("node02").FencesToRun(sim.now()).size(), 1u);
  sim.c("node02").OnFenceResult("node01", true, "exit status 0", sim.now(), &sim.out("node02"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
}

TEST(GroupControllerTest, HealedPartitionKeepsOneHolderAndReannounces) {
  Sim sim(Spec());
  sim.Settle();
  sim.CutBetween("node01", "node02");
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01,node02");  // two nodes, no ping: both run it
  sim.Heal();
  sim.Round();
  EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_SPLIT_BRAIN, "node01 keeps it"));
  EXPECT_EQ(sim.out("node01").reannounce, std::vector<std::string>{"web"});
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
  // Announced again once node02 let go.
  EXPECT_EQ(sim.out("node01").reannounce, (std::vector<std::string>{"web", "web"}));
}

TEST(GroupControllerTest, PingScoreDecidesWhichSideRuns) {
  auto spec = Spec();
  spec.mutable_connectivity()->add_ping_nodes("192.0.2.1");
  Sim sim(spec);
  sim.SetScore("node01", 1);
  sim.SetScore("node02", 1);
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
  // node01 loses its ping node: it yields to node02.
  sim.SetScore("node01", 0);
  for (int i = 0; i < 20; ++i) {
    sim.Settle(1);
    EXPECT_LE(sim.Claimers().size(), 1u);
  }
  EXPECT_EQ(sim.Holder(), "node02");
  // Cut: node01 (score 0, peer unheard) runs nothing; node02 keeps it.
  sim.CutBetween("node01", "node02");
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
}

TEST(GroupControllerTest, MonitorsRunOnTickAndThirdFailureFailsOver) {
  Sim sim(Spec());
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01");
  EXPECT_LT(sim.c("node01").NextDeadline(), absl::InfiniteDuration());
  sim.FailOn("node01", v1::RESOURCE_OP_MONITOR);
  for (int i = 0; i < 10 && sim.Holder() != "node02"; ++i) {
    sim.Advance(absl::Seconds(1));
    ControllerOutput& o = sim.out("node01");
    sim.c("node01").Tick(sim.now(), &o);
    sim.Settle();
  }
  EXPECT_EQ(sim.Holder(), "node02");
  EXPECT_EQ(sim.heartbeat("node01").failed_groups_size(), 1);
}

TEST(GroupControllerTest, LeavingNodeReleasesAndThePeerTakesOverAfterwards) {
  Sim sim(Spec(2, /*failback=*/true));
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01");
  sim.c("node01").Leave();
  for (int i = 0; i < 20; ++i) {
    sim.Settle(1);
    EXPECT_LE(sim.Claimers().size(), 1u) << "round " << i;
  }
  EXPECT_TRUE(sim.c("node01").Idle());
  EXPECT_TRUE(sim.heartbeat("node01").standby());
  EXPECT_EQ(sim.Holder(), "node02");
}

TEST(GroupControllerTest, VirtualAddressesOfNativeOcfAndHeartbeatIpResources) {
  spec::v1::Resource ip;
  ip.mutable_ip()->set_address("192.0.2.50");
  EXPECT_EQ(VirtualAddressOf(ip), "192.0.2.50");
  spec::v1::Resource ocf;
  ocf.mutable_ocf()->set_type("IPaddr2");
  (*ocf.mutable_ocf()->mutable_params())["ip"] = "192.0.2.51";
  EXPECT_EQ(VirtualAddressOf(ocf), "192.0.2.51");
  spec::v1::Resource hb;
  hb.mutable_heartbeat()->set_name("IPaddr");
  hb.mutable_heartbeat()->add_args("192.0.2.52/24/eth0");
  EXPECT_EQ(VirtualAddressOf(hb), "192.0.2.52");
  spec::v1::Resource dummy;
  dummy.mutable_ocf()->set_type("Dummy");
  EXPECT_EQ(VirtualAddressOf(dummy), "");
}

// The resource operations `n` ran, as "start NAME" / "stop NAME", from
// index `from` on.
std::vector<std::string> RanSince(Sim& sim, const std::string& n, size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < sim.ran(n).size(); ++i) {
    const GroupOp& op = sim.ran(n)[i];
    if (op.op != v1::RESOURCE_OP_START && op.op != v1::RESOURCE_OP_STOP) continue;
    out.push_back(absl::StrCat(op.op == v1::RESOURCE_OP_START ? "start " : "stop ",
                               ResourceDisplayName(op.spec)));
  }
  return out;
}

TEST(GroupControllerTest, AChangeToARunningGroupBouncesOnlyTheResourcesItTouches) {
  auto spec = Spec();
  Sim sim(spec);
  sim.Settle();
  ASSERT_EQ(sim.c("node01").Runner("web")->state(), State::kRunning);
  auto changed = spec;
  changed.mutable_groups(0)->mutable_resources(0)->mutable_ip()->set_address("192.0.2.51");
  changed.mutable_groups(0)->add_resources()->mutable_lsb()->set_name("billing");
  const size_t n1 = sim.ran("node01").size(), n2 = sim.ran("node02").size();
  for (const char* n : {"node01", "node02"}) {
    absl::Status s = sim.c(n).Reconfigure(changed, sim.now(), &sim.out(n));
    ASSERT_TRUE(s.ok()) << s;
  }
  // Still held while it changes: no peer may take it meanwhile.
  EXPECT_EQ(sim.c("node01").Runner("web")->state(), State::kReshaping);
  EXPECT_EQ(sim.c("node01").Runner("web")->claim(), wire::v1::GroupClaim::PHASE_HELD);
  sim.Settle();
  EXPECT_EQ(sim.c("node01").Runner("web")->state(), State::kRunning);
  // The old address stopped, the new one and billing started; apache2 and
  // its monitor untouched; node02 ran nothing.
  EXPECT_EQ(RanSince(sim, "node01", n1),
            (std::vector<std::string>{"stop ip 192.0.2.50", "start ip 192.0.2.51",
                                      "start lsb billing"}));
  EXPECT_TRUE(RanSince(sim, "node02", n2).empty());
}

TEST(GroupControllerTest, ARunningGroupRemovedFromTheSpecIsStoppedAndClaimedUntilThen) {
  auto spec = Spec();
  Sim sim(spec);
  sim.Settle();
  auto without = spec;
  without.clear_groups();
  ControllerOutput out;
  ASSERT_TRUE(sim.c("node01").Reconfigure(without, sim.now(), &out).ok());
  EXPECT_TRUE(out.claims_changed);
  ASSERT_EQ(out.ops.size(), 1u);
  EXPECT_EQ(out.ops[0].op, v1::RESOURCE_OP_STOP);
  EXPECT_EQ(ResourceDisplayName(out.ops[0].spec), "lsb apache2");
  EXPECT_FALSE(sim.c("node01").Idle());
  wire::v1::Heartbeat hb;
  sim.c("node01").FillHeartbeat(&hb);
  ASSERT_EQ(hb.groups_size(), 1);
  EXPECT_EQ(hb.groups(0).name(), "web");
  EXPECT_EQ(hb.groups(0).phase(), wire::v1::GroupClaim::PHASE_STOPPING);
  // Adding it back while it stops is refused.
  EXPECT_EQ(sim.c("node01").CheckReconfigure(spec).code(), absl::StatusCode::kInvalidArgument);
  // Its stops come back as results; then nothing is claimed.
  for (int i = 0; i < 5 && !out.ops.empty(); ++i) {
    GroupOp op = out.ops.front();
    out.ops.erase(out.ops.begin());
    sim.c("node01").OnResult(op.group, {op.id, true, "ok"}, sim.now(), &out);
  }
  EXPECT_TRUE(out.ops.empty());
  EXPECT_TRUE(sim.c("node01").Idle());
  hb.Clear();
  sim.c("node01").FillHeartbeat(&hb);
  EXPECT_EQ(hb.groups_size(), 0);
  EXPECT_TRUE(sim.c("node01").CheckReconfigure(spec).ok());
}

TEST(GroupControllerTest, AGroupThatIsStartingCannotBeChangedUntilItRuns) {
  auto spec = Spec();
  Sim sim(spec);
  sim.Round();
  sim.Round();
  ASSERT_EQ(sim.c("node01").Runner("web")->state(), State::kStarting);
  auto changed = spec;
  changed.mutable_groups(0)->add_resources()->mutable_lsb()->set_name("billing");
  absl::Status s = sim.c("node01").Reconfigure(changed, sim.now(), &sim.out("node01"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "group web is starting here")) << s;
  EXPECT_EQ(sim.c("node01").Group("web")->resources_size(), 2);  // nothing changed
  // The stopped node takes it at once; an identical spec keeps the group.
  EXPECT_TRUE(sim.c("node02").Reconfigure(changed, sim.now(), &sim.out("node02")).ok());
  EXPECT_TRUE(sim.c("node01").Reconfigure(spec, sim.now(), &sim.out("node01")).ok());
}

TEST(GroupControllerTest, ANewPreferredNodeMovesTheGroupWithFailback) {
  auto spec = Spec(2, /*failback=*/true);
  Sim sim(spec);
  sim.Settle();
  ASSERT_EQ(sim.c("node01").Runner("web")->state(), State::kRunning);
  auto changed = spec;
  changed.mutable_groups(0)->set_preferred_node("node02");
  for (const char* n : {"node01", "node02"}) {
    ASSERT_TRUE(sim.c(n).Reconfigure(changed, sim.now(), &sim.out(n)).ok());
  }
  sim.Settle();
  EXPECT_EQ(sim.c("node01").Runner("web")->state(), State::kStopped);
  EXPECT_EQ(sim.c("node02").Runner("web")->state(), State::kRunning);
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

int Count(const std::vector<GroupOp>& ops, v1::ResourceOp kind) {
  int n = 0;
  for (const GroupOp& op : ops) n += op.op == kind ? 1 : 0;
  return n;
}

// kill -9 of the holder's agent and a restart within deadtime (the peer
// never declared it dead): the restarted agent finds the group running and
// keeps it; the peer never starts it, whichever node is preferred.
TEST(GroupControllerTest, AgentRestartedWithinDeadtimeAdoptsItsRunningGroup) {
  for (bool failback : {true, false}) {
    SCOPED_TRACE(failback ? "auto_failback on" : "auto_failback off");
    Sim sim(Spec(2, failback));
    sim.Settle();
    ASSERT_EQ(sim.Holder(), "node01");
    sim.RestartAgent("node01", /*leftover=*/true);
    EXPECT_EQ(sim.c("node01").Runner("web")->claim(), wire::v1::GroupClaim::PHASE_PROBING);
    sim.ran("node01").clear();
    sim.Round();
    EXPECT_TRUE(sim.out("node02").ops.empty()) << "node02 must not start a probed group";
    sim.Settle();
    EXPECT_EQ(sim.Holder(), "node01");
    EXPECT_EQ(Count(sim.ran("node01"), v1::RESOURCE_OP_PROBE), 2);
    EXPECT_EQ(Count(sim.ran("node01"), v1::RESOURCE_OP_START), 0) << "adopted, not restarted";
    EXPECT_EQ(Count(sim.ran("node01"), v1::RESOURCE_OP_STOP), 0);
    EXPECT_EQ(Count(sim.ran("node02"), v1::RESOURCE_OP_START), 0);
    EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_GROUP_RUNNING, "adopted"));
  }
}

// The variant: the holder is not the preferred node (auto_failback off, the
// group stayed on node02 after node01 came back). node02's agent restarts
// at once: node01 (preferred) must not read the new agent's first
// heartbeats as a release.
TEST(GroupControllerTest, RestartedNonPreferredHolderIsNotTakenOverByThePreferredNode) {
  Sim sim(Spec(2, /*failback=*/false));
  sim.Settle();
  sim.Kill("node01");
  sim.Settle();
  sim.Revive("node01");
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node02");
  sim.ran("node01").clear();
  sim.ran("node02").clear();
  sim.RestartAgent("node02", /*leftover=*/true);
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
  EXPECT_EQ(Count(sim.ran("node01"), v1::RESOURCE_OP_START), 0);
  EXPECT_EQ(Count(sim.ran("node02"), v1::RESOURCE_OP_START), 0);
}

// The restart comes after the peer took the group over: both hold it; the
// usual rule keeps one (auto_failback on: the preferred node01; off: the
// preferred among the holders, node01 too) and the other stops at once.
TEST(GroupControllerTest, AgentRestartedAfterTakeoverResolvesTheDoubleClaim) {
  for (bool failback : {true, false}) {
    SCOPED_TRACE(failback ? "auto_failback on" : "auto_failback off");
    Sim sim(Spec(2, failback));
    sim.Settle();
    sim.Kill("node01");  // the agent alone died; its group stays up
    sim.Settle();
    ASSERT_EQ(sim.Holder(), "node02");
    sim.ran("node01").clear();
    sim.ran("node02").clear();
    sim.RestartAgent("node01", /*leftover=*/true);
    sim.Settle();
    EXPECT_EQ(sim.Holder(), "node01");
    EXPECT_EQ(sim.Claimers(), std::vector<std::string>{"node01"});
    EXPECT_EQ(Count(sim.ran("node01"), v1::RESOURCE_OP_START), 0) << "adopted, not restarted";
    EXPECT_EQ(Count(sim.ran("node02"), v1::RESOURCE_OP_STOP), 2) << "node02 let go";
  }
}

// Restarted with nothing left running: the probe finds nothing and the
// group starts as usual.
TEST(GroupControllerTest, ProbeThatFindsNothingLetsTheGroupStartNormally) {
  Sim sim(Spec(2, true));
  sim.RestartAgent("node01", false);
  sim.RestartAgent("node02", false);
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
}

// UDP into node02 is lost: node02 declares node01 dead and takes the group;
// node01, which still hears node02, yields although it is preferred.
TEST(GroupControllerTest, OneWayLossLeavesOneHolder) {
  for (bool failback : {true, false}) {
    SCOPED_TRACE(failback ? "auto_failback on" : "auto_failback off");
    Sim sim(Spec(2, failback));
    sim.Settle();
    ASSERT_EQ(sim.Holder(), "node01");
    sim.Deafen("node02", "node01");
    sim.Settle();
    EXPECT_EQ(sim.Holder(), "node02");
    EXPECT_EQ(sim.Claimers(), std::vector<std::string>{"node02"});
    EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_GROUP_STOPPING, "one-way"));
    // Healed: the usual rules again.
    sim.Heal();
    sim.Settle();
    EXPECT_EQ(sim.Holder(), failback ? "node01" : "node02");
    // The other direction: node01 does not hear node02; node01 holds and
    // keeps it; node02 takes nothing.
    sim.Deafen("node01", "node02");
    sim.Settle();
    EXPECT_EQ(sim.Claimers().size(), 1u);
  }
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

// After a partition heals, node02 hears node01 first and lets go before
// node01 ever saw both holding: node01 still treats it as a split brain and
// announces the address again once node02 has let go (the client may hold
// node02's MAC).
TEST(GroupControllerTest, PeerThatReleasesFirstAfterAHealStillGetsTheAddressAnnouncedAgain) {
  Sim sim(Spec());
  sim.Settle();
  sim.CutBetween("node01", "node02");
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01,node02");
  sim.Heal();
  sim.Deafen("node01", "node02");  // node01 does not hear node02 yet
  sim.Round();
  ASSERT_EQ(sim.c("node02").Runner("web")->claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  EXPECT_FALSE(sim.HasEvent("node01", v1::EVENT_KIND_SPLIT_BRAIN, "keeps it"));
  sim.Heal();
  sim.Round();
  EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_SPLIT_BRAIN, "node01 keeps it"));
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
  const auto& again = sim.out("node01").reannounce;
  EXPECT_EQ(std::count(again.begin(), again.end(), "web"), 2) << "when found and once let go";
}

// The peer took the group while cut off, and hears node01 first on the
// heal: it lets go before node01 hears it, so node01 never sees two
// holders. node01 still announces its address again when node02 comes
// back, since the segment may have followed node02's announcements.
TEST(GroupControllerTest, PeerThatLetGoBeforeItWasHeardStillGetsTheAddressAnnouncedAgain) {
  Sim sim(Spec());
  sim.Settle();
  sim.CutBetween("node01", "node02");
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01,node02");
  sim.Heal();
  sim.Deafen("node01", "node02");  // node01 does not hear node02 yet
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01");
  ASSERT_EQ(sim.c("node02").Runner("web")->claim(), wire::v1::GroupClaim::PHASE_UNSPECIFIED);
  EXPECT_TRUE(sim.out("node01").reannounce.empty());
  sim.Heal();
  sim.Round();
  EXPECT_FALSE(sim.HasEvent("node01", v1::EVENT_KIND_SPLIT_BRAIN, "keeps it"));
  EXPECT_EQ(sim.out("node01").reannounce, std::vector<std::string>{"web"});
  // Only on the return: later rounds announce nothing more.
  sim.Settle();
  EXPECT_EQ(sim.out("node01").reannounce, std::vector<std::string>{"web"});
}

// A peer's first contact is not a return: nothing is announced again.
TEST(GroupControllerTest, FirstContactWithAPeerAnnouncesNothingAgain) {
  Sim sim(Spec());
  sim.Kill("node02");
  sim.Settle();
  ASSERT_EQ(sim.Holder(), "node01");
  sim.Revive("node02");
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node01");
  EXPECT_TRUE(sim.out("node01").reannounce.empty());
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

// Both are starting the group (a partition at start-up) when node01 learns
// that node02 does not hear it: node01 yields once its running start ends,
// and meanwhile names node02 the keeper and announces nothing.
TEST(GroupControllerTest, SplitBrainWithOneWayLossIsKeptByTheNodeThatCannotHear) {
  Sim sim(Spec());
  sim.CutBetween("node01", "node02");
  sim.Round();
  ASSERT_EQ(sim.c("node01").Runner("web")->claim(), wire::v1::GroupClaim::PHASE_STARTING);
  ASSERT_EQ(sim.c("node02").Runner("web")->claim(), wire::v1::GroupClaim::PHASE_STARTING);
  sim.Heal();
  sim.Deafen("node02", "node01");
  sim.Round();
  EXPECT_TRUE(sim.HasEvent("node01", v1::EVENT_KIND_SPLIT_BRAIN, "node02 keeps it"));
  EXPECT_FALSE(sim.HasEvent("node01", v1::EVENT_KIND_SPLIT_BRAIN, "node01 keeps it"));
  EXPECT_TRUE(sim.out("node01").reannounce.empty());
  sim.Settle();
  EXPECT_EQ(sim.Holder(), "node02");
  EXPECT_TRUE(sim.out("node01").reannounce.empty());
}

}  // namespace
}  // namespace hacluster::agent
