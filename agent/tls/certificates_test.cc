// Certificates made in each test (issuer.h, or OpenSSL directly for those
// hacli would never make), judged at fixed times: nothing here depends on
// the clock, and no checked-in certificate can expire.
#include "agent/tls/certificates.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/tls/issuer.h"
#include "agent/tls/openssl_handles.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::agent::tls {
namespace {

using ::testing::HasSubstr;

// 2030-03-17: far from today's date on purpose.
const absl::Time kNow = absl::FromUnixSeconds(1'900'000'000);

CertAndKey Ca(absl::string_view cluster = "demo", absl::Time from = kNow - absl::Hours(24),
              absl::Time until = kNow + absl::Hours(24 * 3650)) {
  absl::StatusOr<CertAndKey> ca = MakeCa(cluster, from, until);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : CertAndKey{};
}

CertAndKey Leaf(const CertAndKey& ca, CertRole role, const std::string& name,
                absl::Time from = kNow - absl::Hours(1),
                absl::Time until = kNow + absl::Hours(24 * 365),
                std::vector<std::string> sans = {}) {
  LeafRequest request;
  request.role = role;
  request.name = name;
  request.sans = std::move(sans);
  request.not_before = from;
  request.not_after = until;
  absl::StatusOr<CertAndKey> leaf = IssueCertificate(ca, request);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return leaf.ok() ? *leaf : CertAndKey{};
}

// A certificate hacli would not make: the subject and extendedKeyUsage as
// given, signed by `ca`, valid around kNow.
std::string RawLeaf(const CertAndKey& ca,
                    const std::vector<std::pair<std::string, std::string>>& subject,
                    const char* eku) {
  using namespace internal;
  X509Ptr ca_cert = *ReadCertificate(ca.cert_pem);
  KeyPtr ca_key = *ReadPrivateKey(ca.key_pem);
  KeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
  SetAsn1Time(X509_getm_notBefore(cert.get()), kNow - absl::Hours(1));
  SetAsn1Time(X509_getm_notAfter(cert.get()), kNow + absl::Hours(24));
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : subject) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca_cert.get(), cert.get(), nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, NID_ext_key_usage, eku));
  X509_add_ext(cert.get(), ext.get(), -1);
  X509_sign(cert.get(), ca_key.get(), EVP_sha256());
  return CertificatePem(cert.get());
}

std::unique_ptr<ClientCertVerifier> VerifierFor(const CertAndKey& ca, size_t entries = 1024) {
  absl::StatusOr<std::unique_ptr<ClientCertVerifier>> verifier =
      ClientCertVerifier::Create(ca.cert_pem, entries);
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return verifier.ok() ? *std::move(verifier) : nullptr;
}

void ExpectDenied(const absl::StatusOr<CertInfo>& result, const std::string& reason) {
  ASSERT_FALSE(result.ok()) << "accepted; expected: " << reason;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(reason));
}

TEST(RoleTest, NamesRoundTrip) {
  for (CertRole role : {CertRole::kNode, CertRole::kAdmin, CertRole::kReader}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(RoleName(CertRole::kReader), "reader");
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
  EXPECT_EQ(ParseRole("ops"), std::nullopt);
  EXPECT_EQ(ParseRole(""), std::nullopt);
}

TEST(ParseCertificatePemTest, ReadsWhatTheIssuerWrote) {
  CertAndKey ca = Ca();
  CertAndKey admin = Leaf(ca, CertRole::kAdmin, "ops", kNow - absl::Hours(1),
                          kNow + absl::Hours(48), {"192.0.2.11", "2001:db8::11", "ops.example"});
  absl::StatusOr<CertInfo> info = ParseCertificatePem(admin.cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject, "O=demo, OU=admin, CN=ops");
  EXPECT_EQ(info->common_name, "ops");
  EXPECT_EQ(info->role, CertRole::kAdmin);
  EXPECT_EQ(info->sans, (std::vector<std::string>{"192.0.2.11", "2001:db8::11", "ops.example"}));
  EXPECT_EQ(info->not_before, kNow - absl::Hours(1));
  EXPECT_EQ(info->not_after, kNow + absl::Hours(48));
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->fingerprint_sha256.size(), 32 * 3 - 1);
  EXPECT_EQ(info->fingerprint_sha256[2], ':');
}

