#include "agent/vip/announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/media/unique_fd.h"
#include "agent/vip/ip_address.h"

namespace hacluster::vip {
namespace {

using media::UniqueFd;

constexpr size_t kMacSize = 6;
using Mac = std::array<uint8_t, kMacSize>;
constexpr Mac kBroadcastMac = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
// ff02::1, the all-nodes group, and its Ethernet group address.
constexpr std::array<uint8_t, 16> kAllNodes = {0xFF, 0x02, 0, 0, 0, 0, 0, 0,
                                               0,    0,    0, 0, 0, 0, 0, 1};
constexpr Mac kAllNodesMac = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};

constexpr size_t kEthHeaderSize = 14;
// The shortest Ethernet frame without its checksum; shorter ones are padded.
constexpr size_t kMinFrameSize = 60;
constexpr size_t kArpSize = 28;
constexpr uint16_t kArpRequest = 1;
constexpr uint16_t kArpReply = 2;
constexpr size_t kIpv6HeaderSize = 40;
// Neighbour advertisement: type, code, checksum, flags, target (24 bytes),
// then one target link-layer address option (8 bytes).
constexpr size_t kNaSize = 24 + 8;
constexpr uint8_t kNeighbourAdvert = 136;
constexpr uint8_t kNaOverrideFlag = 0x20;
constexpr uint8_t kOptionTargetLinkAddress = 2;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kNdHopLimit = 255;

void PutU16(uint8_t* at, uint16_t value) {
  at[0] = static_cast<uint8_t>(value >> 8);
  at[1] = static_cast<uint8_t>(value);
}

// An AF_PACKET socket for writing whole frames on one interface.
struct Link {
  UniqueFd owned;  // when the socket was opened for this call
  int fd = -1;
  int ifindex = 0;
  Mac mac{};
};

// Opens a packet socket, or uses `shared_fd` when it is one (>= 0).
absl::StatusOr<Link> OpenLink(const std::string& interface, absl::string_view what,
                              int shared_fd) {
  if (interface.empty() || interface.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": '", interface,
                                                   "' cannot be an interface name (1 to ",
                                                   IFNAMSIZ - 1, " characters)"));
  }
  Link link;
  // Protocol 0: the socket only sends, nothing is queued for it to read.
  if (shared_fd >= 0) {
    link.fd = shared_fd;
  } else {
    link.owned.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    link.fd = link.owned.get();
  }
  if (link.fd < 0) {
    const int err = errno;
    return absl::Status(absl::ErrnoToStatusCode(err),
                        absl::StrCat(what, ": cannot open a packet socket: ", std::strerror(err),
                                     err == EPERM ? " (needs CAP_NET_RAW)" : ""));
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, interface.c_str(), interface.size());
  if (::ioctl(link.fd, SIOCGIFINDEX, &ifr) != 0) {
    const int err = errno;
    if (err == ENODEV) {
      return absl::NotFoundError(absl::StrCat(what, ": there is no interface ", interface));
    }
    return absl::ErrnoToStatus(err, absl::StrCat(what, ": cannot find interface ", interface));
  }
  link.ifindex = ifr.ifr_ifindex;
  if (::ioctl(link.fd, SIOCGIFHWADDR, &ifr) != 0) {
    return absl::ErrnoToStatus(errno,
                               absl::StrCat(what, ": cannot read the MAC address of ", interface));
  }
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": ", interface, " is not an Ethernet interface (hardware type ",
                     ifr.ifr_hwaddr.sa_family, ")"));
  }
  std::memcpy(link.mac.data(), ifr.ifr_hwaddr.sa_data, kMacSize);
  return link;
}

