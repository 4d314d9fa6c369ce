// What a spec means for one running node: the timing with every default
// applied, and the local node's place in the spec. Pure; the agent computes
// it at start and at every SIGHUP reload.
//
// Thread-safety: plain values and pure functions.
#ifndef HACLUSTER_AGENT_NODE_SETTINGS_H_
#define HACLUSTER_AGENT_NODE_SETTINGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::agent {

struct EffectiveTiming {
  absl::Duration keepalive;  // default 1 s
  absl::Duration warntime;   // default max(keepalive, deadtime / 2)
  absl::Duration deadtime;   // default 30 s
  absl::Duration initdead;   // default 2 x deadtime
  absl::Duration deadping;   // default deadtime
};

EffectiveTiming TimingOf(const spec::v1::ClusterSpec& spec);

// How long the holder of a planned move waits for the target to say it
// awaits the group (agent/groups/controller.h): two keepalives and 10 ms
// (the target reads a heartbeat by its next wake and answers at once), at
// most deadtime.
absl::Duration HandoffWait(const EffectiveTiming& t);

// The local node's name: `flag` when given, else the host name (uname -n,
// as Heartbeat does). Errors when that name is not a node of the spec, and
// lists the nodes that are.
absl::StatusOr<std::string> LocalNodeName(const spec::v1::ClusterSpec& spec,
                                          const std::string& flag);

// The API socket: spec.api.unix_socket, else STATE_DIR/agent.sock.
std::string ApiSocketPath(const spec::v1::ClusterSpec& spec, const std::string& state_dir);

// The TCP addresses the API listens on, in gRPC's "host:port" form
// ("[v6]:port" for IPv6), from spec.api.listen: ":PORT" becomes each of
// `local_node`'s own addresses on PORT. Empty when listen is. An error names
// the entry when ":PORT" finds the node without addresses.
absl::StatusOr<std::vector<std::string>> ApiListenAddresses(const spec::v1::ClusterSpec& spec,
                                                            const std::string& local_node);

// The addresses of api.metrics_listen as ApiListenAddresses gives them for
// api.listen (":PORT": each of the node's own addresses). Empty when unset.
absl::StatusOr<std::vector<std::string>> MetricsListenAddresses(
    const spec::v1::ClusterSpec& spec, const std::string& local_node);

// What GetSpec sends in place of a key's inline `secret`: secrets never
// leave a node over the API (GetSpec is a reader's call).
inline constexpr char kSecretNotSent[] = "(inline secret not sent over the API)";

// `spec` with every key's inline secret replaced by kSecretNotSent.
spec::v1::ClusterSpec RedactSecrets(spec::v1::ClusterSpec spec);

// A spec fetched from a peer (catch-up), its inline secrets put back from
// `own` (the key with the same id and method). FailedPrecondition naming
// the key when this node does not have it: it is new or changed, and an
// inline secret cannot travel; a secret_file can.
absl::Status RestoreSecrets(const spec::v1::ClusterSpec& own, spec::v1::ClusterSpec* fetched);

// The first 16 bytes of the SHA-256 of `spec` in protobuf's deterministic
// serialization: two nodes with the same hash run the same spec.
std::string SpecHash(const spec::v1::ClusterSpec& spec);
// `bytes` as lower-case hex.
std::string Hex(const std::string& bytes);

// Every ping target as (group name or "", host), ping nodes first.
std::vector<std::pair<std::string, std::string>> PingTargets(const spec::v1::ClusterSpec& spec);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_SETTINGS_H_
