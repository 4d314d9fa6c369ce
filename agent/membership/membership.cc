#include "agent/membership/membership.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/membership/time_text.h"

namespace hacluster::agent {
namespace {

using agent::v1::Event;
using agent::v1::EventKind;

void Emit(std::vector<Event>* out, EventKind kind, MonoTime now,
          const std::string& node, absl::string_view link,
          uint64_t generation, std::string reason) {
  Event& e = out->emplace_back();
  e.set_kind(kind);
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  e.set_node(node);
  if (!link.empty()) e.set_link(std::string(link));
  e.set_generation(generation);
  e.set_reason(std::move(reason));
}

}  // namespace

Membership::Membership(MembershipConfig config, uint64_t local_generation,
                       MonoTime start)
    : config_(std::move(config)),
      local_generation_(local_generation),
      start_(start) {
  nodes_.reserve(config_.nodes.size());
  for (const std::string& name : config_.nodes) {
    Node& n = nodes_.emplace_back();
    n.name = name;
    n.added_at = start;
    if (name == config_.local_node) {
      n.local = true;
      n.state = agent::v1::NODE_STATE_UP;
      n.generation = local_generation_;
    } else {
      n.links.resize(config_.links.size());
    }
  }
  BuildIndex();
}

void Membership::BuildIndex() {
  index_.clear();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    index_.emplace(nodes_[i].name, i);  // the first of duplicates wins
  }
}

const Membership::Node* Membership::Find(absl::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &nodes_[it->second];
}

MonoTime Membership::DeathDeadline(MonoTime last) const {
  return std::max(last + config_.deadtime, start_ + config_.initdead);
}

MonoTime Membership::NeverHeardDeadline(const Node& node) const {
  MonoTime deadline = start_ + config_.initdead;
  if (node.added_later) {
    deadline = std::max(deadline, node.added_at + config_.deadtime);
  }
  return deadline;
}

bool Membership::InInitdead(MonoTime now) const {
  return now < start_ + config_.initdead;
}

bool Membership::OnHeartbeat(const wire::v1::Heartbeat& hb, int link,
                             MonoTime now, std::vector<Event>* out) {
  auto it = index_.find(hb.node());
  if (it == index_.end()) return false;
  Node& n = nodes_[it->second];
  if (n.local) return false;
  if (link < 0 || static_cast<size_t>(link) >= n.links.size()) return false;
  Link& l = n.links[link];
  const std::string& link_name = config_.links[link];

  const bool was_up = n.state == agent::v1::NODE_STATE_UP;
  if (was_up) {
    if (hb.generation() < n.generation) return false;  // a stale packet
    if (hb.generation() > n.generation) {
      Emit(out, agent::v1::EVENT_KIND_NODE_RESTARTED, now, n.name, "",
           hb.generation(),
           absl::StrCat("node ", n.name, " restarted: generation ",
                        n.generation, " -> ", hb.generation()));
      n.generation = hb.generation();
    }
  } else {
    std::string reason;
    if (!n.heard) {
      reason = absl::StrCat("node ", n.name, " up (generation ",
                            hb.generation(), ")");
    } else {
      reason = absl::StrCat("node ", n.name, " up again after ",
                            DurationText(now - n.last_heard),
                            " of silence (generation ", hb.generation());
      if (hb.generation() > n.generation) {
        absl::StrAppend(&reason, ", restarted since generation ",
                        n.generation, ")");
      } else if (hb.generation() < n.generation) {
        absl::StrAppend(&reason, ", was ", n.generation, ")");
      } else {
        absl::StrAppend(&reason, ")");
      }
    }
    Emit(out, agent::v1::EVENT_KIND_NODE_UP, now, n.name, "", hb.generation(),
         std::move(reason));
    n.state = agent::v1::NODE_STATE_UP;
    n.generation = hb.generation();
  }

  switch (l.state) {
    case agent::v1::LINK_STATE_UP: {
      const absl::Duration gap = now - l.last_heard;
      if (config_.warntime > absl::ZeroDuration() && gap > config_.warntime) {
        Emit(out, agent::v1::EVENT_KIND_HEARTBEAT_LATE, now, n.name,
             link_name, n.generation,
             absl::StrCat("late heartbeat from ", n.name, " on ", link_name,
                          ": ", DurationText(gap), " since the last, warntime ",
                          DurationText(config_.warntime)));
      }
      break;
    }
    case agent::v1::LINK_STATE_DEAD:
      Emit(out, agent::v1::EVENT_KIND_LINK_UP, now, n.name, link_name,
           n.generation,
           absl::StrCat("link ", n.name, ":", link_name, " up again after ",
                        DurationText(now - l.last_heard), " of silence"));
      break;
    default:
      Emit(out, agent::v1::EVENT_KIND_LINK_UP, now, n.name, link_name,
           n.generation, absl::StrCat("link ", n.name, ":", link_name, " up"));
      break;
  }
  l.state = agent::v1::LINK_STATE_UP;
  l.last_heard = now;
  n.heard = true;
  n.last_heard = now;

  // Keep the newest heartbeat only: the copy of one heartbeat that comes on
  // a second medium, or an older one overtaken by a newer, changes nothing.
  const bool newer = !n.has_heartbeat || !was_up || n.accept_any_seq ||
                     hb.generation() > n.last_heartbeat.generation() ||
                     (hb.generation() == n.last_heartbeat.generation() &&
                      hb.seq() > n.last_heartbeat.seq());
  if (newer) {
    if (was_up && hb.connectivity_score() != n.connectivity_score) {
      Emit(out, agent::v1::EVENT_KIND_CONNECTIVITY_CHANGED, now, n.name, "",
           n.generation,
           absl::StrCat("node ", n.name, " connectivity ",
                        n.connectivity_score, " -> ",
                        hb.connectivity_score()));
    }
    n.connectivity_score = hb.connectivity_score();
    n.last_heartbeat = hb;  // reuses the storage of the previous copy
    n.has_heartbeat = true;
    n.accept_any_seq = false;
  }
  return true;
}

