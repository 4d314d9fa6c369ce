// Line splitting shared by the three legacy /etc/ha.d file parsers.
//
// Heartbeat reads ha.cf, haresources and authkeys line by line, words
// separated by blanks and tabs. In ha.cf and haresources '#' starts a
// comment that runs to the end of the line wherever it appears (Heartbeat
// has no quoting), and a line ending in '\' continues on the next one (only
// haresources documents this; ha.cf accepts it too): CommentStyle::kAnywhere.
// authkeys is read with fgets + sscanf: only a line whose first non-blank
// character is '#' is a comment, a later '#' is text (a secret may contain
// it), and there are no continuations: CommentStyle::kLineStart. This module
// turns a file's text into logical lines of words, each word tagged with the
// physical line it was written on, so diagnostics can name exact lines.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_MIGRATE_LEGACY_LINES_H_
#define HACLUSTER_MIGRATE_LEGACY_LINES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/config/diagnostics.h"

namespace hacluster::migrate {

// One whitespace-separated word and the 1-based physical line it is on.
struct LegacyWord {
  std::string text;
  int line = 0;
};

// A logical line: its words (at least one) and the physical line it starts on.
struct LegacyLine {
  int line = 0;
  std::vector<LegacyWord> words;

  // The words joined by single spaces: the line as compared between nodes.
  std::string Normalized() const;
};

// How a file marks comments.
enum class CommentStyle {
  // '#' anywhere starts a comment to the end of the line, and a line ending
  // in '\' continues on the next (ha.cf, haresources).
  kAnywhere,
  // Only a line whose first non-blank character is '#' is a comment; a '#'
  // later on the line is text, and there are no continuations (authkeys,
  // which Heartbeat reads with fgets + sscanf: a key may contain '#').
  kLineStart,
};

// Splits `text` into logical lines: comments stripped, '\'-continuations
// joined, blank lines dropped. Never fails; NUL bytes and other control
// characters are treated as blanks.
std::vector<LegacyLine> SplitLegacyLines(absl::string_view text,
                                         CommentStyle style = CommentStyle::kAnywhere);

// More errors than this in one file and its parser stops reading it: a file
// of junk (up to the 4 MiB that is read) is refused without a diagnostic for
// each of its lines.
inline constexpr int kMaxErrorsPerFile = 1000;

// Counts the errors a parser adds to its diagnostics, line after line.
// Not thread-safe; one per file being parsed.
class ErrorLimit {
 public:
  // Errors are counted from diagnostic `from` on (those before are another
  // file's).
  explicit ErrorLimit(size_t from = 0) : counted_(from) {}

  // Call after each line: true once more than kMaxErrorsPerFile errors were
  // added to `ds`, and then (the first time only) adds an error at `line`
  // of `file` saying that reading stopped there.
  bool Reached(std::vector<config::Diagnostic>* ds, const std::string& file, int line);

 private:
  size_t counted_;  // diagnostics of `ds` already looked at
  int errors_ = 0;
  bool reached_ = false;
};

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_LEGACY_LINES_H_
