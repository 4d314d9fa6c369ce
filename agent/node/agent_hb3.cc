// The heartbeat3 wire (spec.wire): the loop's side of a mixed pair with a
// Heartbeat 3 node (agent/hb3wire). Status messages replace the native
// heartbeat; the peer's messages are read as a native heartbeat for
// membership and placement; after each decision pass the peer session
// announces holdings and runs hand-overs.
#include <stdlib.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/core/version.h"
#include "agent/node/agent_loop.h"

namespace hacluster::agent {
namespace {

constexpr absl::string_view kUuidFile = "hb3-uuid";

std::string LoadLine() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line.empty() ? "0.00 0.00 0.00 1/1 1" : line;
}

// The groups of `spec` whose preferred node is `local`, and the others'.
std::pair<std::vector<std::string>, std::vector<std::string>> GroupsByPreference(
    const spec::v1::ClusterSpec& spec, const std::string& local) {
  std::pair<std::vector<std::string>, std::vector<std::string>> out;
  for (const auto& g : spec.groups()) {
    (g.preferred_node() == local ? out.first : out.second).push_back(g.name());
  }
  return out;
}

}  // namespace

absl::Status AgentLoop::Hb3Start() {
  if (config_.spec.wire() != spec::v1::WIRE_FORMAT_HEARTBEAT3) return absl::OkStatus();
  hb3wire::Identity id;
  id.node = local_node_;
  // A uuid of its own, kept across restarts (Heartbeat's hostcache keeps
  // the peer's).
  auto uuid = state_dir_->ReadFile(kUuidFile);
  if (!uuid.ok()) return uuid.status();
  if (uuid->has_value() && (*uuid)->size() == 32) {
    id.uuid = absl::HexStringToBytes(**uuid);
  } else {
    std::string bytes(16, '\0');
    std::ifstream random("/dev/urandom", std::ios::binary);
    random.read(bytes.data(), 16);
    if (!random) return absl::UnavailableError("cannot read /dev/urandom for the node's uuid");
    id.uuid = bytes;
    absl::Status s = state_dir_->WriteFileAtomic(kUuidFile, absl::BytesToHexString(bytes));
    if (!s.ok()) return s;
  }
  // The agent's generation: on this wire at least the start time (see
  // Start), so higher than any generation the node had as a Heartbeat node.
  id.generation = generation_;

  std::vector<std::string> nodes;
  for (const auto& n : config_.spec.nodes()) {
    nodes.push_back(n.name());
    if (n.name() != local_node_) hb3_peer_name_ = n.name();
  }
  auto [local_groups, peer_groups] = GroupsByPreference(config_.spec, local_node_);
  hb3_ = std::make_unique<hb3wire::Codec>(std::move(id), nodes, config_.keyring.get());
  hb3_peer_ = std::make_unique<hb3wire::PeerSession>(local_node_, hb3_peer_name_,
                                                     std::move(local_groups),
                                                     std::move(peer_groups));
  logger_.Info(absl::StrCat("heartbeat3 wire: speaking Heartbeat 3.0.6's protocol with ",
                            hb3_peer_name_, " (generation ", hb3_->local().generation, ")"));
  return absl::OkStatus();
}

void AgentLoop::Hb3Reconfigure() {
  const bool want = config_.spec.wire() == spec::v1::WIRE_FORMAT_HEARTBEAT3;
  // The peers' sequence numbers count on the other wire's terms now.
  if (want != (hb3_ != nullptr)) membership_->AcceptNextHeartbeats();
  if (!want) {
    if (hb3_ != nullptr) {
      logger_.Info("heartbeat3 wire: switching to the native wire (the generation carries on; "
                   "each peer's next heartbeat is taken whatever its sequence number)");
    }
    hb3_peer_.reset();
    hb3_.reset();
  } else if (hb3_ == nullptr) {
    absl::Status s = Hb3Start();
    if (!s.ok()) logger_.Error(absl::StrCat("cannot switch to the heartbeat3 wire: ", s.message()));
  } else {
    hb3_->SetKeyring(config_.keyring.get());
    auto [local_groups, peer_groups] = GroupsByPreference(config_.spec, local_node_);
    hb3_peer_->SetGroups(std::move(local_groups), std::move(peer_groups));
  }
  groups_->SetHandoffWaitsForTarget(hb3_ != nullptr);
}

void AgentLoop::Hb3Send(hb3wire::Outgoing o) {
  const std::string what = o.body.DebugString();
  // Heartbeat's `ld` field: /proc/loadavg, read at most once a second (not
  // at every keepalive).
  const MonoTime now = clock_.Now();
  if (o.sequenced && now - hb3_load_read_ >= absl::Seconds(1)) {
    hb3_load_ = LoadLine();
    hb3_load_read_ = now;
  }
  absl::StatusOr<std::string> d = hb3_->Encode(std::move(o.body), o.sequenced, absl::Now(),
                                               o.sequenced ? hb3_load_ : "");
  if (!d.ok()) {
    logger_.Error(absl::StrCat("cannot encode a Heartbeat 3 message: ", d.status().message()));
    return;
  }
  if (!absl::StartsWith(what, "t=status") && !absl::StartsWith(what, "t=NS_ackmsg")) {
    logger_.Info(absl::StrCat("to ", hb3_peer_name_, ": ", what));
  }
  for (size_t i = 0; i < config_.media.size(); ++i) (void)config_.media[i]->Send(*d);
}

