// The authentication of Heartbeat 3 messages: the token its HBauth plugins
// compute over a message's signed part (ha_msg.h), for the key index the
// auth netstring names.
//
//   crc   CRC-32, polynomial 0x04C11DB7, most significant bit first, initial
//         value 0, result inverted; written as lowercase hex without
//         leading zeros ("%lx"). No key: it detects corruption, not forgery.
//   md5   HMAC-MD5 keyed with the authkeys secret, lowercase hex (32 chars).
//   sha1  HMAC-SHA1 keyed with the secret, lowercase hex (40 chars).
//
// Keys come from the agent's Keyring (spec.auth, converted from authkeys:
// key id = authkeys index). sha256 keys have no Heartbeat counterpart; a
// keyring meant for this wire has none (the spec check refuses them).
//
// Thread-safety: Authenticator is not thread-safe (it keeps keyed MAC
// states); use one per thread. The keyring must outlive it, or be replaced
// with SetKeyring first.
#ifndef HACLUSTER_AGENT_HB3WIRE_AUTH_H_
#define HACLUSTER_AGENT_HB3WIRE_AUTH_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/wire/keyring.h"
#include "agent/wire/mac.h"

namespace hacluster::hb3wire {

// Heartbeat's crc token of `data` ("%lx" of the CRC described above).
std::string CrcToken(absl::string_view data);

class Authenticator {
 public:
  explicit Authenticator(const wire::Keyring* keyring);
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  void SetKeyring(const wire::Keyring* keyring);

  // The auth netstring's contents for `signed_part` with the active key:
  // "<index> <token>". InvalidArgument for a sha256 active key.
  absl::StatusOr<std::string> Sign(absl::string_view signed_part);

  enum class Verdict { kOk, kUnknownKey, kBadToken, kUnsupportedMethod };
  // Checks `token` against `signed_part` with key `index`. Tokens are
  // compared in constant time.
  Verdict Verify(absl::string_view signed_part, uint32_t index, absl::string_view token);

 private:
  // The token of `data` with `key`, or nullopt for a method Heartbeat does
  // not have (or a MAC OpenSSL could not key).
  std::optional<std::string> Token(const wire::Key& key, absl::string_view data);

  const wire::Keyring* keyring_;
  std::array<std::optional<wire::Mac>, wire::kMaxKeyId + 1> macs_;
};

}  // namespace hacluster::hb3wire

#endif  // HACLUSTER_AGENT_HB3WIRE_AUTH_H_
