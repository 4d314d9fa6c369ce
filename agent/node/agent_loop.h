// The agent's event loop and everything it owns: the composition of the
// running node (agent/node/agent.h is its public face). Its methods are
// defined by concern: agent_start.cc (start-up, realtime, the replay
// floors), agent_heartbeats.cc (frames in and out, membership, events and
// status), agent_groups.cc (resource groups and the work handed to
// threads), agent_reload.cc (SIGHUP and the stop signals) and agent_run.cc
// (the loop itself).
//
// Thread-safety: one thread, the loop, calls everything; the API's threads
// reach it only through the EventHub and Operations, which are
// thread-safe.
#ifndef HACLUSTER_AGENT_NODE_AGENT_LOOP_H_
#define HACLUSTER_AGENT_NODE_AGENT_LOOP_H_

#include "agent/node/agent.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/core/clock.h"
#include "agent/exec/runner.h"
#include "agent/groups/controller.h"
#include "agent/hb3wire/codec.h"
#include "agent/hb3wire/peer.h"
#include "agent/log/logger.h"
#include "agent/media/medium.h"
#include "agent/membership/connectivity.h"
#include "agent/membership/membership.h"
#include "agent/http/https_server.h"
#include "agent/node/announcements.h"
#include "agent/node/event_loop.h"
#include "agent/node/peer_views.h"
#include "agent/node/release_pages.h"
#include "agent/node/reload.h"
#include "agent/node/resource_work.h"
#include "agent/node/settings.h"
#include "agent/node/spec_fetcher.h"
#include "agent/node/status_publisher.h"
#include "agent/placement/placement.h"
#include "agent/respawn/supervisor.h"
#include "agent/ping/pinger.h"
#include "agent/service/api_server.h"
#include "agent/service/event_hub.h"
#include "agent/service/operations.h"
#include "agent/state/state_dir.h"
#include "agent/system/systemd_notify.h"
#include "agent/system/watchdog.h"
#include "agent/wire/codec.h"
#include "agent/wire/drop_log.h"
#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"
#include "agent/wire/replay_floors.h"
#include "agent/vip/announce.h"
#include "agent/vip/netlink_address.h"
#include "google/protobuf/util/time_util.h"

namespace hacluster::agent {

class AgentLoop {
 public:
  // `clock` (not owned, outlives the loop) dates everything the loop
  // decides; `make_media` makes the spec's media (media::MakeMedia; tests
  // give fakes).
  AgentLoop(const AgentOptions& options, Logger& logger, const Clock& clock,
            MediaFactory make_media = media::MakeMedia)
      : options_(options), logger_(logger), clock_(clock), make_media_(std::move(make_media)) {}
  ~AgentLoop();
  AgentLoop(const AgentLoop&) = delete;
  AgentLoop& operator=(const AgentLoop&) = delete;

  // Start-up: everything Agent::Create promises.
  absl::Status Init();
  // Start, RunOnce until it says stop, Finish; the exit status.
  int Run();

  // The loop in steps, for Run and for tests on a FakeClock: Start sets the
  // timers; each RunOnce waits until deadline() (at once when the clock has
  // passed it) or an fd, handles what is ready (signals, operations,
  // finished work, pings, undated media), then reads the dated media and
  // does what is due. False when the loop must end; Finish then ends the
  // work threads, saves the replay floors, publishes a last status, closes
  // the API and returns the exit status.
  void Start();
  bool RunOnce();
  int Finish();
  MonoTime deadline() const { return deadline_; }
  // What the loop publishes (for tests; the API reads it too).
  EventHub& hub() { return hub_; }

