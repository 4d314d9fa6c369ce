#include "agent/membership/connectivity.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Times in these tests are offsets from the agent's start, in ms.
const MonoTime kStart = absl::Seconds(500);
MonoTime At(int64_t ms) { return kStart + absl::Milliseconds(ms); }

// One event as a line: "KIND link @ms: reason" (node must be empty).
std::string Line(const agent::v1::Event& e) {
  EXPECT_EQ(e.node(), "") << e.reason();
  std::string kind = agent::v1::EventKind_Name(e.kind());
  kind = kind.substr(std::string("EVENT_KIND_").size());
  const int64_t ns = e.monotonic_ns() - absl::ToInt64Nanoseconds(kStart);
  EXPECT_EQ(ns % 1000000, 0) << "event time not on a ms";
  return absl::StrCat(kind, " ", e.link(), " @", ns / 1000000, ": ",
                      e.reason());
}

// Two ping nodes and a group of two, deadping 20 s.
ConnectivityConfig Config() {
  ConnectivityConfig c;
  c.ping_nodes = {"192.0.2.1", "192.0.2.2"};
  c.ping_groups = {{"uplinks", {"198.51.100.1", "198.51.100.2"}}};
  c.deadping = absl::Seconds(20);
  return c;
}

class ConnectivityTest : public ::testing::Test {
 protected:
  ConnectivityTest() : c_(Config(), kStart) {}

  std::vector<std::string> Reply(absl::string_view host, int64_t ms) {
    std::vector<agent::v1::Event> events;
    c_.OnReply(host, At(ms), &events);
    return Lines(events);
  }
  std::vector<std::string> Tick(int64_t ms) {
    std::vector<agent::v1::Event> events;
    c_.Tick(At(ms), &events);
    return Lines(events);
  }
  static std::vector<std::string> Lines(
      const std::vector<agent::v1::Event>& events) {
    std::vector<std::string> lines;
    for (const auto& e : events) lines.push_back(Line(e));
    return lines;
  }
  agent::v1::PingState StateOf(const std::string& host) {
    agent::v1::GetStatusResponse status;
    c_.FillStatus(WallTimeOf, &status);
    for (const auto& t : status.ping_targets()) {
      if (t.host() == host) return t.state();
    }
    ADD_FAILURE() << host << " not in status";
    return agent::v1::PING_STATE_UNSPECIFIED;
  }

  Connectivity c_;
};

TEST_F(ConnectivityTest, HostsListsEveryDistinctHostOnce) {
  ConnectivityConfig cfg;
  cfg.ping_nodes = {"192.0.2.1", "192.0.2.2", "192.0.2.1"};
  cfg.ping_groups = {{"a", {"198.51.100.1", "192.0.2.2"}},
                     {"b", {"198.51.100.1", "203.0.113.9"}}};
  cfg.deadping = absl::Seconds(20);
  Connectivity c(cfg, kStart);
  EXPECT_THAT(c.Hosts(), ElementsAre("192.0.2.1", "192.0.2.2", "198.51.100.1",
                                     "203.0.113.9"));
}

TEST_F(ConnectivityTest, HostsStartUnknownWithAScoreOfZero) {
  EXPECT_EQ(c_.Score(), 0u);
  EXPECT_EQ(StateOf("192.0.2.1"), agent::v1::PING_STATE_UNKNOWN);
  EXPECT_EQ(StateOf("198.51.100.2"), agent::v1::PING_STATE_UNKNOWN);
}

TEST_F(ConnectivityTest, PlacementScoreCountsHostsNotYetKnownDead) {
  // Two ping nodes and one group (see the fixture): all unknown at start.
  const uint32_t all = c_.PlacementScore();
  EXPECT_GT(all, 0u);
  Reply("192.0.2.1", 1000);
  EXPECT_EQ(c_.PlacementScore(), all);
  EXPECT_EQ(c_.Score(), 1u);
  // At start + deadping the silent ones are dead: both scores agree.
  Tick(20000);
  EXPECT_EQ(c_.PlacementScore(), c_.Score());
  EXPECT_EQ(c_.Score(), 1u);
}

