#include "agent/config/duration.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hacluster::config {

namespace {
constexpr int64_t kMaxMs = int64_t{30} * 24 * 3600 * 1000;
}

absl::StatusOr<int64_t> ParseDurationMs(absl::string_view text) {
  absl::string_view t = absl::StripAsciiWhitespace(text);
  size_t i = 0;
  while (i < t.size() && (absl::ascii_isdigit(t[i]) || t[i] == '.')) ++i;
  absl::string_view number = t.substr(0, i);
  std::string unit = absl::AsciiStrToLower(t.substr(i));
  if (number.empty() || number == ".") {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a duration; write e.g. 500ms, 2s or 2 (seconds)"));
  }
  int64_t scale;  // milliseconds per unit
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m" || unit == "min") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 3600 * 1000;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' has an unknown unit '", unit, "'; use ms, s, m or h"));
  }
  size_t dot = number.find('.');
  absl::string_view whole = number.substr(0, dot);
  absl::string_view frac =
      dot == absl::string_view::npos ? absl::string_view() : number.substr(dot + 1);
  if (frac.find('.') != absl::string_view::npos || (whole.empty() && frac.empty()) ||
      whole.size() > 12 || frac.size() > 12) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a duration"));
  }
  int64_t w = 0;
  if (!whole.empty() && !absl::SimpleAtoi(whole, &w)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a duration"));
  }
  // Fraction in units of 10^-frac.size(), converted exactly.
  int64_t f = 0;
  if (!frac.empty() && !absl::SimpleAtoi(frac, &f)) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a duration"));
  }
  int64_t denom = 1;
  for (size_t k = 0; k < frac.size(); ++k) denom *= 10;
  if (w > kMaxMs / scale) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is too long (at most 30 days)"));
  }
  if ((f * scale) % denom != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not a whole number of milliseconds"));
  }
  int64_t ms = w * scale + f * scale / denom;
  if (ms > kMaxMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is too long (at most 30 days)"));
  }
  return ms;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  return absl::StrCat(ms, "ms");
}

int64_t ToMs(const google::protobuf::Duration& d) {
  // Clamped to +-10^12 s (tens of millennia) so that a Duration from the wire
  // cannot overflow here or in the arithmetic callers do on the result.
  constexpr int64_t kLimit = 1000000000000;
  int64_t seconds = std::clamp<int64_t>(d.seconds(), -kLimit, kLimit);
  return seconds * 1000 + d.nanos() / 1000000;
}

google::protobuf::Duration FromMs(int64_t ms) {
  google::protobuf::Duration d;
  d.set_seconds(ms / 1000);
  d.set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  return d;
}

}  // namespace hacluster::config
