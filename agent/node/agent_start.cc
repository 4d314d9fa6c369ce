#include "agent/node/agent_loop.h"

#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "agent/config/diagnostics.h"
#include "agent/config/yaml_codec.h"
#include "controller/metrics.h"

namespace hacluster::agent {

std::string AgentLoop::DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

LogOptions AgentLoop::LogOptionsOf(const spec::v1::ClusterSpec& spec) {
  LogOptions o;
  o.file = spec.logging().file();
  o.syslog_facility = spec.logging().syslog_facility();
  o.debug_file = spec.logging().debug_file();
  return o;
}

absl::StatusOr<spec::v1::ClusterSpec> AgentLoop::LoadSpec(const std::string& path, Logger& logger) {
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

bool AgentLoop::HasCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

AgentLoop::~AgentLoop() {
  if (api_ != nullptr) api_->Shutdown();
}

MembershipConfig AgentLoop::MembershipConfigOf(const Config& c) const {
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

ConnectivityConfig AgentLoop::ConnectivityConfigOf(const Config& c) const {
  ConnectivityConfig cc;
  for (const auto& h : c.spec.connectivity().ping_nodes()) cc.ping_nodes.push_back(h);
  for (const auto& g : c.spec.connectivity().ping_groups()) {
    cc.ping_groups.emplace_back(g.name(),
                                std::vector<std::string>(g.hosts().begin(), g.hosts().end()));
  }
  cc.deadping = c.timing.deadping;
  return cc;
}

absl::Status AgentLoop::WatchMedium(const media::Medium& medium, size_t index) {
  return loop_->Watch(medium.fd(), index, /*loud_only=*/medium.dates_arrivals());
}

void AgentLoop::WatchAllMedia() {
  for (size_t i = 0; i < config_.media.size(); ++i) {
    if (config_.media[i]->fd() < 0) continue;  // could not reopen: said already
    absl::Status s = WatchMedium(*config_.media[i], i);
    if (!s.ok()) {
      logger_.Error(absl::StrCat("cannot watch ", config_.media[i]->description(),
                                 " again: ", s.message(), "; its heartbeats are not read"));
    }
  }
}

absl::Status AgentLoop::Init() {
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
                            /*make_media=*/true, make_media_);
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

  // On the heartbeat3 wire the generation is Heartbeat's: at least the
  // start time in seconds, as the daemon's own, so that a Heartbeat peer
  // that knew this node as a Heartbeat node takes it as a restart, not as
  // a replay. The native wire keeps the same number after a switch.
  auto generation = state_dir_->BumpGeneration(
      config_.spec.wire() == spec::v1::WIRE_FORMAT_HEARTBEAT3
          ? static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixSeconds(absl::Now())))
          : 0);
  if (!generation.ok()) return generation.status();
  generation_ = *generation;
  publisher_.set_generation(generation_);

  // Every respawn program can run (its user exists, its program is
  // there): checked before anything is claimed; started by Start.
  auto respawn = ResolveRespawn(config_.spec);
  if (!respawn.ok()) return respawn.status();
  initial_respawn_ = *std::move(respawn);
  respawn_ = std::make_unique<RespawnSupervisor>(logger_, clock_);
  if (!(s = respawn_->Init()).ok()) return s;
  auto loop = EventLoop::Create(clock_);
  if (!loop.ok()) return loop.status();
  loop_ = *std::move(loop);
  for (size_t i = 0; i < config_.media.size(); ++i) {
    s = WatchMedium(*config_.media[i], i);
    if (!s.ok()) return s;
  }
  if (pinger_ != nullptr && !(s = loop_->Watch(pinger_->fd(), kPingTag)).ok()) return s;
  if (!(s = loop_->Watch(ops_.fd(), kOperationsTag)).ok()) return s;
  if (!(s = loop_->Watch(respawn_->fd(), kRespawnTag)).ok()) return s;
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

  start_ = clock_.Now();
  start_wall_ = absl::Now();
  membership_now_ = start_;
  check_ = std::make_unique<wire::PacketCheck>(config_.spec.cluster_name(), local_node_,
                                               config_.keyring.get());
  encoder_ = std::make_unique<wire::FrameCodec>(config_.keyring.get());
  if (!(s = Hb3Start()).ok()) return s;
  if (!(s = LoadFloors()).ok()) return s;
  membership_ = std::make_unique<Membership>(MembershipConfigOf(config_), generation_, start_);
  connectivity_ = std::make_unique<Connectivity>(ConnectivityConfigOf(config_), start_);
  last_send_error_log_.assign(config_.media.size(), -absl::InfiniteDuration());
  groups_ = std::make_unique<GroupController>(config_.spec, local_node_);
  groups_->SetHandoffWait(HandoffWait(config_.timing));
  // A Heartbeat 3 peer starts what it is given only through its own
  // hand-over: a planned move waits for its answer.
  groups_->SetHandoffWaitsForTarget(hb3_ != nullptr);
  // The first heartbeat already carries the score placement compares: a
  // peer hearing 0 would take groups that belong here.
  local_score_ = connectivity_->PlacementScore();
  membership_->SetLocalConnectivity(*local_score_, start_, &events_);

