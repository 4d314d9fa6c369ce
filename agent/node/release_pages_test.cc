#include "agent/node/release_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/media/unique_fd.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

constexpr size_t kPages = 16;

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// Whether the page at `p` is mapped in this process, and whether it is the
// file's page (or a private copy), from /proc/self/pagemap.
struct PageState {
  bool present = false;
  bool file = false;
};

PageState StateOf(const void* p) {
  media::UniqueFd fd(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  uint64_t e = 0;
  off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / PageSize() * sizeof(e));
  EXPECT_EQ(pread(fd.get(), &e, sizeof(e), at), static_cast<ssize_t>(sizeof(e)));
  return {(e >> 63 & 1) != 0, (e >> 61 & 1) != 0};
}

class ReleasePagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    path_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/release_pages_", getpid());
    fd_ = media::UniqueFd(open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(fd_.valid());
    for (size_t i = 0; i < kPages; ++i) {
      std::string page(PageSize(), static_cast<char>('a' + i));
      ASSERT_EQ(write(fd_.get(), page.data(), page.size()), static_cast<ssize_t>(page.size()));
    }
  }
  void TearDown() override {
    for (auto [p, len] : mappings_) munmap(p, len);
    unlink(path_.c_str());
  }

  // Maps the file with `prot` (private) and reads every page of it.
  char* MapAndTouch(int prot) {
    void* p = mmap(nullptr, kPages * PageSize(), prot, MAP_PRIVATE, fd_.get(), 0);
    EXPECT_NE(p, MAP_FAILED);
    if (p == MAP_FAILED) return nullptr;
    mappings_.push_back({p, kPages * PageSize()});
    char* c = static_cast<char*>(p);
    volatile char sum = 0;
    for (size_t i = 0; i < kPages; ++i) sum = sum + c[i * PageSize()];
    return c;
  }

  std::string path_;
  media::UniqueFd fd_;
  std::vector<std::pair<void*, size_t>> mappings_;
};

TEST_F(ReleasePagesTest, ReadOnlyFilePagesAreUnmappedAndReadBackIntact) {
  char* p = MapAndTouch(PROT_READ);
  ASSERT_NE(p, nullptr);
  for (size_t i = 0; i < kPages; ++i) ASSERT_TRUE(StateOf(p + i * PageSize()).present);
  absl::StatusOr<size_t> released = ReleaseCleanFilePages();
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_GE(*released, kPages * PageSize());
  for (size_t i = 0; i < kPages; ++i) {
    EXPECT_FALSE(StateOf(p + i * PageSize()).present) << "page " << i;
  }
  // Reading maps the file's page again, with its contents.
  for (size_t i = 0; i < kPages; ++i) {
    EXPECT_EQ(p[i * PageSize() + 7], static_cast<char>('a' + i)) << "page " << i;
    EXPECT_TRUE(StateOf(p + i * PageSize()).present) << "page " << i;
  }
}

TEST_F(ReleasePagesTest, PrivateCopiesOfReadOnlyMappingsKeepTheirContents) {
  // Like relocated read-only data (RELRO): written, then made read-only.
  char* p = MapAndTouch(PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  p[2 * PageSize()] = 'Z';
  ASSERT_EQ(mprotect(p, kPages * PageSize(), PROT_READ), 0);
  ASSERT_FALSE(StateOf(p + 2 * PageSize()).file);
  ASSERT_TRUE(ReleaseCleanFilePages().ok());
  EXPECT_TRUE(StateOf(p + 2 * PageSize()).present);
  EXPECT_EQ(p[2 * PageSize()], 'Z');
  EXPECT_EQ(p[2 * PageSize() + 1], 'c');
  // Its untouched neighbours were the file's and are released.
  EXPECT_FALSE(StateOf(p + 3 * PageSize()).present);
  EXPECT_EQ(p[3 * PageSize()], 'd');
}

TEST_F(ReleasePagesTest, WritableMappingsAndAnonymousMemoryAreLeftAlone) {
  char* writable = MapAndTouch(PROT_READ | PROT_WRITE);
  ASSERT_NE(writable, nullptr);
  void* anon = mmap(nullptr, PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
  ASSERT_NE(anon, MAP_FAILED);
  mappings_.push_back({anon, PageSize()});
  static_cast<char*>(anon)[0] = 'q';
  ASSERT_EQ(mprotect(anon, PageSize(), PROT_READ), 0);
  ASSERT_TRUE(ReleaseCleanFilePages().ok());
  for (size_t i = 0; i < kPages; ++i) {
    EXPECT_TRUE(StateOf(writable + i * PageSize()).present) << "page " << i;
  }
  EXPECT_TRUE(StateOf(anon).present);
  EXPECT_EQ(static_cast<char*>(anon)[0], 'q');
}

TEST_F(ReleasePagesTest, LockedMappingsRefuseAndTheErrorNamesTheFile) {
  char* p = MapAndTouch(PROT_READ);
  ASSERT_NE(p, nullptr);
  if (mlock(p, kPages * PageSize()) != 0) GTEST_SKIP() << "mlock not permitted here";
  absl::StatusOr<size_t> released = ReleaseCleanFilePages();
  munlock(p, kPages * PageSize());
  ASSERT_FALSE(released.ok());
  EXPECT_EQ(released.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(released.status().message(),
            absl::StrCat("cannot release the pages of ", path_, ": madvise: Invalid argument"));
}

}  // namespace
}  // namespace hacluster::agent
