#include "agent/ping/pinger.h"

#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hacluster::ping {
namespace {

using media::SocketAddress;
using media::UniqueFd;

// ICMP echo header (type, code, checksum, identifier, sequence) and cookie.
constexpr size_t kHeaderSize = 8;
constexpr size_t kCookieSize = 8;
constexpr size_t kEchoSize = kHeaderSize + kCookieSize;
constexpr uint8_t kEchoRequestV4 = 8;
constexpr uint8_t kEchoReplyV4 = 0;
constexpr uint8_t kEchoRequestV6 = 128;
constexpr uint8_t kEchoReplyV6 = 129;
// Replies read per socket per Receive() call at most.
constexpr int kMaxRepliesPerReceive = 256;
// Distinct hosts remembered for matching replies.
constexpr size_t kMaxHosts = 1024;

uint16_t Checksum(const unsigned char* data, size_t size) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < size; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (size % 2 == 1) sum += static_cast<uint32_t>(data[size - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct Socket {
  UniqueFd fd;
  int error = 0;  // errno when fd is not valid
};

Socket OpenIcmp(int family, int type) {
  int protocol = family == AF_INET ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  Socket s;
  s.fd.reset(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!s.fd.valid()) s.error = errno;
  return s;
}

// On a raw socket, the kernel hands over every ICMP message; only echo
// replies are of interest (fewer wake-ups, e.g. for our own requests on
// loopback). Best effort: the reply check does not rely on it.
void FilterToEchoReplies(int fd, int family) {
  if (family == AF_INET) {
    icmp_filter filter{};
    filter.data = ~(1u << kEchoReplyV4);
    ::setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter));
  } else {
    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(kEchoReplyV6, &filter);
    ::setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
  }
}

std::string DatagramRefusal(int err) {
  std::string reason = std::strerror(err);
  if (err == EACCES || err == EPERM) {
    absl::StrAppend(&reason, " (group ", ::getgid(),
                    " is outside net.ipv4.ping_group_range)");
  }
  return reason;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Pinger>> Pinger::OpenSockets(bool try_raw) {
  bool raw = false;
  Socket v4;
  int raw_error = 0;
  if (try_raw) {
    v4 = OpenIcmp(AF_INET, SOCK_RAW);
    raw = v4.fd.valid();
    raw_error = v4.error;
  }
  if (!v4.fd.valid()) {
    v4 = OpenIcmp(AF_INET, SOCK_DGRAM);
    if (!v4.fd.valid()) {
      std::string message = "cannot open an ICMP socket: ";
      if (try_raw) {
        absl::StrAppend(&message, "raw socket: ", std::strerror(raw_error),
                        raw_error == EPERM || raw_error == EACCES ? " (needs root or CAP_NET_RAW)" : "", "; ");
      }
      absl::StrAppend(&message, "datagram socket: ", DatagramRefusal(v4.error));
      return absl::Status(absl::ErrnoToStatusCode(v4.error), message);
    }
  }
  Socket v6 = OpenIcmp(AF_INET6, raw ? SOCK_RAW : SOCK_DGRAM);
  std::string v6_error;
  if (!v6.fd.valid()) {
    v6_error = absl::StrCat("no ICMPv6 ", raw ? "raw" : "datagram", " socket: ",
                            raw ? std::strerror(v6.error) : DatagramRefusal(v6.error));
  }
  if (raw) {
    FilterToEchoReplies(v4.fd.get(), AF_INET);
    if (v6.fd.valid()) FilterToEchoReplies(v6.fd.get(), AF_INET6);
  }
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return absl::ErrnoToStatus(errno, "cannot create an epoll instance for ping");
  for (const UniqueFd* s : {&v4.fd, &v6.fd}) {
    if (!s->valid()) continue;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = s->get();
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, s->get(), &event) != 0) {
      return absl::ErrnoToStatus(errno, "cannot watch the ICMP socket");
    }
  }
  return std::unique_ptr<Pinger>(new Pinger(raw, std::move(v4.fd), std::move(v6.fd),
                                            std::move(v6_error), std::move(epoll)));
}

Pinger::Pinger(bool raw, UniqueFd v4, UniqueFd v6, std::string v6_error, UniqueFd epoll)
    : raw_(raw),
      v4_(std::move(v4)),
      v6_(std::move(v6)),
      v6_error_(std::move(v6_error)),
      epoll_(std::move(epoll)) {
  unsigned char random[10];
  if (::getrandom(random, sizeof(random), 0) != static_cast<ssize_t>(sizeof(random))) {
    // getrandom(2) does not fail for 10 bytes once the pool is up; if it
    // did, the process identity still tells our pings from others'.
    uint64_t fallback = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^
                        reinterpret_cast<uintptr_t>(this);
    std::memcpy(random, &fallback, 8);
    random[8] = static_cast<unsigned char>(::getpid());
    random[9] = static_cast<unsigned char>(::getpid() >> 8);
  }
  std::memcpy(cookie_.data(), random, kCookieSize);
  identifier_ = static_cast<uint16_t>(random[8] << 8 | random[9]);
}

