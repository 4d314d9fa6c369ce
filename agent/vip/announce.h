// Telling the segment that a virtual IP has moved to this node, as
// Heartbeat's send_arp and IPv6addr do, with raw Ethernet frames written to
// an AF_PACKET socket (no helper program):
//
//   IPv4, gratuitous ARP: one ARP request and one ARP reply, each with sender
//   IP = target IP = the address and sender MAC = the interface's MAC, to
//   ff:ff:ff:ff:ff:ff. The request's target MAC is zero (RFC 5227's
//   announcement), the reply's is the sender MAC (what Linux wants of a
//   gratuitous reply before it overrides a fresh neighbour entry).
//
//   IPv6, unsolicited neighbour advertisement (RFC 4861 7.2.6): ICMPv6 type
//   136 with the override flag (not solicited, not router), target = the
//   address, the target link-layer address option = the interface's MAC,
//   from the address to ff02::1 (33:33:00:00:00:01), hop limit 255.
//
// Each call sends one announcement. Sending it again a few times, spaced
// out (Heartbeat sends 5 by default, 200 ms apart), against lost frames is
// the caller's job: these functions never sleep.
//
// The address need not be assigned to the interface (a frame is written
// directly); the interface must exist, be up and be Ethernet-like (a 6-byte
// hardware address). Errors name the interface, the address and the OS
// reason. Needs CAP_NET_RAW.
//
// Thread-safety: reentrant; each call opens and closes its own socket in the
// calling thread's network namespace.
#ifndef HACLUSTER_AGENT_VIP_ANNOUNCE_H_
#define HACLUSTER_AGENT_VIP_ANNOUNCE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/media/unique_fd.h"

namespace hacluster::vip {

// One gratuitous ARP request and one reply for `ipv4` on `interface`.
// InvalidArgument when `ipv4` is not a unicast IPv4 address.
absl::Status SendGratuitousArp(const std::string& interface, const std::string& ipv4);

// One unsolicited neighbour advertisement for `ipv6` on `interface`.
// InvalidArgument when `ipv6` is not a unicast IPv6 address.
absl::Status SendUnsolicitedNeighbourAdvert(const std::string& interface, const std::string& ipv6);

// SendGratuitousArp or SendUnsolicitedNeighbourAdvert by the family of
// `address`.
absl::Status Announce(const std::string& interface, const std::string& address);

// A packet socket kept open for announcing: closing a packet socket waits
// for an RCU grace period (about 10 ms here), which a takeover must not
// pay. The socket sends only (protocol 0: nothing is queued for it).
// Thread-safe: Announce may be called from several threads at once.
class Announcer {
 public:
  // Opens the socket in the calling thread's network namespace.
  static absl::StatusOr<Announcer> Open();
  // As the free Announce(), on this socket.
  absl::Status Announce(const std::string& interface, const std::string& address) const;

 private:
  Announcer() = default;
  media::UniqueFd fd_;
};

}  // namespace hacluster::vip

#endif  // HACLUSTER_AGENT_VIP_ANNOUNCE_H_
