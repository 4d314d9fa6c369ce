#include "agent/service/api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/service/server_list.h"
#include "agent/tls/certificates.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_posix.h"

namespace hacluster::agent {
namespace {

absl::Duration DurationOf(const google::protobuf::Duration& d, absl::Duration fallback) {
  if (d.seconds() == 0 && d.nanos() == 0) return fallback;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// Operations wait this long unless the request says otherwise.
constexpr absl::Duration kDefaultTimeout = absl::Seconds(30);
// A timeout beyond this is refused (a caller's mistake, e.g. ms for s).
constexpr absl::Duration kMaxTimeout = absl::Hours(1);

// Bounds on what a client may ask of the API (its requests are tiny).
constexpr int kMaxMessageBytes = 64 * 1024;
constexpr int kMaxStreamsPerConnection = 32;
constexpr int kHandshakeTimeoutMs = 3000;
constexpr int kMaxThreads = 32;
constexpr int kMaxIdleMs = 10 * 60 * 1000;

const char* ScopeWord(v1::StandbyScope s) {
  switch (s) {
    case v1::STANDBY_SCOPE_FOREIGN:
      return "foreign";
    case v1::STANDBY_SCOPE_LOCAL:
      return "local";
    case v1::STANDBY_SCOPE_FAILBACK:
      return "failback";
    default:
      return "all";
  }
}

void BoundRequests(grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxStreamsPerConnection);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, kHandshakeTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxIdleMs);
  // No channelz: the agent serves no channelz service, and its per-call
  // counters cost every call.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
  grpc::ResourceQuota quota("ha-agent-api");
  quota.SetMaxThreads(kMaxThreads);
  builder.SetResourceQuota(quota);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 8);
  // An idle poller wakes when its wait times out (default every second):
  // an idle agent's API threads sleep until a call or the shutdown comes.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::CQ_TIMEOUT_MSEC, 60000);
}

// The calling thread back to normal priority: threads it creates (gRPC's)
// inherit it, and must never run at the heartbeat loop's.
void NormalPriority() {
  sched_param param{};
  param.sched_priority = 0;
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
}

}  // namespace

// ------------------------------------------------------------ handlers

grpc::Status AgentService::Read(grpc::ServerContext* context, const char* call) {
  Caller caller;
  return auth_.Authorize(context, ApiRole::kReader, call, &caller);
}

grpc::Status AgentService::GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest*,
                                     v1::GetStatusResponse* response) {
  grpc::Status allowed = Read(context, "status");
  if (!allowed.ok()) return allowed;
  *response = hub_.Status(MonotonicNow());
  return grpc::Status::OK;
}

grpc::Status AgentService::WatchEvents(grpc::ServerContext* context,
                                       const v1::WatchEventsRequest* request,
                                       grpc::ServerWriter<v1::Event>* writer) {
  grpc::Status allowed = Read(context, "watch");
  if (!allowed.ok()) return allowed;
  uint64_t cursor = request->only_new() ? hub_.LastId() : request->after_id();
  std::vector<v1::Event> batch;
  while (!context->IsCancelled()) {
    batch.clear();
    // A short wait so a cancelled call is noticed soon.
    EventHub::WaitResult r = hub_.Next(&cursor, absl::Milliseconds(250), &batch);
    for (const v1::Event& e : batch) {
      if (!writer->Write(e)) return grpc::Status::OK;  // the client went away
    }
    if (r == EventHub::WaitResult::kClosed) return grpc::Status::OK;
  }
  return grpc::Status::CANCELLED;
}

grpc::Status AgentService::Write(grpc::ServerContext* context, const std::string& call,
                                 OperationRequest request,
                                 const google::protobuf::Duration& timeout_proto, bool no_wait,
                                 v1::OperationResponse* response) {
  Caller caller;
  grpc::Status allowed = auth_.Authorize(context, ApiRole::kAdmin, call, &caller);
  if (!allowed.ok()) return allowed;
  auto answer = [&](grpc::Status s) {
    const bool ok = s.ok() && response->state() != v1::OPERATION_STATE_FAILED;
    auth_.AuditResult(caller, call, ok,
                      s.ok() ? absl::StrCat(v1::OperationState_Name(response->state()), " (",
                                            "operation ", response->operation_id(), "): ",
                                            response->message())
                             : absl::StrCat("error: ", s.error_message()));
    return s;
  };
  absl::Duration timeout = DurationOf(timeout_proto, kDefaultTimeout);
  if (timeout < absl::ZeroDuration() || timeout > kMaxTimeout) {
    return answer(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("timeout ", absl::FormatDuration(timeout), " is outside 0 to 1h")));
  }
  absl::StatusOr<uint64_t> id = ops_.Submit(std::move(request));
  if (!id.ok()) {
    return answer(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(id.status().message())));
  }
  std::optional<v1::OperationResponse> r =
      ops_.Wait(*id, no_wait ? absl::ZeroDuration() : timeout);
  if (!r.has_value()) return answer(grpc::Status(grpc::StatusCode::INTERNAL, "operation lost"));
  *response = *std::move(r);
  return answer(grpc::Status::OK);
}