TEST_F(ConnectivityTest, FirstReplyBringsAPingNodeUp) {
  EXPECT_THAT(Reply("192.0.2.1", 1500),
              ElementsAre("PING_UP 192.0.2.1 @1500: ping node 192.0.2.1 up"));
  EXPECT_EQ(StateOf("192.0.2.1"), agent::v1::PING_STATE_UP);
  EXPECT_EQ(c_.Score(), 1u);
  EXPECT_THAT(Reply("192.0.2.1", 2500), IsEmpty()) << "already up";
}

TEST_F(ConnectivityTest, ReplyFromAHostNotConfiguredIsIgnored) {
  EXPECT_THAT(Reply("203.0.113.77", 1500), IsEmpty());
  EXPECT_EQ(c_.Score(), 0u);
  EXPECT_THAT(c_.Hosts(), ::testing::Not(::testing::Contains("203.0.113.77")));
}

TEST_F(ConnectivityTest, HostNeverAnsweringIsDeadAtExactlyStartPlusDeadping) {
  Reply("192.0.2.1", 1000);
  Reply("198.51.100.1", 1000);
  Reply("192.0.2.1", 19000);
  Reply("198.51.100.1", 19000);
  EXPECT_THAT(Tick(19999), IsEmpty());
  EXPECT_THAT(Tick(20000),
              ElementsAre("PING_DEAD 192.0.2.2 @20000: ping node 192.0.2.2 "
                          "dead: never answered in 20 s (deadping 20 s)",
                          "PING_DEAD 198.51.100.2 @20000: ping group uplinks "
                          "host 198.51.100.2 dead: never answered in 20 s "
                          "(deadping 20 s)"));
  EXPECT_EQ(StateOf("192.0.2.2"), agent::v1::PING_STATE_DEAD);
  EXPECT_EQ(StateOf("192.0.2.1"), agent::v1::PING_STATE_UP);
  EXPECT_THAT(Tick(30000), IsEmpty()) << "declared once";
}

TEST_F(ConnectivityTest, HostIsDeadAtExactlyDeadpingAfterItsLastReply) {
  Reply("192.0.2.1", 1000);
  Reply("192.0.2.1", 2345);  // the last reply
  ASSERT_EQ(c_.Score(), 1u);
  std::vector<std::string> early = Tick(22344);
  EXPECT_THAT(early, ::testing::Each(::testing::Not(
                         ::testing::HasSubstr("PING_DEAD 192.0.2.1 "))));
  EXPECT_EQ(c_.Score(), 1u);
  EXPECT_THAT(Tick(22345),
              ElementsAre("PING_DEAD 192.0.2.1 @22345: ping node 192.0.2.1 "
                          "dead: no echo reply for 20 s (deadping 20 s)"));
  EXPECT_EQ(c_.Score(), 0u);
}

TEST_F(ConnectivityTest, LateTickReportsTheActualSilence) {
  Reply("192.0.2.1", 1000);
  std::vector<std::string> lines = Tick(21750);
  EXPECT_THAT(lines, ::testing::Contains(
                         "PING_DEAD 192.0.2.1 @21750: ping node 192.0.2.1 "
                         "dead: no echo reply for 20.75 s (deadping 20 s)"));
}

TEST_F(ConnectivityTest, DeadHostComesBackWithItsNextReply) {
  Reply("192.0.2.1", 1000);
  Tick(21000);
  ASSERT_EQ(StateOf("192.0.2.1"), agent::v1::PING_STATE_DEAD);
  EXPECT_THAT(Reply("192.0.2.1", 46000),
              ElementsAre("PING_UP 192.0.2.1 @46000: ping node 192.0.2.1 up "
                          "again after 45 s without an echo reply"));
  EXPECT_EQ(c_.Score(), 1u);
}

