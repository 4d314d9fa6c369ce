// Parser of Heartbeat's ha.cf: text -> directives with their line numbers.
//
// It knows every directive name Heartbeat 1/2/3 accepts (case-insensitively,
// as Heartbeat does) and how many arguments each takes. A directive the
// converter handles is returned; an unknown name, a Heartbeat directive the
// converter cannot express (stonith, debug, compression, ...), or a wrong
// number of arguments is an error at FILE:LINE naming what to do instead;
// an unknown name gets a "did you mean" suggestion while the file's
// config::SuggestionBudget lasts (a file of junk is refused quickly).
// Values are not interpreted here (durations, ports, on/off): that is the
// converter's job.
//
// Thread-safety: pure function.
#ifndef HACLUSTER_MIGRATE_HACF_PARSER_H_
#define HACLUSTER_MIGRATE_HACF_PARSER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/config/diagnostics.h"

namespace hacluster::migrate {

// One directive line, e.g. `ucast eth0 10.0.0.2` at line 7.
struct HaCfDirective {
  std::string name;               // lower case, e.g. "ucast"
  std::vector<std::string> args;  // as written
  int line = 0;                   // 1-based line the directive starts on

  // "name arg1 arg2": the directive as compared between two nodes' files.
  std::string Normalized() const;
};

struct HaCfParse {
  // The directives the converter handles, in file order. Lines with errors
  // are left out.
  std::vector<HaCfDirective> directives;
  std::vector<config::Diagnostic> diagnostics;
};

// Parses ha.cf text. `filename` is used in diagnostics. Never fails.
HaCfParse ParseHaCf(absl::string_view text, const std::string& filename);

// The directive names the parser accepts for conversion, lower case.
const std::vector<std::string>& ConvertibleHaCfDirectives();

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_HACF_PARSER_H_
