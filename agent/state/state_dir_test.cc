#include "agent/state/state_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

std::string TmpPath(const std::string& name) {
  return std::string(getenv("TEST_TMPDIR")) + "/" + name;
}

// A fresh directory with exactly `mode` (chmod, so the umask does not apply).
std::string MakeDir(const std::string& name, mode_t mode) {
  std::string dir = TmpPath(name);
  EXPECT_EQ(mkdir(dir.c_str(), 0700), 0) << dir;
  EXPECT_EQ(chmod(dir.c_str(), mode), 0) << dir;
  return dir;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& contents) {
  std::ofstream(path) << contents;
}

#define EXPECT_MESSAGE_HAS(status, text) \
  EXPECT_TRUE(absl::StrContains((status).message(), (text))) << (status)

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
  EXPECT_EQ(Slurp(dir + "/generation"), "3\n");
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(stat((dir + "/generation").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // No temporary file is left behind.
  EXPECT_NE(access((dir + "/.generation.tmp").c_str(), F_OK), 0);
}

// The heartbeat3 wire asks for at least the start time; the number never
// goes back, whichever is larger.
TEST(StateDirTest, GenerationJumpsToAtLeastAndNeverGoesBack) {
  std::string dir = TmpPath("gen-at-least");
  auto s = StateDir::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*(*s)->BumpGeneration(), 1u);
  EXPECT_EQ(*(*s)->BumpGeneration(1796564000), 1796564000u);
  EXPECT_EQ(*(*s)->BumpGeneration(5), 1796564001u);
  EXPECT_EQ(*(*s)->BumpGeneration(), 1796564002u);
  EXPECT_EQ(Slurp(dir + "/generation"), "1796564002\n");
}

