#include "agent/node/release_pages.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "agent/media/unique_fd.h"

namespace hacluster::agent {
namespace {

// /proc/self/pagemap: one 64-bit entry per page.
constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kFileOrSharedAnon = uint64_t{1} << 61;
// Entries read per pread.
constexpr size_t kEntriesPerRead = 512;

struct Mapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::string path;
};

absl::Status OsError(absl::string_view what) {
  int err = errno;
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", strerror(err)));
}

absl::StatusOr<std::string> ReadAll(const char* path) {
  media::UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return OsError(absl::StrCat("cannot open ", path));
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return OsError(absl::StrCat("cannot read ", path));
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

// The read-only, file-backed mappings of /proc/self/maps.
std::vector<Mapping> ReadOnlyFileMappings(const std::string& maps) {
  std::vector<Mapping> out;
  for (absl::string_view line : absl::StrSplit(maps, '\n', absl::SkipEmpty())) {
    // start-end perms offset dev inode [path]
    std::string l(line);
    uintptr_t start = 0, end = 0;
    char perms[5] = {};
    unsigned long long inode = 0;
    int path_at = 0;
    if (sscanf(l.c_str(), "%" SCNxPTR "-%" SCNxPTR " %4s %*x %*x:%*x %llu %n", &start, &end,
               perms, &inode, &path_at) < 4) {
      continue;
    }
    const bool readable_or_runnable = perms[0] == 'r' || perms[2] == 'x';
    if (perms[1] == 'w' || !readable_or_runnable || inode == 0) continue;
    std::string path = path_at > 0 ? l.substr(static_cast<size_t>(path_at)) : "";
    // Special mappings ([vdso], ...) and devices are not page-cache files.
    if (path.empty() || path[0] == '[' || path.rfind("/dev/", 0) == 0) continue;
    out.push_back({start, end, std::move(path)});
  }
  return out;
}

}  // namespace

absl::StatusOr<size_t> ReleaseCleanFilePages() {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  absl::StatusOr<std::string> maps = ReadAll("/proc/self/maps");
  if (!maps.ok()) return maps.status();
  media::UniqueFd pagemap(open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return OsError("cannot open /proc/self/pagemap");

  size_t released = 0;
  uint64_t entries[kEntriesPerRead];
  for (const Mapping& m : ReadOnlyFileMappings(*maps)) {
    // Runs of clean file pages are released with one madvise each.
    uintptr_t run_start = 0;
    auto release = [&](uintptr_t run_end) -> absl::Status {
      if (run_start == 0) return absl::OkStatus();
      if (madvise(reinterpret_cast<void*>(run_start), run_end - run_start, MADV_DONTNEED) != 0) {
        return OsError(absl::StrCat("cannot release the pages of ", m.path, ": madvise"));
      }
      released += run_end - run_start;
      run_start = 0;
      return absl::OkStatus();
    };
    for (uintptr_t at = m.start; at < m.end;) {
      const size_t count = std::min<size_t>(kEntriesPerRead, (m.end - at) / page);
      const off_t offset = static_cast<off_t>(at / page * sizeof(uint64_t));
      ssize_t n = pread(pagemap.get(), entries, count * sizeof(uint64_t), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return OsError("cannot read /proc/self/pagemap");
      const size_t got = static_cast<size_t>(n) / sizeof(uint64_t);
      for (size_t i = 0; i < got; ++i, at += page) {
        const bool clean_file_page =
            (entries[i] & kPresent) != 0 && (entries[i] & kFileOrSharedAnon) != 0;
        if (clean_file_page) {
          if (run_start == 0) run_start = at;
        } else if (absl::Status s = release(at); !s.ok()) {
          return s;
        }
      }
    }
    if (absl::Status s = release(m.end); !s.ok()) return s;
  }
  return released;
}

}  // namespace hacluster::agent
