#include "agent/membership/membership.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t kLocalGeneration = 7;

// Times in these tests are offsets from the agent's start, in ms.
const MonoTime kStart = absl::Seconds(1000);
MonoTime At(int64_t ms) { return kStart + absl::Milliseconds(ms); }

MembershipConfig TwoLinkConfig() {
  MembershipConfig c;
  c.local_node = "node01";
  c.nodes = {"node01", "node02", "node03"};
  c.links = {"eth0", "eth1"};
  c.keepalive = absl::Seconds(1);
  c.warntime = absl::Seconds(2);
  c.deadtime = absl::Seconds(30);
  c.initdead = absl::Seconds(60);
  return c;
}

wire::v1::Heartbeat Hb(const std::string& node, uint64_t generation,
                       uint64_t seq, uint32_t score = 0) {
  wire::v1::Heartbeat hb;
  hb.set_cluster_name("prod");
  hb.set_node(node);
  hb.set_generation(generation);
  hb.set_seq(seq);
  hb.set_connectivity_score(score);
  return hb;
}

// One event as a line: "KIND node link gN @ms: reason", the time relative to
// the start in ms.
std::string Line(const agent::v1::Event& e) {
  std::string kind = agent::v1::EventKind_Name(e.kind());
  kind = kind.substr(std::string("EVENT_KIND_").size());
  const int64_t ms =
      (e.monotonic_ns() - absl::ToInt64Nanoseconds(kStart)) / 1000000;
  EXPECT_EQ(e.monotonic_ns() % 1000000, 0) << "event time not on a ms";
  return absl::StrCat(kind, " ", e.node(), " ", e.link(), " g", e.generation(),
                      " @", ms, ": ", e.reason());
}

class MembershipTest : public ::testing::Test {
 protected:
  MembershipTest() : m_(TwoLinkConfig(), kLocalGeneration, kStart) {}

  // Feeds one heartbeat; returns the events it caused as lines.
  std::vector<std::string> Heartbeat(const wire::v1::Heartbeat& hb, int link,
                                     int64_t ms, bool expect_taken = true) {
    std::vector<agent::v1::Event> events;
    EXPECT_EQ(m_.OnHeartbeat(hb, link, At(ms), &events), expect_taken);
    return Lines(events);
  }
  std::vector<std::string> Tick(int64_t ms) {
    std::vector<agent::v1::Event> events;
    m_.Tick(At(ms), &events);
    return Lines(events);
  }
  static std::vector<std::string> Lines(
      const std::vector<agent::v1::Event>& events) {
    std::vector<std::string> lines;
    for (const auto& e : events) lines.push_back(Line(e));
    return lines;
  }
  // Ends initdead with nobody heard: node02 and node03 are DEAD, so that
  // later Ticks report node02 only.
  void PastInitdead() {
    EXPECT_THAT(Tick(60000), ::testing::SizeIs(2));
  }
  // Brings node02 (generation 4) up on both links at `ms`.
  void Node02UpOnBothLinks(int64_t ms, uint64_t seq = 1) {
    Heartbeat(Hb("node02", 4, seq), 0, ms);
    Heartbeat(Hb("node02", 4, seq), 1, ms);
  }

  Membership m_;
};

// --- node and link states -------------------------------------------------

TEST_F(MembershipTest, LocalNodeIsAlwaysUpWithTheLocalGenerationAndNoLinks) {
  EXPECT_EQ(m_.StateOf("node01"), agent::v1::NODE_STATE_UP);
  PastInitdead();
  EXPECT_THAT(Tick(3600 * 1000), IsEmpty()) << "node01 must never die";
  EXPECT_EQ(m_.StateOf("node01"), agent::v1::NODE_STATE_UP);
  EXPECT_EQ(m_.LastHeartbeat("node01"), nullptr);

  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(0), WallTimeOf, &status);
  ASSERT_EQ(status.nodes_size(), 3);
  const agent::v1::NodeStatus& local = status.nodes(0);
  EXPECT_EQ(local.name(), "node01");
  EXPECT_TRUE(local.local());
  EXPECT_EQ(local.state(), agent::v1::NODE_STATE_UP);
  EXPECT_EQ(local.generation(), kLocalGeneration);
  EXPECT_THAT(local.links(), IsEmpty());
}

TEST_F(MembershipTest, PeersStartUnknownAndUnconfiguredNamesAreUnspecified) {
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UNKNOWN);
  EXPECT_EQ(m_.StateOf("node03"), agent::v1::NODE_STATE_UNKNOWN);
  EXPECT_EQ(m_.StateOf("node99"), agent::v1::NODE_STATE_UNSPECIFIED);
}

TEST_F(MembershipTest, HeartbeatFromAnUnknownNodeIsIgnored) {
  EXPECT_THAT(Heartbeat(Hb("node99", 1, 1), 0, 100, /*expect_taken=*/false),
              IsEmpty());
  EXPECT_EQ(m_.LastHeartbeat("node99"), nullptr);
}

