#include "agent/core/version.h"

#include "agent/core/version_string.h"

namespace hacluster {

const char kVersion[] = HACLUSTER_VERSION_STRING;

std::string VersionLine(const char* program) {
  return std::string(program) + " (hacluster) " + kVersion;
}

}  // namespace hacluster
