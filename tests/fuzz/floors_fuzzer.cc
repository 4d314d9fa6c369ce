// libFuzzer target: the replay-floors file of the state directory
// (agent/wire/replay_floors.h). Properties: no input crashes the parser;
// whatever it accepts formats back to text that parses to the same floors,
// and every floor it accepts can be restored into a PacketCheck.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"
#include "agent/wire/replay_floors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto floors = hacluster::wire::ParseReplayFloors(text, "fuzz");
  if (!floors.ok()) {
    if (floors.status().message().empty()) __builtin_trap();
    return 0;
  }
  std::string again = hacluster::wire::FormatReplayFloors(*floors);
  auto reparsed = hacluster::wire::ParseReplayFloors(again, "fuzz");
  if (!reparsed.ok() || *reparsed != *floors) __builtin_trap();
  static const hacluster::wire::Keyring* ring = new hacluster::wire::Keyring(
      {{1, hacluster::spec::v1::AUTH_METHOD_SHA256, "fuzz-secret"}}, 1);
  hacluster::wire::PacketCheck check("fuzz", "node01", ring);
  for (const auto& f : *floors) check.SetFloor(f);
  if (check.Floors().size() > floors->size()) __builtin_trap();
  return 0;
}
