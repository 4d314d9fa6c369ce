#include "agent/node/agent_loop.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>

#include "absl/strings/match.h"

namespace hacluster::agent {

void AgentLoop::Reload(MonoTime now) {
  logger_.Info(absl::StrCat("SIGHUP: re-reading ", options_.config_path));
  notifier_.Reloading(absl::StrCat("re-reading ", options_.config_path));
  // Refused or taken, the agent runs on: READY again either way.
  struct ReadyAgain {
    AgentLoop* loop;
    ~ReadyAgain() { loop->notifier_.Ready(loop->ServiceStatus()); }
  } ready_again{this};
  auto reject = [&](absl::string_view why) {
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "",
         absl::StrCat("new spec refused, still running config version ",
                      config_.spec.config_version(), ": ", why),
         now);
  };
  auto spec = LoadSpec(options_.config_path, logger_);
  if (!spec.ok()) return reject(spec.status().message());
  auto staged = StageSpec(*std::move(spec));
  if (!staged.ok()) return reject(staged.status().message());
  absl::Status s = SwitchTo(*std::move(staged), "reloaded", now);
  if (!s.ok()) return reject(s.message());
}

absl::StatusOr<AgentLoop::StagedSpec> AgentLoop::StageSpec(spec::v1::ClusterSpec spec) const {
  auto node = LocalNodeName(spec, local_node_);
  if (!node.ok()) return node.status();
  for (const auto& key : spec.auth().keys()) {
    if (key.secret() == kSecretNotSent) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth key ", key.id(), "'s secret is the placeholder the API sends in place of a "
          "secret, not a secret: write the real one, or use secret_file"));
    }
  }
  StagedSpec staged;
  staged.running_hash = spec_hash_;
  staged.diff = DiffSpecs(config_.spec, spec, options_.state_dir);
  if (staged.diff.cluster_renamed) {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster_name changed from ", config_.spec.cluster_name(), " to ",
                     spec.cluster_name(), "; restart the agent to change it"));
  }
  absl::Status wire_ok = CheckHb3Groups(config_.spec, spec);
  if (!wire_ok.ok()) return wire_ok;
  if (hb3_peer_ != nullptr && spec.wire() != spec::v1::WIRE_FORMAT_HEARTBEAT3 &&
      hb3_peer_->heard() && absl::StartsWith(hb3_peer_->software(), "Heartbeat")) {
    return absl::FailedPreconditionError(absl::StrCat(
        hb3_peer_name_, " runs ", hb3_peer_->software(),
        ", which speaks only the heartbeat3 wire: switch to wire: native once both nodes run "
        "ha-agent (docs/migration.md, step 4)"));
  }
  absl::Status groups_ok = groups_->CheckReconfigure(spec);
  if (!groups_ok.ok()) return groups_ok;
  // A group that may come here must be able to start here.
  absl::Status scripts = CheckResourceScripts(spec, script_paths_);
  if (!scripts.ok()) return scripts;
  auto respawn = ResolveRespawn(spec);
  if (!respawn.ok()) return respawn.status();
  staged.respawn = *std::move(respawn);
  auto api_options = ApiOptionsOf(spec);
  if (!api_options.ok()) return api_options.status();
  staged.api = *std::move(api_options);
  // The keys can be read and new media made (they are opened at the switch).
  auto config = BuildConfig(spec, local_node_, DirOf(options_.config_path),
                            /*make_media=*/staged.diff.media_changed, make_media_);
  if (!config.ok()) return config.status();
  staged.spec = std::move(spec);
  return staged;
}

