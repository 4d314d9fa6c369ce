// Keys of the spec that this version of ha-agent accepts but does not act
// on yet: respawn and watchdog_device. A spec using them stays
// valid, so that it keeps working once they are implemented, but every one
// that is set is reported as a warning naming the key and what will not
// happen, never silently ignored.
//
// ValidateSpec (validate.h) warns at each key's spec path; the legacy
// converter (migrate/converter.cc) warns with the same words at the ha.cf
// line of `respawn` and `watchdog`, so a caller that shows both can drop
// the identical pair.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_AGENT_CONFIG_NOT_ACTED_ON_H_
#define HACLUSTER_AGENT_CONFIG_NOT_ACTED_ON_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::config {

struct NotActedOn {
  std::string path;     // the spec path of the key, e.g. "respawn[0]", "api.listen"
  std::string message;  // "<key> is not acted on by this version of ha-agent: ..."
};

// One entry per key set in `spec` that is not acted on, in spec order.
std::vector<NotActedOn> NotActedOnKeys(const spec::v1::ClusterSpec& spec);

// The messages for one respawn entry and for a watchdog device.
std::string RespawnNotActedOn(const spec::v1::Respawn& respawn);
std::string WatchdogNotActedOn(absl::string_view device);

}  // namespace hacluster::config

#endif  // HACLUSTER_AGENT_CONFIG_NOT_ACTED_ON_H_
