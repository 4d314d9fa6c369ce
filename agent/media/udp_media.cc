#include "agent/media/udp_media.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/wire/frame_format.h"

namespace hacluster::media::internal {
namespace {

// One per datagram of a batch: room for the longest frame. A longer
// datagram (none passes the filter) is truncated and skipped.
constexpr size_t kReceiveBufferSize = wire::kMaxFrameSize;

// The classic BPF program the kernel runs on every datagram before queueing
// it: accept (return 0xFFFFFFFF: keep it whole) a datagram of at most
// wire::kMaxFrameSize bytes whose first 4 bytes are wire::kFrameMagic or
// "###\n" (a Heartbeat 3 message, for the heartbeat3 wire); drop (return 0) anything else. For a UDP socket the program sees the
// packet from the UDP header on (udp_queue_rcv_one_skb runs the filter
// before it pulls the header): the length includes the 8-byte header and
// the payload starts at offset 8. A load beyond the end of the packet ends
// the program with 0, so a datagram shorter than the magic is dropped too.
constexpr uint32_t kUdpHeaderSize = 8;
const sock_filter kFrameFilter[] = {
    // A = datagram length (UDP header included)
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
    // longer than a frame: drop
    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, kUdpHeaderSize + wire::kMaxFrameSize, 4, 0),
    // A = the payload's first 4 bytes, big-endian
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kUdpHeaderSize),
    // the magic, or a Heartbeat 3 message's start: accept; anything else: drop
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, wire::kFrameMagicWord, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, wire::kHb3MagicWord, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xFFFFFFFFu),
    BPF_STMT(BPF_RET | BPF_K, 0),
};

bool NeedsScope(const SocketAddress& a) {
  if (a.family() != AF_INET6) return false;
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  return v6->sin6_scope_id == 0 &&
         (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&v6->sin6_addr));
}

void SetScope(SocketAddress& a, unsigned ifindex) {
  reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_scope_id = ifindex;
}

}  // namespace

