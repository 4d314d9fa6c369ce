#include "controller/cluster_view.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

// Each reachable node's view of group `name`: (node, holder, state).
struct Seen {
  std::string node;
  std::string holder;
  av1::GroupState state = av1::GROUP_STATE_UNSPECIFIED;
};

v1::Holder HolderOf(const std::string& group, const std::vector<std::string>& addresses,
                    const std::vector<v1::NodeView>& views) {
  v1::Holder h;
  h.set_group(group);
  for (const std::string& a : addresses) h.add_addresses(a);
  std::vector<Seen> seen;
  for (const v1::NodeView& v : views) {
    if (!v.reachable()) continue;
    for (const auto& g : v.status().groups()) {
      if (g.name() == group) seen.push_back({v.node(), g.holder(), g.state()});
    }
  }
  if (seen.empty()) {
    h.set_state(av1::GROUP_STATE_UNSPECIFIED);
    return h;
  }
  // The holder most nodes report; on a tie, the one the holder itself
  // reports (it knows best what it runs), else the first in node order.
  std::map<std::string, int> votes;
  for (const Seen& s : seen) ++votes[s.holder];
  std::string best = seen.front().holder;
  for (const auto& [holder, n] : votes) {
    if (n > votes[best]) best = holder;
  }
  for (const Seen& s : seen) {
    if (!s.holder.empty() && s.node == s.holder && votes[s.holder] == votes[best]) best = s.holder;
  }
  h.set_holder(best);
  // The state as the holder reports it, else as the first node reports it.
  h.set_state(seen.front().state);
  for (const Seen& s : seen) {
    if (!best.empty() && s.node == best) h.set_state(s.state);
  }
  if (votes.size() > 1) {
    std::vector<std::string> parts;
    for (const Seen& s : seen) {
      parts.push_back(absl::StrCat(s.node, " sees ", s.holder.empty() ? "none" : s.holder));
    }
    h.set_disagreement(absl::StrJoin(parts, ", "));
  }
  return h;
}

}  // namespace

v1::ClusterStatus BuildClusterStatus(const CatalogCluster& cluster,
                                     std::vector<v1::NodeView> views) {
  v1::ClusterStatus out;
  out.set_name(cluster.name);
  out.set_spec_config_version(cluster.spec.config_version());
  for (const auto& [group, addresses] : cluster.group_addresses) {
    *out.add_holders() = HolderOf(group, addresses, views);
  }
  // Drift: the versions and hashes the reachable nodes run, and what any
  // of them flags about the others.
  std::map<std::pair<uint64_t, std::string>, std::vector<std::string>> running;
  std::set<std::string> flagged;
  for (const v1::NodeView& v : views) {
    if (!v.reachable()) continue;
    running[{v.status().config_version(), v.status().config_hash()}].push_back(v.node());
    for (const auto& n : v.status().nodes()) {
      if (n.config_drift()) {
        flagged.insert(absl::StrCat(v.node(), " sees ", n.name(), " run config version ",
                                    n.config_version(),
                                    n.config_hash().empty() ? "" : absl::StrCat(" (", n.config_hash(), ")"),
                                    ", not its own ", v.status().config_version()));
      }
    }
  }
  if (running.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [version, who] : running) {
      parts.push_back(absl::StrCat(absl::StrJoin(who, ", "), " run", who.size() == 1 ? "s" : "",
                                   " config version ", version.first, " (", version.second, ")"));
    }
    out.add_drift(absl::StrJoin(parts, "; "));
  }
  for (const std::string& line : flagged) out.add_drift(line);
  out.set_config_drift(out.drift_size() > 0);
  for (v1::NodeView& v : views) *out.add_nodes() = std::move(v);
  return out;
}

v1::ClusterSummary Summarize(const CatalogCluster& cluster, const v1::ClusterStatus& status) {
  v1::ClusterSummary s;
  s.set_name(cluster.name);
  s.set_spec_file(cluster.file);
  s.set_spec_config_version(cluster.spec.config_version());
  std::set<std::string> up;
  uint32_t reachable = 0;
  for (const v1::NodeView& v : status.nodes()) {
    s.add_nodes(v.node());
    if (!v.reachable()) continue;
    ++reachable;
    for (const auto& n : v.status().nodes()) {
      if (n.state() == av1::NODE_STATE_UP) up.insert(n.name());
    }
  }
  s.set_nodes_reachable(reachable);
  s.set_nodes_up(static_cast<uint32_t>(up.size()));
  s.set_config_drift(status.config_drift());
  uint32_t held = 0;
  for (const v1::Holder& h : status.holders()) held += h.holder().empty() ? 0 : 1;
  s.set_groups_held(held);
  s.set_groups_total(static_cast<uint32_t>(status.holders_size()));
  return s;
}

std::optional<v1::WhereResponse> WhereIn(const CatalogCluster& cluster,
                                         const v1::ClusterStatus& status,
                                         const std::string& target) {
  for (const v1::Holder& h : status.holders()) {
    bool match = h.group() == target;
    for (const std::string& a : h.addresses()) match = match || a == target;
    if (!match) continue;
    v1::WhereResponse w;
    w.set_cluster(cluster.name);
    w.set_target(target);
    w.set_group(h.group());
    w.set_holder(h.holder());
    w.set_state(h.state());
    w.set_disagreement(h.disagreement());
    return w;
  }
  return std::nullopt;
}

}  // namespace hacluster::controller
