#include "agent/tls/issuer.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/tls/openssl_handles.h"

namespace hacluster::agent::tls {
namespace {

using internal::BignumPtr;
using internal::GeneralNamesPtr;
using internal::KeyPtr;
using internal::X509ExtensionPtr;
using internal::X509Ptr;

// X.520's upper bound for O, OU and CN.
constexpr size_t kMaxNameEntry = 64;
constexpr char kCaSuffix[] = " cluster CA";

absl::Status OpenSslFailure(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", internal::OpenSslErrors()));
}

absl::Status CheckNameText(absl::string_view what, absl::string_view text, size_t max) {
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (text.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", text, "' is longer than ", max, " bytes"));
  }
  bool control = std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (control) {
    return absl::InvalidArgumentError(absl::StrCat(what, " holds control characters"));
  }
  return absl::OkStatus();
}

bool IsIpLiteral(absl::string_view text) {
  std::string s(text);
  unsigned char buffer[16];
  return inet_pton(AF_INET, s.c_str(), buffer) == 1 || inet_pton(AF_INET6, s.c_str(), buffer) == 1;
}

bool IsDnsLabel(absl::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '-'; });
}

// "host:7443", "192.0.2.1:7443".
bool LooksLikePort(absl::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == text.size()) return false;
  absl::string_view port = text.substr(colon + 1);
  return std::all_of(port.begin(), port.end(), absl::ascii_isdigit);
}

absl::StatusOr<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslFailure("cannot make an EC P-256 key");
  return key;
}

// 128 random bits: unguessable, so serials never repeat across CAs and
// hacli runs without any state to keep.
absl::Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return OpenSslFailure("no random serial");
  BignumPtr serial(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (serial == nullptr || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) ==
                               nullptr) {
    return OpenSslFailure("cannot set the serial number");
  }
  return absl::OkStatus();
}

// A version 3 certificate for `key` with a serial and dates; the caller
// adds names and extensions, then signs.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, absl::Time not_before,
                                       absl::Time not_after) {
  if (not_before >= not_after) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the validity ends (", FormatCertTime(not_after), ") before it starts (",
        FormatCertTime(not_before), ")"));
  }
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !internal::SetAsn1Time(X509_getm_notBefore(cert.get()), not_before) ||
      !internal::SetAsn1Time(X509_getm_notAfter(cert.get()), not_after) ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslFailure("cannot make a certificate");
  }
  absl::Status serial = SetRandomSerial(cert.get());
  if (!serial.ok()) return serial;
  return cert;
}

bool AddText(X509_NAME* name, const char* field, absl::string_view value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

// One extension in openssl.cnf syntax ("critical,CA:TRUE"); `ctx` names
// the issuer and subject for the key identifiers.
absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslFailure(absl::StrCat("cannot add ", OBJ_nid2sn(nid), " ", value));
  }
  return absl::OkStatus();
}

absl::Status AddExtensions(X509* cert, X509V3_CTX* ctx,
                           const std::vector<std::pair<int, const char*>>& extensions) {
  for (const auto& [nid, value] : extensions) {
    absl::Status added = AddExtension(cert, ctx, nid, value);
    if (!added.ok()) return added;
  }
  return absl::OkStatus();
}

// The subjectAltName, built entry by entry rather than as config text, so
// no address can smuggle in a second entry.
absl::Status AddSans(X509* cert, const std::vector<std::string>& sans) {
  if (sans.empty()) return absl::OkStatus();
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  for (const std::string& san : sans) {
    absl::Status checked = CheckSan(san);
    if (!checked.ok()) return checked;
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr || sk_GENERAL_NAME_push(names.get(), name) == 0) {
      GENERAL_NAME_free(name);
      return OpenSslFailure("cannot add a subjectAltName");
    }
    if (IsIpLiteral(san)) {
      ASN1_OCTET_STRING* ip = a2i_IPADDRESS(san.c_str());
      if (ip == nullptr) return OpenSslFailure(absl::StrCat("cannot encode IP ", san));
      GENERAL_NAME_set0_value(name, GEN_IPADD, ip);
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, san.data(), static_cast<int>(san.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        return OpenSslFailure(absl::StrCat("cannot encode DNS name ", san));
      }
      GENERAL_NAME_set0_value(name, GEN_DNS, dns);
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return OpenSslFailure("cannot add the subjectAltName");
  }
  return absl::OkStatus();
}

