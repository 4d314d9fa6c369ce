#include "agent/membership/time_text.h"

#include <cstdint>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace hacluster::agent {
namespace {

// The ranges google/protobuf/duration.proto and timestamp.proto allow.
constexpr int64_t kMaxProtoDurationSeconds = 315576000000;
constexpr int64_t kMinProtoTimestampSeconds = -62135596800;  // 0001-01-01
constexpr int64_t kMaxProtoTimestampSeconds = 253402300799;  // 9999-12-31

}  // namespace

std::string DurationText(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "forever";
  if (d == -absl::InfiniteDuration()) return "-forever";
  int64_t ms = absl::ToInt64Milliseconds(d);
  const char* sign = "";
  if (ms < 0) {
    sign = "-";
    ms = -ms;
  }
  if (ms < 1000) return absl::StrCat(sign, ms, " ms");
  const int64_t whole = ms / 1000;
  int frac = static_cast<int>(ms % 1000);
  if (frac == 0) return absl::StrCat(sign, whole, " s");
  // Three digits, trailing zeros dropped: 400 -> "4", 10 -> "01".
  char digits[4];
  std::snprintf(digits, sizeof(digits), "%03d", frac);
  int len = 3;
  while (digits[len - 1] == '0') --len;
  digits[len] = '\0';
  return absl::StrCat(sign, whole, ".", digits, " s");
}

void SetProtoDuration(absl::Duration d, google::protobuf::Duration* out) {
  const absl::Duration max = absl::Seconds(kMaxProtoDurationSeconds);
  if (d > max) d = max;
  if (d < -max) d = -max;
  absl::Duration rem;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &rem);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem / absl::Nanoseconds(1)));
}

void SetProtoTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const absl::Time min = absl::FromUnixSeconds(kMinProtoTimestampSeconds);
  const absl::Time max = absl::FromUnixSeconds(kMaxProtoTimestampSeconds);
  if (t < min) t = min;
  if (t > max) t = max;
  const int64_t seconds = absl::ToUnixSeconds(t);  // floor
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      (t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

}  // namespace hacluster::agent
