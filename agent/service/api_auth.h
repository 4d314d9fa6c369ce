// Who is calling the agent's API, what they may do, and the audit trail.
//
// Two ways in, two ways to know the caller:
// - TCP with mutual TLS: the client certificate, checked by the TLS
//   verifier the API server installs (the cluster CA, validity, the role in
//   its OU). No certificate, or one the verifier refuses: UNAUTHENTICATED.
// - The Unix socket: the peer's uid (SO_PEERCRED, noted per connection by
//   the socket's acceptor). uid 0 is admin; any other user who could open
//   the socket (its group) is reader.
// Readers may read (status, watch, where, servers, operations); writes
// (standby, takeover, move) need admin: PERMISSION_DENIED otherwise.
//
// Every write call and every refused call is audited: one line in the
// agent's log and an EVENT_KIND_API_CALL event on WatchEvents, with the
// caller, the call and its arguments, and the outcome.
//
// Thread-safety: every method may be called from any thread (the API's
// gRPC threads, the acceptor, the loop for SetGeneration).
#ifndef HACLUSTER_AGENT_SERVICE_API_AUTH_H_
#define HACLUSTER_AGENT_SERVICE_API_AUTH_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/log/logger.h"
#include "agent/service/event_hub.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace hacluster::agent {

enum class ApiRole { kReader, kAdmin };

// What a verified client certificate says.
struct CertIdentity {
  std::string subject;  // one line, e.g. "O=demo, OU=admin, CN=ops"
  ApiRole role = ApiRole::kReader;
};

// Checks a client certificate (PEM) at `now`: its identity, or why not
// (the message is shown to the caller and audited).
using CertVerifier =
    std::function<absl::StatusOr<CertIdentity>(absl::string_view pem, absl::Time now)>;

// The verifier of client certificates signed by the CA(s) in `ca_pem`: the
// chain, the dates, client authentication, and a role (OU reader, admin or
// node; node and admin may write). InvalidArgument when `ca_pem` holds no
// usable CA.
absl::StatusOr<std::shared_ptr<const CertVerifier>> CertVerifierForCa(absl::string_view ca_pem);

struct Caller {
  std::string who;  // "O=demo, OU=admin, CN=ops" or "uid 0"
  ApiRole role = ApiRole::kReader;
};

class ApiAuth {
 public:
  // Audit lines go to `logger`, events to `hub` (neither owned).
  ApiAuth(Logger& logger, EventHub& hub) : logger_(logger), hub_(hub) {}
  ApiAuth(const ApiAuth&) = delete;
  ApiAuth& operator=(const ApiAuth&) = delete;

  // The verifier of TLS clients (replaced when the certificates are
  // re-read). Without one, TLS callers are refused.
  void SetCertVerifier(std::shared_ptr<const CertVerifier> verifier);
  // The agent's generation, stamped on audit events.
  void SetGeneration(uint64_t generation);

  // The Unix socket's acceptor hands each connection to gRPC as "fd:N":
  // the uid of the process at its other end.
  void NoteUnixPeer(int fd, uid_t uid);

  // Identifies the caller of `context` and checks it may make a call that
  // needs `needed`. `call` names the call and its arguments for the audit
  // ("standby scope=all"). A refusal is audited and returned (the status to
  // answer with); a write is audited by AuditResult once it is answered.
  grpc::Status Authorize(grpc::ServerContext* context, ApiRole needed, const std::string& call,
                         Caller* caller);
  // Audits the outcome of an authorized write call.
  void AuditResult(const Caller& caller, const std::string& call, bool ok,
                   const std::string& outcome);

 private:
  absl::StatusOr<Caller> Identify(grpc::ServerContext* context);
  void Audit(const std::string& who, const std::string& call, bool ok,
             const std::string& outcome);

  Logger& logger_;
  EventHub& hub_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const CertVerifier> verifier_ ABSL_GUARDED_BY(mu_);
  std::map<int, uid_t> unix_peers_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SERVICE_API_AUTH_H_
