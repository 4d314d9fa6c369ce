// Small helpers shared by Membership and Connectivity: durations as
// operators read them in event reasons, and absl time values copied into
// the google.protobuf time messages of the status API.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_AGENT_MEMBERSHIP_TIME_TEXT_H_
#define HACLUSTER_AGENT_MEMBERSHIP_TIME_TEXT_H_

#include <string>

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace hacluster::agent {

// A duration for a reason line, at millisecond precision (truncated):
// "0 ms", "35 ms", "999 ms", "1 s", "2.4 s", "30 s", "30.001 s", "90 s".
// Below one second in milliseconds; from one second on in seconds with the
// fraction written only as far as it is not zero. Negative durations are
// written with a leading '-', an infinite one as "forever".
std::string DurationText(absl::Duration d);

// Copies `d` into `out` (seconds and nanoseconds, same sign as proto3
// requires). Infinite durations are clamped to the proto's range.
void SetProtoDuration(absl::Duration d, google::protobuf::Duration* out);

// Copies `t` into `out` (seconds since the Unix epoch and nanoseconds,
// nanos always in [0, 1e9)).
void SetProtoTimestamp(absl::Time t, google::protobuf::Timestamp* out);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_MEMBERSHIP_TIME_TEXT_H_