TEST(ParseCertificatePemTest, TheCaHasNoRoleAndIsACa) {
  absl::StatusOr<CertInfo> info = ParseCertificatePem(Ca("voip").cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject, "O=voip, CN=voip cluster CA");
  EXPECT_EQ(info->common_name, "voip cluster CA");
  EXPECT_EQ(info->role, std::nullopt);
  EXPECT_TRUE(info->is_ca);
  EXPECT_TRUE(info->sans.empty());
}

TEST(ParseCertificatePemTest, UnknownOuIsNoRole) {
  absl::StatusOr<CertInfo> info =
      ParseCertificatePem(RawLeaf(Ca(), {{"O", "demo"}, {"OU", "ops"}, {"CN", "x"}}, "clientAuth"));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->role, std::nullopt);
}

TEST(ParseCertificatePemTest, TextThatIsNoCertificateIsInvalidArgument) {
  for (const std::string& pem : {std::string(""), std::string("hello\n"), Ca().key_pem}) {
    EXPECT_EQ(ParseCertificatePem(pem).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseCertificatePemTest, FingerprintDiffersBetweenCertificates) {
  CertAndKey ca = Ca();
  EXPECT_NE(ParseCertificatePem(Leaf(ca, CertRole::kNode, "a").cert_pem)->fingerprint_sha256,
            ParseCertificatePem(Leaf(ca, CertRole::kNode, "a").cert_pem)->fingerprint_sha256);
}

TEST(CheckKeyMatchesCertificateTest, OwnKeyMatchesAndAnotherDoesNot) {
  CertAndKey ca = Ca();
  CertAndKey one = Leaf(ca, CertRole::kNode, "node01");
  CertAndKey two = Leaf(ca, CertRole::kNode, "node02");
  EXPECT_TRUE(CheckKeyMatchesCertificate(one.cert_pem, one.key_pem).ok());
  absl::Status mismatch = CheckKeyMatchesCertificate(one.cert_pem, two.key_pem);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("CN=node01"));
}

TEST(CheckKeyMatchesCertificateTest, EncryptedKeyIsRefusedWithoutAPrompt) {
  CertAndKey leaf = Leaf(Ca(), CertRole::kAdmin, "ops");
  internal::KeyPtr key = *internal::ReadPrivateKey(leaf.key_pem);
  internal::BioPtr bio(BIO_new(BIO_s_mem()));
  char password[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0,
                                     nullptr, password),
            1);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  absl::Status status = CheckKeyMatchesCertificate(leaf.cert_pem, std::string(data, size));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

// ---- ClientCertVerifier ----

TEST(ClientCertVerifierTest, AcceptsEachRoleSignedByTheClusterCa) {
  CertAndKey ca = Ca();
  auto verifier = VerifierFor(ca);
  for (CertRole role : {CertRole::kNode, CertRole::kAdmin, CertRole::kReader}) {
    absl::StatusOr<CertInfo> info = verifier->Verify(Leaf(ca, role, "x").cert_pem, kNow);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->role, role);
    EXPECT_EQ(info->common_name, "x");
  }
}

TEST(ClientCertVerifierTest, RefusesAnExpiredCertificateWithItsDate) {
  CertAndKey ca = Ca();
  absl::Time end = absl::FromCivil(absl::CivilSecond(2030, 3, 1, 12, 0, 0), absl::UTCTimeZone());
  CertAndKey old = Leaf(ca, CertRole::kAdmin, "ops", end - absl::Hours(24), end);
  ExpectDenied(VerifierFor(ca)->Verify(old.cert_pem, kNow),
               "certificate expired on 2030-03-01 12:00:00 UTC (O=demo, OU=admin, CN=ops");
}

TEST(ClientCertVerifierTest, RefusesACertificateNotYetValid) {
  CertAndKey ca = Ca();
  CertAndKey future = Leaf(ca, CertRole::kAdmin, "ops", kNow + absl::Hours(1),
                           kNow + absl::Hours(48));
  ExpectDenied(VerifierFor(ca)->Verify(future.cert_pem, kNow), "is not valid before");
}

TEST(ClientCertVerifierTest, RefusesACertificateOfAnotherCaWithTheSameClusterName) {
  CertAndKey ca = Ca("demo");
  CertAndKey other = Ca("demo");
  ExpectDenied(VerifierFor(ca)->Verify(Leaf(other, CertRole::kAdmin, "ops").cert_pem, kNow),
               "not signed by the cluster CA (O=demo, CN=demo cluster CA)");
}

