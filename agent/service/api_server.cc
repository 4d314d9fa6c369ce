#include "agent/service/api_server.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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

ApiServer::ApiServer(std::string path, EventHub& hub)
    : socket_path_(std::move(path)), hub_(hub), service_(hub) {}

ApiServer::~ApiServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const std::string& socket_path,
                                                            EventHub& hub) {
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
  std::unique_ptr<ApiServer> api(new ApiServer(socket_path, hub));
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
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  unlink(socket_path_.c_str());
}

}  // namespace hacluster::agent
