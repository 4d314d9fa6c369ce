// Writing files that only make sense together, such as a certificate and its
// private key: each is written to a temporary file next to it and renamed
// into place, and either all of them end up in place or none of the new
// ones does.
//
// Unlike migrate/atomic_file.h, which replaces one file and follows a
// symbolic link to its target, this never follows a link: temporary files
// are created with O_CREAT|O_EXCL|O_NOFOLLOW, and a rename replaces a link
// at the target itself. A file is created with its final mode, so a
// private key (0600) is never readable by others, not even for a moment;
// only a file meant for others (a mode with group or other bits, e.g. a
// certificate's 0644) is then given that mode whatever the umask.
//
// Thread-safety: safe to call from several threads or processes at once;
// without `replace`, a file that appears meanwhile is not overwritten
// (renameat2 RENAME_NOREPLACE, or link on file systems without it).
#ifndef HACLUSTER_CLI_NEW_FILES_H_
#define HACLUSTER_CLI_NEW_FILES_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace hacluster::cli {

struct NewFile {
  std::string path;
  std::string contents;
  mode_t mode = 0600;  // permission bits
};

// Writes every file of `files`, in order. Without `replace`, AlreadyExists
// naming the first file that exists, before anything is written. On any
// failure (Internal, naming the file and strerror), the temporary files are
// removed and so are the files of this call already renamed into place; a
// file that `replace` overwrote before the failure is not brought back.
absl::Status WriteNewFiles(const std::vector<NewFile>& files, bool replace);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_NEW_FILES_H_