absl::Status UdpMedium::CreateSocket(int family) {
  socket_.reset(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!socket_.valid()) {
    return OsError(errno, family == AF_INET6 ? "cannot create a UDP/IPv6 socket"
                                             : "cannot create a UDP/IPv4 socket");
  }
  sock_fprog program{};
  program.len = static_cast<unsigned short>(sizeof(kFrameFilter) / sizeof(kFrameFilter[0]));
  program.filter = const_cast<sock_filter*>(kFrameFilter);
  if (absl::Status s = SetOption(SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program),
                                 "SO_ATTACH_FILTER (the frame filter)");
      !s.ok()) {
    return s;
  }
  // As root the buffer may exceed net.core.rmem_max; otherwise the kernel
  // caps it there, which still works, with less room for a burst.
  int room = kUdpReceiveBuffer;
  if (::setsockopt(socket_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof(room)) != 0) {
    (void)::setsockopt(socket_.get(), SOL_SOCKET, SO_RCVBUF, &room, sizeof(room));
  }
  int on = 1;
  // Without a drop count kernel_drops() stays where it is.
  (void)::setsockopt(socket_.get(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
  socket_drops_ = 0;
  // Without stamps the medium still works, read as soon as it is readable.
  stamped_ = ::setsockopt(socket_.get(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == 0;
  drained_at_ = agent::MonotonicNow();
  if (buffers_ == nullptr) buffers_.reset(new char[kBatch * kReceiveBufferSize]);
  return absl::OkStatus();
}

absl::Status UdpMedium::SetOption(int level, int name, const void* value, socklen_t size,
                                  absl::string_view what) {
  if (::setsockopt(socket_.get(), level, name, value, size) != 0) {
    int err = errno;
    socket_.reset();
    return OsError(err, absl::StrCat("cannot set ", what));
  }
  return absl::OkStatus();
}

absl::Status UdpMedium::BindToDevice(const std::string& interface) {
  if (::setsockopt(socket_.get(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                   static_cast<socklen_t>(interface.size() + 1)) != 0) {
    int err = errno;
    socket_.reset();
    return OsError(err, absl::StrCat("cannot bind to device ", interface));
  }
  return absl::OkStatus();
}

absl::Status UdpMedium::Bind(const SocketAddress& address, const std::string& interface) {
  if (::bind(socket_.get(), address.get(), address.length) != 0) {
    int err = errno;
    socket_.reset();
    std::string what = absl::StrCat("cannot bind ", ToString(address));
    if (!interface.empty()) absl::StrAppend(&what, " on ", interface);
    return OsError(err, what);
  }
  return absl::OkStatus();
}

absl::Status UdpMedium::Send(absl::string_view frame) {
  if (!socket_.valid()) return NotOpenError();
  absl::Status result;
  for (const SocketAddress& to : destinations_) {
    ssize_t n;
    do {
      n = ::sendto(socket_.get(), frame.data(), frame.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                   to.get(), to.length);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) continue;
    int err = errno;
    std::string what = absl::StrCat("cannot send to ", ToString(to), ": ", std::strerror(err));
    if (result.ok()) {
      result = absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(error_prefix(), ": ", what));
    } else {
      result = absl::Status(result.code(), absl::StrCat(result.message(), "; ", what));
    }
  }
  return result;
}

absl::string_view UdpMedium::SourceOf(const sockaddr_storage& from, socklen_t length) {
  for (const SourceText& s : sources_) {
    if (s.length == length && std::memcmp(&s.address, &from, length) == 0) {
      return absl::string_view(s.text, s.text_length);
    }
  }
  SourceText& s = sources_[next_source_];
  next_source_ = (next_source_ + 1) % sources_.size();
  std::memcpy(&s.address, &from, length);
  s.length = length;
  absl::string_view text = FormatHostPort(reinterpret_cast<const sockaddr*>(&from), length, s.text);
  // FormatHostPort writes into s.text, or returns a constant ("?").
  if (text.data() != s.text) std::memcpy(s.text, text.data(), text.size());
  s.text_length = text.size();
  return absl::string_view(s.text, s.text_length);
}

absl::Status UdpMedium::Receive(Deliver deliver) {
  absl::StatusOr<bool> r =
      ReceiveDated([&](absl::string_view frame, absl::string_view source, agent::MonoTime) {
        deliver(frame, source);
      });
  return r.status();
}

absl::StatusOr<bool> UdpMedium::ReceiveDated(DeliverDated deliver) {
  if (!socket_.valid()) return NotOpenError();
  std::array<mmsghdr, kBatch> messages;
  std::array<iovec, kBatch> iovecs;
  std::array<sockaddr_storage, kBatch> from;
  // Room for the arrival stamp and the drop count of each datagram.
  alignas(cmsghdr) char control[kBatch][CMSG_SPACE(sizeof(timespec)) +
                                        CMSG_SPACE(sizeof(uint32_t))];
  for (int received = 0; received < kMaxFramesPerReceive;) {
    for (int i = 0; i < kBatch; ++i) {
      iovecs[i] = {buffers_.get() + i * kReceiveBufferSize, kReceiveBufferSize};
      msghdr& h = messages[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &from[i];
      h.msg_namelen = sizeof(from[i]);
      h.msg_iov = &iovecs[i];
      h.msg_iovlen = 1;
      h.msg_control = control[i];
      h.msg_controllen = sizeof(control[i]);
      messages[i].msg_len = 0;
    }
    const agent::MonoTime before = agent::MonotonicNow();
    // Never more than the bound allows, so the bound is exact.
    const int want = std::min(kBatch, kMaxFramesPerReceive - received);
    int n = ::recvmmsg(socket_.get(), messages.data(), want, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        drained_at_ = before;
        return false;
      }
      return OsError(errno, "cannot receive");
    }
    timespec mono, wall;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &wall);
    const agent::MonoTime read_at = absl::DurationFromTimespec(mono);
    // Wall-clock time minus monotonic time, now.
    const absl::Duration offset = absl::DurationFromTimespec(wall) - read_at;
    const agent::MonoTime earliest = drained_at_;
    for (int i = 0; i < n; ++i) {
      const msghdr& h = messages[i].msg_hdr;
      agent::MonoTime arrival = read_at;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
           c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec stamp;
          std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
          arrival = std::clamp(absl::DurationFromTimespec(stamp) - offset, earliest, read_at);
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
          // The socket's drop count when this datagram was queued; the
          // kernel sends it only once it is not 0.
          uint32_t drops;
          std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
          kernel_drops_ += static_cast<uint32_t>(drops - socket_drops_);
          socket_drops_ = drops;
        }
      }
      // Empty datagrams carry nothing; truncated ones cannot be whole frames.
      if (messages[i].msg_len == 0 || (h.msg_flags & MSG_TRUNC) != 0) continue;
      deliver(absl::string_view(buffers_.get() + i * kReceiveBufferSize, messages[i].msg_len),
              SourceOf(from[i], h.msg_namelen), arrival);
    }
    received += n;
    if (n < want) {
      // recvmmsg stops early when nothing is left (or at an error after
      // some datagrams, which the next call reports).
      drained_at_ = before;
      return false;
    }
  }
  return true;
}