TEST(ClientCertVerifierTest, RefusesACertificateOfAnotherCluster) {
  CertAndKey ca = Ca("demo");
  CertAndKey other = Ca("prod");
  ExpectDenied(VerifierFor(ca)->Verify(Leaf(other, CertRole::kAdmin, "ops").cert_pem, kNow),
               "issued by O=prod, CN=prod cluster CA");
}

TEST(ClientCertVerifierTest, RefusesTheCaItself) {
  CertAndKey ca = Ca();
  ExpectDenied(VerifierFor(ca)->Verify(ca.cert_pem, kNow),
               "not a client certificate (its extendedKeyUsage lacks clientAuth or its keyUsage "
               "lacks digitalSignature): O=demo, CN=demo cluster CA");
}

TEST(ClientCertVerifierTest, RefusesACertificateWithoutOu) {
  CertAndKey ca = Ca();
  ExpectDenied(VerifierFor(ca)->Verify(RawLeaf(ca, {{"O", "demo"}, {"CN", "ops"}}, "clientAuth"),
                                       kNow),
               "no role (OU) in the certificate O=demo, CN=ops");
}

TEST(ClientCertVerifierTest, RefusesAnUnknownRole) {
  CertAndKey ca = Ca();
  ExpectDenied(VerifierFor(ca)->Verify(
                   RawLeaf(ca, {{"O", "demo"}, {"OU", "root"}, {"CN", "ops"}}, "clientAuth"), kNow),
               "no role (OU)");
}

TEST(ClientCertVerifierTest, RefusesAServerOnlyCertificate) {
  CertAndKey ca = Ca();
  ExpectDenied(VerifierFor(ca)->Verify(
                   RawLeaf(ca, {{"O", "demo"}, {"OU", "node"}, {"CN", "n"}}, "serverAuth"), kNow),
               "not a client certificate");
}

TEST(ClientCertVerifierTest, RefusesTextThatIsNoCertificate) {
  ExpectDenied(VerifierFor(Ca())->Verify("-----BEGIN CERTIFICATE-----\nAAAA\n", kNow),
               "not a PEM certificate");
}

TEST(ClientCertVerifierTest, CachedCertificateIsRefusedOnceItExpires) {
  CertAndKey ca = Ca();
  CertAndKey leaf = Leaf(ca, CertRole::kReader, "gui", kNow - absl::Hours(1),
                         kNow + absl::Hours(24));
  auto verifier = VerifierFor(ca);
  ASSERT_TRUE(verifier->Verify(leaf.cert_pem, kNow).ok());
  ASSERT_TRUE(verifier->Verify(leaf.cert_pem, kNow + absl::Hours(23)).ok());
  EXPECT_EQ(verifier->CacheSizeForTest(), 1u);
  ExpectDenied(verifier->Verify(leaf.cert_pem, kNow + absl::Hours(24)), "certificate expired on");
  ExpectDenied(verifier->Verify(leaf.cert_pem, kNow - absl::Hours(2)), "is not valid before");
  EXPECT_EQ(verifier->CacheSizeForTest(), 1u);
}

TEST(ClientCertVerifierTest, CachedCertificateIsRefusedOnceTheCaExpires) {
  // The issuer never lets a leaf outlive its CA; equal ends are allowed.
  absl::Time end = kNow + absl::Hours(24);
  CertAndKey ca = Ca("demo", kNow - absl::Hours(24), end);
  CertAndKey leaf = Leaf(ca, CertRole::kReader, "gui", kNow - absl::Hours(1), end);
  auto verifier = VerifierFor(ca);
  ASSERT_TRUE(verifier->Verify(leaf.cert_pem, kNow).ok());
  ExpectDenied(verifier->Verify(leaf.cert_pem, end), "expired on");
}

TEST(ClientCertVerifierTest, DateFailuresAreNotCachedOtherFailuresAre) {
  CertAndKey ca = Ca();
  CertAndKey future = Leaf(ca, CertRole::kAdmin, "ops", kNow + absl::Hours(1),
                           kNow + absl::Hours(48));
  auto verifier = VerifierFor(ca);
  ExpectDenied(verifier->Verify(future.cert_pem, kNow), "is not valid before");
  EXPECT_EQ(verifier->CacheSizeForTest(), 0u);
  EXPECT_TRUE(verifier->Verify(future.cert_pem, kNow + absl::Hours(2)).ok());
  EXPECT_EQ(verifier->CacheSizeForTest(), 1u);

  std::string foreign = Leaf(Ca(), CertRole::kAdmin, "ops").cert_pem;
  ExpectDenied(verifier->Verify(foreign, kNow), "not signed by the cluster CA");
  EXPECT_EQ(verifier->CacheSizeForTest(), 2u);
  ExpectDenied(verifier->Verify(foreign, kNow), "not signed by the cluster CA");
}

