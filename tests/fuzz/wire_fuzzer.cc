// libFuzzer target: received bytes through PacketCheck::Check, the one
// check every heartbeat passes, with a keyring of an HMAC-SHA256 key (1) and
// a crc key (2). Properties:
//  - no input crashes it;
//  - the input taken as one frame: when it is accepted, its heartbeat
//    re-encodes with the same key to a frame that a fresh check accepts
//    and decodes to the same heartbeat (or, only when it grew past the
//    frame size by re-serialization, is refused as too large);
//  - the input taken as a script of signed heartbeats (6 bytes each: node,
//    link, generation, two bytes of seq, flags for an agent restart (a new
//    check seeded with the old one's Floors) / crc key / a flipped byte):
//    every verdict matches a plain model of the replay window kept with sets
//    (seen seqs per node, generation and link, the node's highest seq and
//    its restored floor); a flipped byte is never accepted.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "agent/wire/codec.h"
#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"
#include "proto/wire.pb.h"

namespace {

using hacluster::spec::v1::AUTH_METHOD_CRC;
using hacluster::spec::v1::AUTH_METHOD_SHA256;
using hacluster::wire::DropReason;
using hacluster::wire::EncodeFrame;
using hacluster::wire::Keyring;
using hacluster::wire::PacketCheck;
namespace v1 = hacluster::wire::v1;

const Keyring& Ring() {
  static const Keyring* ring =
      new Keyring({{1, AUTH_METHOD_SHA256, "fuzz-secret"}, {2, AUTH_METHOD_CRC, ""}}, 1);
  return *ring;
}

void CheckWholeFrame(const uint8_t* data, size_t size) {
  PacketCheck check("fuzz", "node01", &Ring());
  v1::Heartbeat hb;
  std::string frame(reinterpret_cast<const char*>(data), size);
  PacketCheck::Result r = check.Check(frame, 0, &hb);
  if (!r.ok) {
    if (r.own || r.detail.empty()) __builtin_trap();
    return;
  }
  if (!r.detail.empty()) __builtin_trap();
  if (r.own != (hb.node() == "node01")) __builtin_trap();
  std::string again;
  absl::Status s = EncodeFrame(hb, *Ring().Find(r.key_id), &again);
  if (!s.ok()) {
    size_t needed = hacluster::wire::kFrameHeaderSize + hb.ByteSizeLong() +
                    hacluster::wire::MacSize(Ring().Find(r.key_id)->method);
    if (s.code() != absl::StatusCode::kOutOfRange || needed <= hacluster::wire::kMaxFrameSize) {
      __builtin_trap();
    }
    return;
  }
  PacketCheck fresh("fuzz", "node01", &Ring());
  v1::Heartbeat decoded;
  PacketCheck::Result r2 = fresh.Check(again, 0, &decoded);
  if (!r2.ok || r2.own != r.own || r2.key_id != r.key_id) __builtin_trap();
  if (decoded.SerializeAsString() != hb.SerializeAsString()) __builtin_trap();
}

// What the replay window must decide, kept the simple way.
struct Model {
  struct Link {
    uint64_t top = 0;
    std::set<uint64_t> seen;
  };
  struct Node {
    uint64_t generation = 0;
    uint64_t max_seq = 0;  // highest seq of the generation, any link
    uint64_t floor = 0;    // restored after a restart
    std::map<int, Link> links;
  };
  std::map<std::string, Node> nodes;

  // Whether a heartbeat (node, generation, link, seq >= 1) is new; records
  // it when it is.
  bool Accept(const std::string& name, uint64_t generation, int link, uint64_t seq) {
    auto it = nodes.find(name);
    if (it == nodes.end()) {
      it = nodes.emplace(name, Node{}).first;
      it->second.generation = generation;
    }
    Node& node = it->second;
    if (generation < node.generation) return false;
    if (generation > node.generation) {
      node.generation = generation;
      node.max_seq = 0;
      node.floor = 0;
      node.links.clear();
    }
    if (seq <= node.floor) return false;
    Link& l = node.links[link];
    if (l.seen.empty() && seq + PacketCheck::kFreshLinkLag < node.max_seq) return false;
    if (l.seen.count(seq) != 0) return false;
    if (l.top >= 64 && seq <= l.top - 64) return false;
    l.seen.insert(seq);
    if (seq > l.top) l.top = seq;
    if (seq > node.max_seq) node.max_seq = seq;
    return true;
  }

  // The agent restarted with its saved floors: every link starts afresh,
  // and nothing at or below the highest seq seen passes.
  void Restart() {
    for (auto& [name, node] : nodes) {
      node.floor = std::max(node.floor, node.max_seq);
      node.max_seq = 0;
      node.links.clear();
    }
  }
};

void CheckScript(const uint8_t* data, size_t size) {
  static const char* const kNodes[] = {"node02", "node03", "node04"};
  auto check = std::make_unique<PacketCheck>("fuzz", "node01", &Ring());
  Model model;
  v1::Heartbeat sent;
  v1::Heartbeat got;
  std::string frame;
  for (size_t i = 0; i + 6 <= size; i += 6) {
    const uint8_t* rec = data + i;
    std::string node = kNodes[rec[0] % 3];
    int link = rec[1] % 4;
    uint64_t generation = rec[2] % 4;
    uint64_t seq = ((uint64_t{rec[3]} << 8) | rec[4]) % 300;
    bool restart = (rec[5] & 1) != 0;
    bool crc = (rec[5] & 2) != 0;
    bool flip = (rec[5] & 4) != 0;
    if (restart) {
      auto next = std::make_unique<PacketCheck>("fuzz", "node01", &Ring());
      for (const PacketCheck::Floor& f : check->Floors()) next->SetFloor(f);
      if (next->Floors() != check->Floors()) __builtin_trap();
      check = std::move(next);
      model.Restart();
    }
    sent.Clear();
    sent.set_cluster_name("fuzz");
    sent.set_node(node);
    sent.set_generation(generation);
    sent.set_seq(seq);
    sent.set_config_version(rec[5] >> 3);
    if (!EncodeFrame(sent, *Ring().Find(crc ? 2 : 1), &frame).ok()) __builtin_trap();
    if (flip) frame[(rec[3] ^ rec[4]) % frame.size()] ^= static_cast<char>(1 << (rec[4] % 8));
    PacketCheck::Result r = check->Check(frame, link, &got);
    if (flip || seq == 0) {
      if (r.ok) __builtin_trap();
      continue;
    }
    bool want = model.Accept(node, generation, link, seq);
    if (r.ok != want || r.own) __builtin_trap();
    if (!r.ok && r.reason != DropReason::kReplay) __builtin_trap();
    if (r.ok && got.SerializeAsString() != sent.SerializeAsString()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckWholeFrame(data, size);
  CheckScript(data, size);
  return 0;
}
