#include "agent/config/diagnostics.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace hacluster::config {

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string out = d.location.file.empty() ? "<input>" : d.location.file;
  if (d.location.line > 0) {
    absl::StrAppend(&out, ":", d.location.line);
    if (d.location.column > 0) absl::StrAppend(&out, ":", d.location.column);
  }
  absl::StrAppend(&out, d.severity == Severity::kError ? ": error: " : ": warning: ",
                  d.message);
  return out;
}

std::string FormatDiagnostics(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const Diagnostic& d : ds) absl::StrAppend(&out, FormatDiagnostic(d), "\n");
  return out;
}

bool HasErrors(const std::vector<Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

Location SourceMap::Find(absl::string_view path) const {
  std::string p(path);
  while (true) {
    auto it = locations_.find(p);
    if (it != locations_.end()) return it->second;
    size_t cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  return Location{file_, 0, 0};
}

bool SourceMap::Has(absl::string_view path) const {
  return locations_.find(path) != locations_.end();
}

namespace {
// Case-insensitive edit distance where swapping two neighbours ("nmae" for
// "name") counts as one edit, the commonest typo (optimal string alignment).
size_t EditDistance(absl::string_view a, absl::string_view b) {
  auto same = [&](size_t i, size_t j) {
    return absl::ascii_tolower(a[i]) == absl::ascii_tolower(b[j]);
  };
  std::vector<size_t> before(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same(i - 1, j - 1) ? 0 : 1)});
      if (i > 1 && j > 1 && same(i - 1, j - 2) && same(i - 2, j - 1)) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

std::string ClosestMatch(absl::string_view word,
                         const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace hacluster::config
