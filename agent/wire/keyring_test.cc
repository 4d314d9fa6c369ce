#include "agent/wire/keyring.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hacluster::wire {
namespace {

using spec::v1::Auth;
using spec::v1::AuthKey;

AuthKey* AddKey(Auth* auth, uint32_t id, spec::v1::AuthMethod method, const std::string& secret) {
  AuthKey* k = auth->add_keys();
  k->set_id(id);
  k->set_method(method);
  k->set_secret(secret);
  return k;
}

TEST(KeyringTest, SingleKeyIsActiveWithoutActiveKey) {
  Auth auth;
  AddKey(&auth, 3, spec::v1::AUTH_METHOD_SHA1, "s3cret");
  absl::StatusOr<Keyring> ring = Keyring::FromSpec(auth, "");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().id, 3u);
  EXPECT_EQ(ring->active().method, spec::v1::AUTH_METHOD_SHA1);
  EXPECT_EQ(ring->active().secret, "s3cret");
}

TEST(KeyringTest, UnspecifiedMethodMeansSha256) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_UNSPECIFIED, "s3cret");
  absl::StatusOr<Keyring> ring = Keyring::FromSpec(auth, "");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().method, spec::v1::AUTH_METHOD_SHA256);
}

TEST(KeyringTest, FindsEveryKeyAndOnlyThose) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_SHA256, "old");
  AddKey(&auth, 2, spec::v1::AUTH_METHOD_SHA256, "new");
  AddKey(&auth, 15, spec::v1::AUTH_METHOD_CRC, "");
  auth.set_active_key(2);
  absl::StatusOr<Keyring> ring = Keyring::FromSpec(auth, "");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().secret, "new");
  ASSERT_NE(ring->Find(1), nullptr);
  EXPECT_EQ(ring->Find(1)->secret, "old");
  ASSERT_NE(ring->Find(15), nullptr);
  EXPECT_EQ(ring->Find(15)->method, spec::v1::AUTH_METHOD_CRC);
  EXPECT_EQ(ring->Find(0), nullptr);
  EXPECT_EQ(ring->Find(3), nullptr);
  EXPECT_EQ(ring->Find(16), nullptr);
  EXPECT_EQ(ring->Find(255), nullptr);
}

TEST(KeyringTest, CrcKeyKeepsNoSecret) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_CRC, "stray");
  absl::StatusOr<Keyring> ring = Keyring::FromSpec(auth, "");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().secret, "");
}

void ExpectInvalid(const Auth& auth, const std::string& message) {
  absl::StatusOr<Keyring> ring = Keyring::FromSpec(auth, "");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ring.status().message(), message);
}

TEST(KeyringTest, NoKeysIsAnError) {
  ExpectInvalid(Auth(), "auth has no keys: heartbeats cannot be signed");
}

TEST(KeyringTest, KeyIdOutsideOneToFifteenIsAnError) {
  Auth auth;
  AddKey(&auth, 16, spec::v1::AUTH_METHOD_SHA256, "s");
  ExpectInvalid(auth, "auth key 16: key ids are 1 to 15");
  Auth zero;
  AddKey(&zero, 0, spec::v1::AUTH_METHOD_SHA256, "s");
  ExpectInvalid(zero, "auth key 0: key ids are 1 to 15");
}

TEST(KeyringTest, RepeatedKeyIdIsAnError) {
  Auth auth;
  AddKey(&auth, 2, spec::v1::AUTH_METHOD_SHA256, "a");
  AddKey(&auth, 2, spec::v1::AUTH_METHOD_SHA256, "b");
  auth.set_active_key(2);
  ExpectInvalid(auth, "auth key 2 is configured twice");
}

TEST(KeyringTest, SeveralKeysNeedAnActiveKey) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_SHA256, "a");
  AddKey(&auth, 2, spec::v1::AUTH_METHOD_SHA256, "b");
  ExpectInvalid(auth, "auth has 2 keys but no active_key: set the key to send with");
}

TEST(KeyringTest, ActiveKeyMustBeAKey) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_SHA256, "a");
  auth.set_active_key(4);
  ExpectInvalid(auth, "auth active_key 4 is not one of the keys");
}

TEST(KeyringTest, HmacKeyWithoutSecretIsAnError) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_MD5, "");
  ExpectInvalid(auth, "auth key 1 has no secret: set secret or secret_file");
}

TEST(KeyringTest, SecretAndSecretFileTogetherAreAnError) {
  Auth auth;
  AddKey(&auth, 1, spec::v1::AUTH_METHOD_SHA256, "a")->set_secret_file("authkey");
  ExpectInvalid(auth, "auth key 1 has both secret and secret_file: keep one of them");
}

TEST(KeyringTest, UnknownMethodIsAnError) {
  Auth auth;
  AddKey(&auth, 1, static_cast<spec::v1::AuthMethod>(9), "a");
  ExpectInvalid(auth, "auth key 1 has unknown method 9");
}

