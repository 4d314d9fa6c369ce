// The keys heartbeats of a cluster are signed with (spec.auth).
//
// A Keyring holds every configured key, with its secret read from the spec
// or from its secret file, and names the active one: frames are sent with
// the active key and accepted with any key, so keys can rotate (add the new
// key everywhere, make it active everywhere, remove the old one).
//
// Thread-safety: immutable after construction; safe to read from any thread.
// Pointers returned by Find() and active() live as long as the Keyring.
#ifndef HACLUSTER_AGENT_WIRE_KEYRING_H_
#define HACLUSTER_AGENT_WIRE_KEYRING_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::wire {

// Key ids are Heartbeat's `auth N`: 1 to 15.
inline constexpr uint32_t kMinKeyId = 1;
inline constexpr uint32_t kMaxKeyId = 15;

// One key. `method` is never AUTH_METHOD_UNSPECIFIED inside a Keyring (that
// means sha256); `secret` is empty for crc, which has none.
struct Key {
  uint32_t id = 0;
  spec::v1::AuthMethod method = spec::v1::AUTH_METHOD_SHA256;
  std::string secret;
};

class Keyring {
 public:
  // Builds the keyring of `auth`. A key with an empty `secret` and a
  // `secret_file` reads the file's first line (without its "\n" or "\r\n");
  // a relative secret_file is relative to `base_dir` (the spec file's
  // directory; empty: the working directory). The file must be a regular,
  // non-empty file that group and others cannot access (e.g. mode 0600).
  // active_key 0 means the only key. Errors (InvalidArgument for the spec,
  // FailedPrecondition/NotFound/PermissionDenied... for files) name the key
  // and the file, never the secret.
  static absl::StatusOr<Keyring> FromSpec(const spec::v1::Auth& auth,
                                          const std::string& base_dir);

  // Keys given directly, e.g. by tests. Ids must be 1..15 and distinct,
  // `active_id` one of them, and every method but crc must have a secret:
  // anything else is a programming error and aborts.
  // AUTH_METHOD_UNSPECIFIED becomes AUTH_METHOD_SHA256.
  Keyring(std::vector<Key> keys, uint32_t active_id);

  // The key with this id, or nullptr when there is none.
  const Key* Find(uint32_t id) const {
    if (id < kMinKeyId || id > kMaxKeyId || slot_[id] < 0) return nullptr;
    return &keys_[slot_[id]];
  }

  // The key frames are sent with.
  const Key& active() const { return keys_[slot_[active_id_]]; }

  // Every key, in the order given.
  const std::vector<Key>& keys() const { return keys_; }

 private:
  Keyring() = default;

  std::vector<Key> keys_;
  std::array<int8_t, kMaxKeyId + 1> slot_{};  // id -> index in keys_, or -1
  uint32_t active_id_ = 0;
};

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_KEYRING_H_
