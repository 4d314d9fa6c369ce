#include "agent/node/peer_views.h"

#include <map>
#include <string>

#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

wire::v1::Heartbeat Hears(std::initializer_list<const char*> nodes) {
  wire::v1::Heartbeat hb;
  hb.set_reports_hears(true);
  for (const char* n : nodes) hb.add_hears(n);
  return hb;
}

TEST(PeerViewsTest, GroupStateComparesClaimsFailuresPlacementsStandbyHearsAndFading) {
  wire::v1::Heartbeat a;
  auto* g = a.add_groups();
  g->set_name("web");
  wire::v1::Heartbeat b = a;
  b.set_seq(99);  // not group state
  EXPECT_TRUE(SameGroupState(a, b));
  b.set_standby(true);
  EXPECT_FALSE(SameGroupState(a, b));
  b = a;
  b.add_failed_groups("web");
  EXPECT_FALSE(SameGroupState(a, b));
  b = a;
  b.mutable_groups(0)->set_name("db");
  EXPECT_FALSE(SameGroupState(a, b));
  b = a;
  b.add_placements()->set_group("web");
  EXPECT_FALSE(SameGroupState(a, b));
  // Whom the sender hears and who fades decide placement too.
  b = a;
  b.add_fading("node01");
  EXPECT_FALSE(SameGroupState(a, b));
  b = a;
  b.add_awaiting("web");
  EXPECT_FALSE(SameGroupState(a, b));
  b = a;
  b.set_reports_hears(true);
  EXPECT_FALSE(SameGroupState(a, b));
  a.set_reports_hears(true);
  a.add_hears("node01");
  b = a;
  EXPECT_TRUE(SameGroupState(a, b));
  b.set_hears(0, "node03");
  EXPECT_FALSE(SameGroupState(a, b));
}

TEST(PeerViewsTest, APeerThatNoLongerListsThisNodeIsDeafAfterItsGrace) {
  FakeClock clock;
  const wire::v1::Heartbeat hears_us = Hears({"node01", "node03"});
  const wire::v1::Heartbeat deaf = Hears({"node03"});
  const wire::v1::Heartbeat old_agent;  // does not report whom it hears
  DeafPeersInput in;
  in.local_node = "node01";
  in.start = clock.Now();
  in.grace = absl::Milliseconds(15);
  const std::string names[] = {"node01", "node02", "node03", "node04", "node05"};
  const wire::v1::Heartbeat own = Hears({});
  const PeerHeartbeat peers[] = {{&names[0], &own},       {&names[1], &deaf},
                                 {&names[2], &hears_us},  {&names[3], &old_agent},
                                 {&names[4], nullptr}};
  in.peers = peers;
  std::map<std::string, MonoTime> up_since;
  up_since["node02"] = clock.Now();
  in.up_since = &up_since;
  MonoTime next;
  // Within the grace: nobody yet, and the grace's end is the next check.
  EXPECT_TRUE(DeafPeers(in, clock.Now() + absl::Milliseconds(10), &next).empty());
  EXPECT_EQ(next, clock.Now() + absl::Milliseconds(15));
  EXPECT_EQ(DeafPeers(in, clock.Now() + absl::Milliseconds(15), &next),
            (std::set<std::string>{"node02"}));
  EXPECT_EQ(next, absl::InfiniteDuration());
  // A peer that came up again gets a new grace.
  up_since["node02"] = clock.Now() + absl::Milliseconds(20);
  EXPECT_TRUE(DeafPeers(in, clock.Now() + absl::Milliseconds(30), &next).empty());
  EXPECT_EQ(next, clock.Now() + absl::Milliseconds(35));
}

wire::v1::Heartbeat Runs(uint64_t version, const std::string& hash) {
  wire::v1::Heartbeat hb;
  hb.set_config_version(version);
  hb.set_config_hash(hash);
  return hb;
}

TEST(PeerViewsTest, DriftIsReportedOnceWhenItStartsAndOnceWhenItEnds) {
  DriftTracker d;
  EXPECT_TRUE(d.SetLocal(2, "hash-v2").empty());
  // A peer first heard in agreement: no news.
  EXPECT_FALSE(d.OnHeartbeat("node02", Runs(2, "hash-v2")).has_value());
  EXPECT_FALSE(d.Any());
  // The same version with another spec (edited by hand): drift.
  auto c = d.OnHeartbeat("node02", Runs(2, "hash-xx"));
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->drift);
  EXPECT_EQ(c->node, "node02");
  EXPECT_NE(c->reason.find("node02 runs config version 2"), std::string::npos) << c->reason;
  EXPECT_TRUE(d.Drifting("node02"));
  EXPECT_TRUE(d.Any());
  EXPECT_FALSE(d.OnHeartbeat("node02", Runs(2, "hash-xx")).has_value());  // said once
  // This node takes that spec: over.
  auto changes = d.SetLocal(2, "hash-xx");
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].drift);
  EXPECT_FALSE(d.Any());
  // A peer first heard on another version drifts at once; one that sends
  // no hash is compared by version alone.
  c = d.OnHeartbeat("node03", Runs(1, ""));
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->drift);
  EXPECT_FALSE(d.OnHeartbeat("node04", Runs(2, "")).has_value());
  // A dead peer is forgotten without news.
  d.Forget("node03");
  EXPECT_FALSE(d.Any());
}

}  // namespace
}  // namespace hacluster::agent