grpc::Status AgentService::RefuseWrite(grpc::ServerContext* context, const std::string& call,
                                       const std::string& why) {
  Caller caller;
  grpc::Status allowed = auth_.Authorize(context, ApiRole::kAdmin, call, &caller);
  if (!allowed.ok()) return allowed;
  auth_.AuditResult(caller, call, false, absl::StrCat("error: ", why));
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why);
}

grpc::Status AgentService::Standby(grpc::ServerContext* context, const v1::StandbyRequest* request,
                                   v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kStandby;
  r.scope = request->scope();
  return Write(context, absl::StrCat("standby scope=", ScopeWord(request->scope())), std::move(r),
               request->timeout(), request->no_wait(), response);
}

grpc::Status AgentService::Takeover(grpc::ServerContext* context,
                                    const v1::TakeoverRequest* request,
                                    v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kTakeover;
  r.scope = request->scope();
  return Write(context, absl::StrCat("takeover scope=", ScopeWord(request->scope())),
               std::move(r), request->timeout(), request->no_wait(), response);
}

grpc::Status AgentService::Move(grpc::ServerContext* context, const v1::MoveRequest* request,
                                v1::OperationResponse* response) {
  const std::string call =
      absl::StrCat("move group=", request->group(), " node=", request->node());
  if (request->group().empty() || request->node().empty()) {
    return RefuseWrite(context, call, "move needs a group and a node");
  }
  OperationRequest r;
  r.kind = OperationRequest::Kind::kMove;
  r.group = request->group();
  r.node = request->node();
  return Write(context, call, std::move(r), request->timeout(), request->no_wait(), response);
}

grpc::Status AgentService::GetOperation(grpc::ServerContext* context,
                                        const v1::GetOperationRequest* request,
                                        v1::OperationResponse* response) {
  grpc::Status allowed = Read(context, "operation");
  if (!allowed.ok()) return allowed;
  absl::Duration timeout = DurationOf(request->timeout(), absl::ZeroDuration());
  if (timeout < absl::ZeroDuration() || timeout > kMaxTimeout) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "timeout is outside 0 to 1h");
  }
  std::optional<v1::OperationResponse> r = ops_.Wait(request->operation_id(), timeout);
  if (!r.has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("no operation ", request->operation_id(),
                                     " (unknown, or too old to be kept)"));
  }
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status AgentService::Where(grpc::ServerContext* context, const v1::WhereRequest* request,
                                 v1::WhereResponse* response) {
  grpc::Status allowed = Read(context, "where");
  if (!allowed.ok()) return allowed;
  std::shared_ptr<const v1::GetStatusResponse> st = hub_.Snapshot();
  for (const v1::GroupStatus& g : st->groups()) {
    bool match = g.name() == request->target();
    for (const std::string& a : g.addresses()) match = match || a == request->target();
    if (!match) continue;
    response->set_target(request->target());
    response->set_group(g.name());
    response->set_holder(g.holder());
    response->set_state(g.state());
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      absl::StrCat("no group or virtual IP ", request->target(), " in the spec"));
}

grpc::Status AgentService::ListServers(grpc::ServerContext* context,
                                       const v1::ListServersRequest*,
                                       v1::ListServersResponse* response) {
  grpc::Status allowed = Read(context, "servers");
  if (!allowed.ok()) return allowed;
  *response = ServerList(*hub_.Snapshot());
  return grpc::Status::OK;
}

grpc::Status AgentService::GetSpec(grpc::ServerContext* context, const v1::GetSpecRequest*,
                                   v1::GetSpecResponse* response) {
  grpc::Status allowed = Read(context, "spec");
  if (!allowed.ok()) return allowed;
  *response = *hub_.Spec();
  return grpc::Status::OK;
}

