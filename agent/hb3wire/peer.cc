#include "agent/hb3wire/peer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hacluster::hb3wire {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

absl::string_view HoldName(uint8_t hold) {
  switch (hold & kHoldAll) {
    case kHoldLocal:
      return "local";
    case kHoldForeign:
      return "foreign";
    case kHoldAll:
      return "all";
    default:
      return "none";
  }
}

std::optional<uint8_t> ParseHold(absl::string_view name) {
  if (name == "none") return kHoldNone;
  if (name == "local") return kHoldLocal;
  if (name == "foreign") return kHoldForeign;
  if (name == "all") return kHoldAll;
  return std::nullopt;
}

PeerSession::PeerSession(std::string local, std::string peer,
                         std::vector<std::string> local_groups,
                         std::vector<std::string> peer_groups)
    : local_(std::move(local)),
      peer_(std::move(peer)),
      local_groups_(std::move(local_groups)),
      peer_groups_(std::move(peer_groups)) {}

std::set<std::string> PeerSession::GroupsOf(uint8_t hold, bool holder_is_local) const {
  const std::vector<std::string>& own = holder_is_local ? local_groups_ : peer_groups_;
  const std::vector<std::string>& other = holder_is_local ? peer_groups_ : local_groups_;
  std::set<std::string> out;
  if (hold & kHoldLocal) out.insert(own.begin(), own.end());
  if (hold & kHoldForeign) out.insert(other.begin(), other.end());
  return out;
}

uint8_t PeerSession::HoldOf(const std::set<std::string>& groups, bool holder_is_local) const {
  const std::vector<std::string>& own = holder_is_local ? local_groups_ : peer_groups_;
  uint8_t hold = kHoldNone;
  for (const std::string& g : groups) hold |= Contains(own, g) ? kHoldLocal : kHoldForeign;
  return hold;
}

HaMessage PeerSession::Resource(uint8_t hold, bool stable, absl::string_view info) const {
  HaMessage m;
  m.Add("t", "resource");
  m.Add("rsc_hold", HoldName(hold));
  m.Add("rtype", "full");
  m.Add("isstable", stable ? "1" : "0");
  if (!info.empty()) m.Add("info", info);
  return m;
}

HaMessage PeerSession::AskResources(uint8_t hold, absl::string_view info) const {
  HaMessage m;
  m.Add("t", "ask_resources");
  m.Add("rsc_hold", HoldName(hold));
  m.Add("info", info);
  return m;
}

void PeerSession::Place(const std::string& group, const std::string& node, absl::Time wall) {
  placements_.erase(std::remove_if(placements_.begin(), placements_.end(),
                                   [&](const wire::v1::Placement& q) { return q.group() == group; }),
                    placements_.end());
  wire::v1::Placement p;
  p.set_group(group);
  p.set_node(node);
  p.set_stamp_ns(absl::ToUnixNanos(wall));
  p.set_requested_by(peer_);
  placements_.push_back(std::move(p));
}

void PeerSession::RequestRetransmit(uint64_t first, uint64_t last, std::vector<Outgoing>* out) {
  if (last <= rexmit_asked_) return;
  first = std::max(first, rexmit_asked_ + 1);
  rexmit_asked_ = last;
  HaMessage m;
  m.Add("t", "NS_rexmit");
  // Decimal here, unlike seq (as the daemon writes and reads them).
  m.Add("firstseq", absl::StrCat(first));
  m.Add("lastseq", absl::StrCat(last));
  m.Add("dest", peer_);
  if (!peer_uuid_.empty()) m.AddTyped(FieldType::kBinary, "destuuid", peer_uuid_);
  out->push_back({std::move(m), false});
}

