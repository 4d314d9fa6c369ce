// OpenSSL 3 marks its block-level digest functions deprecated in favour of
// EVP, but EVP has no way to copy a keyed digest state without the heap in
// OpenSSL 3.0; the plain SHA256_CTX/SHA_CTX/MD5_CTX structs copy for free.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "agent/wire/mac.h"

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hacluster::wire {

namespace {

using spec::v1::AuthMethod;

// zlib is not linked into the agent and OpenSSL offers no CRC32, so the
// table-driven CRC-32 is written here; the table is built at compile time.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

void PutBigEndian32(uint32_t v, uint8_t* out) {
  out[0] = static_cast<uint8_t>(v >> 24);
  out[1] = static_cast<uint8_t>(v >> 16);
  out[2] = static_cast<uint8_t>(v >> 8);
  out[3] = static_cast<uint8_t>(v);
}

}  // namespace

uint32_t Crc32(absl::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = kCrcTable[(c ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

size_t MacSize(AuthMethod method) {
  switch (method) {
    case spec::v1::AUTH_METHOD_UNSPECIFIED:
    case spec::v1::AUTH_METHOD_SHA256:
      return 32;
    case spec::v1::AUTH_METHOD_SHA1:
      return 20;
    case spec::v1::AUTH_METHOD_MD5:
      return 16;
    case spec::v1::AUTH_METHOD_CRC:
      return 4;
    default:
      return 0;
  }
}

// HMAC (RFC 2104) over one digest's block-level functions. The states after
// hashing the key xor ipad and xor opad are kept; a MAC copies them (plain
// structs) and hashes on, so Compute touches no heap.
class mac_internal::Hmac {
 public:
  virtual ~Hmac() = default;
  virtual void Compute(absl::string_view data, uint8_t* out) = 0;
};

namespace {

// All three digests work on 64-byte blocks.
constexpr size_t kBlockSize = 64;

template <typename Ctx, int (*Init)(Ctx*), int (*Update)(Ctx*, const void*, size_t),
          int (*Final)(unsigned char*, Ctx*), size_t kDigestSize>
class HmacOf final : public mac_internal::Hmac {
 public:
  explicit HmacOf(absl::string_view secret) {
    uint8_t key[kBlockSize] = {};
    if (secret.size() > kBlockSize) {
      Ctx ctx;
      Init(&ctx);
      Update(&ctx, secret.data(), secret.size());
      Final(key, &ctx);
    } else if (!secret.empty()) {
      std::memcpy(key, secret.data(), secret.size());
    }
    uint8_t pad[kBlockSize];
    for (size_t i = 0; i < kBlockSize; ++i) pad[i] = key[i] ^ 0x36;
    Init(&inner_);
    Update(&inner_, pad, kBlockSize);
    for (size_t i = 0; i < kBlockSize; ++i) pad[i] = key[i] ^ 0x5c;
    Init(&outer_);
    Update(&outer_, pad, kBlockSize);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(pad, sizeof pad);
  }
  ~HmacOf() override {
    OPENSSL_cleanse(&inner_, sizeof inner_);
    OPENSSL_cleanse(&outer_, sizeof outer_);
  }

  void Compute(absl::string_view data, uint8_t* out) override {
    uint8_t inner_hash[kDigestSize];
    Ctx ctx = inner_;
    Update(&ctx, data.data(), data.size());
    Final(inner_hash, &ctx);
    ctx = outer_;
    Update(&ctx, inner_hash, kDigestSize);
    Final(out, &ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
  }

 private:
  Ctx inner_;
  Ctx outer_;
};

using HmacSha256 = HmacOf<SHA256_CTX, SHA256_Init, SHA256_Update, SHA256_Final, 32>;
using HmacSha1 = HmacOf<SHA_CTX, SHA1_Init, SHA1_Update, SHA1_Final, 20>;
using HmacMd5 = HmacOf<MD5_CTX, MD5_Init, MD5_Update, MD5_Final, 16>;

}  // namespace

Mac::Mac(AuthMethod method, size_t size, std::unique_ptr<mac_internal::Hmac> hmac)
    : method_(method), size_(size), hmac_(std::move(hmac)) {}
Mac::Mac(Mac&&) noexcept = default;
Mac& Mac::operator=(Mac&&) noexcept = default;
Mac::~Mac() = default;

absl::StatusOr<Mac> Mac::Create(AuthMethod method, absl::string_view secret) {
  switch (method) {
    case spec::v1::AUTH_METHOD_CRC:
      return Mac(method, 4, nullptr);
    case spec::v1::AUTH_METHOD_UNSPECIFIED:
    case spec::v1::AUTH_METHOD_SHA256:
      return Mac(method, 32, std::make_unique<HmacSha256>(secret));
    case spec::v1::AUTH_METHOD_SHA1:
      return Mac(method, 20, std::make_unique<HmacSha1>(secret));
    case spec::v1::AUTH_METHOD_MD5:
      return Mac(method, 16, std::make_unique<HmacMd5>(secret));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown authentication method ", static_cast<int>(method)));
  }
}

void Mac::Compute(absl::string_view data, uint8_t* out) {
  if (hmac_ == nullptr) {
    PutBigEndian32(Crc32(data), out);
    return;
  }
  hmac_->Compute(data, out);
}

bool Mac::Verify(absl::string_view data, absl::string_view mac) {
  if (mac.size() != size_) return false;
  uint8_t expected[kMaxMacSize];
  Compute(data, expected);
  if (hmac_ == nullptr) {
    // Compared as an integer so that a fuzzer's comparison tracing can learn
    // it; a CRC is no secret.
    uint32_t want = (uint32_t{expected[0]} << 24) | (uint32_t{expected[1]} << 16) |
                    (uint32_t{expected[2]} << 8) | uint32_t{expected[3]};
    const auto* m = reinterpret_cast<const uint8_t*>(mac.data());
    uint32_t got = (uint32_t{m[0]} << 24) | (uint32_t{m[1]} << 16) | (uint32_t{m[2]} << 8) |
                   uint32_t{m[3]};
    return got == want;
  }
  return CRYPTO_memcmp(expected, mac.data(), size_) == 0;
}

}  // namespace hacluster::wire