TEST_F(MembershipTest, OwnHeartbeatLoopedBackIsIgnored) {
  EXPECT_THAT(Heartbeat(Hb("node01", 9, 1), 0, 100, false), IsEmpty());
  EXPECT_EQ(m_.LastHeartbeat("node01"), nullptr);
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(100), WallTimeOf, &status);
  EXPECT_EQ(status.nodes(0).generation(), kLocalGeneration);
}

TEST_F(MembershipTest, HeartbeatOnALinkIndexOutsideTheConfigIsIgnored) {
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 1), 2, 100, false), IsEmpty());
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 1), -1, 100, false), IsEmpty());
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UNKNOWN);
}

TEST_F(MembershipTest, FirstHeartbeatBringsTheNodeUpThenItsLink) {
  EXPECT_THAT(Heartbeat(Hb("node02", 5, 1), 1, 1500),
              ElementsAre("NODE_UP node02  g5 @1500: node node02 up "
                          "(generation 5)",
                          "LINK_UP node02 eth1 g5 @1500: link node02:eth1 up"));
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
}

TEST_F(MembershipTest, FirstHeartbeatOnASecondLinkIsOnlyALinkEvent) {
  Heartbeat(Hb("node02", 5, 1), 0, 1500);
  EXPECT_THAT(Heartbeat(Hb("node02", 5, 1), 1, 1501),
              ElementsAre("LINK_UP node02 eth1 g5 @1501: link node02:eth1 up"));
}

TEST_F(MembershipTest, HeartbeatsOnUpLinksInTimeEmitNothing) {
  Node02UpOnBothLinks(1000);
  for (int i = 1; i <= 10; ++i) {
    EXPECT_THAT(Heartbeat(Hb("node02", 4, 1 + i), 0, 1000 + i * 1000),
                IsEmpty());
    EXPECT_THAT(Heartbeat(Hb("node02", 4, 1 + i), 1, 1000 + i * 1000),
                IsEmpty());
  }
}

// --- deadtime: links and nodes --------------------------------------------

TEST_F(MembershipTest, LinkDiesAtExactlyDeadtimeWhileTheOtherKeepsTheNodeUp) {
  // initdead over; node02 heard on both links at 70 s, then only on eth0.
  PastInitdead();
  Node02UpOnBothLinks(70000);
  for (int s = 71; s <= 100; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);

  EXPECT_THAT(Tick(99999), IsEmpty());
  EXPECT_THAT(Tick(100000),
              ElementsAre("LINK_DEAD node02 eth1 g4 @100000: link "
                          "node02:eth1 dead: no heartbeat for 30 s "
                          "(deadtime 30 s)"));
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  EXPECT_THAT(Tick(100001), IsEmpty()) << "declared once";
  // eth0 carries on: the node stays up long after eth1 died.
  for (int s = 101; s <= 200; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);
  EXPECT_THAT(Tick(200500), IsEmpty());
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
}

TEST_F(MembershipTest, DeadLinkComesBackWithTheNextHeartbeatOnIt) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  for (int s = 71; s <= 100; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);
  ASSERT_THAT(Tick(100000), ::testing::SizeIs(1));
  for (int s = 101; s <= 115; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 115), 1, 115000),
              ElementsAre("LINK_UP node02 eth1 g4 @115000: link node02:eth1 "
                          "up again after 45 s of silence"));
  EXPECT_THAT(Tick(116000), IsEmpty());
}

TEST_F(MembershipTest, NodeDiesAtExactlyDeadtimeAfterItsLastHeartbeat) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  Node02UpOnBothLinks(71234, 2);  // last heartbeat at 71.234 s
  EXPECT_THAT(Tick(101233), IsEmpty());
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  EXPECT_THAT(
      Tick(101234),
      ElementsAre("LINK_DEAD node02 eth0 g4 @101234: link node02:eth0 dead: "
                  "no heartbeat for 30 s (deadtime 30 s)",
                  "LINK_DEAD node02 eth1 g4 @101234: link node02:eth1 dead: "
                  "no heartbeat for 30 s (deadtime 30 s)",
                  "NODE_DEAD node02  g4 @101234: node node02 dead: no "
                  "heartbeat on any link for 30 s (deadtime 30 s)"));
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_DEAD);
  EXPECT_THAT(Tick(200000), IsEmpty()) << "declared once";
}

