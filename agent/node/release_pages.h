// Giving back the pages that only start-up needed, before the agent locks
// its memory.
//
// Start-up maps in megabytes of shared-library pages that the heartbeat
// loop never touches again: the dynamic linker's symbol and relocation
// tables, initialisation code of gRPC and protobuf, the spec parser, and
// their neighbours that fault-around mapped with them. Locked with
// mlockall(MCL_CURRENT) they would stay resident and unevictable for the
// life of the process. ReleaseCleanFilePages unmaps the resident pages of
// the process's read-only file mappings that are still the file's own
// pages (the page cache keeps them); whatever runs afterwards maps its pages
// again (a minor fault while the page cache holds them), and under
// mlockall(MCL_FUTURE | MCL_ONFAULT) they are locked as they come back. The
// locked set is then what the process used since, not what start-up
// touched once.
//
// Pages a private mapping holds as its own copy (relocated read-only data,
// text a debugger patched) are anonymous, not the file's: they are kept,
// since dropping them would lose their contents. Writable mappings,
// anonymous memory and stacks are not touched.
//
// Thread-safety: call it while no other thread changes the process's
// mappings (mprotect, dlopen); other threads may run, and fault back what
// they use. It must run before mlockall: locked mappings refuse to be
// released (the call then releases nothing there and says so).
#ifndef HACLUSTER_AGENT_NODE_RELEASE_PAGES_H_
#define HACLUSTER_AGENT_NODE_RELEASE_PAGES_H_

#include <cstddef>

#include "absl/status/statusor.h"

namespace hacluster::agent {

// Unmaps the clean file pages of the calling process's read-only file
// mappings, as described above. Returns the bytes released. An error
// (naming the file and the OS reason) when /proc/self/maps or
// /proc/self/pagemap cannot be read, or when a release is refused; what was
// released before the error stays released, which is harmless.
absl::StatusOr<size_t> ReleaseCleanFilePages();

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_RELEASE_PAGES_H_
