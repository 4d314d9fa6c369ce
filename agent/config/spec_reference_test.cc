// Keeps docs/spec-reference.md honest: its example is the test data file,
// and that file is a valid spec.
#include <fstream>
#include <sstream>
#include <string>

#include "agent/config/yaml_codec.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr char kExample[] = "agent/config/testdata/two_node.yaml";

TEST(SpecReferenceTest, TwoNodeExampleIsValid) {
  ValidateOptions options;
  options.check_files = false;  // authkey is not shipped with the example
  ParsedSpec p = LoadSpecFile(kExample, options);
  EXPECT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.spec.cluster_name(), "billing");
  EXPECT_EQ(p.spec.nodes_size(), 2);
}

TEST(SpecReferenceTest, DocumentContainsTheExampleVerbatim) {
  std::string example = ReadFile(kExample);
  std::string doc = ReadFile("docs/spec-reference.md");
  ASSERT_FALSE(example.empty());
  EXPECT_NE(doc.find("```yaml\n" + example + "```\n"), std::string::npos)
      << "docs/spec-reference.md must quote " << kExample << " exactly";
}

TEST(SpecReferenceTest, DocumentNamesEveryKeyOfEveryMessage) {
  std::string doc = ReadFile("docs/spec-reference.md");
  const google::protobuf::FileDescriptor* file = spec::v1::ClusterSpec::descriptor()->file();
  for (int m = 0; m < file->message_type_count(); ++m) {
    const google::protobuf::Descriptor* d = file->message_type(m);
    for (int i = 0; i < d->field_count(); ++i) {
      EXPECT_NE(doc.find("| `" + d->field(i)->name() + "` |"), std::string::npos)
          << d->name() << "." << d->field(i)->name() << " is not documented";
    }
  }
}

}  // namespace
}  // namespace hacluster::config
