#include "agent/state/state_dir.h"

#include <fstream>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

std::string TmpPath(const std::string& name) {
  return std::string(getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(StateDirTest, GenerationStartsAtOneAndGrowsAtEveryStart) {
  std::string dir = TmpPath("gen/nested");
  {
    auto s = StateDir::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*(*s)->BumpGeneration(), 1u);
  }
  {
    auto s = StateDir::Open(dir);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*(*s)->BumpGeneration(), 2u);
    EXPECT_EQ(*(*s)->BumpGeneration(), 3u);
  }
  std::ifstream in(dir + "/generation");
  uint64_t stored = 0;
  in >> stored;
  EXPECT_EQ(stored, 3u);
}

TEST(StateDirTest, SecondAgentOnTheSameDirectoryIsRefused) {
  std::string dir = TmpPath("locked");
  auto first = StateDir::Open(dir);
  ASSERT_TRUE(first.ok());
  auto second = StateDir::Open(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::StrContains(second.status().message(), "in use by another ha-agent"))
      << second.status();
  first->reset();
  EXPECT_TRUE(StateDir::Open(dir).ok());
}

TEST(StateDirTest, CorruptGenerationFileIsNamed) {
  std::string dir = TmpPath("corrupt");
  auto s = StateDir::Open(dir);
  ASSERT_TRUE(s.ok());
  std::ofstream(dir + "/generation") << "garbage\n";
  auto g = (*s)->BumpGeneration();
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::StrContains(g.status().message(), dir + "/generation"));
}

TEST(StateDirTest, PathThatIsAFileIsRefused) {
  std::string file = TmpPath("plainfile");
  std::ofstream(file) << "x";
  auto s = StateDir::Open(file);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.status().message(), "not a directory")) << s.status();
}

}  // namespace
}  // namespace hacluster::agent
