#include "agent/tls/certificates.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/tls/openssl_handles.h"

namespace hacluster::agent::tls {
namespace {

using internal::BioPtr;
using internal::GeneralNamesPtr;
using internal::X509Ptr;
using internal::X509StoreCtxPtr;
using internal::X509StorePtr;

// strerror is not thread-safe; this is (GNU strerror_r).
std::string ErrnoText(int err) {
  char buffer[256];
  return strerror_r(err, buffer, sizeof buffer);
}

std::string Mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// "O=demo, OU=admin, CN=ops": OpenSSL's one-line form without the spaces
// around '=' and with UTF-8 kept as is.
std::string OneLine(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  constexpr unsigned long kFlags = XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) return "";
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

// The first entry `nid` of `name` in UTF-8; nullopt when there is none.
std::optional<std::string> NameEntry(const X509_NAME* name, int nid) {
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  return text;
}

std::string IpText(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = "";
  int length = ASN1_STRING_length(ip);
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC || inet_ntop(family, bytes, text, sizeof text) == nullptr) {
    return absl::StrCat("IP:(", length, " bytes)");
  }
  return text;
}

std::string Ia5Text(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string SanText(const GENERAL_NAME* name) {
  switch (name->type) {
    case GEN_IPADD:
      return IpText(name->d.iPAddress);
    case GEN_DNS:
      return Ia5Text(name->d.dNSName);
    case GEN_EMAIL:
      return absl::StrCat("email:", Ia5Text(name->d.rfc822Name));
    case GEN_URI:
      return absl::StrCat("URI:", Ia5Text(name->d.uniformResourceIdentifier));
    default:
      return absl::StrCat("other:", name->type);
  }
}

std::vector<std::string> Sans(X509* cert) {
  std::vector<std::string> sans;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    sans.push_back(SanText(sk_GENERAL_NAME_value(names.get(), i)));
  }
  return sans;
}

std::string Fingerprint(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), md, &length) != 1) return "";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) text.push_back(':');
    text.push_back(kHex[md[i] >> 4]);
    text.push_back(kHex[md[i] & 0xf]);
  }
  return text;
}

absl::StatusOr<CertInfo> InfoOf(X509* cert) {
  CertInfo info;
  const X509_NAME* subject = X509_get_subject_name(cert);
  info.subject = OneLine(subject);
  info.common_name = NameEntry(subject, NID_commonName).value_or("");
  std::optional<std::string> ou = NameEntry(subject, NID_organizationalUnitName);
  if (ou.has_value()) info.role = ParseRole(*ou);
  info.sans = Sans(cert);
  std::optional<absl::Time> not_before = internal::FromAsn1Time(X509_get0_notBefore(cert));
  std::optional<absl::Time> not_after = internal::FromAsn1Time(X509_get0_notAfter(cert));
  if (!not_before.has_value() || !not_after.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", info.subject, " has unreadable validity dates"));
  }
  info.not_before = *not_before;
  info.not_after = *not_after;
  // X509_get_extension_flags also caches the parsed extensions.
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  info.fingerprint_sha256 = Fingerprint(cert);
  return info;
}

// Why a certificate is outside its validity at `now`, or "" when it is
// not: "WHAT expired on DATE (SUBJECT; valid from DATE)". The same rule as
// X509_verify_cert at the same second: valid from not_before, inclusive,
// to not_after, exclusive.
std::string DateProblem(absl::string_view what, absl::string_view subject,
                        absl::Time not_before, absl::Time not_after, absl::Time now) {
  now = absl::FromTimeT(absl::ToTimeT(now));  // certificates count whole seconds
  if (now >= not_after) {
    return absl::StrCat(what, " expired on ", FormatCertTime(not_after), " (", subject,
                        "; valid from ", FormatCertTime(not_before), ")");
  }
  if (now < not_before) {
    return absl::StrCat(what, " is not valid before ", FormatCertTime(not_before), " (",
                        subject, "; valid until ", FormatCertTime(not_after), ")");
  }
  return "";
}

// A regular file's contents and mode, read from one descriptor.
struct FileContents {
  std::string data;
  mode_t mode = 0;
};

