// The native virtual-IP resource's address work, over rtnetlink (no `ip`
// command): where an address goes (Heartbeat's "findif": the interface and
// prefix length of the most specific directly connected route that contains
// it), adding it, removing it, and asking whether it is there.
//
// Everything acts on the network namespace of the calling thread, as it is
// when the call opens its netlink socket. Each call opens its own socket (the
// operations are rare: a start, a stop, a monitor), waits for the kernel's
// answer at most kNetlinkTimeout, and closes it.
//
// Errors name the address, the interface and the kernel's reason (its errno
// text, and its extended-ack message when it gives one).
//
// Thread-safety: the free functions are reentrant and may be called from any
// thread. A NetlinkSocket belongs to one thread at a time.
#ifndef HACLUSTER_AGENT_VIP_NETLINK_ADDRESS_H_
#define HACLUSTER_AGENT_VIP_NETLINK_ADDRESS_H_

#include <linux/netlink.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/cluster_spec.pb.h"

struct mnl_socket;

namespace hacluster::vip {

// How long a netlink call waits for each answer of the kernel.
inline constexpr absl::Duration kNetlinkTimeout = absl::Seconds(5);

// Where a virtual IP lives on this node.
struct Placement {
  std::string interface;  // "eth0"
  int ifindex = 0;        // the kernel's index of `interface`, > 0
  int prefix_length = 0;  // 1..32 (IPv4) or 1..128 (IPv6)
};

// One rtnetlink (NETLINK_ROUTE) socket over libmnl, bound to a port id the
// kernel picks, with extended acks asked for. Requests get their sequence
// number and port id here; answers of other sequences are ignored. Closed
// when it goes. Movable, not copyable; one thread at a time.
class NetlinkSocket {
 public:
  // Opens and binds the socket in the calling thread's network namespace.
  static absl::StatusOr<NetlinkSocket> Open();

  NetlinkSocket(NetlinkSocket&& other) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  ~NetlinkSocket();

  // Sends `request` (a complete message; NLM_F_ACK is added, the sequence
  // number and port id are set) and waits for the kernel's acknowledgement.
  // Returns 0 when the kernel accepted it, else the errno it answered with
  // (or the one the socket failed with; ETIMEDOUT when no answer came
  // within kNetlinkTimeout). `*kernel_message`, when not null,
  // gets the kernel's extended-ack text ("" when it gave none).
  int Call(nlmsghdr* request, std::string* kernel_message = nullptr);
  // The same, for a request the kernel answers with data messages before the
  // acknowledgement (RTM_GETLINK of one interface): `on_message` gets each.
  int Call(nlmsghdr* request, absl::FunctionRef<void(const nlmsghdr&)> on_message,
           std::string* kernel_message = nullptr);

  // Sends the dump request `request` (NLM_F_DUMP is added, the sequence
  // number and port id are set) and calls `on_message` for each message of
  // the answer until its end. Returns 0, or the errno of the failure: EINTR
  // when the kernel says the dump was interrupted by a change (the caller
  // may dump again on a new socket).
  int Dump(nlmsghdr* request, absl::FunctionRef<void(const nlmsghdr&)> on_message,
           std::string* kernel_message = nullptr);

 private:
  NetlinkSocket(mnl_socket* socket, uint32_t port_id)
      : socket_(socket), port_id_(port_id), buffer_(kBufferSize) {}

  // Receives the answers to sequence `seq` until the acknowledgement, an
  // error or NLMSG_DONE. `on_message`, when not null, gets the data messages.
  int Receive(uint32_t seq, absl::FunctionRef<void(const nlmsghdr&)>* on_message,
              std::string* kernel_message);
  int Send(nlmsghdr* request);

  // Large enough for any single dump datagram the kernel sends (it sizes
  // them to at most 32 KiB).
  static constexpr size_t kBufferSize = 32768;

  mnl_socket* socket_ = nullptr;
  uint32_t port_id_ = 0;
  uint32_t next_seq_ = 1;
  std::vector<char> buffer_;
};

// Heartbeat's findif: the interface and prefix length of the most specific
// route of the main table that is directly connected (unicast, no gateway,
// an output interface, scope link or wider) and contains `address`. Among
// routes of equal prefix length the one of lowest metric wins. A default
// route (prefix 0) places nothing. InvalidArgument for text that is no
// address; NotFound, naming the address, when no such route contains it.
absl::StatusOr<Placement> FindInterface(const std::string& address);

// Where `ip` goes: the spec's interface when given (NotFound naming it when
// it does not exist, InvalidArgument when the name cannot be one), else
// FindInterface's; the spec's prefix length when nonzero (InvalidArgument
// above 32 / 128), else the one of the most specific directly connected route
// on that interface that contains the address (NotFound when there is none).
absl::StatusOr<Placement> ResolvePlacement(const spec::v1::IpAddress& ip);

// Adds `ip.address()`/`p.prefix_length` to `p.ifindex` (RTM_NEWADDR): local
// and address attributes, for IPv4 the broadcast address (`ip.broadcast()`,
// else the highest address of the subnet; none for /31 and /32) and the
// interface's name as label, for IPv6 IFA_F_NODAD so that the address is
// usable at once. An address already on the interface (with any prefix) is
// success: starting a started resource is fine. InvalidArgument for a bad
// address, prefix, broadcast (IPv6 has none) or ifindex.
absl::Status AddAddress(const spec::v1::IpAddress& ip, const Placement& p);

// Removes `ip.address()` from `p.ifindex` (RTM_DELADDR), whatever prefix
// length it was added with. An address that is not there, or an interface
// that no longer exists, is success: stopping a stopped resource is fine.
// `p.prefix_length` is not used; `p.interface` names the interface in errors.
absl::Status RemoveAddress(const spec::v1::IpAddress& ip, const Placement& p);

// Whether `address` is assigned to interface `ifindex`, or to any interface
// when `ifindex` is 0 (kAnyInterface). For the monitor.
inline constexpr int kAnyInterface = 0;
absl::StatusOr<bool> HasAddress(const std::string& address, int ifindex = kAnyInterface);

// The kernel's index of interface `name`. InvalidArgument when `name` cannot
// be an interface name (empty, over 15 characters, '/', ':' or blanks),
// NotFound naming it when there is no such interface.
absl::StatusOr<int> InterfaceIndex(const std::string& name);

}  // namespace hacluster::vip

#endif  // HACLUSTER_AGENT_VIP_NETLINK_ADDRESS_H_
