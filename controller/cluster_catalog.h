// The clusters ha-controller watches: read from one spec file or from a
// directory of them (one per cluster, "*.yaml" and "*.yml"), each validated
// as `hacli validate` does. For every node: the API endpoints the spec
// gives it (api.listen, ":PORT" being its own addresses), which is how the
// controller, like `hacli apply`, finds the agents from the spec alone.
//
// Thread-safety: a Catalog is immutable once loaded; share it freely.
#ifndef HACLUSTER_CONTROLLER_CLUSTER_CATALOG_H_
#define HACLUSTER_CONTROLLER_CLUSTER_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::controller {

struct CatalogNode {
  std::string name;
  std::vector<std::string> endpoints;  // "192.0.2.11:7443", "[2001:db8::1]:7443"
};

struct CatalogCluster {
  std::string name;
  std::string file;  // the spec file it came from
  spec::v1::ClusterSpec spec;
  std::vector<CatalogNode> nodes;  // spec order
  // Each group's virtual IPs, in spec order of groups.
  std::vector<std::pair<std::string, std::vector<std::string>>> group_addresses;
};

struct Catalog {
  std::vector<CatalogCluster> clusters;  // sorted by name
  // "192.0.2.10" -> (cluster index, group name); a group name is looked up
  // in the clusters themselves.
  std::map<std::string, std::pair<size_t, std::string>> by_address;

  const CatalogCluster* Find(const std::string& name) const;
};

// Reads `path`: a spec file, or a directory whose *.yaml / *.yml files are
// specs (other files are skipped; subdirectories are not read). Refused,
// with the file and line of every problem: an invalid spec, a spec without
// api.listen (the controller could not reach its nodes), two files with
// one cluster_name, one virtual IP in two clusters, a directory without
// specs.
absl::StatusOr<Catalog> LoadCatalog(const std::string& path);

// The same from texts already read: (file name, YAML text) pairs. Pure
// apart from the key-file checks of validation (paths relative to each
// file's directory).
absl::StatusOr<Catalog> BuildCatalog(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace hacluster::controller

#endif  // HACLUSTER_CONTROLLER_CLUSTER_CATALOG_H_
