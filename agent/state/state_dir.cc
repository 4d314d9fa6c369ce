#include "agent/state/state_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace hacluster::agent {
namespace {

constexpr char kLockName[] = "agent.lock";
constexpr char kSocketName[] = "agent.sock";
constexpr char kGenerationName[] = "generation";

// Closes a descriptor on scope exit unless released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// "root (uid 0)", or "uid 65534" for a uid with no passwd entry.
std::string UserName(uid_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return absl::StrCat(found->pw_name, " (uid ", uid, ")");
  }
  return absl::StrCat("uid ", uid);
}

// The name chown takes for `uid`.
std::string ChownName(uid_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return absl::StrCat(uid);
}

std::string Mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string Errno(int err) { return strerror(err); }

// A directory of the agent's: a directory, owned by the effective user,
// not writable by group or others.
absl::Status CheckOwnDirectory(const std::string& dir, const struct stat& st) {
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("state directory ", dir, " is not a directory"));
  }
  uid_t euid = geteuid();
  if (st.st_uid != euid) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state directory ", dir, " is owned by ", UserName(st.st_uid), " (mode ",
        Mode(st.st_mode), "), not by ", UserName(euid),
        ", the user ha-agent runs as: another user could replace the agent's files there; run "
        "'chown ", ChownName(euid), " ", dir, "' or give --state-dir a directory of its own"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state directory ", dir, " (owner ", ChownName(st.st_uid), ", mode ", Mode(st.st_mode),
        ") is writable by ", (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
        ": another user could replace the agent's files there; run 'chmod go-w ", dir,
        "'"));
  }
  return absl::OkStatus();
}

// Creates `path` and its missing parents (mode 0750); returns the
// directories it created, parents first.
absl::StatusOr<std::vector<std::string>> MakeDirs(const std::string& path) {
  std::vector<std::string> created;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0750) == 0) {
      created.push_back(partial);
    } else if (errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create state directory ", partial, ": ", Errno(errno)));
    }
  }
  return created;
}

// What is wrong with an opened file of the state directory, if anything:
// it must be a regular file of the effective user with a single link (a
// hard link to another file would make the agent write that file).
absl::Status CheckOwnFile(int fd, const std::string& file) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot stat ", file, ": ", Errno(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(file, " is not a regular file: remove it; the agent makes it anew"));
  }
  uid_t euid = geteuid();
  if (st.st_uid != euid) {
    return absl::FailedPreconditionError(absl::StrCat(
        file, " is owned by ", UserName(st.st_uid), ", not by ", UserName(euid),
        ", the user ha-agent runs as: remove it; the agent makes it anew"));
  }
  if (st.st_nlink > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        file, " has ", st.st_nlink,
        " hard links, so writing it would change another file too: remove it; the agent "
        "makes it anew"));
  }
  return absl::OkStatus();
}

// The error for a failed openat of `file` with O_NOFOLLOW.
absl::Status OpenError(int err, const std::string& file) {
  if (err == ELOOP) {
    return absl::FailedPreconditionError(absl::StrCat(
        file, " is a symbolic link; ha-agent does not follow links in its state directory: "
              "remove it; the agent makes the file anew"));
  }
  return absl::FailedPreconditionError(absl::StrCat("cannot open ", file, ": ", Errno(err)));
}

absl::Status CheckName(absl::string_view name) {
  if (name.empty() || name.find('/') != absl::string_view::npos || name.front() == '.' ||
      name.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", name, "' is not a plain file name for the state directory (no '/', not "
                   "empty, not starting with '.')"));
  }
  return absl::OkStatus();
}