TEST(ClientCertVerifierTest, CacheStaysWithinItsBound) {
  CertAndKey ca = Ca();
  auto verifier = VerifierFor(ca, /*entries=*/2);
  for (int i = 0; i < 5; ++i) {
    std::string pem = Leaf(ca, CertRole::kReader, absl::StrCat("gui", i)).cert_pem;
    ASSERT_TRUE(verifier->Verify(pem, kNow).ok());
    ASSERT_TRUE(verifier->Verify(pem, kNow).ok());
    EXPECT_LE(verifier->CacheSizeForTest(), 2u);
  }
}

TEST(ClientCertVerifierTest, ZeroEntriesMeansNoCache) {
  CertAndKey ca = Ca();
  auto verifier = VerifierFor(ca, /*entries=*/0);
  std::string pem = Leaf(ca, CertRole::kReader, "gui").cert_pem;
  EXPECT_TRUE(verifier->Verify(pem, kNow).ok());
  EXPECT_TRUE(verifier->Verify(pem, kNow).ok());
  EXPECT_EQ(verifier->CacheSizeForTest(), 0u);
}

TEST(ClientCertVerifierTest, ConcurrentCallsAgree) {
  CertAndKey ca = Ca();
  std::vector<std::string> pems;
  for (int i = 0; i < 4; ++i) pems.push_back(Leaf(ca, CertRole::kAdmin, absl::StrCat("a", i)).cert_pem);
  pems.push_back(Leaf(Ca(), CertRole::kAdmin, "intruder").cert_pem);
  auto verifier = VerifierFor(ca, /*entries=*/3);
  std::vector<std::thread> threads;
  std::vector<int> accepted(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string& pem = pems[(i + t) % pems.size()];
        accepted[t] += verifier->Verify(pem, kNow).ok();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(accepted[t], 400) << "thread " << t;
}

TEST(ClientCertVerifierTest, TrustsEveryCaOfABundle) {
  CertAndKey one = Ca("demo");
  CertAndKey two = Ca("demo");
  absl::StatusOr<std::unique_ptr<ClientCertVerifier>> verifier =
      ClientCertVerifier::Create(one.cert_pem + two.cert_pem);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify(Leaf(one, CertRole::kAdmin, "a").cert_pem, kNow).ok());
  EXPECT_TRUE((*verifier)->Verify(Leaf(two, CertRole::kAdmin, "b").cert_pem, kNow).ok());
}

TEST(ClientCertVerifierTest, CreateRefusesALeafOrNothing) {
  CertAndKey ca = Ca();
  absl::StatusOr<std::unique_ptr<ClientCertVerifier>> leaf =
      ClientCertVerifier::Create(Leaf(ca, CertRole::kAdmin, "ops").cert_pem);
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(leaf.status().message()), HasSubstr("is not a CA certificate"));
  EXPECT_EQ(ClientCertVerifier::Create("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClientCertVerifier::Create(ca.key_pem).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- LoadTlsFiles ----

class LoadTlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ca_ = Ca();
    node_ = Leaf(ca_, CertRole::kNode, "node01", kNow - absl::Hours(1), kNow + absl::Hours(24),
                 {"192.0.2.11"});
    cert_ = Write("node01.crt", node_.cert_pem, 0644);
    key_ = Write("node01.key", node_.key_pem, 0600);
    ca_path_ = Write("ca.crt", ca_.cert_pem, 0644);
  }
  std::string Write(const std::string& name, const std::string& contents, mode_t mode) {
    std::string path = dir_ + "/" + name;
    unlink(path.c_str());
    std::ofstream(path) << contents;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  absl::StatusOr<TlsFiles> Load(absl::Time now = kNow) {
    return LoadTlsFiles(cert_, key_, ca_path_, now);
  }
  void ExpectRefused(const absl::StatusOr<TlsFiles>& files, absl::StatusCode code,
                     const std::string& file, const std::string& reason) {
    ASSERT_FALSE(files.ok()) << "accepted; expected: " << reason;
    EXPECT_EQ(files.status().code(), code) << files.status();
    std::string message(files.status().message());
    EXPECT_TRUE(absl::StartsWith(message, file)) << message;
    EXPECT_THAT(message, HasSubstr(reason));
  }

  std::string dir_, cert_, key_, ca_path_;
  CertAndKey ca_, node_;
};

TEST_F(LoadTlsFilesTest, LoadsAMatchingSet) {
  absl::StatusOr<TlsFiles> files = Load();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->cert_pem, node_.cert_pem);
  EXPECT_EQ(files->key_pem, node_.key_pem);
  EXPECT_EQ(files->ca_pem, ca_.cert_pem);
  EXPECT_EQ(files->cert.subject, "O=demo, OU=node, CN=node01");
  EXPECT_EQ(files->cert.sans, std::vector<std::string>{"192.0.2.11"});
}

