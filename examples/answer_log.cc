// AnswerLog: see answer_log.h.
#include "examples/answer_log.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hacluster::examples {

std::optional<AnswerLog::Change> AnswerLog::Add(absl::Duration at, const std::string& node) {
  const absl::Duration silence = at - last_at_;
  std::optional<Change> change;
  if (answers_ > 0 && silence > longest_) {
    longest_ = silence;
    longest_before_ = last_node_;
    longest_after_ = node;
  }
  if (answers_ == 0 || node != last_node_) change = Change{at, node, last_node_, silence};
  ++answers_;
  last_at_ = at;
  last_node_ = node;
  return change;
}

std::string AnswerLog::Summary(uint64_t probes, absl::Duration stopped_at) const {
  std::string s = absl::StrCat("answers ", answers_, " of ", probes, " probes");
  if (answers_ == 0) return absl::StrCat(s, ", no answer");
  if (answers_ == 1) {
    absl::StrAppend(&s, ", one answer only, from ", last_node_);
  } else {
    absl::StrAppend(&s, ", longest gap ", Ms(longest_), " from ", longest_before_, " to ",
                    longest_after_, ", last answer from ", last_node_);
  }
  const absl::Duration tail = stopped_at - last_at_;
  if (tail > longest_) absl::StrAppend(&s, ", then no answer for ", Ms(tail), " up to the stop");
  return s;
}

std::string AnswerLog::Ms(absl::Duration d) {
  return absl::StrFormat("%.1f ms", absl::ToDoubleMilliseconds(d));
}

}  // namespace hacluster::examples
