// Diagnostics for configuration input: what is wrong, how bad, and where.
//
// Every parser and validator of the project reports problems as Diagnostic
// values rather than failing on the first one, so an operator sees all of
// them at once, each as `FILE:LINE:COL: error: ...` (COL omitted for the
// line-based legacy files). A SourceMap ties field paths of a spec
// ("timing.deadtime", "groups[0].resources[1].ip.address") to where they were
// written, so cross-field rules that run on the spec can still name a file
// and line, whether the spec came from YAML or from legacy /etc/ha.d files.
//
// Thread-safety: plain values; a const SourceMap may be read from several
// threads, anything else needs external synchronisation.
#ifndef HACLUSTER_AGENT_CONFIG_DIAGNOSTICS_H_
#define HACLUSTER_AGENT_CONFIG_DIAGNOSTICS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hacluster::config {

enum class Severity { kWarning, kError };

// A place in an input file. line and column are 1-based; 0 means unknown.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;

  bool operator==(const Location& o) const {
    return file == o.file && line == o.line && column == o.column;
  }
};

struct Diagnostic {
  Severity severity = Severity::kError;
  Location location;
  std::string message;
};

// "FILE:LINE:COL: error: MESSAGE"; parts of the location that are unknown
// are left out ("FILE:LINE: warning: MESSAGE", "FILE: error: MESSAGE").
std::string FormatDiagnostic(const Diagnostic& d);

// All diagnostics, one per line, each ending in '\n'.
std::string FormatDiagnostics(const std::vector<Diagnostic>& ds);

bool HasErrors(const std::vector<Diagnostic>& ds);

// Where each field of a spec was written.
class SourceMap {
 public:
  SourceMap() = default;
  // file: reported for paths with no recorded location.
  explicit SourceMap(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  void set_file(std::string file) { file_ = std::move(file); }

  // Records where `path` was written (last call wins).
  void Set(const std::string& path, Location loc) { locations_[path] = std::move(loc); }

  // The location recorded for `path`, else for its nearest recorded ancestor
  // ("a.b[2].c" -> "a.b[2]" -> "a.b" -> "a"), else just file().
  Location Find(absl::string_view path) const;

  // True when exactly `path` was recorded.
  bool Has(absl::string_view path) const;

 private:
  std::string file_;
  std::map<std::string, Location, std::less<>> locations_;
};

// Collects diagnostics, resolving spec paths through a SourceMap.
// `map` must outlive the sink.
class DiagnosticSink {
 public:
  explicit DiagnosticSink(const SourceMap& map) : map_(map) {}

  void Error(absl::string_view path, std::string message) {
    Add(Severity::kError, map_.Find(path), std::move(message));
  }
  void Warning(absl::string_view path, std::string message) {
    Add(Severity::kWarning, map_.Find(path), std::move(message));
  }
  void Add(Severity s, Location loc, std::string message) {
    diagnostics_.push_back({s, std::move(loc), std::move(message)});
  }

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }
  std::vector<Diagnostic> Take() { return std::move(diagnostics_); }
  bool has_errors() const { return HasErrors(diagnostics_); }

 private:
  const SourceMap& map_;
  std::vector<Diagnostic> diagnostics_;
};

// The candidate closest to `word` by edit distance when it is close enough
// to be a plausible typo (distance <= max(1, len/3)); empty otherwise. Ties
// go to the earlier candidate. A candidate that cannot be close enough is
// skipped without a computation: its length differs by more than the bound,
// or so do the letters one has and the other has not (each edit changes at
// most two); a computation stops as soon as it cannot beat the best so far;
// words and candidates up to kMaxSuggestLength characters are compared
// without allocating. When `computations` is given, the number of edit
// distances computed is added to it (the work, for tests).
inline constexpr size_t kMaxSuggestLength = 64;
std::string ClosestMatch(absl::string_view word,
                         const std::vector<std::string>& candidates,
                         size_t* computations = nullptr);

// Bounds the "did you mean" searches of one input file, so that a file of
// junk (up to the 4 MiB cap) does not cost a search per unknown word: the
// first `limit` searches are made, later ones return "" at no cost. The
// caller says once that suggestions stopped: RanOutNotice() is non-empty on
// the first refused search only.
//
// Thread-safety: not thread-safe; one per file being read.
class SuggestionBudget {
 public:
  static constexpr int kDefaultLimit = 20;
  explicit SuggestionBudget(int limit = kDefaultLimit) : limit_(limit) {}

  // ClosestMatch(word, candidates) while searches remain; "" afterwards.
  std::string Closest(absl::string_view word, const std::vector<std::string>& candidates);

  // True while a search would still be made (callers may skip building the
  // candidate list otherwise).
  bool has_searches_left() const { return searches_ < limit_; }

  // "no more 'did you mean' suggestions ..." right after the first search
  // the budget refused, once per budget; "" at any other time.
  std::string RanOutNotice();

  int searches() const { return searches_; }
  size_t computations() const { return computations_; }

 private:
  int limit_;
  int searches_ = 0;
  size_t computations_ = 0;
  bool refused_ = false;  // a search was refused
  bool noticed_ = false;  // RanOutNotice has returned its text
};

}  // namespace hacluster::config

#endif  // HACLUSTER_AGENT_CONFIG_DIAGNOSTICS_H_