TEST_F(ConnectivityTest, HostThatNeverAnsweredComesUpLater) {
  Tick(20000);  // all four dead
  EXPECT_EQ(c_.NextDeadline(), absl::InfiniteDuration());
  EXPECT_THAT(Reply("198.51.100.2", 30000),
              ElementsAre("PING_UP 198.51.100.2 @30000: ping group uplinks "
                          "host 198.51.100.2 up"));
  EXPECT_EQ(c_.Score(), 1u);
}

TEST_F(ConnectivityTest, GroupCountsOnceWhileAnyOfItsHostsIsUp) {
  Reply("198.51.100.1", 1000);
  EXPECT_EQ(c_.Score(), 1u);
  Reply("198.51.100.2", 5000);
  EXPECT_EQ(c_.Score(), 1u) << "a group counts 1, not per host";
  // The plain ping nodes, never heard, die at 20 s; .1 at 21 s while .2
  // still answers: the group still counts.
  EXPECT_THAT(Tick(20000), ::testing::SizeIs(2));
  EXPECT_THAT(Tick(20999), IsEmpty());
  EXPECT_THAT(Tick(21000), ElementsAre(::testing::StartsWith(
                               "PING_DEAD 198.51.100.1 @21000")));
  EXPECT_EQ(StateOf("198.51.100.1"), agent::v1::PING_STATE_DEAD);
  EXPECT_EQ(c_.Score(), 1u);
  EXPECT_THAT(Tick(24999), IsEmpty());
  EXPECT_EQ(c_.Score(), 1u);
  EXPECT_THAT(Tick(25000), ElementsAre(::testing::StartsWith(
                               "PING_DEAD 198.51.100.2 @25000")));
  EXPECT_EQ(c_.Score(), 0u);
}

TEST_F(ConnectivityTest, ScoreIsPingNodesUpPlusGroupsWithAHostUp) {
  Reply("192.0.2.1", 1000);
  Reply("192.0.2.2", 1000);
  Reply("198.51.100.2", 1000);
  EXPECT_EQ(c_.Score(), 3u);
  Reply("192.0.2.1", 10000);
  Reply("198.51.100.2", 10000);
  Tick(21000);  // 192.0.2.2 dies (and 198.51.100.1, never heard, at 20 s)
  EXPECT_EQ(c_.Score(), 2u);
  Tick(30000);
  EXPECT_EQ(c_.Score(), 0u);
}

TEST_F(ConnectivityTest, HostBothPingNodeAndGroupMemberHasOneStateCountedTwice) {
  ConnectivityConfig cfg;
  cfg.ping_nodes = {"192.0.2.1"};
  cfg.ping_groups = {{"g", {"192.0.2.1", "192.0.2.9"}}};
  cfg.deadping = absl::Seconds(20);
  Connectivity c(cfg, kStart);
  std::vector<agent::v1::Event> events;
  c.OnReply("192.0.2.1", At(1000), &events);
  EXPECT_THAT(Lines(events),
              ElementsAre("PING_UP 192.0.2.1 @1000: ping node 192.0.2.1 up"));
  EXPECT_EQ(c.Score(), 2u);  // the ping node and its group
  agent::v1::GetStatusResponse status;
  c.FillStatus(WallTimeOf, &status);
  ASSERT_EQ(status.ping_targets_size(), 3);
  EXPECT_EQ(status.ping_targets(1).host(), "192.0.2.1");
  EXPECT_EQ(status.ping_targets(1).group(), "g");
  EXPECT_EQ(status.ping_targets(1).state(), agent::v1::PING_STATE_UP);
  events.clear();
  c.Tick(At(21000), &events);
  EXPECT_THAT(Lines(events),
              ElementsAre(::testing::StartsWith("PING_DEAD 192.0.2.1 @21000"),
                          ::testing::StartsWith("PING_DEAD 192.0.2.9")))
      << "one PING_DEAD for the shared host";
  EXPECT_EQ(c.Score(), 0u);
}

TEST_F(ConnectivityTest, NextDeadlineIsTheEarliestPendingDeath) {
  EXPECT_EQ(c_.NextDeadline(), At(20000));
  Reply("192.0.2.1", 3000);
  Reply("192.0.2.2", 4000);
  Reply("198.51.100.1", 5000);
  Reply("198.51.100.2", 6000);
  EXPECT_EQ(c_.NextDeadline(), At(23000));
  Tick(23000);
  EXPECT_EQ(c_.NextDeadline(), At(24000));
  Tick(26000);
  EXPECT_EQ(c_.NextDeadline(), absl::InfiniteDuration());
}

