#include "agent/vip/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace hacluster::vip {

bool IpBytes::SharesPrefix(const IpBytes& other, int prefix_length) const {
  if (family != other.family || prefix_length < 0 || prefix_length > max_prefix()) return false;
  const int whole = prefix_length / 8;
  if (std::memcmp(bytes.data(), other.bytes.data(), static_cast<size_t>(whole)) != 0) return false;
  const int rest = prefix_length % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (bytes[whole] & mask) == (other.bytes[whole] & mask);
}

IpBytes IpBytes::WithHostBitsSet(int prefix_length) const {
  IpBytes out = *this;
  for (int bit = prefix_length < 0 ? 0 : prefix_length; bit < max_prefix(); ++bit) {
    out.bytes[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  }
  return out;
}

bool IpBytes::IsMulticast() const {
  return family == AF_INET ? (bytes[0] & 0xF0) == 0xE0 : bytes[0] == 0xFF;
}

bool IpBytes::IsUnspecified() const {
  for (size_t i = 0; i < size(); ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

std::string IpBytes::ToString() const {
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(family, bytes.data(), text, sizeof(text)) == nullptr) return "?";
  return text;
}

absl::StatusOr<IpBytes> ParseIp(absl::string_view text) {
  const std::string s(text);
  IpBytes ip;
  if (::inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (::inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a numeric IPv4 or IPv6 address"));
}

IpBytes IpFromBytes(int family, const void* data) {
  IpBytes ip;
  ip.family = family;
  std::memcpy(ip.bytes.data(), data, ip.size());
  return ip;
}

}  // namespace hacluster::vip