TEST(StateDirTest, SecondAgentOnTheSameDirectoryIsRefused) {
  std::string dir = TmpPath("locked");
  auto first = StateDir::Open(dir);
  ASSERT_TRUE(first.ok());
  auto second = StateDir::Open(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_MESSAGE_HAS(second.status(), "in use by another ha-agent");
  first->reset();
  EXPECT_TRUE(StateDir::Open(dir).ok());
}

TEST(StateDirTest, PathThatIsAFileIsRefused) {
  std::string file = TmpPath("plainfile");
  Spit(file, "x");
  auto s = StateDir::Open(file);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_MESSAGE_HAS(s.status(), "not a directory");
}

// --- who may write the directory ---

TEST(StateDirTest, WorldWritableDirectoryIsRefusedNamingItAndTheFix) {
  std::string dir = MakeDir("world", 0777);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_MESSAGE_HAS(s.status(), absl::StrCat("state directory ", dir, " "));
  EXPECT_MESSAGE_HAS(s.status(), "mode 0777");
  EXPECT_MESSAGE_HAS(s.status(), "writable by others");
  EXPECT_MESSAGE_HAS(s.status(), absl::StrCat("chmod go-w ", dir));
  // Nothing was created in it.
  EXPECT_NE(access((dir + "/agent.lock").c_str(), F_OK), 0);
}

TEST(StateDirTest, WorldWritableDirectoryWithStickyBitIsRefused) {
  std::string dir = MakeDir("sticky", 01777);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_MESSAGE_HAS(s.status(), "mode 1777");
  EXPECT_MESSAGE_HAS(s.status(), absl::StrCat("chmod go-w ", dir));
}

TEST(StateDirTest, GroupWritableDirectoryIsRefused) {
  std::string dir = MakeDir("group", 0770);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_MESSAGE_HAS(s.status(), dir);
  EXPECT_MESSAGE_HAS(s.status(), "mode 0770");
  EXPECT_MESSAGE_HAS(s.status(), "writable by its group");
  EXPECT_MESSAGE_HAS(s.status(), absl::StrCat("chmod go-w ", dir));
}

TEST(StateDirTest, ReadableByOthersButNotWritableIsAccepted) {
  std::string dir = MakeDir("readable", 0755);
  auto s = StateDir::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
}

TEST(StateDirTest, DirectoryOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string dir = MakeDir("nobodys", 0750);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_MESSAGE_HAS(s.status(), absl::StrCat("state directory ", dir, " is owned by "));
  EXPECT_MESSAGE_HAS(s.status(), "uid 65534");
  EXPECT_MESSAGE_HAS(s.status(), "mode 0750");
  EXPECT_MESSAGE_HAS(s.status(), absl::StrCat("'chown root ", dir, "'"));
}

// /tmp is world-writable with the sticky bit: a parent that existed before
// is not the agent's to judge; the directories Open makes are.
TEST(StateDirTest, PreExistingWorldWritableParentIsAccepted) {
  std::string parent = MakeDir("tmp-like", 01777);
  std::string dir = parent + "/made/here";
  auto s = StateDir::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  struct stat st;
  ASSERT_EQ(stat((parent + "/made").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 022, 0u);
}

// --- links in the directory ---

TEST(StateDirTest, SymlinkedLockFileIsRefusedAndItsTargetUntouched) {
  std::string dir = MakeDir("locklink", 0700);
  std::string target = TmpPath("precious-file");
  Spit(target, "precious contents\n");
  ASSERT_EQ(symlink(target.c_str(), (dir + "/agent.lock").c_str()), 0);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_MESSAGE_HAS(s.status(), dir + "/agent.lock is a symbolic link");
  EXPECT_EQ(Slurp(target), "precious contents\n");
}

TEST(StateDirTest, DanglingSymlinkedLockFileIsRefusedAndNothingIsCreated) {
  std::string dir = MakeDir("danglinglock", 0700);
  std::string target = TmpPath("would-be-created");
  ASSERT_EQ(symlink(target.c_str(), (dir + "/agent.lock").c_str()), 0);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_MESSAGE_HAS(s.status(), dir + "/agent.lock is a symbolic link");
  EXPECT_NE(access(target.c_str(), F_OK), 0);
}

TEST(StateDirTest, HardLinkedLockFileIsRefusedAndItsTargetUntouched) {
  std::string dir = MakeDir("lockhardlink", 0700);
  std::string target = TmpPath("hard-target");
  Spit(target, "keep me\n");
  ASSERT_EQ(link(target.c_str(), (dir + "/agent.lock").c_str()), 0);
  auto s = StateDir::Open(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status())) << s.status();
  EXPECT_MESSAGE_HAS(s.status(), dir + "/agent.lock has 2 hard links");
  EXPECT_EQ(Slurp(target), "keep me\n");
}

TEST(StateDirTest, SymlinkedGenerationFileIsRefusedAndItsTargetUntouched) {
  std::string dir = MakeDir("genlink", 0700);
  std::string target = TmpPath("gen-target");
  Spit(target, "41\n");
  ASSERT_EQ(symlink(target.c_str(), (dir + "/generation").c_str()), 0);
  auto s = StateDir::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  auto g = (*s)->BumpGeneration();
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(g.status())) << g.status();
  EXPECT_MESSAGE_HAS(g.status(), dir + "/generation is a symbolic link");
  EXPECT_EQ(Slurp(target), "41\n");
}

TEST(StateDirTest, GenerationFileOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string dir = MakeDir("genowner", 0700);
  Spit(dir + "/generation", "7\n");
  ASSERT_EQ(chown((dir + "/generation").c_str(), 65534, 65534), 0);
  auto s = StateDir::Open(dir);
  ASSERT_TRUE(s.ok()) << s.status();
  auto g = (*s)->BumpGeneration();
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(g.status())) << g.status();
  EXPECT_MESSAGE_HAS(g.status(), dir + "/generation is owned by ");
  EXPECT_MESSAGE_HAS(g.status(), "uid 65534");
}

// --- what the generation file may hold ---

