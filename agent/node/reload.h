// Reloading the spec of a running agent (SIGHUP) in two steps, so that a
// reload is applied whole or not at all: PrepareReload builds the new
// config for this node and opens what it needs (its media when they
// change, a pinger when it needs one and none runs); the agent then commits
// the prepared config, or aborts it with AbortReload, which closes what
// prepare opened and reopens what it closed. DiffSpecs, the pure part, says
// what a new spec changes against the running one.
//
// Thread-safety: DiffSpecs is pure; the rest is called by the loop thread
// only.
#ifndef HACLUSTER_AGENT_NODE_RELOAD_H_
#define HACLUSTER_AGENT_NODE_RELOAD_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/exec/command.h"
#include "agent/media/medium.h"
#include "agent/node/settings.h"
#include "agent/ping/pinger.h"
#include "agent/wire/keyring.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::agent {

// Makes (does not open) the media of a spec for the local node, in the
// spec's order: media::MakeMedia, or fakes in tests.
using MediaFactory = std::function<absl::StatusOr<std::vector<std::unique_ptr<media::Medium>>>(
    const spec::v1::ClusterSpec& spec, const std::string& local_node)>;

// Everything the spec decides for the running node, built as one piece at
// start and at a reload.
struct Config {
  spec::v1::ClusterSpec spec;
  EffectiveTiming timing;
  std::unique_ptr<wire::Keyring> keyring;
  std::vector<std::unique_ptr<media::Medium>> media;  // in the spec's order
};

// The config of `spec` for `local_node`: the keys are read (relative paths
// from `config_dir`), and unless `make_media` is false the media are made
// (not opened). An error names the key file or medium.
absl::StatusOr<Config> BuildConfig(spec::v1::ClusterSpec spec, const std::string& local_node,
                                   const std::string& config_dir, bool make_media,
                                   const MediaFactory& factory = media::MakeMedia);

// Whether every resource script of `spec`'s groups exists here and is
// executable (ip resources need none): an error naming each group,
// resource and path that is not.
absl::Status CheckResourceScripts(const spec::v1::ClusterSpec& spec,
                                  const exec::ScriptPaths& paths);

// A spec that stays on the heartbeat3 wire keeps its groups and their
// preferred nodes: the Heartbeat peer runs them from its own haresources
// (a line per group, on its preferred node), which no message can change,
// so a group it does not have would be started nowhere. InvalidArgument
// naming the group added, removed or moved; OK when either spec is on the
// native wire (switch the wire first, then change the groups).
absl::Status CheckHb3Groups(const spec::v1::ClusterSpec& running,
                            const spec::v1::ClusterSpec& next);

// What a new spec changes, as far as a reload must know.
struct SpecDiff {
  uint64_t old_version = 0;
  uint64_t new_version = 0;
  // cluster_name changed: refused (peers would drop every heartbeat).
  bool cluster_renamed = false;
  // The media, the nodes' addresses (ucast media bind and send by them),
  // the number of nodes or the UDP port changed: the media are reopened.
  bool media_changed = false;
  // The new spec has ping targets.
  bool needs_pinger = false;
  // The API socket's path or group changed: kept as it is until restart.
  bool socket_changed = false;
};

// `state_dir` locates the default API socket.
SpecDiff DiffSpecs(const spec::v1::ClusterSpec& running, const spec::v1::ClusterSpec& next,
                   const std::string& state_dir);

// A reload prepared and not yet committed or aborted.
struct PreparedReload {
  SpecDiff diff;
  // The new config; when diff.media_changed its media are open (and the
  // running config's are closed), else it has none and the running ones
  // stay.
  Config config;
  // Opened for the new spec: it needs a pinger and none ran.
  std::unique_ptr<ping::Pinger> pinger;
};

// Prepares `next` against `running`. When the media change, the running
// ones are closed first (the new ones may bind the same addresses, ports
// and devices) and the new ones opened; when one of those cannot open, the
// running ones are reopened (into running.media, all of them in order, any
// that cannot reopen closed) and the error returned.
// `has_pinger`: a pinger runs already. *running_closed says whether the
// running media were closed (then running.media holds new objects, reopened
// or, on success, none). Nothing else of `running` changes.
absl::StatusOr<PreparedReload> PrepareReload(spec::v1::ClusterSpec next, Config& running,
                                             bool has_pinger, const std::string& local_node,
                                             const std::string& config_dir,
                                             const std::string& state_dir, bool* running_closed,
                                             const MediaFactory& factory = media::MakeMedia);

// Drops `prepared` (its media and pinger close) and, when it had replaced
// the media, reopens the running ones into running.media (all of them, in
// order). Errors name the media that could not be reopened (those stay
// closed, the others are open).
absl::Status AbortReload(PreparedReload prepared, Config& running, const std::string& local_node,
                         const MediaFactory& factory = media::MakeMedia);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_RELOAD_H_
