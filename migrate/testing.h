// Test helpers for migrate/: copying a fixture directory, finding a
// diagnostic by file, line and text.
//
// Thread-safety: pure functions. Test-only.
#ifndef HACLUSTER_MIGRATE_TESTING_H_
#define HACLUSTER_MIGRATE_TESTING_H_

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "agent/config/diagnostics.h"

namespace hacluster::migrate {

inline std::string TestTmp() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

// Copies fixture directory migrate/testdata/`name` into a fresh directory
// under TEST_TMPDIR/fixture`tag`, with authkeys mode 0600 (git does not
// keep modes). Returns the copy's path.
inline std::string Fixture(const std::string& name, const std::string& tag = "") {
  namespace fs = std::filesystem;
  const char* srcdir = std::getenv("TEST_SRCDIR");
  fs::path src = fs::path(srcdir != nullptr ? srcdir : ".") / "hacluster/migrate/testdata" / name;
  fs::path dst = fs::path(TestTmp()) / ("fixture" + tag) / name;
  fs::remove_all(dst);
  fs::create_directories(dst);
  fs::copy(src, dst, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(dst)) {
    if (e.is_regular_file()) {
      chmod(e.path().c_str(), e.path().filename() == "authkeys" ? 0600 : 0644);
    }
  }
  return dst.string();
}

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