absl::StatusOr<CertAndKey> Sign(X509* cert, EVP_PKEY* signer, EVP_PKEY* key) {
  if (X509_sign(cert, signer, EVP_sha256()) <= 0) return OpenSslFailure("cannot sign");
  CertAndKey out{internal::CertificatePem(cert), internal::PrivateKeyPem(key)};
  if (out.cert_pem.empty() || out.key_pem.empty()) return OpenSslFailure("cannot write PEM");
  return out;
}

// The CA's certificate and key, checked to belong together and to be a CA.
absl::Status ReadCa(const CertAndKey& ca, X509Ptr* cert, KeyPtr* key) {
  absl::StatusOr<X509Ptr> read_cert = internal::ReadCertificate(ca.cert_pem);
  if (!read_cert.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("CA: ", read_cert.status().message()));
  }
  absl::StatusOr<KeyPtr> read_key = internal::ReadPrivateKey(ca.key_pem);
  if (!read_key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("CA key: ", read_key.status().message()));
  }
  absl::Status match = CheckKeyMatchesCertificate(ca.cert_pem, ca.key_pem);
  if (!match.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("CA key: ", match.message()));
  }
  if ((X509_get_extension_flags(read_cert->get()) & EXFLAG_CA) == 0) {
    return absl::InvalidArgumentError("the CA certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  *cert = *std::move(read_cert);
  *key = *std::move(read_key);
  return absl::OkStatus();
}

// The leaf's subject: the CA's O entry as it is (the cluster), the role,
// the name.
absl::Status SetLeafSubject(X509* cert, X509* ca, const LeafRequest& request) {
  const X509_NAME* ca_name = X509_get_subject_name(ca);
  int o = X509_NAME_get_index_by_NID(ca_name, NID_organizationName, -1);
  if (o < 0) {
    return absl::InvalidArgumentError(
        "the CA certificate names no cluster (no O in its subject)");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry(name, X509_NAME_get_entry(ca_name, o), -1, 0) != 1 ||
      !AddText(name, "OU", RoleName(request.role)) || !AddText(name, "CN", request.name) ||
      X509_set_issuer_name(cert, ca_name) != 1) {
    return OpenSslFailure("cannot set the subject");
  }
  return absl::OkStatus();
}

absl::Status CheckRequest(const LeafRequest& request, X509* ca) {
  absl::Status checked = CheckNameText("the certificate name (CN)", request.name, kMaxNameEntry);
  for (const std::string& san : request.sans) {
    if (checked.ok()) checked = CheckSan(san);
  }
  if (!checked.ok()) return checked;
  std::optional<absl::Time> ca_not_after = internal::FromAsn1Time(X509_get0_notAfter(ca));
  if (!ca_not_after.has_value() || request.not_after > *ca_not_after) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the certificate would outlive the CA: it ends ", FormatCertTime(request.not_after),
        ", the CA ", ca_not_after.has_value() ? FormatCertTime(*ca_not_after) : "(unreadable)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckSan(absl::string_view text) {
  if (IsIpLiteral(text)) return absl::OkStatus();
  std::string why;
  if (text.empty()) {
    why = "it is empty";
  } else if (text.find('/') != absl::string_view::npos) {
    why = "give the address without a /prefix";
  } else if (LooksLikePort(text)) {
    why = "give the address without a port";
  } else if (text.size() > 253) {
    why = "a DNS name has at most 253 bytes";
  } else {
    std::vector<absl::string_view> labels = absl::StrSplit(text, '.');
    if (!std::all_of(labels.begin(), labels.end(), IsDnsLabel)) {
      why = "a DNS name is labels of letters, digits and '-' separated by '.'";
    } else if (std::all_of(labels.back().begin(), labels.back().end(), absl::ascii_isdigit)) {
      why = "it looks like an IPv4 address but is not one";
    } else {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' is neither an IP address nor a DNS name: ", why));
}

absl::StatusOr<CertAndKey> MakeCa(absl::string_view cluster, absl::Time not_before,
                                  absl::Time not_after) {
  absl::Status checked =
      CheckNameText("the cluster name", cluster, kMaxNameEntry - (sizeof kCaSuffix - 1));
  if (!checked.ok()) return checked;
  absl::StatusOr<KeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = NewCertificate(key->get(), not_before, not_after);
  if (!cert.ok()) return cert.status();
  X509_NAME* name = X509_get_subject_name(cert->get());
  if (!AddText(name, "O", cluster) || !AddText(name, "CN", absl::StrCat(cluster, kCaSuffix)) ||
      X509_set_issuer_name(cert->get(), name) != 1) {
    return OpenSslFailure("cannot set the CA's subject");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert->get(), cert->get(), nullptr, nullptr, 0);
  // The subject key identifier first: the authority key identifier of a
  // self-signed certificate is copied from it.
  absl::Status added = AddExtensions(cert->get(), &ctx,
                                     {{NID_basic_constraints, "critical,CA:TRUE"},
                                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                      {NID_subject_key_identifier, "hash"},
                                      {NID_authority_key_identifier, "keyid:always"}});
  if (!added.ok()) return added;
  return Sign(cert->get(), key->get(), key->get());
}

absl::StatusOr<CertAndKey> IssueCertificate(const CertAndKey& ca, const LeafRequest& request) {
  X509Ptr ca_cert;
  KeyPtr ca_key;
  absl::Status checked = ReadCa(ca, &ca_cert, &ca_key);
  if (checked.ok()) checked = CheckRequest(request, ca_cert.get());
  if (!checked.ok()) return checked;
  absl::StatusOr<KeyPtr> key = NewKey();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = NewCertificate(key->get(), request.not_before, request.not_after);
  if (!cert.ok()) return cert.status();
  checked = SetLeafSubject(cert->get(), ca_cert.get(), request);
  if (!checked.ok()) return checked;
  // A node serves the API and calls its peers; people and tools only call.
  const char* usage = request.role == CertRole::kNode ? "serverAuth,clientAuth" : "clientAuth";
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert.get(), cert->get(), nullptr, nullptr, 0);
  checked = AddExtensions(cert->get(), &ctx,
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, usage},
                           {NID_subject_key_identifier, "hash"},
                           {NID_authority_key_identifier, "keyid:always"}});
  if (checked.ok()) checked = AddSans(cert->get(), request.sans);
  if (!checked.ok()) return checked;
  return Sign(cert->get(), ca_key.get(), key->get());
}

