// The heartbeat media: the paths a node's heartbeats travel (UDP unicast,
// broadcast, multicast, a serial line), behind one small interface.
//
// The agent's event loop owns the media. At every keepalive it calls Send()
// on every medium; when a medium's fd() is readable it calls Receive(),
// which hands over every pending frame with its source (or, for media that
// date their frames, ReceiveDated() at each of its wakes). Nothing here blocks:
// every fd is non-blocking and close-on-exec. Frames are opaque bytes here;
// encoding, signing and checking them is agent/wire's job (a medium may
// deliver junk, our own broadcasts, or frames of another cluster).
//
// Floods: the UDP media attach a socket filter that makes the kernel drop,
// before it queues them, datagrams that cannot be frames (longer than
// wire::kMaxFrameSize or not starting with wire::kFrameMagic), and ask for a
// kUdpReceiveBuffer-byte receive buffer, so that junk sent at a node does
// not fill its buffer and push real heartbeats out. What the kernel still
// drops is counted (kernel_drops()).
//
// Thread-safety: a Medium is not synchronised; it belongs to the thread that
// runs the event loop.
#ifndef HACLUSTER_AGENT_MEDIA_MEDIUM_H_
#define HACLUSTER_AGENT_MEDIA_MEDIUM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/core/clock.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::media {

// What one Receive/ReceiveDated call of a UDP medium reads at most.
inline constexpr int kMaxFramesPerReceive = 256;
// The receive buffer the UDP media ask for, in bytes (as root beyond
// net.core.rmem_max; otherwise the kernel caps it there). The kernel
// reserves twice as much for its bookkeeping, and reports that.
inline constexpr int kUdpReceiveBuffer = 4 << 20;

class Medium {
 public:
  virtual ~Medium() = default;
  Medium(const Medium&) = delete;
  Medium& operator=(const Medium&) = delete;

  // Link name shown to operators: the interface (eth1, lo) or serial device
  // basename (ttyS0); unique among the media of one agent.
  const std::string& link_name() const { return link_name_; }
  // e.g. "ucast lo port 694 -> 127.0.0.2, 127.0.0.3",
  // "serial /dev/ttyS0 19200 baud".
  const std::string& description() const { return description_; }

  // Opens sockets/devices (again, closing the old ones, when called twice).
  // Error names the medium and the OS reason: "media[1] (bcast eth1 port
  // 694): cannot bind 0.0.0.0:694 on eth1: Address already in use".
  virtual absl::Status Open() = 0;
  // The fd to poll for readability (one per medium); -1 before Open().
  virtual int fd() const = 0;
  // Sends one frame (already encoded and signed) to every peer of the
  // medium. A failure towards one peer does not stop the others; the error
  // then describes every failure. Rate-limiting the log is the caller's job.
  virtual absl::Status Send(absl::string_view frame) = 0;
  // Reads the frames pending, without blocking, and calls
  // deliver(frame, source) for each; source is "192.0.2.12:694" for UDP or
  // the device path for serial. Both views are valid during the call only.
  // A call reads until the medium is empty, but only a bounded amount
  // (kMaxFramesPerReceive datagrams for the UDP media), so a flood cannot
  // starve the loop; the fd then stays readable. A medium that fails in a way that
  // would keep its fd readable for ever (a serial device unplugged) closes
  // itself: fd() is then -1 until Open() succeeds again.
  using Deliver = absl::FunctionRef<void(absl::string_view frame, absl::string_view source)>;
  virtual absl::Status Receive(Deliver deliver) = 0;

  // Dated receiving, for media that know when each frame arrived: the UDP
  // media ask the kernel to stamp every datagram as it comes in. A reader
  // may then leave frames queued until its next wake and still date each
  // one exactly. ReceiveDated reads like Receive and calls
  // deliver(frame, source, arrival), `arrival` being on the scale of
  // MonotonicNow() (agent/core/clock.h) and never later than the read. Like
  // Receive it reads until the medium is empty, at most kMaxFramesPerReceive
  // datagrams (those it skips, empty or truncated, count too). It returns
  // true when that bound stopped it (frames may be pending: call again
  // soon), false when it saw the medium empty.
  // dates_arrivals() tells, once Open() succeeded, whether the medium can.
  // Media that cannot (serial) return Unimplemented from ReceiveDated: read
  // them with Receive as soon as fd() is readable.
  virtual bool dates_arrivals() const { return false; }
  using DeliverDated = absl::FunctionRef<void(absl::string_view frame, absl::string_view source,
                                              agent::MonoTime arrival)>;
  virtual absl::StatusOr<bool> ReceiveDated(DeliverDated deliver) {
    (void)deliver;
    return absl::UnimplementedError(absl::StrCat(error_prefix_, ": cannot date arrivals"));
  }

  // Datagrams the kernel dropped on this medium's sockets instead of
  // queueing them, since the medium was built (it goes on across Open()):
  // those the receive buffer had no room for, and those the socket filter
  // refused (the kernel counts both in one per-socket counter and does not
  // tell them apart). UDP media learn it from the count the kernel attaches
  // to every datagram read (SO_RXQ_OVFL), so it is current as of the last
  // Receive/ReceiveDated that read something. 0 for media without such a
  // counter (serial).
  virtual uint64_t kernel_drops() const { return 0; }

 protected:
  // `index` is the medium's position in spec.media.
  Medium(int index, std::string link_name, std::string description);

  // "media[1] (bcast eth1 port 694)": what every error of this medium
  // starts with.
  const std::string& error_prefix() const { return error_prefix_; }
  // An error "<prefix>: <what>: <strerror(err)>" with the code errno maps to.
  absl::Status OsError(int err, absl::string_view what) const;
  // FailedPrecondition "<prefix>: not open".
  absl::Status NotOpenError() const;

 private:
  std::string link_name_;
  std::string description_;
  std::string error_prefix_;
};

// Builds the media of `spec` as seen from node `local_node`, in spec.media
// order (index i = spec.media(i)). Link names are made unique with "#2",
// "#3" when two media would share one. Does not open them.
// InvalidArgument when local_node is not a node of the spec or a medium
// cannot be built (no kind, no interface for bcast/mcast, an address that is
// not numeric, a baud rate termios lacks); the error names the medium.
absl::StatusOr<std::vector<std::unique_ptr<Medium>>> MakeMedia(
    const spec::v1::ClusterSpec& spec, const std::string& local_node);

}  // namespace hacluster::media

#endif  // HACLUSTER_AGENT_MEDIA_MEDIUM_H_
