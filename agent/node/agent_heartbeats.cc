#include "agent/node/agent_loop.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "agent/config/yaml_codec.h"
#include "agent/core/version.h"

namespace hacluster::agent {

using google::protobuf::util::TimeUtil;

void AgentLoop::Emit(v1::EventKind kind, std::string node, std::string reason,
                       MonoTime now) {
  v1::Event e;
  e.set_kind(kind);
  e.set_node(std::move(node));
  e.set_reason(std::move(reason));
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  events_.push_back(std::move(e));
  EmitPending();
}

void AgentLoop::EmitPending() {
  // Membership events are acted on before they go (a SIGHUP's event may be
  // emitted in the same wake as a NODE_UP that the loop has not seen yet).
  if (groups_ != nullptr) NoteMembershipEvents(clock_.Now());
  publisher_.Emit(&events_);
  noted_events_ = 0;
}

void AgentLoop::Publish(MonoTime now) {
  v1::GetStatusResponse st;
  st.set_cluster_name(config_.spec.cluster_name());
  st.set_config_version(config_.spec.config_version());
  st.set_local_node(local_node_);
  *st.mutable_started_at() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(start_wall_));
  membership_->FillStatus(now, WallTimeOf, &st);
  connectivity_->FillStatus(WallTimeOf, &st);
  st.set_config_hash(Hex(spec_hash_));
  st.set_config_drift(drift_.Any());
  if (catch_up_.has_value()) st.set_groups_held_reason(catch_up_->reason);
  const char* wire_name =
      config_.spec.wire() == spec::v1::WIRE_FORMAT_HEARTBEAT3 ? "heartbeat3" : "native";
  for (auto& n : *st.mutable_nodes()) {
    n.set_wire(wire_name);
    if (n.local()) n.set_software(absl::StrCat("ha-agent ", kVersion));
    if (hb3_peer_ != nullptr && n.name() == hb3_peer_name_) n.set_software(hb3_peer_->software());
    if (n.local()) {
      n.set_config_hash(Hex(spec_hash_));
    } else if (n.state() == v1::NODE_STATE_UP) {
      n.set_config_hash(Hex(drift_.HashOf(n.name())));
      n.set_config_drift(drift_.Drifting(n.name()));
    }
  }
  st.set_connectivity_score(connectivity_->Score());
  for (const auto& [reason, n] : drop_log_.TotalsByReason()) {
    if (n > 0) (*st.mutable_dropped_packets())[reason] = n;
  }
  uint64_t kernel = kernel_drops_before_;
  for (const auto& m : config_.media) kernel += m->kernel_drops();
  if (kernel > 0) (*st.mutable_dropped_packets())["kernel"] = kernel;
  // Groups and quorum as of the last decision pass.
  groups_->FillStatus(WallTimeOf, &st);
  publisher_.Publish(config_.spec, std::move(st), now);
  next_publish_ = now + kPublishEvery;
  status_dirty_ = false;
}

void AgentLoop::SendHeartbeat(MonoTime now) {
  out_hb_.set_seq(out_hb_.seq() + 1);
  UpdateHears();
  if (hb3_ != nullptr) {
    Hb3SendStatus();
    return;
  }
  absl::Status s = encoder_->Encode(out_hb_, &out_frame_);
  if (!s.ok()) {
    logger_.Error(absl::StrCat("cannot encode a heartbeat: ", s.message()));
    return;
  }
  for (size_t i = 0; i < config_.media.size(); ++i) {
    s = config_.media[i]->Send(out_frame_);
    if (!s.ok() && now - last_send_error_log_[i] >= kSendErrorEvery) {
      last_send_error_log_[i] = now;
      logger_.Warn(absl::StrCat("cannot send a heartbeat: ", s.message()));
    }
  }
}

void AgentLoop::SendPings() {
  for (const std::string& host : connectivity_->Hosts()) {
    absl::Status s = pinger_->SendEcho(host);
    if (!s.ok()) logger_.Debug(absl::StrCat("ping ", host, ": ", s.message()));
  }
}

void AgentLoop::OnDrop(absl::string_view source, const wire::PacketCheck::Result& r,
                         MonoTime now) {
  publisher_.CountRefusedPacket(source);
  std::optional<std::string> line = drop_log_.Record(source, r.reason, r.detail, now);
  if (!line.has_value()) return;
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_AUTH_FAILURE);
  e.set_link(std::string(source));
  e.set_reason(*std::move(line));
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  events_.push_back(std::move(e));
}

