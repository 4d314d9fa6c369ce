#include "tests/harness/wait.h"

#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::harness {
namespace {

using agent::MonotonicNow;

TEST(WaitForTest, ConditionAlreadyTrueReturnsWithoutSleeping) {
  int calls = 0;
  const auto start = MonotonicNow();
  EXPECT_TRUE(WaitFor(
      [&] {
        ++calls;
        return true;
      },
      absl::Seconds(5), absl::Seconds(1)));
  EXPECT_EQ(calls, 1);
  EXPECT_LT(MonotonicNow() - start, absl::Milliseconds(500));
}

TEST(WaitForTest, ConditionThatBecomesTrueIsSeenAtTheNextPoll) {
  int calls = 0;
  const auto start = MonotonicNow();
  EXPECT_TRUE(WaitFor([&] { return ++calls == 3; }, absl::Seconds(5),
                      absl::Milliseconds(20)));
  EXPECT_EQ(calls, 3);
  const absl::Duration elapsed = MonotonicNow() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(40));
  EXPECT_LT(elapsed, absl::Seconds(2));
}

TEST(WaitForTest, ConditionNeverTrueGivesUpAtTheDeadline) {
  int calls = 0;
  const auto start = MonotonicNow();
  EXPECT_FALSE(WaitFor(
      [&] {
        ++calls;
        return false;
      },
      absl::Milliseconds(200), absl::Milliseconds(50)));
  const absl::Duration elapsed = MonotonicNow() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(200));
  EXPECT_LT(elapsed, absl::Seconds(2));
  // At once, then every 50 ms, then once more at the deadline.
  EXPECT_GE(calls, 3);
  EXPECT_LE(calls, 6);
}

TEST(WaitForTest, ZeroDeadlineChecksExactlyOnce) {
  int calls = 0;
  EXPECT_FALSE(WaitFor(
      [&] {
        ++calls;
        return false;
      },
      absl::ZeroDuration()));
  EXPECT_EQ(calls, 1);
}

TEST(WaitForTest, ZeroPollIsNotABusyLoop) {
  int calls = 0;
  EXPECT_FALSE(WaitFor(
      [&] {
        ++calls;
        return false;
      },
      absl::Milliseconds(50), absl::ZeroDuration()));
  EXPECT_LE(calls, 52);
}

}  // namespace
}  // namespace hacluster::harness