grpc::Status AgentService::PrepareApply(grpc::ServerContext* context,
                                        const v1::PrepareApplyRequest* request,
                                        v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kPrepareApply;
  r.spec_yaml = request->spec_yaml();
  r.expect_version = request->expect_version();
  r.hold = DurationOf(request->hold(), absl::ZeroDuration());
  const std::string call = absl::StrCat("apply prepare (", request->spec_yaml().size(),
                                        " bytes, expect version ", request->expect_version(), ")");
  // (The spec's size is bounded by the API's message limit.)
  if (r.hold < absl::ZeroDuration() || r.hold > absl::Minutes(10)) {
    return RefuseWrite(context, call, "hold is outside 0 to 10m");
  }
  return Write(context, call, std::move(r), google::protobuf::Duration(), false, response);
}

grpc::Status AgentService::CommitApply(grpc::ServerContext* context,
                                       const v1::ApplyStepRequest* request,
                                       v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kCommitApply;
  r.apply_id = request->apply_id();
  return Write(context, absl::StrCat("apply commit ", request->apply_id()), std::move(r),
               google::protobuf::Duration(), false, response);
}

grpc::Status AgentService::AbortApply(grpc::ServerContext* context,
                                      const v1::ApplyStepRequest* request,
                                      v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kAbortApply;
  r.apply_id = request->apply_id();
  return Write(context, absl::StrCat("apply abort ", request->apply_id()), std::move(r),
               google::protobuf::Duration(), false, response);
}

// ------------------------------------------------------------ Unix socket

// Accepts the Unix socket's connections itself, to learn each peer's uid
// (SO_PEERCRED), and hands them to gRPC as "fd:N" channels.
class ApiServer::UnixAcceptor {
 public:
  UnixAcceptor(int listen_fd, grpc::Server* server, ApiAuth& auth)
      : listen_fd_(listen_fd), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        server_(server), auth_(auth), thread_([this] { Loop(); }) {}
  ~UnixAcceptor() {
    stop_ = true;
    uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
    thread_.join();
    close(listen_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      // The eventfd cannot lose a wake-up (it stays readable), so the wait
      // has no timeout and an idle agent's acceptor never wakes; without
      // one, a bounded wait still ends the loop.
      if (poll(fds, wake_fd_ >= 0 ? 2 : 1, wake_fd_ >= 0 ? -1 : 500) <= 0) continue;
      if (!(fds[0].revents & POLLIN)) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) continue;
      ucred cred{};
      socklen_t len = sizeof(cred);
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        close(fd);
        continue;
      }
      auth_.NoteUnixPeer(fd, cred.uid);
      grpc::AddInsecureChannelFromFd(server_, fd);  // gRPC owns fd now
    }
  }

  const int listen_fd_;
  const int wake_fd_;
  grpc::Server* const server_;
  ApiAuth& auth_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ------------------------------------------------------------ TLS

struct ApiServer::TlsServer {
  std::vector<std::string> addresses;
  std::vector<int> ports;
  std::unique_ptr<AgentService> service;
  std::unique_ptr<grpc::Server> server;
  std::string subject;
  absl::Time expires;
  // What it serves with: a reload that finds the same files and addresses
  // keeps it (its clients' connections stay up).
  std::string cert_pem, key_pem, ca_pem;
};

ApiServer::ApiServer(const ApiOptions& options, EventHub& hub, Operations& ops, Logger& logger)
    : options_(options), hub_(hub), ops_(ops), logger_(logger), auth_(logger, hub),
      unix_service_(hub, ops, auth_) {
  auth_.SetGeneration(options.generation);
}

ApiServer::~ApiServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::string& socket_path,
                                                            EventHub& hub, Operations& ops) {
  auto logger = Logger::Create(LogOptions{});
  if (!logger.ok()) return logger.status();
  ApiOptions options;
  options.socket_path = socket_path;
  auto api = Start(options, hub, ops, **logger);
  if (api.ok()) (*api)->own_logger_ = *std::move(logger);
  return api;
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiOptions& options,
                                                            EventHub& hub, Operations& ops,
                                                            Logger& logger) {
  std::unique_ptr<ApiServer> api(new ApiServer(options, hub, ops, logger));
  if (!options.tcp_addresses.empty()) {
    auto tls = api->BuildTls(options);
    if (!tls.ok()) return tls.status();
    absl::MutexLock lock(&api->tls_mu_);
    api->tls_ = *std::move(tls);
  }
  absl::Status s = api->StartUnix();
  if (!s.ok()) return s;
  return api;
}

