// For tests that need a real L2 segment (bcast, mcast, ICMP to an address
// nobody answers): a private network namespace for the calling thread, with
// veth pairs inside it, that goes away with everything in it.
//
// unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN (root); tests skip with the
// reason when it is refused. Nothing made here is visible outside the
// namespace, and nothing in it routes to the host's interfaces.
//
// Thread-safety: a namespace belongs to the thread that entered it; use it
// from that thread only (GoogleTest runs a test on one thread).
#ifndef HACLUSTER_AGENT_MEDIA_TEST_NETNS_H_
#define HACLUSTER_AGENT_MEDIA_TEST_NETNS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/media/unique_fd.h"

namespace hacluster::media::testing {

class ScopedNetns {
 public:
  // Moves the calling thread into a new network namespace and brings its
  // loopback up. PermissionDenied (with the OS reason) when not allowed.
  static absl::StatusOr<std::unique_ptr<ScopedNetns>> Enter();

  // Moves the thread back to the namespace it came from. The private one
  // vanishes once no socket of it is left open.
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

  // Creates veth pair a <-> b, gives each its address ("192.0.2.1/24", with
  // the subnet's broadcast address unless `broadcast` is false) and brings
  // both up. Returns once both can carry packets: the kernel brings a link
  // up asynchronously, and drops what is sent before it has. Both ends live in
  // this one namespace, so it also sets accept_local (and rp_filter 0) on
  // them: otherwise the kernel drops a packet from one end at the other as
  // coming from one of its own addresses.
  absl::Status AddVethPair(const std::string& a, const std::string& a_address,
                           const std::string& b, const std::string& b_address,
                           bool broadcast = true);

 private:
  explicit ScopedNetns(UniqueFd original) : original_(std::move(original)) {}
  UniqueFd original_;
};

// Runs ip(8) with `args` (no shell), waiting at most 10 s; returns what it
// printed. The error quotes the command and what it printed.
absl::StatusOr<std::string> RunIp(const std::vector<std::string>& args);

// Writes `value` to a /proc/sys file of the current namespace.
absl::Status WriteSysctl(const std::string& path, const std::string& value);

}  // namespace hacluster::media::testing

#endif  // HACLUSTER_AGENT_MEDIA_TEST_NETNS_H_
