#include "agent/placement/placement.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

constexpr ClaimPhase kHeld = wire::v1::GroupClaim::PHASE_HELD;
constexpr ClaimPhase kStarting = wire::v1::GroupClaim::PHASE_STARTING;
constexpr ClaimPhase kStopping = wire::v1::GroupClaim::PHASE_STOPPING;

// A spec of `n` nodes (node1..nodeN) and one group per entry of
// `preferred` (g1 preferred on preferred[0], ...).
spec::v1::ClusterSpec Spec(int n, std::vector<int> preferred, bool failback = true,
                           int ping_nodes = 0) {
  spec::v1::ClusterSpec s;
  for (int i = 1; i <= n; ++i) s.add_nodes()->set_name(absl::StrCat("node", i));
  for (size_t g = 0; g < preferred.size(); ++g) {
    auto* group = s.add_groups();
    group->set_name(absl::StrCat("g", g + 1));
    group->set_preferred_node(absl::StrCat("node", preferred[g]));
  }
  s.set_auto_failback(failback ? spec::v1::AUTO_FAILBACK_ON : spec::v1::AUTO_FAILBACK_OFF);
  for (int i = 0; i < ping_nodes; ++i) {
    s.mutable_connectivity()->add_ping_nodes(absl::StrCat("198.51.100.", i + 1));
  }
  return s;
}

ClusterView View(const spec::v1::ClusterSpec& s) {
  ClusterView v;
  v.spec = &s;
  for (const auto& n : s.nodes()) {
    NodeView nv;
    nv.name = n.name();
    nv.alive = true;
    v.nodes.push_back(nv);
  }
  return v;
}

NodeView& N(ClusterView& v, int i) { return v.nodes[i - 1]; }

std::string T(const ClusterView& v, const std::string& g) {
  auto t = Target(v, g);
  return t.has_value() ? *t : "none";
}

TEST(PlacementTest, TwoNodesEachGroupOnItsPreferredNode) {
  auto s = Spec(2, {1, 2});
  ClusterView v = View(s);
  EXPECT_EQ(T(v, "g1"), "node1");
  EXPECT_EQ(T(v, "g2"), "node2");
  N(v, 1).alive = false;
  EXPECT_EQ(T(v, "g1"), "node2");
  EXPECT_EQ(T(v, "g2"), "node2");
}

TEST(PlacementTest, ThreeAndFiveNodesFollowPreferenceThenSpecOrder) {
  auto s3 = Spec(3, {3, 2});
  ClusterView v3 = View(s3);
  EXPECT_EQ(T(v3, "g1"), "node3");
  N(v3, 3).alive = false;
  EXPECT_EQ(T(v3, "g1"), "node1") << "first alive node in spec order";
  EXPECT_EQ(T(v3, "g2"), "node2");

  auto s5 = Spec(5, {5, 4, 1});
  ClusterView v5 = View(s5);
  EXPECT_EQ(T(v5, "g1"), "node5");
  EXPECT_EQ(T(v5, "g2"), "node4");
  EXPECT_EQ(T(v5, "g3"), "node1");
  N(v5, 5).alive = false;
  N(v5, 1).alive = false;
  EXPECT_EQ(T(v5, "g1"), "node2");
  EXPECT_EQ(T(v5, "g3"), "node2");
  EXPECT_EQ(T(v5, "g2"), "node4");
}

TEST(PlacementTest, FailbackOnReturnsTheGroupToItsPreferredNode) {
  auto s = Spec(2, {1}, /*failback=*/true);
  ClusterView v = View(s);
  N(v, 2).claims["g1"] = kHeld;  // taken over while node1 was away
  EXPECT_EQ(T(v, "g1"), "node1");
  Decision d2 = Decide(v, "node2", "g1", true);
  EXPECT_EQ(d2.action, Action::kStop);
  EXPECT_EQ(d2.reason, "g1 belongs on node1");
  Decision d1 = Decide(v, "node1", "g1", true);
  EXPECT_EQ(d1.action, Action::kWait) << "release before acquire";
  EXPECT_EQ(d1.reason, "g1 waits for node2 to release it");
}

