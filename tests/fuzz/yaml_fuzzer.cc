// libFuzzer target for the YAML spec codec: any input must parse without
// crashing, and whatever parses without errors must survive
// spec -> canonical YAML -> spec unchanged, with the canonical YAML itself
// reproduced exactly. Built by hand with clang, e.g.
//   clang++-14 -std=c++17 -fsanitize=fuzzer,address -I. -Ibazel-bin \
//     tests/fuzz/yaml_fuzzer.cc agent/config/{yaml_codec,validate,diagnostics,duration}.cc \
//     bazel-bin/proto/cluster_spec.pb.cc -lyaml-cpp -lprotobuf -labsl_...
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/config/yaml_codec.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hacluster::config::HasErrors;
  using hacluster::config::ParsedSpec;
  using hacluster::config::ParseSpecYaml;
  using hacluster::config::SpecToYaml;

  std::string text(reinterpret_cast<const char*>(data), size);
  ParsedSpec first = ParseSpecYaml(text, "fuzz.yaml");
  if (HasErrors(first.diagnostics)) return 0;

  std::string yaml = SpecToYaml(first.spec);
  ParsedSpec second = ParseSpecYaml(yaml, "canonical.yaml");
  if (!second.diagnostics.empty()) __builtin_trap();
  if (!google::protobuf::util::MessageDifferencer::Equals(first.spec, second.spec)) {
    __builtin_trap();
  }
  if (SpecToYaml(second.spec) != yaml) __builtin_trap();
  return 0;
}
