#include "agent/wire/replay_floors.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hacluster::wire {
namespace {

using Floors = std::vector<PacketCheck::Floor>;

TEST(ReplayFloorsTest, FormatThenParseIsTheIdentity) {
  const Floors floors = {{"node02", 7, 123456}, {"node03", 1, 1}, {"web-01.example", 9, 0}};
  const std::string text = FormatReplayFloors(floors);
  EXPECT_EQ(text,
            "# ha-agent replay floors v1\nnode02 7 123456\nnode03 1 1\nweb-01.example 9 0\n");
  auto parsed = ParseReplayFloors(text, "replay-floors");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, floors);
  EXPECT_EQ(FormatReplayFloors(*parsed), text);
  auto none = ParseReplayFloors(FormatReplayFloors({}), "f");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ReplayFloorsTest, BadFilesAreErrorsNamingFileAndLine) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "F:1: expected \"# ha-agent replay floors v1\""},
      {"node02 1 2\n", "F:1: expected \"# ha-agent replay floors v1\""},
      {"# ha-agent replay floors v1\nnode02 1\n", "F:2: expected \"NODE GENERATION SEQ\""},
      {"# ha-agent replay floors v1\nnode02 1 2 3\n", "F:2: expected \"NODE GENERATION SEQ\""},
      {"# ha-agent replay floors v1\nnode02 -1 2\n",
       "F:2: generation and seq must be decimal numbers below 2^63"},
      {"# ha-agent replay floors v1\nnode02 1 18446744073709551615\n",
       "F:2: generation and seq must be decimal numbers below 2^63"},
      {"# ha-agent replay floors v1\nnode02 1 9223372036854775808\n",
       "F:2: generation and seq must be decimal numbers below 2^63"},
      {"# ha-agent replay floors v1\nnode02 1 2\nnode02 3 4\n", "F:3: node node02 is listed twice"},
      {"# ha-agent replay floors v1\nno\tde 1 2\n",
       "F:2: the node name is empty, too long or not printable"},
      {"# ha-agent replay floors v1\n 1 2\n",
       "F:2: the node name is empty, too long or not printable"},
  };
  for (const Case& c : cases) {
    auto r = ParseReplayFloors(c.text, "F");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.error) << c.text;
  }
  // The largest value allowed.
  EXPECT_TRUE(ParseReplayFloors("# ha-agent replay floors v1\nn 9223372036854775807 1\n", "F").ok());
}

TEST(ReplayFloorsTest, MoreNodesThanTrackedIsAnError) {
  std::string text = "# ha-agent replay floors v1\n";
  for (size_t i = 0; i <= PacketCheck::kMaxTrackedNodes; ++i) {
    text += "n" + std::to_string(i) + " 1 1\n";
  }
  auto r = ParseReplayFloors(text, "F");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "F:1026: more than 1024 nodes");
}

}  // namespace
}  // namespace hacluster::wire
