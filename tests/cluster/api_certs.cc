#include "tests/cluster/api_certs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::testing {
namespace {

using agent::tls::CertAndKey;
using agent::tls::CertRole;

absl::Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  unlink(path.c_str());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path));
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!ok) return absl::InternalError(absl::StrCat("short write to ", path));
  return absl::OkStatus();
}

absl::Status WritePair(const std::string& dir, const std::string& name, const CertAndKey& c) {
  absl::Status s = WriteFile(absl::StrCat(dir, "/", name, ".crt"), c.cert_pem, 0644);
  if (!s.ok()) return s;
  return WriteFile(absl::StrCat(dir, "/", name, ".key"), c.key_pem, 0600);
}

absl::StatusOr<CertAndKey> ReadCa(const std::string& dir) {
  std::ifstream crt(dir + "/ca.crt"), key(dir + "/ca.key");
  std::stringstream c, k;
  c << crt.rdbuf();
  k << key.rdbuf();
  if (c.str().empty() || k.str().empty()) {
    return absl::NotFoundError(absl::StrCat("no CA in ", dir));
  }
  return CertAndKey{c.str(), k.str()};
}

absl::StatusOr<CertAndKey> Leaf(const CertAndKey& ca, CertRole role, const std::string& name,
                                std::vector<std::string> sans, absl::Time from, absl::Time to) {
  agent::tls::LeafRequest r;
  r.role = role;
  r.name = name;
  r.sans = std::move(sans);
  r.not_before = from;
  r.not_after = to;
  return agent::tls::IssueCertificate(ca, r);
}

}  // namespace

absl::Status WriteApiCerts(const std::string& dir, const ApiCertOptions& options) {
  const absl::Time from = absl::Now() - absl::Hours(1);
  const absl::Time to = absl::Now() + absl::Hours(24 * options.days);
  // The CA from a month back, so expired certificates can be issued too.
  auto ca = agent::tls::MakeCa(options.cluster, from - absl::Hours(24 * 30), to + absl::Hours(24));
  if (!ca.ok()) return ca.status();
  absl::Status s = WritePair(dir, "ca", *ca);
  if (!s.ok()) return s;
  std::vector<std::string> sans;
  for (const auto& [node, addresses] : options.nodes) {
    sans.insert(sans.end(), addresses.begin(), addresses.end());
  }
  const std::string first = options.nodes.empty() ? "node" : options.nodes.front().first;
  auto server = Leaf(*ca, CertRole::kNode, first, sans, from, to);
  if (!server.ok()) return server.status();
  if (!(s = WritePair(dir, "server", *server)).ok()) return s;
  for (const auto& [name, role] :
       std::vector<std::pair<std::string, CertRole>>{{"admin", CertRole::kAdmin},
                                                     {"reader", CertRole::kReader}}) {
    auto c = Leaf(*ca, role, name, {}, from, to);
    if (!c.ok()) return c.status();
    if (!(s = WritePair(dir, name, *c)).ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status WriteExtraCert(const std::string& dir, CertRole role, const std::string& name,
                            absl::Time not_before, absl::Time not_after) {
  auto ca = ReadCa(dir);
  if (!ca.ok()) return ca.status();
  auto c = Leaf(*ca, role, name, {}, not_before, not_after);
  if (!c.ok()) return c.status();
  return WritePair(dir, name, *c);
}

absl::Status WriteForeignAdmin(const std::string& dir) {
  const absl::Time from = absl::Now() - absl::Hours(1);
  const absl::Time to = absl::Now() + absl::Hours(24 * 30);
  auto ca = agent::tls::MakeCa("other", from, to + absl::Hours(24));
  if (!ca.ok()) return ca.status();
  absl::Status s = WriteFile(dir + "/other-ca.crt", ca->cert_pem, 0644);
  if (!s.ok()) return s;
  auto admin = Leaf(*ca, CertRole::kAdmin, "intruder", {}, from, to);
  if (!admin.ok()) return admin.status();
  return WritePair(dir, "other-admin", *admin);
}

std::string ApiYaml(const std::vector<std::string>& listen, const std::string& dir) {
  return absl::StrCat("api:\n  listen: [\"", absl::StrJoin(listen, "\", \""), "\"]\n",
                      "  tls_cert: ", dir, "/server.crt\n", "  tls_key: ", dir, "/server.key\n",
                      "  tls_client_ca: ", dir, "/ca.crt\n");
}

}  // namespace hacluster::testing
