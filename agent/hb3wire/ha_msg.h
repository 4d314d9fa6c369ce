// Heartbeat 3's message, as its daemon sends it on UDP: an ordered list of
// typed name=value fields in netstring form, followed by the authentication
// netstring (cluster-glue's msg2wirefmt with authentication):
//
//   "###\n"
//   "<len>:(<type>)<name>=<value>,"     one netstring per field, in order
//   ...
//   "%%%\n"
//   "<len>:<key index> <token>,"        the auth netstring
//
// <len> is the decimal byte count of what follows the ':' up to the ','.
// <type> is one digit: 0 string, 1 binary (raw bytes), 2 struct (a nested
// message, itself "###\n...%%%\n" without auth), 3 list, 4 compressed,
// 5 uncompressed. The authentication token covers every byte from "###\n"
// through "%%%\n" (see auth.h).
//
// This module only frames and parses; it knows no field's meaning (see
// messages.h). Values are kept as the raw bytes found in the frame, so that
// nothing is lost between decoding and the caller's checks. Pure: no I/O,
// no clock.
//
// Thread-safety: plain values; HaMessage is not synchronized.
#ifndef HACLUSTER_AGENT_HB3WIRE_HA_MSG_H_
#define HACLUSTER_AGENT_HB3WIRE_HA_MSG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hacluster::hb3wire {

// Field types, as cluster-glue numbers them.
enum class FieldType : uint8_t {
  kString = 0,
  kBinary = 1,
  kStruct = 2,
  kList = 3,
  kCompress = 4,
  kUncompress = 5,
};

// Heartbeat's own limits (ha_msg.h): a message's wire form, and the fields
// of one message.
inline constexpr size_t kMaxMessageSize = 256 * 1024;
inline constexpr size_t kMaxFields = 512;
// How deep nested (struct) messages are parsed; deeper ones are refused.
inline constexpr int kMaxDepth = 4;

struct HaField {
  FieldType type = FieldType::kString;
  std::string name;
  std::string value;  // raw bytes; for kStruct the nested message's wire form
};

class HaMessage {
 public:
  HaMessage() = default;

  // Appends a string field (Heartbeat allows repeated names; Get returns
  // the first).
  void Add(absl::string_view name, absl::string_view value);
  void AddTyped(FieldType type, absl::string_view name, absl::string_view value);
  // Replaces the first field called `name`, or appends it.
  void Set(absl::string_view name, absl::string_view value);

  // The value of the first string field called `name`, if any.
  std::optional<absl::string_view> Get(absl::string_view name) const;
  // Get, or "" when absent.
  absl::string_view GetOr(absl::string_view name) const;

  const std::vector<HaField>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

  // The message's netstring form, "###\n...%%%\n", without authentication.
  std::string Serialize() const;

  // For logs: "t=status src=node01 seq=1a ..." (binary values as <N bytes>,
  // non-printable bytes escaped).
  std::string DebugString() const;

 private:
  std::vector<HaField> fields_;
};

// A message parsed from a datagram.
struct ParsedFrame {
  HaMessage message;
  // The bytes the auth token covers: "###\n" through "%%%\n".
  absl::string_view signed_part;
  // The auth netstring's contents, split at the first space: the key index
  // and the token. Absent when the frame carries no auth netstring.
  std::optional<uint32_t> auth_index;
  std::string auth_token;
};

// Parses one datagram. InvalidArgument, saying what and where (byte
// offset), for anything that is not a well-formed message: a missing
// start/end marker, a bad netstring length, a field without "(T)name=", an
// unknown type, too many fields, bytes after the auth netstring, a nested
// message deeper than kMaxDepth. Nested struct values are checked to parse
// as messages. The returned signed_part points into `datagram`.
absl::StatusOr<ParsedFrame> ParseFrame(absl::string_view datagram);

// Parses the netstring form of a nested message (no auth part) into *out.
absl::Status ParseNested(absl::string_view wire, int depth, HaMessage* out);

}  // namespace hacluster::hb3wire

#endif  // HACLUSTER_AGENT_HB3WIRE_HA_MSG_H_
