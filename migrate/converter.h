// Legacy Heartbeat configuration (ha.cf + haresources + authkeys text) ->
// cluster spec, with a SourceMap that ties every spec path it sets to the
// legacy FILE:LINE it came from, and diagnostics for everything it cannot
// convert (errors) or finds suspicious (warnings).
//
// Cross-field rules of the spec (deadtime vs keepalive, warntime > deadtime,
// crc over a shared network, ...) are not checked here: run
// config::ValidateSpec on the result with its source_map, and its findings
// come out at the legacy lines too.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_MIGRATE_CONVERTER_H_
#define HACLUSTER_MIGRATE_CONVERTER_H_

#include <set>
#include <string>
#include <vector>

#include "agent/config/diagnostics.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::migrate {

struct MigrateOptions {
  // The other node's /etc/ha.d, for a two-node cluster converted from both
  // directories at once (MigrateFromDir only). Optional.
  std::string peer_dir;
  // The node the converted directory belongs to. Optional: else found from
  // the directory's name (or its parent's) when that is a node name.
  std::string node;
  // Optional: else derived from the node names ("node01-node02").
  std::string cluster_name;
  // A rolling migration: the spec gets wire: heartbeat3, so that the
  // converted node joins its peer while the peer still runs Heartbeat.
  // What Heartbeat's wire cannot carry is an error at its legacy line: serial
  // media, ping and ping_group (connectivity), a node count other than 2.
  // Keys keep their crc/md5/sha1 method either way.
  bool rolling = false;
};

struct MigrateResult {
  spec::v1::ClusterSpec spec;
  config::SourceMap source_map;
  std::vector<config::Diagnostic> diagnostics;  // errors and warnings, in order

  bool ok() const { return !config::HasErrors(diagnostics); }
};

// The three files of one node's /etc/ha.d, as text.
struct LegacyText {
  std::string ha_cf;
  std::string haresources;
  std::string authkeys;
  // File names used in diagnostics and the SourceMap.
  std::string ha_cf_name = "ha.cf";
  std::string haresources_name = "haresources";
  std::string authkeys_name = "authkeys";
  // The directory the files came from (used to tell which node it belongs
  // to in ConvertLegacyPair). Optional.
  std::string dir;
  // Names of the scripts in the directory's resource.d: plain haresources
  // names found there are Heartbeat scripts rather than LSB services.
  std::set<std::string> local_scripts;
};

// Converts one node's files. ucast lines become media with explicit peers.
// options.peer_dir is ignored; options.node, when set, must be a node.
MigrateResult ConvertLegacy(const LegacyText& text, const MigrateOptions& options);

// Converts a two-node cluster from both nodes' files: `text` is the node
// options.node (or the one its directory is named after), `peer` the other.
// Checks that haresources and authkeys are the same and that ha.cf differs
// only in ucast lines; each node's addresses come from the other node's
// ucast lines, and the ucast media carry no peers. Diagnostics name the file
// they concern; the SourceMap points into `text`'s files (node addresses
// into `peer`'s ha.cf, where they are written).
MigrateResult ConvertLegacyPair(const LegacyText& text, const LegacyText& peer,
                                const MigrateOptions& options);

// The cluster name used when none is given: node names joined by '-', with
// characters other than [A-Za-z0-9._-] replaced by '_', at most 63
// characters; "cluster" when there are no nodes.
std::string DeriveClusterName(const std::vector<std::string>& node_names);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_CONVERTER_H_
