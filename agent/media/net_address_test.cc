#include "agent/media/net_address.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"

namespace hacluster::media {
namespace {

TEST(ParseNumericAddressTest, ParsesIpv4WithPort) {
  absl::StatusOr<SocketAddress> a = ParseNumericAddress("192.0.2.12", 694);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->length, sizeof(sockaddr_in));
  EXPECT_EQ(a->port(), 694);
  EXPECT_EQ(ToString(*a), "192.0.2.12:694");
  EXPECT_FALSE(a->IsWildcard());
  EXPECT_FALSE(a->IsMulticast());
}

TEST(ParseNumericAddressTest, ParsesIpv6AndBracketsItWithThePort) {
  absl::StatusOr<SocketAddress> a = ParseNumericAddress("::1", 7);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->length, sizeof(sockaddr_in6));
  EXPECT_EQ(ToString(*a), "[::1]:7");
}

TEST(ParseNumericAddressTest, NumericScopeIsKept) {
  absl::StatusOr<SocketAddress> a = ParseNumericAddress("fe80::1%3", 694);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6*>(&a->storage)->sin6_scope_id, 3u);
  EXPECT_EQ(ToString(*a), "[fe80::1%3]:694");
}

TEST(ParseNumericAddressTest, InterfaceNameScopeIsLookedUp) {
  absl::StatusOr<SocketAddress> a = ParseNumericAddress("fe80::1%lo", 694);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_NE(reinterpret_cast<const sockaddr_in6*>(&a->storage)->sin6_scope_id, 0u);
}

TEST(ParseNumericAddressTest, UnknownScopeInterfaceIsNamed) {
  absl::StatusOr<SocketAddress> a = ParseNumericAddress("fe80::1%nosuch9", 694);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(), "'fe80::1%nosuch9': no interface named 'nosuch9' for the scope");
}

TEST(ParseNumericAddressTest, HostNamesAndJunkAreRefused) {
  for (const char* bad : {"node2", "", "192.0.2", "192.0.2.1:694", "[::1]", "1.2.3.256"}) {
    absl::StatusOr<SocketAddress> a = ParseNumericAddress(bad, 694);
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(a.status().message(),
              std::string("'") + bad + "' is not a numeric IPv4 or IPv6 address");
  }
}

TEST(SocketAddressTest, MulticastAndWildcard) {
  EXPECT_TRUE(ParseNumericAddress("239.255.0.1", 1)->IsMulticast());
  EXPECT_TRUE(ParseNumericAddress("ff02::1", 1)->IsMulticast());
  EXPECT_FALSE(ParseNumericAddress("203.0.113.5", 1)->IsMulticast());
  EXPECT_TRUE(WildcardAddress(AF_INET, 694).IsWildcard());
  EXPECT_TRUE(WildcardAddress(AF_INET6, 694).IsWildcard());
  EXPECT_EQ(ToString(WildcardAddress(AF_INET, 694)), "0.0.0.0:694");
  EXPECT_EQ(ToString(WildcardAddress(AF_INET6, 694)), "[::]:694");
}

TEST(SocketAddressTest, SameHostIgnoresPortButNotFamily) {
  SocketAddress a = *ParseNumericAddress("127.0.0.2", 1);
  EXPECT_TRUE(a.SameHost(*ParseNumericAddress("127.0.0.2", 2)));
  EXPECT_FALSE(a.SameHost(*ParseNumericAddress("127.0.0.3", 1)));
  EXPECT_FALSE(a.SameHost(*ParseNumericAddress("::ffff:127.0.0.2", 1)));
  a.set_port(99);
  EXPECT_EQ(a.port(), 99);
}

TEST(FormatTest, MappedIpv4IsShownAsIpv4) {
  SocketAddress a = *ParseNumericAddress("::ffff:198.51.100.7", 694);
  char buf[kAddressTextSize];
  EXPECT_EQ(FormatHostPort(a.get(), a.length, buf), "198.51.100.7:694");
  EXPECT_EQ(FormatHost(a.get(), a.length, buf), "198.51.100.7");
}

TEST(FormatTest, LongestIpv6WithScopeAndPortFits) {
  SocketAddress a =
      *ParseNumericAddress("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295", 65535);
  char buf[kAddressTextSize];
  EXPECT_EQ(std::string(FormatHostPort(a.get(), a.length, buf)),
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
}

TEST(FormatTest, UnknownFamilyOrShortLengthGivesQuestionMark) {
  sockaddr_storage s{};
  s.ss_family = AF_UNIX;
  char buf[kAddressTextSize];
  EXPECT_EQ(FormatHostPort(reinterpret_cast<sockaddr*>(&s), sizeof(s), buf), "?");
  SocketAddress a = *ParseNumericAddress("127.0.0.1", 1);
  EXPECT_EQ(FormatHost(a.get(), 4, buf), "?");
}

}  // namespace
}  // namespace hacluster::media
