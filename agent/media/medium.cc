#include "agent/media/medium.h"

#include <errno.h>
#include <netinet/in.h>

#include <cstring>
#include <set>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/ucast_peers.h"
#include "agent/media/net_address.h"
#include "agent/media/serial_medium.h"
#include "agent/media/udp_media.h"

namespace hacluster::media {

Medium::Medium(int index, std::string link_name, std::string description)
    : link_name_(std::move(link_name)),
      description_(std::move(description)),
      error_prefix_(absl::StrCat("media[", index, "] (", description_, ")")) {}

absl::Status Medium::OsError(int err, absl::string_view what) const {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(error_prefix_, ": ", what, ": ", std::strerror(err)));
}

absl::Status Medium::NotOpenError() const {
  return absl::FailedPreconditionError(absl::StrCat(error_prefix_, ": not open"));
}

namespace {

using spec::v1::ClusterSpec;

constexpr uint32_t kDefaultUdpPort = 694;
constexpr uint32_t kDefaultBaud = 19200;
constexpr int kDefaultMulticastTtl = 1;

// Everything MakeMedia decides about one medium before building it, so that
// link names can be made unique first.
struct Plan {
  std::string link_name;
  std::string description;
  enum Kind { kUcast, kBcast, kMcast, kSerial } kind = kUcast;
  std::string interface;
  uint16_t port = 0;
  // ucast
  SocketAddress bind;
  bool dual_stack = false;
  std::vector<SocketAddress> destinations;
  // mcast
  SocketAddress group;
  int ttl = kDefaultMulticastTtl;
  bool loop = false;
  // serial
  std::string device;
  speed_t speed = B19200;
};

absl::Status MediumError(int index, absl::string_view description, absl::string_view what) {
  if (description.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("media[", index, "]: ", what));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("media[", index, "] (", description, "): ", what));
}

absl::StatusOr<uint16_t> UdpPort(const ClusterSpec& spec, uint32_t medium_port, int index) {
  uint32_t port = medium_port != 0 ? medium_port
                  : spec.udp_port() != 0 ? spec.udp_port()
                                         : kDefaultUdpPort;
  if (port > 65535) {
    return MediumError(index, "", absl::StrCat("UDP port ", port, " is out of range"));
  }
  return static_cast<uint16_t>(port);
}

// An IPv4 address as the IPv4-mapped IPv6 address, for a dual-stack socket.
SocketAddress MapToV6(const SocketAddress& a) {
  if (a.family() != AF_INET) return a;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
  SocketAddress out = WildcardAddress(AF_INET6, ntohs(v4->sin_port));
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  v6->sin6_addr.s6_addr[10] = 0xff;
  v6->sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
  return out;
}

bool Contains(const std::vector<SocketAddress>& list, const SocketAddress& a) {
  for (const SocketAddress& b : list) {
    if (b.SameHost(a)) return true;
  }
  return false;
}

