#include "agent/wire/mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
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

// OpenSSL's digest name for an HMAC method, or nullptr.
const char* DigestName(AuthMethod method) {
  switch (method) {
    case spec::v1::AUTH_METHOD_UNSPECIFIED:
    case spec::v1::AUTH_METHOD_SHA256:
      return "SHA256";
    case spec::v1::AUTH_METHOD_SHA1:
      return "SHA1";
    case spec::v1::AUTH_METHOD_MD5:
      return "MD5";
    default:
      return nullptr;
  }
}

// The oldest error OpenSSL queued, and the queue cleared.
std::string OpenSslError() {
  unsigned long e = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

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

void Mac::CtxFree::operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }

Mac::Mac(AuthMethod method, size_t size, EVP_MAC_CTX* ctx)
    : method_(method), size_(size), ctx_(ctx) {}
Mac::Mac(Mac&&) noexcept = default;
Mac& Mac::operator=(Mac&&) noexcept = default;
Mac::~Mac() = default;

absl::StatusOr<Mac> Mac::Create(AuthMethod method, absl::string_view secret) {
  if (method == spec::v1::AUTH_METHOD_CRC) return Mac(method, 4, nullptr);
  const char* digest = DigestName(method);
  if (digest == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown authentication method ", static_cast<int>(method)));
  }
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) {
    return absl::UnavailableError(absl::StrCat("OpenSSL offers no HMAC: ", OpenSslError()));
  }
  std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx(EVP_MAC_CTX_new(hmac));
  EVP_MAC_free(hmac);  // the context holds its own reference
  if (ctx == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create an HMAC-", digest, " context: ", OpenSslError()));
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  static const unsigned char kNoKey = 0;  // OpenSSL wants a pointer even for ""
  const unsigned char* key = secret.empty()
                                 ? &kNoKey
                                 : reinterpret_cast<const unsigned char*>(secret.data());
  if (EVP_MAC_init(ctx.get(), key, secret.size(), params) != 1) {
    return absl::UnavailableError(
        absl::StrCat("OpenSSL cannot compute HMAC-", digest, ": ", OpenSslError()));
  }
  size_t size = EVP_MAC_CTX_get_mac_size(ctx.get());
  if (size != MacSize(method)) {
    return absl::InternalError(absl::StrCat("OpenSSL's HMAC-", digest, " is ", size,
                                            " bytes, not ", MacSize(method)));
  }
  return Mac(method, size, ctx.release());
}

absl::Status Mac::Compute(absl::string_view data, uint8_t* out) {
  if (ctx_ == nullptr) {
    PutBigEndian32(Crc32(data), out);
    return absl::OkStatus();
  }
  size_t written = 0;
  // A null key re-initialises the state keyed at creation.
  if (EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(ctx_.get(), out, &written, size_) != 1 || written != size_) {
    return absl::InternalError(absl::StrCat("HMAC computation failed: ", OpenSslError()));
  }
  return absl::OkStatus();
}

bool Mac::Verify(absl::string_view data, absl::string_view mac) {
  if (mac.size() != size_) return false;
  uint8_t expected[kMaxMacSize];
  if (!Compute(data, expected).ok()) return false;
  if (ctx_ == nullptr) {
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
