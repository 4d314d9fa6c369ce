#include "agent/groups/controller.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::agent {
namespace {

bool SameRequest(const PlacementRequest& a, const PlacementRequest& b) {
  return a.group == b.group && a.node == b.node && a.stamp_ns == b.stamp_ns &&
         a.requested_by == b.requested_by;
}

bool Holds(ClaimPhase p) {
  return p == wire::v1::GroupClaim::PHASE_HELD || p == wire::v1::GroupClaim::PHASE_STARTING;
}

const NodeView* FindNode(const ClusterView& view, const std::string& name) {
  for (const NodeView& n : view.nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

std::string Describe(const OperationRequest& r) {
  auto scope = [&] {
    switch (r.scope) {
      case v1::STANDBY_SCOPE_FOREIGN:
        return " foreign";
      case v1::STANDBY_SCOPE_LOCAL:
        return " local";
      case v1::STANDBY_SCOPE_FAILBACK:
        return " failback";
      default:
        return " all";
    }
  };
  switch (r.kind) {
    case OperationRequest::Kind::kStandby:
      return absl::StrCat("standby", scope());
    case OperationRequest::Kind::kTakeover:
      return absl::StrCat("takeover", scope());
    case OperationRequest::Kind::kMove:
      return absl::StrCat("move ", r.group, " to ", r.node);
  }
  return "operation";
}

}  // namespace

std::string VirtualAddressOf(const spec::v1::Resource& r) {
  if (r.has_ip()) return r.ip().address();
  // The IP agents of resource-agents and Heartbeat: `ip` param, or
  // IPaddr::ADDRESS[/PREFIX[/IFACE[/BROADCAST]]].
  if (r.has_ocf() && (r.ocf().provider().empty() || r.ocf().provider() == "heartbeat") &&
      (r.ocf().type() == "IPaddr2" || r.ocf().type() == "IPaddr")) {
    auto it = r.ocf().params().find("ip");
    return it == r.ocf().params().end() ? "" : it->second;
  }
  if (r.has_heartbeat() && (r.heartbeat().name() == "IPaddr2" || r.heartbeat().name() == "IPaddr") &&
      r.heartbeat().args_size() > 0) {
    const std::string& a = r.heartbeat().args(0);
    return a.substr(0, a.find('/'));
  }
  return "";
}

GroupController::GroupController(const spec::v1::ClusterSpec& spec, std::string local,
                                 ControllerOptions options)
    : spec_(spec), local_(std::move(local)), options_(options) {
  for (const auto& g : spec_.groups()) {
    runners_[g.name()] = std::make_unique<GroupRunner>(g, options_.runner);
  }
}

absl::Status GroupController::CheckReconfigure(const spec::v1::ClusterSpec& spec) const {
  std::vector<std::string> problems;
  for (const auto& g : spec.groups()) {
    if (retiring_.count(g.name()) > 0) {
      problems.push_back(absl::StrCat("group ", g.name(),
                                      " is still being stopped after its removal: reload once "
                                      "it has stopped"));
      continue;
    }
    auto it = runners_.find(g.name());
    if (it == runners_.end()) continue;
    const GroupRunner& r = *it->second;
    if (r.group().SerializeAsString() == g.SerializeAsString()) continue;
    std::string refusal;
    if (!r.CanReshape(g, &refusal)) problems.push_back(std::move(refusal));
  }
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
  return absl::OkStatus();
}

absl::Status GroupController::Reconfigure(const spec::v1::ClusterSpec& spec, MonoTime now,
                                          ControllerOutput* out) {
  absl::Status ok = CheckReconfigure(spec);
  if (!ok.ok()) return ok;
  std::map<std::string, std::unique_ptr<GroupRunner>> runners;
  for (const auto& g : spec.groups()) {
    auto it = runners_.find(g.name());
    if (it == runners_.end()) {
      runners[g.name()] = std::make_unique<GroupRunner>(g, options_.runner);
      failed_here_.erase(g.name());
      continue;
    }
    std::unique_ptr<GroupRunner> r = std::move(it->second);
    runners_.erase(it);
    if (r->group().SerializeAsString() != g.SerializeAsString()) {
      const ClaimPhase before = r->claim();
      std::string refusal;
      (void)r->Reshape(g, now, &out->ops, &out->events, &refusal);  // checked above
      if (r->claim() != before) out->claims_changed = true;
    }
    runners[g.name()] = std::move(r);
  }
  // What is left was removed from the spec.
  for (auto& [name, r] : runners_) {
    if (r->claim() == wire::v1::GroupClaim::PHASE_UNSPECIFIED) continue;
    r->Stop("removed from the spec", now, &out->ops, &out->events);
    out->claims_changed = true;
    retiring_[name] = std::move(r);
  }
  runners_ = std::move(runners);
  spec_ = spec;
  for (auto it = requests_.begin(); it != requests_.end();) {
    it = runners_.count(it->first) > 0 ? std::next(it) : requests_.erase(it);
  }
  for (auto it = failed_here_.begin(); it != failed_here_.end();) {
    it = runners_.count(*it) > 0 ? std::next(it) : failed_here_.erase(it);
  }
  return absl::OkStatus();
}

const spec::v1::ResourceGroup* GroupController::Group(const std::string& name) const {
  for (const auto& g : spec_.groups()) {
    if (g.name() == name) return &g;
  }
  return nullptr;
}

const GroupRunner* GroupController::Runner(const std::string& name) const {
  auto it = runners_.find(name);
  return it == runners_.end() ? nullptr : it->second.get();
}

v1::Event GroupController::MakeEvent(v1::EventKind kind, const std::string& group,
                                     std::string reason, MonoTime now) const {
  v1::Event e;
  e.set_kind(kind);
  e.set_group(group);
  e.set_node(local_);
  e.set_reason(std::move(reason));
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  return e;
}

void GroupController::Record(const PlacementRequest& r) {
  requests_[r.group] = r;
  // An operator asking for the group here clears its failure here.
  if (r.node == local_) failed_here_.erase(r.group);
}

bool GroupController::Fenced(const std::string& group) const {
  for (const auto& [node, f] : fences_) {
    if (f.groups.count(group) > 0) return true;
  }
  return false;
}

ClusterView GroupController::LastView() const {
  ClusterView view;
  view.spec = &spec_;
  for (const KnownNode& k : known_) {
    NodeView n;
    n.name = k.name;
    n.alive = k.alive;
    n.score = k.score;
    n.leaving = k.leaving;
    n.hears_local = k.hears_local;
    n.fading_local = k.fading_local;
    n.hears = k.hears;
    if (k.name == local_) {
      for (const auto& [name, runner] : runners_) {
        if (runner->claim() != wire::v1::GroupClaim::PHASE_UNSPECIFIED) {
          n.claims[name] = runner->claim();
        }
      }
      n.failed_groups = failed_here_;
    } else {
      n.claims = k.claims;
      n.failed_groups = k.failed_groups;
    }
    view.nodes.push_back(std::move(n));
  }
  view.requests = requests_;
  return view;
}

void GroupController::Drive(
    const std::string& group, MonoTime now, ControllerOutput* out,
    const std::function<void(GroupRunner&, std::vector<GroupOp>*, std::vector<v1::Event>*)>& fn) {
  auto it = runners_.find(group);
  if (it == runners_.end()) {
    auto retiring = retiring_.find(group);
    if (retiring == retiring_.end()) return;
    GroupRunner& r = *retiring->second;
    const ClaimPhase before = r.claim();
    fn(r, &out->ops, &out->events);
    if (r.claim() != before) out->claims_changed = true;
    if (r.claim() == wire::v1::GroupClaim::PHASE_UNSPECIFIED) retiring_.erase(retiring);
    return;
  }
  GroupRunner& r = *it->second;
  const bool was_failed = r.failed();
  const ClaimPhase before = r.claim();
  fn(r, &out->ops, &out->events);
  if (!was_failed && r.failed()) failed_here_.insert(group);
  if (r.claim() != before) out->claims_changed = true;
  auto taking = taking_over_.find(group);
  if (taking != taking_over_.end()) {
    if (r.state() == GroupRunner::State::kRunning) {
      ++failovers_;
      last_failover_ = now - taking->second;
      taking_over_.erase(taking);
    } else if (r.state() != GroupRunner::State::kStarting) {
      taking_over_.erase(taking);  // it failed or was stopped again
    }
  }
}

std::string GroupController::StartReason(const ClusterView& view, const std::string& group,
                                         const Decision& d) const {
  auto req = requests_.find(group);
  if (req != requests_.end() && req->second.node == local_) {
    return absl::StrCat("operator request from ", req->second.requested_by);
  }
  auto last = last_holder_.find(group);
  if (last != last_holder_.end() && last->second != local_) {
    const NodeView* n = FindNode(view, last->second);
    if (n != nullptr && !n->alive) {
      return absl::StrCat("its holder ", last->second, " is dead");
    }
    const spec::v1::ResourceGroup* g = Group(group);
    if (g != nullptr && g->preferred_node() == local_ &&
        spec_.auto_failback() != spec::v1::AUTO_FAILBACK_OFF) {
      return absl::StrCat("failback to its preferred node (", last->second, " released it)");
    }
    return absl::StrCat(last->second, " released it; ", d.reason);
  }
  return d.reason;
}

void GroupController::Probe(MonoTime now, ControllerOutput* out) {
  for (const auto& g : spec_.groups()) {
    Drive(g.name(), now, out,
          [&](GroupRunner& r, auto* ops, auto* /*events*/) { r.Probe(ops); });
  }
}

void GroupController::Evaluate(const std::vector<NodeInput>& nodes, bool hold_acquire,
                               MonoTime now, ControllerOutput* out) {
  hold_acquire_ = hold_acquire;
  known_.clear();
  for (const NodeInput& in : nodes) {
    KnownNode k;
    k.name = in.name;
    k.alive = in.name == local_ || in.alive;
    k.score = in.score;
    k.hears_local = in.name == local_ || in.hears_local;
    k.leaving = in.name == local_ ? leaving_ : in.heartbeat != nullptr && in.heartbeat->standby();
    k.last_heard = in.last_heard;
    if (in.name != local_ && in.heartbeat != nullptr) {
      const wire::v1::Heartbeat& hb = *in.heartbeat;
      k.fading_local = std::find(hb.fading().begin(), hb.fading().end(), local_) != hb.fading().end();
      if (hb.reports_hears()) k.hears.emplace(hb.hears().begin(), hb.hears().end());
      k.awaiting.insert(hb.awaiting().begin(), hb.awaiting().end());
      for (const auto& c : in.heartbeat->groups()) {
        if (c.phase() != wire::v1::GroupClaim::PHASE_UNSPECIFIED) k.claims[c.name()] = c.phase();
      }
      k.failed_groups.insert(in.heartbeat->failed_groups().begin(),
                             in.heartbeat->failed_groups().end());
      for (const auto& p : in.heartbeat->placements()) {
        k.requests.push_back({p.group(), p.node(), p.stamp_ns(), p.requested_by()});
      }
    }
    known_.push_back(std::move(k));
  }
  // Adopt the newer requests of live peers (for live nodes only: a request
  // for a dead node was dropped on purpose).
  for (const KnownNode& k : known_) {
    if (!k.alive || k.name == local_) continue;
    for (const PlacementRequest& r : k.requests) {
      if (runners_.count(r.group) == 0) continue;
      bool node_alive = false;
      for (const KnownNode& n : known_) node_alive = node_alive || (n.name == r.node && n.alive);
      if (!node_alive) continue;
      auto cur = requests_.find(r.group);
      if (cur == requests_.end() || Newer(r, cur->second)) Record(r);
    }
  }

  waiting_.clear();
  std::set<std::string> awaiting;
  std::map<std::string, Handoff> handoffs;
  std::map<std::string, std::string> moves;
  ClusterView view = LastView();
  for (const auto& g : spec_.groups()) {
    const std::string& name = g.name();
    const bool may_acquire = !hold_acquire && !Fenced(name);
    Decision d = Decide(view, local_, name, may_acquire);
    if (d.action == Action::kStop && d.target.has_value() && *d.target != local_) {
      moves[name] = *d.target;
    }
    if (d.action == Action::kStop && !leaving_ && d.target.has_value() && *d.target != local_) {
      // A planned move to a live peer that hears this node and does not
      // hold the group (a split brain's keeper does): stop once the peer
      // awaits it (or the wait runs out).
      const KnownNode* to = nullptr;
      for (const KnownNode& k : known_) {
        if (k.name == *d.target) to = &k;
      }
      if (to != nullptr && to->alive && to->hears_local && !to->fading_local &&
          to->claims.count(name) == 0 && to->awaiting.count(name) == 0) {
        auto under_way = handoffs_.find(name);
        const MonoTime from = under_way != handoffs_.end() ? under_way->second.since : now;
        const MonoTime heard_until = to->last_heard + options_.handoff_wait / 2;
        const MonoTime ends = options_.handoff_waits_for_target
                                  ? heard_until
                                  : std::min(from + options_.handoff_wait, heard_until);
        if (now < ends) {
          handoffs.emplace(name, Handoff{from, ends});
          continue;
        }
        if (now >= from + options_.handoff_wait) {
          d.reason = absl::StrCat(d.reason, " (", *d.target, " did not say within ",
                                  absl::FormatDuration(options_.handoff_wait),
                                  " that it awaits it)");
        }
      }
    }
    if (d.action == Action::kWait && d.target.has_value() && *d.target == local_) {
      for (const auto& [node, phase] : Claimers(view, name)) {
        if (node != local_) awaiting.insert(name);
      }
    }
    switch (d.action) {
      case Action::kStart: {
        std::string reason = StartReason(view, name, d);
        auto last = last_holder_.find(name);
        if (last != last_holder_.end() && last->second != local_) {
          const NodeView* held_by = FindNode(view, last->second);
          if (held_by != nullptr && !held_by->alive) taking_over_.emplace(name, now);
        }
        Drive(name, now, out, [&](GroupRunner& r, auto* ops, auto* events) {
          r.Start(reason, now, ops, events);
        });
        break;
      }
      case Action::kStop:
        Drive(name, now, out, [&](GroupRunner& r, auto* ops, auto* events) {
          r.Stop(leaving_ ? std::string("this ha-agent is shutting down") : d.reason, now, ops,
                 events);
        });
        break;
      case Action::kWait:
        waiting_.insert(name);
        break;
      case Action::kNone:
        break;
    }
  }

  handoffs_ = std::move(handoffs);
  moves_ = std::move(moves);
  if (awaiting != awaiting_) {
    // The holder of a planned move waits for this: it goes out now.
    awaiting_ = std::move(awaiting);
    out->claims_changed = true;
  }

  view = LastView();
  // Peers back after a death (see the header: split brain).
  bool rejoined = false;
  std::set<std::string> alive_now;
  for (const KnownNode& k : known_) {
    if (k.name == local_ || !k.alive) continue;
    alive_now.insert(k.name);
    rejoined = rejoined || (ever_alive_.count(k.name) > 0 && alive_.count(k.name) == 0);
    ever_alive_.insert(k.name);
  }
  alive_ = std::move(alive_now);
  for (const auto& g : spec_.groups()) {
    const std::string& name = g.name();
    std::vector<std::string> holders;
    const std::vector<std::pair<std::string, ClaimPhase>> claimers = Claimers(view, name);
    for (const auto& [node, phase] : claimers) {
      if (Holds(phase)) holders.push_back(node);
    }
    const bool local_holds =
        std::find(holders.begin(), holders.end(), local_) != holders.end();
    // A peer stopping a group held here held it too: it may have seen the
    // double claim first and be letting go already. Release before acquire
    // never gives a peer STOPPING while this node holds it otherwise.
    if (local_holds) {
      for (const auto& [node, phase] : claimers) {
        if (phase == wire::v1::GroupClaim::PHASE_STOPPING && node != local_) {
          holders.push_back(node);
        }
      }
    }
    if (holders.size() >= 2 && split_.count(name) == 0) {
      split_.insert(name);
      std::optional<std::string> keeper = Target(view, name);
      // A holder that does not hear this node keeps it (one-way loss: see
      // agent/placement).
      for (const NodeView& n : view.nodes) {
        if (n.name == local_ || !n.alive || n.hears_local) continue;
        auto c = n.claims.find(name);
        if (c != n.claims.end() && Holds(c->second)) keeper = n.name;
      }
      out->events.push_back(MakeEvent(
          v1::EVENT_KIND_SPLIT_BRAIN, name,
          absl::StrCat("split brain resolved: group ", name, " is held by ",
                       absl::StrJoin(holders, " and "),
                       " (a healed partition, a one-way loss, or an agent that restarted "
                       "holding it); ",
                       keeper.has_value() ? absl::StrCat(*keeper, " keeps it")
                                          : std::string("no node may keep it"),
                       ", the others release it now"),
          now));
      if (local_holds && keeper == local_) out->reannounce.push_back(name);
    } else if (holders.size() < 2 && split_.count(name) > 0) {
      split_.erase(name);
      // The other holder has let go: tell the segment again where it is.
      if (local_holds) out->reannounce.push_back(name);
    } else if (holders.size() < 2 && rejoined &&
               std::find(claimers.begin(), claimers.end(),
                         std::make_pair(local_, wire::v1::GroupClaim::PHASE_HELD)) !=
                   claimers.end()) {
      // A peer back from a death claims nothing: it may have held the group
      // and let go before this node heard it.
      out->reannounce.push_back(name);
    }
    for (const std::string& h : holders) {
      const NodeView* n = FindNode(view, h);
      if (n != nullptr && n->claims.at(name) == wire::v1::GroupClaim::PHASE_HELD) {
        last_holder_[name] = h;
        break;
      }
    }
  }
  Progress(view, now, out);
}

void GroupController::OnResult(const std::string& group, const GroupOpResult& result,
                               MonoTime now, ControllerOutput* out) {
  Drive(group, now, out, [&](GroupRunner& r, auto* ops, auto* events) {
    r.OnResult(result, now, ops, events);
  });
}

void GroupController::Tick(MonoTime now, ControllerOutput* out) {
  for (const auto& g : spec_.groups()) {
    const GroupRunner* r = Runner(g.name());
    if (r == nullptr || r->NextDeadline() > now) continue;
    Drive(g.name(), now, out,
          [&](GroupRunner& run, auto* ops, auto* events) { run.Tick(now, ops, events); });
  }
  std::vector<std::string> retiring;
  for (const auto& [name, r] : retiring_) {
    if (r->NextDeadline() <= now) retiring.push_back(name);
  }
  for (const std::string& name : retiring) {
    Drive(name, now, out,
          [&](GroupRunner& run, auto* ops, auto* events) { run.Tick(now, ops, events); });
  }
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    if (now - it->started < options_.operation_limit) {
      ++it;
      continue;
    }
    v1::OperationResponse resp;
    resp.set_operation_id(it->id);
    resp.set_state(v1::OPERATION_STATE_FAILED);
    resp.set_message(absl::StrCat(it->what, ": not finished after ",
                                  absl::FormatDuration(options_.operation_limit),
                                  "; given up (the groups stay where placement puts them)"));
    out->answers.emplace_back(it->id, std::move(resp));
    it = tracked_.erase(it);
  }
}

MonoTime GroupController::NextDeadline() const {
  MonoTime next = absl::InfiniteDuration();
  for (const auto& [name, r] : runners_) next = std::min(next, r->NextDeadline());
  for (const auto& [name, r] : retiring_) next = std::min(next, r->NextDeadline());
  for (const auto& [node, f] : fences_) {
    if (!f.running) next = std::min(next, f.next_try);
  }
  for (const Tracked& t : tracked_) next = std::min(next, t.started + options_.operation_limit);
  for (const auto& [group, h] : handoffs_) next = std::min(next, h.ends);
  return next;
}

std::set<std::string> GroupController::MovesTo(const std::string& node) const {
  std::set<std::string> out;
  for (const auto& [group, target] : moves_) {
    if (target == node) out.insert(group);
  }
  return out;
}

bool GroupController::HandoffExpired(MonoTime now) const {
  for (const auto& [group, h] : handoffs_) {
    if (now >= h.ends) return true;
  }
  return false;
}

void GroupController::Submit(const OperationRequest& request, int64_t stamp_ns, MonoTime now,
                             ControllerOutput* out) {
  const std::string what = Describe(request);
  v1::OperationResponse resp;
  resp.set_operation_id(request.id);
  const ClusterView view = LastView();
  absl::StatusOr<std::vector<PlacementRequest>> plan;
  if (request.kind == OperationRequest::Kind::kMove) {
    absl::StatusOr<PlacementRequest> one =
        PlanMove(view, local_, request.group, request.node, stamp_ns);
    if (one.ok()) {
      plan = std::vector<PlacementRequest>{*one};
    } else {
      plan = one.status();
    }
  } else {
    plan = PlanStandbyOrTakeover(view, local_, request.scope,
                                 request.kind == OperationRequest::Kind::kTakeover, stamp_ns);
  }
  v1::Event e = MakeEvent(v1::EVENT_KIND_OPERATION, "", "", now);
  e.set_operation_id(request.id);
  if (!plan.ok()) {
    resp.set_state(v1::OPERATION_STATE_FAILED);
    resp.set_message(absl::StrCat(what, " refused: ", plan.status().message()));
  } else if (plan->empty()) {
    resp.set_state(v1::OPERATION_STATE_DONE);
    resp.set_message(absl::StrCat(what, ": nothing to move"));
  } else {
    std::vector<std::string> moves;
    Tracked t;
    t.id = request.id;
    t.what = what;
    t.started = now;
    for (const PlacementRequest& r : *plan) {
      Record(r);
      moves.push_back(absl::StrCat(r.group, " to ", r.node));
      t.requests.push_back(r);
    }
    resp.set_state(v1::OPERATION_STATE_PENDING);
    resp.set_message(absl::StrCat(what, ": moving ", absl::StrJoin(moves, ", ")));
    tracked_.push_back(std::move(t));
    // The requests go out in the next heartbeat: send it now.
    out->claims_changed = true;
  }
  const ClusterView after = LastView();
  for (const PlacementRequest& r : plan.ok() ? *plan : std::vector<PlacementRequest>{}) {
    FillGroup(after, r.group, resp.add_groups());
  }
  e.set_reason(absl::StrCat("operation ", request.id, ": ", resp.message()));
  out->events.push_back(std::move(e));
  out->answers.emplace_back(request.id, std::move(resp));
}

void GroupController::Progress(const ClusterView& view, MonoTime now, ControllerOutput* out) {
  for (auto it = tracked_.begin(); it != tracked_.end();) {
    std::string failure;
    bool done = true;
    for (const PlacementRequest& r : it->requests) {
      auto cur = requests_.find(r.group);
      if (cur == requests_.end()) {
        failure = absl::StrCat(r.node, " died before it took ", r.group);
        break;
      }
      if (!SameRequest(cur->second, r)) {
        failure = absl::StrCat(r.group, ": superseded by a newer request (", cur->second.group,
                               " to ", cur->second.node, " from ", cur->second.requested_by, ")");
        break;
      }
      const NodeView* n = FindNode(view, r.node);
      if (n == nullptr || !n->alive) {
        failure = absl::StrCat(r.node, " is not alive");
        break;
      }
      bool failed = false;
      if (r.node == local_) {
        failed = failed_here_.count(r.group) > 0;
      } else {
        for (const KnownNode& k : known_) {
          if (k.name != r.node || k.failed_groups.count(r.group) == 0) continue;
          for (const PlacementRequest& seen : k.requests) failed = failed || SameRequest(seen, r);
        }
      }
      if (failed) {
        failure = absl::StrCat(r.group, " failed on ", r.node, " (see its events)");
        break;
      }
      std::vector<std::pair<std::string, ClaimPhase>> claimers = Claimers(view, r.group);
      done = done && claimers.size() == 1 && claimers[0].first == r.node &&
             claimers[0].second == wire::v1::GroupClaim::PHASE_HELD;
    }
    if (failure.empty() && !done) {
      ++it;
      continue;
    }
    v1::OperationResponse resp;
    resp.set_operation_id(it->id);
    const std::string took = absl::FormatDuration(absl::Trunc(now - it->started,
                                                              absl::Microseconds(100)));
    if (!failure.empty()) {
      resp.set_state(v1::OPERATION_STATE_FAILED);
      resp.set_message(absl::StrCat(it->what, " failed after ", took, ": ", failure));
    } else {
      std::vector<std::string> where;
      for (const PlacementRequest& r : it->requests) {
        where.push_back(absl::StrCat(r.group, " on ", r.node));
      }
      resp.set_state(v1::OPERATION_STATE_DONE);
      resp.set_message(absl::StrCat(it->what, ": done in ", took, ": ", absl::StrJoin(where, ", ")));
    }
    for (const PlacementRequest& r : it->requests) FillGroup(view, r.group, resp.add_groups());
    v1::Event e = MakeEvent(v1::EVENT_KIND_OPERATION, "", absl::StrCat("operation ", it->id, ": ",
                                                                      resp.message()),
                            now);
    e.set_operation_id(it->id);
    e.set_ok(resp.state() == v1::OPERATION_STATE_DONE);
    out->events.push_back(std::move(e));
    out->answers.emplace_back(it->id, std::move(resp));
    it = tracked_.erase(it);
  }
}

void GroupController::OnNodeDead(const std::string& node, const wire::v1::Heartbeat* last,
                                 MonoTime now, ControllerOutput* out) {
  for (auto it = requests_.begin(); it != requests_.end();) {
    it = it->second.node == node ? requests_.erase(it) : std::next(it);
  }
  if (spec_.fencing().command().empty() || last == nullptr) return;
  Fence f;
  for (const auto& c : last->groups()) {
    if (c.phase() != wire::v1::GroupClaim::PHASE_UNSPECIFIED && runners_.count(c.name()) > 0) {
      f.groups.insert(c.name());
    }
  }
  if (f.groups.empty()) return;
  f.next_try = now;
  const std::string groups = absl::StrJoin(f.groups, ", ");
  fences_[node] = std::move(f);
  v1::Event e = MakeEvent(
      v1::EVENT_KIND_FENCING, "",
      absl::StrCat(node, " died holding ", groups, ": fencing it before they are taken over"),
      now);
  e.set_node(node);
  out->events.push_back(std::move(e));
}

void GroupController::OnNodeUp(const std::string& node) { fences_.erase(node); }

std::vector<std::string> GroupController::FencesToRun(MonoTime now) {
  std::vector<std::string> out;
  for (auto& [node, f] : fences_) {
    if (f.running || f.next_try > now) continue;
    f.running = true;
    out.push_back(node);
  }
  return out;
}

void GroupController::OnFenceResult(const std::string& node, bool ok,
                                    const std::string& message, MonoTime now,
                                    ControllerOutput* out) {
  auto it = fences_.find(node);
  if (it == fences_.end()) return;  // it came back meanwhile
  v1::Event e = MakeEvent(v1::EVENT_KIND_FENCING, "", "", now);
  e.set_node(node);
  e.set_ok(ok);
  if (ok) {
    e.set_reason(absl::StrCat("fenced ", node, " (", message, "); its groups may be taken over"));
    fences_.erase(it);
  } else {
    it->second.running = false;
    it->second.next_try = now + options_.fence_retry;
    e.set_reason(absl::StrCat("fencing ", node, " failed (", message, "); retrying in ",
                              absl::FormatDuration(options_.fence_retry), ", ",
                              absl::StrJoin(it->second.groups, ", "), " stay down until then"));
  }
  out->events.push_back(std::move(e));
}

bool GroupController::Idle() const {
  for (const auto& [name, r] : runners_) {
    if (r->claim() != wire::v1::GroupClaim::PHASE_UNSPECIFIED) return false;
  }
  return retiring_.empty();
}

void GroupController::FillHeartbeat(wire::v1::Heartbeat* hb) const {
  hb->set_standby(leaving_);
  hb->clear_groups();
  for (const auto& g : spec_.groups()) {
    const GroupRunner* r = Runner(g.name());
    if (r == nullptr || r->claim() == wire::v1::GroupClaim::PHASE_UNSPECIFIED) continue;
    wire::v1::GroupClaim* c = hb->add_groups();
    c->set_name(g.name());
    c->set_phase(r->claim());
  }
  // A removed group is claimed until it has stopped here: a peer that
  // still has it in its spec must not start it meanwhile.
  for (const auto& [name, r] : retiring_) {
    if (r->claim() == wire::v1::GroupClaim::PHASE_UNSPECIFIED) continue;
    wire::v1::GroupClaim* c = hb->add_groups();
    c->set_name(name);
    c->set_phase(r->claim());
  }
  hb->clear_failed_groups();
  for (const std::string& f : failed_here_) hb->add_failed_groups(f);
  hb->clear_awaiting();
  for (const std::string& g : awaiting_) hb->add_awaiting(g);
  hb->clear_placements();
  for (const auto& [group, r] : requests_) {
    wire::v1::Placement* p = hb->add_placements();
    p->set_group(r.group);
    p->set_node(r.node);
    p->set_stamp_ns(r.stamp_ns);
    p->set_requested_by(r.requested_by);
  }
}

void GroupController::FillGroup(const ClusterView& view, const std::string& group,
                                v1::GroupStatus* gs) const {
  const spec::v1::ResourceGroup* g = Group(group);
  gs->set_name(group);
  if (g == nullptr) return;
  gs->set_preferred_node(g->preferred_node());
  for (const auto& r : g->resources()) {
    std::string address = VirtualAddressOf(r);
    if (!address.empty()) gs->add_addresses(std::move(address));
  }
  std::optional<std::string> target = Target(view, group);
  gs->set_target(target.value_or(""));
  std::vector<std::pair<std::string, ClaimPhase>> claimers = Claimers(view, group);
  // The holder: a node running it, else one starting or stopping it.
  const std::pair<std::string, ClaimPhase>* holder = nullptr;
  for (const auto& c : claimers) {
    if (c.second == wire::v1::GroupClaim::PHASE_HELD) {
      holder = &c;
      break;
    }
  }
  if (holder == nullptr && !claimers.empty()) holder = &claimers.front();
  v1::GroupState state = v1::GROUP_STATE_STOPPED;
  if (holder != nullptr) {
    gs->set_holder(holder->first);
    switch (holder->second) {
      case wire::v1::GroupClaim::PHASE_HELD:
        state = v1::GROUP_STATE_RUNNING;
        break;
      case wire::v1::GroupClaim::PHASE_STARTING:
        state = v1::GROUP_STATE_STARTING;
        break;
      case wire::v1::GroupClaim::PHASE_PROBING:
        state = v1::GROUP_STATE_PROBING;
        break;
      default:
        state = v1::GROUP_STATE_STOPPING;
        break;
    }
  }
  const GroupRunner* r = Runner(group);
  if (r != nullptr && r->blocked()) {
    state = v1::GROUP_STATE_BLOCKED;
    gs->set_holder(local_);
  }
  gs->set_state(state);
  for (const NodeView& n : view.nodes) {
    if (n.failed_groups.count(group) > 0) gs->add_failed_on(n.name);
  }
}

void GroupController::FillStatus(const std::function<absl::Time(MonoTime)>& wall,
                                 v1::GetStatusResponse* status) const {
  const ClusterView view = LastView();
  Quorum q = QuorumOf(view);
  status->set_has_quorum(q.ok);
  status->set_quorum_reason(q.reason);
  for (const auto& g : spec_.groups()) {
    v1::GroupStatus* gs = status->add_groups();
    FillGroup(view, g.name(), gs);
    const GroupRunner* r = Runner(g.name());
    if (r != nullptr) r->FillResources(wall, gs);
  }
  v1::AgentCounters* c = status->mutable_counters();
  c->set_failovers(failovers_);
  if (failovers_ > 0) {
    c->mutable_last_failover_duration()->set_seconds(
        absl::ToInt64Seconds(last_failover_));
    c->mutable_last_failover_duration()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(last_failover_ - absl::Seconds(absl::ToInt64Seconds(last_failover_)))));
  }
}

bool GroupController::Urgent() const {
  return !waiting_.empty() || !tracked_.empty() || !split_.empty() || !handoffs_.empty();
}

}  // namespace hacluster::agent
