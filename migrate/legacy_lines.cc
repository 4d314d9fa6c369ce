#include "migrate/legacy_lines.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::migrate {

std::string LegacyLine::Normalized() const {
  return absl::StrJoin(words, " ", [](std::string* out, const LegacyWord& w) {
    out->append(w.text);
  });
}

namespace {
bool IsBlank(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u == ' ' || u == '\t' || u == '\r' || u == '\v' || u == '\f' || u == 0 ||
         (u < 0x20 && u != '\n');
}
}  // namespace

std::vector<LegacyLine> SplitLegacyLines(absl::string_view text, CommentStyle style) {
  std::vector<LegacyLine> lines;
  LegacyLine current;
  bool continuing = false;  // the previous physical line ended in '\'
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == absl::string_view::npos) end = text.size();
    absl::string_view physical = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;

    size_t hash;
    if (style == CommentStyle::kAnywhere) {
      hash = physical.find('#');
    } else {
      size_t first = 0;
      while (first < physical.size() && IsBlank(physical[first])) ++first;
      hash = first < physical.size() && physical[first] == '#' ? first
                                                               : absl::string_view::npos;
    }
    bool had_comment = hash != absl::string_view::npos;
    if (had_comment) physical = physical.substr(0, hash);
    // Trailing blanks, then a continuation backslash (only when no comment
    // cut the line: "a \ # note" is a comment, not a continuation).
    size_t last = physical.size();
    while (last > 0 && IsBlank(physical[last - 1])) --last;
    physical = physical.substr(0, last);
    bool continues = style == CommentStyle::kAnywhere && !had_comment &&
                     !physical.empty() && physical.back() == '\\';
    if (continues) physical.remove_suffix(1);

    if (!continuing) {
      current = LegacyLine();
      current.line = line_no;
    }
    size_t i = 0;
    while (i < physical.size()) {
      while (i < physical.size() && IsBlank(physical[i])) ++i;
      size_t start = i;
      while (i < physical.size() && !IsBlank(physical[i])) ++i;
      if (i > start) {
        if (current.words.empty()) current.line = line_no;
        current.words.push_back({std::string(physical.substr(start, i - start)), line_no});
      }
    }
    continuing = continues;
    if (!continuing && !current.words.empty()) {
      lines.push_back(std::move(current));
      current = LegacyLine();
    }
  }
  if (!current.words.empty()) lines.push_back(std::move(current));
  return lines;
}

bool ErrorLimit::Reached(std::vector<config::Diagnostic>* ds, const std::string& file,
                         int line) {
  if (reached_) return true;
  for (; counted_ < ds->size(); ++counted_) {
    errors_ += (*ds)[counted_].severity == config::Severity::kError;
  }
  if (errors_ <= kMaxErrorsPerFile) return false;
  reached_ = true;
  ds->push_back({config::Severity::kError, config::Location{file, line, 0},
                 absl::StrCat("more than ", kMaxErrorsPerFile,
                              " errors: this is not a Heartbeat configuration file; reading "
                              "stopped here")});
  counted_ = ds->size();
  return true;
}

}  // namespace hacluster::migrate