TEST_F(MembershipTest, NodeDiesOnlyWhenItsLastLinkFallsSilent) {
  // eth1 stops at 70 s, eth0 at 80 s: eth1 dies at 100 s, the node (and
  // eth0 with it) at 110 s, the moment no link has heard it for deadtime.
  PastInitdead();
  Node02UpOnBothLinks(70000);
  for (int s = 71; s <= 80; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);
  EXPECT_THAT(Tick(100000), ElementsAre(::testing::StartsWith(
                                "LINK_DEAD node02 eth1 g4 @100000")));
  EXPECT_THAT(Tick(109999), IsEmpty());
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  EXPECT_THAT(Tick(110000),
              ElementsAre("LINK_DEAD node02 eth0 g4 @110000: link "
                          "node02:eth0 dead: no heartbeat for 30 s "
                          "(deadtime 30 s)",
                          "NODE_DEAD node02  g4 @110000: node node02 dead: "
                          "no heartbeat on any link for 30 s (deadtime 30 s)"));
}

TEST_F(MembershipTest, LateTickReportsTheActualSilence) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  EXPECT_THAT(Tick(100250),
              ElementsAre(::testing::EndsWith("no heartbeat for 30.25 s "
                                              "(deadtime 30 s)"),
                          ::testing::EndsWith("no heartbeat for 30.25 s "
                                              "(deadtime 30 s)"),
                          ::testing::EndsWith("no heartbeat on any link for "
                                              "30.25 s (deadtime 30 s)")));
}

TEST_F(MembershipTest, EventsCarryTheMonotonicTimeOfTheCallInNanoseconds) {
  std::vector<agent::v1::Event> events;
  const MonoTime now = At(1500) + absl::Nanoseconds(17);
  m_.OnHeartbeat(Hb("node02", 5, 1), 0, now, &events);
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e.monotonic_ns(), absl::ToInt64Nanoseconds(now));
    EXPECT_EQ(e.id(), 0u) << "the agent assigns ids";
    EXPECT_FALSE(e.has_time()) << "the agent assigns wall times";
  }
}

// --- initdead ---------------------------------------------------------------

TEST_F(MembershipTest, NodeNeverHeardIsDeclaredDeadAtExactlyTheEndOfInitdead) {
  Node02UpOnBothLinks(1000);
  for (int s = 2; s <= 60; ++s) Node02UpOnBothLinks(s * 1000, s);
  EXPECT_THAT(Tick(59999), IsEmpty());
  EXPECT_EQ(m_.StateOf("node03"), agent::v1::NODE_STATE_UNKNOWN);
  EXPECT_THAT(Tick(60000),
              ElementsAre("NODE_DEAD node03  g0 @60000: node node03 dead: "
                          "never heard within initdead 60 s"));
  EXPECT_EQ(m_.StateOf("node03"), agent::v1::NODE_STATE_DEAD);
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
}

TEST_F(MembershipTest, NobodyIsDeclaredDeadBeforeTheEndOfInitdead) {
  // Heard at 1 s and silent: deadtime ends at 31 s, initdead at 60 s.
  Node02UpOnBothLinks(1000);
  EXPECT_THAT(Tick(31000), IsEmpty());
  EXPECT_THAT(Tick(59999), IsEmpty());
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  EXPECT_THAT(
      Tick(60000),
      ElementsAre("LINK_DEAD node02 eth0 g4 @60000: link node02:eth0 dead: "
                  "no heartbeat for 59 s (deadtime 30 s, initdead 60 s)",
                  "LINK_DEAD node02 eth1 g4 @60000: link node02:eth1 dead: "
                  "no heartbeat for 59 s (deadtime 30 s, initdead 60 s)",
                  "NODE_DEAD node02  g4 @60000: node node02 dead: no "
                  "heartbeat on any link for 59 s (deadtime 30 s, "
                  "initdead 60 s)",
                  "NODE_DEAD node03  g0 @60000: node node03 dead: never "
                  "heard within initdead 60 s"));
}

TEST_F(MembershipTest, NodeHeardLateInInitdeadDiesDeadtimeAfterItsLastHeartbeat) {
  Node02UpOnBothLinks(50000);  // max(50 s + 30 s, 60 s) = 80 s
  EXPECT_THAT(Tick(79999), ::testing::ElementsAre(::testing::StartsWith(
                               "NODE_DEAD node03")));
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  EXPECT_THAT(Tick(80000),
              ElementsAre(::testing::EndsWith("(deadtime 30 s)"),
                          ::testing::EndsWith("(deadtime 30 s)"),
                          "NODE_DEAD node02  g4 @80000: node node02 dead: no "
                          "heartbeat on any link for 30 s (deadtime 30 s)"));
}

TEST_F(MembershipTest, InInitdeadUntilExactlyStartPlusInitdead) {
  EXPECT_TRUE(m_.InInitdead(At(0)));
  EXPECT_TRUE(m_.InInitdead(At(59999)));
  EXPECT_FALSE(m_.InInitdead(At(60000)));
}

