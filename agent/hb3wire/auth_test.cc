#include "agent/hb3wire/auth.h"

#include <string>

#include "agent/hb3wire/ha_msg.h"
#include "agent/wire/keyring.h"
#include "gtest/gtest.h"

namespace hacluster::hb3wire {
namespace {

using spec::v1::AUTH_METHOD_CRC;
using spec::v1::AUTH_METHOD_MD5;
using spec::v1::AUTH_METHOD_SHA1;
using spec::v1::AUTH_METHOD_SHA256;

TEST(CrcTokenTest, IsPosixCrcWithoutLengthInLowercaseHex) {
  // CRC-32/POSIX check value of "123456789" (no length appended).
  EXPECT_EQ(CrcToken("123456789"), "765e7680");
  // No leading zeros: Heartbeat prints "%lx".
  EXPECT_EQ(CrcToken(""), "ffffffff");
}

TEST(AuthenticatorTest, HmacTokensAreRfc2202Vectors) {
  wire::Keyring md5({{2, AUTH_METHOD_MD5, "Jefe"}}, 2);
  Authenticator a(&md5);
  absl::StatusOr<std::string> s = a.Sign("what do ya want for nothing?");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "2 750c783e6ab0b503eaa86e310a5db738");

  wire::Keyring sha1({{3, AUTH_METHOD_SHA1, "Jefe"}}, 3);
  a.SetKeyring(&sha1);
  s = a.Sign("what do ya want for nothing?");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, "3 effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(AuthenticatorTest, VerifiesWithAnyKeyOfTheKeyring) {
  wire::Keyring ring({{1, AUTH_METHOD_SHA1, "old"}, {2, AUTH_METHOD_MD5, "new"}}, 2);
  Authenticator a(&ring);
  HaMessage m;
  m.Add("t", "status");
  const std::string body = m.Serialize();
  absl::StatusOr<std::string> s = a.Sign(body);
  ASSERT_TRUE(s.ok());
  const std::string datagram = absl::StrCat(body, s->size(), ":", *s, ",");
  absl::StatusOr<ParsedFrame> f = ParseFrame(datagram);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(a.Verify(f->signed_part, *f->auth_index, f->auth_token),
            Authenticator::Verdict::kOk);

  wire::Keyring old_only({{1, AUTH_METHOD_SHA1, "old"}}, 1);
  Authenticator b(&old_only);
  absl::StatusOr<std::string> s1 = b.Sign(body);
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(a.Verify(body, 1, s1->substr(2)), Authenticator::Verdict::kOk);
  EXPECT_EQ(a.Verify(body, 7, s1->substr(2)), Authenticator::Verdict::kUnknownKey);
  // The same token under the other key, a wrong secret, an altered body.
  EXPECT_EQ(a.Verify(body, 2, s1->substr(2)), Authenticator::Verdict::kBadToken);
  wire::Keyring wrong({{1, AUTH_METHOD_SHA1, "guess"}}, 1);
  Authenticator c(&wrong);
  EXPECT_EQ(c.Verify(body, 1, s1->substr(2)), Authenticator::Verdict::kBadToken);
  std::string altered = body;
  altered[5] ^= 1;
  EXPECT_EQ(a.Verify(altered, 1, s1->substr(2)), Authenticator::Verdict::kBadToken);
}

TEST(AuthenticatorTest, CrcNeedsNoSecretAndSha256IsRefused) {
  wire::Keyring crc({{1, AUTH_METHOD_CRC, ""}}, 1);
  Authenticator a(&crc);
  absl::StatusOr<std::string> s = a.Sign("123456789");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "1 765e7680");
  EXPECT_EQ(a.Verify("123456789", 1, "765e7680"), Authenticator::Verdict::kOk);
  EXPECT_EQ(a.Verify("123456789", 1, "0765e7680"), Authenticator::Verdict::kBadToken);

  wire::Keyring sha256({{1, AUTH_METHOD_SHA256, "k"}}, 1);
  Authenticator b(&sha256);
  EXPECT_FALSE(b.Sign("x").ok());
  EXPECT_EQ(b.Verify("x", 1, "00"), Authenticator::Verdict::kUnsupportedMethod);
}

}  // namespace
}  // namespace hacluster::hb3wire