void Membership::Tick(MonoTime now, std::vector<Event>* out) {
  for (Node& n : nodes_) {
    if (n.local) continue;
    if (n.state == agent::v1::NODE_STATE_UNKNOWN) {
      const MonoTime deadline = NeverHeardDeadline(n);
      if (now < deadline) continue;
      n.state = agent::v1::NODE_STATE_DEAD;
      std::string reason;
      if (n.added_later && deadline > start_ + config_.initdead) {
        reason = absl::StrCat("node ", n.name, " dead: never heard in ",
                              DurationText(now - n.added_at),
                              " since it was configured (deadtime ",
                              DurationText(config_.deadtime), ")");
      } else {
        reason = absl::StrCat("node ", n.name,
                              " dead: never heard within initdead ",
                              DurationText(config_.initdead));
      }
      Emit(out, agent::v1::EVENT_KIND_NODE_DEAD, now, n.name, "", 0,
           std::move(reason));
      continue;
    }
    if (n.state != agent::v1::NODE_STATE_UP) continue;

    // The timing in a reason: initdead is named when it held the death back.
    auto timing = [&](MonoTime last) {
      std::string s = absl::StrCat("(deadtime ", DurationText(config_.deadtime));
      if (last + config_.deadtime < start_ + config_.initdead) {
        absl::StrAppend(&s, ", initdead ", DurationText(config_.initdead));
      }
      s.push_back(')');
      return s;
    };
    for (size_t i = 0; i < n.links.size(); ++i) {
      Link& l = n.links[i];
      if (l.state != agent::v1::LINK_STATE_UP) continue;
      if (now < DeathDeadline(l.last_heard)) continue;
      l.state = agent::v1::LINK_STATE_DEAD;
      Emit(out, agent::v1::EVENT_KIND_LINK_DEAD, now, n.name, config_.links[i],
           n.generation,
           absl::StrCat("link ", n.name, ":", config_.links[i],
                        " dead: no heartbeat for ",
                        DurationText(now - l.last_heard), " ",
                        timing(l.last_heard)));
    }
    // A node's last heartbeat is the newest of its links', so its deadline
    // is never before theirs: when it dies, the loop above has just declared
    // every link it still had UP, and their events come first.
    if (now < DeathDeadline(n.last_heard)) continue;
    n.state = agent::v1::NODE_STATE_DEAD;
    Emit(out, agent::v1::EVENT_KIND_NODE_DEAD, now, n.name, "", n.generation,
         absl::StrCat("node ", n.name, " dead: no heartbeat on any link for ",
                      DurationText(now - n.last_heard), " ",
                      timing(n.last_heard)));
  }
}

absl::Duration FadeLead(absl::Duration deadtime) { return deadtime / 5; }

void Membership::Fading(MonoTime now, std::vector<std::string>* out, MonoTime* next) const {
  out->clear();
  *next = absl::InfiniteDuration();
  const absl::Duration lead = FadeLead(config_.deadtime);
  for (const Node& n : nodes_) {
    if (n.local || n.state != agent::v1::NODE_STATE_UP) continue;
    const MonoTime from = DeathDeadline(n.last_heard) - lead;
    if (now >= from) {
      out->push_back(n.name);
    } else {
      *next = std::min(*next, from);
    }
  }
}

MonoTime Membership::NextDeadline() const {
  MonoTime next = absl::InfiniteDuration();
  for (const Node& n : nodes_) {
    if (n.local) continue;
    if (n.state == agent::v1::NODE_STATE_UNKNOWN) {
      next = std::min(next, NeverHeardDeadline(n));
    } else if (n.state == agent::v1::NODE_STATE_UP) {
      next = std::min(next, DeathDeadline(n.last_heard));
      for (const Link& l : n.links) {
        if (l.state == agent::v1::LINK_STATE_UP) {
          next = std::min(next, DeathDeadline(l.last_heard));
        }
      }
    }
  }
  return next;
}