TEST_F(MembershipTest, NodeNeverHeardComesUpLaterAsAFirstUp) {
  Tick(60000);
  ASSERT_EQ(m_.StateOf("node03"), agent::v1::NODE_STATE_DEAD);
  EXPECT_THAT(Heartbeat(Hb("node03", 2, 1), 0, 65000),
              ElementsAre("NODE_UP node03  g2 @65000: node node03 up "
                          "(generation 2)",
                          "LINK_UP node03 eth0 g2 @65000: link node03:eth0 "
                          "up"));
}

// --- NextDeadline -------------------------------------------------------------

TEST_F(MembershipTest, NextDeadlineFollowsTheEarliestPendingDeath) {
  EXPECT_EQ(m_.NextDeadline(), At(60000)) << "initdead for unheard nodes";
  Node02UpOnBothLinks(50000);
  EXPECT_EQ(m_.NextDeadline(), At(60000));
  Heartbeat(Hb("node02", 4, 2), 0, 55000);  // only eth0 refreshed
  EXPECT_EQ(m_.NextDeadline(), At(60000));
  Tick(60000);  // node03 dies
  EXPECT_EQ(m_.NextDeadline(), At(80000)) << "eth1 due at 80 s";
  Tick(80000);  // eth1 dies
  EXPECT_EQ(m_.NextDeadline(), At(85000));
  Tick(85000);  // node02 dies
  EXPECT_EQ(m_.NextDeadline(), absl::InfiniteDuration());
}

// --- fading --------------------------------------------------------------

// Deadtime 30 s: a node not heard for 24 s (deadtime - a fifth) is fading
// until it is heard again or dies at 30 s.
TEST_F(MembershipTest, AnUpNodeFadesAFifthOfDeadtimeBeforeItsDeathDeadline) {
  EXPECT_EQ(FadeLead(absl::Seconds(30)), absl::Seconds(6));
  std::vector<std::string> fading;
  MonoTime next;
  m_.Fading(At(0), &fading, &next);
  EXPECT_THAT(fading, IsEmpty()) << "nodes never heard do not fade";
  EXPECT_EQ(next, absl::InfiniteDuration());

  PastInitdead();
  Node02UpOnBothLinks(70000);
  m_.Fading(At(93999), &fading, &next);
  EXPECT_THAT(fading, IsEmpty());
  EXPECT_EQ(next, At(94000));
  m_.Fading(At(94000), &fading, &next);
  EXPECT_THAT(fading, ElementsAre("node02"));
  EXPECT_EQ(next, absl::InfiniteDuration());

  // Heard again (on one link is enough): no longer fading.
  Heartbeat(Hb("node02", 4, 2), 1, 95000);
  m_.Fading(At(95000), &fading, &next);
  EXPECT_THAT(fading, IsEmpty());
  EXPECT_EQ(next, At(119000));

  // Dead nodes do not fade.
  Tick(125000);
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_DEAD);
  m_.Fading(At(125000), &fading, &next);
  EXPECT_THAT(fading, IsEmpty());
}

TEST_F(MembershipTest, LastHeardIsTheNewestHeartbeatOnAnyLink) {
  EXPECT_EQ(m_.LastHeard("node02"), -absl::InfiniteDuration());
  EXPECT_EQ(m_.LastHeard("node01"), -absl::InfiniteDuration()) << "the local node";
  EXPECT_EQ(m_.LastHeard("node99"), -absl::InfiniteDuration());
  Heartbeat(Hb("node02", 4, 1), 0, 1000);
  Heartbeat(Hb("node02", 4, 2), 1, 1500);
  EXPECT_EQ(m_.LastHeard("node02"), At(1500));
}

// A node heard during initdead dies no earlier than the end of initdead, and
// fades no earlier than a fifth of deadtime before that.
TEST_F(MembershipTest, FadingFollowsTheDeathDeadlineDuringInitdead) {
  Node02UpOnBothLinks(1000);
  std::vector<std::string> fading;
  MonoTime next;
  m_.Fading(At(25000), &fading, &next);
  EXPECT_THAT(fading, IsEmpty()) << "1 s + 30 s - 6 s, but initdead ends at 60 s";
  EXPECT_EQ(next, At(54000));
  m_.Fading(At(54000), &fading, &next);
  EXPECT_THAT(fading, ElementsAre("node02"));
}

TEST(MembershipAloneTest, NextDeadlineIsInfiniteForALoneLocalNode) {
  MembershipConfig c = TwoLinkConfig();
  c.nodes = {"node01"};
  Membership m(c, 1, kStart);
  EXPECT_EQ(m.NextDeadline(), absl::InfiniteDuration());
}

// --- warntime -----------------------------------------------------------------

