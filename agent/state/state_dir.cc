#include "agent/state/state_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "migrate/atomic_file.h"

namespace hacluster::agent {
namespace {

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create state directory ", partial, ": ", strerror(errno)));
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("state directory ", path, " is not a directory"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<StateDir>> StateDir::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty state directory path");
  absl::Status s = MakeDirs(path);
  if (!s.ok()) return s;
  std::string lock_path = path + "/agent.lock";
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", lock_path, ": ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state directory ", path, " is in use by another ha-agent (", lock_path,
          " is locked); give each agent its own --state-dir"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot lock ", lock_path, ": ", strerror(err)));
  }
  std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) == 0) {
    (void)!write(fd, pid.data(), pid.size());
  }
  return std::unique_ptr<StateDir>(new StateDir(path, fd));
}

StateDir::~StateDir() { close(lock_fd_); }

absl::StatusOr<uint64_t> StateDir::BumpGeneration() {
  std::string file = path_ + "/generation";
  uint64_t generation = 0;
  std::ifstream in(file);
  if (in) {
    std::stringstream buf;
    buf << in.rdbuf();
    std::string text = buf.str();
    absl::string_view trimmed = absl::StripAsciiWhitespace(text);
    if (!absl::SimpleAtoi(trimmed, &generation)) {
      return absl::DataLossError(absl::StrCat(
          file, " does not hold a generation number (found \"", trimmed.substr(0, 40),
          "\"); remove it to start again from generation 1"));
    }
  } else if (errno != ENOENT) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", file, ": ", strerror(errno)));
  }
  ++generation;
  absl::Status s = migrate::WriteFileAtomically(file, absl::StrCat(generation, "\n"), 0644);
  if (!s.ok()) return s;
  return generation;
}

}  // namespace hacluster::agent
