#include "agent/membership/time_text.h"

#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

TEST(DurationTextTest, BelowOneSecondIsMilliseconds) {
  EXPECT_EQ(DurationText(absl::ZeroDuration()), "0 ms");
  EXPECT_EQ(DurationText(absl::Milliseconds(35)), "35 ms");
  EXPECT_EQ(DurationText(absl::Milliseconds(999)), "999 ms");
}

TEST(DurationTextTest, SecondsShowTheFractionOnlyAsFarAsItIsNotZero) {
  EXPECT_EQ(DurationText(absl::Seconds(1)), "1 s");
  EXPECT_EQ(DurationText(absl::Milliseconds(2400)), "2.4 s");
  EXPECT_EQ(DurationText(absl::Milliseconds(2450)), "2.45 s");
  EXPECT_EQ(DurationText(absl::Milliseconds(30001)), "30.001 s");
  EXPECT_EQ(DurationText(absl::Milliseconds(30010)), "30.01 s");
  EXPECT_EQ(DurationText(absl::Seconds(90)), "90 s");
}

TEST(DurationTextTest, SubMillisecondPartsAreTruncated) {
  EXPECT_EQ(DurationText(absl::Microseconds(999)), "0 ms");
  EXPECT_EQ(DurationText(absl::Microseconds(2400999)), "2.4 s");
}

TEST(DurationTextTest, NegativeAndInfiniteDurations) {
  EXPECT_EQ(DurationText(absl::Milliseconds(-35)), "-35 ms");
  EXPECT_EQ(DurationText(absl::Milliseconds(-1500)), "-1.5 s");
  EXPECT_EQ(DurationText(absl::InfiniteDuration()), "forever");
  EXPECT_EQ(DurationText(-absl::InfiniteDuration()), "-forever");
}

TEST(SetProtoDurationTest, SplitsSecondsAndNanosWithTheSameSign) {
  google::protobuf::Duration d;
  SetProtoDuration(absl::Milliseconds(2500) + absl::Nanoseconds(7), &d);
  EXPECT_EQ(d.seconds(), 2);
  EXPECT_EQ(d.nanos(), 500000007);
  SetProtoDuration(absl::Milliseconds(-1500), &d);
  EXPECT_EQ(d.seconds(), -1);
  EXPECT_EQ(d.nanos(), -500000000);
}

TEST(SetProtoDurationTest, InfiniteIsClampedToTheProtoRange) {
  google::protobuf::Duration d;
  SetProtoDuration(absl::InfiniteDuration(), &d);
  EXPECT_EQ(d.seconds(), 315576000000);
  EXPECT_EQ(d.nanos(), 0);
}

TEST(SetProtoTimestampTest, NanosAreNonNegativeBeforeTheEpochToo) {
  google::protobuf::Timestamp t;
  SetProtoTimestamp(absl::FromUnixMillis(1700000000123), &t);
  EXPECT_EQ(t.seconds(), 1700000000);
  EXPECT_EQ(t.nanos(), 123000000);
  SetProtoTimestamp(absl::FromUnixMillis(-1500), &t);
  EXPECT_EQ(t.seconds(), -2);
  EXPECT_EQ(t.nanos(), 500000000);
}

TEST(SetProtoTimestampTest, InfiniteFutureIsClampedToYear9999) {
  google::protobuf::Timestamp t;
  SetProtoTimestamp(absl::InfiniteFuture(), &t);
  EXPECT_EQ(t.seconds(), 253402300799);
  EXPECT_EQ(t.nanos(), 0);
}

}  // namespace
}  // namespace hacluster::agent
