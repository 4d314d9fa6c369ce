#include "agent/respawn/backoff.h"

#include <string.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hacluster::agent {
namespace {

std::string Ordinal(int n) {
  const int mod100 = n % 100;
  const char* suffix = "th";
  if (mod100 < 11 || mod100 > 13) {
    switch (n % 10) {
      case 1: suffix = "st"; break;
      case 2: suffix = "nd"; break;
      case 3: suffix = "rd"; break;
      default: break;
    }
  }
  return absl::StrCat(n, suffix);
}

}  // namespace

std::string DescribeEnd(const ProgramEnd& end) {
  if (end.signal != 0) {
    const char* name = strsignal(end.signal);
    return absl::StrCat("killed by signal ", end.signal, name != nullptr ? " (" : "",
                        name != nullptr ? name : "", name != nullptr ? ")" : "");
  }
  return absl::StrCat("exit status ", end.exit_status);
}

RespawnDecision RespawnBackoff::OnEnd(const ProgramEnd& end, absl::Duration ran) {
  RespawnDecision d;
  const std::string how = absl::StrCat(DescribeEnd(end), " after ", absl::FormatDuration(ran));
  if (end.signal == 0 && end.exit_status == kDoNotRestartStatus) {
    d.why = absl::StrCat(how, ": not restarted (exit status ", kDoNotRestartStatus,
                         " means do not restart)");
    return d;
  }
  d.restart = true;
  if (ran >= options_.stable_after) {
    quick_ends_ = 0;
    d.why = absl::StrCat(how, ": restarting");
    return d;
  }
  ++quick_ends_;
  if (quick_ends_ == 1) {
    d.why = absl::StrCat(how, " (it ran less than ", absl::FormatDuration(options_.stable_after),
                         "): restarting");
    return d;
  }
  absl::Duration delay = options_.first_delay;
  for (int i = 2; i < quick_ends_ && delay < options_.max_delay; ++i) delay *= 2;
  d.delay = std::min(delay, options_.max_delay);
  d.why = absl::StrCat(how, " (", Ordinal(quick_ends_), " quick end in a row, a crash loop): ",
                       "restarting in ", absl::FormatDuration(d.delay));
  return d;
}

}  // namespace hacluster::agent
