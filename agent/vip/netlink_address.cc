#include "agent/vip/netlink_address.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/vip/ip_address.h"

namespace hacluster::vip {
namespace {

using MessageFn = absl::FunctionRef<void(const nlmsghdr&)>;

// Room for any request built here (a header, a fixed part and a few
// attributes).
constexpr size_t kRequestSize = 1024;
// A dump the kernel interrupts (the table changed meanwhile) is tried again
// on a new socket, this many times in all.
constexpr int kDumpAttempts = 3;
// Datagrams read for one answer at most; every read waits kNetlinkTimeout at
// most, so a call is bounded even if the kernel kept talking.
constexpr int kMaxDatagrams = 1 << 16;

std::string ErrnoText(int err) { return std::strerror(err); }

// "what: <errno text>" with the kernel's extended-ack text when it gave one.
absl::Status KernelError(int err, absl::string_view what, const std::string& kernel_message) {
  std::string reason = err == ETIMEDOUT ? absl::StrCat("no answer from the kernel within ",
                                                       absl::FormatDuration(kNetlinkTimeout))
                                        : ErrnoText(err);
  if (!kernel_message.empty()) absl::StrAppend(&reason, " (kernel: ", kernel_message, ")");
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", reason));
}

// The text of the NLMSGERR_ATTR_MSG attribute of an NLMSG_ERROR or
// NLMSG_DONE message whose fixed part is `fixed` bytes long, "" when absent.
std::string ExtendedAckText(const nlmsghdr& nlh, size_t fixed) {
  if ((nlh.nlmsg_flags & NLM_F_ACK_TLVS) == 0) return "";
  const size_t payload_len = mnl_nlmsg_get_payload_len(&nlh);
  if (payload_len < fixed) return "";
  const char* payload = static_cast<const char*>(mnl_nlmsg_get_payload(&nlh));
  size_t offset = fixed;
  if (nlh.nlmsg_type == NLMSG_ERROR && (nlh.nlmsg_flags & NLM_F_CAPPED) == 0) {
    // The request's payload is echoed after the nlmsgerr.
    const auto* err = reinterpret_cast<const nlmsgerr*>(payload);
    if (err->msg.nlmsg_len >= NLMSG_HDRLEN) {
      offset += NLMSG_ALIGN(err->msg.nlmsg_len - NLMSG_HDRLEN);
    }
  }
  if (offset >= payload_len) return "";
  const auto* attrs = reinterpret_cast<const nlattr*>(payload + offset);
  const nlattr* attr;
  mnl_attr_for_each_payload(attrs, payload_len - offset) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
      return mnl_attr_get_str(attr);
    }
  }
  return "";
}

// Attribute table filler for mnl_attr_parse: keeps the last attribute of
// each known type, drops the others.
template <int kMax>
struct AttrTable {
  const nlattr* at[kMax + 1] = {};

  static int Fill(const nlattr* attr, void* data) {
    auto* table = static_cast<AttrTable*>(data);
    const int type = mnl_attr_get_type(attr);
    if (type >= 0 && type <= kMax) table->at[type] = attr;
    return MNL_CB_OK;
  }
  // The attribute if it is there and carries at least `size` bytes.
  const nlattr* Get(int type, size_t size = 0) const {
    const nlattr* attr = at[type];
    if (attr == nullptr || mnl_attr_get_payload_len(attr) < size) return nullptr;
    return attr;
  }
};

// Runs `fill` to build a dump request, then dumps on a new socket, trying
// again (bounded) when the kernel says a change interrupted the dump.
// `reset` is called before each attempt so that a retry starts afresh.
absl::Status DumpWithRetry(absl::string_view what, absl::FunctionRef<nlmsghdr*(char* buffer)> fill,
                           absl::FunctionRef<void()> reset, MessageFn on_message) {
  int err = 0;
  std::string kernel_message;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    absl::StatusOr<NetlinkSocket> socket = NetlinkSocket::Open();
    if (!socket.ok()) {
      return absl::Status(socket.status().code(),
                          absl::StrCat(what, ": ", socket.status().message()));
    }
    char buffer[kRequestSize];
    std::memset(buffer, 0, sizeof(buffer));
    nlmsghdr* request = fill(buffer);
    reset();
    err = socket->Dump(request, on_message, &kernel_message);
    if (err != EINTR) break;
  }
  if (err != 0) return KernelError(err, what, kernel_message);
  return absl::OkStatus();
}

