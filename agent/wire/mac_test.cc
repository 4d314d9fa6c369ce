#include "agent/wire/mac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
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
  mac->Compute(data, out);
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

// RFC 4231 test case 6 and RFC 2202 test case 6: a key longer than the
// 64-byte block is hashed first.
TEST(MacTest, KeysLongerThanABlockAreHashedFirst) {
  const char* data = "Test Using Larger Than Block-Size Key - Hash Key First";
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_SHA256, std::string(131, '\xaa'), data),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_SHA1, std::string(80, '\xaa'), data),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  EXPECT_EQ(HexMac(spec::v1::AUTH_METHOD_MD5, std::string(80, '\xaa'), data),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

// Every key length around the block size and every data length up to a few
// blocks give what OpenSSL's own one-shot HMAC() gives.
TEST(MacTest, MatchesOpenSslHmacForKeyAndDataLengthsAroundTheBlockSize) {
  std::mt19937 rng(7);
  struct Method {
    AuthMethod method;
    const EVP_MD* md;
  };
  for (Method m : {Method{spec::v1::AUTH_METHOD_SHA256, EVP_sha256()},
                   Method{spec::v1::AUTH_METHOD_SHA1, EVP_sha1()},
                   Method{spec::v1::AUTH_METHOD_MD5, EVP_md5()}}) {
    for (size_t key_len : {0, 1, 20, 63, 64, 65, 100, 200}) {
      std::string key(key_len, '\0');
      for (char& c : key) c = static_cast<char>(rng());
      absl::StatusOr<Mac> mac = Mac::Create(m.method, key);
      ASSERT_TRUE(mac.ok());
      for (size_t data_len = 0; data_len < 300; data_len += 7) {
        std::string data(data_len, '\0');
        for (char& c : data) c = static_cast<char>(rng());
        uint8_t ours[kMaxMacSize];
        mac->Compute(data, ours);
        unsigned char theirs[EVP_MAX_MD_SIZE];
        unsigned int theirs_len = 0;
        HMAC(m.md, key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), theirs,
             &theirs_len);
        ASSERT_EQ(theirs_len, mac->size());
        ASSERT_EQ(std::string(ours, ours + mac->size()), std::string(theirs, theirs + theirs_len))
            << "method " << static_cast<int>(m.method) << " key " << key_len << " data "
            << data_len;
      }
    }
  }
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
  mac->Compute("what do ya want for nothing?", first);
  mac->Compute("something else", other);
  mac->Compute("what do ya want for nothing?", second);
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
    mac->Compute("data", out);
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