TEST(PlacementTest, FailbackOffLeavesTheGroupWhereItRuns) {
  auto s = Spec(2, {1}, /*failback=*/false);
  ClusterView v = View(s);
  N(v, 2).claims["g1"] = kHeld;
  EXPECT_EQ(T(v, "g1"), "node2");
  EXPECT_EQ(Decide(v, "node2", "g1", true).action, Action::kNone);
  EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
  // Nobody holds it: the preferred node.
  N(v, 2).claims.clear();
  EXPECT_EQ(T(v, "g1"), "node1");
}

TEST(PlacementTest, StartOnlyWhenNoAliveNodeClaimsItInAnyPhase) {
  auto s = Spec(2, {1});
  ClusterView v = View(s);
  for (ClaimPhase p : {kHeld, kStarting, kStopping}) {
    N(v, 2).claims["g1"] = p;
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kWait) << p;
  }
  N(v, 2).claims["g1"] = kStopping;
  N(v, 2).alive = false;  // a dead node's claims do not count
  EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kStart);
  EXPECT_EQ(Decide(v, "node1", "g1", false).action, Action::kWait) << "may_acquire false";
}

TEST(PlacementTest, MajorityRuleWithThreeOrMoreNodes) {
  auto s = Spec(3, {1});
  ClusterView v = View(s);
  N(v, 2).alive = false;
  EXPECT_TRUE(QuorumOf(v).ok) << "2 of 3";
  EXPECT_EQ(T(v, "g1"), "node1");
  N(v, 3).alive = false;
  Quorum q = QuorumOf(v);
  EXPECT_FALSE(q.ok);
  EXPECT_EQ(q.reason, "no quorum: 1 of 3 configured nodes alive, more than half needed");
  EXPECT_EQ(T(v, "g1"), "none");
  N(v, 1).claims["g1"] = kHeld;
  Decision d = Decide(v, "node1", "g1", true);
  EXPECT_EQ(d.action, Action::kStop) << "a minority partition releases what it holds";
  EXPECT_TRUE(absl::StrContains(d.reason, "no quorum")) << d.reason;

  auto s4 = Spec(4, {1});
  ClusterView v4 = View(s4);
  N(v4, 3).alive = false;
  N(v4, 4).alive = false;
  EXPECT_FALSE(QuorumOf(v4).ok) << "2 of 4 is no majority";
  auto s5 = Spec(5, {1});
  ClusterView v5 = View(s5);
  N(v5, 4).alive = false;
  N(v5, 5).alive = false;
  EXPECT_TRUE(QuorumOf(v5).ok) << "3 of 5";
}

TEST(PlacementTest, TwoNodesAloneAlwaysHaveQuorumWithoutPingNodes) {
  auto s = Spec(2, {1});
  ClusterView v = View(s);
  N(v, 1).alive = false;
  EXPECT_TRUE(QuorumOf(v).ok);
  EXPECT_EQ(T(v, "g1"), "node2");
}

TEST(PlacementTest, PingScoreDecidesBetweenTwoNodes) {
  auto s = Spec(2, {1}, true, /*ping_nodes=*/1);
  ClusterView v = View(s);
  N(v, 1).score = 0;  // node1 lost its ping node, node2 did not
  N(v, 2).score = 1;
  N(v, 1).claims["g1"] = kHeld;
  EXPECT_EQ(T(v, "g1"), "node2");
  EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kStop);
  // Both equal: preference again.
  N(v, 1).score = 1;
  EXPECT_EQ(T(v, "g1"), "node1");
}

