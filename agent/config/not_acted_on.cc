#include "agent/config/not_acted_on.h"

#include "absl/strings/str_cat.h"

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
  return out;
}

}  // namespace hacluster::config
