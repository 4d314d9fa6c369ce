#include "agent/config/duration.h"

#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

TEST(DurationTest, ParsesUnitsAndPlainSeconds) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("2s"), 2000);
  EXPECT_EQ(*ParseDurationMs("2"), 2000);
  EXPECT_EQ(*ParseDurationMs("1.5"), 1500);
  EXPECT_EQ(*ParseDurationMs("1.5s"), 1500);
  EXPECT_EQ(*ParseDurationMs("1m"), 60000);
  EXPECT_EQ(*ParseDurationMs("1h"), 3600000);
  EXPECT_EQ(*ParseDurationMs(" 10 "), 10000);
  EXPECT_EQ(*ParseDurationMs("0"), 0);
}

TEST(DurationTest, RejectsMalformedText) {
  EXPECT_FALSE(ParseDurationMs("").ok());
  EXPECT_FALSE(ParseDurationMs("ms").ok());
  EXPECT_FALSE(ParseDurationMs("-1").ok());
  EXPECT_FALSE(ParseDurationMs("1.2.3").ok());
  EXPECT_FALSE(ParseDurationMs("10 seconds").ok());
  EXPECT_FALSE(ParseDurationMs("0.5ms").ok());
  EXPECT_FALSE(ParseDurationMs("99999999999999").ok());
  EXPECT_NE(ParseDurationMs("5x").status().message().find("unknown unit"),
            std::string::npos);
}

TEST(DurationTest, FormatsCanonicallyAndRoundTrips) {
  EXPECT_EQ(FormatDurationMs(500), "500ms");
  EXPECT_EQ(FormatDurationMs(2000), "2s");
  EXPECT_EQ(FormatDurationMs(1500), "1500ms");
  EXPECT_EQ(FormatDurationMs(0), "0s");
  for (int64_t ms : {0, 1, 5, 999, 1000, 1001, 20000, 86400000}) {
    EXPECT_EQ(*ParseDurationMs(FormatDurationMs(ms)), ms);
    EXPECT_EQ(ToMs(FromMs(ms)), ms);
  }
}

TEST(DurationTest, ToMsClampsInsteadOfOverflowing) {
  google::protobuf::Duration huge;
  huge.set_seconds(INT64_MAX);
  EXPECT_EQ(ToMs(huge), int64_t{1000000000000} * 1000);
  huge.set_seconds(INT64_MIN);
  EXPECT_EQ(ToMs(huge), -int64_t{1000000000000} * 1000);
}

}  // namespace
}  // namespace hacluster::config
