// The numeric form of a virtual IP's address text, shared by the netlink and
// announcement code: parsing ("192.0.2.50", "2001:db8::50"; no names, no
// zone), formatting, and prefix arithmetic.
//
// Thread-safety: plain values and functions; safe from any thread.
#ifndef HACLUSTER_AGENT_VIP_IP_ADDRESS_H_
#define HACLUSTER_AGENT_VIP_IP_ADDRESS_H_

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hacluster::vip {

// An IPv4 or IPv6 address in network byte order.
struct IpBytes {
  int family = AF_UNSPEC;           // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  // the first size() bytes are used

  // 4 for IPv4, 16 for IPv6.
  size_t size() const { return family == AF_INET ? 4 : 16; }
  // 32 or 128.
  int max_prefix() const { return family == AF_INET ? 32 : 128; }
  const uint8_t* data() const { return bytes.data(); }
  // True when the first `prefix_length` bits equal those of `other` (same
  // family). A prefix of 0 contains everything of the family.
  bool SharesPrefix(const IpBytes& other, int prefix_length) const;
  // The address with every bit after the first `prefix_length` set: the
  // IPv4 broadcast address of the subnet.
  IpBytes WithHostBitsSet(int prefix_length) const;
  // True for 224.0.0.0/4 and ff00::/8.
  bool IsMulticast() const;
  // True for 0.0.0.0 and ::.
  bool IsUnspecified() const;
  // "192.0.2.50", "2001:db8::50".
  std::string ToString() const;
  bool operator==(const IpBytes& other) const {
    return family == other.family && bytes == other.bytes;
  }
};

// Parses a numeric IPv4 or IPv6 address. InvalidArgument quoting the text
// otherwise.
absl::StatusOr<IpBytes> ParseIp(absl::string_view text);

// The address of family `family` (AF_INET or AF_INET6) whose 4 or 16 bytes
// start at `data` (a netlink attribute, a packet field).
IpBytes IpFromBytes(int family, const void* data);

}  // namespace hacluster::vip

#endif  // HACLUSTER_AGENT_VIP_IP_ADDRESS_H_
