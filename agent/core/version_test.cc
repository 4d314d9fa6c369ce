#include "agent/core/version.h"

#include <cstring>
#include <regex>

#include "gtest/gtest.h"

namespace hacluster {
namespace {

// A Debian version without epoch or revision (the package is native), and
// one help2man and dpkg both read: digits and dots.
TEST(VersionTest, IsDottedNumbers) {
  EXPECT_TRUE(std::regex_match(kVersion, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+"))) << kVersion;
}

TEST(VersionTest, LineNamesProgramAndVersion) {
  EXPECT_EQ(VersionLine("ha-agent"), std::string("ha-agent (hacluster) ") + kVersion);
}

}  // namespace
}  // namespace hacluster
