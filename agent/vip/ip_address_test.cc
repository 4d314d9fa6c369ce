#include "agent/vip/ip_address.h"

#include "gtest/gtest.h"

namespace hacluster::vip {
namespace {

TEST(IpAddressTest, ParsesBothFamiliesAndFormatsThemBack) {
  absl::StatusOr<IpBytes> v4 = ParseIp("192.0.2.50");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->size(), 4u);
  EXPECT_EQ(v4->ToString(), "192.0.2.50");
  absl::StatusOr<IpBytes> v6 = ParseIp("2001:db8:0:0::50");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->max_prefix(), 128);
  EXPECT_EQ(v6->ToString(), "2001:db8::50");
}

TEST(IpAddressTest, RejectsNamesZonesAndPrefixes) {
  for (const char* text :
       {"", "node01", "192.0.2.50/24", "fe80::1%eth0", "192.0.2", " 192.0.2.1"}) {
    absl::StatusOr<IpBytes> ip = ParseIp(text);
    EXPECT_EQ(ip.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(ParseIp("node01").status().message(), "'node01' is not a numeric IPv4 or IPv6 address");
}

TEST(IpAddressTest, SharesPrefixComparesOnlyTheLeadingBits) {
  const IpBytes a = *ParseIp("192.0.2.150");
  EXPECT_TRUE(a.SharesPrefix(*ParseIp("192.0.2.128"), 26));
  EXPECT_TRUE(a.SharesPrefix(*ParseIp("192.0.2.0"), 24));
  EXPECT_FALSE(a.SharesPrefix(*ParseIp("192.0.2.0"), 25));
  EXPECT_TRUE(a.SharesPrefix(*ParseIp("10.0.0.0"), 0));
  EXPECT_FALSE(a.SharesPrefix(*ParseIp("192.0.2.151"), 32));
  EXPECT_FALSE(a.SharesPrefix(*ParseIp("::"), 0));  // other family
  EXPECT_FALSE(a.SharesPrefix(*ParseIp("192.0.2.150"), 33));
  const IpBytes b = *ParseIp("2001:db8:2:ff::50");
  EXPECT_TRUE(b.SharesPrefix(*ParseIp("2001:db8:2::"), 56));
  EXPECT_FALSE(b.SharesPrefix(*ParseIp("2001:db8:2::"), 64));
}

TEST(IpAddressTest, WithHostBitsSetIsTheSubnetsBroadcast) {
  EXPECT_EQ(ParseIp("192.0.2.50")->WithHostBitsSet(24).ToString(), "192.0.2.255");
  EXPECT_EQ(ParseIp("198.51.100.50")->WithHostBitsSet(25).ToString(), "198.51.100.127");
  EXPECT_EQ(ParseIp("198.51.100.50")->WithHostBitsSet(30).ToString(), "198.51.100.51");
  EXPECT_EQ(ParseIp("203.0.113.7")->WithHostBitsSet(32).ToString(), "203.0.113.7");
  EXPECT_EQ(ParseIp("0.0.0.0")->WithHostBitsSet(0).ToString(), "255.255.255.255");
}

TEST(IpAddressTest, ClassifiesMulticastAndUnspecified) {
  EXPECT_TRUE(ParseIp("224.0.0.1")->IsMulticast());
  EXPECT_TRUE(ParseIp("239.255.255.255")->IsMulticast());
  EXPECT_FALSE(ParseIp("192.0.2.1")->IsMulticast());
  EXPECT_TRUE(ParseIp("ff02::1")->IsMulticast());
  EXPECT_FALSE(ParseIp("2001:db8::1")->IsMulticast());
  EXPECT_TRUE(ParseIp("0.0.0.0")->IsUnspecified());
  EXPECT_TRUE(ParseIp("::")->IsUnspecified());
  EXPECT_FALSE(ParseIp("::1")->IsUnspecified());
}

TEST(IpAddressTest, IpFromBytesReadsTheFamilysLength) {
  const unsigned char raw[16] = {192, 0, 2, 9, 0xAA, 0xBB};
  const IpBytes ip = IpFromBytes(AF_INET, raw);
  EXPECT_EQ(ip.ToString(), "192.0.2.9");
  EXPECT_EQ(ip, *ParseIp("192.0.2.9"));  // nothing read past 4 bytes
}

}  // namespace
}  // namespace hacluster::vip