absl::StatusOr<std::string> Pkcs12Bundle(const CertAndKey& leaf, absl::string_view ca_cert_pem,
                                         const std::string& friendly_name,
                                         const std::string& password) {
  absl::StatusOr<internal::X509Ptr> cert = internal::ReadCertificate(leaf.cert_pem);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<internal::KeyPtr> key = internal::ReadPrivateKey(leaf.key_pem);
  if (!key.ok()) return key.status();
  absl::StatusOr<internal::X509Ptr> ca = internal::ReadCertificate(ca_cert_pem);
  if (!ca.ok()) return ca.status();
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (chain == nullptr || sk_X509_push(chain, ca->get()) == 0) {
    sk_X509_free(chain);
    return absl::InternalError("out of memory");
  }
  PKCS12* p12 = PKCS12_create(password.c_str(), friendly_name.c_str(), key->get(), cert->get(),
                              chain, 0, 0, 0, 0, 0);
  sk_X509_free(chain);  // the certificates stay owned by their handles
  if (p12 == nullptr) return absl::InternalError("PKCS12_create failed");
  unsigned char* der = nullptr;
  const int n = i2d_PKCS12(p12, &der);
  PKCS12_free(p12);
  if (n <= 0) return absl::InternalError("cannot encode the PKCS#12 bundle");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace hacluster::agent::tls
