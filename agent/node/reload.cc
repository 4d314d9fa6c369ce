#include "agent/node/reload.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/groups/group_runner.h"

namespace hacluster::agent {
namespace {

bool SameMedia(const spec::v1::ClusterSpec& a, const spec::v1::ClusterSpec& b) {
  if (a.media_size() != b.media_size() || a.nodes_size() != b.nodes_size() ||
      a.udp_port() != b.udp_port()) {
    return false;
  }
  for (int i = 0; i < a.media_size(); ++i) {
    if (a.media(i).SerializeAsString() != b.media(i).SerializeAsString()) return false;
  }
  for (int i = 0; i < a.nodes_size(); ++i) {
    const auto& x = a.nodes(i).addresses();
    const auto& y = b.nodes(i).addresses();
    if (x.size() != y.size() || !std::equal(x.begin(), x.end(), y.begin())) return false;
  }
  return true;
}

// Makes and opens the media of `spec` into *out; the error names each
// medium that could not be opened. With `all_or_none`, *out is left empty
// then; else it holds every medium, in the spec's order (a medium's index
// is its link's), those that failed closed.
absl::Status OpenMedia(const MediaFactory& factory, const spec::v1::ClusterSpec& spec,
                       const std::string& local_node, bool all_or_none,
                       std::vector<std::unique_ptr<media::Medium>>* out) {
  auto media = factory(spec, local_node);
  if (!media.ok()) return media.status();
  std::vector<std::string> failed;
  for (auto& m : *media) {
    absl::Status s = m->Open();
    if (!s.ok()) failed.push_back(std::string(s.message()));
  }
  if (failed.empty() || !all_or_none) *out = *std::move(media);
  if (!failed.empty()) return absl::UnavailableError(absl::StrJoin(failed, "; "));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> BuildConfig(spec::v1::ClusterSpec spec, const std::string& local_node,
                                   const std::string& config_dir, bool make_media,
                                   const MediaFactory& factory) {
  Config c;
  c.timing = TimingOf(spec);
  auto keyring = wire::Keyring::FromSpec(spec.auth(), config_dir);
  if (!keyring.ok()) return keyring.status();
  c.keyring = std::make_unique<wire::Keyring>(*std::move(keyring));
  if (make_media) {
    auto media = factory(spec, local_node);
    if (!media.ok()) return media.status();
    c.media = *std::move(media);
  }
  c.spec = std::move(spec);
  return c;
}

absl::Status CheckResourceScripts(const spec::v1::ClusterSpec& spec,
                                  const exec::ScriptPaths& paths) {
  std::vector<std::string> problems;
  for (const auto& g : spec.groups()) {
    for (const auto& r : g.resources()) {
      if (r.kind_case() == spec::v1::Resource::kIp) continue;
      auto command = exec::CommandFor(r, exec::Op::kStart, paths);
      if (!command.ok()) {
        problems.push_back(absl::StrCat("group ", g.name(), " resource ", ResourceDisplayName(r), ": ",
                                        command.status().message()));
      }
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrJoin(problems, "; "));
}

absl::Status CheckHb3Groups(const spec::v1::ClusterSpec& running,
                            const spec::v1::ClusterSpec& next) {
  if (running.wire() != spec::v1::WIRE_FORMAT_HEARTBEAT3 ||
      next.wire() != spec::v1::WIRE_FORMAT_HEARTBEAT3) {
    return absl::OkStatus();
  }
  std::map<std::string, std::string> before, after;  // group -> preferred node
  for (const auto& g : running.groups()) before[g.name()] = g.preferred_node();
  for (const auto& g : next.groups()) after[g.name()] = g.preferred_node();
  if (before == after) return absl::OkStatus();
  std::string what;
  for (const auto& [name, node] : after) {
    auto it = before.find(name);
    if (it == before.end()) {
      what = absl::StrCat("group ", name, " added");
    } else if (it->second != node) {
      what = absl::StrCat("group ", name, " moved from ", it->second, " to ", node);
    }
    if (!what.empty()) break;
  }
  if (what.empty()) {
    for (const auto& [name, node] : before) {
      if (after.count(name) == 0) {
        what = absl::StrCat("group ", name, " removed");
        break;
      }
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      what, ": on wire: heartbeat3 the groups and their preferred nodes stay those of the "
      "Heartbeat peer's haresources, which it alone runs from; switch both nodes to wire: "
      "native first (docs/migration.md, step 4), then change the groups"));
}

SpecDiff DiffSpecs(const spec::v1::ClusterSpec& running, const spec::v1::ClusterSpec& next,
                   const std::string& state_dir) {
  SpecDiff d;
  d.old_version = running.config_version();
  d.new_version = next.config_version();
  d.cluster_renamed = running.cluster_name() != next.cluster_name();
  d.media_changed = !SameMedia(running, next);
  d.needs_pinger = !PingTargets(next).empty();
  d.socket_changed = ApiSocketPath(running, state_dir) != ApiSocketPath(next, state_dir) ||
                     running.api().unix_socket_group() != next.api().unix_socket_group();
  return d;
}

absl::StatusOr<PreparedReload> PrepareReload(spec::v1::ClusterSpec next, Config& running,
                                             bool has_pinger, const std::string& local_node,
                                             const std::string& config_dir,
                                             const std::string& state_dir, bool* running_closed,
                                             const MediaFactory& factory) {
  *running_closed = false;
  PreparedReload p;
  p.diff = DiffSpecs(running.spec, next, state_dir);
  // Everything that can fail without touching the running node comes first.
  auto config =
      BuildConfig(std::move(next), local_node, config_dir, /*make_media=*/false, factory);
  if (!config.ok()) return config.status();
  p.config = *std::move(config);
  if (p.diff.needs_pinger && !has_pinger) {
    auto pinger = ping::Pinger::Open();
    if (!pinger.ok()) return pinger.status();
    p.pinger = *std::move(pinger);
  }
  if (!p.diff.media_changed) return p;
  running.media.clear();  // closes them
  *running_closed = true;
  absl::Status opened =
      OpenMedia(factory, p.config.spec, local_node, /*all_or_none=*/true, &p.config.media);
  if (opened.ok()) return p;
  absl::Status reopened =
      OpenMedia(factory, running.spec, local_node, /*all_or_none=*/false, &running.media);
  if (!reopened.ok()) {
    return absl::UnavailableError(
        absl::StrCat(opened.message(), "; and the running media could not be reopened: ",
                     reopened.message()));
  }
  return opened;
}

absl::Status AbortReload(PreparedReload prepared, Config& running, const std::string& local_node,
                         const MediaFactory& factory) {
  const bool reopen = prepared.diff.media_changed;
  prepared = PreparedReload{};  // closes what prepare opened first: it may hold the same ports
  if (!reopen) return absl::OkStatus();
  return OpenMedia(factory, running.spec, local_node, /*all_or_none=*/false, &running.media);
}

}  // namespace hacluster::agent
