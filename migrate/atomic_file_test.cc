#include "migrate/atomic_file.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

mode_t Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The names in `dir`: what a failed or finished write must leave there.
std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename());
  return names;
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestTmp() + "/atomic/" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string dir_;
};

TEST_F(AtomicFileTest, WritesANewFileWithTheMode) {
  std::string path = dir_ + "/authkeys";
  mode_t old_umask = umask(0077);  // the mode is set explicitly, not via umask
  absl::Status s = WriteFileAtomically(path, "auth 1\n1 crc\n", 0644);
  umask(old_umask);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Read(path), "auth 1\n1 crc\n");
  EXPECT_EQ(Mode(path), 0644u);
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"authkeys"}));
}

TEST_F(AtomicFileTest, ReplacesAnExistingFileAndItsMode) {
  std::string path = dir_ + "/authkeys";
  std::ofstream(path) << "a much longer old text than the new one\n";
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  struct stat before;
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  const ino_t old_inode = before.st_ino;
  ASSERT_TRUE(WriteFileAtomically(path, "new\n", 0600).ok());
  EXPECT_EQ(Read(path), "new\n");
  EXPECT_EQ(Mode(path), 0600u);
  struct stat after;
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_NE(after.st_ino, old_inode);  // a new file renamed over, not rewritten
  ASSERT_TRUE(WriteFileAtomically(path, "", 0644).ok());
  EXPECT_EQ(Read(path), "");
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"authkeys"}));
}

TEST_F(AtomicFileTest, SymbolicLinkIsWrittenThroughAndStays) {
  fs::create_directories(dir_ + "/real");
  std::ofstream(dir_ + "/real/ha.cf") << "old\n";
  // ha.cf -> link2 -> real/ha.cf, both relative.
  fs::create_symlink("real/ha.cf", dir_ + "/link2");
  fs::create_symlink("link2", dir_ + "/ha.cf");
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/ha.cf", "new\n", 0640).ok());
  EXPECT_TRUE(fs::is_symlink(dir_ + "/ha.cf"));
  EXPECT_TRUE(fs::is_symlink(dir_ + "/link2"));
  EXPECT_EQ(Read(dir_ + "/real/ha.cf"), "new\n");
  EXPECT_EQ(Mode(dir_ + "/real/ha.cf"), 0640u);
  EXPECT_EQ(Names(dir_ + "/real"), (std::set<std::string>{"ha.cf"}));
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"ha.cf", "link2", "real"}));
}

TEST_F(AtomicFileTest, DanglingSymbolicLinkCreatesItsTarget) {
  fs::create_symlink(dir_ + "/target", dir_ + "/link");  // absolute
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/link", "x", 0644).ok());
  EXPECT_TRUE(fs::is_symlink(dir_ + "/link"));
  EXPECT_EQ(Read(dir_ + "/target"), "x");
}

TEST_F(AtomicFileTest, SymbolicLinkLoopIsAnError) {
  fs::create_symlink("b", dir_ + "/a");
  fs::create_symlink("a", dir_ + "/b");
  absl::Status s = WriteFileAtomically(dir_ + "/a", "x", 0644);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(),
            "cannot resolve " + dir_ + "/a: Too many levels of symbolic links");
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"a", "b"}));
}

TEST_F(AtomicFileTest, DirectoryTargetIsRefusedNamingIt) {
  fs::create_directories(dir_ + "/haresources");
  absl::Status s = WriteFileAtomically(dir_ + "/haresources", "x", 0644);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), dir_ + "/haresources exists and is not a regular file; refusing "
                                "to replace it");
  EXPECT_TRUE(fs::is_directory(dir_ + "/haresources"));
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"haresources"}));
}

TEST_F(AtomicFileTest, FifoBehindASymbolicLinkIsRefusedNamingBoth) {
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0644), 0);
  fs::create_symlink("fifo", dir_ + "/ha.cf");
  absl::Status s = WriteFileAtomically(dir_ + "/ha.cf", "x", 0644);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), dir_ + "/fifo (where " + dir_ + "/ha.cf points) exists and is not "
                         "a regular file; refusing to replace it");
}

TEST_F(AtomicFileTest, MissingDirectoryIsAnErrorWithStrerror) {
  absl::Status s = WriteFileAtomically(dir_ + "/no/such/file", "x", 0644);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "cannot create a temporary file for " + dir_ +
                             "/no/such/file: No such file or directory");
}

// A write that fails after the temporary file exists (here: the file size
// limit) leaves the old file as it was and no temporary file behind.
TEST_F(AtomicFileTest, FailedWriteLeavesTheOldFileAndNoTemporaryFile) {
  std::string path = dir_ + "/ha.cf";
  std::ofstream(path) << "old\n";
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = saved;
  small.rlim_cur = 1024;
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  absl::Status s = WriteFileAtomically(path, std::string(4096, 'x'), 0644);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, old_handler);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s.message(), "cannot write " + path + ": File too large");
  EXPECT_EQ(Read(path), "old\n");
  EXPECT_EQ(Names(dir_), (std::set<std::string>{"ha.cf"}));
}

}  // namespace
}  // namespace hacluster::migrate
