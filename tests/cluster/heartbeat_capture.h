// HeartbeatCapture: records the heartbeat frames (UDP payloads to one port)
// that arrive in a network namespace from given sources, so a test can send
// them again later (replay tests: safety_test, fault_matrix_test).
//
// Thread-safety: records on a thread of its own; Frames() and CountFrom()
// from any thread; Start, Stop and destruction from one thread.
#ifndef HACLUSTER_TESTS_CLUSTER_HEARTBEAT_CAPTURE_H_
#define HACLUSTER_TESTS_CLUSTER_HEARTBEAT_CAPTURE_H_

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/core/clock.h"
#include "tests/cluster/vip_probe.h"

namespace hacluster::testing {

using agent::MonotonicNow;

struct CapturedFrame {
  std::string source;   // the sender's IPv4 address
  std::string payload;  // the UDP payload: the signed frame
  MonoTime at;
};

// Records the UDP payloads to `port` that arrive in the namespace at
// `netns_path` from one of `sources`, on every interface of it (an AF_PACKET
// socket, cooked: IP packets without their link header). Bounded: it stops
// by itself after `max_frames` frames or 60 s. Thread-safety: Frames() from
// any thread; Stop and destruction from the thread that started it.
class HeartbeatCapture {
 public:
  static absl::StatusOr<std::unique_ptr<HeartbeatCapture>> Start(
      const std::string& netns_path, std::set<std::string> sources, int port,
      size_t max_frames) {
    absl::StatusOr<int> fd =
        OpenSocketInNetns(netns_path, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (!fd.ok()) return fd.status();
    std::unique_ptr<HeartbeatCapture> c(
        new HeartbeatCapture(*fd, std::move(sources), port, max_frames));
    c->thread_ = std::thread([p = c.get()] { p->Loop(); });
    return c;
  }
  ~HeartbeatCapture() {
    Stop();
    close(fd_);
  }
  HeartbeatCapture(const HeartbeatCapture&) = delete;
  HeartbeatCapture& operator=(const HeartbeatCapture&) = delete;

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<CapturedFrame> Frames() const {
    absl::MutexLock lock(&mu_);
    return frames_;
  }
  size_t CountFrom(const std::string& source) const {
    absl::MutexLock lock(&mu_);
    return std::count_if(frames_.begin(), frames_.end(),
                         [&](const CapturedFrame& f) { return f.source == source; });
  }

 private:
  HeartbeatCapture(int fd, std::set<std::string> sources, int port, size_t max_frames)
      : fd_(fd), sources_(std::move(sources)), port_(port), max_frames_(max_frames) {}

  void Loop() {
    const MonoTime end = MonotonicNow() + absl::Seconds(60);
    unsigned char buf[2048];
    while (!stop_.load() && MonotonicNow() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      sockaddr_ll from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = recvfrom(fd_, buf, sizeof(buf), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
      // IPv4, UDP, not a fragment.
      if (n < 28 || (buf[0] >> 4) != 4 || buf[9] != IPPROTO_UDP) continue;
      const size_t ihl = (buf[0] & 0x0f) * 4u;
      if ((((buf[6] & 0x3f) << 8) | buf[7]) != 0 || static_cast<size_t>(n) < ihl + 8) continue;
      const int dport = (buf[ihl + 2] << 8) | buf[ihl + 3];
      const size_t udp_len = (buf[ihl + 4] << 8) | buf[ihl + 5];
      if (dport != port_ || udp_len < 8 || ihl + udp_len > static_cast<size_t>(n)) continue;
      char src[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, buf + 12, src, sizeof(src));
      if (sources_.count(src) == 0) continue;
      absl::MutexLock lock(&mu_);
      frames_.push_back(CapturedFrame{
          src, std::string(reinterpret_cast<const char*>(buf + ihl + 8), udp_len - 8),
          MonotonicNow()});
      if (frames_.size() >= max_frames_) break;
    }
  }

  const int fd_;
  const std::set<std::string> sources_;
  const int port_;
  const size_t max_frames_;
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::vector<CapturedFrame> frames_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_HEARTBEAT_CAPTURE_H_