absl::Status ApiServer::StartUnix() {
  const std::string& path = options_.socket_path;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "API socket path ", path, " is longer than a Unix socket path may be (",
        sizeof(sockaddr_un::sun_path) - 1, " bytes)"));
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (!options_.socket_group.empty()) {
    group g{};
    group* found = nullptr;
    std::vector<char> buf(16384);
    if (getgrnam_r(options_.socket_group.c_str(), &g, buf.data(), buf.size(), &found) != 0 ||
        found == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "api.unix_socket_group: no group ", options_.socket_group,
          " on this host (create it with groupadd, or remove the key)"));
    }
    gid = g.gr_gid;
  }
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create the API socket: ", path, " exists and is not a socket"));
    }
    // A socket nobody answers on is left by a dead agent (the state
    // directory lock already keeps two agents apart).
    if (unlink(path.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove stale socket ", path, ": ", strerror(errno)));
    }
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(AF_UNIX): ", strerror(errno)));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    int err = errno;
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on the API socket ", path, ": ", strerror(err),
                     " (does its directory exist and is it writable?)"));
  }
  if (chmod(path.c_str(), 0660) != 0 ||
      (gid != static_cast<gid_t>(-1) && chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)) {
    int err = errno;
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot set mode 0660", gid != static_cast<gid_t>(-1) ? " and group " : "",
        options_.socket_group, " on ", path, ": ", strerror(err)));
  }
  grpc::ServerBuilder builder;
  builder.RegisterService(&unix_service_);
  BoundRequests(builder);
  unix_server_ = builder.BuildAndStart();
  if (unix_server_ == nullptr) {
    close(fd);
    return absl::InternalError("cannot start the API server");
  }
  acceptor_ = std::make_unique<UnixAcceptor>(fd, unix_server_.get(), auth_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ApiServer::TlsServer>> ApiServer::BuildTls(
    const ApiOptions& options) {
  const absl::Time now = absl::Now();
  absl::StatusOr<tls::TlsFiles> files =
      tls::LoadTlsFiles(options.tls_cert, options.tls_key, options.tls_client_ca, now);
  if (!files.ok()) return files.status();
  absl::StatusOr<std::shared_ptr<const CertVerifier>> check = CertVerifierForCa(files->ca_pem);
  if (!check.ok()) return check.status();

  auto out = std::make_unique<TlsServer>();
  out->addresses = options.tcp_addresses;
  out->subject = files->cert.subject;
  out->cert_pem = files->cert_pem;
  out->key_pem = files->key_pem;
  out->ca_pem = files->ca_pem;
  out->expires = files->cert.not_after;
  out->service = std::make_unique<AgentService>(hub_, ops_, auth_);
  // The client's certificate is requested and checked here (ApiAuth), not
  // in the handshake: a client with none, or a bad one, then gets an
  // answer that says why, and the refusal is audited. The handshake still
  // proves the client holds the certificate's key.
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  ssl.pem_root_certs = files->ca_pem;
  ssl.pem_key_cert_pairs.push_back({files->key_pem, files->cert_pem});
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(ssl);
  grpc::ServerBuilder builder;
  std::vector<int> ports(options.tcp_addresses.size(), 0);
  for (size_t i = 0; i < options.tcp_addresses.size(); ++i) {
    builder.AddListeningPort(options.tcp_addresses[i], creds, &ports[i]);
  }
  builder.RegisterService(out->service.get());
  BoundRequests(builder);
  out->server = builder.BuildAndStart();
  std::vector<std::string> failed;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i] == 0) failed.push_back(options.tcp_addresses[i]);
  }
  if (out->server == nullptr || !failed.empty()) {
    if (out->server != nullptr) out->server->Shutdown();
    return absl::FailedPreconditionError(absl::StrCat(
        "api.listen: cannot listen on ",
        absl::StrJoin(failed.empty() ? options.tcp_addresses : failed, ", "),
        " (address not on this host, or the port in use?)"));
  }
  auth_.SetCertVerifier(*std::move(check));
  out->ports = std::move(ports);
  return out;
}

