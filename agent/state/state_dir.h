// The agent's state directory (--state-dir, default /var/lib/ha-agent):
// created if missing (mode 0750), locked so two agents never share it, and
// the home of the node generation.
//
// The generation is a decimal number in STATE_DIR/generation, incremented
// and written back (atomically, fsynced) at every start, so peers notice a
// node that restarted even within deadtime.
//
// Thread-safety: a StateDir is used by the agent's start-up thread only;
// the lock it holds lasts as long as the object.
#ifndef HACLUSTER_AGENT_STATE_STATE_DIR_H_
#define HACLUSTER_AGENT_STATE_STATE_DIR_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace hacluster::agent {

class StateDir {
 public:
  // Creates the directory if needed and takes an exclusive lock on
  // STATE_DIR/agent.lock. Fails, naming the directory, when another agent
  // holds the lock or the directory can't be made.
  static absl::StatusOr<std::unique_ptr<StateDir>> Open(const std::string& path);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const std::string& path() const { return path_; }

  // Reads the stored generation (0 when there is none), stores it + 1 and
  // returns the new value. A corrupt file is an error naming it.
  absl::StatusOr<uint64_t> BumpGeneration();

 private:
  StateDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::string path_;
  int lock_fd_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_STATE_STATE_DIR_H_
