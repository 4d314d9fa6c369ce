// WriteNewFiles in a scratch directory: modes, refusals, links, and what is
// left when one file of a set cannot be put in place.
#include "cli/new_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class NewFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/new-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    key_ = dir_ + "/a.key";
    cert_ = dir_ + "/a.crt";
  }
  std::vector<NewFile> Pair() const {
    return {{key_, "secret\n", 0600}, {cert_, "public\n", 0644}};
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static mode_t Mode(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir_, key_, cert_;
};

TEST_F(NewFilesTest, WritesEachFileWithItsModeWhateverTheUmask) {
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
    mode_t old = umask(mask);
    absl::Status written = WriteNewFiles(Pair(), /*replace=*/true);
    umask(old);
    ASSERT_TRUE(written.ok()) << written;
    EXPECT_EQ(Read(key_), "secret\n");
    EXPECT_EQ(Read(cert_), "public\n");
    EXPECT_EQ(Mode(key_), 0600u) << "umask " << mask;
    EXPECT_EQ(Mode(cert_), 0644u) << "umask " << mask;
  }
  EXPECT_EQ(Names(), (std::vector<std::string>{"a.crt", "a.key"}));
}

TEST_F(NewFilesTest, RefusesAnExistingFileBeforeWritingAny) {
  std::ofstream(cert_) << "old\n";
  absl::Status written = WriteNewFiles(Pair(), /*replace=*/false);
  EXPECT_EQ(written.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(written.message(), cert_ + " already exists");
  EXPECT_EQ(Read(cert_), "old\n");
  EXPECT_EQ(Names(), std::vector<std::string>{"a.crt"});
}

TEST_F(NewFilesTest, ReplacesWhenAsked) {
  std::ofstream(key_) << "old\n";
  ASSERT_TRUE(WriteNewFiles(Pair(), /*replace=*/true).ok());
  EXPECT_EQ(Read(key_), "secret\n");
}

TEST_F(NewFilesTest, ReplacesASymbolicLinkRatherThanItsTarget) {
  std::string target = dir_ + "/target";
  std::ofstream(target) << "target\n";
  ASSERT_EQ(symlink(target.c_str(), key_.c_str()), 0);
  EXPECT_EQ(WriteNewFiles(Pair(), /*replace=*/false).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(WriteNewFiles(Pair(), /*replace=*/true).ok());
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(key_)));
  EXPECT_EQ(Read(target), "target\n");
}

TEST_F(NewFilesTest, LeavesNoFileOfTheSetWhenOneCannotBePutInPlace) {
  ASSERT_EQ(mkdir(cert_.c_str(), 0755), 0);  // a rename cannot replace it
  absl::Status written = WriteNewFiles(Pair(), /*replace=*/true);
  EXPECT_EQ(written.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(written.message()), HasSubstr("cannot put in place " + cert_));
  EXPECT_EQ(Names(), std::vector<std::string>{"a.crt"});  // the directory; no key, no temp
}

TEST_F(NewFilesTest, NamesTheFileWhenItsDirectoryIsMissing) {
  std::vector<NewFile> files = {{dir_ + "/no/such/dir/x.key", "k", 0600}};
  absl::Status written = WriteNewFiles(files, /*replace=*/false);
  EXPECT_EQ(written.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(written.message()), HasSubstr(dir_ + "/no/such/dir/x.key"));
}

}  // namespace
}  // namespace hacluster::cli
