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

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_LEGACY_LINES_H_
