#include "agent/node/agent.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/diagnostics.h"
#include "agent/config/yaml_codec.h"
#include "agent/core/clock.h"
#include "agent/log/logger.h"
#include "agent/media/medium.h"
#include "agent/membership/connectivity.h"
#include "agent/membership/membership.h"
#include "agent/node/release_pages.h"
#include "agent/placement/placement.h"
#include "agent/node/settings.h"
#include "agent/ping/pinger.h"
#include "agent/service/api_server.h"
#include "agent/service/event_hub.h"
#include "agent/service/operations.h"
#include "agent/state/state_dir.h"
#include "agent/wire/codec.h"
#include "agent/wire/drop_log.h"
#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"
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

LogLevel LevelOf(v1::EventKind kind) {
  switch (kind) {
    case v1::EVENT_KIND_NODE_DEAD:
    case v1::EVENT_KIND_LINK_DEAD:
    case v1::EVENT_KIND_PING_DEAD:
    case v1::EVENT_KIND_HEARTBEAT_LATE:
    case v1::EVENT_KIND_CONFIG_REJECTED:
    case v1::EVENT_KIND_AUTH_FAILURE:
      return LogLevel::kWarning;
    default:
      return LogLevel::kInfo;
  }
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

// Everything the spec decides, rebuilt as one piece at start and on SIGHUP
// so that a reload is applied whole or not at all.
struct Config {
  spec::v1::ClusterSpec spec;
  EffectiveTiming timing;
  std::unique_ptr<wire::Keyring> keyring;
  std::vector<std::unique_ptr<media::Medium>> media;
};

class Agent::Impl {
 public:
  Impl(const AgentOptions& options, Logger& logger) : options_(options), logger_(logger) {}
  ~Impl();

  absl::Status Init();
  int Run();

 private:
  absl::StatusOr<Config> BuildConfig(spec::v1::ClusterSpec spec, const Config* current);
  MembershipConfig MembershipConfigOf(const Config& c) const;
  ConnectivityConfig ConnectivityConfigOf(const Config& c) const;
  // Adds `fd` to the loop's epoll set, and to the quiet one unless
  // `loud_only`.
  absl::Status Watch(int fd, uint64_t tag, bool loud_only = false);
  absl::Status WatchMedium(const media::Medium& medium, size_t index);
  void Unwatch(int fd);
  void GoRealtime();
  // Waits for the fds until `deadline` (not at all when `poll_only`);
  // epoll_wait's result.
  int Wait(MonoTime deadline, bool poll_only, epoll_event* ready, int max_ready);
  // A timerfd instead of epoll_pwait2's timeout, for kernels without it.
  absl::Status UseTimerFd();

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
  // Answers every submitted standby/takeover/move: this agent does not run
  // resource groups yet, so each is refused with that reason at once
  // instead of being left to time out.
  void RefuseOperations();
  void OnDrop(absl::string_view source, const wire::PacketCheck::Result& r, MonoTime now);
  void Flush(MonoTime now);
  void Reload(MonoTime now);
  // Logs and publishes the pending events_, then clears them.
  void EmitPending();
  void Emit(v1::EventKind kind, std::string node, std::string reason, MonoTime now);
  void Publish(MonoTime now);
  void ArmTimer(MonoTime deadline);
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
  Operations ops_;
  std::unique_ptr<ApiServer> api_;

  // Two epoll sets over the same fds, but for the media that date their
  // frames, which only the loud one has: the loop waits on the quiet one
  // when it is due to wake within kMaxReceiveDelay anyway.
  int epoll_fd_ = -1;
  int quiet_epoll_fd_ = -1;
  int timer_fd_ = -1;  // only where epoll_pwait2 is missing
  int signal_fd_ = -1;
  MonoTime armed_ = absl::InfiniteDuration();
  // The time of the last membership Tick: frames read later are dated no
  // earlier, so that membership never sees time go back.
  MonoTime membership_now_;
  // The connectivity score last given to membership.
  std::optional<uint32_t> local_score_;

  MonoTime start_;
  absl::Time start_wall_;
  MonoTime next_send_;
  MonoTime next_ping_ = absl::InfiniteDuration();
  MonoTime next_publish_;
  MonoTime next_flush_;
  std::vector<MonoTime> last_send_error_log_;

  wire::v1::Heartbeat out_hb_;
  std::string out_frame_;
  wire::v1::Heartbeat in_hb_;
  std::vector<v1::Event> events_;
};

// Tags of epoll registrations: media are 0..N-1.
constexpr uint64_t kTimerTag = 1u << 20;
constexpr uint64_t kSignalTag = kTimerTag + 1;
constexpr uint64_t kPingTag = kTimerTag + 2;
constexpr uint64_t kOperationsTag = kTimerTag + 3;

Agent::Impl::~Impl() {
  if (api_ != nullptr) api_->Shutdown();
  for (int fd : {epoll_fd_, quiet_epoll_fd_, timer_fd_, signal_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::StatusOr<Config> Agent::Impl::BuildConfig(spec::v1::ClusterSpec spec,
                                                const Config* current) {
  Config c;
  c.timing = TimingOf(spec);
  auto keyring = wire::Keyring::FromSpec(spec.auth(), DirOf(options_.config_path));
  if (!keyring.ok()) return keyring.status();
  c.keyring = std::make_unique<wire::Keyring>(*std::move(keyring));
  bool same_media = current != nullptr && current->spec.media_size() == spec.media_size();
  if (same_media) {
    for (int i = 0; i < spec.media_size(); ++i) {
      same_media = same_media && current->spec.media(i).SerializeAsString() ==
                                     spec.media(i).SerializeAsString();
    }
    // Addresses decide where ucast media bind and send.
    for (int i = 0; same_media && i < spec.nodes_size(); ++i) {
      same_media = i < current->spec.nodes_size() &&
                   current->spec.nodes(i).addresses().size() == spec.nodes(i).addresses().size() &&
                   std::equal(spec.nodes(i).addresses().begin(), spec.nodes(i).addresses().end(),
                              current->spec.nodes(i).addresses().begin());
    }
    same_media = same_media && current->spec.udp_port() == spec.udp_port() &&
                 current->spec.nodes_size() == spec.nodes_size();
  }
  if (!same_media) {
    auto media = media::MakeMedia(spec, local_node_);
    if (!media.ok()) return media.status();
    c.media = *std::move(media);
  }
  c.spec = std::move(spec);
  return c;
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

absl::Status Agent::Impl::Watch(int fd, uint64_t tag, bool loud_only) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 ||
      (!loud_only && epoll_ctl(quiet_epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Agent::Impl::WatchMedium(const media::Medium& medium, size_t index) {
  return Watch(medium.fd(), index, /*loud_only=*/medium.dates_arrivals());
}

void Agent::Impl::Unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  epoll_ctl(quiet_epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT for dated media
}

absl::Status Agent::Impl::UseTimerFd() {
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) {
    return absl::InternalError(absl::StrCat("cannot create a timerfd: ", strerror(errno)));
  }
  return Watch(timer_fd_, kTimerTag);
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

  auto config = BuildConfig(*std::move(spec), nullptr);
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

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  quiet_epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (epoll_fd_ < 0 || quiet_epoll_fd_ < 0 || signal_fd_ < 0) {
    return absl::InternalError(absl::StrCat("cannot set up the event loop: ", strerror(errno)));
  }
  for (size_t i = 0; i < config_.media.size(); ++i) {
    s = WatchMedium(*config_.media[i], i);
    if (!s.ok()) return s;
  }
  if (pinger_ != nullptr && !(s = Watch(pinger_->fd(), kPingTag)).ok()) return s;
  if (!(s = Watch(ops_.fd(), kOperationsTag)).ok()) return s;
  if (!(s = Watch(signal_fd_, kSignalTag)).ok()) return s;

  start_ = MonotonicNow();
  start_wall_ = absl::Now();
  membership_now_ = start_;
  check_ = std::make_unique<wire::PacketCheck>(config_.spec.cluster_name(), local_node_,
                                               config_.keyring.get());
  encoder_ = std::make_unique<wire::FrameCodec>(config_.keyring.get());
  membership_ = std::make_unique<Membership>(MembershipConfigOf(config_), generation_, start_);
  connectivity_ = std::make_unique<Connectivity>(ConnectivityConfigOf(config_), start_);
  last_send_error_log_.assign(config_.media.size(), -absl::InfiniteDuration());

  out_hb_.set_cluster_name(config_.spec.cluster_name());
  out_hb_.set_node(local_node_);
  out_hb_.set_generation(generation_);
  out_hb_.set_config_version(config_.spec.config_version());

  Publish(start_);
  auto api = ApiServer::Start(ApiSocketPath(config_.spec, options_.state_dir), hub_, ops_);
  if (!api.ok()) return api.status();
  api_ = *std::move(api);

  std::vector<std::string> media_text;
  for (const auto& m : config_.media) media_text.push_back(m->description());
  Emit(v1::EVENT_KIND_AGENT_STARTED, local_node_,
       absl::StrCat("ha-agent started as node ", local_node_, " of cluster ",
                    config_.spec.cluster_name(), " (generation ", generation_,
                    ", config version ", config_.spec.config_version(), "); media: ",
                    absl::StrJoin(media_text, "; "), "; API on ", api_->socket_path()),
       start_);
  return absl::OkStatus();
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
  for (v1::Event& e : events_) {
    MonoTime at = absl::Nanoseconds(e.monotonic_ns());
    *e.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(WallTimeOf(at)));
    e.set_local_generation(generation_);
    logger_.Log(LevelOf(e.kind()), e.reason());
    if (e.kind() == v1::EVENT_KIND_NODE_DEAD) check_->ForgetNode(e.node());
    hub_.Emit(std::move(e));
  }
  events_.clear();
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
  // Addresses and labels come from the spec.
  for (auto& n : *st.mutable_nodes()) {
    if (n.local()) n.set_config_version(config_.spec.config_version());
    for (const auto& sn : config_.spec.nodes()) {
      if (sn.name() != n.name()) continue;
      n.mutable_addresses()->CopyFrom(sn.addresses());
      n.mutable_labels()->insert(sn.labels().begin(), sn.labels().end());
    }
  }
  // Groups: none runs yet (the loop does not run resource groups), so each
  // is shown stopped with no holder; quorum as placement computes it.
  ClusterView view;
  view.spec = &config_.spec;
  for (const auto& n : st.nodes()) {
    NodeView nv;
    nv.name = n.name();
    nv.alive = n.state() == v1::NODE_STATE_UP;
    nv.score = n.connectivity_score();
    view.nodes.push_back(std::move(nv));
  }
  Quorum quorum = QuorumOf(view);
  st.set_has_quorum(quorum.ok);
  st.set_quorum_reason(quorum.reason);
  for (const auto& g : config_.spec.groups()) {
    v1::GroupStatus* gs = st.add_groups();
    gs->set_name(g.name());
    gs->set_preferred_node(g.preferred_node());
    gs->set_state(v1::GROUP_STATE_STOPPED);
    for (const auto& r : g.resources()) {
      if (r.has_ip()) gs->add_addresses(r.ip().address());
    }
  }
  hub_.PublishStatus(std::move(st), now);
  next_publish_ = now + kPublishEvery;
}

void Agent::Impl::SendHeartbeat(MonoTime now) {
  out_hb_.set_seq(out_hb_.seq() + 1);
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

void Agent::Impl::RefuseOperations() {
  for (const OperationRequest& r : ops_.Take()) {
    v1::OperationResponse answer;
    answer.set_state(v1::OPERATION_STATE_FAILED);
    answer.set_message(
        "refused: this ha-agent does not run resource groups yet (placement and resources "
        "are not yet part of its loop)");
    ops_.Update(r.id, std::move(answer));
  }
}

void Agent::Impl::Flush(MonoTime now) {
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
  auto spec = LoadSpec(options_.config_path, logger_);
  if (!spec.ok()) return reject(spec.status().message());
  auto node = LocalNodeName(*spec, local_node_);
  if (!node.ok()) return reject(node.status().message());
  if (spec->cluster_name() != config_.spec.cluster_name()) {
    return reject(absl::StrCat("cluster_name changed from ", config_.spec.cluster_name(), " to ",
                               spec->cluster_name(), "; restart the agent to change it"));
  }
  std::string old_socket = ApiSocketPath(config_.spec, options_.state_dir);
  std::string new_socket = ApiSocketPath(*spec, options_.state_dir);
  auto config = BuildConfig(*std::move(spec), &config_);
  if (!config.ok()) return reject(config.status().message());
  if (PingTargets(config->spec).size() > 0 && pinger_ == nullptr) {
    auto pinger = ping::Pinger::Open();
    if (!pinger.ok()) return reject(pinger.status().message());
    pinger_ = *std::move(pinger);
    (void)Watch(pinger_->fd(), kPingTag);
  }
  bool new_media = !config->media.empty() || config_.media.empty();
  if (new_media) {
    // The new media may bind the same addresses, ports and devices as the
    // old ones: close the old ones first, and open them again if the new
    // ones can't all be opened.
    for (const auto& m : config_.media) Unwatch(m->fd());
    config_.media.clear();
    absl::Status opened = absl::OkStatus();
    for (auto& m : config->media) {
      opened = m->Open();
      if (!opened.ok()) break;
    }
    if (!opened.ok()) {
      config->media.clear();
      auto old_media = media::MakeMedia(config_.spec, local_node_);
      if (old_media.ok()) config_.media = *std::move(old_media);
      for (size_t i = 0; i < config_.media.size(); ++i) {
        absl::Status s = config_.media[i]->Open();
        if (!s.ok()) {
          logger_.Error(absl::StrCat("cannot reopen the running medium: ", s.message()));
          continue;
        }
        (void)WatchMedium(*config_.media[i], i);
      }
      return reject(opened.message());
    }
  }
  // From here on nothing can fail: apply it whole.
  absl::Status s = logger_.Reopen(LogOptionsOf(config->spec));
  if (!s.ok()) logger_.Warn(absl::StrCat("keeping the old log destinations: ", s.message()));
  if (new_media) {
    for (size_t i = 0; i < config->media.size(); ++i) (void)WatchMedium(*config->media[i], i);
  } else {
    config->media = std::move(config_.media);
  }
  uint64_t old_version = config_.spec.config_version();
  config_ = *std::move(config);
  check_->UpdateKeyring(config_.keyring.get());
  encoder_->SetKeyring(config_.keyring.get());
  membership_->Reconfigure(MembershipConfigOf(config_), now);
  connectivity_->Reconfigure(ConnectivityConfigOf(config_), now);
  last_send_error_log_.assign(config_.media.size(), -absl::InfiniteDuration());
  out_hb_.set_config_version(config_.spec.config_version());
  next_send_ = now;
  next_ping_ = pinger_ != nullptr && !connectivity_->Hosts().empty() ? now
                                                                      : absl::InfiniteDuration();
  Emit(v1::EVENT_KIND_CONFIG_RELOADED, "",
       absl::StrCat("spec reloaded: config version ", old_version, " -> ",
                    config_.spec.config_version(), new_media ? " (media reopened)" : "",
                    old_socket != new_socket
                        ? absl::StrCat("; the API stays on ", old_socket, " until restart")
                        : ""),
       now);
}

bool Agent::Impl::HandleSignals(MonoTime now) {
  bool keep_going = true;
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo == SIGHUP) {
      Reload(now);
    } else {
      Emit(v1::EVENT_KIND_AGENT_STOPPING, local_node_,
           absl::StrCat("ha-agent stopping on ", strsignal(info.ssi_signo)), now);
      keep_going = false;
    }
  }
  return keep_going;
}

void Agent::Impl::ArmTimer(MonoTime deadline) {
  if (deadline == armed_) return;
  armed_ = deadline;
  itimerspec spec{};
  if (deadline != absl::InfiniteDuration()) {
    // An absolute time of 0 would disarm the timer.
    spec.it_value = absl::ToTimespec(std::max(deadline, absl::Nanoseconds(1)));
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

int Agent::Impl::Wait(MonoTime deadline, bool poll_only, epoll_event* ready, int max_ready) {
  const absl::Duration left =
      poll_only ? absl::ZeroDuration() : std::max(deadline - MonotonicNow(), absl::ZeroDuration());
  const int epoll_fd = left <= kMaxReceiveDelay ? quiet_epoll_fd_ : epoll_fd_;
  if (timer_fd_ < 0) {
    timespec timeout = absl::ToTimespec(left);
    int n = epoll_pwait2(epoll_fd, ready, max_ready,
                         left == absl::InfiniteDuration() ? nullptr : &timeout, nullptr);
    // Kernels before 5.11 lack it; some seccomp filters refuse it.
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    absl::Status s = UseTimerFd();
    if (!s.ok()) {
      logger_.Error(s.message());
      errno = EINVAL;
      return -1;
    }
    logger_.Debug("epoll_pwait2 is not available: the loop waits with a timerfd");
  }
  ArmTimer(deadline);
  return epoll_wait(epoll_fd, ready, max_ready, poll_only ? 0 : -1);
}

int Agent::Impl::Run() {
  GoRealtime();
  MonoTime now = MonotonicNow();
  next_send_ = now;
  next_publish_ = now;
  next_flush_ = now + kFlushEvery;
  if (pinger_ != nullptr && !connectivity_->Hosts().empty()) next_ping_ = now;
  // Echoes go out every keepalive, but no more often than every 100 ms.
  const auto ping_interval = [this] {
    return std::max(config_.timing.keepalive, absl::Milliseconds(100));
  };
  constexpr int kMaxEvents = 16;
  epoll_event ready[kMaxEvents];
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
    const uint32_t score = connectivity_->Score();
    if (local_score_ != score) {
      membership_->SetLocalConnectivity(score, now, &events_);
      local_score_ = score;
    }
    if (now >= next_flush_) Flush(now);
    if (!events_.empty()) {
      out_hb_.set_connectivity_score(score);
      EmitPending();
      Publish(now);
    } else if (now >= next_publish_) {
      Publish(now);
    }
    MonoTime deadline = std::min({next_send_, next_ping_, membership_->NextDeadline(),
                                  connectivity_->NextDeadline(),
                                  std::min(next_publish_, next_flush_) + kChoreSlack});
    int n = Wait(deadline, pending, ready, kMaxEvents);
    if (n < 0) {
      if (errno == EINTR) continue;
      logger_.Error(absl::StrCat("epoll_wait: ", strerror(errno)));
      return 1;
    }
    now = MonotonicNow();
    for (int i = 0; i < n; ++i) {
      uint64_t tag = ready[i].data.u64;
      if (tag == kTimerTag) {
        uint64_t expirations;
        (void)!read(timer_fd_, &expirations, sizeof(expirations));
        armed_ = absl::InfiniteDuration();
      } else if (tag == kSignalTag) {
        running = HandleSignals(now) && running;
      } else if (tag == kOperationsTag) {
        RefuseOperations();
      } else if (tag == kPingTag) {
        ReceivePings(now);
      } else if (tag < config_.media.size() && !config_.media[tag]->dates_arrivals()) {
        ReceiveFrom(tag, now);
      }
      // Media that date their frames are read at the top of the loop.
    }
  }
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