class GenerationTextTest : public ::testing::Test {
 protected:
  absl::StatusOr<uint64_t> BumpWith(const std::string& name, const std::string& text) {
    dir_ = MakeDir(name, 0700);
    Spit(dir_ + "/generation", text);
    auto s = StateDir::Open(dir_);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return s.status();
    return (*s)->BumpGeneration();
  }
  std::string dir_;
};

TEST_F(GenerationTextTest, GarbageIsDataLossNamingTheFile) {
  int n = 0;
  for (const char* text : {"garbage\n", "", "-1\n", "+5\n", "12abc\n", "1 2\n", "0x10\n"}) {
    SCOPED_TRACE(text);
    auto g = BumpWith(absl::StrCat("garbage", n++), text);
    ASSERT_FALSE(g.ok());
    EXPECT_TRUE(absl::IsDataLoss(g.status())) << g.status();
    EXPECT_MESSAGE_HAS(g.status(), dir_ + "/generation does not hold a generation number");
  }
}

TEST_F(GenerationTextTest, LargestUint64IsOutOfRangeRatherThanWrappingToZero) {
  auto g = BumpWith("u64max", "18446744073709551615\n");
  ASSERT_FALSE(g.ok());
  EXPECT_TRUE(absl::IsDataLoss(g.status())) << g.status();
  EXPECT_MESSAGE_HAS(g.status(),
                     dir_ + "/generation holds generation 18446744073709551615, out of range");
  EXPECT_EQ(Slurp(dir_ + "/generation"), "18446744073709551615\n");  // left as found
}

TEST_F(GenerationTextTest, BeyondUint64IsOutOfRange) {
  auto g = BumpWith("beyond", "99999999999999999999\n");
  ASSERT_FALSE(g.ok());
  EXPECT_MESSAGE_HAS(g.status(), "out of range");
}

TEST_F(GenerationTextTest, TheLastGenerationIsKMaxGeneration) {
  auto g = BumpWith("last", absl::StrCat(StateDir::kMaxGeneration - 1, "\n"));
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*g, StateDir::kMaxGeneration);
  EXPECT_EQ(StateDir::kMaxGeneration, 9223372036854775807u);

  auto s = StateDir::Open(dir_);
  ASSERT_TRUE(s.ok());
  auto after = (*s)->BumpGeneration();
  ASSERT_FALSE(after.ok());
  EXPECT_TRUE(absl::IsDataLoss(after.status())) << after.status();
  EXPECT_MESSAGE_HAS(after.status(), "holds generation 9223372036854775807, out of range");
}

TEST_F(GenerationTextTest, SurroundingWhitespaceIsAccepted) {
  auto g = BumpWith("spaces", "  41 \n\n");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*g, 42u);
}

// --- ReadFile / WriteFileAtomic ---

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeDir(::testing::UnitTest::GetInstance()->current_test_info()->name(), 0700);
    auto s = StateDir::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    state_ = *std::move(s);
  }
  std::string dir_;
  std::unique_ptr<StateDir> state_;
};

