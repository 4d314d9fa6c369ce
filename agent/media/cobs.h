// COBS (Consistent Overhead Byte Stuffing) framing for byte streams such as
// a serial line. An encoded frame contains no 0x00 byte, so 0x00 delimits
// frames: a reader that starts mid-stream, sees line noise or loses a byte
// drops at most the frame it is in and resynchronises at the next 0x00.
// Overhead: one byte per 254 bytes of frame, plus one.
//
// Thread-safety: the functions are pure; a CobsFrameReader belongs to one
// owner (not synchronised).
#ifndef HACLUSTER_AGENT_MEDIA_COBS_H_
#define HACLUSTER_AGENT_MEDIA_COBS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hacluster::media {

// The frame delimiter on the stream.
inline constexpr char kCobsDelimiter = '\0';

// The largest encoding of `size` bytes of frame (without delimiter).
constexpr size_t CobsMaxEncodedSize(size_t size) { return size + size / 254 + 1; }

// Appends the COBS encoding of `frame` to *out, without a delimiter.
void CobsEncode(absl::string_view frame, std::string* out);

// Decodes one encoded frame (without its delimiter) into *out, replacing its
// contents. InvalidArgument when `encoded` is empty, holds a 0x00, or a code
// byte runs past its end.
absl::Status CobsDecode(absl::string_view encoded, std::string* out);

// Splits a COBS byte stream into frames. Empty stretches between delimiters
// are ignored (senders put a delimiter before each frame too, so that a frame
// cut short on a previous write cannot swallow the next). A frame whose
// encoding exceeds `max_encoded_size` is dropped: its bytes are discarded up
// to the next delimiter, so the partial-frame buffer never grows past that
// bound. Malformed frames are dropped too; both are counted.
class CobsFrameReader {
 public:
  explicit CobsFrameReader(size_t max_encoded_size);

  // Takes the next bytes of the stream. Calls on_frame(frame) for every
  // frame completed by them, in order; `frame` is valid during the call only.
  void Feed(absl::string_view bytes, absl::FunctionRef<void(absl::string_view frame)> on_frame);

  // Forgets the frame in progress (for a line that was reopened).
  void Reset();

  // Frames dropped so far (too long or malformed).
  uint64_t frames_dropped() const { return frames_dropped_; }
  // Bytes of the frame in progress held in the buffer.
  size_t buffered() const { return partial_.size(); }

 private:
  void EndFrame(absl::FunctionRef<void(absl::string_view frame)> on_frame);

  const size_t max_encoded_size_;
  std::string partial_;   // encoded bytes since the last delimiter
  std::string decoded_;   // reused for every frame
  bool discarding_ = false;  // dropping an overlong frame up to its delimiter
  uint64_t frames_dropped_ = 0;
};

}  // namespace hacluster::media

#endif  // HACLUSTER_AGENT_MEDIA_COBS_H_