void AgentLoop::OnFrame(size_t i, absl::string_view frame, absl::string_view source,
                          MonoTime at) {
  turn_had_input_ = true;
  if (hb3_ != nullptr) {
    Hb3OnFrame(i, frame, source, at);
    return;
  }
  wire::PacketCheck::Result r = check_->Check(frame, static_cast<int>(i), &in_hb_);
  if (!r.ok) {
    OnDrop(source, r, at);
    return;
  }
  if (r.own) return;
  if (!groups_dirty_) {
    const wire::v1::Heartbeat* prev = membership_->LastHeartbeat(in_hb_.node());
    if (prev == nullptr || !SameGroupState(*prev, in_hb_)) groups_dirty_ = true;
  }
  membership_->OnHeartbeat(in_hb_, static_cast<int>(i), at, &events_);
  if (membership_->StateOf(in_hb_.node()) == v1::NODE_STATE_UP) {
    std::optional<DriftTracker::Change> c = drift_.OnHeartbeat(in_hb_.node(), in_hb_);
    if (c.has_value()) EmitDrift(*c, at);
  }
}

void AgentLoop::ReceiveFrom(size_t i, MonoTime now) {
  absl::Status s = config_.media[i]->Receive(
      [&](absl::string_view frame, absl::string_view source) { OnFrame(i, frame, source, now); });
  if (!s.ok()) logger_.Debug(absl::StrCat("receive: ", s.message()));
}

bool AgentLoop::ReceiveDated() {
  bool pending = false;
  for (size_t i = 0; i < config_.media.size(); ++i) {
    media::Medium& m = *config_.media[i];
    if (!m.dates_arrivals() || m.fd() < 0) continue;
    absl::StatusOr<bool> r =
        m.ReceiveDated([&](absl::string_view frame, absl::string_view source, MonoTime arrival) {
          OnFrame(i, frame, source, std::max(arrival, membership_now_));
        });
    if (!r.ok()) {
      logger_.Debug(absl::StrCat("receive: ", r.status().message()));
    } else {
      pending = pending || *r;
    }
  }
  return pending;
}

void AgentLoop::ReceivePings(MonoTime now) {
  absl::Status s = pinger_->Receive(
      [&](absl::string_view host) { connectivity_->OnReply(host, now, &events_); });
  if (!s.ok()) logger_.Debug(absl::StrCat("ping receive: ", s.message()));
}

void AgentLoop::NoteMembershipEvents(MonoTime now) {
  if (noted_events_ >= events_.size()) return;
  ControllerOutput out;
  const size_t end = events_.size();
  for (size_t i = noted_events_; i < end; ++i) {
    const v1::Event& e = events_[i];
    switch (e.kind()) {
      case v1::EVENT_KIND_NODE_DEAD:
        if (hb3_peer_ != nullptr && e.node() == hb3_peer_name_) hb3_peer_->OnPeerDead();
        drift_.Forget(e.node());
        groups_->OnNodeDead(e.node(), membership_->LastHeartbeat(e.node()), now, &out);
        groups_dirty_ = true;
        break;
      case v1::EVENT_KIND_NODE_UP:
      case v1::EVENT_KIND_NODE_RESTARTED:
        groups_->OnNodeUp(e.node());
        // A restarted peer's first heartbeats list nobody yet: it gets the
        // same grace as one that just came up.
        up_since_[e.node()] = now;
        groups_dirty_ = true;
        break;
      case v1::EVENT_KIND_CONNECTIVITY_CHANGED:
      case v1::EVENT_KIND_PING_DEAD:
      case v1::EVENT_KIND_PING_UP:
        groups_dirty_ = true;
        break;
      default:
        break;
    }
  }
  noted_events_ = end;
  Apply(out, now);
  noted_events_ = std::max(noted_events_, events_.size());
}

void AgentLoop::UpdateHears() {
  out_hb_.clear_hears();
  for (const auto& n : config_.spec.nodes()) {
    if (n.name() != local_node_ && membership_->StateOf(n.name()) == v1::NODE_STATE_UP) {
      out_hb_.add_hears(n.name());
    }
  }
}