absl::StatusOr<std::unique_ptr<Pinger>> Pinger::Open() { return OpenSockets(true); }

absl::StatusOr<std::unique_ptr<Pinger>> Pinger::OpenDatagramForTest() {
  return OpenSockets(false);
}

const Pinger::Host* Pinger::FindHost(const SocketAddress& address) const {
  for (const Host& h : hosts_) {
    if (h.address.SameHost(address)) return &h;
  }
  return nullptr;
}

absl::Status Pinger::SendEcho(absl::string_view host) {
  absl::StatusOr<SocketAddress> to = media::ParseNumericAddress(host, 0);
  if (!to.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot ping: ", to.status().message()));
  }
  const bool v6 = to->family() == AF_INET6;
  if (v6 && !v6_.valid()) {
    return absl::UnavailableError(absl::StrCat("cannot ping ", host, ": ", v6_error_));
  }
  // Remember how the caller spells the host, to report replies the same way.
  bool known = false;
  for (Host& h : hosts_) {
    if (h.address.SameHost(*to)) {
      if (h.spelling != host) h.spelling = std::string(host);
      known = true;
      break;
    }
  }
  if (!known) {
    if (hosts_.size() >= kMaxHosts) hosts_.erase(hosts_.begin());
    hosts_.push_back({*to, std::string(host)});
  }

  unsigned char packet[kEchoSize] = {};
  packet[0] = v6 ? kEchoRequestV6 : kEchoRequestV4;
  ++sequence_;
  packet[4] = static_cast<unsigned char>(identifier_ >> 8);
  packet[5] = static_cast<unsigned char>(identifier_);
  packet[6] = static_cast<unsigned char>(sequence_ >> 8);
  packet[7] = static_cast<unsigned char>(sequence_);
  std::memcpy(packet + kHeaderSize, cookie_.data(), kCookieSize);
  if (!v6) {
    // ICMPv6 checksums cover a pseudo-header the kernel fills in itself.
    uint16_t sum = Checksum(packet, sizeof(packet));
    packet[2] = static_cast<unsigned char>(sum >> 8);
    packet[3] = static_cast<unsigned char>(sum);
  }
  int fd = v6 ? v6_.get() : v4_.get();
  ssize_t n;
  do {
    n = ::sendto(fd, packet, sizeof(packet), MSG_DONTWAIT | MSG_NOSIGNAL, to->get(), to->length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    return absl::Status(absl::ErrnoToStatusCode(err),
                        absl::StrCat("cannot ping ", host, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status Pinger::ReceiveFrom(int family,
                                 absl::FunctionRef<void(absl::string_view host)> on_reply) {
  const int fd = family == AF_INET ? v4_.get() : v6_.get();
  if (fd < 0) return absl::OkStatus();
  unsigned char buffer[1024];
  for (int i = 0; i < kMaxRepliesPerReceive; ++i) {
    SocketAddress from;
    socklen_t from_length = sizeof(from.storage);
    ssize_t n = ::recvfrom(fd, buffer, sizeof(buffer), MSG_DONTWAIT, from.mutable_get(),
                           &from_length);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
      int err = errno;
      return absl::Status(absl::ErrnoToStatusCode(err),
                          absl::StrCat("cannot receive ", family == AF_INET ? "ICMP" : "ICMPv6",
                                       " replies: ", std::strerror(err)));
    }
    from.length = from_length;
    size_t size = static_cast<size_t>(n);
    const unsigned char* icmp = buffer;
    if (family == AF_INET && raw_) {
      // A raw IPv4 socket hands over the IP header too.
      if (size < sizeof(iphdr)) continue;
      size_t header = static_cast<size_t>(buffer[0] & 0x0F) * 4;
      if (header < sizeof(iphdr) || header > size) continue;
      icmp += header;
      size -= header;
    }
    if (size < kEchoSize) continue;
    if (icmp[0] != (family == AF_INET ? kEchoReplyV4 : kEchoReplyV6) || icmp[1] != 0) continue;
    // A datagram socket's identifier is the kernel's, which also matches
    // replies to the socket; a raw socket sees everyone's.
    uint16_t identifier = static_cast<uint16_t>(icmp[4] << 8 | icmp[5]);
    if (raw_ && identifier != identifier_) continue;
    if (std::memcmp(icmp + kHeaderSize, cookie_.data(), kCookieSize) != 0) continue;
    if (const Host* h = FindHost(from); h != nullptr) on_reply(h->spelling);
  }
  return absl::OkStatus();
}

absl::Status Pinger::Receive(absl::FunctionRef<void(absl::string_view host)> on_reply) {
  absl::Status v4 = ReceiveFrom(AF_INET, on_reply);
  absl::Status v6 = ReceiveFrom(AF_INET6, on_reply);
  return v4.ok() ? v6 : v4;
}

}  // namespace hacluster::ping