// --- ucast -------------------------------------------------------------------

UcastMedium::UcastMedium(int index, std::string link_name, std::string description,
                         std::string interface, SocketAddress bind, bool dual_stack,
                         std::vector<SocketAddress> destinations)
    : UdpMedium(index, std::move(link_name), std::move(description)),
      interface_(std::move(interface)),
      bind_(bind),
      dual_stack_(dual_stack) {
  destinations_ = std::move(destinations);
}

absl::Status UcastMedium::Open() {
  if (!interface_.empty()) {
    bool needs_scope = NeedsScope(bind_);
    for (const SocketAddress& d : destinations_) needs_scope = needs_scope || NeedsScope(d);
    if (needs_scope) {
      unsigned ifindex = if_nametoindex(interface_.c_str());
      if (ifindex == 0) return OsError(errno, absl::StrCat("no interface ", interface_));
      if (NeedsScope(bind_)) SetScope(bind_, ifindex);
      for (SocketAddress& d : destinations_) {
        if (NeedsScope(d)) SetScope(d, ifindex);
      }
    }
  }
  if (absl::Status s = CreateSocket(bind_.family()); !s.ok()) return s;
  if (bind_.family() == AF_INET6) {
    int v6only = dual_stack_ ? 0 : 1;
    if (absl::Status s = SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only),
                                   "IPV6_V6ONLY");
        !s.ok()) {
      return s;
    }
  }
  return Bind(bind_, "");
}

// --- bcast -------------------------------------------------------------------

BcastMedium::BcastMedium(int index, std::string link_name, std::string description,
                         std::string interface, uint16_t port)
    : UdpMedium(index, std::move(link_name), std::move(description)),
      interface_(std::move(interface)),
      port_(port) {}

absl::Status BcastMedium::Open() {
  // The interface's own broadcast address; 255.255.255.255 (which
  // SO_BINDTODEVICE keeps on the interface) when it has none.
  SocketAddress to = WildcardAddress(AF_INET, port_);
  auto* to4 = reinterpret_cast<sockaddr_in*>(&to.storage);
  to4->sin_addr.s_addr = htonl(INADDR_BROADCAST);
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
      if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
      if (interface_ != a->ifa_name || (a->ifa_flags & IFF_BROADCAST) == 0) continue;
      if (a->ifa_broadaddr == nullptr) continue;
      in_addr b = reinterpret_cast<const sockaddr_in*>(a->ifa_broadaddr)->sin_addr;
      in_addr own = reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr;
      // getifaddrs(3) reports the address itself when none was set.
      if (b.s_addr == htonl(INADDR_ANY) || b.s_addr == own.s_addr) continue;
      to4->sin_addr = b;
      break;
    }
    ::freeifaddrs(list);
  }
  destinations_.assign(1, to);

  if (absl::Status s = CreateSocket(AF_INET); !s.ok()) return s;
  int on = 1;
  if (absl::Status s = SetOption(SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on), "SO_REUSEADDR");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetOption(SOL_SOCKET, SO_BROADCAST, &on, sizeof(on), "SO_BROADCAST");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = BindToDevice(interface_); !s.ok()) return s;
  return Bind(WildcardAddress(AF_INET, port_), interface_);
}

