#include "agent/wire/codec.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hacluster::wire {

namespace {

using spec::v1::AuthMethod;

static_assert(spec::v1::AUTH_METHOD_SHA256 == 1 && spec::v1::AUTH_METHOD_SHA1 == 2 &&
                  spec::v1::AUTH_METHOD_MD5 == 3 && spec::v1::AUTH_METHOD_CRC == 4,
              "the frame's method byte is the AuthMethod value");

constexpr uint8_t kMaxMethodByte = 4;

// Writes the frame of `hb` signed by `mac` with key `id` into *out.
absl::Status EncodeWith(const wire::v1::Heartbeat& hb, uint32_t id, Mac& mac, std::string* out) {
  if (id < kMinKeyId || id > kMaxKeyId) {
    return absl::InvalidArgumentError(
        absl::StrCat("key id ", id, " cannot be sent: key ids are ", kMinKeyId, " to ", kMaxKeyId));
  }
  size_t payload = hb.ByteSizeLong();
  size_t total = kFrameHeaderSize + payload + mac.size();
  if (total > kMaxFrameSize) {
    return absl::OutOfRangeError(absl::StrCat(
        "heartbeat of ", payload, " bytes does not fit a ", kMaxFrameSize, "-byte frame (at most ",
        kMaxFrameSize - kFrameHeaderSize - mac.size(), " with ", AuthMethodName(mac.method()),
        ")"));
  }
  out->resize(total);
  auto* p = reinterpret_cast<uint8_t*>(&(*out)[0]);
  std::memcpy(p, kFrameMagic.data(), kFrameMagic.size());
  p[4] = static_cast<uint8_t>(id);
  p[5] = static_cast<uint8_t>(mac.method());
  p[6] = static_cast<uint8_t>(payload >> 8);
  p[7] = static_cast<uint8_t>(payload);
  hb.SerializeWithCachedSizesToArray(p + kFrameHeaderSize);
  mac.Compute(absl::string_view(out->data(), kFrameHeaderSize + payload),
              p + kFrameHeaderSize + payload);
  return absl::OkStatus();
}

bool Fail(Drop* drop, DropReason reason, std::string detail) {
  drop->reason = reason;
  drop->detail = std::move(detail);
  return false;
}

}  // namespace

absl::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kUnknownKey:
      return "unknown-key";
    case DropReason::kBadMac:
      return "bad-mac";
    case DropReason::kWrongMethod:
      return "wrong-method";
    case DropReason::kWrongCluster:
      return "wrong-cluster";
    case DropReason::kReplay:
      return "replay";
  }
  return "unknown";
}

absl::string_view AuthMethodName(AuthMethod method) {
  switch (method) {
    case spec::v1::AUTH_METHOD_UNSPECIFIED:
    case spec::v1::AUTH_METHOD_SHA256:
      return "sha256";
    case spec::v1::AUTH_METHOD_SHA1:
      return "sha1";
    case spec::v1::AUTH_METHOD_MD5:
      return "md5";
    case spec::v1::AUTH_METHOD_CRC:
      return "crc";
    default:
      return "unknown";
  }
}

absl::Status EncodeFrame(const wire::v1::Heartbeat& hb, const Key& key, std::string* out) {
  absl::StatusOr<Mac> mac = Mac::Create(key.method, key.secret);
  if (!mac.ok()) return mac.status();
  return EncodeWith(hb, key.id, *mac, out);
}

FrameCodec::FrameCodec(const Keyring* keyring) { SetKeyring(keyring); }

void FrameCodec::SetKeyring(const Keyring* keyring) {
  keyring_ = keyring;
  for (auto& m : macs_) m.reset();
  for (auto& e : mac_errors_) e = absl::OkStatus();
  for (const Key& key : keyring_->keys()) {
    absl::StatusOr<Mac> mac = Mac::Create(key.method, key.secret);
    if (mac.ok()) {
      macs_[key.id].emplace(*std::move(mac));
    } else {
      mac_errors_[key.id] = mac.status();
    }
  }
}

absl::Status FrameCodec::Encode(const wire::v1::Heartbeat& hb, std::string* out) {
  uint32_t id = keyring_->active().id;
  if (!macs_[id].has_value()) {
    return absl::Status(mac_errors_[id].code(),
                        absl::StrCat("key ", id, ": ", mac_errors_[id].message()));
  }
  return EncodeWith(hb, id, *macs_[id], out);
}

bool FrameCodec::Decode(absl::string_view frame, wire::v1::Heartbeat* hb, uint32_t* key_id,
                        Drop* drop) {
  *key_id = 0;
  if (frame.size() > kMaxFrameSize) {
    return Fail(drop, DropReason::kMalformed,
                absl::StrCat("frame of ", frame.size(), " bytes is larger than ", kMaxFrameSize));
  }
  if (frame.size() < kFrameHeaderSize) {
    return Fail(drop, DropReason::kMalformed,
                absl::StrCat("frame of ", frame.size(), " bytes is shorter than its ",
                             kFrameHeaderSize, "-byte header"));
  }
  if (frame.substr(0, kFrameMagic.size()) != kFrameMagic) {
    return Fail(drop, DropReason::kMalformed, "no HAW1 magic");
  }
  const auto* p = reinterpret_cast<const uint8_t*>(frame.data());
  uint32_t id = p[4];
  uint8_t method_byte = p[5];
  size_t payload = (size_t{p[6]} << 8) | p[7];
  if (id < kMinKeyId || id > kMaxKeyId) {
    return Fail(drop, DropReason::kMalformed,
                absl::StrCat("key id ", id, " is not ", kMinKeyId, " to ", kMaxKeyId));
  }
  if (method_byte == 0 || method_byte > kMaxMethodByte) {
    return Fail(drop, DropReason::kMalformed,
                absl::StrCat("method ", method_byte, " is not 1 to ", kMaxMethodByte));
  }
  auto method = static_cast<AuthMethod>(method_byte);
  size_t mac_size = MacSize(method);
  if (frame.size() != kFrameHeaderSize + payload + mac_size) {
    return Fail(drop, DropReason::kMalformed,
                absl::StrCat("frame of ", frame.size(), " bytes does not match its header (",
                             payload, "-byte payload, ", mac_size, "-byte ",
                             AuthMethodName(method), " MAC)"));
  }
  *key_id = id;
  const Key* key = keyring_->Find(id);
  if (key == nullptr) {
    return Fail(drop, DropReason::kUnknownKey, absl::StrCat("key ", id));
  }
  if (key->method != method) {
    return Fail(drop, DropReason::kWrongMethod,
                absl::StrCat("key ", id, " is ", AuthMethodName(key->method), ", frame says ",
                             AuthMethodName(method)));
  }
  if (!macs_[id].has_value()) {
    return Fail(drop, DropReason::kBadMac,
                absl::StrCat("key ", id, ": ", mac_errors_[id].message()));
  }
  size_t signed_size = kFrameHeaderSize + payload;
  if (!macs_[id]->Verify(frame.substr(0, signed_size), frame.substr(signed_size))) {
    return Fail(drop, DropReason::kBadMac, absl::StrCat("key ", id));
  }
  if (!hb->ParseFromArray(p + kFrameHeaderSize, static_cast<int>(payload))) {
    return Fail(drop, DropReason::kMalformed,
                absl::StrCat("key ", id, ": payload is not a Heartbeat"));
  }
  return true;
}

}  // namespace hacluster::wire
