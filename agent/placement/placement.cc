#include "agent/placement/placement.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::agent {
namespace {

const spec::v1::ResourceGroup* FindGroup(const ClusterView& view, const std::string& group) {
  for (const auto& g : view.spec->groups()) {
    if (g.name() == group) return &g;
  }
  return nullptr;
}

const NodeView* FindNode(const ClusterView& view, const std::string& node) {
  for (const NodeView& n : view.nodes) {
    if (n.name == node) return &n;
  }
  return nullptr;
}

bool ConnectivityConfigured(const spec::v1::ClusterSpec& spec) {
  return spec.connectivity().ping_nodes_size() > 0 || spec.connectivity().ping_groups_size() > 0;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool Holds(ClaimPhase p) {
  return p == wire::v1::GroupClaim::PHASE_HELD || p == wire::v1::GroupClaim::PHASE_STARTING;
}

// Candidates for `group`, in spec order; `ignore_failed_on` is a node whose
// failure of the group an operator's request is about to clear.
std::vector<std::string> CandidatesOf(const ClusterView& view, const std::string& group,
                                      const std::string& ignore_failed_on) {
  std::vector<std::string> out;
  if (!QuorumOf(view).ok) return out;
  uint32_t best = 0;
  for (const NodeView& n : view.nodes) {
    if (n.alive && !n.leaving) best = std::max(best, n.score);
  }
  const bool ping = ConnectivityConfigured(*view.spec);
  for (const NodeView& n : view.nodes) {
    if (!n.alive || n.leaving) continue;
    if (ping && n.score < best) continue;
    if (n.name != ignore_failed_on && n.failed_groups.count(group) > 0) continue;
    out.push_back(n.name);
  }
  return out;
}

// The first of `nodes` to prefer: `preferred` if there, else the first.
std::optional<std::string> PreferredOrFirst(const std::vector<std::string>& nodes,
                                            const std::string& preferred) {
  if (nodes.empty()) return std::nullopt;
  if (Contains(nodes, preferred)) return preferred;
  return nodes.front();
}

std::optional<std::string> TargetAmong(const ClusterView& view, const std::string& group,
                                       const std::vector<std::string>& candidates) {
  if (candidates.empty()) return std::nullopt;
  const spec::v1::ResourceGroup* g = FindGroup(view, group);
  const std::string preferred = g != nullptr ? g->preferred_node() : "";
  auto req = view.requests.find(group);
  if (req != view.requests.end() && Contains(candidates, req->second.node)) {
    return req->second.node;
  }
  if (view.spec->auto_failback() != spec::v1::AUTO_FAILBACK_OFF && Contains(candidates, preferred)) {
    return preferred;
  }
  std::vector<std::string> holders;
  for (const auto& [node, phase] : Claimers(view, group)) {
    if (Holds(phase) && Contains(candidates, node)) holders.push_back(node);
  }
  if (!holders.empty()) return PreferredOrFirst(holders, preferred);
  return PreferredOrFirst(candidates, preferred);
}

// The view `peer` will have once it declares `local` dead: `local` not
// alive (its claims gone with it), alive the nodes `peer` says it hears
// (all those alive here when it does not say), `peer` itself.
ClusterView ViewOfPeer(const ClusterView& view, const NodeView& peer, const std::string& local) {
  ClusterView theirs = view;
  for (NodeView& n : theirs.nodes) {
    if (n.name == local) {
      n.alive = false;
      n.claims.clear();
    } else if (n.name != peer.name && peer.hears.has_value()) {
      n.alive = peer.hears->count(n.name) > 0;
    }
  }
  return theirs;
}

}  // namespace

bool Newer(const PlacementRequest& a, const PlacementRequest& b) {
  if (a.stamp_ns != b.stamp_ns) return a.stamp_ns > b.stamp_ns;
  return a.requested_by > b.requested_by;
}

Quorum QuorumOf(const ClusterView& view) {
  Quorum q;
  const size_t configured = view.nodes.size();
  size_t alive = 0;
  for (const NodeView& n : view.nodes) alive += n.alive ? 1 : 0;
  if (configured >= 3 && alive * 2 <= configured) {
    q.ok = false;
    q.reason = absl::StrCat("no quorum: ", alive, " of ", configured,
                            " configured nodes alive, more than half needed");
    return q;
  }
  if (ConnectivityConfigured(*view.spec) && alive < configured) {
    uint32_t best = 0;
    for (const NodeView& n : view.nodes) {
      if (n.alive) best = std::max(best, n.score);
    }
    if (best == 0) {
      q.ok = false;
      q.reason = absl::StrCat("no ping node reachable and ", configured - alive, " of ",
                              configured,
                              " nodes not heard: this side may be the one cut off, so it "
                              "runs nothing");
    }
  }
  return q;
}

std::vector<std::string> Candidates(const ClusterView& view, const std::string& group) {
  return CandidatesOf(view, group, "");
}

std::vector<std::pair<std::string, ClaimPhase>> Claimers(const ClusterView& view,
                                                         const std::string& group) {
  std::vector<std::pair<std::string, ClaimPhase>> out;
  for (const NodeView& n : view.nodes) {
    if (!n.alive) continue;
    auto it = n.claims.find(group);
    if (it != n.claims.end() && it->second != wire::v1::GroupClaim::PHASE_UNSPECIFIED) {
      out.emplace_back(n.name, it->second);
    }
  }
  return out;
}

std::optional<std::string> Target(const ClusterView& view, const std::string& group) {
  return TargetAmong(view, group, Candidates(view, group));
}

Decision Decide(const ClusterView& view, const std::string& local, const std::string& group,
                bool may_acquire) {
  Decision d;
  d.target = Target(view, group);
  const NodeView* self = FindNode(view, local);
  ClaimPhase mine = wire::v1::GroupClaim::PHASE_UNSPECIFIED;
  if (self != nullptr) {
    auto it = self->claims.find(group);
    if (it != self->claims.end()) mine = it->second;
  }
  // One-way loss: a holder that does not hear this node wins.
  for (const NodeView& n : view.nodes) {
    if (n.name == local || !n.alive || n.hears_local) continue;
    auto it = n.claims.find(group);
    if (it == n.claims.end() || !Holds(it->second)) continue;
    d.target = n.name;
    if (Holds(mine)) {
      d.action = Action::kStop;
      d.reason = absl::StrCat(group, " is claimed by ", n.name,
                              ", which does not hear this node (one-way heartbeat loss): "
                              "yielding to it");
    }
    return d;
  }
  // One-way loss, before the peer acts: a peer about to declare this node
  // dead (fading), or that has and does not claim G yet, would start G.
  for (const NodeView& n : view.nodes) {
    if (n.name == local || !n.alive || (n.hears_local && !n.fading_local)) continue;
    const std::optional<std::string> theirs = Target(ViewOfPeer(view, n, local), group);
    if (!theirs.has_value() || *theirs != n.name) continue;
    d.target = n.name;
    if (Holds(mine)) {
      d.action = Action::kStop;
      d.reason =
          n.hears_local
              ? absl::StrCat(n.name, " has not heard this node for most of deadtime and takes ",
                             group, " at its deadline unless it hears it again (one-way "
                             "heartbeat loss): yielding to it first")
              : absl::StrCat(n.name, " does not hear this node and is about to take ", group,
                             " (one-way heartbeat loss): yielding to it first");
    }
    return d;
  }
  const bool target_is_local = d.target.has_value() && *d.target == local;
  if (!target_is_local) {
    if (Holds(mine)) {
      d.action = Action::kStop;
      if (!d.target.has_value()) {
        Quorum q = QuorumOf(view);
        d.reason = q.ok ? absl::StrCat("no node may run ", group, " now")
                        : absl::StrCat(group, " stops here: ", q.reason);
      } else {
        d.reason = absl::StrCat(group, " belongs on ", *d.target);
      }
    }
    return d;
  }
  if (Holds(mine) || mine == wire::v1::GroupClaim::PHASE_STOPPING ||
      mine == wire::v1::GroupClaim::PHASE_PROBING) {
    return d;
  }
  std::vector<std::string> others;
  for (const auto& [node, phase] : Claimers(view, group)) {
    if (node != local) others.push_back(node);
  }
  if (!others.empty()) {
    d.action = Action::kWait;
    d.reason = absl::StrCat(group, " waits for ", absl::StrJoin(others, ", "), " to release it");
    return d;
  }
  if (!may_acquire) {
    d.action = Action::kWait;
    d.reason = absl::StrCat(group, " may not be acquired yet");
    return d;
  }
  d.action = Action::kStart;
  d.reason = absl::StrCat(group, " has no live holder and belongs here");
  return d;
}

absl::StatusOr<std::vector<PlacementRequest>> PlanStandbyOrTakeover(
    const ClusterView& view, const std::string& local, v1::StandbyScope scope, bool takeover,
    int64_t stamp_ns) {
  if (scope == v1::STANDBY_SCOPE_UNSPECIFIED) scope = v1::STANDBY_SCOPE_ALL;
  Quorum q = QuorumOf(view);
  if (!q.ok) return absl::FailedPreconditionError(q.reason);
  std::vector<PlacementRequest> out;
  std::vector<std::string> problems;
  for (const auto& g : view.spec->groups()) {
    const std::string& name = g.name();
    const bool preferred_here = g.preferred_node() == local;
    const std::optional<std::string> target = Target(view, name);
    const bool here = target.has_value() && *target == local;
    bool in_scope = false;
    switch (scope) {
      case v1::STANDBY_SCOPE_ALL:
        in_scope = true;
        break;
      case v1::STANDBY_SCOPE_LOCAL:
        in_scope = preferred_here;
        break;
      case v1::STANDBY_SCOPE_FOREIGN:
        in_scope = !preferred_here;
        break;
      case v1::STANDBY_SCOPE_FAILBACK:
        // Standby failback gives foreign groups back; takeover failback
        // takes back the groups preferred here.
        in_scope = takeover ? preferred_here : !preferred_here;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown scope ", static_cast<int>(scope)));
    }
    if (!in_scope) continue;
    PlacementRequest r;
    r.group = name;
    r.stamp_ns = stamp_ns;
    r.requested_by = local;
    if (takeover) {
      if (here) continue;
      std::vector<std::string> c = CandidatesOf(view, name, local);
      if (!Contains(c, local)) {
        problems.push_back(absl::StrCat(local, " cannot run ", name, " now"));
        continue;
      }
      r.node = local;
    } else {
      if (!here) continue;
      std::vector<std::string> c = CandidatesOf(view, name, "");
      c.erase(std::remove(c.begin(), c.end(), local), c.end());
      if (scope == v1::STANDBY_SCOPE_FAILBACK) {
        if (!Contains(c, g.preferred_node())) {
          problems.push_back(absl::StrCat("cannot give ", name, " back: its preferred node ",
                                          g.preferred_node(), " cannot run it now"));
          continue;
        }
        r.node = g.preferred_node();
      } else {
        std::optional<std::string> to = PreferredOrFirst(c, g.preferred_node());
        if (!to.has_value()) {
          problems.push_back(absl::StrCat("no other node can take ", name));
          continue;
        }
        r.node = *to;
      }
    }
    out.push_back(std::move(r));
  }
  if (!problems.empty()) {
    return absl::FailedPreconditionError(absl::StrJoin(problems, "; "));
  }
  return out;
}

absl::StatusOr<PlacementRequest> PlanMove(const ClusterView& view, const std::string& local,
                                          const std::string& group, const std::string& node,
                                          int64_t stamp_ns) {
  if (FindGroup(view, group) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no group named ", group, " in the spec"));
  }
  const NodeView* n = FindNode(view, node);
  if (n == nullptr) return absl::NotFoundError(absl::StrCat("no node named ", node, " in the spec"));
  if (!Contains(CandidatesOf(view, group, node), node)) {
    Quorum q = QuorumOf(view);
    if (!q.ok) return absl::FailedPreconditionError(q.reason);
    if (!n->alive) {
      return absl::FailedPreconditionError(absl::StrCat(node, " is not alive"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat(node, " cannot run ", group, " now (its connectivity score is lower than "
                                                  "another node's)"));
  }
  PlacementRequest r;
  r.group = group;
  r.node = node;
  r.stamp_ns = stamp_ns;
  r.requested_by = local;
  return r;
}

}  // namespace hacluster::agent