absl::StatusOr<FileContents> ReadRegularFile(const std::string& path) {
  // O_NONBLOCK: a FIFO planted in the file's place must not hang the agent.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", path, ": ", ErrnoText(err)));
  }
  FileContents file;
  struct stat st;
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = absl::FailedPreconditionError(
        absl::StrCat("cannot stat ", path, ": ", ErrnoText(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  } else if (static_cast<size_t>(st.st_size) > internal::kMaxPemSize) {
    status = absl::InvalidArgumentError(absl::StrCat(
        path, " has ", st.st_size, " bytes, more than a PEM certificate or key (at most ",
        internal::kMaxPemSize, ")"));
  }
  file.mode = st.st_mode;
  char buffer[16384];
  while (status.ok()) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = absl::FailedPreconditionError(
          absl::StrCat("cannot read ", path, ": ", ErrnoText(errno)));
    }
    if (n <= 0) break;
    file.data.append(buffer, static_cast<size_t>(n));
    if (file.data.size() > internal::kMaxPemSize) {
      status = absl::InvalidArgumentError(absl::StrCat(path, " grew past ",
                                                       internal::kMaxPemSize, " bytes"));
    }
  }
  close(fd);
  if (!status.ok()) return status;
  return file;
}

absl::Status WithFile(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

// The X509_verify_cert errors that mean "this CA did not sign it".
bool IsIssuerError(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_AKID_SKID_MISMATCH:
      return true;
    default:
      return false;
  }
}

bool IsDateError(int error) {
  return error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID;
}

// The date problem of the certificate X509_verify_cert stopped at: the
// client's own (depth 0) or the CA's.
std::string VerifyDateText(X509_STORE_CTX* ctx, X509* leaf, absl::Time now) {
  X509* at = X509_STORE_CTX_get_current_cert(ctx);
  if (at == nullptr) at = leaf;
  bool is_leaf = X509_STORE_CTX_get_error_depth(ctx) == 0;
  std::optional<absl::Time> not_before = internal::FromAsn1Time(X509_get0_notBefore(at));
  std::optional<absl::Time> not_after = internal::FromAsn1Time(X509_get0_notAfter(at));
  std::string text;
  if (not_before.has_value() && not_after.has_value()) {
    text = DateProblem(is_leaf ? "certificate" : "the cluster CA certificate",
                       OneLine(X509_get_subject_name(at)), *not_before, *not_after, now);
  }
  if (text.empty()) {
    text = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  return text;
}

// Why X509_verify_cert refused `leaf`, in the words of the header.
std::string VerifyErrorText(X509_STORE_CTX* ctx, X509* leaf, absl::Time now,
                            const std::string& ca_subjects) {
  int error = X509_STORE_CTX_get_error(ctx);
  std::string subject = OneLine(X509_get_subject_name(leaf));
  if (IsDateError(error)) return VerifyDateText(ctx, leaf, now);
  if (IsIssuerError(error)) {
    return absl::StrCat("not signed by the cluster CA (", ca_subjects, "): certificate ",
                        subject, " was issued by ", OneLine(X509_get_issuer_name(leaf)), " (",
                        X509_verify_cert_error_string(error), ")");
  }
  if (error == X509_V_ERR_INVALID_PURPOSE) {
    return absl::StrCat("not a client certificate (its extendedKeyUsage lacks clientAuth or "
                        "its keyUsage lacks digitalSignature): ",
                        subject);
  }
  return absl::StrCat("certificate ", subject, " refused: ", X509_verify_cert_error_string(error),
                      " (at depth ", X509_STORE_CTX_get_error_depth(ctx), ")");
}

// The dates within which every CA of a verified chain is valid.
std::pair<absl::Time, absl::Time> CaDates(X509_STORE_CTX* ctx) {
  absl::Time not_before = absl::InfinitePast();
  absl::Time not_after = absl::InfiniteFuture();
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  for (int i = 1; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* ca = sk_X509_value(chain, i);
    std::optional<absl::Time> from = internal::FromAsn1Time(X509_get0_notBefore(ca));
    std::optional<absl::Time> until = internal::FromAsn1Time(X509_get0_notAfter(ca));
    // The chain verified at `now`, so the dates were readable to OpenSSL.
    if (from.has_value()) not_before = std::max(not_before, *from);
    if (until.has_value()) not_after = std::min(not_after, *until);
  }
  return {not_before, not_after};
}

// ---- LoadTlsFiles' checks; each message starts with the file ----

absl::Status CheckKeyFileMode(const std::string& path, mode_t mode) {
  if ((mode & S_IROTH) == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      path, ": the private key is readable by others (mode ", Mode(mode),
      "); run 'chmod 600 ", path, "'"));
}

absl::Status CheckServerCertificate(const std::string& path, absl::string_view pem,
                                    absl::Time now, CertInfo* info) {
  absl::StatusOr<CertInfo> parsed = ParseCertificatePem(pem);
  if (!parsed.ok()) return WithFile(path, parsed.status());
  std::string problem =
      DateProblem("certificate", parsed->subject, parsed->not_before, parsed->not_after, now);
  if (!problem.empty()) return absl::FailedPreconditionError(absl::StrCat(path, ": ", problem));
  *info = *std::move(parsed);
  return absl::OkStatus();
}