void ApiServer::ReloadTls(const ApiOptions& options) {
  {
    absl::MutexLock lock(&reload_mu_);
    pending_reload_ = options;
    // A reload thread still at work takes the newest options when done:
    // the caller (the loop) never waits for it.
    if (reload_running_) return;
    reload_running_ = true;
  }
  if (reload_.joinable()) reload_.join();  // it has finished
  reload_ = std::thread([this] {
    NormalPriority();
    for (int i = 0; i < 1000; ++i) {
      std::optional<ApiOptions> next;
      {
        absl::MutexLock lock(&reload_mu_);
        next = std::move(pending_reload_);
        pending_reload_.reset();
        if (!next.has_value()) {
          reload_running_ = false;
          return;
        }
      }
      RunReload(*std::move(next));
    }
    absl::MutexLock lock(&reload_mu_);
    reload_running_ = false;
  });
}

void ApiServer::WaitForReload() {
  if (reload_.joinable()) reload_.join();
}

void ApiServer::RunReload(ApiOptions options) {
  std::unique_ptr<TlsServer> fresh;
  if (!options.tcp_addresses.empty()) {
    // The same addresses and the same files: nothing to do, and the
    // clients' connections stay up (an apply reloads every node).
    absl::StatusOr<tls::TlsFiles> files = tls::LoadTlsFiles(
        options.tls_cert, options.tls_key, options.tls_client_ca, absl::Now());
    {
      absl::MutexLock lock(&tls_mu_);
      if (files.ok() && tls_ != nullptr && tls_->addresses == options.tcp_addresses &&
          tls_->cert_pem == files->cert_pem && tls_->key_pem == files->key_pem &&
          tls_->ca_pem == files->ca_pem) {
        logger_.Debug("API: TLS files and addresses unchanged; the listener stays as it is");
        return;
      }
    }
    auto built = BuildTls(options);
    if (!built.ok()) {
      logger_.Error(absl::StrCat("API: keeping the running TLS certificates and addresses: ",
                                 built.status().message()));
      v1::Event e;
      e.set_kind(v1::EVENT_KIND_CONFIG_REJECTED);
      e.set_reason(absl::StrCat("API TLS not reloaded: ", built.status().message()));
      e.set_monotonic_ns(absl::ToInt64Nanoseconds(MonotonicNow()));
      hub_.Emit(std::move(e));
      return;
    }
    fresh = *std::move(built);
  }
  std::unique_ptr<TlsServer> old;
  {
    absl::MutexLock lock(&tls_mu_);
    old = std::move(tls_);
    tls_ = std::move(fresh);
  }
  // The new server is bound beside the old (SO_REUSEPORT), so the port
  // never closes; the old one now ends its calls.
  if (old != nullptr) {
    old->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    old->server->Wait();
  }
  absl::MutexLock lock(&tls_mu_);
  if (tls_ == nullptr) {
    if (old != nullptr) logger_.Info("API: TCP listener closed (api.listen is empty)");
    return;
  }
  logger_.Info(absl::StrCat("API: TLS certificates re-read: serving mTLS on ",
                            absl::StrJoin(tls_->addresses, ", "), " as ", tls_->subject,
                            " (valid until ", absl::FormatTime(tls_->expires), ")"));
}

std::string ApiServer::Description() const {
  absl::MutexLock lock(&tls_mu_);
  if (tls_ == nullptr) return options_.socket_path;
  return absl::StrCat(options_.socket_path, " and mTLS on ", absl::StrJoin(tls_->addresses, ", "));
}

std::vector<int> ApiServer::TcpPorts() const {
  absl::MutexLock lock(&tls_mu_);
  return tls_ == nullptr ? std::vector<int>() : tls_->ports;
}

void ApiServer::Shutdown() {
  if (reload_.joinable()) reload_.join();
  if (unix_server_ == nullptr) return;
  hub_.Close();
  ops_.Close();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  acceptor_.reset();
  std::unique_ptr<TlsServer> tls;
  {
    absl::MutexLock lock(&tls_mu_);
    tls = std::move(tls_);
  }
  if (tls != nullptr) tls->server->Shutdown(deadline);
  unix_server_->Shutdown(deadline);
  if (tls != nullptr) tls->server->Wait();
  unix_server_->Wait();
  unix_server_.reset();
  unlink(options_.socket_path.c_str());
}

}  // namespace hacluster::agent
