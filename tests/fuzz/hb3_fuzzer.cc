// libFuzzer target: a received datagram through the Heartbeat 3 wire's
// decoder (agent/hb3wire): ParseFrame and Codec::Check, for local node
// "node01" of the nodes node01, node02, nodea and nodeb, with a keyring of a
// crc key (1), an md5 key (2, the secret of the daemon's captures in
// agent/hb3wire/testdata, so those pass as received), an sha1 key (3) and
// an sha256 key (4, which Heartbeat 3 lacks). Properties:
//  - no input crashes it;
//  - a datagram that parses re-serializes (HaMessage::Serialize) to exactly
//    the bytes its auth token covers, which parse again, without auth, to
//    the same fields; every struct value parses as a nested message that
//    re-serializes to the same bytes;
//  - Check of the input as received: a datagram that does not parse, or
//    has no auth netstring, is malformed; otherwise the verdict is the
//    Authenticator's (unknown-key, bad-mac, wrong-method) or, once that
//    passed, the one a plain model of the envelope checks gives; a drop
//    always says why; an accepted message has the parsed fields;
//  - the parsed message re-signed with each key, checked by a fresh codec
//    on link 0, again on link 0 and then on link 1: the verdicts the model
//    gives (auth passes, or wrong-method for sha256; a sequenced message
//    from another node is a replay the second time on the same link and new
//    on another link; own messages and acknowledgements pass every time);
//  - the sha1-signed datagram with one bit flipped is never accepted.
// Per input: a few parses and at most a dozen MACs of at most the input's
// size.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "agent/hb3wire/auth.h"
#include "agent/hb3wire/codec.h"
#include "agent/hb3wire/ha_msg.h"
#include "agent/wire/codec.h"
#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"