void Membership::SetLocalConnectivity(uint32_t score, MonoTime now,
                                      std::vector<Event>* out) {
  auto it = index_.find(config_.local_node);
  if (it == index_.end()) return;  // the local node is not configured
  Node& n = nodes_[it->second];
  if (n.connectivity_score == score) return;
  Emit(out, agent::v1::EVENT_KIND_CONNECTIVITY_CHANGED, now, n.name, "",
       local_generation_,
       absl::StrCat("node ", n.name, " connectivity ", n.connectivity_score,
                    " -> ", score));
  n.connectivity_score = score;
}

void Membership::FillStatus(MonoTime now,
                            const std::function<absl::Time(MonoTime)>& wall,
                            agent::v1::GetStatusResponse* status) const {
  status->set_local_node(config_.local_node);
  status->set_local_generation(local_generation_);
  status->set_in_initdead(InInitdead(now));
  SetProtoDuration(config_.keepalive, status->mutable_keepalive());
  SetProtoDuration(config_.warntime, status->mutable_warntime());
  SetProtoDuration(config_.deadtime, status->mutable_deadtime());
  SetProtoDuration(config_.initdead, status->mutable_initdead());
  status->clear_connectivity_score();
  status->clear_nodes();
  for (const Node& n : nodes_) {
    agent::v1::NodeStatus* ns = status->add_nodes();
    ns->set_name(n.name);
    ns->set_state(n.state);
    ns->set_generation(n.generation);
    ns->set_connectivity_score(n.connectivity_score);
    ns->set_local(n.local);
    if (n.local) {
      status->set_connectivity_score(n.connectivity_score);
      continue;
    }
    if (n.heard) {
      SetProtoTimestamp(wall(n.last_heard), ns->mutable_last_heard());
      SetProtoDuration(now - n.last_heard, ns->mutable_since_last_heard());
    }
    if (n.has_heartbeat) {
      ns->set_config_version(n.last_heartbeat.config_version());
      ns->set_standby(n.last_heartbeat.standby());
    }
    for (size_t i = 0; i < n.links.size(); ++i) {
      const Link& l = n.links[i];
      agent::v1::LinkStatus* ls = ns->add_links();
      ls->set_name(config_.links[i]);
      ls->set_state(l.state);
      if (l.state != agent::v1::LINK_STATE_UNKNOWN) {
        SetProtoTimestamp(wall(l.last_heard), ls->mutable_last_heard());
        SetProtoDuration(now - l.last_heard, ls->mutable_since_last_heard());
      }
    }
  }
}

agent::v1::NodeState Membership::StateOf(absl::string_view node) const {
  const Node* n = Find(node);
  return n == nullptr ? agent::v1::NODE_STATE_UNSPECIFIED : n->state;
}

const wire::v1::Heartbeat* Membership::LastHeartbeat(
    absl::string_view node) const {
  const Node* n = Find(node);
  if (n == nullptr || !n->has_heartbeat) return nullptr;
  return &n->last_heartbeat;
}

MonoTime Membership::LastHeard(absl::string_view node) const {
  const Node* n = Find(node);
  if (n == nullptr || n->local || !n->heard) return -absl::InfiniteDuration();
  return n->last_heard;
}

void Membership::AcceptNextHeartbeats() {
  for (Node& n : nodes_) n.accept_any_seq = true;
}

void Membership::Reconfigure(MembershipConfig config, MonoTime now) {
  // Where each old link name was, to carry link state over by name.
  absl::flat_hash_map<std::string, size_t> old_link_index;
  for (size_t i = 0; i < config_.links.size(); ++i) {
    old_link_index.emplace(config_.links[i], i);
  }
  std::vector<Node> old_nodes = std::move(nodes_);
  absl::flat_hash_map<std::string, size_t> old_index = std::move(index_);
  std::vector<bool> taken(old_nodes.size(), false);  // guards duplicates

  config_ = std::move(config);
  nodes_.clear();
  nodes_.reserve(config_.nodes.size());
  for (const std::string& name : config_.nodes) {
    const bool local = name == config_.local_node;
    auto old = old_index.find(name);
    if (old != old_index.end() && !taken[old->second] &&
        old_nodes[old->second].local == local) {
      taken[old->second] = true;
      Node& kept = nodes_.emplace_back(std::move(old_nodes[old->second]));
      if (!local) {
        std::vector<Link> links(config_.links.size());
        for (size_t i = 0; i < config_.links.size(); ++i) {
          auto ol = old_link_index.find(config_.links[i]);
          if (ol != old_link_index.end() && ol->second < kept.links.size()) {
            links[i] = kept.links[ol->second];
          }
        }
        kept.links = std::move(links);
      }
      continue;
    }
    Node& n = nodes_.emplace_back();
    n.name = name;
    n.added_at = now;
    n.added_later = true;
    if (local) {
      n.local = true;
      n.state = agent::v1::NODE_STATE_UP;
      n.generation = local_generation_;
    } else {
      n.links.resize(config_.links.size());
    }
  }
  BuildIndex();
}

}  // namespace hacluster::agent
