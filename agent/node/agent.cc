#include "agent/node/agent.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

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
#include "agent/config/diagnostics.h"
#include "agent/config/yaml_codec.h"
#include "agent/core/clock.h"
#include "agent/exec/runner.h"
#include "agent/groups/controller.h"
#include "agent/log/logger.h"
#include "agent/media/medium.h"
#include "agent/membership/connectivity.h"
#include "agent/membership/membership.h"
#include "agent/node/announcements.h"
#include "agent/node/event_loop.h"
#include "agent/node/release_pages.h"
#include "agent/node/peer_views.h"
#include "agent/node/reload.h"
#include "agent/node/resource_work.h"
#include "agent/placement/placement.h"
#include "agent/node/settings.h"
#include "agent/node/status_publisher.h"
#include "agent/ping/pinger.h"
#include "agent/service/api_server.h"
#include "agent/service/event_hub.h"
#include "agent/service/operations.h"
#include "agent/state/state_dir.h"
#include "agent/wire/codec.h"
#include "agent/wire/drop_log.h"
#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"
#include "agent/wire/replay_floors.h"
#include "agent/vip/announce.h"
#include "agent/vip/netlink_address.h"
#include "google/protobuf/util/time_util.h"

namespace hacluster::agent {
namespace {

using google::protobuf::util::TimeUtil;

// How often the status snapshot is refreshed when nothing happens.
constexpr absl::Duration kPublishEvery = absl::Milliseconds(100);
// How often suppressed drop counts and send errors are summarised.
constexpr absl::Duration kFlushEvery = absl::Seconds(1);
// Send errors of one medium are logged at most this often.
constexpr absl::Duration kSendErrorEvery = absl::Seconds(10);
// The loop's realtime priority (Heartbeat's heartbeat process runs SCHED_RR).
constexpr int kRealtimePriority = 10;
// Media that date their frames do not wake the loop when it is due to wake
// within this time anyway: their frames wait in the socket for that wake,
// and are read then with their arrival times. At keepalive 5 ms this halves
// the wakes (one per keepalive instead of one more per peer's heartbeat).
constexpr absl::Duration kMaxReceiveDelay = absl::Milliseconds(10);
// Chores that may run a little late (the status snapshot, the drop-count
// summary) ride on a wake due anyway within this time instead of waking
// the loop themselves.
constexpr absl::Duration kChoreSlack = absl::Milliseconds(10);
// A peer that came up is taken at its word that it does not hear this node
// only after this many keepalives: after a partition heals, its first
// heartbeats may go out before this node's first one reached it.
constexpr int kOneWayGrace = 3;
// The replay floors (agent/wire/replay_floors.h) are kept in this file of
// the state directory, saved at most this often when they changed (off the
// loop: the write is fsynced) and at a clean stop. After an agent crash the
// floors are up to this old; a peer's frames from that span could be
// replayed once each, and only until the peer's own newer frames arrive.
constexpr char kReplayFloorsFile[] = "replay-floors";
constexpr absl::Duration kSaveFloorsEvery = absl::Seconds(5);
// A shutdown waits at most this long for the groups to stop.
constexpr absl::Duration kLeaveLimit = absl::Minutes(5);

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

LogOptions LogOptionsOf(const spec::v1::ClusterSpec& spec) {
  LogOptions o;
  o.file = spec.logging().file();
  o.syslog_facility = spec.logging().syslog_facility();
  o.debug_file = spec.logging().debug_file();
  return o;
}

// The spec at `path`, with every diagnostic logged; an error when invalid.
absl::StatusOr<spec::v1::ClusterSpec> LoadSpec(const std::string& path, Logger& logger) {
  config::ParsedSpec parsed = config::LoadSpecFile(path);
  for (const config::Diagnostic& d : parsed.diagnostics) {
    logger.Log(d.severity == config::Severity::kError ? LogLevel::kError : LogLevel::kWarning,
               config::FormatDiagnostic(d));
  }
  if (config::HasErrors(parsed.diagnostics)) {
    size_t errors = std::count_if(parsed.diagnostics.begin(), parsed.diagnostics.end(),
                                  [](const config::Diagnostic& d) {
                                    return d.severity == config::Severity::kError;
                                  });
    return absl::InvalidArgumentError(absl::StrCat("the spec ", path, " is invalid (", errors,
                                                   errors == 1 ? " error" : " errors",
                                                   ", listed above)"));
  }
  return std::move(parsed.spec);
}

bool HasCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

void BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

class Agent::Impl {
 public:
  Impl(const AgentOptions& options, Logger& logger) : options_(options), logger_(logger) {}
  ~Impl();

  absl::Status Init();
  int Run();

 private:
  MembershipConfig MembershipConfigOf(const Config& c) const;
  ConnectivityConfig ConnectivityConfigOf(const Config& c) const;
  absl::Status WatchMedium(const media::Medium& medium, size_t index);
  void GoRealtime();