absl::Status CheckCaCertificate(const std::string& path, absl::string_view pem, absl::Time now) {
  absl::StatusOr<CertInfo> first = ParseCertificatePem(pem);
  if (!first.ok()) return WithFile(path, first.status());
  // What the API server will build from the file: every certificate in it
  // must be a CA.
  absl::StatusOr<std::unique_ptr<ClientCertVerifier>> verifier =
      ClientCertVerifier::Create(pem);
  if (!verifier.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": ", verifier.status().message(),
        "; the client CA must be the cluster CA (ca.crt of 'hacli cert init')"));
  }
  std::string problem = DateProblem("the CA certificate", first->subject, first->not_before,
                                    first->not_after, now);
  if (!problem.empty()) return absl::FailedPreconditionError(absl::StrCat(path, ": ", problem));
  return absl::OkStatus();
}

absl::Status CheckKey(const std::string& key_path, absl::string_view key_pem,
                      const std::string& cert_path, absl::string_view cert_pem) {
  absl::StatusOr<internal::KeyPtr> key = internal::ReadPrivateKey(key_pem);
  if (!key.ok()) return WithFile(key_path, key.status());
  absl::Status match = CheckKeyMatchesCertificate(cert_pem, key_pem);
  if (!match.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(key_path, ": ", match.message(), " in ", cert_path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view RoleName(CertRole role) {
  switch (role) {
    case CertRole::kNode:
      return "node";
    case CertRole::kAdmin:
      return "admin";
    case CertRole::kReader:
      return "reader";
  }
  return "unknown";
}

std::optional<CertRole> ParseRole(absl::string_view name) {
  for (CertRole role : {CertRole::kNode, CertRole::kAdmin, CertRole::kReader}) {
    if (name == RoleName(role)) return role;
  }
  return std::nullopt;
}

std::string FormatCertTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

absl::StatusOr<CertInfo> ParseCertificatePem(absl::string_view pem) {
  absl::StatusOr<X509Ptr> cert = internal::ReadCertificate(pem);
  if (!cert.ok()) return cert.status();
  return InfoOf(cert->get());
}

absl::Status CheckKeyMatchesCertificate(absl::string_view cert_pem, absl::string_view key_pem) {
  absl::StatusOr<X509Ptr> cert = internal::ReadCertificate(cert_pem);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<internal::KeyPtr> key = internal::ReadPrivateKey(key_pem);
  if (!key.ok()) return key.status();
  if (EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("the private key is not the key of certificate ",
                     OneLine(X509_get_subject_name(cert->get()))));
  }
  return absl::OkStatus();
}

// ---- ClientCertVerifier ----

struct ClientCertVerifier::Store {
  X509StorePtr store;
  std::string ca_subjects;  // for messages: "O=demo, CN=demo cluster CA"
};

ClientCertVerifier::ClientCertVerifier(std::unique_ptr<Store> store, size_t max_cache_entries)
    : store_(std::move(store)), max_cache_entries_(max_cache_entries) {}

ClientCertVerifier::~ClientCertVerifier() = default;

absl::StatusOr<std::unique_ptr<ClientCertVerifier>> ClientCertVerifier::Create(
    absl::string_view ca_pem, size_t max_cache_entries) {
  auto store = std::make_unique<Store>();
  store->store.reset(X509_STORE_new());
  BioPtr bio = internal::MemoryBio(ca_pem);
  int count = 0;
  while (bio != nullptr) {
    X509Ptr ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (ca == nullptr) break;  // the end of the file (or text that is no certificate)
    std::string subject = OneLine(X509_get_subject_name(ca.get()));
    if ((X509_get_extension_flags(ca.get()) & EXFLAG_CA) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificate ", subject, " is not a CA certificate (no basicConstraints CA:TRUE)"));
    }
    if (X509_STORE_add_cert(store->store.get(), ca.get()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("cannot trust CA certificate ", subject,
                                                     ": ", internal::OpenSslErrors()));
    }
    absl::StrAppend(&store->ca_subjects, count++ == 0 ? "" : "; ", subject);
  }
  ERR_clear_error();
  if (count == 0) return absl::InvalidArgumentError("no PEM CA certificate");
  return std::unique_ptr<ClientCertVerifier>(
      new ClientCertVerifier(std::move(store), max_cache_entries));
}

absl::StatusOr<CertInfo> ClientCertVerifier::Verify(absl::string_view leaf_pem,
                                                    absl::Time now) const {
  std::optional<Verdict> cached;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = cache_.find(leaf_pem);
    if (it != cache_.end()) cached = it->second;
  }
  if (!cached.has_value()) {
    bool cacheable = false;
    Verdict verdict = VerifyUncached(leaf_pem, now, &cacheable);
    if (cacheable) Remember(leaf_pem, verdict);
    if (!verdict.error.ok()) return verdict.error;
    return std::move(verdict.info);
  }
  if (!cached->error.ok()) return cached->error;
  // Dates move on while the verdict stays: checked on every hit.
  std::string problem = DateProblem("certificate", cached->info.subject,
                                    cached->info.not_before, cached->info.not_after, now);
  if (problem.empty()) {
    problem = DateProblem("the cluster CA certificate", store_->ca_subjects,
                          cached->ca_not_before, cached->ca_not_after, now);
  }
  if (!problem.empty()) return absl::PermissionDeniedError(problem);
  return std::move(cached->info);
}

ClientCertVerifier::Verdict ClientCertVerifier::VerifyUncached(absl::string_view leaf_pem,
                                                               absl::Time now,
                                                               bool* cacheable) const {
  *cacheable = true;
  Verdict verdict;
  absl::StatusOr<X509Ptr> leaf = internal::ReadCertificate(leaf_pem);
  if (!leaf.ok()) {
    verdict.error = absl::PermissionDeniedError(
        absl::StrCat("not a PEM certificate (", leaf.status().message(), ")"));
    return verdict;
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store_->store.get(), leaf->get(), nullptr) != 1) {
    *cacheable = false;  // out of memory, not a property of the certificate
    verdict.error = absl::InternalError(
        absl::StrCat("cannot set up verification: ", internal::OpenSslErrors()));
    return verdict;
  }
  // Sets X509_V_FLAG_USE_CHECK_TIME: dates are judged at `now`, not at
  // OpenSSL's own reading of the clock.
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    *cacheable = !IsDateError(X509_STORE_CTX_get_error(ctx.get()));
    verdict.error = absl::PermissionDeniedError(
        VerifyErrorText(ctx.get(), leaf->get(), now, store_->ca_subjects));
    ERR_clear_error();
    return verdict;
  }
  absl::StatusOr<CertInfo> info = InfoOf(leaf->get());
  if (!info.ok()) {
    verdict.error = absl::PermissionDeniedError(info.status().message());
    return verdict;
  }
  if (!info->role.has_value()) {
    verdict.error = absl::PermissionDeniedError(absl::StrCat(
        "no role (OU) in the certificate ", info->subject,
        ": the subject needs OU=admin, OU=reader or OU=node (hacli cert issue --role)"));
    return verdict;
  }
  verdict.info = *std::move(info);
  std::tie(verdict.ca_not_before, verdict.ca_not_after) = CaDates(ctx.get());
  return verdict;
}

