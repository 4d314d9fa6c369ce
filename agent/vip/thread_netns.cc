#include "agent/vip/thread_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace hacluster::vip::testing {

absl::StatusOr<std::unique_ptr<ThreadNetns>> ThreadNetns::Enter(const std::string& netns_path) {
  media::UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) {
    return absl::ErrnoToStatus(errno, "cannot open /proc/thread-self/ns/net");
  }
  media::UniqueFd target(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!target.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", netns_path));
  if (::setns(target.get(), CLONE_NEWNET) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot enter ", netns_path));
  }
  return std::unique_ptr<ThreadNetns>(new ThreadNetns(std::move(original)));
}

ThreadNetns::~ThreadNetns() {
  if (::setns(original_.get(), CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "cannot return to the test's network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
}

}  // namespace hacluster::vip::testing
