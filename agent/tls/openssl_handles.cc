#include "agent/tls/openssl_handles.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>

#include "absl/strings/str_cat.h"

namespace hacluster::agent::tls::internal {
namespace {

// The passphrase callback: no passphrase. OpenSSL's default would prompt
// on the terminal, which an agent or a script must never do.
int NoPassphrase(char*, int, int, void*) { return -1; }

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

absl::Status TooLarge(absl::string_view pem) {
  return absl::InvalidArgumentError(
      absl::StrCat("PEM text of ", pem.size(), " bytes, more than the ", kMaxPemSize,
                   " a certificate or key needs"));
}

}  // namespace

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    absl::StrAppend(&text, text.empty() ? "" : "; ",
                    reason != nullptr ? reason : absl::StrCat("error ", code));
  }
  return text.empty() ? "no detail" : text;
}

BioPtr MemoryBio(absl::string_view data) {
  if (data.size() > kMaxPemSize) return nullptr;
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

absl::StatusOr<X509Ptr> ReadCertificate(absl::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return TooLarge(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM certificate (", OpenSslErrors(), ")"));
  }
  return cert;
}

absl::StatusOr<KeyPtr> ReadPrivateKey(absl::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return TooLarge(pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no unencrypted PEM private key (", OpenSslErrors(), ")"));
  }
  return key;
}

std::string CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  return BioText(bio.get());
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  // PKCS#8, unencrypted: the file's mode protects it.
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  return BioText(bio.get());
}

std::optional<absl::Time> FromAsn1Time(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return absl::FromTimeT(timegm(&tm));
}

bool SetAsn1Time(ASN1_TIME* t, absl::Time time) {
  return ASN1_TIME_set(t, absl::ToTimeT(time)) != nullptr;
}

}  // namespace hacluster::agent::tls::internal