 private:
  // How often the status snapshot is refreshed when nothing happens.
  static constexpr absl::Duration kPublishEvery = absl::Milliseconds(100);
  // How often suppressed drop counts and send errors are summarised.
  static constexpr absl::Duration kFlushEvery = absl::Seconds(1);
  // Send errors of one medium are logged at most this often.
  static constexpr absl::Duration kSendErrorEvery = absl::Seconds(10);
  // The loop's realtime priority (Heartbeat's heartbeat process runs SCHED_RR).
  static constexpr int kRealtimePriority = 10;
  // Media that date their frames do not wake the loop when it is due to wake
  // within this time anyway: their frames wait in the socket for that wake,
  // and are read then with their arrival times. At keepalive 5 ms this halves
  // the wakes (one per keepalive instead of one more per peer's heartbeat).
  static constexpr absl::Duration kMaxReceiveDelay = absl::Milliseconds(10);
  // Chores that may run a little late (the status snapshot, the drop-count
  // summary) ride on a wake due anyway within this time instead of waking
  // the loop themselves.
  static constexpr absl::Duration kChoreSlack = absl::Milliseconds(10);
  // A peer that came up is taken at its word that it does not hear this node
  // only after this many keepalives: after a partition heals, its first
  // heartbeats may go out before this node's first one reached it.
  static constexpr int kOneWayGrace = 3;
  // The replay floors (agent/wire/replay_floors.h) are kept in this file of
  // the state directory, saved at most this often when they changed (off the
  // loop: the write is fsynced) and at a clean stop. After an agent crash the
  // floors are up to this old; a peer's frames from that span could be
  // replayed once each, and only until the peer's own newer frames arrive.
  static constexpr char kReplayFloorsFile[] = "replay-floors";
  // The hash of the last spec taken by an apply or a catch-up (see
  // applied_hash_).
  static constexpr char kAppliedSpecFile[] = "applied-spec";
  static constexpr absl::Duration kSaveFloorsEvery = absl::Seconds(5);
  // A shutdown waits at most this long for the groups to stop.
  static constexpr absl::Duration kLeaveLimit = absl::Minutes(5);

  // Tags of the loop's watches: media are 0..N-1.
  static constexpr uint64_t kPingTag = uint64_t{1} << 20;
  static constexpr uint64_t kOperationsTag = kPingTag + 1;
  static constexpr uint64_t kExecutorTag = kPingTag + 2;
  static constexpr uint64_t kRespawnTag = kPingTag + 3;

  // The directory of `path` ("." when it has none).
  static std::string DirOf(const std::string& path);
  // The log destinations `spec` names.
  static LogOptions LogOptionsOf(const spec::v1::ClusterSpec& spec);
  // The spec at `path`, with every diagnostic logged; an error when invalid.
  static absl::StatusOr<spec::v1::ClusterSpec> LoadSpec(const std::string& path, Logger& logger);
  static bool HasCapability(int cap);

  MembershipConfig MembershipConfigOf(const Config& c) const;
  ConnectivityConfig ConnectivityConfigOf(const Config& c) const;
  absl::Status WatchMedium(const media::Medium& medium, size_t index);
  void GoRealtime();