TEST(PlacementTest, PartitionedSideWithoutPingNodesRunsNothing) {
  auto s = Spec(2, {1}, true, 1);
  // node1's view in a partition: node2 not heard, no ping node either.
  ClusterView v1 = View(s);
  N(v1, 2).alive = false;
  N(v1, 1).score = 0;
  N(v1, 1).claims["g1"] = kHeld;
  EXPECT_FALSE(QuorumOf(v1).ok);
  EXPECT_EQ(Decide(v1, "node1", "g1", true).action, Action::kStop);
  // node2's view: node1 not heard, its ping node answers: it takes over.
  ClusterView v2 = View(s);
  N(v2, 1).alive = false;
  N(v2, 2).score = 1;
  EXPECT_EQ(Decide(v2, "node2", "g1", true).action, Action::kStart);
}

TEST(PlacementTest, HealedPartitionKeepsOneHolderDeterministically) {
  for (bool failback : {true, false}) {
    SCOPED_TRACE(failback);
    auto s = Spec(3, {3}, failback);
    ClusterView v = View(s);
    N(v, 3).alive = false;
    N(v, 1).claims["g1"] = kHeld;
    N(v, 2).claims["g1"] = kHeld;
    EXPECT_EQ(T(v, "g1"), "node1") << "first in spec order when the preferred is not a holder";
    EXPECT_EQ(Decide(v, "node2", "g1", true).action, Action::kStop);
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
  }
  auto s = Spec(2, {2}, false);
  ClusterView v = View(s);
  N(v, 1).claims["g1"] = kHeld;
  N(v, 2).claims["g1"] = kHeld;
  EXPECT_EQ(T(v, "g1"), "node2") << "the preferred node keeps it when it is one of the holders";
}

TEST(PlacementTest, FailedNodeIsAvoided) {
  auto s = Spec(2, {1});
  ClusterView v = View(s);
  N(v, 1).failed_groups.insert("g1");
  EXPECT_EQ(T(v, "g1"), "node2");
  N(v, 2).failed_groups.insert("g1");
  EXPECT_EQ(T(v, "g1"), "none");
}

TEST(PlacementTest, NewestRequestWinsWhileItsNodeIsACandidate) {
  auto s = Spec(3, {1});
  ClusterView v = View(s);
  v.requests["g1"] = {"g1", "node3", 100, "node1"};
  EXPECT_EQ(T(v, "g1"), "node3");
  N(v, 3).alive = false;
  EXPECT_EQ(T(v, "g1"), "node1") << "back to the normal rules";
  EXPECT_TRUE(Newer({"g1", "node2", 101, "node1"}, {"g1", "node3", 100, "node3"}));
  EXPECT_TRUE(Newer({"g1", "node2", 100, "node2"}, {"g1", "node3", 100, "node1"}));
  EXPECT_FALSE(Newer({"g1", "node2", 100, "node1"}, {"g1", "node3", 100, "node1"}));
}

// Every scope of standby and takeover, on node1 of two nodes, with g1 and g2
// preferred on node1 and g3 on node2, all running where preferred.
struct ScopeCase {
  bool takeover;
  v1::StandbyScope scope;
  std::vector<std::string> moved;  // "group>node"
};

class StandbyTakeoverTest : public ::testing::TestWithParam<ScopeCase> {};