TEST(ConnectivityEmptyTest, NoHostsMeansNoDeadlineAndScoreZero) {
  Connectivity c(ConnectivityConfig{{}, {}, absl::Seconds(20)}, kStart);
  EXPECT_THAT(c.Hosts(), IsEmpty());
  EXPECT_EQ(c.NextDeadline(), absl::InfiniteDuration());
  EXPECT_EQ(c.Score(), 0u);
  std::vector<agent::v1::Event> events;
  c.Tick(At(100000), &events);
  EXPECT_THAT(events, IsEmpty());
}

TEST_F(ConnectivityTest, FillStatusListsPingNodesThenGroupMembers) {
  auto wall = [](MonoTime t) {
    return absl::FromUnixSeconds(1700000000) + (t - kStart);
  };
  Reply("192.0.2.2", 1250);
  agent::v1::GetStatusResponse status;
  status.add_ping_targets()->set_host("stale entry");
  c_.FillStatus(wall, &status);
  ASSERT_EQ(status.ping_targets_size(), 4);
  EXPECT_EQ(status.ping_targets(0).host(), "192.0.2.1");
  EXPECT_EQ(status.ping_targets(0).group(), "");
  EXPECT_EQ(status.ping_targets(0).state(), agent::v1::PING_STATE_UNKNOWN);
  EXPECT_FALSE(status.ping_targets(0).has_last_reply());
  EXPECT_EQ(status.ping_targets(1).host(), "192.0.2.2");
  EXPECT_EQ(status.ping_targets(1).state(), agent::v1::PING_STATE_UP);
  EXPECT_EQ(status.ping_targets(1).last_reply().seconds(), 1700000001);
  EXPECT_EQ(status.ping_targets(1).last_reply().nanos(), 250000000);
  EXPECT_EQ(status.ping_targets(2).host(), "198.51.100.1");
  EXPECT_EQ(status.ping_targets(2).group(), "uplinks");
  EXPECT_EQ(status.ping_targets(3).host(), "198.51.100.2");
  EXPECT_EQ(status.ping_targets(3).group(), "uplinks");
}

TEST_F(ConnectivityTest, ReconfigureKeepsTheStateOfRemainingHosts) {
  Reply("192.0.2.1", 1000);
  Reply("198.51.100.1", 1000);
  ConnectivityConfig cfg;
  cfg.ping_nodes = {"192.0.2.1", "203.0.113.5"};  // 192.0.2.2 removed
  cfg.ping_groups = {{"uplinks", {"198.51.100.1"}}};
  cfg.deadping = absl::Seconds(10);
  c_.Reconfigure(cfg, At(5000));
  EXPECT_EQ(c_.Score(), 2u) << "no drop to 0 on reload";
  EXPECT_THAT(c_.Hosts(),
              ElementsAre("192.0.2.1", "203.0.113.5", "198.51.100.1"));
  EXPECT_EQ(StateOf("203.0.113.5"), agent::v1::PING_STATE_UNKNOWN);
  // The new deadping applies to known hosts; new hosts count from now.
  EXPECT_EQ(c_.NextDeadline(), At(11000));
  EXPECT_THAT(Tick(10999), IsEmpty());
  EXPECT_THAT(Tick(11000),
              ElementsAre(::testing::StartsWith("PING_DEAD 192.0.2.1 @11000"),
                          ::testing::StartsWith("PING_DEAD 198.51.100.1")));
  EXPECT_THAT(Tick(14999), IsEmpty());
  EXPECT_THAT(Tick(15000),
              ElementsAre("PING_DEAD 203.0.113.5 @15000: ping node "
                          "203.0.113.5 dead: never answered in 10 s "
                          "(deadping 10 s)"));
}

}  // namespace
}  // namespace hacluster::agent