absl::Status SendFrame(const Link& link, const Mac& destination, uint16_t ethertype,
                       const uint8_t* frame, size_t size, absl::string_view what) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ethertype);
  to.sll_ifindex = link.ifindex;
  to.sll_halen = kMacSize;
  std::memcpy(to.sll_addr, destination.data(), kMacSize);
  ssize_t sent;
  do {
    sent =
        ::sendto(link.fd, frame, size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return absl::ErrnoToStatus(errno, absl::StrCat(what, ": cannot send"));
  if (static_cast<size_t>(sent) != size) {
    return absl::InternalError(absl::StrCat(what, ": sent ", sent, " of ", size, " bytes"));
  }
  return absl::OkStatus();
}

// Writes the Ethernet header; returns where the payload starts.
uint8_t* PutEthernet(uint8_t* frame, const Mac& destination, const Mac& source,
                     uint16_t ethertype) {
  std::memcpy(frame, destination.data(), kMacSize);
  std::memcpy(frame + kMacSize, source.data(), kMacSize);
  PutU16(frame + 2 * kMacSize, ethertype);
  return frame + kEthHeaderSize;
}

// The Internet checksum of the ICMPv6 message `icmp` under the IPv6
// pseudo-header of `source` -> `destination`.
uint16_t Icmpv6Checksum(const uint8_t* source, const uint8_t* destination, const uint8_t* icmp,
                        size_t size) {
  uint32_t sum = 0;
  auto add = [&sum](const uint8_t* data, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (n % 2 == 1) sum += static_cast<uint32_t>(data[n - 1] << 8);
  };
  add(source, 16);
  add(destination, 16);
  sum += static_cast<uint32_t>(size);  // upper-layer length (fits 16 bits here)
  sum += kIcmpv6;                      // next header
  add(icmp, size);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

absl::Status SendGratuitousArpOn(int shared_fd, const std::string& interface,
                                 const std::string& ipv4) {
  absl::StatusOr<IpBytes> ip = ParseIp(ipv4);
  if (!ip.ok()) return ip.status();
  if (ip->family != AF_INET || ip->IsMulticast() || ip->IsUnspecified() ||
      ip->WithHostBitsSet(0) == *ip) {
    return absl::InvalidArgumentError(
        absl::StrCat("gratuitous ARP: ", ipv4, " is not a unicast IPv4 address"));
  }
  const std::string what = absl::StrCat("gratuitous ARP for ", ipv4, " on ", interface);
  absl::StatusOr<Link> link = OpenLink(interface, what, shared_fd);
  if (!link.ok()) return link.status();

  for (const uint16_t op : {kArpRequest, kArpReply}) {
    uint8_t frame[kMinFrameSize] = {};
    uint8_t* arp = PutEthernet(frame, kBroadcastMac, link->mac, ETH_P_ARP);
    PutU16(arp, ARPHRD_ETHER);
    PutU16(arp + 2, ETH_P_IP);
    arp[4] = kMacSize;
    arp[5] = 4;
    PutU16(arp + 6, op);
    std::memcpy(arp + 8, link->mac.data(), kMacSize);                        // sender MAC
    std::memcpy(arp + 14, ip->data(), 4);                                    // sender IP
    if (op == kArpReply) std::memcpy(arp + 18, link->mac.data(), kMacSize);  // target MAC
    std::memcpy(arp + 24, ip->data(), 4);                                    // target IP
    static_assert(kEthHeaderSize + kArpSize <= kMinFrameSize, "ARP fits the minimum frame");
    if (absl::Status s =
            SendFrame(*link, kBroadcastMac, ETH_P_ARP, frame, sizeof(frame),
                      absl::StrCat(what, op == kArpRequest ? " (request)" : " (reply)"));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status SendUnsolicitedNeighbourAdvertOn(int shared_fd, const std::string& interface,
                                              const std::string& ipv6) {
  absl::StatusOr<IpBytes> ip = ParseIp(ipv6);
  if (!ip.ok()) return ip.status();
  if (ip->family != AF_INET6 || ip->IsMulticast() || ip->IsUnspecified()) {
    return absl::InvalidArgumentError(
        absl::StrCat("neighbour advertisement: ", ipv6, " is not a unicast IPv6 address"));
  }
  const std::string what = absl::StrCat("neighbour advertisement for ", ipv6, " on ", interface);
  absl::StatusOr<Link> link = OpenLink(interface, what, shared_fd);
  if (!link.ok()) return link.status();

  uint8_t frame[kEthHeaderSize + kIpv6HeaderSize + kNaSize] = {};
  uint8_t* ip6 = PutEthernet(frame, kAllNodesMac, link->mac, ETH_P_IPV6);
  ip6[0] = 0x60;  // version 6, traffic class and flow label 0
  PutU16(ip6 + 4, kNaSize);
  ip6[6] = kIcmpv6;
  ip6[7] = kNdHopLimit;
  std::memcpy(ip6 + 8, ip->data(), 16);
  std::memcpy(ip6 + 24, kAllNodes.data(), 16);
  uint8_t* na = ip6 + kIpv6HeaderSize;
  na[0] = kNeighbourAdvert;
  na[4] = kNaOverrideFlag;
  std::memcpy(na + 8, ip->data(), 16);
  na[24] = kOptionTargetLinkAddress;
  na[25] = 1;  // option length in units of 8 bytes
  std::memcpy(na + 26, link->mac.data(), kMacSize);
  PutU16(na + 2, Icmpv6Checksum(ip6 + 8, ip6 + 24, na, kNaSize));
  static_assert(sizeof(frame) >= kMinFrameSize, "no padding needed");
  return SendFrame(*link, kAllNodesMac, ETH_P_IPV6, frame, sizeof(frame), what);
}

absl::Status AnnounceOn(int shared_fd, const std::string& interface,
                        const std::string& address) {
  absl::StatusOr<IpBytes> ip = ParseIp(address);
  if (!ip.ok()) return ip.status();
  return ip->family == AF_INET ? SendGratuitousArpOn(shared_fd, interface, address)
                               : SendUnsolicitedNeighbourAdvertOn(shared_fd, interface, address);
}

}  // namespace

absl::Status SendGratuitousArp(const std::string& interface, const std::string& ipv4) {
  return SendGratuitousArpOn(-1, interface, ipv4);
}

absl::Status SendUnsolicitedNeighbourAdvert(const std::string& interface, const std::string& ipv6) {
  return SendUnsolicitedNeighbourAdvertOn(-1, interface, ipv6);
}

absl::Status Announce(const std::string& interface, const std::string& address) {
  return AnnounceOn(-1, interface, address);
}

absl::StatusOr<Announcer> Announcer::Open() {
  UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    const int err = errno;
    return absl::Status(absl::ErrnoToStatusCode(err),
                        absl::StrCat("cannot open a packet socket for announcements: ",
                                     std::strerror(err),
                                     err == EPERM ? " (needs CAP_NET_RAW)" : ""));
  }
  Announcer a;
  a.fd_ = std::move(fd);
  return a;
}

absl::Status Announcer::Announce(const std::string& interface, const std::string& address) const {
  return AnnounceOn(fd_.get(), interface, address);
}

}  // namespace hacluster::vip
