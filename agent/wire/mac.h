// The message authentication codes of the wire frame: HMAC-SHA256,
// HMAC-SHA1 and HMAC-MD5 with a key's secret (OpenSSL), and CRC32 with no
// secret (legacy Heartbeat `crc`: detects corruption, not forgery).
//
// A Mac is keyed once: the inner and outer padded-key digest states are
// computed at creation, and each MAC starts from copies of them, with no
// heap allocation (OpenSSL's HMAC() and EVP_MAC re-initialisation allocate
// on every call, which shows at a keepalive of 5 ms on several media).
//
// Thread-safety: a Mac holds running MAC state, so one Mac must not be used
// by two threads at once. Crc32() is a pure function.
#ifndef HACLUSTER_AGENT_WIRE_MAC_H_
#define HACLUSTER_AGENT_WIRE_MAC_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::wire {

// The largest MAC of any method (HMAC-SHA256).
inline constexpr size_t kMaxMacSize = 32;

// CRC-32 as zlib and Ethernet compute it (reflected polynomial 0xEDB88320,
// initial value and final xor 0xFFFFFFFF): Crc32("123456789") == 0xCBF43926.
uint32_t Crc32(absl::string_view data);

// MAC size in bytes of `method`: 32 sha256 (also for UNSPECIFIED), 20 sha1,
// 16 md5, 4 crc; 0 for a value that is no method.
size_t MacSize(spec::v1::AuthMethod method);

namespace mac_internal {
class Hmac;  // the keyed digest states of one HMAC method (mac.cc)
}  // namespace mac_internal

class Mac {
 public:
  // A Mac of `method` keyed with `secret` (ignored for crc). Fails when the
  // method is unknown; the error names it.
  static absl::StatusOr<Mac> Create(spec::v1::AuthMethod method, absl::string_view secret);

  Mac(Mac&&) noexcept;
  Mac& operator=(Mac&&) noexcept;
  ~Mac();

  spec::v1::AuthMethod method() const { return method_; }
  size_t size() const { return size_; }

  // Writes the MAC of `data` to out[0, size()). Never allocates.
  void Compute(absl::string_view data, uint8_t* out);

  // Whether `mac` is the MAC of `data`. HMACs are compared in constant time
  // (CRYPTO_memcmp); a CRC, which is no secret, is compared as an integer.
  bool Verify(absl::string_view data, absl::string_view mac);

 private:
  Mac(spec::v1::AuthMethod method, size_t size, std::unique_ptr<mac_internal::Hmac> hmac);

  spec::v1::AuthMethod method_;
  size_t size_;
  std::unique_ptr<mac_internal::Hmac> hmac_;  // null for crc
};

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_MAC_H_
