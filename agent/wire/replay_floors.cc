#include "agent/wire/replay_floors.h"

#include <cstdint>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hacluster::wire {
namespace {

constexpr absl::string_view kHeader = "# ha-agent replay floors v1";
constexpr uint64_t kMaxValue = uint64_t{1} << 63;

bool ValidNode(absl::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool ParseNumber(absl::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return absl::SimpleAtoi(s, out) && *out < kMaxValue;
}

}  // namespace

std::string FormatReplayFloors(const std::vector<PacketCheck::Floor>& floors) {
  std::string out = absl::StrCat(kHeader, "\n");
  for (const PacketCheck::Floor& f : floors) {
    absl::StrAppend(&out, f.node, " ", f.generation, " ", f.seq, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<PacketCheck::Floor>> ParseReplayFloors(absl::string_view text,
                                                                  absl::string_view file) {
  std::vector<PacketCheck::Floor> out;
  std::set<std::string> seen;
  int line_no = 0;
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(file, ":", line_no, ": ", what));
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) return error(absl::StrCat("expected \"", kHeader, "\""));
      continue;
    }
    if (line.empty()) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() != 3) return error("expected \"NODE GENERATION SEQ\"");
    PacketCheck::Floor floor;
    if (!ValidNode(f[0])) return error("the node name is empty, too long or not printable");
    floor.node = std::string(f[0]);
    if (!ParseNumber(f[1], &floor.generation) || !ParseNumber(f[2], &floor.seq)) {
      return error("generation and seq must be decimal numbers below 2^63");
    }
    if (!seen.insert(floor.node).second) {
      return error(absl::StrCat("node ", floor.node, " is listed twice"));
    }
    if (out.size() >= PacketCheck::kMaxTrackedNodes) {
      return error(absl::StrCat("more than ", PacketCheck::kMaxTrackedNodes, " nodes"));
    }
    out.push_back(std::move(floor));
  }
  if (line_no < 1 || text.empty()) {
    line_no = 1;
    return error(absl::StrCat("expected \"", kHeader, "\""));
  }
  return out;
}

}  // namespace hacluster::wire