  void SendHeartbeat(MonoTime now);
  void SendPings();
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
  // Watches every open medium again after a reload gave them back; errors
  // are logged (the loop runs on without that medium's frames).
  void WatchAllMedia();
  // Logs and publishes the pending events_, then clears them.
  void EmitPending();
  void Emit(v1::EventKind kind, std::string node, std::string reason, MonoTime now);
  void Publish(MonoTime now);
  bool HandleSignals(MonoTime now);  // false: stop

  const AgentOptions options_;
  Logger& logger_;
  std::string local_node_;
  std::unique_ptr<StateDir> state_dir_;
  uint64_t generation_ = 0;
  Config config_;
  std::unique_ptr<wire::PacketCheck> check_;
  std::unique_ptr<wire::FrameCodec> encoder_;  // signs with the active key
  wire::DropLog drop_log_;
  std::unique_ptr<Membership> membership_;
  std::unique_ptr<Connectivity> connectivity_;
  std::unique_ptr<ping::Pinger> pinger_;
  EventHub hub_;
  StatusPublisher publisher_{logger_, hub_};
  Operations ops_;
  std::unique_ptr<ApiServer> api_;
  // The API's listeners and TLS files as `spec` says.
  absl::StatusOr<ApiOptions> ApiOptionsOf(const spec::v1::ClusterSpec& spec) const;

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
    int resource = -1;
    v1::ResourceOp op = v1::RESOURCE_OP_UNSPECIFIED;
    std::shared_ptr<WorkResult> result = std::make_shared<WorkResult>();
  };
  std::map<uint64_t, Work> work_;
  uint64_t next_work_id_ = 1;
  // Where each started ip resource went: (group, resource index).
  std::map<std::pair<std::string, int>, vip::Placement> vip_places_;
  AnnouncementSchedule announcements_;
  // Shutting down: the groups are being released.
  bool leaving_ = false;
  MonoTime leave_by_ = absl::InfiniteDuration();

  // The media that date their frames are watched loud only: the loop waits
  // on the quiet set when it is due to wake within kMaxReceiveDelay anyway.
  SystemClock clock_;
  std::unique_ptr<EventLoop> loop_;
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
  // DeafPeers' view of the peers, kept to reuse its memory at every wake.
  mutable std::vector<PeerHeartbeat> peer_scratch_;
  MonoTime one_way_check_ = absl::InfiniteDuration();
  // The PacketCheck::floors_version() last saved, and whether a save runs.
  uint64_t floors_saved_ = 0;
  bool floors_saving_ = false;
  MonoTime next_floors_save_;

