#include "agent/node/agent_loop.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

namespace hacluster::agent {

int AgentLoop::Run() {
  GoRealtime();
  Start();
  // The media are open and the API listens (Init): systemd may start what
  // comes after this unit.
  notifier_.Ready(ServiceStatus());
  while (RunOnce()) {
  }
  return Finish();
}

void AgentLoop::Start() {
  const MonoTime now = clock_.Now();
  next_send_ = now;
  next_publish_ = now;
  next_flush_ = now + kFlushEvery;
  next_floors_save_ = now + kSaveFloorsEvery;
  if (pinger_ != nullptr && !connectivity_->Hosts().empty()) next_ping_ = now;
  if (keepalive_every_ != absl::InfiniteDuration()) next_keepalive_ = now;
  if (respawn_ != nullptr) respawn_->Set(std::move(initial_respawn_), now);
  // The first turn only polls, then does what is due.
  deadline_ = now;
  poll_next_ = true;
}

absl::Duration AgentLoop::PingInterval() const {
  // Echoes go out every keepalive, but no more often than every 100 ms.
  return std::max(config_.timing.keepalive, absl::Milliseconds(100));
}

bool AgentLoop::RunOnce() {
  constexpr int kMaxEvents = 16;
  uint64_t ready[kMaxEvents];
  // While a group waits for a release (or an operation is under way)
  // every heartbeat is read as it comes.
  const bool quiet = (poll_next_ || deadline_ - clock_.Now() <= kMaxReceiveDelay) &&
                     !groups_->Urgent();
  const bool had_timerfd = loop_->uses_timerfd();
  absl::StatusOr<int> n = loop_->Wait(deadline_, poll_next_, quiet, ready, kMaxEvents);
  if (!n.ok()) {
    logger_.Error(std::string(n.status().message()));
    exit_status_ = 1;
    return false;
  }
  if (!had_timerfd && loop_->uses_timerfd()) {
    logger_.Debug("epoll_pwait2 is not available: the loop waits with a timerfd");
  }
  MonoTime now = clock_.Now();
  bool running = true;
  turn_had_input_ = *n > 0;
  for (int i = 0; i < *n; ++i) {
    const uint64_t tag = ready[i];
    if (tag == EventLoop::kSignalTag) {
      running = HandleSignals(now) && running;
    } else if (tag == kOperationsTag) {
      TakeOperations(now);
    } else if (tag == kExecutorTag) {
      TakeCompletedWork(now);
    } else if (tag == kRespawnTag) {
      respawn_->Reap(now);
    } else if (tag == kPingTag) {
      ReceivePings(now);
    } else if (tag < config_.media.size() && !config_.media[tag]->dates_arrivals()) {
      ReceiveFrom(tag, now);
    }
    // Media that date their frames are read at the start of the turn.
  }
  return running && Turn();
}

bool AgentLoop::Turn() {
  // Every dated frame that arrived so far is read before any deadline is
  // checked: no death is declared while its heartbeat sits unread.
  poll_next_ = ReceiveDated();
  const MonoTime now = clock_.Now();
  membership_now_ = now;
  if (now >= next_send_) {
    SendHeartbeat(now);
    next_send_ += config_.timing.keepalive;
    if (next_send_ <= now) next_send_ = now + config_.timing.keepalive;
  }
  if (now >= next_keepalive_) KeepAlives(now);
  if (now >= next_ping_) {
    SendPings();
    next_ping_ = now + PingInterval();
  }
  membership_->Tick(now, &events_);
  connectivity_->Tick(now, &events_);
  // Heartbeats carry the score placement compares (unknown ping hosts
  // count until deadping says otherwise).
  const uint32_t score = connectivity_->PlacementScore();
  if (local_score_ != score) {
    membership_->SetLocalConnectivity(score, now, &events_);
    local_score_ = score;
    out_hb_.set_connectivity_score(score);
  }
  if (!events_.empty()) NoteMembershipEvents(now);
  UpdateFading(now);
  std::set<std::string> deaf = DeafPeers(now, &one_way_check_);
  if (deaf != deaf_peers_) {
    for (const std::string& p : deaf) {
      if (deaf_peers_.count(p) == 0) {
        logger_.Warn(absl::StrCat("one-way heartbeat loss: ", p,
                                  " does not hear this node (its heartbeats no longer list ",
                                  local_node_, "); groups it claims are left to it"));
      }
    }
    for (const std::string& p : deaf_peers_) {
      if (deaf.count(p) == 0 && membership_->StateOf(p) == v1::NODE_STATE_UP) {
        logger_.Info(absl::StrCat(p, " hears this node again"));
      }
    }
    deaf_peers_ = std::move(deaf);
    groups_dirty_ = true;
  }
  if (groups_dirty_ || groups_->NextDeadline() <= now) {
    RunGroups(now);
    turn_had_input_ = true;
  }
  // The Heartbeat 3 peer session's turn (it times its hb_takeover by the
  // keepalive wakes).
  if (hb3_peer_ != nullptr) Hb3Tick();
  if (announcements_.Next() <= now) SendAnnouncements(now);
  respawn_->Tick(now);
  if (leaving_ && ((groups_->Idle() && work_.empty() && respawn_->Idle()) || now >= leave_by_)) {
    if (!groups_->Idle()) {
      logger_.Error("groups still active after the shutdown limit; stopping anyway");
      held_at_exit_ = true;
    }
    // A Heartbeat peer takes over on `shutdone` at once, not after deadtime.
    if (hb3_ != nullptr && groups_->Idle()) Hb3SendShutdone();
    return false;
  }
  if (now >= next_flush_) Flush(now);
  ExpireApply(now);
  CatchUp(now);
  if (now >= next_floors_save_) {
    SaveFloors(/*now_here=*/false);
    next_floors_save_ = now + kSaveFloorsEvery;
  }
  // What this turn did may show in the status: it is published now, or (at
  // most every kPublishEvery) at a later wake; events go out at once. A
  // turn that only sent a heartbeat changes nothing there (the status
  // ages itself as it is read), so an idle node does not rebuild it every
  // keepalive.
  // The status also changes by time alone when initdead ends.
  if (!initdead_over_ && now >= start_ + config_.timing.initdead) {
    initdead_over_ = true;
    turn_had_input_ = true;
  }
  if (turn_had_input_ || catch_up_.has_value() || pending_apply_.has_value() || leaving_) {
    status_dirty_ = true;
  }
  if (!events_.empty()) {
    out_hb_.set_connectivity_score(score);
    EmitPending();
    Publish(now);
  } else if (status_dirty_ && now >= next_publish_) {
    Publish(now);
  }
  // Chores that may wait ride on wakes due anyway: within kChoreSlack when
  // the loop wakes often, within a keepalive (a heartbeat's wake) when it
  // is idle, so an idle loop wakes for its heartbeats alone.
  const absl::Duration chore_slack = std::max(kChoreSlack, config_.timing.keepalive);
  deadline_ = std::min({next_send_, next_ping_, membership_->NextDeadline(),
                        connectivity_->NextDeadline(), groups_->NextDeadline(),
                        announcements_.Next(), leave_by_, one_way_check_, next_fade_,
                        respawn_->NextDeadline(),
                        // Heartbeat sends wake the loop often enough for
                        // keep-alives at least a keepalive apart.
                        keepalive_every_ < config_.timing.keepalive ? next_keepalive_
                                                                    : absl::InfiniteDuration(),
                        pending_apply_.has_value() ? pending_apply_->drop_at
                                                   : absl::InfiniteDuration(),
                        std::min({status_dirty_ ? next_publish_ : absl::InfiniteDuration(),
                                  next_flush_, next_floors_save_}) +
                            chore_slack});
  if (groups_dirty_) deadline_ = now;
  return true;
}

int AgentLoop::Finish() {
  // A clean stop releases the watchdog first (nothing is held any more),
  // before the steps below that may take a while without keep-alives. A
  // stop that leaves groups held, or an error, leaves it armed.
  if (watchdog_ != nullptr) {
    if (exit_status_ == 0 && !held_at_exit_) {
      absl::Status s = watchdog_->Disarm();
      if (s.ok()) {
        logger_.Info(absl::StrCat("watchdog ", watchdog_->device(), " disarmed (clean stop)"));
      } else {
        logger_.Error(std::string(s.message()));
      }
    } else {
      logger_.Warn(absl::StrCat("watchdog ", watchdog_->device(),
                                " left armed: the agent stops with groups held or on an error"));
    }
  }
  DropApply("the agent is stopping", clock_.Now());
  // Heartbeats that arrived before the stop count for the replay floors
  // saved below (a peer's frames up to the stop cannot be replayed later).
  ReceiveDated();
  // Work still running ends first (the destructor would wait for it
  // anyway), so a floors save under way cannot race the last one.
  executor_.reset();
  floors_saving_ = false;
  SaveFloors(/*now_here=*/true);
  Publish(clock_.Now());
  api_->Shutdown();
  // Programs still running (a second stop signal did not wait) are killed.
  respawn_.reset();
  return exit_status_;
}

void AgentLoop::KeepAlives(MonoTime now) {
  if (watchdog_ != nullptr) {
    absl::Status s = watchdog_->KeepAlive();
    if (!s.ok() && !keepalive_failing_) {
      logger_.Error(absl::StrCat(s.message(), " (said once until it works again)"));
    } else if (s.ok() && keepalive_failing_) {
      logger_.Info(absl::StrCat("watchdog ", watchdog_->device(), ": keep-alives written again"));
    }
    keepalive_failing_ = !s.ok();
  }
  notifier_.KeepAlive();
  next_keepalive_ = now + keepalive_every_;
}

std::string AgentLoop::ServiceStatus() const {
  return absl::StrCat("node ", local_node_, " of cluster ", config_.spec.cluster_name(),
                      ", config version ", config_.spec.config_version());
}

}  // namespace hacluster::agent