namespace {

using hacluster::hb3wire::Authenticator;
using hacluster::hb3wire::Codec;
using hacluster::hb3wire::FieldType;
using hacluster::hb3wire::HaField;
using hacluster::hb3wire::HaMessage;
using hacluster::hb3wire::ParsedFrame;
using hacluster::hb3wire::ParseFrame;
using hacluster::hb3wire::ParseHex;
using hacluster::hb3wire::ParseNested;
using hacluster::hb3wire::Received;
using hacluster::spec::v1::AUTH_METHOD_CRC;
using hacluster::spec::v1::AUTH_METHOD_MD5;
using hacluster::spec::v1::AUTH_METHOD_SHA1;
using hacluster::spec::v1::AUTH_METHOD_SHA256;
using hacluster::wire::DropReason;
using hacluster::wire::Keyring;
using hacluster::wire::PacketCheck;

constexpr const char* kLocal = "node01";
const std::vector<std::string> kNodes = {"node01", "node02", "nodea", "nodeb"};

const Keyring& Ring() {
  static const Keyring* ring = new Keyring({{1, AUTH_METHOD_CRC, ""},
                                            {2, AUTH_METHOD_MD5, "s3cretKey"},
                                            {3, AUTH_METHOD_SHA1, "fuzz-secret"},
                                            {4, AUTH_METHOD_SHA256, "fuzz-secret"}},
                                           3);
  return *ring;
}

std::unique_ptr<Codec> NewCodec() {
  return std::make_unique<Codec>(
      hacluster::hb3wire::Identity{kLocal, std::string(16, '\x01'), 7}, kNodes, &Ring());
}

bool SameFields(const HaMessage& a, const HaMessage& b) {
  if (a.fields().size() != b.fields().size()) return false;
  for (size_t i = 0; i < a.fields().size(); ++i) {
    const HaField& x = a.fields()[i];
    const HaField& y = b.fields()[i];
    if (x.type != y.type || x.name != y.name || x.value != y.value) return false;
  }
  return true;
}

// Serialize gives back the signed bytes; struct values are nested messages
// that do the same.
void CheckRoundTrip(const ParsedFrame& f) {
  const std::string wire = f.message.Serialize();
  if (wire != f.signed_part) __builtin_trap();
  absl::StatusOr<ParsedFrame> again = ParseFrame(wire);
  if (!again.ok() || again->auth_index.has_value() || !again->auth_token.empty()) __builtin_trap();
  if (again->signed_part != wire || !SameFields(again->message, f.message)) __builtin_trap();
  for (const HaField& field : f.message.fields()) {
    if (field.type != FieldType::kStruct && field.type != FieldType::kUncompress) continue;
    HaMessage nested;
    if (!ParseNested(field.value, 1, &nested).ok()) __builtin_trap();
    if (nested.Serialize() != field.value) __builtin_trap();
  }
  // For the logs and the inner auth field: must not crash.
  (void)f.message.DebugString();
  (void)hacluster::hb3wire::ClassicForm(f.message);
}

// What the envelope checks after a passed authentication decide for a
// message, seen for the first time.
struct Verdict {
  bool ok = false;
  bool own = false;
  bool sequenced = false;
  DropReason reason = DropReason::kMalformed;
};

Verdict Model(const HaMessage& m) {
  Verdict v;
  const absl::string_view src = m.GetOr("src");
  if (src.empty() || m.GetOr("t").empty()) return v;
  bool known = false;
  for (const std::string& n : kNodes) known = known || n == src;
  if (!known) {
    v.reason = DropReason::kWrongCluster;
    return v;
  }
  uint64_t hg = 0;
  if (!ParseHex(m.GetOr("hg"), &hg)) return v;
  std::optional<absl::string_view> seq_text = m.Get("seq");
  uint64_t seq = 0;
  if (seq_text.has_value() && (!ParseHex(*seq_text, &seq) || seq == 0)) return v;
  v.ok = true;
  v.own = src == kLocal;
  v.sequenced = seq_text.has_value();
  return v;
}

void Expect(const PacketCheck::Result& r, bool ok, bool own, DropReason reason) {
  if (r.ok != ok) __builtin_trap();
  if (ok) {
    if (r.own != own || !r.detail.empty()) __builtin_trap();
  } else {
    if (r.reason != reason || r.detail.empty()) __builtin_trap();
  }
}

void ExpectAccepted(const Received& got, const HaMessage& m) {
  if (!SameFields(got.message, m)) __builtin_trap();
  if (got.node != m.GetOr("src") || got.type != m.GetOr("t")) __builtin_trap();
}

// The input as received.
void CheckAsReceived(absl::string_view datagram, const absl::StatusOr<ParsedFrame>& f) {
  std::unique_ptr<Codec> codec = NewCodec();
  Received got;
  PacketCheck::Result r = codec->Check(datagram, 0, &got);
  if (!f.ok() || !f->auth_index.has_value()) {
    Expect(r, false, false, DropReason::kMalformed);
    return;
  }
  if (r.key_id != *f->auth_index) __builtin_trap();
  Authenticator verifier(&Ring());
  switch (verifier.Verify(f->signed_part, *f->auth_index, f->auth_token)) {
    case Authenticator::Verdict::kOk:
      break;
    case Authenticator::Verdict::kUnknownKey:
      Expect(r, false, false, DropReason::kUnknownKey);
      return;
    case Authenticator::Verdict::kBadToken:
      Expect(r, false, false, DropReason::kBadMac);
      return;
    case Authenticator::Verdict::kUnsupportedMethod:
      Expect(r, false, false, DropReason::kWrongMethod);
      return;
  }
  // Authenticated: the rest is the model's.
  const Verdict v = Model(f->message);
  Expect(r, v.ok, v.own, v.reason);
  if (r.ok) ExpectAccepted(got, f->message);
}

// The parsed message signed with key `id`, through a fresh codec.
void CheckResigned(const ParsedFrame& f, uint32_t id, uint32_t flip_at) {
  const hacluster::wire::Key* key = Ring().Find(id);
  std::string token;
  if (key->method == AUTH_METHOD_SHA256) {
    token = "00";  // no Heartbeat 3 token exists for it
  } else {
    // Sign with a keyring whose active key is `id`.
    Keyring one({*key}, id);
    Authenticator signer(&one);
    absl::StatusOr<std::string> auth = signer.Sign(f.signed_part);
    if (!auth.ok()) __builtin_trap();
    token = auth->substr(auth->find(' ') + 1);
  }
  const std::string auth = absl::StrCat(id, " ", token);
  const std::string datagram = absl::StrCat(f.signed_part, auth.size(), ":", auth, ",");

  std::unique_ptr<Codec> codec = NewCodec();
  Received got;
  if (key->method == AUTH_METHOD_SHA256) {
    Expect(codec->Check(datagram, 0, &got), false, false, DropReason::kWrongMethod);
    return;
  }
  const Verdict v = Model(f.message);
  PacketCheck::Result r = codec->Check(datagram, 0, &got);
  Expect(r, v.ok, v.own, v.reason);
  if (r.key_id != id) __builtin_trap();
  if (!v.ok) return;
  ExpectAccepted(got, f.message);
  // Again on the same link: a replay, unless the window does not apply.
  const bool windowed = v.sequenced && !v.own;
  Expect(codec->Check(datagram, 0, &got), !windowed, v.own, DropReason::kReplay);
  // The copy on another link is new.
  Expect(codec->Check(datagram, 1, &got), true, v.own, DropReason::kMalformed);

  if (key->method == AUTH_METHOD_SHA1) {
    std::string flipped = datagram;
    flipped[flip_at % flipped.size()] ^= static_cast<char>(1u << ((flip_at >> 24) % 8));
    std::unique_ptr<Codec> fresh = NewCodec();
    if (fresh->Check(flipped, 0, &got).ok) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view datagram(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ParsedFrame> f = ParseFrame(datagram);
  if (f.ok()) CheckRoundTrip(*f);
  CheckAsReceived(datagram, f);
  if (!f.ok()) return 0;
  uint32_t flip_at = 0;
  for (size_t i = 0; i < size && i < 8; ++i) flip_at = flip_at * 31 + data[i];
  for (uint32_t id = 1; id <= 4; ++id) CheckResigned(*f, id, flip_at);
  return 0;
}
