#include "agent/service/api_server.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace hacluster::agent {

grpc::Status AgentService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                                     v1::GetStatusResponse* response) {
  *response = hub_.Status(MonotonicNow());
  return grpc::Status::OK;
}

grpc::Status AgentService::WatchEvents(grpc::ServerContext* context,
                                       const v1::WatchEventsRequest* request,
                                       grpc::ServerWriter<v1::Event>* writer) {
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

namespace {

absl::Duration DurationOf(const google::protobuf::Duration& d, absl::Duration fallback) {
  if (d.seconds() == 0 && d.nanos() == 0) return fallback;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// Operations wait this long unless the request says otherwise.
constexpr absl::Duration kDefaultTimeout = absl::Seconds(30);
// A timeout beyond this is refused (a caller's mistake, e.g. ms for s).
constexpr absl::Duration kMaxTimeout = absl::Hours(1);

}  // namespace

grpc::Status AgentService::Run(OperationRequest request,
                               const google::protobuf::Duration& timeout_proto, bool no_wait,
                               v1::OperationResponse* response) {
  absl::Duration timeout = DurationOf(timeout_proto, kDefaultTimeout);
  if (timeout < absl::ZeroDuration() || timeout > kMaxTimeout) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("timeout ", absl::FormatDuration(timeout),
                                     " is outside 0 to 1h"));
  }
  absl::StatusOr<uint64_t> id = ops_.Submit(std::move(request));
  if (!id.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(id.status().message()));
  std::optional<v1::OperationResponse> r = ops_.Wait(*id, no_wait ? absl::ZeroDuration() : timeout);
  if (!r.has_value()) return grpc::Status(grpc::StatusCode::INTERNAL, "operation lost");
  *response = *std::move(r);
  return grpc::Status::OK;
}

grpc::Status AgentService::Standby(grpc::ServerContext*, const v1::StandbyRequest* request,
                                   v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kStandby;
  r.scope = request->scope();
  return Run(std::move(r), request->timeout(), request->no_wait(), response);
}

grpc::Status AgentService::Takeover(grpc::ServerContext*, const v1::TakeoverRequest* request,
                                    v1::OperationResponse* response) {
  OperationRequest r;
  r.kind = OperationRequest::Kind::kTakeover;
  r.scope = request->scope();
  return Run(std::move(r), request->timeout(), request->no_wait(), response);
}

grpc::Status AgentService::Move(grpc::ServerContext*, const v1::MoveRequest* request,
                                v1::OperationResponse* response) {
  if (request->group().empty() || request->node().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "move needs a group and a node");
  }
  OperationRequest r;
  r.kind = OperationRequest::Kind::kMove;
  r.group = request->group();
  r.node = request->node();
  return Run(std::move(r), request->timeout(), request->no_wait(), response);
}

grpc::Status AgentService::GetOperation(grpc::ServerContext*,
                                        const v1::GetOperationRequest* request,
                                        v1::OperationResponse* response) {
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

grpc::Status AgentService::Where(grpc::ServerContext*, const v1::WhereRequest* request,
                                 v1::WhereResponse* response) {
  v1::GetStatusResponse st = hub_.Status(MonotonicNow());
  for (const v1::GroupStatus& g : st.groups()) {
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

ApiServer::ApiServer(std::string path, EventHub& hub, Operations& ops)
    : socket_path_(std::move(path)), hub_(hub), ops_(ops), service_(hub, ops) {}

ApiServer::~ApiServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::string& socket_path,
                                                            EventHub& hub, Operations& ops) {
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "API socket path ", socket_path, " is longer than a Unix socket path may be (",
        sizeof(sockaddr_un::sun_path) - 1, " bytes)"));
  }
  struct stat st;
  if (lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create the API socket: ", socket_path, " exists and is not a socket"));
    }
    // A socket nobody answers on is left by a dead agent (the state
    // directory lock already keeps two agents apart).
    if (unlink(socket_path.c_str()) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot remove stale socket ", socket_path, ": ", strerror(errno)));
    }
  }
  std::unique_ptr<ApiServer> api(new ApiServer(socket_path, hub, ops));
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(&api->service_);
  // Few threads: the API is for operators and scripts, not bulk traffic.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  api->server_ = builder.BuildAndStart();
  if (api->server_ == nullptr || bound == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on the API socket ", socket_path,
        " (does its directory exist and is it writable?)"));
  }
  if (chmod(socket_path.c_str(), 0660) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot set mode 0660 on ", socket_path, ": ", strerror(errno)));
  }
  return api;
}

void ApiServer::Shutdown() {
  if (server_ == nullptr) return;
  hub_.Close();
  ops_.Close();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  unlink(socket_path_.c_str());
}

}  // namespace hacluster::agent
