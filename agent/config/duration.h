// Durations as operators write them, in millisecond precision.
//
// One syntax for the YAML spec and for legacy ha.cf: a number of seconds
// ("2", "1.5"), or a number with a unit: "500ms", "2s", "1m", "1h". The
// canonical form, used when writing YAML, is the shortest exact one:
// "500ms", "2s", "1500ms". Heartbeat's ha.cf takes the same forms (plain
// seconds, or "ms").
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_AGENT_CONFIG_DURATION_H_
#define HACLUSTER_AGENT_CONFIG_DURATION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"

namespace hacluster::config {

// Parses a non-negative duration to milliseconds. Errors (InvalidArgument)
// say what is wrong: no digits, an unknown unit, a fraction of a
// millisecond, or a value over 30 days.
absl::StatusOr<int64_t> ParseDurationMs(absl::string_view text);

// Canonical text of a non-negative millisecond count: "0s", "500ms", "2s",
// "1500ms".
std::string FormatDurationMs(int64_t ms);

// Conversions to and from google.protobuf.Duration (truncated to ms; ToMs
// clamps absurd values to +-10^12 seconds instead of overflowing).
int64_t ToMs(const google::protobuf::Duration& d);
google::protobuf::Duration FromMs(int64_t ms);

}  // namespace hacluster::config

#endif  // HACLUSTER_AGENT_CONFIG_DURATION_H_
