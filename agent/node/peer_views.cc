#include "agent/node/peer_views.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/node/settings.h"

namespace hacluster::agent {

bool SameGroupState(const wire::v1::Heartbeat& a, const wire::v1::Heartbeat& b) {
  if (a.standby() != b.standby() || a.groups_size() != b.groups_size() ||
      a.failed_groups_size() != b.failed_groups_size() ||
      a.placements_size() != b.placements_size() || a.reports_hears() != b.reports_hears() ||
      !std::equal(a.fading().begin(), a.fading().end(), b.fading().begin(), b.fading().end()) ||
      !std::equal(a.awaiting().begin(), a.awaiting().end(), b.awaiting().begin(),
                  b.awaiting().end()) ||
      !std::equal(a.hears().begin(), a.hears().end(), b.hears().begin(), b.hears().end())) {
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

bool DriftTracker::Differs(const Peer& p) const {
  return p.version != version_ || (!p.hash.empty() && !hash_.empty() && p.hash != hash_);
}

DriftTracker::Change DriftTracker::Describe(const std::string& node, const Peer& p) const {
  Change c;
  c.node = node;
  c.drift = Differs(p);
  auto hex = [](const std::string& h) { return h.empty() ? std::string("unknown") : Hex(h); };
  if (c.drift) {
    c.reason = absl::StrCat("config drift: ", node, " runs config version ", p.version,
                            " (spec ", hex(p.hash), "), this node version ", version_, " (spec ",
                            hex(hash_), ")");
  } else {
    c.reason = absl::StrCat("config drift over: ", node, " runs config version ", p.version,
                            " (spec ", hex(p.hash), ") like this node");
  }
  return c;
}

std::vector<DriftTracker::Change> DriftTracker::SetLocal(uint64_t version, std::string hash) {
  version_ = version;
  hash_ = std::move(hash);
  std::vector<Change> changes;
  for (auto& [node, p] : peers_) {
    if (Differs(p) == p.drift) continue;
    p.drift = !p.drift;
    changes.push_back(Describe(node, p));
  }
  return changes;
}

std::optional<DriftTracker::Change> DriftTracker::OnHeartbeat(const std::string& node,
                                                             const wire::v1::Heartbeat& hb) {
  auto it = peers_.find(node);
  const bool known = it != peers_.end();
  Peer& p = peers_[node];
  if (known && p.version == hb.config_version() && p.hash == hb.config_hash()) return std::nullopt;
  p.version = hb.config_version();
  p.hash = hb.config_hash();
  const bool drift = Differs(p);
  // A peer first heard in agreement is no news.
  if ((!known && !drift) || (known && drift == p.drift)) {
    p.drift = drift;
    return std::nullopt;
  }
  p.drift = drift;
  return Describe(node, p);
}

void DriftTracker::Forget(const std::string& node) { peers_.erase(node); }

bool DriftTracker::Drifting(const std::string& node) const {
  auto it = peers_.find(node);
  return it != peers_.end() && it->second.drift;
}

bool DriftTracker::Any() const {
  for (const auto& [node, p] : peers_) {
    if (p.drift) return true;
  }
  return false;
}

std::string DriftTracker::HashOf(const std::string& node) const {
  auto it = peers_.find(node);
  return it == peers_.end() ? "" : it->second.hash;
}

}  // namespace hacluster::agent
