// Making the cluster's certificates, as `hacli cert` does: the cluster CA
// and the certificates it signs for nodes, admins and readers, following
// the conventions in agent/tls/certificates.h:
// - every key is EC P-256, every signature ECDSA with SHA-256, every serial
//   128 random bits, and each certificate carries subjectKeyIdentifier and
//   authorityKeyIdentifier;
// - the CA: "O=<cluster>, CN=<cluster> cluster CA", basicConstraints
//   critical CA:TRUE, keyUsage critical keyCertSign + cRLSign;
// - a leaf: "O=<cluster>, OU=<role>, CN=<name>" (the cluster from the CA's
//   O), basicConstraints critical CA:FALSE, keyUsage critical
//   digitalSignature, extendedKeyUsage serverAuth + clientAuth for a node
//   and clientAuth for an admin or reader, subjectAltName with the given
//   addresses (IP: for IPv4 and IPv6 literals, DNS: otherwise).
//
// The dates are the caller's: nothing here reads the clock.
//
// Thread-safety: the functions are safe to call from any thread.
#ifndef HACLUSTER_AGENT_TLS_ISSUER_H_
#define HACLUSTER_AGENT_TLS_ISSUER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/tls/certificates.h"

namespace hacluster::agent::tls {

// A certificate and its private key (PKCS#8, unencrypted), both PEM.
struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
};

// How long `hacli cert init` makes the CA valid.
inline constexpr absl::Duration kCaValidity = absl::Hours(24 * 3650);

// A new self-signed cluster CA valid from `not_before` to `not_after`.
// InvalidArgument when the cluster name is empty, longer than 53 bytes
// (the CN "<cluster> cluster CA" must fit X.509's 64), holds control
// characters, or the dates are not in order.
absl::StatusOr<CertAndKey> MakeCa(absl::string_view cluster, absl::Time not_before,
                                  absl::Time not_after);

struct LeafRequest {
  CertRole role = CertRole::kNode;
  std::string name;                // the CN: a node, person or tool name
  std::vector<std::string> sans;   // IP literals or DNS names; may be empty
  absl::Time not_before;
  absl::Time not_after;            // must not be after the CA's
};

// A new certificate signed by `ca`. InvalidArgument when the CA cannot be
// read, its key is not its certificate's, it is not a CA, the request's
// name is empty, longer than 64 bytes or holds control characters, a SAN
// is neither an IP literal nor a DNS name, or the dates are out of order
// or outlast the CA (callers clip them to the CA's first).
absl::StatusOr<CertAndKey> IssueCertificate(const CertAndKey& ca, const LeafRequest& request);

// A PKCS#12 bundle (DER) of `leaf` with its key and the CA certificate
// `ca_cert_pem`, named `friendly_name`, protected by `password` (may be
// empty): what browsers import as a client certificate. OpenSSL's
// defaults: AES-256-CBC with PBKDF2, a SHA-256 MAC.
absl::StatusOr<std::string> Pkcs12Bundle(const CertAndKey& leaf, absl::string_view ca_cert_pem,
                                         const std::string& friendly_name,
                                         const std::string& password);

// OK when `text` may be a subjectAltName: an IPv4 or IPv6 literal, or a
// DNS name (letters, digits, '-', '.'; labels 1..63, at most 253 bytes).
// InvalidArgument saying why not otherwise ("192.0.2.1/24", "host:80"...).
absl::Status CheckSan(absl::string_view text);

}  // namespace hacluster::agent::tls

#endif  // HACLUSTER_AGENT_TLS_ISSUER_H_