void PeerSession::OnMessage(const Received& m, absl::Time wall, std::vector<Outgoing>* out) {
  if (!heard_ || m.generation > generation_) {
    // First heard, or restarted: a new Heartbeat process knows nothing of
    // earlier hand-overs.
    heard_ = true;
    generation_ = m.generation;
    last_seq_ = 0;
    contiguous_ = 0;
    rexmit_asked_ = 0;
    peer_holds_ = kHoldNone;
    peer_giving_.clear();
    peer_awaits_ = false;
    giving_.clear();
    taking_.clear();
    send_starting_ = true;
    announced_.reset();
    peer_stable_ = false;
    awaiting_since_.reset();
    takeover_asked_ = false;
  }
  if (m.generation < generation_) return;
  for (const HaField& f : m.message.fields()) {
    if (f.name == "srcuuid" && f.type == FieldType::kBinary) peer_uuid_ = f.value;
  }
  if (m.seq > 0) {
    if (contiguous_ == 0 || m.seq == contiguous_ + 1) {
      contiguous_ = std::max(contiguous_, m.seq);
    } else if (m.seq > contiguous_ + 1) {
      RequestRetransmit(contiguous_ + 1, m.seq - 1, out);
      contiguous_ = m.seq;
    }
    last_seq_ = std::max(last_seq_, m.seq);
  }
  const HaMessage& msg = m.message;
  const absl::string_view dest = msg.GetOr("dest");
  if (!dest.empty() && dest != local_) return;
  if (m.type == "status") {
    status_ = std::string(msg.GetOr("st"));
    std::optional<absl::string_view> agent = msg.Get(kAgentField);
    software_ = agent.has_value() ? absl::StrCat("ha-agent ", *agent)
                                  : absl::StrCat("Heartbeat 3 (protocol ", msg.GetOr("protocol"), ")");
  } else if (m.type == "starting") {
    peer_stable_ = false;
    // Say what we hold, so the starting node knows what not to take.
    out->push_back({Resource(announced_.value_or(kHoldNone), announced_stable_, ""), true});
  } else if (m.type == "resource") {
    std::optional<uint8_t> h = ParseHold(msg.GetOr("rsc_hold"));
    if (h.has_value()) peer_holds_ = *h;
    if (msg.GetOr("isstable") == "1") peer_stable_ = true;
  } else if (m.type == "ask_resources") {
    std::optional<uint8_t> h = ParseHold(msg.GetOr("rsc_hold"));
    const absl::string_view info = msg.GetOr("info");
    if (!h.has_value()) return;
    if (info == "me") {
      // The peer gives us part of what it holds: it keeps claiming it
      // until it says done, and placement puts it here.
      peer_giving_.push_back(*h);
      for (const std::string& g : GroupsOf(*h, false)) {
        if (local_awaiting_.count(g) == 0) Place(g, local_, wall);  // else our own request
      }
      out->push_back({AskResources(*h, "other"), true});
    } else if (info == "other") {
      if (!giving_.empty()) peer_awaits_ = true;
    } else if (info == "done") {
      auto it = std::find(peer_giving_.begin(), peer_giving_.end(), *h);
      if (it != peer_giving_.end()) {
        peer_giving_.erase(it);
        taking_.emplace_back(*h, GroupsOf(*h, false));
      }
    }
  } else if (m.type == "hb_takeover") {
    // The peer wants what it names (seen from it): placement moves it
    // there, and Tick runs the hand-over.
    std::optional<uint8_t> h = ParseHold(msg.GetOr("rsc_hold"));
    if (!h.has_value()) return;
    for (const std::string& g : GroupsOf(*h, false)) Place(g, peer_, wall);
  } else if (m.type == "reqnodes") {
    HaMessage r;
    r.Add("dest", peer_);
    r.Add("t", "repnodes");
    r.Add("nodelist", absl::StrCat(std::min(local_, peer_), " ", std::max(local_, peer_), " "));
    r.Add("delnodelist", " ");
    if (!peer_uuid_.empty()) r.AddTyped(FieldType::kBinary, "destuuid", peer_uuid_);
    out->push_back({std::move(r), true});
  }
}

void PeerSession::OnPeerDead() {
  peer_holds_ = kHoldNone;
  peer_giving_.clear();
  peer_awaits_ = false;
  giving_.clear();
  taking_.clear();
  status_ = "dead";
}