// One route of the main table that may place an address.
struct ConnectedRoute {
  int ifindex = 0;
  int prefix_length = 0;
  uint32_t metric = 0;
};

// The most specific directly connected route of the main table that
// contains `address`, on `ifindex` only unless it is kAnyInterface. Not
// found: an OK result with ifindex 0.
absl::StatusOr<ConnectedRoute> BestConnectedRoute(const IpBytes& address, int ifindex) {
  ConnectedRoute best;
  auto consider = [&](const nlmsghdr& nlh) {
    if (nlh.nlmsg_type != RTM_NEWROUTE) return;
    if (mnl_nlmsg_get_payload_len(&nlh) < sizeof(rtmsg)) return;
    const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(&nlh));
    if (rtm->rtm_family != address.family || rtm->rtm_type != RTN_UNICAST) return;
    if ((rtm->rtm_flags & (RTM_F_CLONED | RTNH_F_DEAD)) != 0) return;
    if (rtm->rtm_scope >= RT_SCOPE_HOST) return;
    if (rtm->rtm_dst_len == 0 || rtm->rtm_dst_len > address.max_prefix()) return;
    AttrTable<RTA_MAX> attrs;
    if (mnl_attr_parse(&nlh, sizeof(rtmsg), AttrTable<RTA_MAX>::Fill, &attrs) < 0) return;
    uint32_t table = rtm->rtm_table;
    if (const nlattr* t = attrs.Get(RTA_TABLE, sizeof(uint32_t))) table = mnl_attr_get_u32(t);
    if (table != RT_TABLE_MAIN) return;
    if (attrs.at[RTA_GATEWAY] != nullptr || attrs.at[RTA_VIA] != nullptr ||
        attrs.at[RTA_MULTIPATH] != nullptr) {
      return;
    }
    const nlattr* oif = attrs.Get(RTA_OIF, sizeof(uint32_t));
    const nlattr* dst = attrs.Get(RTA_DST, address.size());
    if (oif == nullptr || dst == nullptr) return;
    const int route_ifindex = static_cast<int>(mnl_attr_get_u32(oif));
    if (ifindex != kAnyInterface && route_ifindex != ifindex) return;
    const IpBytes net = IpFromBytes(address.family, mnl_attr_get_payload(dst));
    if (!net.SharesPrefix(address, rtm->rtm_dst_len)) return;
    uint32_t metric = 0;
    if (const nlattr* m = attrs.Get(RTA_PRIORITY, sizeof(uint32_t))) metric = mnl_attr_get_u32(m);
    if (best.ifindex == 0 || rtm->rtm_dst_len > best.prefix_length ||
        (rtm->rtm_dst_len == best.prefix_length && metric < best.metric)) {
      best = ConnectedRoute{route_ifindex, rtm->rtm_dst_len, metric};
    }
  };
  absl::Status s = DumpWithRetry(
      absl::StrCat("cannot read the routing table to place ", address.ToString()),
      [&](char* buffer) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
        rtm->rtm_family = static_cast<unsigned char>(address.family);
        return nlh;
      },
      [&] { best = ConnectedRoute(); }, consider);
  if (!s.ok()) return s;
  return best;
}

// The name of interface `ifindex` (RTM_GETLINK).
absl::StatusOr<std::string> InterfaceName(int ifindex) {
  const std::string what = absl::StrCat("cannot find the name of interface #", ifindex);
  absl::StatusOr<NetlinkSocket> socket = NetlinkSocket::Open();
  if (!socket.ok()) {
    return absl::Status(socket.status().code(),
                        absl::StrCat(what, ": ", socket.status().message()));
  }
  char buffer[kRequestSize] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  std::string name;
  std::string kernel_message;
  const int err = socket->Call(
      nlh,
      [&](const nlmsghdr& answer) {
        if (answer.nlmsg_type != RTM_NEWLINK) return;
        AttrTable<IFLA_MAX> attrs;
        if (mnl_attr_parse(&answer, sizeof(ifinfomsg), AttrTable<IFLA_MAX>::Fill, &attrs) < 0) {
          return;
        }
        if (const nlattr* n = attrs.Get(IFLA_IFNAME, 1)) {
          if (mnl_attr_validate(n, MNL_TYPE_NUL_STRING) == 0) name = mnl_attr_get_str(n);
        }
      },
      &kernel_message);
  if (err != 0) return KernelError(err, what, kernel_message);
  if (name.empty()) return absl::InternalError(absl::StrCat(what, ": the kernel sent no name"));
  return name;
}