TEST_F(MembershipTest, HeartbeatMoreThanWarntimeAfterThePreviousIsLate) {
  Heartbeat(Hb("node02", 4, 1), 1, 70000);
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 2), 1, 72000), IsEmpty())
      << "exactly warntime is not late";
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 3), 1, 74001),
              ElementsAre("HEARTBEAT_LATE node02 eth1 g4 @74001: late "
                          "heartbeat from node02 on eth1: 2.001 s since the "
                          "last, warntime 2 s"));
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 4), 1, 76401),
              ElementsAre("HEARTBEAT_LATE node02 eth1 g4 @76401: late "
                          "heartbeat from node02 on eth1: 2.4 s since the "
                          "last, warntime 2 s"));
}

TEST_F(MembershipTest, LatenessIsMeasuredPerLink) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  Heartbeat(Hb("node02", 4, 2), 0, 71000);
  // eth1 missed the heartbeat at 71 s: late on eth1 only.
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 3), 0, 72000), IsEmpty());
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 3), 1, 72500),
              ElementsAre(::testing::StartsWith(
                  "HEARTBEAT_LATE node02 eth1 g4 @72500: late heartbeat from "
                  "node02 on eth1: 2.5 s since the last")));
}

TEST(MembershipWarntimeTest, ShortWarntimeIsWrittenInMilliseconds) {
  MembershipConfig c = TwoLinkConfig();
  c.keepalive = absl::Milliseconds(5);
  c.warntime = absl::Milliseconds(30);
  c.deadtime = absl::Milliseconds(100);
  c.initdead = absl::Milliseconds(200);
  Membership m(c, 1, kStart);
  std::vector<agent::v1::Event> events;
  m.OnHeartbeat(Hb("node02", 4, 1), 0, At(10), &events);
  events.clear();
  m.OnHeartbeat(Hb("node02", 4, 2), 0, At(40), &events);
  EXPECT_THAT(events, IsEmpty());
  m.OnHeartbeat(Hb("node02", 4, 3), 0, At(75), &events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason(),
            "late heartbeat from node02 on eth0: 35 ms since the last, "
            "warntime 30 ms");
}

TEST(MembershipWarntimeTest, ZeroWarntimeReportsNoLateHeartbeats) {
  MembershipConfig c = TwoLinkConfig();
  c.warntime = absl::ZeroDuration();
  Membership m(c, 1, kStart);
  std::vector<agent::v1::Event> events;
  m.OnHeartbeat(Hb("node02", 4, 1), 0, At(70000), &events);
  events.clear();
  m.OnHeartbeat(Hb("node02", 4, 2), 0, At(99999), &events);
  EXPECT_THAT(events, IsEmpty());
}

TEST_F(MembershipTest, HeartbeatAfterALinkDiedIsALinkUpNotALateHeartbeat) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  for (int s = 71; s <= 100; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);
  ASSERT_THAT(Tick(100000), ::testing::SizeIs(1));
  for (int s = 101; s <= 105; ++s) Heartbeat(Hb("node02", 4, s), 0, s * 1000);
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 105), 1, 105000),
              ElementsAre(::testing::StartsWith("LINK_UP node02 eth1")));
}

// --- generations --------------------------------------------------------------

TEST_F(MembershipTest, HigherGenerationWhileUpIsARestart) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  EXPECT_THAT(Heartbeat(Hb("node02", 5, 1), 0, 71000),
              ElementsAre("NODE_RESTARTED node02  g5 @71000: node node02 "
                          "restarted: generation 4 -> 5"));
  EXPECT_THAT(Heartbeat(Hb("node02", 5, 1), 1, 71000), IsEmpty());
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  ASSERT_NE(m_.LastHeartbeat("node02"), nullptr);
  EXPECT_EQ(m_.LastHeartbeat("node02")->generation(), 5u);
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(71000), WallTimeOf, &status);
  EXPECT_EQ(status.nodes(1).generation(), 5u);
}

TEST_F(MembershipTest, LowerGenerationWhileUpIsIgnoredAndKeepsNothingAlive) {
  PastInitdead();
  Node02UpOnBothLinks(70000, 10);
  for (int s = 71; s <= 99; ++s) {
    EXPECT_THAT(Heartbeat(Hb("node02", 3, s), 0, s * 1000, false), IsEmpty());
  }
  EXPECT_EQ(m_.LastHeartbeat("node02")->generation(), 4u);
  EXPECT_EQ(m_.LastHeartbeat("node02")->seq(), 10u);
  EXPECT_THAT(Tick(100000), ::testing::SizeIs(3));  // 2 links + the node
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_DEAD);
}

TEST_F(MembershipTest, BackFromDeadWithANewGenerationIsANodeUp) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  Tick(100000);
  ASSERT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_DEAD);
  EXPECT_THAT(
      Heartbeat(Hb("node02", 5, 1), 1, 115000),
      ElementsAre("NODE_UP node02  g5 @115000: node node02 up again after "
                  "45 s of silence (generation 5, restarted since "
                  "generation 4)",
                  "LINK_UP node02 eth1 g5 @115000: link node02:eth1 up again "
                  "after 45 s of silence"));
  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
}

