// X.509 certificates of the agent's remote API (mutual TLS): reading them,
// checking a key against its certificate, loading the agent's TLS files and
// verifying a client's certificate against the cluster CA on every call.
//
// The project's conventions (hacli cert issues certificates that follow
// them; agent/tls/issuer.h):
// - the cluster CA: subject "O=<cluster>, CN=<cluster> cluster CA";
// - every other certificate: "O=<cluster>, OU=<role>, CN=<name>", where the
//   role (OU) is node, admin or reader. An admin may read and act (standby,
//   takeover, move); a reader may only read; a node certificate is
//   what an agent serves its API with and uses as a client of its peers.
//
// Times are passed in (`now`); nothing here reads the clock. Errors are
// absl::Status values with a message that says what is wrong and, where a
// file is involved, names it. OpenSSL is never asked for a passphrase.
//
// Thread-safety: the free functions are safe to call from any thread.
// ClientCertVerifier is safe for concurrent use (its cache is guarded).
#ifndef HACLUSTER_AGENT_TLS_CERTIFICATES_H_
#define HACLUSTER_AGENT_TLS_CERTIFICATES_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hacluster::agent::tls {

// The role a certificate grants, from its subject's OU.
enum class CertRole { kNode, kAdmin, kReader };

// "node", "admin", "reader".
absl::string_view RoleName(CertRole role);
// The role named `name` (exactly, lower case); nullopt for anything else.
std::optional<CertRole> ParseRole(absl::string_view name);

// What a certificate says, as people and the API layer need it.
struct CertInfo {
  // The subject on one line, e.g. "O=demo, OU=admin, CN=ops".
  std::string subject;
  std::string common_name;  // "" when the subject has no CN
  // From the subject's (first) OU; nullopt when there is none or it names
  // no role.
  std::optional<CertRole> role;
  // subjectAltName entries: IP addresses and DNS names as written for
  // `hacli cert issue --san` ("192.0.2.11", "2001:db8::11", "node01.example");
  // other kinds with their kind ("email:...", "URI:...").
  std::vector<std::string> sans;
  absl::Time not_before;
  absl::Time not_after;
  bool is_ca = false;  // basicConstraints CA:TRUE
  // SHA-256 of the DER certificate, "AB:CD:...", as `openssl x509
  // -fingerprint -sha256` prints it.
  std::string fingerprint_sha256;
};

// The first certificate in `pem`. InvalidArgument when there is none.
absl::StatusOr<CertInfo> ParseCertificatePem(absl::string_view pem);

// OK when `key_pem` is the private key of the first certificate in
// `cert_pem`. InvalidArgument when either cannot be read (an encrypted key
// is refused) or when the key is another one.
absl::Status CheckKeyMatchesCertificate(absl::string_view cert_pem,
                                        absl::string_view key_pem);

// "2027-04-05 10:00:00 UTC", the form messages and `hacli cert show` use.
std::string FormatCertTime(absl::Time t);

// Decides whether a client's certificate may use the agent's API: it must
// chain to the cluster CA, be valid at `now`, be meant for client
// authentication (extendedKeyUsage clientAuth) and carry a role (OU).
//
// Verify is called on every RPC (tens of thousands a second), with the PEM
// gRPC reports for the peer: results are cached, keyed by the PEM bytes (at
// most `max_cache_entries`, 0 for none; when full, an arbitrary entry is
// dropped). A hit costs a hash lookup and a copy of the CertInfo (under a
// microsecond; a full verification takes about a millisecond). The dates of
// the leaf and of the CA are checked against `now` on every call, so a
// certificate that expires while cached is refused from then on. Failures
// that do not depend on time (another CA, no role) are cached too; failures
// on dates are not (the same certificate may become valid).
//
// Thread-safety: Verify may be called from any number of threads at once.
// Not copyable or movable.
class ClientCertVerifier {
 public:
  static constexpr size_t kDefaultMaxCacheEntries = 1024;

  // A verifier trusting the CA certificates in `ca_pem` (a file may hold
  // several; each must be a CA). InvalidArgument when there is none, one
  // cannot be read or one is not a CA.
  static absl::StatusOr<std::unique_ptr<ClientCertVerifier>> Create(
      absl::string_view ca_pem, size_t max_cache_entries = kDefaultMaxCacheEntries);
  ~ClientCertVerifier();
  ClientCertVerifier(const ClientCertVerifier&) = delete;
  ClientCertVerifier& operator=(const ClientCertVerifier&) = delete;

  // The client's certificate (the first in `leaf_pem`) when it passes;
  // PermissionDenied with the reason otherwise: "certificate expired on
  // DATE", "certificate is not valid before DATE", "the cluster CA
  // certificate expired on DATE", "not signed by the cluster CA (...)",
  // "not a client certificate (...)", "no role (OU) in the certificate
  // ...", "not a PEM certificate (...)".
  absl::StatusOr<CertInfo> Verify(absl::string_view leaf_pem, absl::Time now) const;

  size_t CacheSizeForTest() const;

 private:
  // The outcome for one PEM: an error, or the leaf's info and the dates
  // of the CA it chains to, which are checked again on every hit.
  struct Verdict {
    absl::Status error;
    CertInfo info;
    absl::Time ca_not_before;
    absl::Time ca_not_after;
  };
  struct Store;  // the trusted CAs (OpenSSL's X509_STORE)

  ClientCertVerifier(std::unique_ptr<Store> store, size_t max_cache_entries);
  // The full check, without the cache. `*cacheable` says whether the
  // verdict holds at any time (only failures on dates do not).
  Verdict VerifyUncached(absl::string_view leaf_pem, absl::Time now, bool* cacheable) const;
  void Remember(absl::string_view leaf_pem, const Verdict& verdict) const;

  const std::unique_ptr<Store> store_;
  const size_t max_cache_entries_;
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<std::string, Verdict> cache_ ABSL_GUARDED_BY(mu_);
};

// The agent's TLS files as read and checked at start-up or reload.
struct TlsFiles {
  std::string cert_pem;  // the server certificate (api.tls_cert)
  std::string key_pem;   // its private key (api.tls_key)
  std::string ca_pem;    // the CA of client certificates (api.tls_client_ca)
  CertInfo cert;         // what cert_pem says
};

// Reads and checks the three files; each refusal names the file:
// - NotFound: a file is missing; FailedPrecondition: it cannot be read;
// - InvalidArgument: a file holds no PEM certificate or key (an encrypted
//   key counts as none);
// - FailedPrecondition: the certificate is expired or not yet valid at
//   `now` (with its dates), the key is not the certificate's, the key file
//   is readable by others (its mode and the fix, chmod 600), or the CA file
//   is not a CA certificate.
// The server certificate is not checked against the client CA: they are
// the same CA by convention, but need not be.
absl::StatusOr<TlsFiles> LoadTlsFiles(const std::string& cert_path, const std::string& key_path,
                                      const std::string& ca_path, absl::Time now);

// The contents of a PEM file (at most 1 MiB). NotFound naming the file when
// it does not exist, FailedPrecondition when it cannot be read or is not a
// regular file, InvalidArgument when it is larger.
absl::StatusOr<std::string> ReadPemFile(const std::string& path);

}  // namespace hacluster::agent::tls

#endif  // HACLUSTER_AGENT_TLS_CERTIFICATES_H_
