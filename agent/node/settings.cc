#include "agent/node/settings.h"

#include <openssl/sha.h>
#include <sys/utsname.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/duration.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace hacluster::agent {

spec::v1::ClusterSpec RedactSecrets(spec::v1::ClusterSpec spec) {
  for (auto& key : *spec.mutable_auth()->mutable_keys()) {
    if (!key.secret().empty()) key.set_secret(kSecretNotSent);
  }
  return spec;
}

absl::Status RestoreSecrets(const spec::v1::ClusterSpec& own, spec::v1::ClusterSpec* fetched) {
  for (auto& key : *fetched->mutable_auth()->mutable_keys()) {
    if (key.secret() != kSecretNotSent) continue;
    const spec::v1::AuthKey* mine = nullptr;
    for (const auto& k : own.auth().keys()) {
      if (k.id() == key.id() && k.method() == key.method() && !k.secret().empty()) mine = &k;
    }
    if (mine == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "auth key ", key.id(), " has an inline secret, which is not sent over the API, and "
          "this node has no such key: give the key a secret_file present on every node, or "
          "copy the spec here by hand"));
    }
    key.set_secret(mine->secret());
  }
  return absl::OkStatus();
}

std::string SpecHash(const spec::v1::ClusterSpec& spec) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    spec.SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), 16);
}

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

EffectiveTiming TimingOf(const spec::v1::ClusterSpec& spec) {
  const auto& t = spec.timing();
  EffectiveTiming e;
  e.keepalive = t.has_keepalive() ? absl::Milliseconds(config::ToMs(t.keepalive())) : absl::Seconds(1);
  e.deadtime = t.has_deadtime() ? absl::Milliseconds(config::ToMs(t.deadtime())) : absl::Seconds(30);
  e.warntime = t.has_warntime() ? absl::Milliseconds(config::ToMs(t.warntime()))
                                : std::max(e.keepalive, e.deadtime / 2);
  e.initdead = t.has_initdead() ? absl::Milliseconds(config::ToMs(t.initdead())) : 2 * e.deadtime;
  e.deadping = spec.connectivity().has_deadping()
                   ? absl::Milliseconds(config::ToMs(spec.connectivity().deadping()))
                   : e.deadtime;
  return e;
}

absl::Duration HandoffWait(const EffectiveTiming& t) {
  return std::min(t.deadtime, 2 * t.keepalive + absl::Milliseconds(10));
}

absl::StatusOr<std::string> LocalNodeName(const spec::v1::ClusterSpec& spec,
                                          const std::string& flag) {
  std::string name = flag;
  bool from_host = false;
  if (name.empty()) {
    struct utsname u;
    if (uname(&u) != 0) return absl::InternalError("uname failed");
    name = u.nodename;
    from_host = true;
  }
  std::vector<std::string> names;
  for (const auto& n : spec.nodes()) {
    if (n.name() == name) return name;
    names.push_back(n.name());
  }
  return absl::NotFoundError(absl::StrCat(
      "this node, \"", name, "\"", from_host ? " (the host name, uname -n)" : " (--node)",
      ", is not a node of the spec, whose nodes are: ", absl::StrJoin(names, ", "),
      from_host ? "; pass --node NAME" : ""));
}

std::string ApiSocketPath(const spec::v1::ClusterSpec& spec, const std::string& state_dir) {
  if (!spec.api().unix_socket().empty()) return spec.api().unix_socket();
  return state_dir + "/agent.sock";
}

std::vector<std::pair<std::string, std::string>> PingTargets(const spec::v1::ClusterSpec& spec) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : spec.connectivity().ping_nodes()) out.emplace_back("", h);
  for (const auto& g : spec.connectivity().ping_groups()) {
    for (const auto& h : g.hosts()) out.emplace_back(g.name(), h);
  }
  return out;
}

namespace {

absl::StatusOr<std::vector<std::string>> ExpandListen(const spec::v1::ClusterSpec& spec,
                                                      const std::string& local_node,
                                                      const std::vector<std::string>& entries,
                                                      const std::string& field) {
  std::vector<std::string> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string& entry = entries[i];
    if (!absl::StartsWith(entry, ":")) {
      out.push_back(entry);
      continue;
    }
    const spec::v1::Node* node = nullptr;
    for (const auto& n : spec.nodes()) {
      if (n.name() == local_node) node = &n;
    }
    if (node == nullptr || node->addresses().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, entries.size() > 1 || field == "api.listen"
                                  ? absl::StrCat("[", i, "]")
                                  : "",
                       " '", entry, "' means this node's own addresses, and node ", local_node,
                       " has none in the spec"));
    }
    for (const std::string& a : node->addresses()) {
      const bool v6 = a.find(':') != std::string::npos;
      out.push_back(absl::StrCat(v6 ? "[" : "", a, v6 ? "]" : "", entry));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ApiListenAddresses(const spec::v1::ClusterSpec& spec,
                                                            const std::string& local_node) {
  return ExpandListen(spec, local_node,
                      std::vector<std::string>(spec.api().listen().begin(),
                                               spec.api().listen().end()),
                      "api.listen");
}

absl::StatusOr<std::vector<std::string>> MetricsListenAddresses(
    const spec::v1::ClusterSpec& spec, const std::string& local_node) {
  if (spec.api().metrics_listen().empty()) return std::vector<std::string>();
  return ExpandListen(spec, local_node, {spec.api().metrics_listen()}, "api.metrics_listen");
}

}  // namespace hacluster::agent
