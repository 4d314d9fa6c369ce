#include "examples/answer_log.h"

#include "gtest/gtest.h"

namespace hacluster::examples {
namespace {

absl::Duration At(double ms) { return absl::Microseconds(static_cast<int64_t>(ms * 1000)); }

TEST(AnswerLogTest, NoAnswerSaysSo) {
  AnswerLog log;
  EXPECT_EQ(log.Summary(12, At(30)), "answers 0 of 12 probes, no answer");
  EXPECT_EQ(log.last_node(), "");
}

TEST(AnswerLogTest, FirstAnswerIsAChangeFromNobody) {
  AnswerLog log;
  auto c = log.Add(At(3), "node01");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->node, "node01");
  EXPECT_EQ(c->previous, "");
  EXPECT_EQ(c->silence, At(3));
  EXPECT_EQ(log.Summary(1, At(3)), "answers 1 of 1 probes, one answer only, from node01");
  EXPECT_EQ(log.Summary(9, At(20)),
            "answers 1 of 9 probes, one answer only, from node01, then no answer for 17.0 ms "
            "up to the stop");
}

TEST(AnswerLogTest, SameNodeAgainIsNoChange) {
  AnswerLog log;
  log.Add(At(2), "node01");
  EXPECT_FALSE(log.Add(At(4), "node01").has_value());
  EXPECT_FALSE(log.Add(At(6), "node01").has_value());
  EXPECT_EQ(log.answers(), 3u);
}

TEST(AnswerLogTest, LongestGapNamesTheNodesAroundIt) {
  AnswerLog log;
  log.Add(At(2), "node01");
  log.Add(At(4), "node01");
  auto c = log.Add(At(45), "node02");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->previous, "node01");
  EXPECT_EQ(c->silence, At(41));
  log.Add(At(47), "node02");
  log.Add(At(60), "node02");  // a gap of 13 ms within node02: not the longest
  EXPECT_EQ(log.Summary(30, At(61)),
            "answers 5 of 30 probes, longest gap 41.0 ms from node01 to node02, "
            "last answer from node02");
}

TEST(AnswerLogTest, LongestGapMayBeWithinOneNode) {
  AnswerLog log;
  log.Add(At(2), "node01");
  log.Add(At(10), "node02");
  log.Add(At(100), "node02");
  EXPECT_EQ(log.Summary(50, At(101)),
            "answers 3 of 50 probes, longest gap 90.0 ms from node02 to node02, "
            "last answer from node02");
}

TEST(AnswerLogTest, SilenceAtTheEndLongerThanAnyGapIsShown) {
  AnswerLog log;
  log.Add(At(2), "node01");
  log.Add(At(4), "node01");
  EXPECT_EQ(log.Summary(100, At(204)),
            "answers 2 of 100 probes, longest gap 2.0 ms from node01 to node01, "
            "last answer from node01, then no answer for 200.0 ms up to the stop");
}

}  // namespace
}  // namespace hacluster::examples
