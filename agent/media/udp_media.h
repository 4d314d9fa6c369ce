// The UDP media behind Medium: ucast, bcast and mcast. Internal to
// //agent/media; MakeMedia builds them from the spec.
//
// Thread-safety: not synchronised; owned by the event loop thread.
#ifndef HACLUSTER_AGENT_MEDIA_UDP_MEDIA_H_
#define HACLUSTER_AGENT_MEDIA_UDP_MEDIA_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/core/clock.h"
#include "agent/media/medium.h"
#include "agent/media/net_address.h"
#include "agent/media/unique_fd.h"

namespace hacluster::media::internal {

// What the UDP media share: one non-blocking datagram socket whose
// datagrams the kernel stamps on arrival (SO_TIMESTAMPNS), receive buffers
// allocated once, read a batch per recvmmsg(2), and sending one frame to a
// fixed list of destinations.
//
// Against floods: a classic BPF socket filter drops, before they are
// queued, datagrams longer than wire::kMaxFrameSize or not starting with
// wire::kFrameMagic; the socket's receive buffer is kUdpReceiveBuffer
// (SO_RCVBUFFORCE, else SO_RCVBUF up to the kernel's cap); the kernel's
// count of dropped datagrams (SO_RXQ_OVFL) is followed for kernel_drops().
// A receive reads until the socket is empty, at most kMaxFramesPerReceive
// datagrams.
//
// Arrival times: the kernel stamps with CLOCK_REALTIME; they are moved to
// the monotonic scale with the offset between the two clocks read right
// after the batch, and then kept within [the last time this socket was seen
// empty, the read], where the datagram must have arrived. A step of the
// wall clock thus cannot date a frame outside that window.
class UdpMedium : public Medium {
 public:
  int fd() const override { return socket_.get(); }
  absl::Status Send(absl::string_view frame) override;
  absl::Status Receive(Deliver deliver) override;
  bool dates_arrivals() const override { return stamped_; }
  absl::StatusOr<bool> ReceiveDated(DeliverDated deliver) override;
  uint64_t kernel_drops() const override { return kernel_drops_; }

 protected:
  UdpMedium(int index, std::string link_name, std::string description)
      : Medium(index, std::move(link_name), std::move(description)) {}

  // A new non-blocking, close-on-exec UDP socket of `family`, held in
  // socket_ (replacing any old one), with the frame filter attached and the
  // receive buffer ready. Fails only when the socket cannot be made or the
  // filter cannot be attached; a receive buffer the kernel caps below
  // kUdpReceiveBuffer, or a kernel without stamps or drop counts, is not
  // an error.
  absl::Status CreateSocket(int family);
  absl::Status SetOption(int level, int name, const void* value, socklen_t size,
                         absl::string_view what);
  // SO_BINDTODEVICE.
  absl::Status BindToDevice(const std::string& interface);
  // bind(2); the error reads "cannot bind <address>[ on <interface>]".
  absl::Status Bind(const SocketAddress& address, const std::string& interface);

  UniqueFd socket_;
  std::vector<SocketAddress> destinations_;

 private:
  // Datagrams one recvmmsg(2) reads at most.
  static constexpr int kBatch = 32;
  // A datagram's source and its text, kept so that a peer's address is
  // formatted once, not once per packet.
  struct SourceText {
    sockaddr_storage address{};
    socklen_t length = 0;
    char text[kAddressTextSize] = {};
    size_t text_length = 0;
  };
  absl::string_view SourceOf(const sockaddr_storage& from, socklen_t length);

  // kBatch buffers of wire::kMaxFrameSize bytes (a longer datagram is
  // truncated, flagged and skipped: it cannot be a frame), allocated once
  // and left uninitialised: only the pages datagrams are written to become
  // resident.
  std::unique_ptr<char[]> buffers_;
  bool stamped_ = false;  // SO_TIMESTAMPNS is on
  // The kernel's drop count of the current socket as last read (a 32-bit
  // counter that wraps), and the total over every socket of this medium.
  uint32_t socket_drops_ = 0;
  uint64_t kernel_drops_ = 0;
  // When the socket was last seen empty (or created): nothing still queued
  // can have arrived before.
  agent::MonoTime drained_at_;
  std::array<SourceText, 4> sources_;
  size_t next_source_ = 0;  // the entry a new source replaces
};

// UDP unicast to each destination, from a socket bound to the node's own
// address, so that several agents can share one host (127.0.0.x).
class UcastMedium final : public UdpMedium {
 public:
  // `bind` carries the port; when `dual_stack`, `bind` is [::] and the
  // destinations are IPv6 (IPv4 ones mapped). `interface` (may be empty)
  // only gives IPv6 link-local addresses without a scope their scope.
  UcastMedium(int index, std::string link_name, std::string description,
              std::string interface, SocketAddress bind, bool dual_stack,
              std::vector<SocketAddress> destinations);
  absl::Status Open() override;

 private:
  const std::string interface_;
  SocketAddress bind_;
  const bool dual_stack_;
};

// UDP broadcast on one interface: 0.0.0.0:port bound to the device,
// sending to the interface's broadcast address. Our own broadcasts come back
// to us too (the packet check drops them by node name).
class BcastMedium final : public UdpMedium {
 public:
  BcastMedium(int index, std::string link_name, std::string description,
              std::string interface, uint16_t port);
  absl::Status Open() override;

 private:
  const std::string interface_;
  const uint16_t port_;
};

// UDP multicast: joins `group` on one interface and sends to group:port.
class McastMedium final : public UdpMedium {
 public:
  McastMedium(int index, std::string link_name, std::string description,
              std::string interface, SocketAddress group, int ttl, bool loop);
  absl::Status Open() override;

 private:
  const std::string interface_;
  SocketAddress group_;  // with the port
  const int ttl_;
  const bool loop_;
};

}  // namespace hacluster::media::internal

#endif  // HACLUSTER_AGENT_MEDIA_UDP_MEDIA_H_