absl::Status PlanUcast(const ClusterSpec& spec, const spec::v1::Node& local, int index,
                       Plan& plan) {
  const spec::v1::UcastMedium& m = spec.media(index).ucast();
  absl::StatusOr<uint16_t> port = UdpPort(spec, m.port(), index);
  if (!port.ok()) return port.status();
  plan.kind = Plan::kUcast;
  plan.interface = m.interface();
  plan.port = *port;

  std::vector<std::string> to = config::UcastDestinations(spec, local.name(), index);
  plan.description = absl::StrCat("ucast ", m.interface().empty() ? "" : m.interface() + " ",
                                   "port ", *port, " -> ",
                                   to.empty() ? "nobody" : absl::StrJoin(to, ", "));
  bool has_v4 = false;
  bool has_v6 = false;
  for (const std::string& text : to) {
    absl::StatusOr<SocketAddress> a = ParseNumericAddress(text, *port);
    if (!a.ok()) return MediumError(index, plan.description, a.status().message());
    (a->family() == AF_INET ? has_v4 : has_v6) = true;
    plan.destinations.push_back(*a);
  }
  std::vector<SocketAddress> own;
  for (const std::string& text : local.addresses()) {
    absl::StatusOr<SocketAddress> a = ParseNumericAddress(text, *port);
    if (!a.ok()) {
      return MediumError(index, plan.description,
                         absl::StrCat("node ", local.name(), ": ", a.status().message()));
    }
    own.push_back(*a);
  }

  // Bind to the own addresses that some peer sends to on this medium.
  std::vector<SocketAddress> bind_candidates;
  for (const spec::v1::Node& peer : spec.nodes()) {
    if (peer.name() == local.name()) continue;
    for (const std::string& text : config::UcastDestinations(spec, peer.name(), index)) {
      absl::StatusOr<SocketAddress> a = ParseNumericAddress(text, *port);
      if (a.ok() && Contains(own, *a) && !Contains(bind_candidates, *a)) {
        bind_candidates.push_back(*a);
      }
    }
  }
  for (const SocketAddress& a : bind_candidates) (a.family() == AF_INET ? has_v4 : has_v6) = true;

  if (has_v4 && has_v6) {
    // One socket for both families: [::] with IPv4 mapped.
    plan.dual_stack = true;
    plan.bind = WildcardAddress(AF_INET6, *port);
    for (SocketAddress& d : plan.destinations) d = MapToV6(d);
  } else if (bind_candidates.size() == 1) {
    plan.bind = bind_candidates.front();
  } else if (bind_candidates.size() > 1) {
    // Peers reach us on several addresses of one family: one socket takes
    // them all only when bound to the wildcard.
    plan.bind = WildcardAddress(bind_candidates.front().family(), *port);
  } else {
    int family = has_v6 ? AF_INET6 : AF_INET;
    if (!has_v4 && !has_v6 && !own.empty()) family = own.front().family();
    std::optional<SocketAddress> first_own;
    for (const SocketAddress& a : own) {
      if (a.family() == family) {
        first_own = a;
        break;
      }
    }
    plan.bind = first_own.has_value() ? *first_own : WildcardAddress(family, *port);
  }

  if (!m.interface().empty()) {
    plan.link_name = m.interface();
  } else if (!plan.bind.IsWildcard()) {
    char text[kAddressTextSize];
    plan.link_name = std::string(FormatHost(plan.bind.get(), plan.bind.length, text));
  } else {
    plan.link_name = "ucast";
  }
  return absl::OkStatus();
}

absl::Status PlanBcast(const ClusterSpec& spec, int index, Plan& plan) {
  const spec::v1::BcastMedium& m = spec.media(index).bcast();
  absl::StatusOr<uint16_t> port = UdpPort(spec, m.port(), index);
  if (!port.ok()) return port.status();
  plan.kind = Plan::kBcast;
  plan.interface = m.interface();
  plan.port = *port;
  plan.description = absl::StrCat("bcast ", m.interface(), " port ", *port);
  if (m.interface().empty()) {
    return MediumError(index, plan.description, "a bcast medium needs an interface");
  }
  plan.link_name = m.interface();
  return absl::OkStatus();
}

absl::Status PlanMcast(const ClusterSpec& spec, int index, Plan& plan) {
  const spec::v1::McastMedium& m = spec.media(index).mcast();
  absl::StatusOr<uint16_t> port = UdpPort(spec, m.port(), index);
  if (!port.ok()) return port.status();
  plan.kind = Plan::kMcast;
  plan.interface = m.interface();
  plan.port = *port;
  plan.ttl = m.ttl() == 0 ? kDefaultMulticastTtl : static_cast<int>(m.ttl());
  plan.loop = m.loop();
  plan.description = absl::StrCat("mcast ", m.interface(), " group ", m.group(), " port ", *port,
                                  " ttl ", plan.ttl, " loop ", plan.loop ? "on" : "off");
  if (m.interface().empty()) {
    return MediumError(index, plan.description, "an mcast medium needs an interface");
  }
  if (m.ttl() > 255) {
    return MediumError(index, plan.description,
                       absl::StrCat("multicast TTL ", m.ttl(), " is out of range 1..255"));
  }
  absl::StatusOr<SocketAddress> group = ParseNumericAddress(m.group(), *port);
  if (!group.ok()) return MediumError(index, plan.description, group.status().message());
  if (!group->IsMulticast()) {
    return MediumError(index, plan.description,
                       absl::StrCat("'", m.group(), "' is not a multicast address"));
  }
  plan.group = *group;
  plan.link_name = m.interface();
  return absl::OkStatus();
}

