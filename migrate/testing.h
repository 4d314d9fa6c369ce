// Test helpers for migrate/: finding a diagnostic by file, line and text.
//
// Thread-safety: pure functions. Test-only.
#ifndef HACLUSTER_MIGRATE_TESTING_H_
#define HACLUSTER_MIGRATE_TESTING_H_

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "agent/config/diagnostics.h"

namespace hacluster::migrate {

// True when `ds` holds a diagnostic of severity `s` at exactly file:line
// whose message contains `text`.
inline bool HasDiagnostic(const std::vector<config::Diagnostic>& ds, config::Severity s,
                          const std::string& file, int line, const std::string& text) {
  for (const config::Diagnostic& d : ds) {
    if (d.severity == s && d.location.file == file && d.location.line == line &&
        absl::StrContains(d.message, text)) {
      return true;
    }
  }
  return false;
}

inline int CountSeverity(const std::vector<config::Diagnostic>& ds, config::Severity s) {
  int n = 0;
  for (const config::Diagnostic& d : ds) n += d.severity == s ? 1 : 0;
  return n;
}

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_TESTING_H_