absl::Status CheckPrefix(const IpBytes& address, int prefix_length) {
  if (prefix_length < 1 || prefix_length > address.max_prefix()) {
    return absl::InvalidArgumentError(absl::StrCat("prefix length ", prefix_length, " of ",
                                                   address.ToString(), " is not within 1..",
                                                   address.max_prefix()));
  }
  return absl::OkStatus();
}

absl::Status CheckIfindex(const IpBytes& address, const Placement& p) {
  if (p.ifindex <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no interface index for ", address.ToString(), " on '", p.interface, "'"));
  }
  return absl::OkStatus();
}

// "192.0.2.50/24 on eth0" for errors.
std::string Where(const IpBytes& address, const Placement& p, int prefix_length) {
  return absl::StrCat(address.ToString(), prefix_length > 0 ? absl::StrCat("/", prefix_length) : "",
                      " on ", p.interface.empty() ? absl::StrCat("#", p.ifindex) : p.interface);
}

// One address of an interface as RTM_GETADDR lists it.
struct AssignedAddress {
  int ifindex = 0;
  int prefix_length = 0;
};

// The assignments of `address` (on `ifindex`, or on any interface).
absl::StatusOr<std::vector<AssignedAddress>> FindAssigned(const IpBytes& address, int ifindex) {
  std::vector<AssignedAddress> found;
  auto consider = [&](const nlmsghdr& nlh) {
    if (nlh.nlmsg_type != RTM_NEWADDR) return;
    if (mnl_nlmsg_get_payload_len(&nlh) < sizeof(ifaddrmsg)) return;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(&nlh));
    if (ifa->ifa_family != address.family) return;
    if (ifindex != kAnyInterface && static_cast<int>(ifa->ifa_index) != ifindex) return;
    AttrTable<IFA_MAX> attrs;
    if (mnl_attr_parse(&nlh, sizeof(ifaddrmsg), AttrTable<IFA_MAX>::Fill, &attrs) < 0) return;
    // IFA_LOCAL is the local address when the address has a peer (and
    // always for IPv4); otherwise IFA_ADDRESS is.
    const nlattr* local = attrs.Get(IFA_LOCAL, address.size());
    if (local == nullptr) local = attrs.Get(IFA_ADDRESS, address.size());
    if (local == nullptr) return;
    if (IpFromBytes(address.family, mnl_attr_get_payload(local)) == address) {
      found.push_back(AssignedAddress{static_cast<int>(ifa->ifa_index), ifa->ifa_prefixlen});
    }
  };
  absl::Status s = DumpWithRetry(
      absl::StrCat("cannot list the addresses to look for ", address.ToString()),
      [&](char* buffer) {
        nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
        nlh->nlmsg_type = RTM_GETADDR;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
        ifa->ifa_family = static_cast<unsigned char>(address.family);
        return nlh;
      },
      [&] { found.clear(); }, consider);
  if (!s.ok()) return s;
  return found;
}

// Builds an RTM_NEWADDR / RTM_DELADDR request for `address` on `ifindex`.
nlmsghdr* PutAddressHeader(char* buffer, uint16_t type, uint16_t flags, const IpBytes& address,
                           int prefix_length, int ifindex, uint8_t ifa_flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<unsigned char>(address.family);
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix_length);
  ifa->ifa_flags = ifa_flags;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  mnl_attr_put(nlh, IFA_LOCAL, address.size(), address.data());
  return nlh;
}

}  // namespace

