#include "agent/hb3wire/codec.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "proto/wire.pb.h"

namespace hacluster::hb3wire {
namespace {

using wire::DropReason;
using wire::PacketCheck;

PacketCheck::Result Dropped(DropReason reason, uint32_t key_id, std::string detail) {
  PacketCheck::Result r;
  r.reason = reason;
  r.key_id = key_id;
  r.detail = std::move(detail);
  return r;
}

std::string Quoted(absl::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = absl::StrCat("'", absl::CHexEscape(s.substr(0, kMax)), "'");
  if (s.size() > kMax) out += "...";
  return out;
}

}  // namespace

bool ParseHex(absl::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

std::string Base64(absl::string_view bytes) { return absl::Base64Escape(bytes); }

std::string ClassicForm(const HaMessage& m) {
  std::string out;
  for (const HaField& f : m.fields()) {
    if (f.name == "auth") continue;
    if (f.type != FieldType::kString) absl::StrAppend(&out, "(", static_cast<int>(f.type), ")");
    absl::StrAppend(&out, f.name, "=",
                    f.type == FieldType::kBinary ? Base64(f.value) : f.value, "\n");
  }
  return out;
}

Codec::Codec(Identity local, std::vector<std::string> nodes, const wire::Keyring* keyring)
    : local_(std::move(local)),
      nodes_(std::move(nodes)),
      auth_(keyring),
      replay_("", local_.node, keyring) {}

void Codec::SetKeyring(const wire::Keyring* keyring) {
  auth_.SetKeyring(keyring);
  replay_.UpdateKeyring(keyring);
}

absl::StatusOr<std::string> Codec::Encode(HaMessage body, bool sequenced, absl::Time wall,
                                          absl::string_view load) {
  body.Add("src", local_.node);
  body.AddTyped(FieldType::kBinary, "srcuuid", local_.uuid);
  const uint64_t seq = seq_ + 1;
  if (sequenced) body.Add("seq", absl::StrCat(absl::Hex(seq)));
  body.Add("hg", absl::StrCat(absl::Hex(local_.generation)));
  body.Add("ts", absl::StrCat(absl::Hex(std::max<int64_t>(0, absl::ToUnixSeconds(wall)))));
  if (sequenced) body.Add("ld", load);
  body.Add("ttl", "3");
  absl::StatusOr<std::string> inner = auth_.Sign(ClassicForm(body));
  if (!inner.ok()) return inner.status();
  body.Add("auth", *inner);
  std::string datagram = body.Serialize();
  if (datagram.size() > kMaxMessageSize) {
    return absl::OutOfRangeError(absl::StrCat("message of ", datagram.size(), " bytes"));
  }
  absl::StatusOr<std::string> outer = auth_.Sign(datagram);
  if (!outer.ok()) return outer.status();
  absl::StrAppend(&datagram, outer->size(), ":", *outer, ",");
  if (sequenced) {
    seq_ = seq;
    history_.emplace_back(seq, datagram);
    if (history_.size() > kHistory) history_.pop_front();
  }
  return datagram;
}

std::vector<std::string> Codec::History(uint64_t first, uint64_t last) const {
  std::vector<std::string> out;
  for (const auto& [seq, datagram] : history_) {
    if (seq >= first && seq <= last) out.push_back(datagram);
  }
  return out;
}

PacketCheck::Result Codec::Check(absl::string_view datagram, int link, Received* out) {
  absl::StatusOr<ParsedFrame> f = ParseFrame(datagram);
  if (!f.ok()) {
    return Dropped(DropReason::kMalformed, 0,
                   absl::StrCat("not a Heartbeat 3 message: ", f.status().message()));
  }
  if (!f->auth_index.has_value()) {
    return Dropped(DropReason::kMalformed, 0, "Heartbeat 3 message without authentication");
  }
  const uint32_t key_id = *f->auth_index;
  switch (auth_.Verify(f->signed_part, key_id, f->auth_token)) {
    case Authenticator::Verdict::kOk:
      break;
    case Authenticator::Verdict::kUnknownKey:
      return Dropped(DropReason::kUnknownKey, key_id, absl::StrCat("key ", key_id));
    case Authenticator::Verdict::kUnsupportedMethod:
      return Dropped(DropReason::kWrongMethod, key_id,
                     absl::StrCat("key ", key_id, " has no Heartbeat 3 method"));
    case Authenticator::Verdict::kBadToken:
      return Dropped(DropReason::kBadMac, key_id, absl::StrCat("key ", key_id));
  }
  HaMessage& m = f->message;
  const absl::string_view src = m.GetOr("src");
  const absl::string_view type = m.GetOr("t");
  if (src.empty() || type.empty()) {
    return Dropped(DropReason::kMalformed, key_id, "Heartbeat 3 message without t or src");
  }
  if (std::find(nodes_.begin(), nodes_.end(), src) == nodes_.end()) {
    return Dropped(DropReason::kWrongCluster, key_id,
                   absl::StrCat("node ", Quoted(src), " is not a node of this cluster"));
  }
  uint64_t hg = 0;
  if (!ParseHex(m.GetOr("hg"), &hg)) {
    return Dropped(DropReason::kMalformed, key_id,
                   absl::StrCat("node ", Quoted(src), ": generation hg=",
                                Quoted(m.GetOr("hg")), " is not hex"));
  }
  uint64_t seq = 0;
  std::optional<absl::string_view> seq_text = m.Get("seq");
  if (seq_text.has_value() && !ParseHex(*seq_text, &seq)) {
    return Dropped(DropReason::kMalformed, key_id,
                   absl::StrCat("node ", Quoted(src), ": seq=", Quoted(*seq_text), " is not hex"));
  }
  PacketCheck::Result r;
  if (seq_text.has_value()) {
    wire::v1::Heartbeat hb;
    hb.set_node(std::string(src));
    hb.set_generation(hg);
    hb.set_seq(seq);
    r = replay_.CheckDecoded(hb, link, key_id);
    if (!r.ok) return r;
  } else {
    r.key_id = key_id;
    r.ok = true;
    r.own = src == local_.node;
  }
  out->type.assign(type.data(), type.size());
  out->node.assign(src.data(), src.size());
  out->generation = hg;
  out->seq = seq;
  out->message = std::move(m);
  return r;
}

}  // namespace hacluster::hb3wire