  void SendHeartbeat(MonoTime now);
  void SendPings();
  // The heartbeat3 wire (agent_hb3.cc): set up at start when the spec
  // says so, status messages, received messages, and the peer session's
  // turn after each decision pass.
  absl::Status Hb3Start();
  // After a reload: the wire switched either way, or the keys and groups
  // of the heartbeat3 wire changed.
  void Hb3Reconfigure();
  void Hb3Send(hb3wire::Outgoing o);
  void Hb3SendStatus();
  void Hb3OnFrame(size_t medium_index, absl::string_view frame, absl::string_view source,
                  MonoTime at);
  void Hb3Tick();
  // At a clean stop with no group held: Heartbeat's `shutdone` (st=dead),
  // on which a Heartbeat peer takes over at once.
  void Hb3SendShutdone();
  // Reads every medium that dates its frames; true when one may still have
  // frames pending (its batch bound stopped it).
  bool ReceiveDated();
  // Reads medium `medium_index` (one that cannot date frames) at `now`.
  void ReceiveFrom(size_t medium_index, MonoTime now);
  // One received frame: the wire check, then membership.
  void OnFrame(size_t medium_index, absl::string_view frame, absl::string_view source,
               MonoTime at);
  void ReceivePings(MonoTime now);
  // The peers that do not hear this node, by their latest heartbeats; sets
  // *next to when a peer's grace ends.
  std::set<std::string> DeafPeers(MonoTime now, MonoTime* next) const;
  // The peers this node hears, into the outgoing heartbeat.
  void UpdateHears();
  // The peers about to be declared dead (Membership::Fading), into the
  // outgoing heartbeat; a change is logged and sent at once, and while a
  // peer fades a heartbeat goes out every FadeLead / 4.
  void UpdateFading(MonoTime now);
  // Resource groups: a decision pass when something changed, due monitors,
  // retries and fencing, then what the controller asks for.
  void RunGroups(MonoTime now);
  // Membership events (deaths, arrivals, connectivity) in events_: the
  // controller learns of them and placement is computed again.
  void NoteMembershipEvents(MonoTime now);
  // Hands the controller's output on: operations to the executor, events,
  // operation answers, announcements, an early heartbeat on claim changes.
  void Apply(ControllerOutput& out, MonoTime now);
  // Operator requests submitted through the API.
  void TakeOperations(MonoTime now);
  // Work finished on executor threads.
  void TakeCompletedWork(MonoTime now);
  void Submit(uint64_t id, std::function<void()> fn);
  void ScheduleAnnouncements(const std::string& group, MonoTime now, bool first_sent);
  void SendAnnouncements(MonoTime now);
  void OnDrop(absl::string_view source, const wire::PacketCheck::Result& r, MonoTime now);
  void Flush(MonoTime now);
  void LogKernelDrops(MonoTime now);
  // Restores the replay floors saved by an earlier run.
  absl::Status LoadFloors();
  // Saves the replay floors if they changed: on an executor thread, or
  // (`now_here`, at a clean stop) on the calling thread.
  void SaveFloors(bool now_here);
  void Reload(MonoTime now);
  // A new spec checked against this node without touching it: the node is
  // in it, the cluster keeps its name, the groups can take it, every
  // resource script is here, the API settings, keys and media can be made.
  struct StagedSpec {
    spec::v1::ClusterSpec spec;
    SpecDiff diff;  // against the running spec, whose hash is running_hash
    ApiOptions api;
    std::string running_hash;
    std::vector<RespawnProgram> respawn;  // the spec's, resolved
  };
  absl::StatusOr<StagedSpec> StageSpec(spec::v1::ClusterSpec spec) const;
  // Switches to a staged spec whole (media reopened when they changed),
  // or, on an error, leaves the running one as it was. `how` ("reloaded",
  // "applied") goes into the CONFIG_RELOADED event.
  absl::Status SwitchTo(StagedSpec staged, absl::string_view how, MonoTime now);

  // The steps of an apply (agent_apply.cc): each answers its operation.
  void PrepareApply(const OperationRequest& r, MonoTime now);
  void CommitApply(const OperationRequest& r, MonoTime now);
  void AbortApply(const OperationRequest& r, MonoTime now);
  // Drops the prepared apply when its hold has passed.
  void ExpireApply(MonoTime now);
  // Drops the prepared apply (its staged file removed), saying why.
  void DropApply(const std::string& why, MonoTime now);
  void AnswerApply(uint64_t id, bool ok, std::string message);
  struct PendingApply {
    uint64_t id = 0;
    StagedSpec staged;
    std::string staged_file;  // the spec's text, renamed over the spec file at commit
    MonoTime drop_at;
  };
  std::optional<PendingApply> pending_apply_;
  // The last apply committed here because a peer already ran its spec
  // (its CommitApply, arriving late, then succeeds).
  uint64_t committed_by_peers_ = 0;