absl::StatusOr<NetlinkSocket> NetlinkSocket::Open() {
  mnl_socket* socket = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (socket == nullptr) return absl::ErrnoToStatus(errno, "cannot open a netlink socket");
  NetlinkSocket result(socket, 0);
  const int fd = mnl_socket_get_fd(socket);
  // Best effort: without them the kernel's answers are only less telling.
  const int on = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof(on));
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
  timeval timeout = absl::ToTimeval(kNetlinkTimeout);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0) {
    return absl::ErrnoToStatus(errno, "cannot set a receive timeout on a netlink socket");
  }
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) < 0) {
    return absl::ErrnoToStatus(errno, "cannot bind a netlink socket");
  }
  result.port_id_ = mnl_socket_get_portid(socket);
  return result;
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : socket_(std::exchange(other.socket_, nullptr)),
      port_id_(other.port_id_),
      next_seq_(other.next_seq_),
      buffer_(std::move(other.buffer_)) {}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (socket_ != nullptr) mnl_socket_close(socket_);
    socket_ = std::exchange(other.socket_, nullptr);
    port_id_ = other.port_id_;
    next_seq_ = other.next_seq_;
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

NetlinkSocket::~NetlinkSocket() {
  if (socket_ != nullptr) mnl_socket_close(socket_);
}

int NetlinkSocket::Send(nlmsghdr* request) {
  request->nlmsg_seq = next_seq_++;
  request->nlmsg_pid = port_id_;
  if (mnl_socket_sendto(socket_, request, request->nlmsg_len) < 0) return errno;
  return 0;
}

int NetlinkSocket::Call(nlmsghdr* request, std::string* kernel_message) {
  request->nlmsg_flags |= NLM_F_ACK;
  if (const int err = Send(request); err != 0) return err;
  return Receive(request->nlmsg_seq, nullptr, kernel_message);
}

int NetlinkSocket::Call(nlmsghdr* request, MessageFn on_message, std::string* kernel_message) {
  request->nlmsg_flags |= NLM_F_ACK;
  if (const int err = Send(request); err != 0) return err;
  return Receive(request->nlmsg_seq, &on_message, kernel_message);
}

int NetlinkSocket::Dump(nlmsghdr* request, MessageFn on_message, std::string* kernel_message) {
  request->nlmsg_flags |= NLM_F_DUMP;
  if (const int err = Send(request); err != 0) return err;
  return Receive(request->nlmsg_seq, &on_message, kernel_message);
}

int NetlinkSocket::Receive(uint32_t seq, MessageFn* on_message, std::string* kernel_message) {
  if (socket_ == nullptr) return EBADF;
  if (kernel_message != nullptr) kernel_message->clear();
  bool interrupted = false;
  for (int datagram = 0; datagram < kMaxDatagrams; ++datagram) {
    const ssize_t n = mnl_socket_recvfrom(socket_, buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno;
    }
    int left = static_cast<int>(n);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer_.data());
    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      // Answers to an earlier request of this socket, or messages not for
      // this port, are not ours.
      if (nlh->nlmsg_seq != seq || (nlh->nlmsg_pid != 0 && nlh->nlmsg_pid != port_id_)) continue;
      if ((nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
      switch (nlh->nlmsg_type) {
        case NLMSG_NOOP:
          break;
        case NLMSG_OVERRUN:
          return ENOBUFS;
        case NLMSG_ERROR: {
          if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) return EBADMSG;
          const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
          if (kernel_message != nullptr) *kernel_message = ExtendedAckText(*nlh, sizeof(nlmsgerr));
          return err->error < 0 ? -err->error : err->error;
        }
        case NLMSG_DONE: {
          // A dump's end; it may carry the error that ended it.
          if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
            int status;
            std::memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
            if (status < 0) {
              if (kernel_message != nullptr) *kernel_message = ExtendedAckText(*nlh, sizeof(int));
              return -status;
            }
          }
          return interrupted ? EINTR : 0;
        }
        default:
          if (on_message != nullptr) (*on_message)(*nlh);
          break;
      }
    }
  }
  return EMSGSIZE;  // an answer of more than kMaxDatagrams datagrams
}

