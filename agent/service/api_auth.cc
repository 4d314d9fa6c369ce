#include "agent/service/api_auth.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/core/clock.h"
#include "agent/tls/certificates.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/security/auth_context.h"

namespace hacluster::agent {

absl::StatusOr<std::shared_ptr<const CertVerifier>> CertVerifierForCa(absl::string_view ca_pem) {
  auto verifier = tls::ClientCertVerifier::Create(ca_pem);
  if (!verifier.ok()) return verifier.status();
  std::shared_ptr<const tls::ClientCertVerifier> shared = *std::move(verifier);
  return std::make_shared<const CertVerifier>(
      [shared](absl::string_view pem, absl::Time at) -> absl::StatusOr<CertIdentity> {
        absl::StatusOr<tls::CertInfo> info = shared->Verify(pem, at);
        if (!info.ok()) return info.status();
        if (!info->role.has_value()) {
          return absl::PermissionDeniedError(
              absl::StrCat("certificate ", info->subject, " has no role (OU reader, admin or node)"));
        }
        return CertIdentity{info->subject, *info->role == tls::CertRole::kReader
                                               ? ApiRole::kReader
                                               : ApiRole::kAdmin};
      });
}
namespace {

std::string PropertyOf(const grpc::AuthContext& auth, const char* name) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(name);
  if (values.empty()) return "";
  return std::string(values.front().data(), values.front().size());
}

const char* RoleWord(ApiRole r) { return r == ApiRole::kAdmin ? "admin" : "reader"; }

}  // namespace

void ApiAuth::SetCertVerifier(std::shared_ptr<const CertVerifier> verifier) {
  absl::MutexLock lock(&mu_);
  verifier_ = std::move(verifier);
}

void ApiAuth::SetGeneration(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  generation_ = generation;
}

void ApiAuth::NoteUnixPeer(int fd, uid_t uid) {
  absl::MutexLock lock(&mu_);
  // A descriptor number is reused only after its connection closed, so the
  // newest note for it is the live connection's.
  unix_peers_[fd] = uid;
}

absl::StatusOr<Caller> ApiAuth::Identify(grpc::ServerContext* context) {
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  const std::string security =
      auth != nullptr ? PropertyOf(*auth, "transport_security_type") : std::string();
  if (security == "ssl") {
    const std::string pem = PropertyOf(*auth, "x509_pem_cert");
    if (pem.empty()) {
      return absl::UnauthenticatedError(
          "no client certificate: the TCP API takes only clients with a certificate of the "
          "cluster CA (hacli --cert/--key)");
    }
    std::shared_ptr<const CertVerifier> verifier;
    {
      absl::MutexLock lock(&mu_);
      verifier = verifier_;
    }
    if (verifier == nullptr) return absl::UnauthenticatedError("no client CA is loaded");
    absl::StatusOr<CertIdentity> id = (*verifier)(pem, absl::Now());
    if (!id.ok()) return absl::UnauthenticatedError(id.status().message());
    return Caller{id->subject, id->role};
  }
  // The Unix socket: "fd:N" names the connection its acceptor noted.
  int fd = -1;
  absl::string_view peer = context->peer();
  if (absl::ConsumePrefix(&peer, "fd:") && absl::SimpleAtoi(peer, &fd)) {
    absl::MutexLock lock(&mu_);
    auto it = unix_peers_.find(fd);
    if (it != unix_peers_.end()) {
      return Caller{absl::StrCat("uid ", it->second),
                    it->second == 0 ? ApiRole::kAdmin : ApiRole::kReader};
    }
  }
  return absl::UnauthenticatedError(
      absl::StrCat("the caller at ", context->peer(), " cannot be identified"));
}

grpc::Status ApiAuth::Authorize(grpc::ServerContext* context, ApiRole needed,
                                const std::string& call, Caller* caller) {
  absl::StatusOr<Caller> id = Identify(context);
  if (!id.ok()) {
    std::string why = std::string(id.status().message());
    Audit(absl::StrCat("unidentified caller at ", context->peer()), call, false,
          absl::StrCat("refused: ", why));
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
  }
  *caller = *std::move(id);
  if (needed == ApiRole::kAdmin && caller->role != ApiRole::kAdmin) {
    std::string why = absl::StrCat(call, " needs the admin role; ", caller->who, " is ",
                                   RoleWord(caller->role));
    Audit(caller->who, call, false, absl::StrCat("refused: ", why));
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, why);
  }
  return grpc::Status::OK;
}

void ApiAuth::AuditResult(const Caller& caller, const std::string& call, bool ok,
                          const std::string& outcome) {
  Audit(caller.who, call, ok, outcome);
}

void ApiAuth::Audit(const std::string& who, const std::string& call, bool ok,
                    const std::string& outcome) {
  const std::string line = absl::StrCat("API call by ", who, ": ", call, ": ", outcome);
  if (ok) {
    logger_.Info(line);
  } else {
    logger_.Warn(line);
  }
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_API_CALL);
  e.set_caller(who);
  e.set_call(call);
  e.set_ok(ok);
  e.set_reason(line);
  const MonoTime now = MonotonicNow();
  e.set_monotonic_ns(absl::ToInt64Nanoseconds(now));
  *e.mutable_time() =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(absl::Now()));
  {
    absl::MutexLock lock(&mu_);
    e.set_local_generation(generation_);
  }
  hub_.Emit(std::move(e));
}

}  // namespace hacluster::agent
