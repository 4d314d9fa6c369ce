// For tests: runs the calling thread inside another network namespace (a
// NetLab host's) for a scope, so that the netlink and packet sockets the code
// under test opens are that host's, and moves it back when the scope ends.
//
// Thread-safety: a ThreadNetns belongs to the thread that made it and must be
// destroyed on that thread.
#ifndef HACLUSTER_AGENT_VIP_THREAD_NETNS_H_
#define HACLUSTER_AGENT_VIP_THREAD_NETNS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/media/unique_fd.h"

namespace hacluster::vip::testing {

class ThreadNetns {
 public:
  // Moves the calling thread into the namespace bound at `netns_path`
  // ("/run/netns/NAME"). Errors name the path and the OS reason.
  static absl::StatusOr<std::unique_ptr<ThreadNetns>> Enter(const std::string& netns_path);

  // Moves the thread back to the namespace it was in; aborts if it cannot
  // (the rest of the test would run in the wrong namespace).
  ~ThreadNetns();
  ThreadNetns(const ThreadNetns&) = delete;
  ThreadNetns& operator=(const ThreadNetns&) = delete;

 private:
  explicit ThreadNetns(media::UniqueFd original) : original_(std::move(original)) {}
  media::UniqueFd original_;
};

}  // namespace hacluster::vip::testing

#endif  // HACLUSTER_AGENT_VIP_THREAD_NETNS_H_