void AgentLoop::Hb3SendStatus() {
  hb3wire::HaMessage m;
  m.Add("t", "status");
  m.Add("st", hb3_status_sent_ == 0 ? "init" : hb3_status_sent_ == 1 ? "up" : "active");
  m.Add("dt", absl::StrCat(absl::Hex(absl::ToInt64Milliseconds(config_.timing.deadtime))));
  m.Add("protocol", "1");
  m.Add(hb3wire::kAgentField, kVersion);
  ++hb3_status_sent_;
  Hb3Send({std::move(m), true});
  std::vector<hb3wire::Outgoing> starting;
  if (hb3_peer_->TakeStarting(&starting)) {
    for (hb3wire::Outgoing& o : starting) Hb3Send(std::move(o));
  }
  if (std::optional<uint64_t> ack = hb3_peer_->TakeAck(); ack.has_value()) {
    hb3wire::HaMessage a;
    a.Add("t", "NS_ackmsg");
    a.Add("dest", hb3_peer_name_);
    a.Add("ackseq", absl::StrCat(absl::Hex(*ack)));
    if (!hb3_peer_->peer_uuid().empty()) {
      a.AddTyped(hb3wire::FieldType::kBinary, "destuuid", hb3_peer_->peer_uuid());
    }
    Hb3Send({std::move(a), false});
  }
}

void AgentLoop::Hb3SendShutdone() {
  hb3wire::HaMessage m;
  m.Add("t", "shutdone");
  m.Add("st", "dead");
  logger_.Info(absl::StrCat("telling ", hb3_peer_name_, " this node stops, holding nothing"));
  Hb3Send({std::move(m), true});
}

void AgentLoop::Hb3OnFrame(size_t i, absl::string_view frame, absl::string_view source,
                           MonoTime at) {
  hb3wire::Received rcv;
  wire::PacketCheck::Result r = hb3_->Check(frame, static_cast<int>(i), &rcv);
  if (!r.ok) {
    OnDrop(source, r, at);
    return;
  }
  if (r.own) return;
  // A retransmission request of the peer's current process, answered at
  // most every 100 ms (a captured one replayed is no amplifier).
  if (rcv.type == "NS_rexmit" && rcv.message.GetOr("dest") == local_node_ &&
      rcv.generation == hb3_peer_->generation() && at - hb3_rexmit_answered_ >= absl::Milliseconds(100)) {
    hb3_rexmit_answered_ = at;
    uint64_t first = 0, last = 0;
    // Decimal, unlike seq.
    if (absl::SimpleAtoi(rcv.message.GetOr("firstseq"), &first) &&
        absl::SimpleAtoi(rcv.message.GetOr("lastseq"), &last) && first <= last) {
      for (const std::string& d : hb3_->History(first, std::min(last, first + 50))) {
        for (size_t k = 0; k < config_.media.size(); ++k) (void)config_.media[k]->Send(d);
      }
    }
  }
  if (rcv.type != "status" && rcv.type != "NS_ackmsg") {
    logger_.Info(absl::StrCat("from ", rcv.node, ": ", rcv.message.DebugString()));
  }
  std::vector<hb3wire::Outgoing> out;
  hb3_peer_->OnMessage(rcv, absl::Now(), &out);
  for (hb3wire::Outgoing& o : out) Hb3Send(std::move(o));
  hb3_peer_->FillHeartbeat(&in_hb_);
  in_hb_.set_cluster_name(config_.spec.cluster_name());
  if (!groups_dirty_) {
    const wire::v1::Heartbeat* prev = membership_->LastHeartbeat(in_hb_.node());
    if (prev == nullptr || !SameGroupState(*prev, in_hb_)) groups_dirty_ = true;
  }
  membership_->OnHeartbeat(in_hb_, static_cast<int>(i), at, &events_);
}

void AgentLoop::Hb3Tick() {
  hb3wire::LocalState s;
  for (const auto& c : out_hb_.groups()) {
    s.claimed.insert(c.name());
    if (c.phase() != wire::v1::GroupClaim::PHASE_HELD) s.busy = true;
  }
  s.moving_to_peer = groups_->MovesTo(hb3_peer_name_);
  s.awaiting.insert(out_hb_.awaiting().begin(), out_hb_.awaiting().end());
  s.now = absl::Now();
  std::vector<hb3wire::Outgoing> out;
  hb3_peer_->Tick(s, &out);
  for (hb3wire::Outgoing& o : out) Hb3Send(std::move(o));
}

}  // namespace hacluster::agent