absl::StatusOr<int> InterfaceIndex(const std::string& name) {
  const bool bad_char = std::any_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f' || c == '\0';
  });
  if (name.empty() || name.size() >= IFNAMSIZ || bad_char || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' cannot be an interface name (1 to ", IFNAMSIZ - 1,
                     " characters, no '/', ':' or blanks)"));
  }
  const std::string what = absl::StrCat("cannot find interface ", name);
  absl::StatusOr<NetlinkSocket> socket = NetlinkSocket::Open();
  if (!socket.ok()) {
    return absl::Status(socket.status().code(),
                        absl::StrCat(what, ": ", socket.status().message()));
  }
  char buffer[kRequestSize] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  int ifindex = 0;
  std::string kernel_message;
  const int err = socket->Call(
      nlh,
      [&](const nlmsghdr& answer) {
        if (answer.nlmsg_type != RTM_NEWLINK) return;
        if (mnl_nlmsg_get_payload_len(&answer) < sizeof(ifinfomsg)) return;
        ifindex = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(&answer))->ifi_index;
      },
      &kernel_message);
  if (err == ENODEV) return absl::NotFoundError(absl::StrCat("there is no interface ", name));
  if (err != 0) return KernelError(err, what, kernel_message);
  if (ifindex <= 0) return absl::InternalError(absl::StrCat(what, ": the kernel sent no index"));
  return ifindex;
}

absl::StatusOr<Placement> FindInterface(const std::string& address) {
  absl::StatusOr<IpBytes> ip = ParseIp(address);
  if (!ip.ok()) return ip.status();
  absl::StatusOr<ConnectedRoute> route = BestConnectedRoute(*ip, kAnyInterface);
  if (!route.ok()) return route.status();
  if (route->ifindex == 0) {
    return absl::NotFoundError(absl::StrCat("no directly connected route contains ", address,
                                            ": give `interface` and `prefix_length`"));
  }
  absl::StatusOr<std::string> name = InterfaceName(route->ifindex);
  if (!name.ok()) return name.status();
  return Placement{*std::move(name), route->ifindex, route->prefix_length};
}

absl::StatusOr<Placement> ResolvePlacement(const spec::v1::IpAddress& spec) {
  absl::StatusOr<IpBytes> ip = ParseIp(spec.address());
  if (!ip.ok()) return ip.status();
  if (spec.prefix_length() > static_cast<uint32_t>(ip->max_prefix())) {
    return absl::InvalidArgumentError(absl::StrCat("prefix length ", spec.prefix_length(), " of ",
                                                   spec.address(), " is not within 1..",
                                                   ip->max_prefix()));
  }
  const int spec_prefix = static_cast<int>(spec.prefix_length());  // 0: from the route
  Placement p;
  if (spec.interface().empty()) {
    absl::StatusOr<Placement> found = FindInterface(spec.address());
    if (!found.ok()) return found.status();
    p = *std::move(found);
  } else {
    absl::StatusOr<int> ifindex = InterfaceIndex(spec.interface());
    if (!ifindex.ok()) {
      return absl::Status(ifindex.status().code(), absl::StrCat("interface of ", spec.address(),
                                                                ": ", ifindex.status().message()));
    }
    p.interface = spec.interface();
    p.ifindex = *ifindex;
    if (spec_prefix == 0) {
      absl::StatusOr<ConnectedRoute> route = BestConnectedRoute(*ip, p.ifindex);
      if (!route.ok()) return route.status();
      if (route->ifindex == 0) {
        return absl::NotFoundError(absl::StrCat("no directly connected route on ", p.interface,
                                                " contains ", spec.address(),
                                                ": give `prefix_length`"));
      }
      p.prefix_length = route->prefix_length;
    }
  }
  if (spec_prefix != 0) p.prefix_length = spec_prefix;
  return p;
}