TEST_F(LoadTlsFilesTest, AcceptsAGroupReadableKey) {
  Write("node01.key", node_.key_pem, 0640);
  EXPECT_TRUE(Load().ok());
}

TEST_F(LoadTlsFilesTest, RefusesAMissingFile) {
  cert_ = dir_ + "/missing.crt";
  ExpectRefused(Load(), absl::StatusCode::kNotFound, cert_, "no such file");
}

TEST_F(LoadTlsFilesTest, RefusesADirectory) {
  ca_path_ = dir_;
  ExpectRefused(Load(), absl::StatusCode::kFailedPrecondition, dir_, "not a regular file");
}

TEST_F(LoadTlsFilesTest, RefusesAFileThatIsNotPem) {
  Write("node01.crt", "not a certificate\n", 0644);
  ExpectRefused(Load(), absl::StatusCode::kInvalidArgument, cert_, "no PEM certificate");
  SetUp();
  Write("node01.key", node_.cert_pem, 0600);
  ExpectRefused(Load(), absl::StatusCode::kInvalidArgument, key_, "no unencrypted PEM private key");
}

TEST_F(LoadTlsFilesTest, RefusesAnExpiredCertificateGivingItsDates) {
  ExpectRefused(Load(kNow + absl::Hours(25)), absl::StatusCode::kFailedPrecondition, cert_,
                absl::StrCat("certificate expired on ", FormatCertTime(kNow + absl::Hours(24)),
                             " (O=demo, OU=node, CN=node01; valid from ",
                             FormatCertTime(kNow - absl::Hours(1)), ")"));
}

TEST_F(LoadTlsFilesTest, RefusesACertificateNotYetValid) {
  ExpectRefused(Load(kNow - absl::Hours(2)), absl::StatusCode::kFailedPrecondition, cert_,
                absl::StrCat("is not valid before ", FormatCertTime(kNow - absl::Hours(1))));
}

TEST_F(LoadTlsFilesTest, RefusesAKeyOfAnotherCertificate) {
  Write("node01.key", Leaf(ca_, CertRole::kNode, "node02").key_pem, 0600);
  ExpectRefused(Load(), absl::StatusCode::kFailedPrecondition, key_,
                "the private key is not the key of certificate O=demo, OU=node, CN=node01");
}

TEST_F(LoadTlsFilesTest, RefusesAKeyReadableByOthers) {
  Write("node01.key", node_.key_pem, 0644);
  ExpectRefused(Load(), absl::StatusCode::kFailedPrecondition, key_,
                absl::StrCat("readable by others (mode 0644); run 'chmod 600 ", key_, "'"));
}

TEST_F(LoadTlsFilesTest, RefusesAClientCaThatIsNoCa) {
  Write("ca.crt", node_.cert_pem, 0644);
  ExpectRefused(Load(), absl::StatusCode::kFailedPrecondition, ca_path_,
                "is not a CA certificate");
}

TEST_F(LoadTlsFilesTest, RefusesAnExpiredClientCa) {
  // The client CA need not be the server certificate's.
  Write("ca.crt", Ca("demo", kNow - absl::Hours(48), kNow - absl::Hours(1)).cert_pem, 0644);
  ExpectRefused(Load(), absl::StatusCode::kFailedPrecondition, ca_path_,
                "the CA certificate expired on");
}

}  // namespace
}  // namespace hacluster::agent::tls