void ClientCertVerifier::Remember(absl::string_view leaf_pem, const Verdict& verdict) const {
  if (max_cache_entries_ == 0) return;
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= max_cache_entries_ && !cache_.contains(leaf_pem)) {
    cache_.erase(cache_.begin());  // bounded: any entry will do
  }
  cache_.insert_or_assign(std::string(leaf_pem), verdict);
}

size_t ClientCertVerifier::CacheSizeForTest() const {
  absl::MutexLock lock(&mu_);
  return cache_.size();
}

// ---- LoadTlsFiles ----

absl::StatusOr<std::string> ReadPemFile(const std::string& path) {
  absl::StatusOr<FileContents> file = ReadRegularFile(path);
  if (!file.ok()) return file.status();
  return std::move(file->data);
}

absl::StatusOr<TlsFiles> LoadTlsFiles(const std::string& cert_path, const std::string& key_path,
                                      const std::string& ca_path, absl::Time now) {
  TlsFiles files;
  absl::StatusOr<FileContents> cert = ReadRegularFile(cert_path);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<FileContents> key = ReadRegularFile(key_path);
  if (!key.ok()) return key.status();
  absl::StatusOr<FileContents> ca = ReadRegularFile(ca_path);
  if (!ca.ok()) return ca.status();
  // The key's mode first: a key others can read is refused whatever else.
  absl::Status checked = CheckKeyFileMode(key_path, key->mode);
  if (checked.ok()) checked = CheckServerCertificate(cert_path, cert->data, now, &files.cert);
  if (checked.ok()) checked = CheckCaCertificate(ca_path, ca->data, now);
  if (checked.ok()) checked = CheckKey(key_path, key->data, cert_path, cert->data);
  if (!checked.ok()) return checked;
  files.cert_pem = std::move(cert->data);
  files.key_pem = std::move(key->data);
  files.ca_pem = std::move(ca->data);
  return files;
}

}  // namespace hacluster::agent::tls
