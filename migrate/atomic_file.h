// Replacing a file's contents atomically: readers (and a crash, or a power
// loss once the call returned) see either the old contents or the new, never
// a mix or a truncated file.
//
// WriteFileAtomically writes the contents to a new temporary file in the
// target's directory (mkstemp), sets its mode with fchmod (the umask does
// not apply), fsyncs it, renames it over the target and fsyncs the
// directory. A symbolic link at `path` is written through: the file it
// points to (after at most 40 links) is replaced and the link stays. An
// existing target that is not a regular file (a directory, a FIFO, a
// device...) is refused. The replaced file's owner, group and extended
// attributes are not carried over: the new file belongs to the caller.
//
// Thread-safety: safe to call from several threads or processes at once.
// Concurrent calls on the same path each install a complete file; the last
// rename wins.
#ifndef HACLUSTER_MIGRATE_ATOMIC_FILE_H_
#define HACLUSTER_MIGRATE_ATOMIC_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hacluster::migrate {

// Makes `path` a regular file holding exactly `contents` with permission
// bits `mode` (e.g. 0600), replacing any existing file. On failure the
// target is unchanged, no temporary file is left behind, and the status
// (InvalidArgument for an unusable target, Internal for a failed system
// call) names the path and, for a system call, strerror.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 mode_t mode);

}  // namespace hacluster::migrate

#endif  // HACLUSTER_MIGRATE_ATOMIC_FILE_H_
