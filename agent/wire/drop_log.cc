#include "agent/wire/drop_log.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hacluster::wire {

namespace {

constexpr DropReason kAllReasons[] = {
    DropReason::kMalformed,    DropReason::kUnknownKey,    DropReason::kBadMac,
    DropReason::kWrongMethod, DropReason::kWrongCluster, DropReason::kReplay,
};

// What a drop means to an operator reading the log.
absl::string_view Meaning(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed frame";
    case DropReason::kUnknownKey:
    case DropReason::kBadMac:
    case DropReason::kWrongMethod:
      return "failed authentication";
    case DropReason::kWrongCluster:
      return "heartbeat of another cluster";
    case DropReason::kReplay:
      return "replayed or stale heartbeat";
  }
  return "dropped";
}

// "10 s", "10.25 s": seconds to the millisecond, without trailing zeros.
std::string Seconds(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, " s");
  char frac[8];
  std::snprintf(frac, sizeof frac, "%03d", static_cast<int>(ms % 1000));
  std::string f = frac;
  while (f.back() == '0') f.pop_back();
  return absl::StrCat(ms / 1000, ".", f, " s");
}

}  // namespace

DropLog::DropLog(absl::Duration interval, size_t max_sources)
    : interval_(interval), max_sources_(max_sources == 0 ? 1 : max_sources) {
  static_assert(static_cast<size_t>(DropReason::kReplay) + 1 == kReasons,
                "one counter per DropReason");
}

std::optional<std::string> DropLog::Record(absl::string_view source, DropReason reason,
                                           absl::string_view detail, agent::MonoTime now) {
  const size_t r = static_cast<size_t>(reason);
  ++totals_[r];
  auto it = sources_.find(source);
  uint64_t unlogged = 0;
  absl::Duration since = absl::ZeroDuration();
  if (it == sources_.end()) {
    if (sources_.size() >= max_sources_) {
      sources_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.emplace_front(source);
    it = sources_.try_emplace(recency_.front()).first;
    it->second.recency = recency_.begin();
  } else {
    Source& s = it->second;
    recency_.splice(recency_.begin(), recency_, s.recency);
    since = now - s.last_line;
    if (since < interval_) {
      ++s.total_by_reason[r];
      ++s.unlogged;
      ++s.unlogged_by_reason[r];
      return std::nullopt;
    }
    unlogged = s.unlogged;
  }
  Source& s = it->second;
  ++s.total_by_reason[r];
  s.last_line = now;
  s.unlogged = 0;
  s.unlogged_by_reason = {};
  std::string line = absl::StrCat("dropped packet from ", source, ": ", Meaning(reason), " (",
                                  DropReasonName(reason));
  if (!detail.empty()) absl::StrAppend(&line, ", ", detail);
  line += ")";
  if (unlogged > 0) {
    absl::StrAppend(&line, "; ", unlogged, " more from this source in the last ",
                    Seconds(since));
  }
  return line;
}

std::vector<std::string> DropLog::Flush(agent::MonoTime now) {
  std::vector<std::string> lines;
  for (const std::string& name : recency_) {
    Source& s = sources_.find(name)->second;
    if (s.unlogged == 0 || now - s.last_line < interval_) continue;
    std::string line = absl::StrCat("dropped ", s.unlogged, " more packet",
                                    s.unlogged == 1 ? "" : "s", " from ", name, " in the last ",
                                    Seconds(now - s.last_line), " (");
    const char* sep = "";
    for (DropReason reason : kAllReasons) {
      uint64_t n = s.unlogged_by_reason[static_cast<size_t>(reason)];
      if (n == 0) continue;
      absl::StrAppend(&line, sep, DropReasonName(reason), " ", n);
      sep = ", ";
    }
    line += ")";
    lines.push_back(std::move(line));
    s.last_line = now;
    s.unlogged = 0;
    s.unlogged_by_reason = {};
  }
  return lines;
}

std::map<std::string, uint64_t> DropLog::TotalsByReason() const {
  std::map<std::string, uint64_t> totals;
  for (DropReason reason : kAllReasons) {
    totals[std::string(DropReasonName(reason))] = totals_[static_cast<size_t>(reason)];
  }
  return totals;
}

uint64_t DropLog::CountForSource(absl::string_view source, DropReason reason) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? 0 : it->second.total_by_reason[static_cast<size_t>(reason)];
}

}  // namespace hacluster::wire
