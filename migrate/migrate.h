// Migration between Heartbeat's /etc/ha.d and the cluster spec: the public
// API of migrate/ (hacli migrate uses only this header).
//
//   MigrateFromDir(dir)      DIR/ha.cf + DIR/haresources + DIR/authkeys -> spec,
//                            with a SourceMap into those files and diagnostics;
//                            with options.peer_dir, both nodes' directories at once.
//   ConvertLegacy(text)      the same on text (tests, fuzzers); see converter.h.
//   SpecToLegacy(spec, node) spec -> the three files of one node (rollback);
//                            see legacy_writer.h.
//   WriteLegacyDir(files)    writes them, authkeys with mode 0600.
//
// MigrateFromDir does not run config::ValidateSpec; callers run it on the
// result with result.source_map, so its findings name legacy FILE:LINE.
//
// Thread-safety: free functions without shared state; they read or write
// only the files they are given.
#ifndef HACLUSTER_MIGRATE_MIGRATE_H_
#define HACLUSTER_MIGRATE_MIGRATE_H_

#include <string>

#include "absl/status/status.h"
#include "migrate/converter.h"
#include "migrate/legacy_writer.h"

namespace hacluster::migrate {

// Reads DIR/ha.cf, DIR/haresources and DIR/authkeys (all required; authkeys
// must not be readable by group or others, as Heartbeat demands) and
// converts them; names in DIR/resource.d count as Heartbeat scripts. With
// options.peer_dir, reads that directory too and converts both with
// ConvertLegacyPair. Problems, including unreadable files, are diagnostics
// naming the file ("DIR/ha.cf:3: error: ..."). Never throws.
MigrateResult MigrateFromDir(const std::string& dir, const MigrateOptions& options);

// Creates `dir` (and missing parents) and writes ha.cf and haresources
// (mode 0644) and authkeys (mode 0600), replacing existing files. Each file
// is replaced atomically (WriteFileAtomically: a symbolic link is written
// through, a non-regular file is refused); the three together are not: a
// crash between them can leave some old and some new.
absl::Status WriteLegacyDir(const LegacyFiles& files, const std::string& dir);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_MIGRATE_H_