TEST_P(StandbyTakeoverTest, RequestsExactlyTheGroupsOfTheScope) {
  const ScopeCase& c = GetParam();
  auto s = Spec(2, {1, 1, 2});
  ClusterView v = View(s);
  if (c.takeover) {
    // Everything runs on node2 first (node1 came back with failback off).
    s.set_auto_failback(spec::v1::AUTO_FAILBACK_OFF);
    for (const char* g : {"g1", "g2", "g3"}) N(v, 2).claims[g] = kHeld;
  }
  auto plan = PlanStandbyOrTakeover(v, "node1", c.scope, c.takeover, 42);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::vector<std::string> got;
  for (const PlacementRequest& r : *plan) {
    got.push_back(absl::StrCat(r.group, ">", r.node));
    EXPECT_EQ(r.stamp_ns, 42);
    EXPECT_EQ(r.requested_by, "node1");
  }
  EXPECT_EQ(got, c.moved);
  // Applying the requests moves exactly those groups.
  for (const PlacementRequest& r : *plan) v.requests[r.group] = r;
  for (const auto& m : c.moved) {
    std::string group = m.substr(0, m.find('>'));
    EXPECT_EQ(T(v, group), m.substr(m.find('>') + 1));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryScope, StandbyTakeoverTest,
    ::testing::Values(ScopeCase{false, v1::STANDBY_SCOPE_ALL, {"g1>node2", "g2>node2"}},
                      ScopeCase{false, v1::STANDBY_SCOPE_UNSPECIFIED, {"g1>node2", "g2>node2"}},
                      ScopeCase{false, v1::STANDBY_SCOPE_LOCAL, {"g1>node2", "g2>node2"}},
                      ScopeCase{false, v1::STANDBY_SCOPE_FOREIGN, {}},
                      ScopeCase{false, v1::STANDBY_SCOPE_FAILBACK, {}},
                      ScopeCase{true, v1::STANDBY_SCOPE_ALL, {"g1>node1", "g2>node1", "g3>node1"}},
                      ScopeCase{true, v1::STANDBY_SCOPE_LOCAL, {"g1>node1", "g2>node1"}},
                      ScopeCase{true, v1::STANDBY_SCOPE_FAILBACK, {"g1>node1", "g2>node1"}},
                      ScopeCase{true, v1::STANDBY_SCOPE_FOREIGN, {"g3>node1"}}));

TEST(PlacementTest, StandbyForeignAndFailbackGiveForeignGroupsBack) {
  auto s = Spec(2, {1, 2}, /*failback=*/false);
  ClusterView v = View(s);
  N(v, 1).claims["g1"] = kHeld;
  N(v, 1).claims["g2"] = kHeld;  // node1 took g2 while node2 was away
  for (auto scope : {v1::STANDBY_SCOPE_FOREIGN, v1::STANDBY_SCOPE_FAILBACK}) {
    auto plan = PlanStandbyOrTakeover(v, "node1", scope, false, 1);
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->size(), 1u);
    EXPECT_EQ((*plan)[0].group, "g2");
    EXPECT_EQ((*plan)[0].node, "node2");
  }
}

TEST(PlacementTest, StandbyWithNoOtherNodeFailsAndRequestsNothing) {
  auto s = Spec(2, {1, 1});
  ClusterView v = View(s);
  N(v, 2).alive = false;
  auto plan = PlanStandbyOrTakeover(v, "node1", v1::STANDBY_SCOPE_ALL, false, 1);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(), "no other node can take g1; no other node can take g2");
}

TEST(PlacementTest, TakeoverByANodeThatCannotRunTheGroupFails) {
  auto s = Spec(2, {2}, true, 1);
  ClusterView v = View(s);
  N(v, 2).score = 1;  // node1 reaches no ping node
  auto plan = PlanStandbyOrTakeover(v, "node1", v1::STANDBY_SCOPE_ALL, true, 1);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message(), "node1 cannot run g1 now");
}

TEST(PlacementTest, MoveChecksGroupAndNode) {
  auto s = Spec(3, {1});
  ClusterView v = View(s);
  auto ok = PlanMove(v, "node1", "g1", "node3", 9);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->node, "node3");
  EXPECT_EQ(PlanMove(v, "node1", "nope", "node3", 9).status().message(),
            "no group named nope in the spec");
  EXPECT_EQ(PlanMove(v, "node1", "g1", "node9", 9).status().message(),
            "no node named node9 in the spec");
  N(v, 3).alive = false;
  EXPECT_EQ(PlanMove(v, "node1", "g1", "node3", 9).status().message(), "node3 is not alive");
  // A move onto a node where the group failed is allowed: the request
  // clears that failure.
  N(v, 3).alive = true;
  N(v, 3).failed_groups.insert("g1");
  EXPECT_TRUE(PlanMove(v, "node1", "g1", "node3", 9).ok());
}

// A small simulation of the protocol: in each round every node decides from
// a view of the others that is one round old (their last heartbeat), then
// acts; a start takes one round (STARTING) before the group is HELD, a stop
// one round (STOPPING) before it is released. Checked after every round: no
// two nodes claim the group as HELD or STARTING at once.
class Simulation {
 public:
  explicit Simulation(const spec::v1::ClusterSpec& s) : spec_(s), truth_(View(s)) {}