void AgentLoop::UpdateFading(MonoTime now) {
  membership_->Fading(now, &fading_scratch_, &next_fade_);
  const absl::Duration lead = FadeLead(config_.timing.deadtime);
  const auto& sent = out_hb_.fading();
  if (std::equal(sent.begin(), sent.end(), fading_scratch_.begin(), fading_scratch_.end())) {
    if (fading_scratch_.empty()) return;
    // While a peer fades the news goes out four times over its last fifth
    // of deadtime, not only with the keepalives: one lost heartbeat must
    // not be the one that tells it.
    if (now >= fade_resend_) {
      SendHeartbeat(now);
      fade_resend_ = now + lead / 4;
    }
    next_fade_ = std::min(next_fade_, fade_resend_);
    return;
  }
  for (const std::string& p : fading_scratch_) {
    if (std::find(sent.begin(), sent.end(), p) != sent.end()) continue;
    logger_.Log(LogLevel::kWarning,
                absl::StrCat(p, " not heard for most of deadtime (",
                             absl::FormatDuration(config_.timing.deadtime), "): it is declared dead in ",
                             absl::FormatDuration(FadeLead(config_.timing.deadtime)),
                             " or less unless heard again; heartbeats now tell it so, and if it "
                             "still hears this node it releases the groups this node would take"),
                LogFields{.node = p});
  }
  out_hb_.mutable_fading()->Assign(fading_scratch_.begin(), fading_scratch_.end());
  SendHeartbeat(now);
  fade_resend_ = now + lead / 4;
  if (!fading_scratch_.empty()) next_fade_ = std::min(next_fade_, fade_resend_);
}

std::set<std::string> AgentLoop::DeafPeers(MonoTime now, MonoTime* next) const {
  peer_scratch_.clear();
  for (const auto& n : config_.spec.nodes()) {
    peer_scratch_.push_back({&n.name(), membership_->StateOf(n.name()) == v1::NODE_STATE_UP
                                            ? membership_->LastHeartbeat(n.name())
                                            : nullptr});
  }
  DeafPeersInput in;
  in.local_node = local_node_;
  in.peers = peer_scratch_;
  in.up_since = &up_since_;
  in.start = start_;
  in.grace = kOneWayGrace * config_.timing.keepalive;
  return agent::DeafPeers(in, now, next);
}

void AgentLoop::LogKernelDrops(MonoTime now) {
  if (now < next_kernel_drop_log_) return;
  logged_kernel_drops_.resize(config_.media.size(), 0);
  bool logged = false;
  for (size_t i = 0; i < config_.media.size(); ++i) {
    const media::Medium& m = *config_.media[i];
    const uint64_t total = m.kernel_drops();
    if (total <= logged_kernel_drops_[i]) continue;
    logger_.Warn(absl::StrCat(m.description(), ": the kernel dropped ",
                              total - logged_kernel_drops_[i],
                              " datagrams since the last report (not heartbeat frames, or the "
                              "receive buffer was full); ", total, " since the medium opened"));
    logged_kernel_drops_[i] = total;
    logged = true;
  }
  // Reported at most every 10 s, like the drop log's per-source lines.
  if (logged) next_kernel_drop_log_ = now + absl::Seconds(10);
}

void AgentLoop::Flush(MonoTime now) {
  LogKernelDrops(now);
  // The status counts the kernel's drops, which wake nothing: a change is
  // published with this turn.
  uint64_t kernel = kernel_drops_before_;
  for (const auto& m : config_.media) kernel += m->kernel_drops();
  if (kernel != kernel_drops_seen_) {
    kernel_drops_seen_ = kernel;
    turn_had_input_ = true;
  }
  for (std::string& line : drop_log_.Flush(now)) {
    v1::Event e;
    e.set_kind(v1::EVENT_KIND_AUTH_FAILURE);
    e.set_reason(std::move(line));
    e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
    events_.push_back(std::move(e));
  }
  next_flush_ = now + kFlushEvery;
}

void AgentLoop::NoteLocalSpec(MonoTime now) {
  spec_hash_ = SpecHash(config_.spec);
  v1::GetSpecResponse published;
  published.set_spec_yaml(config::SpecToYaml(RedactSecrets(config_.spec)));
  published.set_config_version(config_.spec.config_version());
  published.set_config_hash(Hex(spec_hash_));
  hub_.PublishSpec(std::move(published));
  out_hb_.set_config_version(config_.spec.config_version());
  out_hb_.set_config_hash(spec_hash_);
  out_hb_.set_config_applied(!applied_hash_.empty() && Hex(spec_hash_) == applied_hash_);
  for (const DriftTracker::Change& c : drift_.SetLocal(config_.spec.config_version(), spec_hash_)) {
    EmitDrift(c, now);
  }
}

void AgentLoop::EmitDrift(const DriftTracker::Change& c, MonoTime now) {
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_CONFIG_DRIFT);
  e.set_node(c.node);
  e.set_ok(!c.drift);
  e.set_reason(c.reason);
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  events_.push_back(std::move(e));
}

}  // namespace hacluster::agent
