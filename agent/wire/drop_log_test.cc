#include "agent/wire/drop_log.h"

#include <string>

#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::wire {
namespace {

using agent::FakeClock;

constexpr char kPeer[] = "192.0.2.21:694";
constexpr char kOther[] = "192.0.2.99:694";

class DropLogTest : public ::testing::Test {
 protected:
  std::optional<std::string> Bad(const std::string& source = kPeer) {
    return log_.Record(source, DropReason::kBadMac, "key 1", clock_.Now());
  }

  FakeClock clock_;
  DropLog log_;
};

TEST_F(DropLogTest, FirstDropFromASourceIsLoggedAtOnce) {
  EXPECT_EQ(Bad(), "dropped packet from 192.0.2.21:694: failed authentication (bad-mac, key 1)");
}

TEST_F(DropLogTest, LaterDropsAreSuppressedUntilTheIntervalHasPassed) {
  ASSERT_TRUE(Bad().has_value());
  for (int i = 0; i < 41; ++i) {
    clock_.Advance(absl::Milliseconds(243));  // 41 * 243 ms = 9.963 s
    EXPECT_EQ(Bad(), std::nullopt) << i;
  }
  clock_.Advance(absl::Milliseconds(36));  // 9.999 s since the line
  EXPECT_EQ(Bad(), std::nullopt);
  clock_.Advance(absl::Milliseconds(1));  // 10.000 s
  EXPECT_EQ(Bad(),
            "dropped packet from 192.0.2.21:694: failed authentication (bad-mac, key 1); "
            "42 more from this source in the last 10 s");
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(Bad(), std::nullopt);
}

TEST_F(DropLogTest, LineAfterAQuietPeriodSaysHowLongItCovers) {
  ASSERT_TRUE(Bad().has_value());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Bad(), std::nullopt);
  clock_.Advance(absl::Milliseconds(11345));
  EXPECT_EQ(log_.Record(kPeer, DropReason::kReplay, "node \"node02\" ...", clock_.Now()),
            "dropped packet from 192.0.2.21:694: replayed or stale heartbeat (replay, "
            "node \"node02\" ...); 1 more from this source in the last 12.345 s");
}

TEST_F(DropLogTest, DropAfterTheIntervalWithNothingSuppressedHasNoCount) {
  ASSERT_TRUE(Bad().has_value());
  clock_.Advance(absl::Seconds(30));
  EXPECT_EQ(Bad(), "dropped packet from 192.0.2.21:694: failed authentication (bad-mac, key 1)");
}

TEST_F(DropLogTest, SourcesAreLimitedIndependently) {
  ASSERT_TRUE(Bad(kPeer).has_value());
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_EQ(log_.Record(kOther, DropReason::kMalformed, "no HAW1 magic", clock_.Now()),
            "dropped packet from 192.0.2.99:694: malformed frame (malformed, no HAW1 magic)");
  EXPECT_EQ(Bad(kPeer), std::nullopt);
  EXPECT_EQ(Bad(kOther), std::nullopt);
  clock_.Advance(absl::Milliseconds(9995));
  EXPECT_TRUE(Bad(kPeer).has_value());
  EXPECT_EQ(Bad(kOther), std::nullopt);  // its line was 5 ms later
  clock_.Advance(absl::Milliseconds(5));
  EXPECT_TRUE(Bad(kOther).has_value());
}

TEST_F(DropLogTest, EmptyDetailLeavesOnlyTheReason) {
  EXPECT_EQ(log_.Record(kPeer, DropReason::kWrongCluster, "", clock_.Now()),
            "dropped packet from 192.0.2.21:694: heartbeat of another cluster (wrong-cluster)");
}

TEST_F(DropLogTest, FlushReportsSuppressedDropsOnceTheIntervalHasPassed) {
  ASSERT_TRUE(Bad().has_value());
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Bad(), std::nullopt);
  EXPECT_EQ(Bad(), std::nullopt);
  EXPECT_EQ(log_.Record(kPeer, DropReason::kUnknownKey, "key 7", clock_.Now()), std::nullopt);
  clock_.Advance(absl::Milliseconds(7999));
  EXPECT_TRUE(log_.Flush(clock_.Now()).empty());
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(log_.Flush(clock_.Now()),
            std::vector<std::string>{"dropped 3 more packets from 192.0.2.21:694 in the last "
                                     "10 s (unknown-key 1, bad-mac 2)"});
  EXPECT_TRUE(log_.Flush(clock_.Now()).empty());
  clock_.Advance(absl::Seconds(60));
  EXPECT_TRUE(log_.Flush(clock_.Now()).empty());  // nothing new to report
}

TEST_F(DropLogTest, FlushCountsAsTheSourcesLine) {
  ASSERT_TRUE(Bad().has_value());
  EXPECT_EQ(Bad(), std::nullopt);
  clock_.Advance(absl::Seconds(10));
  EXPECT_EQ(log_.Flush(clock_.Now()),
            std::vector<std::string>{
                "dropped 1 more packet from 192.0.2.21:694 in the last 10 s (bad-mac 1)"});
  clock_.Advance(absl::Milliseconds(9999));
  EXPECT_EQ(Bad(), std::nullopt);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(Bad().has_value());
}

TEST_F(DropLogTest, TotalsCountEveryDropByReason) {
  Bad();
  Bad();
  Bad(kOther);
  log_.Record(kPeer, DropReason::kReplay, "", clock_.Now());
  std::map<std::string, uint64_t> want = {
      {"bad-mac", 3},     {"malformed", 0},     {"replay", 1},
      {"unknown-key", 0}, {"wrong-cluster", 0}, {"wrong-method", 0},
  };
  EXPECT_EQ(log_.TotalsByReason(), want);
  EXPECT_EQ(log_.CountForSource(kPeer, DropReason::kBadMac), 2u);
  EXPECT_EQ(log_.CountForSource(kPeer, DropReason::kReplay), 1u);
  EXPECT_EQ(log_.CountForSource(kOther, DropReason::kBadMac), 1u);
  EXPECT_EQ(log_.CountForSource("198.51.100.1:694", DropReason::kBadMac), 0u);
}

TEST(DropLogBoundTest, NewSourcePastTheLimitEvictsTheLeastRecentlyHeard) {
  FakeClock clock;
  DropLog log(absl::Seconds(10), 3);
  auto bad = [&](const std::string& source) {
    return log.Record(source, DropReason::kBadMac, "", clock.Now());
  };
  ASSERT_TRUE(bad("a").has_value());
  ASSERT_TRUE(bad("b").has_value());
  ASSERT_TRUE(bad("c").has_value());
  EXPECT_EQ(bad("a"), std::nullopt);  // "b" is now the least recently heard
  EXPECT_TRUE(bad("d").has_value());
  EXPECT_EQ(log.SourcesForTest(), 3u);
  EXPECT_EQ(bad("a"), std::nullopt);
  EXPECT_EQ(bad("c"), std::nullopt);
  EXPECT_EQ(bad("d"), std::nullopt);
  EXPECT_EQ(log.CountForSource("b", DropReason::kBadMac), 0u);
  EXPECT_TRUE(bad("b").has_value());  // forgotten, so new again
  EXPECT_EQ(log.SourcesForTest(), 3u);
  EXPECT_EQ(log.TotalsByReason()["bad-mac"], 9u);
}

}  // namespace
}  // namespace hacluster::wire