  MonoTime start_;
  absl::Time start_wall_;
  MonoTime next_send_;
  MonoTime next_ping_ = absl::InfiniteDuration();
  MonoTime next_publish_;
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

// Tags of the loop's watches: media are 0..N-1.
constexpr uint64_t kPingTag = uint64_t{1} << 20;
constexpr uint64_t kOperationsTag = kPingTag + 1;
constexpr uint64_t kExecutorTag = kPingTag + 2;

Agent::Impl::~Impl() {
  if (api_ != nullptr) api_->Shutdown();
}

MembershipConfig Agent::Impl::MembershipConfigOf(const Config& c) const {
  MembershipConfig m;
  m.local_node = local_node_;
  for (const auto& n : c.spec.nodes()) m.nodes.push_back(n.name());
  for (const auto& medium : c.media) m.links.push_back(medium->link_name());
  m.keepalive = c.timing.keepalive;
  m.warntime = c.timing.warntime;
  m.deadtime = c.timing.deadtime;
  m.initdead = c.timing.initdead;
  return m;
}

ConnectivityConfig Agent::Impl::ConnectivityConfigOf(const Config& c) const {
  ConnectivityConfig cc;
  for (const auto& h : c.spec.connectivity().ping_nodes()) cc.ping_nodes.push_back(h);
  for (const auto& g : c.spec.connectivity().ping_groups()) {
    cc.ping_groups.emplace_back(g.name(),
                                std::vector<std::string>(g.hosts().begin(), g.hosts().end()));
  }
  cc.deadping = c.timing.deadping;
  return cc;
}

absl::Status Agent::Impl::WatchMedium(const media::Medium& medium, size_t index) {
  return loop_->Watch(medium.fd(), index, /*loud_only=*/medium.dates_arrivals());
}

absl::Status Agent::Impl::Init() {
  auto spec = LoadSpec(options_.config_path, logger_);
  if (!spec.ok()) return spec.status();
  auto node = LocalNodeName(*spec, options_.node);
  if (!node.ok()) return node.status();
  local_node_ = *node;
  absl::Status s = logger_.Reopen(LogOptionsOf(*spec));
  if (!s.ok()) return s;

  auto state_dir = StateDir::Open(options_.state_dir);
  if (!state_dir.ok()) return state_dir.status();
  state_dir_ = *std::move(state_dir);

  auto config = BuildConfig(*std::move(spec), local_node_, DirOf(options_.config_path),
                            /*make_media=*/true);
  if (!config.ok()) return config.status();
  config_ = *std::move(config);
  for (size_t i = 0; i < config_.media.size(); ++i) {
    s = config_.media[i]->Open();
    if (!s.ok()) return s;
  }
  std::vector<std::pair<std::string, std::string>> targets = PingTargets(config_.spec);
  if (!targets.empty()) {
    auto pinger = ping::Pinger::Open();
    if (!pinger.ok()) return pinger.status();
    pinger_ = *std::move(pinger);
  }

  auto generation = state_dir_->BumpGeneration();
  if (!generation.ok()) return generation.status();
  generation_ = *generation;
  publisher_.set_generation(generation_);

  auto loop = EventLoop::Create(clock_);
  if (!loop.ok()) return loop.status();
  loop_ = *std::move(loop);
  for (size_t i = 0; i < config_.media.size(); ++i) {
    s = WatchMedium(*config_.media[i], i);
    if (!s.ok()) return s;
  }
  if (pinger_ != nullptr && !(s = loop_->Watch(pinger_->fd(), kPingTag)).ok()) return s;
  if (!(s = loop_->Watch(ops_.fd(), kOperationsTag)).ok()) return s;
  auto executor = exec::OpExecutor::Create();
  if (!executor.ok()) return executor.status();
  executor_ = *std::move(executor);
  if (!(s = loop_->Watch(executor_->fd(), kExecutorTag)).ok()) return s;
  auto announcer = vip::Announcer::Open();
  if (announcer.ok()) {
    announcer_ = std::make_shared<const vip::Announcer>(*std::move(announcer));
  } else if (config_.spec.groups_size() > 0) {
    logger_.Warn(absl::StrCat(announcer.status().message(),
                              "; each announcement will open its own"));
  }

  start_ = MonotonicNow();
  start_wall_ = absl::Now();
  membership_now_ = start_;
  check_ = std::make_unique<wire::PacketCheck>(config_.spec.cluster_name(), local_node_,
                                               config_.keyring.get());
  encoder_ = std::make_unique<wire::FrameCodec>(config_.keyring.get());
  if (!(s = LoadFloors()).ok()) return s;
  membership_ = std::make_unique<Membership>(MembershipConfigOf(config_), generation_, start_);
  connectivity_ = std::make_unique<Connectivity>(ConnectivityConfigOf(config_), start_);
  last_send_error_log_.assign(config_.media.size(), -absl::InfiniteDuration());
  groups_ = std::make_unique<GroupController>(config_.spec, local_node_);
  // The first heartbeat already carries the score placement compares: a
  // peer hearing 0 would take groups that belong here.
  local_score_ = connectivity_->PlacementScore();
  membership_->SetLocalConnectivity(*local_score_, start_, &events_);

  out_hb_.set_cluster_name(config_.spec.cluster_name());
  out_hb_.set_node(local_node_);
  out_hb_.set_generation(generation_);
  out_hb_.set_config_version(config_.spec.config_version());
  out_hb_.set_connectivity_score(*local_score_);
  out_hb_.set_reports_hears(true);

  // Before any claim or release goes out: what of each group already runs
  // here (left by an agent that crashed)? The first heartbeat claims them
  // PROBING, so no peer starts them meanwhile.
  ControllerOutput probe;
  groups_->Probe(start_, &probe);
  Apply(probe, start_);

  Publish(start_);
  auto api_options = ApiOptionsOf(config_.spec);
  if (!api_options.ok()) return api_options.status();
  auto api = ApiServer::Start(*api_options, hub_, ops_, logger_);
  if (!api.ok()) return api.status();
  api_ = *std::move(api);

  std::vector<std::string> media_text;
  for (const auto& m : config_.media) media_text.push_back(m->description());
  Emit(v1::EVENT_KIND_AGENT_STARTED, local_node_,
       absl::StrCat("ha-agent started as node ", local_node_, " of cluster ",
                    config_.spec.cluster_name(), " (generation ", generation_,
                    ", config version ", config_.spec.config_version(), "); media: ",
                    absl::StrJoin(media_text, "; "), "; API on ", api_->Description()),
       start_);
  return absl::OkStatus();
}

absl::StatusOr<ApiOptions> Agent::Impl::ApiOptionsOf(const spec::v1::ClusterSpec& spec) const {
  ApiOptions o;
  o.socket_path = ApiSocketPath(spec, options_.state_dir);
  o.socket_group = spec.api().unix_socket_group();
  auto tcp = ApiListenAddresses(spec, local_node_);
  if (!tcp.ok()) return tcp.status();
  o.tcp_addresses = *std::move(tcp);
  o.tls_cert = spec.api().tls_cert();
  o.tls_key = spec.api().tls_key();
  o.tls_client_ca = spec.api().tls_client_ca();
  o.generation = generation_;
  return o;
}

void Agent::Impl::GoRealtime() {
  if (!options_.realtime) return;
  // The API threads exist already and keep normal priority: only this
  // thread, the heartbeat path, runs SCHED_RR.
  sched_param param{};
  param.sched_priority = kRealtimePriority;
  int err = pthread_setschedparam(pthread_self(), SCHED_RR, &param);
  if (err != 0) {
    logger_.Warn(absl::StrCat("cannot run the heartbeat loop at realtime priority (SCHED_RR ",
                              kRealtimePriority, "): ", strerror(err),
                              "; heartbeats may be late under load"));
  }
  // Lock memory so the heartbeat path never waits for a page-in. MCL_ONFAULT
  // locks pages as they are touched, so idle thread stacks and unused parts
  // of libraries do not become resident.
  rlimit limit{};
  getrlimit(RLIMIT_MEMLOCK, &limit);
  bool unlimited = limit.rlim_cur == RLIM_INFINITY || HasCapability(CAP_IPC_LOCK);
  if (!unlimited) {
    // Locking under a small limit would make later allocations fail.
    logger_.Warn(absl::StrCat("memory not locked: the locked-memory limit (RLIMIT_MEMLOCK) is ",
                              limit.rlim_cur / 1024, " KiB and the agent lacks CAP_IPC_LOCK; "
                              "running unlocked"));
    return;
  }
  // What start-up alone needed (symbol tables, initialisation code) is
  // given back first, so that it is not locked for the life of the agent;
  // the loop faults back, and locks, what it uses.
  absl::StatusOr<size_t> released = ReleaseCleanFilePages();
  if (released.ok()) {
    logger_.Debug(absl::StrCat("released ", *released / 1024,
                               " KiB of file pages before locking memory"));
  } else {
    logger_.Warn(absl::StrCat("locking start-up pages too: ", released.status().message()));
  }
  if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    logger_.Warn(absl::StrCat("memory not locked: mlockall: ", strerror(errno),
                              " (locked-memory limit ", limit.rlim_cur / 1024,
                              " KiB); running unlocked"));
  }
}

void Agent::Impl::Emit(v1::EventKind kind, std::string node, std::string reason,
                       MonoTime now) {
  v1::Event e;
  e.set_kind(kind);
  e.set_node(std::move(node));
  e.set_reason(std::move(reason));
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  events_.push_back(std::move(e));
  EmitPending();
}

void Agent::Impl::EmitPending() {
  // Membership events are acted on before they go (a SIGHUP's event may be
  // emitted in the same wake as a NODE_UP that the loop has not seen yet).
  if (groups_ != nullptr) NoteMembershipEvents(MonotonicNow());
  publisher_.Emit(&events_);
  noted_events_ = 0;
}

void Agent::Impl::Publish(MonoTime now) {
  v1::GetStatusResponse st;
  st.set_cluster_name(config_.spec.cluster_name());
  st.set_config_version(config_.spec.config_version());
  st.set_local_node(local_node_);
  *st.mutable_started_at() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(start_wall_));
  membership_->FillStatus(now, WallTimeOf, &st);
  connectivity_->FillStatus(WallTimeOf, &st);
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
}

