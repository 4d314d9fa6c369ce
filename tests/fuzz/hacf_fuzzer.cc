// libFuzzer target: ha.cf text through the parser and the whole converter;
// whatever converts without errors must survive the way back:
// legacy -> spec -> SpecToLegacy(first node) -> legacy -> the same spec.
// Built by tests/fuzz/run_fuzzers.sh (clang -fsanitize=fuzzer,address).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/util/message_differencer.h"
#include "migrate/converter.h"
#include "migrate/hacf_parser.h"
#include "migrate/legacy_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using hacluster::migrate::ConvertLegacy;
  using hacluster::migrate::LegacyFiles;
  using hacluster::migrate::LegacyText;
  using hacluster::migrate::MigrateOptions;
  using hacluster::migrate::MigrateResult;

  std::string text(reinterpret_cast<const char*>(data), size);
  hacluster::migrate::ParseHaCf(text, "ha.cf");
  LegacyText legacy;
  legacy.ha_cf = text;
  legacy.haresources = "node01 192.168.0.179/24/eth0 asterisk\n";
  legacy.authkeys = "auth 1\n1 sha1 key-for-sha1-any-text-you-want\n";
  MigrateResult first = ConvertLegacy(legacy, MigrateOptions());
  if (!first.ok() || first.spec.nodes_size() == 0) return 0;

  // The writer may refuse what Heartbeat cannot express; what it writes
  // must convert back to the same spec.
  absl::StatusOr<LegacyFiles> files =
      hacluster::migrate::SpecToLegacy(first.spec, first.spec.nodes(0).name());
  if (!files.ok()) return 0;
  LegacyText again;
  again.ha_cf = files->ha_cf;
  again.haresources = files->haresources;
  again.authkeys = files->authkeys;
  MigrateResult second = ConvertLegacy(again, MigrateOptions());
  if (!second.ok()) __builtin_trap();
  if (!google::protobuf::util::MessageDifferencer::Equals(first.spec, second.spec)) {
    __builtin_trap();
  }
  return 0;
}
