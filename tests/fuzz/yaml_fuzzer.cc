// libFuzzer target for the YAML spec codec and the spec validator: any
// input must parse and validate without crashing (ValidateSpec also gates
// specs that arrive over the wire), and whatever parses without errors must
// survive spec -> canonical YAML -> spec unchanged, with the canonical YAML
// itself reproduced exactly. Built and run by tests/fuzz/run_fuzzers.sh.
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
  hacluster::config::ValidateOptions options;
  options.check_files = false;  // no file system access from the fuzzer
  hacluster::config::ValidateSpec(first.spec, first.source_map, options);
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