TEST_F(StateFileTest, WrittenContentsReadBackExactly) {
  std::string contents("peer node02 gen 7 seq 1234\n\0binary\xff", 36);
  ASSERT_TRUE(state_->WriteFileAtomic("replay-node02", contents).ok());
  auto read = state_->ReadFile("replay-node02");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, contents);
  // Replacing with shorter contents leaves nothing of the old.
  ASSERT_TRUE(state_->WriteFileAtomic("replay-node02", "short").ok());
  EXPECT_EQ(**state_->ReadFile("replay-node02"), "short");
  ASSERT_TRUE(state_->WriteFileAtomic("empty", "").ok());
  EXPECT_EQ(**state_->ReadFile("empty"), "");

  struct stat st;
  ASSERT_EQ(stat((dir_ + "/replay-node02").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(access((dir_ + "/.replay-node02.tmp").c_str(), F_OK), 0);
}

TEST_F(StateFileTest, MissingFileIsNullopt) {
  auto read = state_->ReadFile("never-written");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(read->has_value());
}

TEST_F(StateFileTest, SymlinkIsNotReadAndIsReplacedNotFollowedOnWrite) {
  std::string target = TmpPath("state-file-target");
  Spit(target, "outside\n");
  ASSERT_EQ(symlink(target.c_str(), (dir_ + "/linked").c_str()), 0);
  auto read = state_->ReadFile("linked");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(read.status())) << read.status();
  EXPECT_MESSAGE_HAS(read.status(), dir_ + "/linked is a symbolic link");

  ASSERT_TRUE(state_->WriteFileAtomic("linked", "inside\n").ok());
  EXPECT_EQ(Slurp(target), "outside\n");
  struct stat st;
  ASSERT_EQ(lstat((dir_ + "/linked").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(**state_->ReadFile("linked"), "inside\n");
}

TEST_F(StateFileTest, SymlinkAtTheTemporaryNameIsNotFollowed) {
  std::string target = TmpPath("tmp-link-target");
  Spit(target, "outside\n");
  ASSERT_EQ(symlink(target.c_str(), (dir_ + "/.data.tmp").c_str()), 0);
  ASSERT_TRUE(state_->WriteFileAtomic("data", "new\n").ok());
  EXPECT_EQ(Slurp(target), "outside\n");
  EXPECT_EQ(**state_->ReadFile("data"), "new\n");
}

TEST_F(StateFileTest, StaleTemporaryFileFromACrashIsReplaced) {
  Spit(dir_ + "/.data.tmp", "half-writ");
  ASSERT_TRUE(state_->WriteFileAtomic("data", "whole\n").ok());
  EXPECT_EQ(**state_->ReadFile("data"), "whole\n");
}

TEST_F(StateFileTest, NamesThatAreNotPlainFileNamesAreRefused) {
  for (const char* name : {"", "a/b", "../escape", "/etc/passwd", ".hidden", ".", ".."}) {
    SCOPED_TRACE(name);
    auto read = state_->ReadFile(name);
    ASSERT_FALSE(read.ok());
    EXPECT_TRUE(absl::IsInvalidArgument(read.status())) << read.status();
    EXPECT_MESSAGE_HAS(read.status(), "not a plain file name");
    absl::Status w = state_->WriteFileAtomic(name, "x");
    EXPECT_TRUE(absl::IsInvalidArgument(w)) << w;
  }
  EXPECT_NE(access(TmpPath("escape").c_str(), F_OK), 0);
}

TEST_F(StateFileTest, TheLockAndTheSocketAreNotWrittenAsFiles) {
  for (const char* name : {"agent.lock", "agent.sock"}) {
    absl::Status w = state_->WriteFileAtomic(name, "x");
    EXPECT_TRUE(absl::IsInvalidArgument(w)) << w;
    EXPECT_MESSAGE_HAS(w, dir_ + "/" + name);
  }
  // The lock still holds.
  EXPECT_FALSE(StateDir::Open(dir_).ok());
}

TEST_F(StateFileTest, FileLargerThanTheBoundIsOutOfRange) {
  Spit(dir_ + "/big", std::string(StateDir::kMaxFileSize + 1, 'x'));
  auto read = state_->ReadFile("big");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(absl::IsOutOfRange(read.status())) << read.status();
  EXPECT_MESSAGE_HAS(read.status(), dir_ + "/big is larger than 1048576 bytes");

  Spit(dir_ + "/fits", std::string(StateDir::kMaxFileSize, 'x'));
  auto fits = state_->ReadFile("fits");
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ((*fits)->size(), StateDir::kMaxFileSize);
}

TEST_F(StateFileTest, DirectoryInPlaceOfAFileIsNotRead) {
  ASSERT_EQ(mkdir((dir_ + "/adir").c_str(), 0700), 0);
  auto read = state_->ReadFile("adir");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(read.status())) << read.status();
  EXPECT_MESSAGE_HAS(read.status(), dir_ + "/adir is not a regular file");
}

}  // namespace
}  // namespace hacluster::agent
