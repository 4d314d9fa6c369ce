#include "agent/membership/connectivity.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agent/membership/time_text.h"

namespace hacluster::agent {
namespace {

void Emit(std::vector<agent::v1::Event>* out, agent::v1::EventKind kind,
          MonoTime now, const std::string& host, std::string reason) {
  agent::v1::Event& e = out->emplace_back();
  e.set_kind(kind);
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  e.set_link(host);
  e.set_reason(std::move(reason));
}

}  // namespace

Connectivity::Connectivity(ConnectivityConfig config, MonoTime start)
    : config_(std::move(config)) {
  Build(start, {});
}

void Connectivity::Build(MonoTime since, std::vector<Host> previous) {
  absl::flat_hash_map<std::string, size_t> previous_index;
  for (size_t i = 0; i < previous.size(); ++i) {
    previous_index.emplace(previous[i].name, i);
  }
  hosts_.clear();
  ping_nodes_.clear();
  groups_.clear();
  index_.clear();

  // The host's index, adding it on its first mention (ping nodes come
  // first, so a host that is both is described as a ping node).
  auto add = [&](const std::string& name, absl::string_view group) {
    auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    Host h;
    h.name = name;
    h.description = group.empty()
                        ? absl::StrCat("ping node ", name)
                        : absl::StrCat("ping group ", group, " host ", name);
    h.since = since;
    auto prev = previous_index.find(name);
    if (prev != previous_index.end()) {
      const Host& p = previous[prev->second];
      h.state = p.state;
      h.replied = p.replied;
      h.last_reply = p.last_reply;
      h.since = p.since;
    }
    hosts_.push_back(std::move(h));
    index_.emplace(name, hosts_.size() - 1);
    return hosts_.size() - 1;
  };

  for (const std::string& name : config_.ping_nodes) {
    const size_t i = add(name, "");
    if (!hosts_[i].is_ping_node) {
      hosts_[i].is_ping_node = true;
      ping_nodes_.push_back(i);
    }
  }
  for (const auto& [group_name, members] : config_.ping_groups) {
    Group& g = groups_.emplace_back();
    g.name = group_name;
    for (const std::string& name : members) {
      const size_t i = add(name, group_name);
      if (std::find(g.hosts.begin(), g.hosts.end(), i) == g.hosts.end()) {
        g.hosts.push_back(i);
      }
    }
  }
  Rescore();
}

void Connectivity::Rescore() {
  auto count = [this](bool unknown_counts) {
    auto counts = [&](size_t i) {
      return hosts_[i].state == agent::v1::PING_STATE_UP ||
             (unknown_counts && hosts_[i].state == agent::v1::PING_STATE_UNKNOWN);
    };
    uint32_t score = 0;
    for (size_t i : ping_nodes_) score += counts(i) ? 1 : 0;
    for (const Group& g : groups_) {
      score += std::any_of(g.hosts.begin(), g.hosts.end(), counts) ? 1 : 0;
    }
    return score;
  };
  score_ = count(false);
  placement_score_ = count(true);
}

std::vector<std::string> Connectivity::Hosts() const {
  std::vector<std::string> hosts;
  hosts.reserve(hosts_.size());
  for (const Host& h : hosts_) hosts.push_back(h.name);
  return hosts;
}

MonoTime Connectivity::Deadline(const Host& h) const {
  return (h.replied ? h.last_reply : h.since) + config_.deadping;
}

void Connectivity::OnReply(absl::string_view host, MonoTime now,
                           std::vector<agent::v1::Event>* out) {
  auto it = index_.find(host);
  if (it == index_.end()) return;
  Host& h = hosts_[it->second];
  if (h.state != agent::v1::PING_STATE_UP) {
    std::string reason =
        h.replied ? absl::StrCat(h.description, " up again after ",
                                 DurationText(now - h.last_reply),
                                 " without an echo reply")
                  : absl::StrCat(h.description, " up");
    Emit(out, agent::v1::EVENT_KIND_PING_UP, now, h.name, std::move(reason));
    h.state = agent::v1::PING_STATE_UP;
    h.replied = true;
    h.last_reply = now;
    Rescore();
    return;
  }
  h.last_reply = now;
}

void Connectivity::Tick(MonoTime now, std::vector<agent::v1::Event>* out) {
  bool changed = false;
  for (Host& h : hosts_) {
    if (h.state == agent::v1::PING_STATE_DEAD) continue;
    if (now < Deadline(h)) continue;
    std::string reason =
        h.replied
            ? absl::StrCat(h.description, " dead: no echo reply for ",
                           DurationText(now - h.last_reply), " (deadping ",
                           DurationText(config_.deadping), ")")
            : absl::StrCat(h.description, " dead: never answered in ",
                           DurationText(now - h.since), " (deadping ",
                           DurationText(config_.deadping), ")");
    Emit(out, agent::v1::EVENT_KIND_PING_DEAD, now, h.name, std::move(reason));
    h.state = agent::v1::PING_STATE_DEAD;
    changed = true;
  }
  if (changed) Rescore();
}

MonoTime Connectivity::NextDeadline() const {
  MonoTime next = absl::InfiniteDuration();
  for (const Host& h : hosts_) {
    if (h.state == agent::v1::PING_STATE_DEAD) continue;
    next = std::min(next, Deadline(h));
  }
  return next;
}

void Connectivity::FillStatus(const std::function<absl::Time(MonoTime)>& wall,
                              agent::v1::GetStatusResponse* status) const {
  status->clear_ping_targets();
  auto add = [&](const Host& h, const std::string& group) {
    agent::v1::PingTargetStatus* t = status->add_ping_targets();
    t->set_host(h.name);
    t->set_group(group);
    t->set_state(h.state);
    if (h.replied) SetProtoTimestamp(wall(h.last_reply), t->mutable_last_reply());
  };
  for (size_t i : ping_nodes_) add(hosts_[i], "");
  for (const Group& g : groups_) {
    for (size_t i : g.hosts) add(hosts_[i], g.name);
  }
}

void Connectivity::Reconfigure(ConnectivityConfig config, MonoTime now) {
  config_ = std::move(config);
  std::vector<Host> previous = std::move(hosts_);
  Build(now, std::move(previous));
}

}  // namespace hacluster::agent
