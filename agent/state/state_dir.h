// The agent's state directory (--state-dir, default /var/lib/ha-agent):
// created if missing (mode 0750), locked so two agents never share it, the
// home of the node generation and of small files other parts of the agent
// keep across restarts.
//
// The agent runs as root, so the directory must be the agent's alone:
// Open refuses a directory (and any parent it had to create) that is not
// owned by the agent's effective user or that group or others can write,
// and every file in it is opened without following symbolic links
// (O_NOFOLLOW) and must be a regular file of that user with one link.
// Otherwise another local user could make the agent truncate or overwrite
// any file by leaving a link there. Parents that already existed are not
// checked (/tmp is world-writable and fine as a parent). A state directory
// reached through a symbolic link is allowed; the checks apply to the
// directory it leads to, which is opened once and used by descriptor.
//
// The generation is a decimal number in STATE_DIR/generation, incremented
// and written back (atomically, fsynced) at every start, so peers notice a
// node that restarted even within deadtime. It never exceeds
// kMaxGeneration (2^63 - 1, so it fits a signed 64-bit field too).
//
// Errors name the file or directory and what to do about it.
//
// Thread-safety: Open and BumpGeneration are for the agent's start-up
// thread. ReadFile and WriteFileAtomic may be called from any one thread
// at a time per file name (calls for different names may run at once;
// concurrent writes of the same name are not allowed). The lock lasts as
// long as the object.
#ifndef HACLUSTER_AGENT_STATE_STATE_DIR_H_
#define HACLUSTER_AGENT_STATE_STATE_DIR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hacluster::agent {

class StateDir {
 public:
  // The largest generation BumpGeneration returns; a stored generation of
  // this value or more is refused rather than wrapped.
  static constexpr uint64_t kMaxGeneration = (uint64_t{1} << 63) - 1;
  // The largest file ReadFile reads.
  static constexpr size_t kMaxFileSize = size_t{1} << 20;  // 1 MiB

  // Creates the directory if needed (mode 0750, parents too), checks its
  // owner and mode, and takes an exclusive lock on STATE_DIR/agent.lock.
  // FailedPrecondition, naming the directory or file, when another agent
  // holds the lock, the directory can't be made, is not the agent user's
  // or is writable by group or others, or agent.lock is a symbolic link
  // or not a regular file of the agent's user.
  static absl::StatusOr<std::unique_ptr<StateDir>> Open(const std::string& path);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const std::string& path() const { return path_; }

  // Reads the stored generation (0 when there is none), stores it + 1 (or
  // `at_least` when that is more) and returns the new value. DataLoss
  // naming the file when it does not hold a decimal number below
  // kMaxGeneration; ReadFile's and WriteFileAtomic's errors otherwise.
  absl::StatusOr<uint64_t> BumpGeneration(uint64_t at_least = 0);

  // The contents of STATE_DIR/NAME, or nullopt when there is no such file.
  // `name` is a plain file name: not empty, no '/', not starting with '.'
  // (InvalidArgument otherwise). FailedPrecondition when the file is a
  // symbolic link (not followed), not a regular file, not the agent
  // user's or has more than one link; OutOfRange when it is larger than
  // kMaxFileSize.
  absl::StatusOr<std::optional<std::string>> ReadFile(absl::string_view name) const;

  // Replaces STATE_DIR/NAME with `contents`, atomically: a new file
  // STATE_DIR/.NAME.tmp (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) is written,
  // fsynced and renamed over NAME, then the directory is fsynced. Readers
  // and a crash see the old contents or the new, never a mix. A symbolic
  // link at NAME is replaced, not followed. `name` as for ReadFile, and
  // not agent.lock or agent.sock; on failure NAME is unchanged and the
  // temporary file is removed.
  absl::Status WriteFileAtomic(absl::string_view name, absl::string_view contents);

 private:
  StateDir(std::string path, int dir_fd, int lock_fd)
      : path_(std::move(path)), dir_fd_(dir_fd), lock_fd_(lock_fd) {}
  std::string FilePath(absl::string_view name) const;

  std::string path_;
  int dir_fd_;   // the directory, opened once: files are opened relative to it
  int lock_fd_;  // agent.lock, flock'ed
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_STATE_STATE_DIR_H_
