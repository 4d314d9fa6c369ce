// The replay floors of PacketCheck as a file: what the agent keeps in
// STATE_DIR/replay-floors so that frames captured before an agent restart
// stay replays after it (see packet_check.h).
//
// One line per node, "NODE GENERATION SEQ" in decimal, sorted by node, with
// a first line "# ha-agent replay floors v1". Parsing is strict: a line that
// is not three fields, a node name that is not 1-64 printable characters
// without spaces, a number that is not decimal or does not fit 63 bits, a
// node listed twice, or more than PacketCheck::kMaxTrackedNodes lines is an
// error naming the file and line, and nothing of the file is used.
//
// Thread-safety: free functions over values.
#ifndef HACLUSTER_AGENT_WIRE_REPLAY_FLOORS_H_
#define HACLUSTER_AGENT_WIRE_REPLAY_FLOORS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/wire/packet_check.h"

namespace hacluster::wire {

std::string FormatReplayFloors(const std::vector<PacketCheck::Floor>& floors);

// `file` names the file in errors ("FILE:LINE: ...").
absl::StatusOr<std::vector<PacketCheck::Floor>> ParseReplayFloors(absl::string_view text,
                                                                  absl::string_view file);

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_REPLAY_FLOORS_H_