  ClusterView& truth() { return truth_; }

  // Runs rounds until nothing changes (at most `max_rounds`); false if two
  // holders were ever seen.
  bool Run(int max_rounds) {
    for (int round = 0; round < max_rounds; ++round) {
      ClusterView before = truth_;  // what every heartbeat said last round
      bool changed = false;
      for (size_t i = 0; i < truth_.nodes.size(); ++i) {
        NodeView& self = truth_.nodes[i];
        if (!self.alive) continue;
        ClusterView view = before;
        view.nodes[i] = self;  // a node knows its own state now
        for (const auto& g : spec_.groups()) {
          auto& phase = self.claims[g.name()];
          ClaimPhase old = phase;
          if (phase == kStarting) phase = kHeld;
          if (phase == kStopping) phase = wire::v1::GroupClaim::PHASE_UNSPECIFIED;
          Decision d = Decide(view, self.name, g.name(), true);
          if (d.action == Action::kStart) phase = kStarting;
          if (d.action == Action::kStop) phase = kStopping;
          changed = changed || phase != old;
        }
      }
      for (const auto& g : spec_.groups()) {
        int holders = 0;
        for (const NodeView& n : truth_.nodes) {
          auto it = n.claims.find(g.name());
          if (n.alive && it != n.claims.end() && (it->second == kHeld || it->second == kStarting)) {
            ++holders;
          }
        }
        if (holders > 1) return false;
      }
      if (!changed) return true;
    }
    return true;
  }

  std::string HolderOf(const std::string& group) const {
    for (const NodeView& n : truth_.nodes) {
      auto it = n.claims.find(group);
      if (n.alive && it != n.claims.end() && it->second == kHeld) return n.name;
    }
    return "none";
  }

 private:
  const spec::v1::ClusterSpec& spec_;
  ClusterView truth_;
};

