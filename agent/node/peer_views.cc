#include "agent/node/peer_views.h"

#include <algorithm>

namespace hacluster::agent {

bool SameGroupState(const wire::v1::Heartbeat& a, const wire::v1::Heartbeat& b) {
  if (a.standby() != b.standby() || a.groups_size() != b.groups_size() ||
      a.failed_groups_size() != b.failed_groups_size() ||
      a.placements_size() != b.placements_size()) {
    return false;
  }
  for (int i = 0; i < a.groups_size(); ++i) {
    if (a.groups(i).name() != b.groups(i).name() || a.groups(i).phase() != b.groups(i).phase()) {
      return false;
    }
  }
  for (int i = 0; i < a.failed_groups_size(); ++i) {
    if (a.failed_groups(i) != b.failed_groups(i)) return false;
  }
  for (int i = 0; i < a.placements_size(); ++i) {
    const auto& x = a.placements(i);
    const auto& y = b.placements(i);
    if (x.group() != y.group() || x.node() != y.node() || x.stamp_ns() != y.stamp_ns() ||
        x.requested_by() != y.requested_by()) {
      return false;
    }
  }
  return true;
}

std::set<std::string> DeafPeers(const DeafPeersInput& in, MonoTime now, MonoTime* next) {
  std::set<std::string> deaf;
  *next = absl::InfiniteDuration();
  for (const PeerHeartbeat& p : in.peers) {
    const wire::v1::Heartbeat* last = p.last;
    if (*p.name == in.local_node || last == nullptr || !last->reports_hears() ||
        std::find(last->hears().begin(), last->hears().end(), in.local_node) !=
            last->hears().end()) {
      continue;
    }
    MonoTime since = in.start;
    if (in.up_since != nullptr) {
      auto up = in.up_since->find(*p.name);
      if (up != in.up_since->end()) since = up->second;
    }
    if (now - since >= in.grace) {
      deaf.insert(*p.name);
    } else {
      *next = std::min(*next, since + in.grace);
    }
  }
  return deaf;
}

}  // namespace hacluster::agent
