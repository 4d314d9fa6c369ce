// The release version every binary prints for --version, and the Debian
// package's version (both from HACLUSTER_VERSION in //:version.bzl).
// Thread-safety: constant data, safe from any thread.
#ifndef HACLUSTER_AGENT_CORE_VERSION_H_
#define HACLUSTER_AGENT_CORE_VERSION_H_

#include <string>

namespace hacluster {

// "0.1.0": the version alone.
extern const char kVersion[];

// What `PROGRAM --version` prints: "PROGRAM (hacluster) 0.1.0", one line
// without the newline (the GNU form, which help2man reads).
std::string VersionLine(const char* program);

}  // namespace hacluster

#endif  // HACLUSTER_AGENT_CORE_VERSION_H_
