#include "agent/hb3wire/auth.h"

#include <openssl/crypto.h>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hacluster::hb3wire {
namespace {

// The CRC-32 table of polynomial 0x04C11DB7, most significant bit first.
struct CrcTable {
  uint32_t v[256];
  constexpr CrcTable() : v() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i << 24;
      for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : (c << 1);
      v[i] = c;
    }
  }
};
constexpr CrcTable kCrcTable;

}  // namespace

std::string CrcToken(absl::string_view data) {
  uint32_t crc = 0;
  for (char c : data) {
    crc = (crc << 8) ^ kCrcTable.v[((crc >> 24) ^ static_cast<unsigned char>(c)) & 0xFF];
  }
  return absl::StrCat(absl::Hex(~crc));
}

Authenticator::Authenticator(const wire::Keyring* keyring) : keyring_(keyring) {}

void Authenticator::SetKeyring(const wire::Keyring* keyring) {
  keyring_ = keyring;
  for (auto& m : macs_) m.reset();
}

std::optional<std::string> Authenticator::Token(const wire::Key& key, absl::string_view data) {
  switch (key.method) {
    case spec::v1::AUTH_METHOD_CRC:
      return CrcToken(data);
    case spec::v1::AUTH_METHOD_MD5:
    case spec::v1::AUTH_METHOD_SHA1: {
      std::optional<wire::Mac>& mac = macs_[key.id];
      if (!mac.has_value()) {
        absl::StatusOr<wire::Mac> m = wire::Mac::Create(key.method, key.secret);
        if (!m.ok()) return std::nullopt;
        mac.emplace(*std::move(m));
      }
      uint8_t out[64];
      mac->Compute(data, out);
      return absl::BytesToHexString(
          absl::string_view(reinterpret_cast<const char*>(out), mac->size()));
    }
    default:
      return std::nullopt;
  }
}

absl::StatusOr<std::string> Authenticator::Sign(absl::string_view signed_part) {
  const wire::Key& key = keyring_->active();
  std::optional<std::string> t = Token(key, signed_part);
  if (!t.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key ", key.id, ": Heartbeat 3 signs with crc, md5 or sha1 only"));
  }
  return absl::StrCat(key.id, " ", *t);
}

Authenticator::Verdict Authenticator::Verify(absl::string_view signed_part, uint32_t index,
                                             absl::string_view token) {
  const wire::Key* key = keyring_->Find(index);
  if (key == nullptr) return Verdict::kUnknownKey;
  std::optional<std::string> t = Token(*key, signed_part);
  if (!t.has_value()) return Verdict::kUnsupportedMethod;
  if (t->size() != token.size() || CRYPTO_memcmp(t->data(), token.data(), token.size()) != 0) {
    return Verdict::kBadToken;
  }
  return Verdict::kOk;
}

}  // namespace hacluster::hb3wire
