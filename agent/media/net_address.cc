#include "agent/media/net_address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hacluster::media {
namespace {

const sockaddr_in* AsV4(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr_in*>(&s);
}
const sockaddr_in6* AsV6(const sockaddr_storage& s) {
  return reinterpret_cast<const sockaddr_in6*>(&s);
}

// Appends the decimal digits of `value` at buf[pos...], returns the new end.
size_t AppendDecimal(uint32_t value, char* buf, size_t pos, size_t size) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0 && pos + 1 < size) buf[pos++] = digits[--n];
  buf[pos] = '\0';
  return pos;
}

// Writes the host part; returns its length, 0 when the family is unknown.
size_t WriteHost(const sockaddr* sa, socklen_t length, char* buf, size_t size) {
  if (sa == nullptr) return 0;
  if (sa->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    if (inet_ntop(AF_INET, &v4->sin_addr, buf, size) == nullptr) return 0;
    return std::strlen(buf);
  }
  if (sa->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      if (inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], buf, size) == nullptr) return 0;
      return std::strlen(buf);
    }
    if (inet_ntop(AF_INET6, &v6->sin6_addr, buf, size) == nullptr) return 0;
    size_t pos = std::strlen(buf);
    if (v6->sin6_scope_id != 0 && pos + 2 < size) {
      buf[pos++] = '%';
      pos = AppendDecimal(v6->sin6_scope_id, buf, pos, size);
    }
    return pos;
  }
  return 0;
}

}  // namespace

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(AsV4(storage)->sin_port);
  if (family() == AF_INET6) return ntohs(AsV6(storage)->sin6_port);
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (family() == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  } else if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
  }
}

bool SocketAddress::IsWildcard() const {
  if (family() == AF_INET) return AsV4(storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (family() == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&AsV6(storage)->sin6_addr);
  return false;
}

bool SocketAddress::IsMulticast() const {
  if (family() == AF_INET) return IN_MULTICAST(ntohl(AsV4(storage)->sin_addr.s_addr));
  if (family() == AF_INET6) return IN6_IS_ADDR_MULTICAST(&AsV6(storage)->sin6_addr);
  return false;
}

bool SocketAddress::SameHost(const SocketAddress& other) const {
  if (family() != other.family()) return false;
  if (family() == AF_INET) {
    return AsV4(storage)->sin_addr.s_addr == AsV4(other.storage)->sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    return std::memcmp(&AsV6(storage)->sin6_addr, &AsV6(other.storage)->sin6_addr,
                       sizeof(in6_addr)) == 0 &&
           AsV6(storage)->sin6_scope_id == AsV6(other.storage)->sin6_scope_id;
  }
  return false;
}

absl::StatusOr<SocketAddress> ParseNumericAddress(absl::string_view host, uint16_t port) {
  SocketAddress out;
  std::string text(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  std::string scope;
  if (size_t percent = text.find('%'); percent != std::string::npos) {
    scope = text.substr(percent + 1);
    text.resize(percent);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", host, "' is not a numeric IPv4 or IPv6 address"));
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  if (host.find('%') != absl::string_view::npos) {
    uint32_t index = 0;
    if (!absl::SimpleAtoi(scope, &index)) {
      index = if_nametoindex(scope.c_str());
      if (index == 0) {
        return absl::InvalidArgumentError(absl::StrCat("'", host, "': no interface named '",
                                                       scope, "' for the scope"));
      }
    }
    v6->sin6_scope_id = index;
  }
  out.length = sizeof(sockaddr_in6);
  return out;
}

SocketAddress WildcardAddress(int family, uint16_t port) {
  SocketAddress out;
  if (family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_any;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

absl::string_view FormatHost(const sockaddr* sa, socklen_t length,
                             char (&buf)[kAddressTextSize]) {
  size_t n = WriteHost(sa, length, buf, sizeof(buf));
  if (n == 0) {
    buf[0] = '?';
    buf[1] = '\0';
    n = 1;
  }
  return absl::string_view(buf, n);
}

absl::string_view FormatHostPort(const sockaddr* sa, socklen_t length,
                                 char (&buf)[kAddressTextSize]) {
  // The host goes after a possible '[' so that IPv6 needs no copy.
  size_t n = WriteHost(sa, length, buf + 1, sizeof(buf) - 1);
  if (n == 0) {
    buf[0] = '?';
    buf[1] = '\0';
    return absl::string_view(buf, 1);
  }
  bool bracket = std::memchr(buf + 1, ':', n) != nullptr;
  size_t start = 1;
  size_t pos = 1 + n;
  if (bracket) {
    buf[0] = '[';
    start = 0;
    buf[pos++] = ']';
  }
  uint16_t port = sa->sa_family == AF_INET
                      ? ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port)
                      : ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  buf[pos++] = ':';
  pos = AppendDecimal(port, buf, pos, sizeof(buf));
  return absl::string_view(buf + start, pos - start);
}

std::string ToString(const SocketAddress& address) {
  char buf[kAddressTextSize];
  return std::string(FormatHostPort(address.get(), address.length, buf));
}

}  // namespace hacluster::media
