// ICMP echo for the ping nodes and ping groups that give each node its
// connectivity score (Heartbeat's `ping` and `ping_group`, what ipfail
// decides on). The event loop calls SendEcho() for each host at its own
// pace and Receive() when fd() is readable; it keeps the timing (deadping)
// itself. Nothing here blocks.
//
// Echo requests carry an identifier and a random cookie of this Pinger, so
// replies to other programs' pings (or to another agent's, on the same
// host) are not counted. IPv4 always; IPv6 when the host has it.
//
// Sockets: raw ICMP sockets when the process may open them (root or
// CAP_NET_RAW), else the kernel's unprivileged ICMP datagram sockets (which
// net.ipv4.ping_group_range must allow).
//
// Thread-safety: not synchronised; owned by the event loop thread.
#ifndef HACLUSTER_AGENT_PING_PINGER_H_
#define HACLUSTER_AGENT_PING_PINGER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/media/net_address.h"
#include "agent/media/unique_fd.h"

namespace hacluster::ping {

class Pinger {
 public:
  // SOCK_RAW IPPROTO_ICMP (root); falls back to SOCK_DGRAM ICMP. The error
  // says why neither could be opened.
  static absl::StatusOr<std::unique_ptr<Pinger>> Open();
  // Only the unprivileged datagram sockets, as a process without
  // CAP_NET_RAW gets them.
  static absl::StatusOr<std::unique_ptr<Pinger>> OpenDatagramForTest();

  Pinger(const Pinger&) = delete;
  Pinger& operator=(const Pinger&) = delete;
  ~Pinger() = default;

  // Readable when a reply may be pending: an epoll instance over the IPv4 and
  // IPv6 sockets (level-triggered; non-blocking, close-on-exec).
  int fd() const { return epoll_.get(); }

  // Whether raw sockets are in use (false: the datagram fallback).
  bool uses_raw_sockets() const { return raw_; }

  // Sends one echo request to `host`, a numeric IPv4 or IPv6 address
  // ("192.0.2.1", "2001:db8::1", "fe80::1%eth0"). Sequence numbers and the
  // identifier are our own. InvalidArgument for a host that is not numeric;
  // the OS error (e.g. "Network is unreachable") when the send fails.
  absl::Status SendEcho(absl::string_view host);

  // Reads the pending replies, without blocking, and calls on_reply(host)
  // for each echo reply to one of our requests; `host` is spelt as it was
  // given to SendEcho. Reads a bounded batch per call.
  absl::Status Receive(absl::FunctionRef<void(absl::string_view host)> on_reply);

 private:
  struct Host {
    media::SocketAddress address;
    std::string spelling;
  };

  // Raw sockets when `try_raw` and permitted, else datagram sockets.
  static absl::StatusOr<std::unique_ptr<Pinger>> OpenSockets(bool try_raw);
  Pinger(bool raw, media::UniqueFd v4, media::UniqueFd v6, std::string v6_error,
         media::UniqueFd epoll);
  absl::Status ReceiveFrom(int family, absl::FunctionRef<void(absl::string_view host)> on_reply);
  const Host* FindHost(const media::SocketAddress& address) const;

  const bool raw_;
  media::UniqueFd v4_;
  media::UniqueFd v6_;
  const std::string v6_error_;  // why there is no IPv6 socket
  media::UniqueFd epoll_;
  uint16_t identifier_ = 0;
  uint16_t sequence_ = 0;
  std::array<unsigned char, 8> cookie_{};
  std::vector<Host> hosts_;  // every host pinged, to match replies
};

}  // namespace hacluster::ping

#endif  // HACLUSTER_AGENT_PING_PINGER_H_
