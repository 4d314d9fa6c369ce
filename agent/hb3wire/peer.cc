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

void PeerSession::RequestRetransmit(uint64_t first, uint64_t last, std::vector<Outgoing>* out) {
  if (first > last) return;
  HaMessage m;
  m.Add("t", "NS_rexmit");
  // Decimal here, unlike seq (as the daemon writes and reads them).
  m.Add("firstseq", absl::StrCat(first));
  m.Add("lastseq", absl::StrCat(last));
  m.Add("dest", peer_);
  if (!peer_uuid_.empty()) m.AddTyped(FieldType::kBinary, "destuuid", peer_uuid_);
  out->push_back({std::move(m), false});
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

void PeerSession::ForgetPeerState() {
  peer_holds_ = kHoldNone;
  holds_known_ = false;
  peer_leaving_ = false;
  peer_giving_.reset();
  peer_awaits_ = false;
  giving_.clear();
  taking_.clear();
  expect_taker_done_.reset();
  peer_stable_ = false;
  awaiting_since_.reset();
  takeover_asked_ = false;
  send_starting_ = true;
  announced_.reset();
  contiguous_ = 0;
  acked_ = 0;
  pending_.clear();
  ++version_;
}

void PeerSession::OnMessage(const Received& m, absl::Time wall, std::vector<Outgoing>* out) {
  if (!heard_ || m.generation > generation_) {
    const bool restarted = heard_;
    heard_ = true;
    dead_ = false;
    generation_ = m.generation;
    // A new Heartbeat process knows nothing of earlier hand-overs.
    ForgetPeerState();
    if (restarted) {
      // It takes only its own haresources lines again: what it asked for
      // of ours belongs here again.
      for (const std::string& g : GroupsOf(kHoldForeign, false)) {
        for (const wire::v1::Placement& p : placements_) {
          if (p.group() == g && p.node() == peer_) {
            Place(g, local_, wall);
            break;
          }
        }
      }
    }
  }
  if (m.generation < generation_) return;
  if (dead_) {
    // Heard again in the same generation (a healed partition): what it
    // holds now is unknown until it says so again.
    dead_ = false;
    ForgetPeerState();
  }
  for (const HaField& f : m.message.fields()) {
    if (f.name == "srcuuid" && f.type == FieldType::kBinary) peer_uuid_ = f.value;
  }
  if (m.seq == 0) return;  // acknowledgements and retransmission requests
  if (contiguous_ != 0 && m.seq <= contiguous_) return;  // used already
  if (pending_.count(m.seq) > 0) return;
  if (contiguous_ == 0 || m.seq == contiguous_ + 1) {
    Process(m, wall, out);
    contiguous_ = m.seq;
    while (!pending_.empty() && pending_.begin()->first == contiguous_ + 1) {
      Process(pending_.begin()->second, wall, out);
      contiguous_ = pending_.begin()->first;
      pending_.erase(pending_.begin());
    }
    if (!pending_.empty()) {
      gap_since_ = wall;  // the next gap
      RequestRetransmit(contiguous_ + 1, pending_.begin()->first - 1, out);
      rexmit_at_ = wall;
    }
    return;
  }
  // After a gap: kept until the missing ones come (asked for at once).
  if (pending_.empty()) gap_since_ = wall;
  pending_.emplace(m.seq, m);
  if (pending_.size() > kMaxPending) {
    for (auto& [seq, held] : pending_) {
      Process(held, wall, out);
      contiguous_ = seq;
    }
    pending_.clear();
    return;
  }
  RequestRetransmit(contiguous_ + 1, pending_.begin()->first - 1, out);
  rexmit_at_ = wall;
}

void PeerSession::Process(const Received& m, absl::Time wall, std::vector<Outgoing>* out) {
  ++version_;
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
    peer_leaving_ = false;
    // Say what we hold, so the starting node knows what not to take.
    out->push_back({Resource(announced_.value_or(kHoldNone), announced_stable_, ""), true});
  } else if (m.type == "resource") {
    std::optional<uint8_t> h = ParseHold(msg.GetOr("rsc_hold"));
    if (h.has_value()) {
      // rtype=full replaces the holding; without it (mach_down's) it adds.
      peer_holds_ = msg.GetOr("rtype") == "full" ? *h : static_cast<uint8_t>(peer_holds_ | *h);
      holds_known_ = true;
    }
    std::optional<absl::string_view> stable = msg.Get("isstable");
    if (stable.has_value()) peer_stable_ = *stable == "1";
    if (msg.GetOr("info") == "standby" && peer_giving_.has_value()) peer_giving_->releasing = true;
  } else if (m.type == "ask_resources") {
    std::optional<uint8_t> h = ParseHold(msg.GetOr("rsc_hold"));
    const absl::string_view info = msg.GetOr("info");
    if (!h.has_value()) return;
    if (info == "me") {
      // Heartbeat answers a hand-over only while both sides are stable and
      // none runs: one it ignores itself must not be taken for real here.
      if (peer_giving_.has_value() || !giving_.empty() || !announced_stable_ || !peer_stable_) {
        return;
      }
      // The peer gives us part of what it holds: it keeps claiming it
      // until it says done, and placement puts it here.
      peer_giving_ = PeerGive{*h, wall, false};
      for (const std::string& g : GroupsOf(*h, false)) {
        if (local_awaiting_.count(g) == 0) Place(g, local_, wall);  // else our own request
      }
      out->push_back({AskResources(*h, "other"), true});
    } else if (info == "other") {
      if (!giving_.empty()) peer_awaits_ = true;
    } else if (info == "done") {
      if (expect_taker_done_.has_value() && *expect_taker_done_ == *h) {
        expect_taker_done_.reset();  // the peer took what we gave
      } else if (peer_giving_.has_value() && peer_giving_->hold == *h) {
        taking_.push_back({*h, GroupsOf(*h, false), wall});
        peer_giving_.reset();
      }
    }
  } else if (m.type == "hb_takeover") {
    // The peer wants what it names (seen from it): placement moves it
    // there, and Tick runs the hand-over.
    std::optional<uint8_t> h = ParseHold(msg.GetOr("rsc_hold"));
    if (!h.has_value()) return;
    for (const std::string& g : GroupsOf(*h, false)) Place(g, peer_, wall);
  } else if (m.type == "shutdone") {
    // The peer stopped its resources and leaves: it holds nothing and
    // takes nothing until it starts again.
    peer_giving_.reset();
    peer_holds_ = kHoldNone;
    holds_known_ = true;
    peer_leaving_ = true;
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
  ForgetPeerState();
  holds_known_ = true;  // a dead node holds nothing
  dead_ = true;
  status_ = "dead";
}

bool PeerSession::TakeStarting(std::vector<Outgoing>* out) {
  if (!heard_ || dead_ || !send_starting_) return false;
  send_starting_ = false;
  HaMessage s;
  s.Add("t", "starting");
  out->push_back({std::move(s), true});
  out->push_back({Resource(announced_.value_or(kHoldNone), announced_stable_, ""), true});
  return true;
}

std::optional<uint64_t> PeerSession::TakeAck() {
  if (contiguous_ <= acked_) return std::nullopt;
  acked_ = contiguous_;
  return acked_;
}

void PeerSession::Tick(const LocalState& local, std::vector<Outgoing>* out) {
  const uint8_t hold = HoldOf(local.claimed, true);
  const bool stable = !local.busy;
  // A gap in the peer's messages: asked for again, given up after a while
  // (the messages after it are used then).
  if (!pending_.empty()) {
    if (local.now - gap_since_ >= kGapGiveUp) {
      for (auto& [seq, held] : pending_) {
        Process(held, local.now, out);
        contiguous_ = seq;
      }
      pending_.clear();
    } else if (local.now - rexmit_at_ >= kRexmitEvery) {
      RequestRetransmit(contiguous_ + 1, pending_.begin()->first - 1, out);
      rexmit_at_ = local.now;
    }
  }
  // A hand-over the peer began and then did not follow up: it ignored it.
  if (peer_giving_.has_value() && !peer_giving_->releasing &&
      local.now - peer_giving_->since >= kHandOverAnswer) {
    peer_giving_.reset();
    ++version_;
  }
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
      expect_taker_done_ = giving_hold_;
      giving_.clear();
      peer_awaits_ = false;
      ++version_;
    } else if (local.moving_to_peer.empty() && !local.busy) {
      giving_.clear();  // placement changed its mind: nothing is given
      peer_awaits_ = false;
      ++version_;
    } else if (!peer_awaits_ && local.now - giving_since_ >= kHandOverAnswer) {
      giving_.clear();  // the peer ignored our `me`: asked again below
      ++version_;
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
  if (giving_.empty() && !local.moving_to_peer.empty() && !peer_giving_.has_value() && heard_ &&
      peer_stable_ && stable) {
    giving_ = local.moving_to_peer;
    giving_hold_ = HoldOf(giving_, true);
    giving_since_ = local.now;
    peer_awaits_ = false;
    out->push_back({AskResources(giving_hold_, "me"), true});
  }
  // An operator's takeover: ask the peer for what it holds of ours.
  if (local.awaiting.empty()) {
    awaiting_since_.reset();
    takeover_asked_ = false;
  } else {
    if (!awaiting_since_.has_value()) awaiting_since_ = local.now;
    if (!takeover_asked_ && peer_stable_ && !peer_giving_.has_value() &&
        local.now - *awaiting_since_ >= absl::Seconds(1)) {
      takeover_asked_ = true;
      HaMessage m;
      m.Add("t", "hb_takeover");
      m.Add("rsc_hold", HoldName(HoldOf(local.awaiting, true)));
      out->push_back({std::move(m), true});
    }
  }
  // The taker's side: what the peer released runs here (or none of it is
  // starting any more: a start that failed); Heartbeat waits for our done.
  local_awaiting_ = local.awaiting;
  if (stable) {
    for (auto it = taking_.begin(); it != taking_.end();) {
      bool all = true;
      for (const std::string& g : it->groups) all = all && local.claimed.count(g) > 0;
      if (!all && local.now - it->since < kTakeWait) {
        ++it;
        continue;
      }
      // Heartbeat counts the taker unstable from its `other` until its next
      // `resource` isstable=1: what it holds now, then done (as the daemon
      // does).
      out->push_back({Resource(hold, stable, ""), true});
      out->push_back({AskResources(it->hold, "done"), true});
      it = taking_.erase(it);
    }
  }
}

void PeerSession::FillHeartbeat(wire::v1::Heartbeat* hb) const {
  hb->Clear();
  hb->set_node(peer_);
  hb->set_generation(generation_);
  hb->set_seq(version_);
  hb->set_standby(peer_leaving_);
  if (!holds_known_) {
    // Not yet said what it holds: it may hold any group.
    for (const std::vector<std::string>* groups : {&local_groups_, &peer_groups_}) {
      for (const std::string& g : *groups) {
        wire::v1::GroupClaim* c = hb->add_groups();
        c->set_name(g);
        c->set_phase(wire::v1::GroupClaim::PHASE_PROBING);
      }
    }
  } else {
    std::set<std::string> claims = GroupsOf(peer_holds_, false);
    if (peer_giving_.has_value()) {
      std::set<std::string> given = GroupsOf(peer_giving_->hold, false);
      claims.insert(given.begin(), given.end());
    }
    if (expect_taker_done_.has_value()) {
      // What we gave it: it is starting it until it says done.
      std::set<std::string> taking = GroupsOf(*expect_taker_done_, true);
      claims.insert(taking.begin(), taking.end());
    }
    for (const std::string& g : claims) {
      wire::v1::GroupClaim* c = hb->add_groups();
      c->set_name(g);
      c->set_phase(wire::v1::GroupClaim::PHASE_HELD);
    }
  }
  if (peer_awaits_) {
    for (const std::string& g : giving_) hb->add_awaiting(g);
  }
  for (const wire::v1::Placement& p : placements_) *hb->add_placements() = p;
}

}  // namespace hacluster::hb3wire
