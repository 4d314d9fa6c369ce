// Cluster spec -> Heartbeat's ha.cf, haresources and authkeys for one node:
// the way back (rollback) from the agent to Heartbeat 1.
//
// Converting the files it writes (ConvertLegacy, or ConvertLegacyPair with
// both nodes' files) gives back the same spec for every spec that came from
// legacy files. Things Heartbeat cannot express are errors
// (InvalidArgument): sha256 keys, keys in files, OCF agents other than
// Filesystem and MailTo, fencing commands, serial lines with different
// speeds, ucast media with nobody to send to, an unknown node. Things
// Heartbeat 1 merely has no place for (resource monitors and timeouts, group
// and resource names, node labels, the API section, config_version) are
// left out and listed in LegacyFiles::dropped. Ping nodes come with the
// `respawn` and `apiauth` lines of ipfail, which in Heartbeat 1 does what
// the agent does with them (ConvertLegacy drops those lines again).
//
// Thread-safety: pure function.
#ifndef HACLUSTER_MIGRATE_LEGACY_WRITER_H_
#define HACLUSTER_MIGRATE_LEGACY_WRITER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::migrate {

struct LegacyFiles {
  std::string ha_cf;
  std::string haresources;
  std::string authkeys;
  // Spec settings left out because Heartbeat 1 has no place for them, each
  // as "PATH: why", e.g. "groups[0].resources[1].monitor_interval: ...".
  std::vector<std::string> dropped;
};

// The files of node `node` (ha.cf differs between nodes in its ucast lines
// only). InvalidArgument when `node` is not in the spec or the spec uses
// something Heartbeat cannot express.
absl::StatusOr<LegacyFiles> SpecToLegacy(const spec::v1::ClusterSpec& spec,
                                         const std::string& node);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_LEGACY_WRITER_H_