// --- mcast -------------------------------------------------------------------

McastMedium::McastMedium(int index, std::string link_name, std::string description,
                         std::string interface, SocketAddress group, int ttl, bool loop)
    : UdpMedium(index, std::move(link_name), std::move(description)),
      interface_(std::move(interface)),
      group_(group),
      ttl_(ttl),
      loop_(loop) {
  destinations_.push_back(group_);
}

absl::Status McastMedium::Open() {
  unsigned ifindex = if_nametoindex(interface_.c_str());
  if (ifindex == 0) return OsError(errno, absl::StrCat("no interface ", interface_));
  const int family = group_.family();
  if (absl::Status s = CreateSocket(family); !s.ok()) return s;
  int on = 1;
  if (absl::Status s = SetOption(SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on), "SO_REUSEADDR");
      !s.ok()) {
    return s;
  }
  if (family == AF_INET6) {
    if (absl::Status s = SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on), "IPV6_V6ONLY");
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = BindToDevice(interface_); !s.ok()) return s;
  if (absl::Status s = Bind(WildcardAddress(family, group_.port()), interface_); !s.ok()) {
    return s;
  }
  char text[kAddressTextSize];
  const std::string group_text(FormatHost(group_.get(), group_.length, text));
  int ttl = ttl_;
  int loop = loop_ ? 1 : 0;
  if (family == AF_INET) {
    ip_mreqn join{};
    join.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&group_.storage)->sin_addr;
    join.imr_ifindex = static_cast<int>(ifindex);
    if (absl::Status s = SetOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof(join),
                                   absl::StrCat("IP_ADD_MEMBERSHIP ", group_text, " on ",
                                                interface_));
        !s.ok()) {
      return s;
    }
    ip_mreqn out{};
    out.imr_ifindex = static_cast<int>(ifindex);
    if (absl::Status s = SetOption(IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof(out),
                                   absl::StrCat("IP_MULTICAST_IF ", interface_));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = SetOption(IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl),
                                   absl::StrCat("IP_MULTICAST_TTL ", ttl));
        !s.ok()) {
      return s;
    }
    return SetOption(IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop), "IP_MULTICAST_LOOP");
  }
  ipv6_mreq join{};
  join.ipv6mr_multiaddr = reinterpret_cast<const sockaddr_in6*>(&group_.storage)->sin6_addr;
  join.ipv6mr_interface = ifindex;
  if (absl::Status s = SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &join, sizeof(join),
                                 absl::StrCat("IPV6_JOIN_GROUP ", group_text, " on ",
                                              interface_));
      !s.ok()) {
    return s;
  }
  int out = static_cast<int>(ifindex);
  if (absl::Status s = SetOption(IPPROTO_IPV6, IPV6_MULTICAST_IF, &out, sizeof(out),
                                 absl::StrCat("IPV6_MULTICAST_IF ", interface_));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl),
                                 absl::StrCat("IPV6_MULTICAST_HOPS ", ttl));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = SetOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop),
                                 "IPV6_MULTICAST_LOOP");
      !s.ok()) {
    return s;
  }
  // A link-scope group needs the interface as its scope to be sent to.
  if (NeedsScope(destinations_.front())) SetScope(destinations_.front(), ifindex);
  return absl::OkStatus();
}

}  // namespace hacluster::media::internal
