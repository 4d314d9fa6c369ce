#include "agent/node/spec_fetcher.h"

#include <pthread.h>
#include <sched.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::agent {

SpecFetcher::~SpecFetcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (call_ != nullptr) static_cast<grpc::ClientContext*>(call_)->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool SpecFetcher::Start(std::vector<Source> sources, Credentials credentials,
                        uint64_t want_version, absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (running_) return false;
    running_ = true;
    result_.reset();
  }
  if (thread_.joinable()) thread_.join();  // the last fetch has finished
  thread_ = std::thread([this, sources = std::move(sources),
                         credentials = std::move(credentials), want_version, timeout]() mutable {
    // Never at the heartbeat loop's priority (threads inherit it).
    sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
    Run(std::move(sources), std::move(credentials), want_version, timeout);
  });
  return true;
}

bool SpecFetcher::Running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

std::optional<SpecFetcher::Result> SpecFetcher::Take() {
  absl::MutexLock lock(&mu_);
  std::optional<Result> out = std::move(result_);
  result_.reset();
  return out;
}

void SpecFetcher::Run(std::vector<Source> sources, Credentials credentials,
                      uint64_t want_version, absl::Duration timeout) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = credentials.ca_pem;
  tls.pem_cert_chain = credentials.cert_pem;
  tls.pem_private_key = credentials.key_pem;
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(tls);
  Result result;
  std::vector<std::string> errors;
  for (const Source& s : sources) {
    for (const std::string& endpoint : s.endpoints) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto stub = v1::Agent::NewStub(grpc::CreateCustomChannel(endpoint, creds, args));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
      ctx.set_wait_for_ready(true);  // the timeout bounds the connect too
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) break;
        call_ = &ctx;
      }
      v1::GetSpecResponse spec;
      grpc::Status st = stub->GetSpec(&ctx, v1::GetSpecRequest(), &spec);
      {
        absl::MutexLock lock(&mu_);
        call_ = nullptr;
      }
      if (!st.ok()) {
        errors.push_back(absl::StrCat(s.node, " at ", endpoint, ": ", st.error_message()));
        continue;
      }
      if (spec.config_version() != want_version) {
        errors.push_back(absl::StrCat(s.node, " at ", endpoint, ": runs config version ",
                                      spec.config_version(), ", not ", want_version));
        continue;
      }
      result.ok = true;
      result.spec_yaml = spec.spec_yaml();
      result.version = spec.config_version();
      result.hash = spec.config_hash();
      result.from = s.node;
      break;
    }
    if (result.ok) break;
  }
  if (!result.ok) {
    result.error = errors.empty() ? "no peer to ask" : absl::StrJoin(errors, "; ");
  }
  absl::MutexLock lock(&mu_);
  result_ = std::move(result);
  running_ = false;
}

}  // namespace hacluster::agent