absl::Status AddAddress(const spec::v1::IpAddress& spec, const Placement& p) {
  absl::StatusOr<IpBytes> ip = ParseIp(spec.address());
  if (!ip.ok()) return ip.status();
  if (absl::Status s = CheckPrefix(*ip, p.prefix_length); !s.ok()) return s;
  if (absl::Status s = CheckIfindex(*ip, p); !s.ok()) return s;
  const std::string where = Where(*ip, p, p.prefix_length);
  std::optional<IpBytes> broadcast;
  if (!spec.broadcast().empty()) {
    absl::StatusOr<IpBytes> b = ParseIp(spec.broadcast());
    if (ip->family != AF_INET || !b.ok() || b->family != AF_INET) {
      return absl::InvalidArgumentError(absl::StrCat(
          "broadcast '", spec.broadcast(), "' of ", where,
          ip->family == AF_INET ? " is not an IPv4 address" : ": IPv6 has no broadcast address"));
    }
    broadcast = *b;
  } else if (ip->family == AF_INET && p.prefix_length <= 30) {
    broadcast = ip->WithHostBitsSet(p.prefix_length);
  }

  absl::StatusOr<std::vector<AssignedAddress>> present = FindAssigned(*ip, p.ifindex);
  if (!present.ok()) return present.status();
  if (!present->empty()) return absl::OkStatus();

  absl::StatusOr<NetlinkSocket> socket = NetlinkSocket::Open();
  if (!socket.ok()) {
    return absl::Status(socket.status().code(),
                        absl::StrCat("cannot add ", where, ": ", socket.status().message()));
  }
  char buffer[kRequestSize] = {};
  const uint32_t flags = ip->family == AF_INET6 ? IFA_F_NODAD : 0;
  nlmsghdr* nlh = PutAddressHeader(buffer, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
                                   *ip, p.prefix_length, p.ifindex, static_cast<uint8_t>(flags));
  mnl_attr_put(nlh, IFA_ADDRESS, ip->size(), ip->data());
  if (broadcast.has_value()) mnl_attr_put(nlh, IFA_BROADCAST, broadcast->size(), broadcast->data());
  if (ip->family == AF_INET && !p.interface.empty() && p.interface.size() < IFNAMSIZ) {
    mnl_attr_put_strz(nlh, IFA_LABEL, p.interface.c_str());
  }
  if (flags != 0) mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
  std::string kernel_message;
  const int err = socket->Call(nlh, &kernel_message);
  if (err == EEXIST) return absl::OkStatus();  // added meanwhile
  if (err != 0) return KernelError(err, absl::StrCat("cannot add ", where), kernel_message);
  return absl::OkStatus();
}

absl::Status RemoveAddress(const spec::v1::IpAddress& spec, const Placement& p) {
  absl::StatusOr<IpBytes> ip = ParseIp(spec.address());
  if (!ip.ok()) return ip.status();
  if (absl::Status s = CheckIfindex(*ip, p); !s.ok()) return s;
  absl::StatusOr<std::vector<AssignedAddress>> present = FindAssigned(*ip, p.ifindex);
  if (!present.ok()) return present.status();
  for (const AssignedAddress& assigned : *present) {
    const std::string where = Where(*ip, p, assigned.prefix_length);
    absl::StatusOr<NetlinkSocket> socket = NetlinkSocket::Open();
    if (!socket.ok()) {
      return absl::Status(socket.status().code(),
                          absl::StrCat("cannot remove ", where, ": ", socket.status().message()));
    }
    char buffer[kRequestSize] = {};
    nlmsghdr* nlh = PutAddressHeader(buffer, RTM_DELADDR, NLM_F_REQUEST, *ip,
                                     assigned.prefix_length, assigned.ifindex, 0);
    std::string kernel_message;
    const int err = socket->Call(nlh, &kernel_message);
    // Gone meanwhile (the address, or its interface with it).
    if (err == EADDRNOTAVAIL || err == ENODEV) continue;
    if (err != 0) return KernelError(err, absl::StrCat("cannot remove ", where), kernel_message);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> HasAddress(const std::string& address, int ifindex) {
  absl::StatusOr<IpBytes> ip = ParseIp(address);
  if (!ip.ok()) return ip.status();
  if (ifindex < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("interface index ", ifindex, " for ", address, " is negative"));
  }
  absl::StatusOr<std::vector<AssignedAddress>> present = FindAssigned(*ip, ifindex);
  if (!present.ok()) return present.status();
  return !present->empty();
}

}  // namespace hacluster::vip
