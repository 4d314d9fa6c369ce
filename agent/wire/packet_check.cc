#include "agent/wire/packet_check.h"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace hacluster::wire {

namespace {

// Names from a packet as they may appear in a log line: quoted, at most 64
// bytes, non-printable bytes escaped.
std::string Quoted(absl::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMax)), "\"");
  if (s.size() > kMax) out += "...";
  return out;
}

PacketCheck::Result Dropped(DropReason reason, uint32_t key_id, std::string detail) {
  PacketCheck::Result r;
  r.reason = reason;
  r.key_id = key_id;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

PacketCheck::PacketCheck(std::string cluster_name, std::string local_node,
                         const Keyring* keyring)
    : cluster_name_(std::move(cluster_name)),
      local_node_(std::move(local_node)),
      codec_(keyring) {}

PacketCheck::Result PacketCheck::Check(absl::string_view frame, int link,
                                       wire::v1::Heartbeat* hb) {
  if (link < 0 || link >= kMaxLinks) {
    std::fprintf(stderr, "PacketCheck::Check: link %d is not 0 to %d\n", link, kMaxLinks - 1);
    std::abort();
  }
  Result result;
  Drop drop;
  if (!codec_.Decode(frame, hb, &result.key_id, &drop)) {
    return Dropped(drop.reason, result.key_id, std::move(drop.detail));
  }
  if (hb->cluster_name() != cluster_name_) {
    return Dropped(DropReason::kWrongCluster, result.key_id,
                   absl::StrCat("cluster ", Quoted(hb->cluster_name()), ", node ",
                                Quoted(hb->node())));
  }
  return CheckDecoded(*hb, link, result.key_id);
}

PacketCheck::Result PacketCheck::CheckDecoded(const wire::v1::Heartbeat& hb, int link,
                                              uint32_t key_id) {
  if (link < 0 || link >= kMaxLinks) {
    std::fprintf(stderr, "PacketCheck::CheckDecoded: link %d is not 0 to %d\n", link,
                 kMaxLinks - 1);
    std::abort();
  }
  Result result;
  result.key_id = key_id;
  if (hb.node().empty()) {
    return Dropped(DropReason::kMalformed, result.key_id, "heartbeat without a node name");
  }
  if (hb.seq() == 0) {
    return Dropped(DropReason::kMalformed, result.key_id,
                   absl::StrCat("node ", Quoted(hb.node()),
                                " sent seq 0; sequence numbers start at 1"));
  }
  if (hb.node() == local_node_) {
    result.ok = true;
    result.own = true;
    return result;
  }
  if (!AcceptSequence(hb, link, &result)) return result;
  result.ok = true;
  return result;
}

bool PacketCheck::AcceptSequence(const wire::v1::Heartbeat& hb, int link, Result* result) {
  auto it = nodes_.find(hb.node());
  if (it == nodes_.end()) {
    if (nodes_.size() >= kMaxTrackedNodes) EvictOldestNode();
    it = nodes_.try_emplace(hb.node()).first;
    it->second.generation = hb.generation();
  }
  NodeState& node = it->second;
  if (hb.generation() < node.generation) {
    result->reason = DropReason::kReplay;
    result->detail = absl::StrCat("node ", Quoted(hb.node()), " generation ", hb.generation(),
                                  " is older than generation ", node.generation,
                                  " (if that node lost its state directory, set its "
                                  "STATE_DIR/generation to ", node.generation,
                                  " and restart it)");
    return false;
  }
  if (hb.generation() > node.generation) {
    node.generation = hb.generation();
    node.max_seq = 0;
    node.floor = 0;
    for (Window& w : node.links) w = Window{};
  }
  if (static_cast<size_t>(link) >= node.links.size()) node.links.resize(link + 1);
  Window& w = node.links[link];
  uint64_t seq = hb.seq();
  if (seq <= node.floor) {
    result->reason = DropReason::kReplay;
    result->detail = absl::StrCat("node ", Quoted(hb.node()), " generation ", hb.generation(),
                                  " seq ", seq, " is at or below seq ", node.floor,
                                  ", seen before this agent restarted");
    return false;
  }
  if (w.top == 0 && seq + kFreshLinkLag < node.max_seq) {
    // A link that has not heard this generation yet: only a copy of one of
    // the newest heartbeats (or a newer one) may open it.
    result->reason = DropReason::kReplay;
    result->detail = absl::StrCat("node ", Quoted(hb.node()), " link ", link, " generation ",
                                  hb.generation(), " seq ", seq, " is older than seq ",
                                  node.max_seq, " already seen on another link");
    return false;
  }
  if (w.top == 0 || seq > w.top) {
    uint64_t shift = w.top == 0 ? kReplayWindow : seq - w.top;
    w.seen = shift >= kReplayWindow ? 1 : (w.seen << shift) | 1;
    w.top = seq;
  } else {
    uint64_t behind = w.top - seq;
    if (behind >= kReplayWindow) {
      result->reason = DropReason::kReplay;
      result->detail = absl::StrCat("node ", Quoted(hb.node()), " link ", link, " generation ",
                                    hb.generation(), " seq ", seq, " is older than the window (",
                                    kReplayWindow, " below seq ", w.top, ")");
      return false;
    }
    uint64_t bit = uint64_t{1} << behind;
    if ((w.seen & bit) != 0) {
      result->reason = DropReason::kReplay;
      result->detail = absl::StrCat("node ", Quoted(hb.node()), " link ", link, " generation ",
                                    hb.generation(), " seq ", seq, " was already seen");
      return false;
    }
    w.seen |= bit;
  }
  node.max_seq = std::max(node.max_seq, seq);
  node.last_accepted = ++accepted_;
  return true;
}

void PacketCheck::EvictOldestNode() {
  auto oldest = nodes_.begin();
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    if (it->second.last_accepted < oldest->second.last_accepted) oldest = it;
  }
  if (oldest != nodes_.end()) nodes_.erase(oldest);
}

std::vector<PacketCheck::Floor> PacketCheck::Floors() const {
  std::vector<Floor> out;
  out.reserve(nodes_.size());
  for (const auto& [name, n] : nodes_) {
    out.push_back({name, n.generation, std::max(n.max_seq, n.floor)});
  }
  std::sort(out.begin(), out.end(),
            [](const Floor& a, const Floor& b) { return a.node < b.node; });
  return out;
}

void PacketCheck::SetFloor(const Floor& floor) {
  if (floor.node.empty() || floor.node == local_node_) return;
  auto it = nodes_.find(floor.node);
  if (it == nodes_.end()) {
    if (nodes_.size() >= kMaxTrackedNodes) EvictOldestNode();
    it = nodes_.try_emplace(floor.node).first;
    it->second.generation = floor.generation;
  }
  NodeState& node = it->second;
  if (floor.generation < node.generation) return;
  if (floor.generation > node.generation) {
    node.generation = floor.generation;
    node.max_seq = 0;
    node.floor = 0;
    for (Window& w : node.links) w = Window{};
  }
  if (floor.seq <= node.floor) return;
  node.floor = floor.seq;
  ++restored_;
}

void PacketCheck::UpdateKeyring(const Keyring* keyring) { codec_.SetKeyring(keyring); }

}  // namespace hacluster::wire
