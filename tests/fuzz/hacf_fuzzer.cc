// libFuzzer target: ha.cf text through the parser and the whole converter,
// then back through the writer when the conversion succeeded. Built by hand
// with clang -fsanitize=fuzzer,address (see the top-level README).
#include <cstddef>
#include <cstdint>
#include <string>

#include "migrate/converter.h"
#include "migrate/hacf_parser.h"
#include "migrate/legacy_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  hacluster::migrate::ParseHaCf(text, "ha.cf");
  hacluster::migrate::LegacyText legacy;
  legacy.ha_cf = text;
  legacy.haresources = "node01 192.168.0.179/24/eth0 asterisk\n";
  legacy.authkeys = "auth 1\n1 sha1 key-for-sha1-any-text-you-want\n";
  hacluster::migrate::MigrateResult result =
      hacluster::migrate::ConvertLegacy(legacy, hacluster::migrate::MigrateOptions());
  if (result.ok()) {
    for (const auto& node : result.spec.nodes()) {
      (void)hacluster::migrate::SpecToLegacy(result.spec, node.name());
    }
  }
  return 0;
}
