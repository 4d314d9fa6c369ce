#include "migrate/authkeys_parser.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

using config::Severity;

TEST(AuthkeysParserTest, Sha1KeyIsActive) {
  AuthkeysParse p = ParseAuthkeys("auth 1\n1 sha1 3c6e0b8a9c15224a8228b9a98ca1531d\n", "authkeys");
  ASSERT_TRUE(p.diagnostics.empty()) << config::FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.auth.active_key(), 1u);
  ASSERT_EQ(p.auth.keys_size(), 1);
  EXPECT_EQ(p.auth.keys(0).id(), 1u);
  EXPECT_EQ(p.auth.keys(0).method(), spec::v1::AUTH_METHOD_SHA1);
  EXPECT_EQ(p.auth.keys(0).secret(), "3c6e0b8a9c15224a8228b9a98ca1531d");
  EXPECT_EQ(p.auth_line, 1);
  EXPECT_EQ(p.key_lines, std::vector<int>{2});
}

TEST(AuthkeysParserTest, CrcAndSeveralKeys) {
  AuthkeysParse p =
      ParseAuthkeys("# keys\nauth 2\n1 md5 3c6e0b8a9c15224a\n2 crc\n3 SHA1 abcdefghijklmnop\n",
                    "authkeys");
  ASSERT_TRUE(p.diagnostics.empty()) << config::FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.auth.active_key(), 2u);
  ASSERT_EQ(p.auth.keys_size(), 3);
  EXPECT_EQ(p.auth.keys(0).secret(), "3c6e0b8a9c15224a");
  EXPECT_EQ(p.auth.keys(1).method(), spec::v1::AUTH_METHOD_CRC);
  EXPECT_EQ(p.auth.keys(1).secret(), "");
  EXPECT_EQ(p.auth.keys(2).method(), spec::v1::AUTH_METHOD_SHA1);
  EXPECT_EQ(p.key_lines, (std::vector<int>{3, 4, 5}));
}

// Heartbeat reads key lines with sscanf("%d%s%s"): the secret is one word.
TEST(AuthkeysParserTest, SecretIsTheFirstWordAsHeartbeatReadsIt) {
  AuthkeysParse p = ParseAuthkeys("auth 1\n1 sha1 key with spaces\n", "authkeys");
  ASSERT_EQ(p.auth.keys_size(), 1);
  EXPECT_EQ(p.auth.keys(0).secret(), "key");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 2,
                            "key 1: Heartbeat takes only the first word after the method as "
                            "the secret and ignores the 2 words after it"))
      << config::FormatDiagnostics(p.diagnostics);
}

// Diagnostics end up in terminals and CI logs: none may quote a secret, nor
// the words after it (the rest of a secret written with blanks).
TEST(AuthkeysParserTest, NoDiagnosticContainsTheSecret) {
  const std::string text =
      "auth 1 s3cretA\n"             // a key pasted onto the auth line
      "1 sha1 s3cretB s3cretC\n"     // words after the secret
      "2 crc s3cretD s3cretE\n"      // crc with a secret
      "3 s3cretF\n"                  // a secret without its method
      "s3cretG\n"                    // a secret on its own line
      "4 md5 s3cretH # note\n"
      "4 md5 s3cretI\n";             // duplicate key
  AuthkeysParse p = ParseAuthkeys(text, "authkeys");
  ASSERT_GE(p.diagnostics.size(), 6u) << config::FormatDiagnostics(p.diagnostics);
  for (const config::Diagnostic& d : p.diagnostics) {
    EXPECT_FALSE(absl::StrContains(d.message, "s3cret")) << config::FormatDiagnostic(d);
  }
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 1,
                            "'auth 1' is followed by 1 word that Heartbeat ignores"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 2,
                            "ignores the 1 word after it"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 3,
                            "key 2 uses crc, which takes no secret, yet 2 words follow the "
                            "method"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 4,
                            "key 3 has an unknown method"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 5,
                            "the first word is neither 'auth' nor a key number"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 7,
                            "key 4 is defined twice (also at line 6)"));
}

// Heartbeat reads the line with sscanf("auth %d") and ignores the rest.
TEST(AuthkeysParserTest, AuthLineWithTrailingCommentIsAccepted) {
  AuthkeysParse p =
      ParseAuthkeys("auth 2   # the sha1 key\n2 sha1 3c6e0b8a9c15224a\n", "authkeys");
  EXPECT_TRUE(p.diagnostics.empty()) << config::FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.auth.active_key(), 2u);
  EXPECT_EQ(p.auth_line, 1);
  // Compared between nodes as Heartbeat reads it.
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[0], (std::pair<int, std::string>{1, "auth 2"}));
}

TEST(AuthkeysParserTest, AuthLineWithTrailingWordsWarns) {
  AuthkeysParse p = ParseAuthkeys("auth 2 is sha1\n2 sha1 k\n", "authkeys");
  EXPECT_EQ(p.auth.active_key(), 2u);
  EXPECT_EQ(CountSeverity(p.diagnostics, Severity::kError), 0)
      << config::FormatDiagnostics(p.diagnostics);
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 1,
                            "'auth 2' is followed by 2 words that Heartbeat ignores and so "
                            "does the conversion; start a trailing note with '#'"))
      << config::FormatDiagnostics(p.diagnostics);
}

