// The YAML example in README.md is part of the documentation operators copy
// from: it must parse and validate.
#include <fstream>
#include <sstream>
#include <string>

#include "agent/config/validate.h"
#include "agent/config/yaml_codec.h"
#include "gtest/gtest.h"

namespace hacluster {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ReadmeExampleTest, SpecExampleParsesAndValidates) {
  std::string readme = ReadFile("README.md");
  ASSERT_FALSE(readme.empty()) << "README.md not found in runfiles";
  size_t section = readme.find("## The cluster spec");
  ASSERT_NE(section, std::string::npos);
  size_t start = readme.find("```yaml\n", section);
  ASSERT_NE(start, std::string::npos);
  start += 8;
  size_t end = readme.find("```", start);
  ASSERT_NE(end, std::string::npos);
  std::string yaml = readme.substr(start, end - start);

  config::ParsedSpec parsed = config::ParseSpecYaml(yaml, "README.md");
  config::ValidateOptions options;
  options.check_files = false;  // the example names a key file of a real node
  std::vector<config::Diagnostic> ds =
      config::ValidateSpec(parsed.spec, parsed.source_map, options);
  ds.insert(ds.begin(), parsed.diagnostics.begin(), parsed.diagnostics.end());
  EXPECT_TRUE(ds.empty()) << config::FormatDiagnostics(ds);
  EXPECT_EQ(parsed.spec.nodes_size(), 2);
  EXPECT_EQ(parsed.spec.groups_size(), 1);
}

}  // namespace
}  // namespace hacluster
