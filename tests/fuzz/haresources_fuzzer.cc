// libFuzzer target: haresources text through its parser, and each parsed
// line back through the writer's token forms.
#include <cstddef>
#include <cstdint>
#include <string>

#include "migrate/haresources_parser.h"
#include "migrate/legacy_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  hacluster::migrate::HaresourcesParse parse =
      hacluster::migrate::ParseHaresources(text, "haresources", {"mirror"});
  hacluster::spec::v1::ClusterSpec spec;
  spec.add_nodes()->set_name("fuzz");
  auto* key = spec.mutable_auth()->add_keys();
  key->set_id(1);
  key->set_method(hacluster::spec::v1::AUTH_METHOD_CRC);
  for (const auto& line : parse.lines) {
    if (line.resources.empty()) continue;
    auto* group = spec.add_groups();
    group->set_preferred_node("fuzz");
    for (const auto& r : line.resources) *group->add_resources() = r.resource;
  }
  (void)hacluster::migrate::SpecToLegacy(spec, "fuzz");
  return 0;
}
