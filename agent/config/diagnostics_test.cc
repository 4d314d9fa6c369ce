#include "agent/config/diagnostics.h"

#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

TEST(DiagnosticsTest, FormatLeavesOutUnknownParts) {
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"a.yaml", 3, 7}, "bad"}),
            "a.yaml:3:7: error: bad");
  EXPECT_EQ(FormatDiagnostic({Severity::kWarning, {"ha.cf", 12, 0}, "late"}),
            "ha.cf:12: warning: late");
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"authkeys", 0, 0}, "mode"}),
            "authkeys: error: mode");
  EXPECT_TRUE(HasErrors({{Severity::kWarning, {}, "w"}, {Severity::kError, {}, "e"}}));
  EXPECT_FALSE(HasErrors({{Severity::kWarning, {}, "w"}}));
}

TEST(SourceMapTest, FindFallsBackToNearestRecordedAncestor) {
  SourceMap map("spec.yaml");
  map.Set("groups[0]", {"spec.yaml", 10, 5});
  map.Set("groups[0].resources[1].ip.address", {"spec.yaml", 14, 20});
  EXPECT_EQ(map.Find("groups[0].resources[1].ip.address"), (Location{"spec.yaml", 14, 20}));
  EXPECT_EQ(map.Find("groups[0].resources[1].ip.prefix_length"), (Location{"spec.yaml", 10, 5}));
  EXPECT_EQ(map.Find("groups[0].resources[2]"), (Location{"spec.yaml", 10, 5}));
  EXPECT_EQ(map.Find("timing.deadtime"), (Location{"spec.yaml", 0, 0}));
  EXPECT_TRUE(map.Has("groups[0]"));
  EXPECT_FALSE(map.Has("groups"));
}

TEST(ClosestMatchTest, SuggestsTyposIncludingSwappedLetters) {
  std::vector<std::string> keys = {"name", "addresses", "labels"};
  EXPECT_EQ(ClosestMatch("nmae", keys), "name");
  EXPECT_EQ(ClosestMatch("adresses", keys), "addresses");
  EXPECT_EQ(ClosestMatch("LABELS", keys), "labels");
  EXPECT_EQ(ClosestMatch("keepalive", keys), "");
  EXPECT_EQ(ClosestMatch("x", {}), "");
}

}  // namespace
}  // namespace hacluster::config