TEST(PlacementTest, ReleaseBeforeAcquireHoldsInEveryPlannedMove) {
  for (int nodes : {2, 3, 5}) {
    for (bool failback : {true, false}) {
      SCOPED_TRACE(absl::StrCat(nodes, " nodes, failback ", failback));
      auto s = Spec(nodes, {1, 2, nodes}, failback);
      Simulation sim(s);
      ASSERT_TRUE(sim.Run(10));
      EXPECT_EQ(sim.HolderOf("g1"), "node1");
      EXPECT_EQ(sim.HolderOf("g3"), absl::StrCat("node", nodes));
      int64_t stamp = 1;
      // Every standby and takeover scope from every node, then moves of
      // every group to every node.
      for (int from = 1; from <= nodes; ++from) {
        for (bool takeover : {false, true}) {
          for (auto scope : {v1::STANDBY_SCOPE_ALL, v1::STANDBY_SCOPE_LOCAL,
                             v1::STANDBY_SCOPE_FOREIGN, v1::STANDBY_SCOPE_FAILBACK}) {
            auto plan = PlanStandbyOrTakeover(sim.truth(), absl::StrCat("node", from), scope,
                                              takeover, ++stamp);
            if (!plan.ok()) continue;
            for (const auto& r : *plan) sim.truth().requests[r.group] = r;
            ASSERT_TRUE(sim.Run(20)) << "two holders after " << (takeover ? "takeover" : "standby")
                                     << " scope " << scope << " on node" << from;
            for (const auto& r : *plan) EXPECT_EQ(sim.HolderOf(r.group), r.node);
          }
        }
      }
      for (const auto& g : s.groups()) {
        for (int to = 1; to <= nodes; ++to) {
          auto r = PlanMove(sim.truth(), "node1", g.name(), absl::StrCat("node", to), ++stamp);
          ASSERT_TRUE(r.ok());
          sim.truth().requests[g.name()] = *r;
          ASSERT_TRUE(sim.Run(20)) << "two holders moving " << g.name() << " to node" << to;
          EXPECT_EQ(sim.HolderOf(g.name()), absl::StrCat("node", to));
        }
      }
      // Failback: the preferred node of g1 dies and comes back.
      sim.truth().requests.clear();
      sim.truth().nodes[0].alive = false;
      sim.truth().nodes[0].claims.clear();
      ASSERT_TRUE(sim.Run(20));
      EXPECT_NE(sim.HolderOf("g1"), "node1");
      std::string interim = sim.HolderOf("g1");
      sim.truth().nodes[0].alive = true;
      ASSERT_TRUE(sim.Run(20)) << "two holders on failback";
      EXPECT_EQ(sim.HolderOf("g1"), failback ? "node1" : interim);
    }
  }
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

// UDP into node2 is lost: node2 declared node1 dead and took g1; node1 still
// hears node2 and sees that node2 does not hear it. node1 yields, whatever
// the split-brain rule would say (node1 is g1's preferred node).
TEST(PlacementTest, HolderThatIsNotHeardByAnotherHolderYields) {
  for (bool failback : {true, false}) {
    SCOPED_TRACE(failback ? "auto_failback on" : "auto_failback off");
    auto s = Spec(2, {1}, failback);
    ClusterView v = View(s);
    N(v, 1).claims["g1"] = kHeld;
    N(v, 2).claims["g1"] = kHeld;
    // Both hear each other: the split-brain rule keeps the preferred node.
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
    EXPECT_EQ(Decide(v, "node2", "g1", true).action, Action::kStop);
    // node2 does not hear node1.
    N(v, 2).hears_local = false;
    Decision d = Decide(v, "node1", "g1", true);
    EXPECT_EQ(d.action, Action::kStop);
    EXPECT_EQ(d.target.value_or(""), "node2");
    EXPECT_EQ(d.reason,
              "g1 is claimed by node2, which does not hear this node (one-way heartbeat loss): "
              "yielding to it");
    // Starting counts as holding.
    N(v, 2).claims["g1"] = kStarting;
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kStop);
    // Once node1 has let go it does not take g1 back while node2 holds it.
    N(v, 1).claims.erase("g1");
    N(v, 2).claims["g1"] = kHeld;
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
    // A peer that does not hear us and claims nothing yet is about to
    // start g1 (it is g1's target in its own view): node1 does not.
    N(v, 2).claims.erase("g1");
    d = Decide(v, "node1", "g1", true);
    EXPECT_EQ(d.action, Action::kNone);
    EXPECT_EQ(d.target.value_or(""), "node2");
    // Unless that peer may not run g1 (it failed there): then it changes
    // nothing.
    N(v, 2).failed_groups.insert("g1");
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kStart);
    N(v, 2).failed_groups.clear();
    // A dead peer's old claims do not count.
    N(v, 2).claims["g1"] = kHeld;
    N(v, 2).alive = false;
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kStart);
  }
}

// Heartbeats into node2 are lost, and node2 has not heard node1 for most
// of deadtime: its heartbeats (which node1 still hears) list node1 as
// fading. node2 will start g1 at the deadline, so node1 stops it now and
// does not start it while node2 says so; when node2 hears node1 again,
// node1 is g1's node as before.
TEST(PlacementTest, HolderListedAsFadingYieldsBeforeThePeerTakesOver) {
  for (bool failback : {true, false}) {
    SCOPED_TRACE(failback ? "auto_failback on" : "auto_failback off");
    auto s = Spec(2, {1}, failback);
    ClusterView v = View(s);
    N(v, 1).claims["g1"] = kHeld;
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
    N(v, 2).fading_local = true;
    Decision d = Decide(v, "node1", "g1", true);
    EXPECT_EQ(d.action, Action::kStop);
    EXPECT_EQ(d.target.value_or(""), "node2");
    EXPECT_EQ(d.reason,
              "node2 has not heard this node for most of deadtime and takes g1 at its deadline "
              "unless it hears it again (one-way heartbeat loss): yielding to it first");
    // node2 itself does nothing before the deadline: it still counts node1
    // as alive and holding.
    EXPECT_EQ(Decide(v, "node2", "g1", true).action, Action::kNone);
    // Released: node1 does not start g1 again while it fades.
    N(v, 1).claims.erase("g1");
    d = Decide(v, "node1", "g1", true);
    EXPECT_EQ(d.action, Action::kNone);
    EXPECT_EQ(d.target.value_or(""), "node2");
    // Heard again: node1 takes g1 back (nobody else holds it).
    N(v, 2).fading_local = false;
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kStart);
  }
}