  out_hb_.set_cluster_name(config_.spec.cluster_name());
  out_hb_.set_node(local_node_);
  out_hb_.set_generation(generation_);
  if (auto marker = state_dir_->ReadFile(kAppliedSpecFile); marker.ok() && marker->has_value()) {
    applied_hash_ = **marker;
  }
  NoteLocalSpec(start_);
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
  // Metrics are not worth a node that does not start: an error is said
  // loudly and the agent runs without them.
  if (absl::Status m = StartMetrics(); !m.ok()) {
    logger_.Error(absl::StrCat("no metrics endpoint: ", m.message()));
    Emit(v1::EVENT_KIND_CONFIG_REJECTED, "",
         absl::StrCat("api.metrics_listen not served: ", m.message()), start_);
    metrics_.clear();
  }

  // The watchdog last: nothing after this can fail the start, so a start
  // that fails never leaves the device armed. The first keep-alive goes at
  // once; the loop's follow from its first turn.
  if (absl::Status w = OpenWatchdog(); !w.ok()) return w;

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

absl::Status AgentLoop::OpenWatchdog() {
  if (!config_.spec.watchdog_device().empty()) {
    auto watchdog = Watchdog::Open(config_.spec.watchdog_device(), config_.timing.deadtime);
    if (!watchdog.ok()) return watchdog.status();
    watchdog_ = *std::move(watchdog);
    logger_.Info(absl::StrCat(
        "watchdog ", watchdog_->device(), ": ",
        watchdog_->timeout() > absl::ZeroDuration()
            ? absl::StrCat("timeout ", absl::FormatDuration(watchdog_->timeout()))
            : std::string("timeout as the device has it"),
        " (", watchdog_->identity(), "); kept alive every ",
        absl::FormatDuration(watchdog_->KeepAliveInterval()), " by the heartbeat loop"));
    if (!watchdog_->is_watchdog()) {
      logger_.Warn(absl::StrCat("watchdog_device ", watchdog_->device(),
                                " answers no watchdog ioctl: it may not be a watchdog at all "
                                "(its timeout is unknown; it gets keep-alive writes)"));
    } else {
      if (!watchdog_->magic_close()) {
        logger_.Warn(absl::StrCat("watchdog_device ", watchdog_->device(),
                                  " has no magic close: any close stops it, so an agent that "
                                  "crashes does not get the node reset"));
      }
      if (!watchdog_->settable_timeout()) {
        logger_.Warn(absl::StrCat("watchdog_device ", watchdog_->device(),
                                  " cannot set its timeout from deadtime; it keeps ",
                                  absl::FormatDuration(watchdog_->timeout())));
      }
    }
    keepalive_every_ = watchdog_->KeepAliveInterval();
    if (absl::Status k = watchdog_->KeepAlive(); !k.ok()) logger_.Error(std::string(k.message()));
  }
  if (notifier_.KeepAliveInterval() > absl::ZeroDuration()) {
    keepalive_every_ = std::min(keepalive_every_, notifier_.KeepAliveInterval());
    logger_.Info(absl::StrCat("systemd watchdog: ", absl::FormatDuration(notifier_.watchdog_timeout()),
                              "; WATCHDOG=1 every ",
                              absl::FormatDuration(notifier_.KeepAliveInterval()),
                              " from the heartbeat loop"));
  }

  return absl::OkStatus();
}

absl::Status AgentLoop::StartMetrics() {
  metrics_listen_ = config_.spec.api().metrics_listen();
  auto addresses = MetricsListenAddresses(config_.spec, local_node_);
  if (!addresses.ok()) return addresses.status();
  for (const std::string& address : *addresses) {
    HttpsOptions o;
    if (!ParseHostPort(address, &o)) {
      return absl::InvalidArgumentError(absl::StrCat("api.metrics_listen: bad address ", address));
    }
    o.tls_cert = config_.spec.api().tls_cert();
    o.tls_key = config_.spec.api().tls_key();
    o.tls_client_ca = config_.spec.api().tls_client_ca();
    o.threads = 2;
    auto server = std::make_unique<HttpsServer>();
    absl::Status s = server->Init(o);
    if (!s.ok()) return absl::FailedPreconditionError(absl::StrCat("api.metrics_listen: ", s.message()));
    server->server().Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      controller::MetricsWriter w;
      std::shared_ptr<const v1::GetStatusResponse> st = hub_.Snapshot();
      if (st != nullptr) w.AddAgentStatus(st->cluster_name(), hub_.Status(MonotonicNow()));
      res.set_content(w.Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    s = server->Listen();
    if (!s.ok()) return absl::FailedPreconditionError(absl::StrCat("api.metrics_listen: ", s.message()));
    logger_.Info(absl::StrCat("metrics: Prometheus text on https://", address, "/metrics"));
    metrics_.push_back(std::move(server));
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiOptions> AgentLoop::ApiOptionsOf(const spec::v1::ClusterSpec& spec) const {
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

void AgentLoop::GoRealtime() {
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

absl::Status AgentLoop::LoadFloors() {
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

void AgentLoop::SaveFloors(bool now_here) {
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

}  // namespace hacluster::agent