// Only a line starting with '#' is a comment; a '#' inside a key is key text.
TEST(AuthkeysParserTest, HashInsideASecretIsPartOfIt) {
  AuthkeysParse p =
      ParseAuthkeys("  # comment\nauth 1\n1 sha1 s#notcomment-0123456 # trailing note\n",
                    "authkeys");
  ASSERT_TRUE(p.diagnostics.empty()) << config::FormatDiagnostics(p.diagnostics);
  ASSERT_EQ(p.auth.keys_size(), 1);
  EXPECT_EQ(p.auth.keys(0).secret(), "s#notcomment-0123456");
}

// The MOR wiki's recipe pipes `dd ... | openssl md5` into authkeys, whose
// output starts with "(stdin)= " (older openssl) or "MD5(stdin)= " (newer):
// Heartbeat's key is that label, the same on every cluster built from it.
TEST(AuthkeysParserTest, OpensslLabelAsSecretWarns) {
  for (const char* label : {"(stdin)=", "MD5(stdin)=", "SHA1(stdin)="}) {
    AuthkeysParse p = ParseAuthkeys(
        std::string("auth 1\n1 sha1 ") + label + " 3c6e0b8a9c15224a8228b9a98ca1531d\n",
        "authkeys");
    ASSERT_EQ(p.auth.keys_size(), 1);
    EXPECT_EQ(p.auth.keys(0).secret(), label);
    EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 2,
                              std::string("key 1's secret is '") + label +
                                  "', the label `openssl md5` prints before the digest"))
        << config::FormatDiagnostics(p.diagnostics);
    EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 2,
                              "has this same, public key"));
    // Only that warning: not also "words after the secret are ignored".
    EXPECT_EQ(p.diagnostics.size(), 1u) << config::FormatDiagnostics(p.diagnostics);
  }
}

// Short secrets and the samples of Heartbeat's documentation are weak; a
// short one is not quoted.
TEST(AuthkeysParserTest, WeakSecretsWarn) {
  AuthkeysParse p = ParseAuthkeys(
      "auth 1\n1 sha1 key-for-sha1-any-text-you-want\n2 md5 Hello!\n3 sha1 s3cret\n"
      "4 md5 0123456789abcde\n5 sha1 0123456789abcdef\n6 crc\n",
      "authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 2,
                            "key 1's secret is 'key-for-sha1-any-text-you-want', the sample of "
                            "Heartbeat's documentation"))
      << config::FormatDiagnostics(p.diagnostics);
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 3,
                            "key 2's secret is 'Hello!', the sample"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 4,
                            "key 3's secret is only 6 characters long"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "authkeys", 5,
                            "key 4's secret is only 15 characters long"));
  EXPECT_EQ(p.diagnostics.size(), 4u) << config::FormatDiagnostics(p.diagnostics);  // 16: fine
  for (const config::Diagnostic& d : p.diagnostics) {
    EXPECT_EQ(d.message.find("s3cret"), std::string::npos) << d.message;
    EXPECT_EQ(d.message.find("0123456789abcde"), std::string::npos) << d.message;
  }
}

TEST(AuthkeysParserTest, AuthNamingMissingKeyIsAnError) {
  AuthkeysParse p = ParseAuthkeys("auth 2\n1 sha1 secret\n", "/etc/ha.d/authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "/etc/ha.d/authkeys", 1,
                            "auth 2 names key 2, but no line '2 METHOD KEY' follows"))
      << config::FormatDiagnostics(p.diagnostics);
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "/etc/ha.d/authkeys", 1,
                            "use one of the listed keys (1)"));
  EXPECT_EQ(p.auth.active_key(), 0u);
}

TEST(AuthkeysParserTest, MissingSecretIsAnErrorAtKeyLine) {
  AuthkeysParse p = ParseAuthkeys("auth 1\n1 md5\n", "authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 2,
                            "key 1 uses md5 but has no secret; write '1 md5 SECRET'"));
}

TEST(AuthkeysParserTest, UnknownMethodAndBadIds) {
  AuthkeysParse p = ParseAuthkeys("auth 1\n1 sha256 x\n16 sha1 y\n1 crc\n1 crc\n", "authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 2,
                            "unknown method 'sha256'; Heartbeat's methods are crc, md5 and "
                            "sha1"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 3,
                            "'16' is neither 'auth' nor a key number"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 5,
                            "key 1 is defined twice (also at line 4)"));
}

TEST(AuthkeysParserTest, NoAuthLineIsAnError) {
  AuthkeysParse p = ParseAuthkeys("1 sha1 x\n", "authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 0,
                            "no 'auth N' line"));
}

TEST(AuthkeysParserTest, CrcWithSecretIsAnErrorAsInHeartbeat) {
  AuthkeysParse p = ParseAuthkeys("auth 1\n1 crc junk\n", "authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 2,
                            "key 1 uses crc, which takes no secret, yet 1 word follows "
                            "the method; Heartbeat refuses this too: remove it"))
      << config::FormatDiagnostics(p.diagnostics);
}

TEST(AuthkeysParserTest, SecondAuthLineIsAnError) {
  AuthkeysParse p = ParseAuthkeys("auth 1\nauth 1\n1 crc\n", "authkeys");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "authkeys", 2,
                            "second 'auth' line (the first is at line 1)"));
}

}  // namespace
}  // namespace hacluster::migrate
