// The serial medium behind Medium: heartbeats over a null-modem cable.
// Internal to //agent/media; MakeMedia builds it from the spec.
//
// A serial line is a byte stream, so frames are COBS-encoded with a 0x00
// delimiter before and after each (the one before ends whatever a reboot or
// line noise left half-sent). A frame the line could only take in part is
// finished at the next Send() before anything new is written; a frame
// arriving while one is still pending is dropped, never interleaved.
//
// Thread-safety: not synchronised; owned by the event loop thread.
#ifndef HACLUSTER_AGENT_MEDIA_SERIAL_MEDIUM_H_
#define HACLUSTER_AGENT_MEDIA_SERIAL_MEDIUM_H_

#include <termios.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/media/cobs.h"
#include "agent/media/medium.h"
#include "agent/media/unique_fd.h"

namespace hacluster::media::internal {

// The encoded size (without delimiters) past which a receiver drops a frame
// and resynchronises; Send() refuses frames that would exceed it.
inline constexpr size_t kMaxSerialEncodedFrame = 4096;

// The termios speed constant of `baud` bit/s, if termios has one.
std::optional<speed_t> TermiosSpeed(uint32_t baud);

class SerialMedium final : public Medium {
 public:
  SerialMedium(int index, std::string link_name, std::string description, std::string device,
               speed_t speed);

  absl::Status Open() override;
  int fd() const override { return tty_.get(); }
  absl::Status Send(absl::string_view frame) override;
  absl::Status Receive(Deliver deliver) override;

 private:
  // Writes what is left of out_; true when all of it is written.
  absl::StatusOr<bool> Flush();

  const std::string device_;
  const speed_t speed_;
  UniqueFd tty_;
  std::string out_;          // delimiter + encoded frame + delimiter
  size_t out_written_ = 0;   // bytes of out_ already on the line
  CobsFrameReader reader_;
};

}  // namespace hacluster::media::internal

#endif  // HACLUSTER_AGENT_MEDIA_SERIAL_MEDIUM_H_