TEST_F(MembershipTest, BackFromDeadWithTheSameGenerationIsANodeUp) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  Tick(100000);
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 2), 0, 100500),
              ElementsAre("NODE_UP node02  g4 @100500: node node02 up again "
                          "after 30.5 s of silence (generation 4)",
                          "LINK_UP node02 eth0 g4 @100500: link node02:eth0 "
                          "up again after 30.5 s of silence"));
}

TEST_F(MembershipTest, BackFromDeadWithALowerGenerationIsAccepted) {
  // A node whose state dir was wiped restarts with a lower generation; the
  // wire check lets it in after the death, and so does membership.
  Node02UpOnBothLinks(70000);
  Tick(100000);
  EXPECT_THAT(Heartbeat(Hb("node02", 1, 1), 0, 101000),
              ElementsAre("NODE_UP node02  g1 @101000: node node02 up again "
                          "after 31 s of silence (generation 1, was 4)",
                          ::testing::StartsWith("LINK_UP node02 eth0 g1")));
  EXPECT_EQ(m_.LastHeartbeat("node02")->generation(), 1u);
}

TEST_F(MembershipTest, OnlyTheLinkThatCarriedTheReturnComesUp) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  Tick(100000);
  Heartbeat(Hb("node02", 4, 2), 0, 101000);
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(101000), WallTimeOf, &status);
  ASSERT_EQ(status.nodes(1).links_size(), 2);
  EXPECT_EQ(status.nodes(1).links(0).state(), agent::v1::LINK_STATE_UP);
  EXPECT_EQ(status.nodes(1).links(1).state(), agent::v1::LINK_STATE_DEAD);
  // The dead link has no deadline; the node's own is 131 s.
  EXPECT_EQ(m_.NextDeadline(), At(131000));
}

// --- connectivity scores ------------------------------------------------------

TEST_F(MembershipTest, PeerScoreChangeIsReported) {
  Heartbeat(Hb("node02", 4, 1, /*score=*/2), 0, 70000);
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 2, 2), 0, 71000), IsEmpty());
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 3, 1), 0, 72000),
              ElementsAre("CONNECTIVITY_CHANGED node02  g4 @72000: node "
                          "node02 connectivity 2 -> 1"));
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(72000), WallTimeOf, &status);
  EXPECT_EQ(status.nodes(1).connectivity_score(), 1u);
}

TEST_F(MembershipTest, FirstHeartbeatSetsTheScoreWithoutAChangeEvent) {
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 1, 3), 0, 70000),
              ElementsAre(::testing::StartsWith("NODE_UP"),
                          ::testing::StartsWith("LINK_UP")));
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(70000), WallTimeOf, &status);
  EXPECT_EQ(status.nodes(1).connectivity_score(), 3u);
}

TEST_F(MembershipTest, OlderHeartbeatArrivingLateDoesNotUndoTheScore) {
  Heartbeat(Hb("node02", 4, 1, 2), 0, 70000);
  Heartbeat(Hb("node02", 4, 1, 2), 1, 70000);
  Heartbeat(Hb("node02", 4, 3, 1), 0, 71500);  // eth0 ahead
  // eth1 delivers seq 2 (score 2) after seq 3: it is older, no change.
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 2, 2), 1, 71501), IsEmpty());
  EXPECT_EQ(m_.LastHeartbeat("node02")->seq(), 3u);
  EXPECT_EQ(m_.LastHeartbeat("node02")->connectivity_score(), 1u);
}

TEST_F(MembershipTest, LocalScoreChangeIsReported) {
  std::vector<agent::v1::Event> events;
  m_.SetLocalConnectivity(2, At(500), &events);
  m_.SetLocalConnectivity(2, At(600), &events);
  m_.SetLocalConnectivity(1, At(700), &events);
  EXPECT_THAT(Lines(events),
              ElementsAre("CONNECTIVITY_CHANGED node01  g7 @500: node node01 "
                          "connectivity 0 -> 2",
                          "CONNECTIVITY_CHANGED node01  g7 @700: node node01 "
                          "connectivity 2 -> 1"));
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(700), WallTimeOf, &status);
  EXPECT_EQ(status.connectivity_score(), 1u);
  EXPECT_EQ(status.nodes(0).connectivity_score(), 1u);
}

// --- last heartbeat -------------------------------------------------------------

