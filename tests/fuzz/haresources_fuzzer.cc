// libFuzzer target: haresources text through its parser and the whole
// converter (with a fixed ha.cf declaring the seed corpus's node names);
// whatever converts without errors must survive the way back:
// legacy -> spec -> SpecToLegacy(first node) -> legacy -> the same spec.
// Built by tests/fuzz/run_fuzzers.sh (clang -fsanitize=fuzzer,address).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/util/message_differencer.h"
#include "migrate/converter.h"
#include "migrate/haresources_parser.h"
#include "migrate/legacy_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hacluster::migrate::ConvertLegacy;
  using hacluster::migrate::LegacyFiles;
  using hacluster::migrate::LegacyText;
  using hacluster::migrate::MigrateOptions;
  using hacluster::migrate::MigrateResult;

  std::string text(reinterpret_cast<const char*>(data), size);
  const std::set<std::string> local_scripts = {"mirror"};
  hacluster::migrate::ParseHaresources(text, "haresources", local_scripts);
  LegacyText legacy;
  legacy.ha_cf =
      "node node01 node02 n1 node1 drbd1 linuxha1 linuxha1.linux-ha.org\nbcast eth0\n";
  legacy.haresources = text;
  legacy.authkeys = "auth 1\n1 sha1 key-for-sha1-any-text-you-want\n";
  legacy.local_scripts = local_scripts;
  MigrateResult first = ConvertLegacy(legacy, MigrateOptions());
  if (!first.ok()) return 0;

  // The writer may refuse what Heartbeat cannot express; what it writes
  // must convert back to the same spec (with the same resource.d).
  absl::StatusOr<LegacyFiles> files =
      hacluster::migrate::SpecToLegacy(first.spec, first.spec.nodes(0).name());
  if (!files.ok()) return 0;
  LegacyText again;
  again.ha_cf = files->ha_cf;
  again.haresources = files->haresources;
  again.authkeys = files->authkeys;
  again.local_scripts = local_scripts;
  MigrateResult second = ConvertLegacy(again, MigrateOptions());
  if (!second.ok()) __builtin_trap();
  if (!google::protobuf::util::MessageDifferencer::Equals(first.spec, second.spec)) {
    __builtin_trap();
  }
  return 0;
}