absl::Status PlanSerial(const ClusterSpec& spec, int index, Plan& plan) {
  const spec::v1::SerialMedium& m = spec.media(index).serial();
  uint32_t baud = m.baud() == 0 ? kDefaultBaud : m.baud();
  plan.kind = Plan::kSerial;
  plan.device = m.device();
  plan.description = absl::StrCat("serial ", m.device(), " ", baud, " baud");
  if (m.device().empty()) {
    return MediumError(index, plan.description, "a serial medium needs a device");
  }
  std::optional<speed_t> speed = internal::TermiosSpeed(baud);
  if (!speed.has_value()) {
    return MediumError(index, plan.description,
                       absl::StrCat(baud, " baud is not a rate termios supports"));
  }
  plan.speed = *speed;
  size_t slash = m.device().rfind('/');
  plan.link_name = slash == std::string::npos ? m.device() : m.device().substr(slash + 1);
  if (plan.link_name.empty()) {
    return MediumError(index, plan.description, "the device path names no device");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<Medium>>> MakeMedia(const ClusterSpec& spec,
                                                               const std::string& local_node) {
  const spec::v1::Node* local = nullptr;
  for (const spec::v1::Node& n : spec.nodes()) {
    if (n.name() == local_node) local = &n;
  }
  if (local == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("node '", local_node, "' is not one of the spec's nodes"));
  }

  std::vector<Plan> plans(static_cast<size_t>(spec.media_size()));
  for (int i = 0; i < spec.media_size(); ++i) {
    const spec::v1::Medium& m = spec.media(i);
    Plan& plan = plans[static_cast<size_t>(i)];
    absl::Status s;
    switch (m.kind_case()) {
      case spec::v1::Medium::kUcast:
        s = PlanUcast(spec, *local, i, plan);
        break;
      case spec::v1::Medium::kBcast:
        s = PlanBcast(spec, i, plan);
        break;
      case spec::v1::Medium::kMcast:
        s = PlanMcast(spec, i, plan);
        break;
      case spec::v1::Medium::kSerial:
        s = PlanSerial(spec, i, plan);
        break;
      case spec::v1::Medium::KIND_NOT_SET:
        s = MediumError(i, "", "no kind set (ucast, bcast, mcast or serial)");
        break;
    }
    if (!s.ok()) return s;
  }

  // The second medium on eth1 is "eth1#2", the third "eth1#3" (skipping a
  // suffixed name that some medium already has as its own).
  std::set<std::string> wanted;
  for (const Plan& plan : plans) wanted.insert(plan.link_name);
  std::set<std::string> given;
  for (Plan& plan : plans) {
    if (given.count(plan.link_name) != 0) {
      std::string name;
      for (int n = 2;; ++n) {
        name = absl::StrCat(plan.link_name, "#", n);
        if (given.count(name) == 0 && wanted.count(name) == 0) break;
      }
      plan.link_name = std::move(name);
    }
    given.insert(plan.link_name);
  }

  std::vector<std::unique_ptr<Medium>> media;
  media.reserve(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    Plan& p = plans[i];
    const int index = static_cast<int>(i);
    switch (p.kind) {
      case Plan::kUcast:
        media.push_back(std::make_unique<internal::UcastMedium>(
            index, std::move(p.link_name), std::move(p.description), std::move(p.interface),
            p.bind, p.dual_stack, std::move(p.destinations)));
        break;
      case Plan::kBcast:
        media.push_back(std::make_unique<internal::BcastMedium>(
            index, std::move(p.link_name), std::move(p.description), std::move(p.interface),
            p.port));
        break;
      case Plan::kMcast:
        media.push_back(std::make_unique<internal::McastMedium>(
            index, std::move(p.link_name), std::move(p.description), std::move(p.interface),
            p.group, p.ttl, p.loop));
        break;
      case Plan::kSerial:
        media.push_back(std::make_unique<internal::SerialMedium>(
            index, std::move(p.link_name), std::move(p.description), std::move(p.device),
            p.speed));
        break;
    }
  }
  return media;
}

}  // namespace hacluster::media
