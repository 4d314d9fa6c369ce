// The few facts about the heartbeat frame that the layers below the codec
// need too: the UDP media tell the kernel to drop, before queueing, any
// datagram that cannot be a frame (longer than kMaxFrameSize, or not
// starting with kFrameMagic). Header-only, no dependencies, so that
// //agent/media can use it without depending on the codec (and on OpenSSL).
// The layout itself is described in agent/wire/codec.h.
#ifndef HACLUSTER_AGENT_WIRE_FRAME_FORMAT_H_
#define HACLUSTER_AGENT_WIRE_FRAME_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace hacluster::wire {

// The first 4 bytes of every frame.
inline constexpr absl::string_view kFrameMagic = "HAW1";
// kFrameMagic as a big-endian 32-bit number (what a classic BPF word load
// of the frame's first 4 bytes reads).
inline constexpr uint32_t kFrameMagicWord = (uint32_t{'H'} << 24) | (uint32_t{'A'} << 16) |
                                            (uint32_t{'W'} << 8) | uint32_t{'1'};
inline constexpr size_t kFrameHeaderSize = 8;
// The first 4 bytes of every Heartbeat 3 message ("###\n", agent/hb3wire),
// read as a big-endian word: the UDP media pass those too, for a node on
// the heartbeat3 wire.
inline constexpr uint32_t kHb3MagicWord = (uint32_t{'#'} << 24) | (uint32_t{'#'} << 16) |
                                          (uint32_t{'#'} << 8) | uint32_t{'\n'};
// No frame is longer: it fits one UDP datagram on an Ethernet path
// without fragmenting.
inline constexpr size_t kMaxFrameSize = 1400;

static_assert(kFrameMagic.size() == 4 &&
                  kFrameMagic[0] == static_cast<char>(kFrameMagicWord >> 24) &&
                  kFrameMagic[1] == static_cast<char>(kFrameMagicWord >> 16) &&
                  kFrameMagic[2] == static_cast<char>(kFrameMagicWord >> 8) &&
                  kFrameMagic[3] == static_cast<char>(kFrameMagicWord),
              "kFrameMagicWord is kFrameMagic read as a big-endian word");

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_FRAME_FORMAT_H_
