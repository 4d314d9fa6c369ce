#include "migrate/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace hacluster::migrate {

namespace {

namespace fs = std::filesystem;

// Linux's limit on symbolic links followed while resolving one path.
constexpr int kMaxSymlinkHops = 40;

// strerror is not thread-safe; this is (GNU strerror_r).
std::string ErrnoText(int err) {
  char buffer[256];
  return strerror_r(err, buffer, sizeof buffer);
}

absl::Status SysError(absl::string_view what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat("cannot ", what, " ", path, ": ", ErrnoText(err)));
}

// How messages name the target: with the link it was reached through.
std::string Describe(const std::string& target, const std::string& path) {
  return target == path ? path : absl::StrCat(target, " (where ", path, " points)");
}

// The file a write to `path` lands in: `path` with symbolic links at its
// last component followed. NotFound targets are fine (they are created).
absl::StatusOr<std::string> ResolveTarget(const std::string& path) {
  fs::path target = path;
  for (int hops = 0;; ++hops) {
    struct stat st;
    if (lstat(target.c_str(), &st) != 0) {
      if (errno == ENOENT) return target.string();
      return SysError("inspect", target.string(), errno);
    }
    if (S_ISREG(st.st_mode)) return target.string();
    if (!S_ISLNK(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(target.string(), path),
                       " exists and is not a regular file; refusing to replace it"));
    }
    if (hops == kMaxSymlinkHops) {
      return SysError("resolve", path, ELOOP);
    }
    std::error_code ec;
    fs::path link = fs::read_symlink(target, ec);
    if (ec) return SysError("read the symbolic link", target.string(), ec.value());
    target = link.is_absolute() ? link : target.parent_path() / link;
  }
}

// Writes all of `contents` to `fd`, retrying on EINTR and short writes.
int WriteAll(int fd, absl::string_view contents) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("cannot write a file with an empty path");
  absl::StatusOr<std::string> resolved = ResolveTarget(path);
  if (!resolved.ok()) return resolved.status();
  const std::string& target = *resolved;
  const std::string shown = Describe(target, path);
  fs::path target_path = target;
  std::string dir = target_path.parent_path().string();
  if (dir.empty()) dir = ".";
  std::string name = target_path.filename().string();
  if (name.empty() || name == "." || name == "..") {
    return absl::InvalidArgumentError(absl::StrCat(path, " does not name a file"));
  }

  // Hidden, next to the target (rename does not cross file systems).
  std::string tmp_template = (fs::path(dir) / ("." + name + ".tmpXXXXXX")).string();
  std::vector<char> tmp(tmp_template.begin(), tmp_template.end());
  tmp.push_back('\0');
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return SysError("create a temporary file for", shown, errno);
  std::string tmp_path = tmp.data();
  auto fail = [&](absl::string_view what, int err) {
    if (fd >= 0) close(fd);
    unlink(tmp_path.c_str());
    return SysError(what, shown, err);
  };
  if (fchmod(fd, mode & 07777) != 0) return fail("set the mode of", errno);
  if (int err = WriteAll(fd, contents); err != 0) return fail("write", err);
  if (fsync(fd) != 0) return fail("sync", errno);
  int closed = close(fd);
  fd = -1;
  if (closed != 0) return fail("write", errno);
  if (rename(tmp_path.c_str(), target.c_str()) != 0) return fail("replace", errno);

  // Make the rename itself durable. File systems that cannot sync a
  // directory say EINVAL; the file is in place either way.
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return SysError("open the directory of", shown, errno);
  int synced = fsync(dir_fd);
  int err = errno;
  close(dir_fd);
  if (synced != 0 && err != EINVAL) return SysError("sync the directory of", shown, err);
  return absl::OkStatus();
}

}  // namespace hacluster::migrate