  // Catch-up (agent_catch_up.cc): a live peer runs a newer config version
  // (this node was down during an apply). A prepared apply of that very
  // spec is committed; otherwise the spec is fetched from such a peer over
  // the API and switched to. Until then no group is acquired here, and
  // the status says why (groups_held_reason).
  void CatchUp(MonoTime now);
  // The newest config version a live peer's heartbeat reports, and who.
  std::pair<uint64_t, std::vector<std::string>> NewestPeerVersion() const;
  // Switches to the fetched spec; an error says why not.
  absl::Status TakeFetchedSpec(const SpecFetcher::Result& r, MonoTime now);
  bool CatchingUp() const { return catch_up_.has_value(); }
  struct CatchUpState {
    uint64_t version = 0;
    std::string reason;  // for status and events
    MonoTime retry_at;
  };
  std::optional<CatchUpState> catch_up_;
  // The hash (hex) of the last spec this node took by an apply or a
  // catch-up, kept in STATE_DIR/applied-spec across restarts: the running
  // spec counts as applied (heartbeat config_applied) while it has it.
  std::string applied_hash_;
  void MarkApplied(const spec::v1::ClusterSpec& spec);
  SpecFetcher fetcher_;
  // Watches every open medium again after a reload gave them back; errors
  // are logged (the loop runs on without that medium's frames).
  void WatchAllMedia();
  // Logs and publishes the pending events_, then clears them.
  void EmitPending();
  void Emit(v1::EventKind kind, std::string node, std::string reason, MonoTime now);
  void Publish(MonoTime now);
  // The local spec's version and hash into the heartbeat and the drift
  // tracker (at start and after a reload); drift changes become events.
  void NoteLocalSpec(MonoTime now);
  void EmitDrift(const DriftTracker::Change& c, MonoTime now);
  bool HandleSignals(MonoTime now);  // false: stop
  // The turn's work after the waiting; false when a shutdown has finished.
  bool Turn();
  absl::Duration PingInterval() const;

  const AgentOptions options_;
  Logger& logger_;
  std::string local_node_;
  std::unique_ptr<StateDir> state_dir_;
  uint64_t generation_ = 0;
  Config config_;
  std::unique_ptr<wire::PacketCheck> check_;
  std::unique_ptr<wire::FrameCodec> encoder_;  // signs with the active key
  // The heartbeat3 wire; null on the native wire.
  std::unique_ptr<hb3wire::Codec> hb3_;
  std::unique_ptr<hb3wire::PeerSession> hb3_peer_;
  std::string hb3_peer_name_;
  uint64_t hb3_status_sent_ = 0;
  MonoTime hb3_rexmit_answered_ = -absl::InfiniteDuration();
  std::string hb3_load_;  // /proc/loadavg, for the `ld` field
  MonoTime hb3_load_read_ = -absl::InfiniteDuration();
  wire::DropLog drop_log_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<Connectivity> connectivity_;
  std::unique_ptr<ping::Pinger> pinger_;
  EventHub hub_;
  StatusPublisher publisher_{logger_, hub_};
  Operations ops_;
  std::unique_ptr<ApiServer> api_;
  // api.metrics_listen: Prometheus text of this agent's status over HTTPS
  // (started with the API; a change takes effect at restart).
  absl::Status StartMetrics();
  std::vector<std::unique_ptr<HttpsServer>> metrics_;
  std::string metrics_listen_;  // as started
  // The API's listeners and TLS files as `spec` says.
  absl::StatusOr<ApiOptions> ApiOptionsOf(const spec::v1::ClusterSpec& spec) const;

  // The spec's respawn programs (started by Start, updated by reloads,
  // stopped at shutdown), as resolved at start-up until Start runs them.
  std::unique_ptr<RespawnSupervisor> respawn_;
  std::vector<RespawnProgram> initial_respawn_;
  // The spec's watchdog_device (opened at start-up; a changed one takes
  // effect at restart), and systemd's notifications. Both are kept alive
  // from the loop itself (KeepAlives), so a hung loop stops the
  // keep-alives.
  std::unique_ptr<Watchdog> watchdog_;
  SystemdNotifier notifier_;
  absl::Duration keepalive_every_ = absl::InfiniteDuration();
  MonoTime next_keepalive_ = absl::InfiniteDuration();
  bool keepalive_failing_ = false;
  // The watchdog keep-alive and systemd's WATCHDOG=1, when due.
  void KeepAlives(MonoTime now);
  // A line for systemd's STATUS=.
  std::string ServiceStatus() const;

