#include "migrate/ip_text.h"

#include <arpa/inet.h>

#include <cstdint>

namespace hacluster::migrate {

namespace {
template <int kFamily, typename Buffer>
bool Parse(absl::string_view s, Buffer* out) {
  if (s.empty() || s.size() > 64) return false;
  std::string copy(s);  // inet_pton needs a NUL-terminated string
  if (copy.find('\0') != std::string::npos) return false;
  return inet_pton(kFamily, copy.c_str(), out) == 1;
}
}  // namespace

bool IsIpv4(absl::string_view s) {
  in_addr a;
  return Parse<AF_INET>(s, &a);
}

bool IsIpv6(absl::string_view s) {
  in6_addr a;
  return Parse<AF_INET6>(s, &a);
}

std::optional<int> NetmaskToPrefix(absl::string_view s) {
  in_addr a;
  if (!Parse<AF_INET>(s, &a)) return std::nullopt;
  uint32_t mask = ntohl(a.s_addr);
  int prefix = 0;
  while (prefix < 32 && (mask & (uint32_t{1} << (31 - prefix))) != 0) ++prefix;
  uint32_t expected = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  if (mask != expected) return std::nullopt;
  return prefix;
}

std::optional<int> FindifPrefix(absl::string_view s) {
  in_addr a;
  if (!Parse<AF_INET>(s, &a)) return std::nullopt;
  uint32_t mask = ntohl(a.s_addr);
  if (mask == 0) return std::nullopt;
  return 32 - __builtin_ctz(mask);
}

}  // namespace hacluster::migrate
