#include "agent/config/not_acted_on.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::config {
namespace {

constexpr char kNotActedOn[] = " is not acted on by this version of ha-agent: ";

}  // namespace

std::string RespawnNotActedOn(const spec::v1::Respawn& respawn) {
  std::string program = respawn.argv().empty() || respawn.argv(0).empty()
                            ? std::string("the listed program")
                            : respawn.argv(0);
  return absl::StrCat("respawn", kNotActedOn, program,
                      " will not be started, nor restarted when it dies");
}

std::string WatchdogNotActedOn(absl::string_view device) {
  return absl::StrCat("watchdog_device ", device, kNotActedOn,
                      "no hardware watchdog will be kept alive");
}

std::vector<NotActedOn> NotActedOnKeys(const spec::v1::ClusterSpec& spec) {
  std::vector<NotActedOn> out;
  for (int i = 0; i < spec.respawn_size(); ++i) {
    out.push_back({absl::StrCat("respawn[", i, "]"), RespawnNotActedOn(spec.respawn(i))});
  }
  if (!spec.watchdog_device().empty()) {
    out.push_back({"watchdog_device", WatchdogNotActedOn(spec.watchdog_device())});
  }
  const auto& api = spec.api();
  if (!api.listen().empty()) {
    out.push_back({"api.listen",
                   absl::StrCat("api.listen", kNotActedOn,
                                "the API is served only on the Unix socket (api.unix_socket, "
                                "default STATE_DIR/agent.sock), not on ",
                                absl::StrJoin(api.listen(), ", "))});
  }
  const std::pair<const char*, const std::string*> tls[] = {
      {"api.tls_cert", &api.tls_cert()},
      {"api.tls_key", &api.tls_key()},
      {"api.tls_client_ca", &api.tls_client_ca()}};
  for (const auto& [key, value] : tls) {
    if (value->empty()) continue;
    out.push_back({key, absl::StrCat(key, kNotActedOn,
                                     "there is no TCP API for it to secure; the API is served "
                                     "only on the Unix socket")});
  }
  return out;
}

}  // namespace hacluster::config