bool PeerSession::TakeStarting(std::vector<Outgoing>* out) {
  if (!heard_ || !send_starting_) return false;
  send_starting_ = false;
  HaMessage s;
  s.Add("t", "starting");
  out->push_back({std::move(s), true});
  out->push_back({Resource(announced_.value_or(kHoldNone), announced_stable_, ""), true});
  return true;
}

void PeerSession::Tick(const LocalState& local, std::vector<Outgoing>* out) {
  const uint8_t hold = HoldOf(local.claimed, true);
  const bool stable = !local.busy;
  // The end of our hand-over to the peer: what we gave is stopped here, so
  // the peer may start it now.
  if (!giving_.empty()) {
    bool still_held = false;
    for (const std::string& g : giving_) still_held = still_held || local.claimed.count(g) > 0;
    if (!still_held) {
      out->push_back({Resource(hold, stable, "standby"), true});
      announced_ = hold;
      announced_stable_ = stable;
      out->push_back({AskResources(giving_hold_, "done"), true});
      giving_.clear();
      peer_awaits_ = false;
    } else if (local.moving_to_peer.empty() && !local.busy) {
      giving_.clear();  // placement changed its mind: nothing is given
      peer_awaits_ = false;
    }
  }
  // What we hold, before any request: Heartbeat answers a hand-over only
  // while it counts us stable.
  if (!announced_.has_value() || *announced_ != hold || announced_stable_ != stable) {
    out->push_back({Resource(hold, stable, ""), true});
    announced_ = hold;
    announced_stable_ = stable;
  }
  // The start of a hand-over to the peer.
  if (giving_.empty() && !local.moving_to_peer.empty() && peer_giving_.empty() && heard_ &&
      peer_stable_) {
    giving_ = local.moving_to_peer;
    giving_hold_ = HoldOf(giving_, true);
    peer_awaits_ = false;
    out->push_back({AskResources(giving_hold_, "me"), true});
  }
  // An operator's takeover: ask the peer for what it holds of ours.
  if (local.awaiting.empty()) {
    awaiting_since_.reset();
    takeover_asked_ = false;
  } else {
    if (!awaiting_since_.has_value()) awaiting_since_ = local.now;
    if (!takeover_asked_ && peer_stable_ && peer_giving_.empty() &&
        local.now - *awaiting_since_ >= absl::Seconds(1)) {
      takeover_asked_ = true;
      HaMessage m;
      m.Add("t", "hb_takeover");
      m.Add("rsc_hold", HoldName(HoldOf(local.awaiting, true)));
      out->push_back({std::move(m), true});
    }
  }
  // The taker's side: what the peer released runs here.
  local_awaiting_ = local.awaiting;
  if (stable) {
    for (auto it = taking_.begin(); it != taking_.end();) {
      bool all = true;
      for (const std::string& g : it->second) all = all && local.claimed.count(g) > 0;
      if (!all) {
        ++it;
        continue;
      }
      // Heartbeat counts the taker unstable from its `other` until its next
      // `resource` isstable=1: what it holds now, then done (as the daemon
      // does).
      out->push_back({Resource(hold, stable, ""), true});
      out->push_back({AskResources(it->first, "done"), true});
      it = taking_.erase(it);
    }
  }
}

void PeerSession::FillHeartbeat(wire::v1::Heartbeat* hb) const {
  hb->Clear();
  hb->set_node(peer_);
  hb->set_generation(generation_);
  hb->set_seq(std::max<uint64_t>(last_seq_, 1));
  std::set<std::string> claims = GroupsOf(peer_holds_, false);
  for (uint8_t h : peer_giving_) {
    std::set<std::string> given = GroupsOf(h, false);
    claims.insert(given.begin(), given.end());
  }
  for (const std::string& g : claims) {
    wire::v1::GroupClaim* c = hb->add_groups();
    c->set_name(g);
    c->set_phase(wire::v1::GroupClaim::PHASE_HELD);
  }
  if (peer_awaits_) {
    for (const std::string& g : giving_) hb->add_awaiting(g);
  }
  for (const wire::v1::Placement& p : placements_) *hb->add_placements() = p;
}

}  // namespace hacluster::hb3wire