void Agent::Impl::SendHeartbeat(MonoTime now) {
  out_hb_.set_seq(out_hb_.seq() + 1);
  UpdateHears();
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

void Agent::Impl::SendPings() {
  for (const std::string& host : connectivity_->Hosts()) {
    absl::Status s = pinger_->SendEcho(host);
    if (!s.ok()) logger_.Debug(absl::StrCat("ping ", host, ": ", s.message()));
  }
}

void Agent::Impl::OnDrop(absl::string_view source, const wire::PacketCheck::Result& r,
                         MonoTime now) {
  std::optional<std::string> line = drop_log_.Record(source, r.reason, r.detail, now);
  if (!line.has_value()) return;
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_AUTH_FAILURE);
  e.set_link(std::string(source));
  e.set_reason(*std::move(line));
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  events_.push_back(std::move(e));
}

void Agent::Impl::OnFrame(size_t i, absl::string_view frame, absl::string_view source,
                          MonoTime at) {
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
}

void Agent::Impl::ReceiveFrom(size_t i, MonoTime now) {
  absl::Status s = config_.media[i]->Receive(
      [&](absl::string_view frame, absl::string_view source) { OnFrame(i, frame, source, now); });
  if (!s.ok()) logger_.Debug(absl::StrCat("receive: ", s.message()));
}

