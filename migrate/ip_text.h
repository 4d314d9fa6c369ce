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

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_IP_TEXT_H_