  // Resource groups.
  std::unique_ptr<GroupController> groups_;
  std::unique_ptr<exec::OpExecutor> executor_;
  exec::ScriptPaths script_paths_;
  // Shared with the work threads; null when no packet socket could be
  // opened (then each announcement opens its own).
  std::shared_ptr<const vip::Announcer> announcer_;
  bool groups_dirty_ = true;
  // Work on executor threads, by executor id.
  struct Work {
    bool floors = false;   // saving the replay floors
    std::string group;     // resource op: the group; fencing: empty
    std::string node;      // fencing: the node
    uint64_t op_id = 0;    // resource op: the GroupOp's id
    spec::v1::Resource resource;  // resource op: its definition
    v1::ResourceOp op = v1::RESOURCE_OP_UNSPECIFIED;
    std::shared_ptr<WorkResult> result = std::make_shared<WorkResult>();
  };
  std::map<uint64_t, Work> work_;
  uint64_t next_work_id_ = 1;
  // Where each started ip resource went.
  // Keyed by (group, the resource's display name), which a reload that
  // adds or removes other resources does not change.
  std::map<std::pair<std::string, std::string>, vip::Placement> vip_places_;
  AnnouncementSchedule announcements_;
  // Shutting down: the groups are being released.
  bool leaving_ = false;
  MonoTime leave_by_ = absl::InfiniteDuration();

  // The media that date their frames are watched loud only: the loop waits
  // on the quiet set when it is due to wake within kMaxReceiveDelay anyway.
  const Clock& clock_;
  const MediaFactory make_media_;
  std::unique_ptr<EventLoop> loop_;
  // When the next turn is due, and whether it only polls (a dated medium
  // had more frames than one read takes).
  MonoTime deadline_;
  bool poll_next_ = true;
  int exit_status_ = 0;
  // The time of the last membership Tick: frames read later are dated no
  // earlier, so that membership never sees time go back.
  MonoTime membership_now_;
  // The connectivity score last given to membership.
  std::optional<uint32_t> local_score_;
  // One-way loss: when each peer last came up, the peers whose heartbeats
  // say they do not hear this node (once they have been up for
  // kOneWayGrace keepalives: a peer that just came up may not have heard
  // this node yet), and when that set may next change by time alone.
  std::map<std::string, MonoTime> up_since_;
  std::set<std::string> deaf_peers_;
  // Which live peers run another config version or spec.
  DriftTracker drift_;
  std::string spec_hash_;  // SpecHash of config_.spec
  // DeafPeers' view of the peers, kept to reuse its memory at every wake.
  mutable std::vector<PeerHeartbeat> peer_scratch_;
  MonoTime one_way_check_ = absl::InfiniteDuration();
  // UpdateFading's scratch, and when the next peer may start fading.
  std::vector<std::string> fading_scratch_;
  MonoTime next_fade_ = absl::InfiniteDuration();
  // While a peer fades, when its news is sent again.
  MonoTime fade_resend_ = absl::InfiniteDuration();
  // The PacketCheck::floors_version() last saved, and whether a save runs.
  uint64_t floors_saved_ = 0;
  bool floors_saving_ = false;
  MonoTime next_floors_save_;

  MonoTime start_;
  absl::Time start_wall_;
  MonoTime next_send_;
  MonoTime next_ping_ = absl::InfiniteDuration();
  MonoTime next_publish_;
  // Something happened since the last status snapshot (it is published at
  // next_publish_ or the first wake after it).
  bool status_dirty_ = true;
  // This turn handled a ready fd, a frame, or a pass over the groups.
  bool turn_had_input_ = false;
  bool initdead_over_ = false;
  uint64_t kernel_drops_seen_ = 0;
  // The stop leaves groups held (the shutdown limit passed, or a second
  // signal did not wait): the watchdog is not disarmed.
  bool held_at_exit_ = false;
  // Opens the spec's watchdog_device (the last step of Init) and works out
  // how often the loop keeps it and systemd's watchdog alive.
  absl::Status OpenWatchdog();
  MonoTime next_flush_;
  std::vector<MonoTime> last_send_error_log_;
  // Datagrams the kernel dropped per medium (its socket filter refused
  // them as no frame, or the receive buffer was full), as last logged, and
  // when they may next be logged.
  std::vector<uint64_t> logged_kernel_drops_;
  // Kernel drops of media closed by reloads, so the total never goes back.
  uint64_t kernel_drops_before_ = 0;
  MonoTime next_kernel_drop_log_;

  wire::v1::Heartbeat out_hb_;
  std::string out_frame_;
  wire::v1::Heartbeat in_hb_;
  std::vector<v1::Event> events_;
  // events_[0, noted_events_) have been seen by NoteMembershipEvents.
  size_t noted_events_ = 0;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_AGENT_LOOP_H_
