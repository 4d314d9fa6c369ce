// The wire frame a heartbeat travels in, on every medium.
//
//   offset  size  field
//   0       4     magic "HAW1"
//   4       1     key id, 1..15 (the key of the keyring that signed it)
//   5       1     method: 1 HMAC-SHA256, 2 HMAC-SHA1, 3 HMAC-MD5, 4 CRC32
//                 (the values of spec::v1::AuthMethod)
//   6       2     payload length P, big-endian
//   8       P     payload: a serialized hacluster::wire::v1::Heartbeat
//   8+P     M     MAC over bytes [0, 8+P): HMAC-SHA256 (M=32), HMAC-SHA1
//                 (20) or HMAC-MD5 (16) keyed with the key's secret, or the
//                 CRC-32 of those bytes, big-endian (4, no secret: legacy
//                 Heartbeat `crc`, detects corruption but not forgery)
//
// A frame is exactly 8+P+M bytes and at most kMaxFrameSize, so that it fits
// one UDP datagram on an Ethernet path without fragmenting.
//
// Decoding checks, in this order: the layout (kMalformed), that the key id
// is in the keyring (kUnknownKey), that the method is the key's
// (kWrongMethod: a frame cannot downgrade a sha256 key to crc), the MAC
// (kBadMac), then that the payload parses (kMalformed). Cluster name and
// replay are checked by PacketCheck, the one entry for received packets.
#ifndef HACLUSTER_AGENT_WIRE_CODEC_H_
#define HACLUSTER_AGENT_WIRE_CODEC_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/wire/frame_format.h"
#include "agent/wire/keyring.h"
#include "agent/wire/mac.h"
#include "proto/wire.pb.h"

namespace hacluster::wire {

// Why a received packet was dropped.
enum class DropReason {
  kMalformed,     // not a frame, or its payload is not a Heartbeat
  kUnknownKey,    // signed with a key id the keyring does not have
  kBadMac,        // the MAC does not match (wrong secret, or altered)
  kWrongMethod,   // the frame's method is not its key's method
  kWrongCluster,  // a heartbeat of another cluster
  kReplay,        // a sequence number or generation already seen or too old
};

// "malformed", "unknown-key", "bad-mac", "wrong-method", "wrong-cluster",
// "replay".
absl::string_view DropReasonName(DropReason reason);

// "sha256", "sha1", "md5", "crc" ("unknown" for anything else).
absl::string_view AuthMethodName(spec::v1::AuthMethod method);

// Encodes `hb` signed with `key` into *out, replacing its contents (its
// buffer is reused). Keys its MAC afresh at every call: a sender of many
// frames should use FrameCodec::Encode. Fails (OutOfRange) when the frame
// would exceed kMaxFrameSize, (InvalidArgument) for a key id outside 1..15
// or an unknown method, or when OpenSSL does.
absl::Status EncodeFrame(const wire::v1::Heartbeat& hb, const Key& key, std::string* out);

// Why a frame failed to decode.
struct Drop {
  DropReason reason = DropReason::kMalformed;
  // For the log, e.g. "key 3" or "frame of 7 bytes is shorter than its
  // 8-byte header". Quotes nothing from the frame but numbers.
  std::string detail;
};

// Encodes and decodes frames with the keys of a keyring, each keyed once.
//
// Thread-safety: not thread-safe (holds running MAC state); use one per
// thread. The keyring is not owned and must outlive the FrameCodec, or be
// replaced with SetKeyring() before it goes away.
class FrameCodec {
 public:
  explicit FrameCodec(const Keyring* keyring);
  FrameCodec(const FrameCodec&) = delete;
  FrameCodec& operator=(const FrameCodec&) = delete;

  // Uses `keyring` from now on (e.g. after a configuration reload).
  void SetKeyring(const Keyring* keyring);

  // Encodes `hb` signed with the active key into *out (see EncodeFrame).
  absl::Status Encode(const wire::v1::Heartbeat& hb, std::string* out);

  // Checks `frame` (see the order above) and parses its payload into *hb.
  // *key_id is the frame's key id once the header is readable, else 0. On
  // failure returns false and fills *drop; *hb is then unspecified.
  bool Decode(absl::string_view frame, wire::v1::Heartbeat* hb, uint32_t* key_id, Drop* drop);

 private:
  const Keyring* keyring_;
  // By key id: the keyed MAC, or why OpenSSL could not key it.
  std::array<std::optional<Mac>, kMaxKeyId + 1> macs_;
  std::array<absl::Status, kMaxKeyId + 1> mac_errors_;
};

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_CODEC_H_