absl::Status AgentLoop::SwitchTo(StagedSpec staged, absl::string_view how, MonoTime now) {
  const SpecDiff& diff = staged.diff;
  if (staged.running_hash != spec_hash_) {
    return absl::FailedPreconditionError(
        "the running spec changed since this one was checked against it");
  }
  const std::string old_socket = ApiSocketPath(config_.spec, options_.state_dir);
  const std::string old_group = config_.spec.api().unix_socket_group();
  // The running media leave the loop's sets before they may close (a
  // child process not yet exec'd may still hold their sockets open).
  uint64_t drops_of_running = 0;
  if (diff.media_changed) {
    for (const auto& m : config_.media) {
      drops_of_running += m->kernel_drops();
      if (m->fd() >= 0) loop_->Unwatch(m->fd());
    }
  }
  bool running_closed = false;
  auto prepared = PrepareReload(std::move(staged.spec), config_, pinger_ != nullptr, local_node_,
                                DirOf(options_.config_path), options_.state_dir,
                                &running_closed, make_media_);
  if (running_closed) {
    // Their kernel drop counts are kept so the total never goes back; the
    // media open now report theirs from zero.
    kernel_drops_before_ += drops_of_running;
    logged_kernel_drops_.clear();
  }
  if (!prepared.ok()) {
    // Untouched or reopened by PrepareReload: either way watched again.
    if (diff.media_changed) WatchAllMedia();
    return prepared.status();
  }
  // The loop's watches are the last step that can fail: abort if one does.
  absl::Status watched = absl::OkStatus();
  for (size_t i = 0; watched.ok() && i < prepared->config.media.size(); ++i) {
    watched = WatchMedium(*prepared->config.media[i], i);
  }
  if (watched.ok() && prepared->pinger != nullptr) {
    watched = loop_->Watch(prepared->pinger->fd(), kPingTag);
  }
  if (!watched.ok()) {
    for (const auto& m : prepared->config.media) loop_->Unwatch(m->fd());
    absl::Status reopened = AbortReload(*std::move(prepared), config_, local_node_, make_media_);
    if (!reopened.ok()) {
      logger_.Error(absl::StrCat("cannot reopen the running media: ", reopened.message()));
    }
    if (diff.media_changed) WatchAllMedia();
    return watched;
  }

  // Commit: nothing can fail from here on. The running config lives until
  // the packet check and the encoder have the new keyring.
  Config old = std::exchange(config_, std::move(prepared->config));
  if (!diff.media_changed) config_.media = std::move(old.media);
  if (prepared->pinger != nullptr) pinger_ = std::move(prepared->pinger);
  check_->UpdateKeyring(config_.keyring.get());
  encoder_->SetKeyring(config_.keyring.get());
  Hb3Reconfigure();
  absl::Status s = logger_.Reopen(LogOptionsOf(config_.spec));
  if (!s.ok()) logger_.Warn(absl::StrCat("keeping the old log destinations: ", s.message()));
  membership_->Reconfigure(MembershipConfigOf(config_), now);
  groups_->SetHandoffWait(HandoffWait(config_.timing));
  ControllerOutput reshaped;
  (void)groups_->Reconfigure(config_.spec, now, &reshaped);  // checked when staged
  Apply(reshaped, now);
  groups_dirty_ = true;
  connectivity_->Reconfigure(ConnectivityConfigOf(config_), now);
  respawn_->Set(std::move(staged.respawn), now);
  const std::string watchdog_now = watchdog_ != nullptr ? watchdog_->device() : "";
  std::string watchdog_timeout_note;
  if (watchdog_ != nullptr && config_.spec.watchdog_device() == watchdog_now &&
      diff.old_version != diff.new_version) {
    const absl::Duration before = watchdog_->timeout();
    if (watchdog_->SetTimeout(config_.timing.deadtime)) {
      keepalive_every_ = std::min(watchdog_->KeepAliveInterval(),
                                  notifier_.KeepAliveInterval() > absl::ZeroDuration()
                                      ? notifier_.KeepAliveInterval()
                                      : absl::InfiniteDuration());
      if (watchdog_->timeout() != before) {
        watchdog_timeout_note = absl::StrCat("; watchdog timeout ", absl::FormatDuration(before),
                                             " -> ", absl::FormatDuration(watchdog_->timeout()));
      }
    } else if (watchdog_->settable_timeout()) {
      watchdog_timeout_note = absl::StrCat("; the watchdog's timeout could not be set, it stays ",
                                           absl::FormatDuration(watchdog_->timeout()));
    }
  }
  // The TLS files are re-read (and checked) off the loop; a failure keeps
  // the running certificates and is logged.
  if (api_ != nullptr) api_->ReloadTls(staged.api);
  last_send_error_log_.assign(config_.media.size(), -absl::InfiniteDuration());
  NoteLocalSpec(now);
  next_send_ = now;
  next_publish_ = now;  // status shows the new version in this same turn
  next_ping_ = pinger_ != nullptr && !connectivity_->Hosts().empty() ? now
                                                                      : absl::InfiniteDuration();
  Emit(v1::EVENT_KIND_CONFIG_RELOADED, "",
       absl::StrCat("spec ", how, ": config version ", diff.old_version, " -> ",
                    diff.new_version, diff.media_changed ? " (media reopened)" : "",
                    diff.socket_changed
                        ? absl::StrCat("; the API socket stays ", old_socket, " (group ",
                                       old_group.empty() ? "the agent's" : old_group,
                                       ") until restart")
                        : "",
                    config_.spec.api().metrics_listen() != metrics_listen_
                        ? absl::StrCat("; api.metrics_listen stays '", metrics_listen_,
                                       "' until restart")
                        : "",
                    config_.spec.watchdog_device() != watchdog_now
                        ? absl::StrCat("; watchdog_device stays '", watchdog_now,
                                       "' until restart")
                        : "",
                    watchdog_timeout_note),
       now);
  return absl::OkStatus();
}

bool AgentLoop::HandleSignals(MonoTime now) {
  bool keep_going = true;
  for (int signo : loop_->TakeSignals()) {
    if (signo == SIGHUP && leaving_) {
      logger_.Info("SIGHUP ignored: the agent is stopping");
    } else if (signo == SIGHUP) {
      Reload(now);
    } else if (!leaving_ && (!groups_->Idle() || !respawn_->Idle())) {
      // Release the groups first, so that a peer takes them over at once
      // instead of after deadtime; the respawn programs stop meanwhile.
      notifier_.Stopping(absl::StrCat("stopping on ", strsignal(signo)));
      leaving_ = true;
      leave_by_ = now + kLeaveLimit;
      respawn_->Stop(now);
      const bool groups = !groups_->Idle();
      // Always: the heartbeats say standby, so no group comes here while
      // the respawn programs stop.
      groups_->Leave();
      groups_dirty_ = true;
      Emit(v1::EVENT_KIND_AGENT_STOPPING, local_node_,
           absl::StrCat("ha-agent stopping on ", strsignal(signo), ": stopping its ",
                        groups ? "groups" : "respawn programs",
                        " first (the same signal again stops at once)"),
           now);
    } else {
      if (!leaving_) notifier_.Stopping(absl::StrCat("stopping on ", strsignal(signo)));
      // Groups still held (a second signal cut the wait short): the stop is
      // not clean, and the watchdog stays armed.
      if (!groups_->Idle() || !work_.empty()) held_at_exit_ = true;
      Emit(v1::EVENT_KIND_AGENT_STOPPING, local_node_,
           absl::StrCat("ha-agent stopping on ", strsignal(signo),
                        leaving_ && !groups_->Idle() ? " without waiting for its groups to stop"
                                                     : ""),
           now);
      keep_going = false;
    }
  }
  return keep_going;
}

}  // namespace hacluster::agent