TEST(KeyringTest, ConstructorNormalizesMethodsAndFindsKeys) {
  Keyring ring({{1, spec::v1::AUTH_METHOD_UNSPECIFIED, "a"}, {2, spec::v1::AUTH_METHOD_CRC, ""}},
               2);
  EXPECT_EQ(ring.active().id, 2u);
  ASSERT_NE(ring.Find(1), nullptr);
  EXPECT_EQ(ring.Find(1)->method, spec::v1::AUTH_METHOD_SHA256);
}

TEST(KeyringDeathTest, ConstructorAbortsOnAnActiveIdThatIsNoKey) {
  EXPECT_DEATH(Keyring({{1, spec::v1::AUTH_METHOD_SHA256, "a"}}, 2),
               "active key 2 is not one of the keys");
}

TEST(KeyringDeathTest, ConstructorAbortsOnARepeatedId) {
  EXPECT_DEATH(Keyring({{1, spec::v1::AUTH_METHOD_SHA256, "a"},
                        {1, spec::v1::AUTH_METHOD_SHA256, "b"}},
                       1),
               "key 1 is out of range, repeated");
}

// Secret files live in a fresh directory under TEST_TMPDIR.
class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/keyring_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
  }

  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    std::string path = absl::StrCat(dir_, "/", name);
    unlink(path.c_str());
    std::ofstream(path) << text;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  absl::StatusOr<Keyring> FromFile(const std::string& secret_file) {
    Auth auth;
    AddKey(&auth, 1, spec::v1::AUTH_METHOD_SHA256, "")->set_secret_file(secret_file);
    return Keyring::FromSpec(auth, dir_);
  }

  std::string dir_;
};

TEST_F(SecretFileTest, RelativeFileIsReadFromBaseDirWithoutItsNewline) {
  Write("authkey", "s3cret\n", 0600);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().secret, "s3cret");
}

TEST_F(SecretFileTest, AbsolutePathIsUsedAsIs) {
  std::string path = Write("abs", "s3cret", 0400);
  absl::StatusOr<Keyring> ring = FromFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().secret, "s3cret");
}

TEST_F(SecretFileTest, OnlyTheFirstLineIsTheSecretAndCrLfIsStripped) {
  Write("authkey", "s3cret\r\nsecond line\n", 0600);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().secret, "s3cret");
}

TEST_F(SecretFileTest, InnerSpacesAreKept) {
  Write("authkey", " two words \n", 0600);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->active().secret, " two words ");
}

TEST_F(SecretFileTest, GroupReadableFileIsRefusedNamingTheFile) {
  std::string path = Write("authkey", "s3cret\n", 0640);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", path,
                         " has mode 0640; it must not be readable by group or others: chmod 600 ",
                         path));
  EXPECT_FALSE(absl::StrContains(ring.status().message(), "s3cret"));
}

TEST_F(SecretFileTest, WorldReadableFileIsRefused) {
  Write("authkey", "s3cret\n", 0604);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_FALSE(ring.ok());
  EXPECT_TRUE(absl::StrContains(ring.status().message(), "has mode 0604"));
}

TEST_F(SecretFileTest, EmptyFileIsRefusedNamingTheFile) {
  std::string path = Write("authkey", "", 0600);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", path,
                         " is empty: put the shared secret on its first line"));
}

TEST_F(SecretFileTest, EmptyFirstLineIsRefused) {
  std::string path = Write("authkey", "\ns3cret\n", 0600);
  absl::StatusOr<Keyring> ring = FromFile("authkey");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", path,
                         " has an empty first line: put the shared secret there"));
}

TEST_F(SecretFileTest, MissingFileIsRefusedWithTheOsReason) {
  absl::StatusOr<Keyring> ring = FromFile("nokey");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", dir_,
                         "/nokey cannot be opened: No such file or directory"));
}

TEST_F(SecretFileTest, DirectoryIsRefused) {
  std::string path = absl::StrCat(dir_, "/keydir");
  mkdir(path.c_str(), 0700);
  absl::StatusOr<Keyring> ring = FromFile("keydir");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", path, " is not a regular file"));
}

TEST_F(SecretFileTest, FifoIsRefusedWithoutHanging) {
  std::string path = absl::StrCat(dir_, "/fifo");
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<Keyring> ring = FromFile("fifo");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", path, " is not a regular file"));
}

TEST_F(SecretFileTest, HugeFileIsRefused) {
  std::string path = Write("big", std::string(5000, 'k'), 0600);
  absl::StatusOr<Keyring> ring = FromFile("big");
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.status().message(),
            absl::StrCat("auth key 1: secret file ", path,
                         " is 5000 bytes; a secret file holds one line of at most 4096"));
}

}  // namespace
}  // namespace hacluster::wire