bool Agent::Impl::ReceiveDated() {
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

void Agent::Impl::ReceivePings(MonoTime now) {
  absl::Status s = pinger_->Receive(
      [&](absl::string_view host) { connectivity_->OnReply(host, now, &events_); });
  if (!s.ok()) logger_.Debug(absl::StrCat("ping receive: ", s.message()));
}

void Agent::Impl::Submit(uint64_t id, std::function<void()> fn) {
  absl::Status s = executor_->Submit(id, std::move(fn));
  if (s.ok()) return;
  // No thread: the work fails at once rather than hang the group.
  logger_.Error(absl::StrCat("cannot run resource work: ", s.message()));
  auto it = work_.find(id);
  if (it == work_.end()) return;
  it->second.result->message = std::string(s.message());
  ControllerOutput out;
  Work w = std::move(it->second);
  work_.erase(it);
  if (w.floors) {
    floors_saving_ = false;
    return;
  }
  MonoTime now = MonotonicNow();
  if (w.group.empty()) {
    groups_->OnFenceResult(w.node, false, w.result->message, now, &out);
  } else {
    groups_->OnResult(w.group, {w.op_id, false, w.result->message}, now, &out);
  }
  Apply(out, now);
}

void Agent::Impl::Apply(ControllerOutput& out, MonoTime now) {
  for (GroupOp& op : out.ops) {
    const spec::v1::ResourceGroup* g = groups_->Group(op.group);
    if (g == nullptr || op.resource < 0 || op.resource >= g->resources_size()) continue;
    const uint64_t id = next_work_id_++;
    Work w;
    w.group = op.group;
    w.op_id = op.id;
    w.resource = op.resource;
    w.op = op.op;
    std::optional<vip::Placement> place;
    auto vp = vip_places_.find({op.group, op.resource});
    if (vp != vip_places_.end()) place = vp->second;
    std::shared_ptr<WorkResult> result = w.result;
    spec::v1::Resource resource = g->resources(op.resource);
    exec::ScriptPaths paths = script_paths_;
    v1::ResourceOp kind = op.op;
    work_.emplace(id, std::move(w));
    Submit(id, [result, resource, kind, place, paths, announcer = announcer_] {
      const MonoTime begin = MonotonicNow();
      *result = RunResourceOp(resource, kind, place, paths, announcer.get());
      absl::StrAppend(&result->message, " (",
                      absl::FormatDuration(absl::Trunc(MonotonicNow() - begin,
                                                       absl::Microseconds(10))),
                      ")");
    });
  }
  out.ops.clear();
  for (const std::string& group : out.reannounce) ScheduleAnnouncements(group, now, false);
  out.reannounce.clear();
  for (auto& [id, answer] : out.answers) {
    answer.set_operation_id(id);
    ops_.Update(id, std::move(answer));
  }
  out.answers.clear();
  for (v1::Event& e : out.events) events_.push_back(std::move(e));
  out.events.clear();
  if (out.claims_changed) {
    groups_->FillHeartbeat(&out_hb_);
    // Peers learn of a release or a request now, not a keepalive later.
    SendHeartbeat(now);
    groups_dirty_ = true;
  }
  out.claims_changed = false;
}

void Agent::Impl::TakeOperations(MonoTime now) {
  ControllerOutput out;
  for (const OperationRequest& r : ops_.Take()) {
    if (leaving_) {
      v1::OperationResponse answer;
      answer.set_state(v1::OPERATION_STATE_FAILED);
      answer.set_message("refused: this ha-agent is shutting down");
      ops_.Update(r.id, std::move(answer));
      continue;
    }
    groups_->Submit(r, absl::ToUnixNanos(absl::Now()), now, &out);
  }
  Apply(out, now);
  groups_dirty_ = true;
}

void Agent::Impl::TakeCompletedWork(MonoTime now) {
  ControllerOutput out;
  for (uint64_t id : executor_->TakeCompleted()) {
    auto it = work_.find(id);
    if (it == work_.end()) continue;
    Work w = std::move(it->second);
    work_.erase(it);
    const WorkResult& r = *w.result;
    if (w.floors) {
      floors_saving_ = false;
      if (!r.ok) logger_.Warn(r.message);
      continue;
    }
    if (w.group.empty()) {
      groups_->OnFenceResult(w.node, r.ok, r.message, now, &out);
      continue;
    }
    if (r.placement.has_value()) vip_places_[{w.group, w.resource}] = *r.placement;
    if (w.op == v1::RESOURCE_OP_STOP && r.ok) vip_places_.erase({w.group, w.resource});
    if (r.announce && r.placement.has_value()) {
      const spec::v1::ResourceGroup* g = groups_->Group(w.group);
      if (g != nullptr) {
        announcements_.Add(r.placement->interface, g->resources(w.resource).ip().address(), now,
                           /*first_sent=*/true);
      }
    }
    GroupOpResult result;
    result.id = w.op_id;
    result.ok = r.ok;
    result.message = r.message;
    result.may_be_running = r.may_be_running;
    groups_->OnResult(w.group, result, now, &out);
  }
  Apply(out, now);
  groups_dirty_ = true;
}

void Agent::Impl::ScheduleAnnouncements(const std::string& group, MonoTime now,
                                        bool first_sent) {
  const spec::v1::ResourceGroup* g = groups_->Group(group);
  if (g == nullptr) return;
  for (int i = 0; i < g->resources_size(); ++i) {
    auto vp = vip_places_.find({group, i});
    if (vp == vip_places_.end()) continue;
    announcements_.Add(vp->second.interface, g->resources(i).ip().address(), now, first_sent);
  }
}

void Agent::Impl::SendAnnouncements(MonoTime now) {
  for (const AnnouncementSchedule::Due& d : announcements_.TakeDue(now)) {
    // Only an address still here is announced: a group stopped meanwhile
    // must not draw traffic back.
    absl::StatusOr<bool> here = vip::HasAddress(d.address);
    if (!here.ok() || !*here) {
      announcements_.Forget(d.address);
      continue;
    }
    absl::Status s = announcer_ != nullptr ? announcer_->Announce(d.interface, d.address)
                                           : vip::Announce(d.interface, d.address);
    if (!s.ok()) logger_.Warn(absl::StrCat("announcing ", d.address, ": ", s.message()));
  }
}

void Agent::Impl::NoteMembershipEvents(MonoTime now) {
  if (noted_events_ >= events_.size()) return;
  ControllerOutput out;
  const size_t end = events_.size();
  for (size_t i = noted_events_; i < end; ++i) {
    const v1::Event& e = events_[i];
    switch (e.kind()) {
      case v1::EVENT_KIND_NODE_DEAD:
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

void Agent::Impl::UpdateHears() {
  out_hb_.clear_hears();
  for (const auto& n : config_.spec.nodes()) {
    if (n.name() != local_node_ && membership_->StateOf(n.name()) == v1::NODE_STATE_UP) {
      out_hb_.add_hears(n.name());
    }
  }
}

std::set<std::string> Agent::Impl::DeafPeers(MonoTime now, MonoTime* next) const {
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

void Agent::Impl::RunGroups(MonoTime now) {
  ControllerOutput out;
  for (const std::string& node : groups_->FencesToRun(now)) {
    const uint64_t id = next_work_id_++;
    Work w;
    w.node = node;
    std::shared_ptr<WorkResult> result = w.result;
    spec::v1::Fencing fencing = config_.spec.fencing();
    work_.emplace(id, std::move(w));
    logger_.Info(absl::StrCat("fencing ", node, ": running ",
                              absl::StrJoin(fencing.command(), " ")));
    Submit(id, [result, fencing, node] { *result = RunFence(fencing, node); });
  }
  if (groups_->NextDeadline() <= now) groups_->Tick(now, &out);
  if (groups_dirty_) {
    groups_dirty_ = false;
    std::vector<NodeInput> nodes;
    nodes.reserve(config_.spec.nodes_size());
    for (const auto& n : config_.spec.nodes()) {
      NodeInput in;
      in.name = n.name();
      in.alive = n.name() == local_node_ || membership_->StateOf(n.name()) == v1::NODE_STATE_UP;
      const wire::v1::Heartbeat* last = membership_->LastHeartbeat(n.name());
      in.score = n.name() == local_node_ ? connectivity_->PlacementScore()
                 : last != nullptr          ? last->connectivity_score()
                                            : 0;
      in.heartbeat = in.alive ? last : nullptr;
      in.hears_local = deaf_peers_.count(n.name()) == 0;
      nodes.push_back(std::move(in));
    }
    bool all_heard = true;
    for (const NodeInput& n : nodes) all_heard = all_heard && n.alive;
    const bool hold = leaving_ || (membership_->InInitdead(now) && !all_heard);
    groups_->Evaluate(nodes, hold, now, &out);
    // The heartbeat always says what the controller now knows (adopted
    // requests included).
    groups_->FillHeartbeat(&out_hb_);
  }
  Apply(out, now);
}

absl::Status Agent::Impl::LoadFloors() {
  auto text = state_dir_->ReadFile(kReplayFloorsFile);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return absl::OkStatus();
  const std::string file = absl::StrCat(state_dir_->path(), "/", kReplayFloorsFile);
  auto floors = wire::ParseReplayFloors(**text, file);
  if (!floors.ok()) {
    return absl::DataLossError(absl::StrCat(
        floors.status().message(), "; remove ", file,
        " to start without it (heartbeats captured before this start would then not be "
        "refused as replays until their senders restart)"));
  }
  for (const wire::PacketCheck::Floor& f : *floors) check_->SetFloor(f);
  floors_saved_ = check_->floors_version();
  logger_.Debug(absl::StrCat("replay floors of ", floors->size(), " nodes restored from ", file));
  return absl::OkStatus();
}

void Agent::Impl::SaveFloors(bool now_here) {
  if (floors_saving_ || check_->floors_version() == floors_saved_) return;
  floors_saved_ = check_->floors_version();
  std::string text = wire::FormatReplayFloors(check_->Floors());
  StateDir* dir = state_dir_.get();
  if (now_here) {
    absl::Status s = dir->WriteFileAtomic(kReplayFloorsFile, text);
    if (!s.ok()) logger_.Warn(absl::StrCat("cannot save the replay floors: ", s.message()));
    return;
  }
  const uint64_t id = next_work_id_++;
  Work w;
  w.floors = true;
  std::shared_ptr<WorkResult> result = w.result;
  work_.emplace(id, std::move(w));
  floors_saving_ = true;
  Submit(id, [result, dir, text = std::move(text)] {
    absl::Status s = dir->WriteFileAtomic(kReplayFloorsFile, text);
    result->ok = s.ok();
    if (!s.ok()) result->message = absl::StrCat("cannot save the replay floors: ", s.message());
  });
}

void Agent::Impl::LogKernelDrops(MonoTime now) {
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

void Agent::Impl::Flush(MonoTime now) {
  LogKernelDrops(now);
  for (std::string& line : drop_log_.Flush(now)) {
    v1::Event e;
    e.set_kind(v1::EVENT_KIND_AUTH_FAILURE);
    e.set_reason(std::move(line));
    e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
    events_.push_back(std::move(e));
  }
  next_flush_ = now + kFlushEvery;
}

void Agent::Impl::Reload(MonoTime now) {
  logger_.Info(absl::StrCat("SIGHUP: re-reading ", options_.config_path));
  auto reject = [&](absl::string_view why) {
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "",
         absl::StrCat("new spec refused, still running config version ",
                      config_.spec.config_version(), ": ", why),
         now);
  };
  // Prepare: everything that can fail, with nothing of the running node
  // changed but its media, which PrepareReload gives back if it fails.
  auto spec = LoadSpec(options_.config_path, logger_);
  if (!spec.ok()) return reject(spec.status().message());
  auto node = LocalNodeName(*spec, local_node_);
  if (!node.ok()) return reject(node.status().message());
  const SpecDiff diff = DiffSpecs(config_.spec, *spec, options_.state_dir);
  if (diff.cluster_renamed) {
    return reject(absl::StrCat("cluster_name changed from ", config_.spec.cluster_name(), " to ",
                               spec->cluster_name(), "; restart the agent to change it"));
  }
  const std::string old_socket = ApiSocketPath(config_.spec, options_.state_dir);
  const std::string old_group = config_.spec.api().unix_socket_group();
  absl::Status groups_ok = groups_->Reconfigure(*spec, /*apply=*/false);
  if (!groups_ok.ok()) return reject(groups_ok.message());
  auto api_options = ApiOptionsOf(*spec);
  if (!api_options.ok()) return reject(api_options.status().message());
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
  auto prepared = PrepareReload(*std::move(spec), config_, pinger_ != nullptr, local_node_,
                                DirOf(options_.config_path), options_.state_dir,
                                &running_closed);
  if (running_closed) {
    // Their kernel drop counts are kept so the total never goes back; the
    // media open now report theirs from zero.
    kernel_drops_before_ += drops_of_running;
    logged_kernel_drops_.clear();
  }
  if (!prepared.ok()) {
    // Untouched or reopened by PrepareReload: either way watched again.
    if (diff.media_changed) WatchAllMedia();
    return reject(prepared.status().message());
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
    absl::Status reopened = AbortReload(*std::move(prepared), config_, local_node_);
    if (!reopened.ok()) {
      logger_.Error(absl::StrCat("cannot reopen the running media: ", reopened.message()));
    }
    if (diff.media_changed) WatchAllMedia();
    return reject(watched.message());
  }

  // Commit: nothing can fail from here on. The running config lives until
  // the packet check and the encoder have the new keyring.
  Config old = std::exchange(config_, std::move(prepared->config));
  if (!diff.media_changed) config_.media = std::move(old.media);
  if (prepared->pinger != nullptr) pinger_ = std::move(prepared->pinger);
  check_->UpdateKeyring(config_.keyring.get());
  encoder_->SetKeyring(config_.keyring.get());
  absl::Status s = logger_.Reopen(LogOptionsOf(config_.spec));
  if (!s.ok()) logger_.Warn(absl::StrCat("keeping the old log destinations: ", s.message()));
  membership_->Reconfigure(MembershipConfigOf(config_), now);
  (void)groups_->Reconfigure(config_.spec);  // checked above
  groups_dirty_ = true;
  connectivity_->Reconfigure(ConnectivityConfigOf(config_), now);
  // The TLS files are re-read (and checked) off the loop; a failure keeps
  // the running certificates and is logged.
  if (api_ != nullptr) api_->ReloadTls(*api_options);
  last_send_error_log_.assign(config_.media.size(), -absl::InfiniteDuration());
  out_hb_.set_config_version(config_.spec.config_version());
  next_send_ = now;
  next_ping_ = pinger_ != nullptr && !connectivity_->Hosts().empty() ? now
                                                                      : absl::InfiniteDuration();
  Emit(v1::EVENT_KIND_CONFIG_RELOADED, "",
       absl::StrCat("spec reloaded: config version ", diff.old_version, " -> ", diff.new_version,
                    diff.media_changed ? " (media reopened)" : "",
                    diff.socket_changed
                        ? absl::StrCat("; the API socket stays ", old_socket, " (group ",
                                       old_group.empty() ? "the agent's" : old_group,
                                       ") until restart")
                        : ""),
       now);
}

void Agent::Impl::WatchAllMedia() {
  for (size_t i = 0; i < config_.media.size(); ++i) {
    if (config_.media[i]->fd() < 0) continue;  // could not reopen: said already
    absl::Status s = WatchMedium(*config_.media[i], i);
    if (!s.ok()) {
      logger_.Error(absl::StrCat("cannot watch ", config_.media[i]->description(),
                                 " again: ", s.message(), "; its heartbeats are not read"));
    }
  }
}

bool Agent::Impl::HandleSignals(MonoTime now) {
  bool keep_going = true;
  for (int signo : loop_->TakeSignals()) {
    if (signo == SIGHUP) {
      Reload(now);
    } else if (!leaving_ && !groups_->Idle()) {
      // Release the groups first, so that a peer takes them over at once
      // instead of after deadtime.
      leaving_ = true;
      leave_by_ = now + kLeaveLimit;
      groups_->Leave();
      groups_dirty_ = true;
      Emit(v1::EVENT_KIND_AGENT_STOPPING, local_node_,
           absl::StrCat("ha-agent stopping on ", strsignal(signo),
                        ": stopping its groups first (the same signal again stops at once)"),
           now);
    } else {
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

int Agent::Impl::Run() {
  GoRealtime();
  MonoTime now = MonotonicNow();
  next_send_ = now;
  next_publish_ = now;
  next_flush_ = now + kFlushEvery;
  next_floors_save_ = now + kSaveFloorsEvery;
  if (pinger_ != nullptr && !connectivity_->Hosts().empty()) next_ping_ = now;
  // Echoes go out every keepalive, but no more often than every 100 ms.
  const auto ping_interval = [this] {
    return std::max(config_.timing.keepalive, absl::Milliseconds(100));
  };
  constexpr int kMaxEvents = 16;
  uint64_t ready[kMaxEvents];
  bool running = true;
  while (running) {
    // Every dated frame that arrived so far is read before any deadline is
    // checked: no death is declared while its heartbeat sits unread.
    const bool pending = ReceiveDated();
    now = MonotonicNow();
    membership_now_ = now;
    if (now >= next_send_) {
      SendHeartbeat(now);
      next_send_ += config_.timing.keepalive;
      if (next_send_ <= now) next_send_ = now + config_.timing.keepalive;
    }
    if (now >= next_ping_) {
      SendPings();
      next_ping_ = now + ping_interval();
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
    if (groups_dirty_ || groups_->NextDeadline() <= now) RunGroups(now);
    if (announcements_.Next() <= now) SendAnnouncements(now);
    if (leaving_ && ((groups_->Idle() && work_.empty()) || now >= leave_by_)) {
      if (!groups_->Idle()) {
        logger_.Error("groups still active after the shutdown limit; stopping anyway");
      }
      running = false;
      continue;
    }
    if (now >= next_flush_) Flush(now);
    if (now >= next_floors_save_) {
      SaveFloors(/*now_here=*/false);
      next_floors_save_ = now + kSaveFloorsEvery;
    }
    if (!events_.empty()) {
      out_hb_.set_connectivity_score(score);
      EmitPending();
      Publish(now);
    } else if (now >= next_publish_) {
      Publish(now);
    }
    MonoTime deadline = std::min({next_send_, next_ping_, membership_->NextDeadline(),
                                  connectivity_->NextDeadline(), groups_->NextDeadline(),
                                  announcements_.Next(), leave_by_, one_way_check_,
                                  std::min({next_publish_, next_flush_, next_floors_save_}) +
                                      kChoreSlack});
    if (groups_dirty_) deadline = now;
    // While a group waits for a release (or an operation is under way)
    // every heartbeat is read as it comes.
    const bool quiet =
        (pending || deadline - MonotonicNow() <= kMaxReceiveDelay) && !groups_->Urgent();
    const bool had_timerfd = loop_->uses_timerfd();
    absl::StatusOr<int> n = loop_->Wait(deadline, pending, quiet, ready, kMaxEvents);
    if (!n.ok()) {
      logger_.Error(std::string(n.status().message()));
      return 1;
    }
    if (!had_timerfd && loop_->uses_timerfd()) {
      logger_.Debug("epoll_pwait2 is not available: the loop waits with a timerfd");
    }
    now = MonotonicNow();
    for (int i = 0; i < *n; ++i) {
      const uint64_t tag = ready[i];
      if (tag == EventLoop::kSignalTag) {
        running = HandleSignals(now) && running;
      } else if (tag == kOperationsTag) {
        TakeOperations(now);
      } else if (tag == kExecutorTag) {
        TakeCompletedWork(now);
      } else if (tag == kPingTag) {
        ReceivePings(now);
      } else if (tag < config_.media.size() && !config_.media[tag]->dates_arrivals()) {
        ReceiveFrom(tag, now);
      }
      // Media that date their frames are read at the top of the loop.
    }
  }
  // Work still running ends first (the destructor would wait for it
  // anyway), so a floors save under way cannot race the last one.
  executor_.reset();
  floors_saving_ = false;
  SaveFloors(/*now_here=*/true);
  Publish(MonotonicNow());
  api_->Shutdown();
  return 0;
}

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options, Logger& logger) {
  auto impl = std::make_unique<Impl>(options, logger);
  absl::Status s = impl->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

int Agent::Run() { return impl_->Run(); }

}  // namespace hacluster::agent
