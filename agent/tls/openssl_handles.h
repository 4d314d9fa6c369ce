// Owning handles for the OpenSSL objects agent/tls uses, and the text of
// OpenSSL's error queue for messages. Internal to agent/tls.
//
// Thread-safety: the handles are plain unique_ptrs. OpenSslErrors reads and
// clears the calling thread's error queue (OpenSSL keeps one per thread).
#ifndef HACLUSTER_AGENT_TLS_OPENSSL_HANDLES_H_
#define HACLUSTER_AGENT_TLS_OPENSSL_HANDLES_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hacluster::agent::tls::internal {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

// The largest PEM text read (a certificate or key is a few KiB).
inline constexpr size_t kMaxPemSize = size_t{1} << 20;

// OpenSSL's queued errors for this thread as "reason; reason", cleared;
// "no detail" when the queue is empty.
std::string OpenSslErrors();

// A read-only memory BIO over `data`, which must outlive it; null when
// `data` is larger than kMaxPemSize.
BioPtr MemoryBio(absl::string_view data);

// The first certificate of `pem`. InvalidArgument "no PEM certificate"
// (with OpenSSL's reason) when there is none.
absl::StatusOr<X509Ptr> ReadCertificate(absl::string_view pem);

// The private key in `pem`. Never prompts for a passphrase: an encrypted
// key is refused (InvalidArgument), as is anything that is not a key.
absl::StatusOr<KeyPtr> ReadPrivateKey(absl::string_view pem);

// A certificate's or key's PEM text.
std::string CertificatePem(X509* cert);
std::string PrivateKeyPem(EVP_PKEY* key);

// ASN1_TIME <-> absl::Time, to the second (certificates hold seconds).
// nullopt / false when OpenSSL cannot convert.
std::optional<absl::Time> FromAsn1Time(const ASN1_TIME* t);
bool SetAsn1Time(ASN1_TIME* t, absl::Time time);

}  // namespace hacluster::agent::tls::internal

#endif  // HACLUSTER_AGENT_TLS_OPENSSL_HANDLES_H_
