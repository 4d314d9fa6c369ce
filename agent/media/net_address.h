// Numeric socket addresses for the UDP media and the pinger: parsing the
// spec's address strings (no name lookups), and formatting the source of a
// received packet into a caller's buffer without allocating, so that the
// per-packet path stays allocation-free.
//
// Thread-safety: plain values and functions; safe from any thread.
#ifndef HACLUSTER_AGENT_MEDIA_NET_ADDRESS_H_
#define HACLUSTER_AGENT_MEDIA_NET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hacluster::media {

// An IPv4 or IPv6 socket address, ready for bind(2) and sendto(2).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* mutable_get() { return reinterpret_cast<sockaddr*>(&storage); }
  uint16_t port() const;
  void set_port(uint16_t port);
  // True for 0.0.0.0 and ::.
  bool IsWildcard() const;
  // True for 224.0.0.0/4 and ff00::/8.
  bool IsMulticast() const;
  // Same family, address and (IPv6) scope; ports are not compared.
  bool SameHost(const SocketAddress& other) const;
};

// Parses a numeric address: "192.0.2.1", "2001:db8::1", "fe80::1%eth1" or
// "fe80::1%2" (an interface name as scope is looked up with
// if_nametoindex). InvalidArgument naming `host` when it is not one.
absl::StatusOr<SocketAddress> ParseNumericAddress(absl::string_view host, uint16_t port);

// The wildcard address (0.0.0.0 or ::) of `family` with `port`.
SocketAddress WildcardAddress(int family, uint16_t port);

// Room for any text FormatHost/FormatHostPort write.
inline constexpr size_t kAddressTextSize = 80;

// Writes the host of `sa` ("192.0.2.12", "2001:db8::1", "fe80::1%2") into
// `buf` and returns a view of it. An IPv4-mapped IPv6 address is written as
// IPv4. An unknown family or a short length gives "?".
absl::string_view FormatHost(const sockaddr* sa, socklen_t length,
                             char (&buf)[kAddressTextSize]);

// As FormatHost, with the port: "192.0.2.12:694", "[2001:db8::1]:694".
absl::string_view FormatHostPort(const sockaddr* sa, socklen_t length,
                                 char (&buf)[kAddressTextSize]);

// FormatHostPort as a string, for descriptions and error messages.
std::string ToString(const SocketAddress& address);

}  // namespace hacluster::media

#endif  // HACLUSTER_AGENT_MEDIA_NET_ADDRESS_H_
