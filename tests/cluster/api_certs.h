// Certificates and spec lines for tests of the agent's TCP API (mutual
// TLS): a cluster CA and the node, admin and reader certificates of the
// project's conventions (agent/tls/issuer.h), written to a directory as
// `hacli cert` would (NAME.crt 0644, NAME.key 0600), plus the spec's api
// section that serves them.
//
// Thread-safety: plain functions; each call writes its own files.
#ifndef HACLUSTER_TESTS_CLUSTER_API_CERTS_H_
#define HACLUSTER_TESTS_CLUSTER_API_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/tls/issuer.h"

namespace hacluster::testing {

struct ApiCertOptions {
  std::string cluster = "testcluster";
  // Node name -> its addresses (the SANs of its certificate).
  std::vector<std::pair<std::string, std::vector<std::string>>> nodes;
  // Client certificates: "admin" (role admin) and "reader" (role reader).
  // Validity of every certificate: from an hour ago for `days`.
  int days = 30;
};

// Writes DIR/ca.crt and ca.key; DIR/server.crt and .key, one node
// certificate whose SANs are every node's addresses (agents sharing one
// host share the spec, and so the file; real nodes have one each);
// DIR/admin.crt/.key and DIR/reader.crt/.key.
absl::Status WriteApiCerts(const std::string& dir, const ApiCertOptions& options);

// One more certificate signed by DIR/ca: DIR/NAME.crt and .key, valid over
// [not_before, not_after].
absl::Status WriteExtraCert(const std::string& dir, agent::tls::CertRole role,
                            const std::string& name, absl::Time not_before, absl::Time not_after);

// A whole other CA with an admin certificate: DIR/other-ca.crt and
// DIR/other-admin.crt/.key.
absl::Status WriteForeignAdmin(const std::string& dir);

// The spec's api section: TCP on `listen`, DIR/server.crt/.key, DIR/ca.crt
// as the client CA.
std::string ApiYaml(const std::vector<std::string>& listen, const std::string& dir);

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_API_CERTS_H_
