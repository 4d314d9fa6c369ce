// Address syntax helpers shared by the legacy parsers and writer.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_MIGRATE_IP_TEXT_H_
#define HACLUSTER_MIGRATE_IP_TEXT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace hacluster::migrate {

// Dotted-quad IPv4 address ("192.168.0.1").
bool IsIpv4(absl::string_view s);
// IPv6 address in any inet_pton form ("2001:db8::1").
bool IsIpv6(absl::string_view s);

// Prefix length of a dotted netmask ("255.255.255.224" -> 27); nullopt when
// `s` is not an IPv4 address or its one bits are not contiguous.
std::optional<int> NetmaskToPrefix(absl::string_view s);

// The prefix length Debian's IPaddr resource agent gives a dotted-quad
// netmask: its findif (resource-agents, C) takes 32 minus the mask's
// trailing zero bits, so a contiguous mask converts exactly and another
// one to the prefix its lowest one bit ends ("255.0.255.0" -> 24,
// "100.200.230.6" -> 31). nullopt for "0.0.0.0" (findif fails on it) and
// for text that is not an IPv4 address.
std::optional<int> FindifPrefix(absl::string_view s);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_IP_TEXT_H_
