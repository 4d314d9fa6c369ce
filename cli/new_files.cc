#include "cli/new_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"

namespace hacluster::cli {
namespace {

// strerror is not thread-safe; this is (GNU strerror_r).
std::string ErrnoText(int err) {
  char buffer[256];
  return strerror_r(err, buffer, sizeof buffer);
}

absl::Status SysError(absl::string_view what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat("cannot ", what, " ", path, ": ", ErrnoText(err)));
}

std::string DirOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

// A hidden name next to `path` that no one else uses: the process id and a
// random number, and O_EXCL to be sure.
std::string TempName(const std::string& path, std::random_device& random) {
  std::filesystem::path p(path);
  std::string name = absl::StrCat(".", p.filename().string(), ".tmp-", getpid(), "-", random());
  return (p.parent_path() / name).string();
}

int WriteAll(int fd, const std::string& contents) {
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// Creates `tmp` with `file`'s contents and mode, synced to disk. On failure
// `tmp` does not exist.
absl::Status WriteTemp(const NewFile& file, const std::string& tmp) {
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                file.mode & 07777);
  if (fd < 0) return SysError("create a temporary file for", file.path, errno);
  int err = 0;
  // Only a file meant for others is widened past the umask; a private one
  // keeps the mode it was created with.
  if ((file.mode & 077) != 0 && fchmod(fd, file.mode & 07777) != 0) err = errno;
  if (err == 0) err = WriteAll(fd, file.contents);
  if (err == 0 && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    unlink(tmp.c_str());
    return SysError("write", file.path, err);
  }
  return absl::OkStatus();
}

// rename(2), or one that fails with EEXIST rather than replace a file.
int MoveIntoPlace(const std::string& tmp, const std::string& path, bool replace) {
  if (replace) return rename(tmp.c_str(), path.c_str()) == 0 ? 0 : errno;
  if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  // A file system without RENAME_NOREPLACE: link(2) never replaces either.
  if (link(tmp.c_str(), path.c_str()) != 0) return errno;
  unlink(tmp.c_str());
  return 0;
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError("open the directory", dir, errno);
  int synced = fsync(fd);
  int err = errno;
  close(fd);
  // File systems that cannot sync a directory say EINVAL; the files are
  // in place either way.
  if (synced != 0 && err != EINVAL) return SysError("sync the directory", dir, err);
  return absl::OkStatus();
}

void RemoveAll(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) unlink(path.c_str());
}

}  // namespace

absl::Status WriteNewFiles(const std::vector<NewFile>& files, bool replace) {
  for (const NewFile& file : files) {
    struct stat st;
    if (!replace && lstat(file.path.c_str(), &st) == 0) {
      return absl::AlreadyExistsError(absl::StrCat(file.path, " already exists"));
    }
  }
  std::random_device random;
  std::vector<std::string> temps;
  for (const NewFile& file : files) {
    std::string tmp = TempName(file.path, random);
    absl::Status written = WriteTemp(file, tmp);
    if (!written.ok()) {
      RemoveAll(temps);
      return written;
    }
    temps.push_back(tmp);
  }
  std::vector<std::string> placed;
  for (size_t i = 0; i < files.size(); ++i) {
    if (int err = MoveIntoPlace(temps[i], files[i].path, replace); err != 0) {
      RemoveAll({temps.begin() + i, temps.end()});
      RemoveAll(placed);  // never half of a set
      if (err == EEXIST) {
        return absl::AlreadyExistsError(absl::StrCat(files[i].path, " already exists"));
      }
      return SysError("put in place", files[i].path, err);
    }
    placed.push_back(files[i].path);
  }
  std::set<std::string> dirs;
  for (const NewFile& file : files) dirs.insert(DirOf(file.path));
  for (const std::string& dir : dirs) {
    absl::Status synced = SyncDirectory(dir);
    if (!synced.ok()) {
      RemoveAll(placed);  // the caller is told they were not written
      return synced;
    }
  }
  return absl::OkStatus();
}

}  // namespace hacluster::cli