TEST_F(MembershipTest, LastHeartbeatKeepsTheNewestOfTheNode) {
  EXPECT_EQ(m_.LastHeartbeat("node02"), nullptr) << "never heard";
  wire::v1::Heartbeat hb = Hb("node02", 4, 1);
  hb.set_config_version(12);
  hb.set_standby(true);
  auto* g = hb.add_groups();
  g->set_name("web");
  g->set_phase(wire::v1::GroupClaim::PHASE_HELD);
  Heartbeat(hb, 0, 70000);
  const wire::v1::Heartbeat* last = m_.LastHeartbeat("node02");
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->config_version(), 12u);
  EXPECT_TRUE(last->standby());
  ASSERT_EQ(last->groups_size(), 1);
  EXPECT_EQ(last->groups(0).name(), "web");

  hb.set_seq(2);
  hb.set_standby(false);
  hb.mutable_groups(0)->set_phase(wire::v1::GroupClaim::PHASE_STOPPING);
  Heartbeat(hb, 0, 71000);
  last = m_.LastHeartbeat("node02");
  EXPECT_EQ(last->seq(), 2u);
  EXPECT_FALSE(last->standby());
  EXPECT_EQ(last->groups(0).phase(), wire::v1::GroupClaim::PHASE_STOPPING);
}

// --- status -----------------------------------------------------------------------

TEST_F(MembershipTest, FillStatusDescribesEveryNodeAndLinkInSpecOrder) {
  auto wall = [](MonoTime t) {
    return absl::FromUnixSeconds(1700000000) + (t - kStart);
  };
  wire::v1::Heartbeat hb = Hb("node02", 4, 1, 2);
  hb.set_config_version(3);
  hb.set_standby(true);
  Heartbeat(hb, 0, 1250);
  agent::v1::GetStatusResponse status;
  status.add_nodes()->set_name("stale entry");
  m_.FillStatus(At(3750), wall, &status);

  EXPECT_EQ(status.local_node(), "node01");
  EXPECT_EQ(status.local_generation(), kLocalGeneration);
  EXPECT_TRUE(status.in_initdead());
  EXPECT_EQ(status.keepalive().seconds(), 1);
  EXPECT_EQ(status.warntime().seconds(), 2);
  EXPECT_EQ(status.deadtime().seconds(), 30);
  EXPECT_EQ(status.initdead().seconds(), 60);
  ASSERT_EQ(status.nodes_size(), 3);
  EXPECT_EQ(status.nodes(0).name(), "node01");

  const agent::v1::NodeStatus& n2 = status.nodes(1);
  EXPECT_EQ(n2.name(), "node02");
  EXPECT_FALSE(n2.local());
  EXPECT_EQ(n2.state(), agent::v1::NODE_STATE_UP);
  EXPECT_EQ(n2.generation(), 4u);
  EXPECT_EQ(n2.connectivity_score(), 2u);
  EXPECT_EQ(n2.config_version(), 3u);
  EXPECT_TRUE(n2.standby());
  EXPECT_EQ(n2.last_heard().seconds(), 1700000001);
  EXPECT_EQ(n2.last_heard().nanos(), 250000000);
  EXPECT_EQ(n2.since_last_heard().seconds(), 2);
  EXPECT_EQ(n2.since_last_heard().nanos(), 500000000);
  ASSERT_EQ(n2.links_size(), 2);
  EXPECT_EQ(n2.links(0).name(), "eth0");
  EXPECT_EQ(n2.links(0).state(), agent::v1::LINK_STATE_UP);
  EXPECT_EQ(n2.links(0).last_heard().seconds(), 1700000001);
  EXPECT_EQ(n2.links(0).since_last_heard().nanos(), 500000000);
  EXPECT_EQ(n2.links(1).name(), "eth1");
  EXPECT_EQ(n2.links(1).state(), agent::v1::LINK_STATE_UNKNOWN);
  EXPECT_FALSE(n2.links(1).has_last_heard());
  EXPECT_FALSE(n2.links(1).has_since_last_heard());

  const agent::v1::NodeStatus& n3 = status.nodes(2);
  EXPECT_EQ(n3.name(), "node03");
  EXPECT_EQ(n3.state(), agent::v1::NODE_STATE_UNKNOWN);
  EXPECT_EQ(n3.generation(), 0u);
  EXPECT_FALSE(n3.has_last_heard());
  EXPECT_EQ(n3.links_size(), 2);

  m_.FillStatus(At(60000), wall, &status);
  EXPECT_FALSE(status.in_initdead());
}

// --- reconfiguration ----------------------------------------------------------

