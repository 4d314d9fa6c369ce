#include "agent/config/diagnostics.h"

#include <algorithm>
#include <cstdint>

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
// `a` is lower case already. Returns a value above `bound` as soon as two
// successive rows exceed it everywhere (the distance can only grow from
// there: a transposition reads two rows back). `rows` holds three rows of
// b.size() + 1 entries.
size_t EditDistance(absl::string_view a, absl::string_view b, size_t bound, size_t* rows) {
  const char* pa = a.data();
  const char* pb = b.data();
  const size_t w = b.size() + 1;
  size_t* before = rows;
  size_t* prev = rows + w;
  size_t* cur = rows + 2 * w;
  for (size_t j = 0; j < w; ++j) prev[j] = j;
  size_t prev_min = 0;
  for (size_t i = 1; i <= a.size(); ++i) {
    const char ai = pa[i - 1];
    cur[0] = i;
    size_t row_min = i;
    for (size_t j = 1; j < w; ++j) {
      const char bj = absl::ascii_tolower(static_cast<unsigned char>(pb[j - 1]));
      size_t v = prev[j - 1] + (ai == bj ? 0 : 1);
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      if (i > 1 && j > 1 && ai == absl::ascii_tolower(static_cast<unsigned char>(pb[j - 2])) &&
          pa[i - 2] == bj && before[j - 2] + 1 < v) {
        v = before[j - 2] + 1;
      }
      cur[j] = v;
      if (v < row_min) row_min = v;
    }
    if (row_min > bound && (i == 1 || prev_min > bound)) return bound + 1;
    prev_min = row_min;
    size_t* t = before;
    before = prev;
    prev = cur;
    cur = t;
  }
  return prev[b.size()];
}

// Which characters a word has, in 64 buckets (letters without case, digits,
// '_', the rest hashed). One edit changes the set by at most two buckets, so
// half the buckets two words do not share is a lower bound of their edit
// distance: most candidates are ruled out without computing it.
uint64_t CharBuckets(absl::string_view s) {
  uint64_t mask = 0;
  for (char c : s) {
    unsigned char u = absl::ascii_tolower(static_cast<unsigned char>(c));
    unsigned bucket;
    if (u >= 'a' && u <= 'z') {
      bucket = u - 'a';
    } else if (u >= '0' && u <= '9') {
      bucket = 26 + (u - '0');
    } else if (u == '_') {
      bucket = 36;
    } else {
      bucket = 37 + u % 27;
    }
    mask |= uint64_t{1} << bucket;
  }
  return mask;
}

}  // namespace

std::string ClosestMatch(absl::string_view word,
                         const std::vector<std::string>& candidates,
                         size_t* computations) {
  const size_t max_distance = std::max<size_t>(1, word.size() / 3);
  auto in_reach = [&](const std::string& c) {
    return (c.size() > word.size() ? c.size() - word.size() : word.size() - c.size()) <=
           max_distance;
  };
  // The word in lower case, and three DP rows, on the stack when they fit.
  char word_stack[kMaxSuggestLength];
  std::string word_heap;
  absl::string_view lower;
  if (word.size() > kMaxSuggestLength &&
      std::none_of(candidates.begin(), candidates.end(), in_reach)) {
    return "";  // no candidate is near its length: nothing to lower-case
  }
  if (word.size() <= kMaxSuggestLength) {
    for (size_t i = 0; i < word.size(); ++i) {
      word_stack[i] = absl::ascii_tolower(static_cast<unsigned char>(word[i]));
    }
    lower = absl::string_view(word_stack, word.size());
  } else {
    word_heap = absl::AsciiStrToLower(word);
    lower = word_heap;
  }
  const uint64_t word_buckets = CharBuckets(lower);
  size_t stack_rows[3 * (kMaxSuggestLength + 1)];
  std::vector<size_t> heap_rows;
  const std::string* best = nullptr;
  size_t best_distance = max_distance + 1;
  for (const std::string& c : candidates) {
    const size_t gap = c.size() > word.size() ? c.size() - word.size() : word.size() - c.size();
    if (gap >= best_distance) continue;  // at least `gap` insertions or deletions
    const size_t unshared = static_cast<size_t>(__builtin_popcountll(word_buckets ^ CharBuckets(c)));
    if ((unshared + 1) / 2 >= best_distance) continue;
    size_t* rows = stack_rows;
    if (c.size() > kMaxSuggestLength) {
      heap_rows.resize(3 * (c.size() + 1));
      rows = heap_rows.data();
    }
    if (computations != nullptr) ++*computations;
    size_t d = EditDistance(lower, c, best_distance - 1, rows);
    if (d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  return best == nullptr ? std::string() : *best;
}

std::string SuggestionBudget::Closest(absl::string_view word,
                                      const std::vector<std::string>& candidates) {
  if (searches_ >= limit_) {
    refused_ = true;
    return "";
  }
  ++searches_;
  return ClosestMatch(word, candidates, &computations_);
}

std::string SuggestionBudget::RanOutNotice() {
  if (!refused_ || noticed_) return "";
  noticed_ = true;
  return absl::StrCat("more than ", limit_,
                      " unknown names in this file: no more 'did you mean' suggestions "
                      "for the rest of it");
}

}  // namespace hacluster::config
