#include "agent/wire/mac.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace hacluster::wire {
namespace {

using spec::v1::AuthMethod;

// The MAC of `data` as lower-case hex.
std::string HexMac(AuthMethod method, absl::string_view secret, absl::string_view data) {
  absl::StatusOr<Mac> mac = Mac::Create(method, secret);
  EXPECT_TRUE(mac.ok()) << mac.status();
  if (!mac.ok()) return "";
  uint8_t out[kMaxMacSize];
  EXPECT_TRUE(mac->Compute(data, out).ok());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(out), mac->size()));
}

TEST(Crc32Test, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(MacSizeTest, IsTheDigestSizeOfEachMethod) {
  EXPECT_EQ(MacSize(spec::v1::AUTH_METHOD_SHA256), 32u);
  EXPECT_EQ(MacSize(spec::v1::AUTH_METHOD_UNSPECIFIED), 32u);
  EXPECT_EQ(MacSize(spec::v1::AUTH_METHOD_SHA1), 20u);
  EXPECT_EQ(MacSize(spec::v1::AUTH_METHOD_MD5), 16u);
  EXPECT_EQ(MacSize(spec::v1::AUTH_METHOD_CRC), 4u);
  EXPECT_EQ(MacSize(static_cast<AuthMethod>(9)), 0u);
}

// RFC 4231 test case 2.
TEST(MacTest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_SHA256, "Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// RFC 2202 test case 2 (SHA-1 and MD5).
TEST(MacTest, HmacSha1MatchesRfc2202) {
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_SHA1, "Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(MacTest, HmacMd5MatchesRfc2202) {
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_MD5, "Jefe", "what do ya want for nothing?"),
            "750c783e6ab0b503eaa86e310a5db738");
}

TEST(MacTest, CrcMacIsTheBigEndianCrc32AndIgnoresTheSecret) {
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_CRC, "ignored", "123456789"), "cbf43926");
}

TEST(MacTest, RepeatedComputationsGiveTheSameMac) {
  absl::StatusOr<Mac> mac = Mac::Create(spec::v1::AUTH_METHOD_SHA256, "Jefe");
  ASSERT_TRUE(mac.ok());
  uint8_t first[kMaxMacSize];
  uint8_t other[kMaxMacSize];
  uint8_t second[kMaxMacSize];
  ASSERT_TRUE(mac->Compute("what do ya want for nothing?", first).ok());
  ASSERT_TRUE(mac->Compute("something else", other).ok());
  ASSERT_TRUE(mac->Compute("what do ya want for nothing?", second).ok());
  EXPECT_EQ(std::string(first, first + 32), std::string(second, second + 32));
  EXPECT_NE(std::string(first, first + 32), std::string(other, other + 32));
}

TEST(MacTest, VerifyAcceptsTheMacAndRejectsAnyChange) {
  for (AuthMethod method : {spec::v1::AUTH_METHOD_SHA256, spec::v1::AUTH_METHOD_SHA1,
                            spec::v1::AUTH_METHOD_MD5, spec::v1::AUTH_METHOD_CRC}) {
    SCOPED_TRACE(static_cast<int>(method));
    absl::StatusOr<Mac> mac = Mac::Create(method, "secret");
    ASSERT_TRUE(mac.ok());
    uint8_t out[kMaxMacSize];
    ASSERT_TRUE(mac->Compute("data", out).ok());
    std::string good(reinterpret_cast<const char*>(out), mac->size());
    EXPECT_TRUE(mac->Verify("data", good));
    EXPECT_FALSE(mac->Verify("datA", good));
    std::string flipped = good;
    flipped.back() ^= 1;
    EXPECT_FALSE(mac->Verify("data", flipped));
    EXPECT_FALSE(mac->Verify("data", good.substr(1)));
    EXPECT_FALSE(mac->Verify("data", good + "x"));
  }
}

TEST(MacTest, DifferentSecretsGiveDifferentHmacs) {
  EXPECT_NE(HexMac(spec::v1::AUTH_METHOD_SHA256, "one", "data"),
            HexMac(spec::v1::AUTH_METHOD_SHA256, "two", "data"));
}

TEST(MacTest, UnknownMethodIsRefused) {
  absl::StatusOr<Mac> mac = Mac::Create(static_cast<AuthMethod>(7), "secret");
  ASSERT_FALSE(mac.ok());
  EXPECT_EQ(mac.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(mac.status().message(), "unknown authentication method 7");
}

}  // namespace
}  // namespace hacluster::wire