TEST_F(MembershipTest, ReconfigureKeepsWhatIsKnownAboutRemainingNodesAndLinks) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  MembershipConfig c = TwoLinkConfig();
  c.nodes = {"node01", "node02"};  // node03 removed
  c.links = {"eth1", "ttyS0"};     // eth0 removed, ttyS0 added
  m_.Reconfigure(c, At(75000));

  EXPECT_EQ(m_.StateOf("node02"), agent::v1::NODE_STATE_UP);
  EXPECT_EQ(m_.StateOf("node03"), agent::v1::NODE_STATE_UNSPECIFIED);
  EXPECT_EQ(m_.LastHeartbeat("node02")->generation(), 4u);
  agent::v1::GetStatusResponse status;
  m_.FillStatus(At(75000), WallTimeOf, &status);
  ASSERT_EQ(status.nodes_size(), 2);
  ASSERT_EQ(status.nodes(1).links_size(), 2);
  EXPECT_EQ(status.nodes(1).links(0).name(), "eth1");
  EXPECT_EQ(status.nodes(1).links(0).state(), agent::v1::LINK_STATE_UP);
  EXPECT_EQ(status.nodes(1).links(1).name(), "ttyS0");
  EXPECT_EQ(status.nodes(1).links(1).state(), agent::v1::LINK_STATE_UNKNOWN);

  // Link indexes follow the new list: 1 is now ttyS0.
  EXPECT_THAT(Heartbeat(Hb("node02", 4, 2), 1, 76000),
              ElementsAre("LINK_UP node02 ttyS0 g4 @76000: link "
                          "node02:ttyS0 up"));
  EXPECT_THAT(Tick(100000),
              ElementsAre("LINK_DEAD node02 eth1 g4 @100000: link "
                          "node02:eth1 dead: no heartbeat for 30 s "
                          "(deadtime 30 s)"));
}

TEST_F(MembershipTest, ReconfiguredDeadtimeAppliesToPendingDeadlines) {
  PastInitdead();
  Node02UpOnBothLinks(70000);
  MembershipConfig c = TwoLinkConfig();
  c.deadtime = absl::Seconds(10);
  m_.Reconfigure(c, At(75000));
  EXPECT_EQ(m_.NextDeadline(), At(80000));
  EXPECT_THAT(Tick(79999), IsEmpty());
  EXPECT_THAT(Tick(80000),
              ElementsAre(::testing::StartsWith("LINK_DEAD node02 eth0"),
                          ::testing::StartsWith("LINK_DEAD node02 eth1"),
                          "NODE_DEAD node02  g4 @80000: node node02 dead: no "
                          "heartbeat on any link for 10 s (deadtime 10 s)"));
}

TEST_F(MembershipTest, NodeAddedByReconfigureGetsDeadtimeToShowUp) {
  Tick(60000);  // node02 and node03 dead: never heard
  MembershipConfig c = TwoLinkConfig();
  c.nodes = {"node01", "node02", "node03", "node04"};
  m_.Reconfigure(c, At(100000));
  EXPECT_EQ(m_.StateOf("node03"), agent::v1::NODE_STATE_DEAD) << "kept";
  EXPECT_EQ(m_.StateOf("node04"), agent::v1::NODE_STATE_UNKNOWN);
  EXPECT_EQ(m_.NextDeadline(), At(130000));
  EXPECT_THAT(Tick(129999), IsEmpty());
  EXPECT_THAT(Tick(130000),
              ElementsAre("NODE_DEAD node04  g0 @130000: node node04 dead: "
                          "never heard in 30 s since it was configured "
                          "(deadtime 30 s)"));
}

TEST_F(MembershipTest, NodeAddedDuringInitdeadWaitsForInitdeadToo) {
  MembershipConfig c = TwoLinkConfig();
  c.nodes = {"node01", "node02", "node03", "node04"};
  m_.Reconfigure(c, At(10000));  // 10 s + 30 s < 60 s
  std::vector<std::string> dead = Tick(60000);
  EXPECT_THAT(dead, ::testing::Contains(
                        "NODE_DEAD node04  g0 @60000: node node04 dead: "
                        "never heard within initdead 60 s"));
  EXPECT_THAT(dead, ::testing::SizeIs(3));
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

// After the wire switched, the peers' sequence numbers count on the other
// wire's terms: the next heartbeat of each node is kept whatever its seq,
// and the ones after it by seq again.
TEST_F(MembershipTest, AfterAWireSwitchTheNextHeartbeatIsKeptWhateverItsSeq) {
  PastInitdead();
  Node02UpOnBothLinks(61000, /*seq=*/500);
  wire::v1::Heartbeat low = Hb("node02", 4, 3, /*score=*/7);
  Heartbeat(low, 0, 61100);
  ASSERT_NE(m_.LastHeartbeat("node02"), nullptr);
  EXPECT_EQ(m_.LastHeartbeat("node02")->seq(), 500u) << "an older seq is not kept";
  m_.AcceptNextHeartbeats();
  Heartbeat(low, 0, 61200);
  EXPECT_EQ(m_.LastHeartbeat("node02")->seq(), 3u);
  EXPECT_EQ(m_.LastHeartbeat("node02")->connectivity_score(), 7u);
  Heartbeat(Hb("node02", 4, 2), 0, 61300);
  EXPECT_EQ(m_.LastHeartbeat("node02")->seq(), 3u) << "then by seq again";
}

}  // namespace
}  // namespace hacluster::agent