// write(2) until done or an error.
bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateDir>> StateDir::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty state directory path");
  absl::StatusOr<std::vector<std::string>> created = MakeDirs(path);
  if (!created.ok()) return created.status();
  // Parents made here are checked too: a default ACL or setgid parent can
  // make them group-writable whatever mode mkdir asked for.
  for (const std::string& dir : *created) {
    if (dir == path) continue;  // checked below, by descriptor
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot stat state directory ", dir, ": ", Errno(errno)));
    }
    absl::Status s = CheckOwnDirectory(dir, st);
    if (!s.ok()) return s;
  }
  int raw_dir_fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw_dir_fd < 0) {
    int err = errno;
    if (err == ENOTDIR) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", path, " is not a directory"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open state directory ", path, ": ", Errno(err)));
  }
  FdCloser dir_fd(raw_dir_fd);
  struct stat st;
  if (fstat(dir_fd.get(), &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat state directory ", path, ": ", Errno(errno)));
  }
  absl::Status s = CheckOwnDirectory(path, st);
  if (!s.ok()) return s;

  std::string lock_path = absl::StrCat(path, "/", kLockName);
  FdCloser lock_fd(openat(dir_fd.get(), kLockName,
                          O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640));
  if (lock_fd.get() < 0) return OpenError(errno, lock_path);
  s = CheckOwnFile(lock_fd.get(), lock_path);
  if (!s.ok()) return s;
  if (flock(lock_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state directory ", path, " is in use by another ha-agent (", lock_path,
          " is locked); give each agent its own --state-dir"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot lock ", lock_path, ": ", Errno(err)));
  }
  std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(lock_fd.get(), 0) == 0) {
    (void)!pwrite(lock_fd.get(), pid.data(), pid.size(), 0);
  }
  int raw_lock_fd = lock_fd.release();
  return std::unique_ptr<StateDir>(new StateDir(path, dir_fd.release(), raw_lock_fd));
}

StateDir::~StateDir() {
  close(lock_fd_);
  close(dir_fd_);
}

std::string StateDir::FilePath(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

absl::StatusOr<std::optional<std::string>> StateDir::ReadFile(absl::string_view name) const {
  absl::Status s = CheckName(name);
  if (!s.ok()) return s;
  std::string file = FilePath(name);
  FdCloser fd(openat(dir_fd_, std::string(name).c_str(),
                     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    return OpenError(errno, file);
  }
  s = CheckOwnFile(fd.get(), file);
  if (!s.ok()) return s;
  std::string contents;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read ", file, ": ", Errno(errno)));
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
    if (contents.size() > kMaxFileSize) {
      return absl::OutOfRangeError(absl::StrCat(file, " is larger than ", kMaxFileSize,
                                                " bytes, more than the agent ever writes "
                                                "there: remove it"));
    }
  }
  return contents;
}

absl::Status StateDir::WriteFileAtomic(absl::string_view name, absl::string_view contents) {
  absl::Status s = CheckName(name);
  if (!s.ok()) return s;
  if (name == kLockName || name == kSocketName) {
    return absl::InvalidArgumentError(
        absl::StrCat(FilePath(name), " is the agent's own; it is not written as a file"));
  }
  std::string file = FilePath(name);
  std::string tmp_name = absl::StrCat(".", name, ".tmp");
  std::string tmp = FilePath(tmp_name);
  // A temporary file left by a crash; the directory is the agent's alone.
  if (unlinkat(dir_fd_, tmp_name.c_str(), 0) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove the stale ", tmp, ": ", Errno(errno)));
  }
  int raw = openat(dir_fd_, tmp_name.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw < 0) return OpenError(errno, tmp);
  auto fail = [&](const std::string& what, int err) {
    close(raw);
    unlinkat(dir_fd_, tmp_name.c_str(), 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", file, ": ", what, " ", tmp, ": ", Errno(err)));
  };
  if (fchmod(raw, 0600) != 0) return fail("fchmod", errno);
  if (!WriteAll(raw, contents)) return fail("write", errno == 0 ? EIO : errno);
  if (fsync(raw) != 0) return fail("fsync", errno);
  if (close(raw) != 0) {
    int err = errno;
    unlinkat(dir_fd_, tmp_name.c_str(), 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", file, ": close ", tmp, ": ", Errno(err)));
  }
  if (renameat(dir_fd_, tmp_name.c_str(), dir_fd_, std::string(name).c_str()) != 0) {
    int err = errno;
    unlinkat(dir_fd_, tmp_name.c_str(), 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot rename ", tmp, " to ", file, ": ", Errno(err)));
  }
  if (fsync(dir_fd_) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot fsync state directory ", path_, " after writing ", file, ": ",
                     Errno(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StateDir::BumpGeneration(uint64_t at_least) {
  std::string file = FilePath(kGenerationName);
  absl::StatusOr<std::optional<std::string>> text = ReadFile(kGenerationName);
  if (!text.ok()) return text.status();
  uint64_t generation = 0;
  if (text->has_value()) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(**text);
    bool digits = !trimmed.empty() && trimmed.size() <= 20 &&
                  std::all_of(trimmed.begin(), trimmed.end(),
                              [](char c) { return absl::ascii_isdigit(c); });
    if (!digits) {
      return absl::DataLossError(absl::StrCat(
          file, " does not hold a generation number (found \"", trimmed.substr(0, 40),
          "\"); remove it to start again from generation 1"));
    }
    if (!absl::SimpleAtoi(trimmed, &generation) || generation >= kMaxGeneration) {
      return absl::DataLossError(absl::StrCat(
          file, " holds generation ", trimmed, ", out of range: it must be below ",
          kMaxGeneration, " so that the next start's generation fits; remove it to start "
                          "again from generation 1"));
    }
  }
  ++generation;
  if (at_least < kMaxGeneration) generation = std::max(generation, at_least);
  absl::Status s = WriteFileAtomic(kGenerationName, absl::StrCat(generation, "\n"));
  if (!s.ok()) return s;
  return generation;
}

}  // namespace hacluster::agent