// A fading node keeps what the peer would not start: a group that failed
// on the peer, or, with three nodes, a group whose target in the peer's
// own view is a third node (which still hears the holder and starts
// nothing), or when the peer would lack quorum.
TEST(PlacementTest, FadingNodeKeepsWhatThePeerWouldNotStart) {
  {
    auto s = Spec(2, {1}, false);
    ClusterView v = View(s);
    N(v, 1).claims["g1"] = kHeld;
    N(v, 2).fading_local = true;
    N(v, 2).failed_groups.insert("g1");
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
    N(v, 2).failed_groups.clear();
    N(v, 2).leaving = true;  // shutting down: no candidate
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
  }
  {
    // Three nodes, g1 preferred on node1, held there; node3 fades node1.
    auto s = Spec(3, {1}, false);
    ClusterView v = View(s);
    N(v, 1).claims["g1"] = kHeld;
    N(v, 3).fading_local = true;
    // node3 hears node2: in its view node2 and node3 are alive, quorum;
    // the target is the first candidate, node2, not node3.
    N(v, 3).hears = std::set<std::string>{"node1", "node2"};
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
    // node3 hears nobody else: alone, one of three, no quorum.
    N(v, 3).hears = std::set<std::string>{"node1"};
    EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
    // node2 is standing by (leaving): node3 is the only candidate and
    // would take g1 at the deadline.
    N(v, 3).hears = std::set<std::string>{"node1", "node2"};
    N(v, 2).leaving = true;
    Decision d = Decide(v, "node1", "g1", true);
    EXPECT_EQ(d.action, Action::kStop);
    EXPECT_EQ(d.target.value_or(""), "node3");
  }
}

TEST(PlacementTest, ProbingClaimBlocksOthersButIsNoHolder) {
  constexpr ClaimPhase kProbing = wire::v1::GroupClaim::PHASE_PROBING;
  // node1 (preferred) restarted and probes; node2 holds nothing.
  auto s = Spec(2, {2}, /*failback=*/false);
  ClusterView v = View(s);
  N(v, 1).claims["g1"] = kProbing;
  EXPECT_EQ(T(v, "g1"), "node2");  // no holder: the preferred node
  Decision d = Decide(v, "node2", "g1", true);
  EXPECT_EQ(d.action, Action::kWait) << d.reason;
  EXPECT_TRUE(absl::StrContains(d.reason, "waits for node1")) << d.reason;
  // The prober itself neither starts nor stops while it probes.
  EXPECT_EQ(Decide(v, "node1", "g1", true).action, Action::kNone);
  auto s2 = Spec(2, {1}, /*failback=*/false);
  ClusterView v2 = View(s2);
  N(v2, 1).claims["g1"] = kProbing;
  EXPECT_EQ(Decide(v2, "node1", "g1", true).action, Action::kNone);
  // node2 holding it, node1 probing: node2 keeps it (the prober is no holder).
  N(v2, 2).claims["g1"] = kHeld;
  EXPECT_EQ(T(v2, "g1"), "node2");
  EXPECT_EQ(Decide(v2, "node2", "g1", true).action, Action::kNone);
  // The probe found it running: two holders, the usual rule (preferred).
  N(v2, 1).claims["g1"] = kHeld;
  EXPECT_EQ(T(v2, "g1"), "node1");
  EXPECT_EQ(Decide(v2, "node2", "g1", true).action, Action::kStop);
}

}  // namespace
}  // namespace hacluster::agent
