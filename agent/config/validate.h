// The rules a cluster spec must satisfy before any binary acts on it.
//
// Field rules (required fields, address and CIDR syntax, ranges, unique
// names) and cross-field rules (deadtime > keepalive, warntime between
// keepalive and deadtime, preferred node exists, a VIP is not a node's own
// address, at least one medium, keys present for HMAC methods, key files
// mode 0600, respawn programs and the watchdog device are absolute
// paths, ...). Each problem is reported at the spec path it concerns,
// resolved through the SourceMap to the file and line it came from: the
// YAML file, or the legacy ha.cf/haresources/authkeys line it was
// converted from.
//
// Thread-safety: pure function (it may stat key files).
#ifndef HACLUSTER_AGENT_CONFIG_VALIDATE_H_
#define HACLUSTER_AGENT_CONFIG_VALIDATE_H_

#include <string>
#include <vector>

#include "agent/config/diagnostics.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::config {

struct ValidateOptions {
  // Directory that relative secret_file paths are relative to (the spec
  // file's directory). Empty: the current directory.
  std::string base_dir;
  // Whether to stat secret files (existence and mode 0600).
  bool check_files = true;
};

// Returns every error and warning found; the spec is valid when none of them
// is an error.
std::vector<Diagnostic> ValidateSpec(const spec::v1::ClusterSpec& spec,
                                     const SourceMap& source_map,
                                     const ValidateOptions& options = {});

}  // namespace hacluster::config

#endif  // HACLUSTER_AGENT_CONFIG_VALIDATE_H_
