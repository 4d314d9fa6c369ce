// The certificates the issuer makes, read back with OpenSSL: each of the
// conventions other parts of the project rely on (agent/tls/issuer.h).
#include "agent/tls/issuer.h"

#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "agent/tls/certificates.h"
#include "agent/tls/openssl_handles.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::agent::tls {
namespace {

using internal::X509Ptr;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'900'000'000);

CertAndKey Ca(absl::string_view cluster = "demo") {
  absl::StatusOr<CertAndKey> ca = MakeCa(cluster, kNow, kNow + kCaValidity);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : CertAndKey{};
}

LeafRequest Request(CertRole role, std::vector<std::string> sans = {}) {
  LeafRequest request;
  request.role = role;
  request.name = "x";
  request.sans = std::move(sans);
  request.not_before = kNow;
  request.not_after = kNow + absl::Hours(24 * 825);
  return request;
}

X509Ptr Read(const std::string& pem) {
  absl::StatusOr<X509Ptr> cert = internal::ReadCertificate(pem);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return cert.ok() ? *std::move(cert) : nullptr;
}

X509Ptr Issue(const CertAndKey& ca, const LeafRequest& request) {
  absl::StatusOr<CertAndKey> leaf = IssueCertificate(ca, request);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return leaf.ok() ? Read(leaf->cert_pem) : nullptr;
}

bool IsCritical(X509* cert, int nid) {
  int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

std::string Hex(const ASN1_OCTET_STRING* s) {
  std::string text;
  for (int i = 0; s != nullptr && i < ASN1_STRING_length(s); ++i) {
    absl::StrAppend(&text, absl::Hex(ASN1_STRING_get0_data(s)[i], absl::kZeroPad2));
  }
  return text;
}

// Checks shared by every certificate: v3, EC P-256, ECDSA-SHA256, a
// 128-bit serial, a subject key identifier.
void ExpectCommonShape(X509* cert) {
  EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
  EVP_PKEY* key = X509_get0_pubkey(cert);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  char group[64] = "";
  size_t length = 0;
  EVP_PKEY_get_group_name(key, group, sizeof group, &length);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
  internal::BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  EXPECT_LE(BN_num_bits(serial.get()), 128);
  EXPECT_GT(BN_num_bits(serial.get()), 64);  // fails once in 2^64 runs
  EXPECT_NE(X509_get0_subject_key_id(cert), nullptr);
}

TEST(MakeCaTest, FollowsTheCaConventions) {
  CertAndKey ca = Ca("voip");
  X509Ptr cert = Read(ca.cert_pem);
  ASSERT_NE(cert, nullptr);
  ExpectCommonShape(cert.get());
  EXPECT_EQ(ParseCertificatePem(ca.cert_pem)->subject, "O=voip, CN=voip cluster CA");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())),
            0);
  EXPECT_TRUE(X509_get_extension_flags(cert.get()) & EXFLAG_CA);
  EXPECT_TRUE(IsCritical(cert.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_TRUE(IsCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(Hex(X509_get0_authority_key_id(cert.get())),
            Hex(X509_get0_subject_key_id(cert.get())));
  EXPECT_EQ(X509_check_private_key(cert.get(), internal::ReadPrivateKey(ca.key_pem)->get()), 1);
  EXPECT_EQ(internal::FromAsn1Time(X509_get0_notAfter(cert.get())), kNow + kCaValidity);
}

TEST(MakeCaTest, TwoCasHaveDifferentSerialsAndKeys) {
  X509Ptr one = Read(Ca().cert_pem);
  X509Ptr two = Read(Ca().cert_pem);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(one.get()), X509_get0_serialNumber(two.get())),
            0);
  EXPECT_NE(Hex(X509_get0_subject_key_id(one.get())), Hex(X509_get0_subject_key_id(two.get())));
}

TEST(MakeCaTest, RefusesBadClusterNamesAndDates) {
  for (const std::string& name : {std::string(""), std::string(54, 'c'), std::string("a\nb")}) {
    EXPECT_EQ(MakeCa(name, kNow, kNow + absl::Hours(1)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_TRUE(MakeCa(std::string(53, 'c'), kNow, kNow + absl::Hours(1)).ok());
  EXPECT_EQ(MakeCa("demo", kNow, kNow).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IssueCertificateTest, NodeFollowsTheLeafConventions) {
  CertAndKey ca = Ca();
  X509Ptr ca_cert = Read(ca.cert_pem);
  LeafRequest request = Request(CertRole::kNode, {"192.0.2.11", "2001:db8::11", "node01.example"});
  request.name = "node01";
  X509Ptr cert = Issue(ca, request);
  ASSERT_NE(cert, nullptr);
  ExpectCommonShape(cert.get());
  absl::StatusOr<CertInfo> info = ParseCertificatePem(internal::CertificatePem(cert.get()));
  EXPECT_EQ(info->subject, "O=demo, OU=node, CN=node01");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca_cert.get())),
            0);
  EXPECT_FALSE(X509_get_extension_flags(cert.get()) & EXFLAG_CA);
  EXPECT_NE(X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1), -1);
  EXPECT_TRUE(IsCritical(cert.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(Hex(X509_get0_authority_key_id(cert.get())),
            Hex(X509_get0_subject_key_id(ca_cert.get())));
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(ca_cert.get())), 1);
}

TEST(IssueCertificateTest, SansAreIpForLiteralsAndDnsOtherwise) {
  X509Ptr cert = Issue(Ca(), Request(CertRole::kNode, {"192.0.2.11", "2001:db8::11", "n.example"}));
  internal::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  ASSERT_EQ(sk_GENERAL_NAME_num(names.get()), 3);
  EXPECT_EQ(sk_GENERAL_NAME_value(names.get(), 0)->type, GEN_IPADD);
  EXPECT_EQ(ASN1_STRING_length(sk_GENERAL_NAME_value(names.get(), 0)->d.iPAddress), 4);
  EXPECT_EQ(sk_GENERAL_NAME_value(names.get(), 1)->type, GEN_IPADD);
  EXPECT_EQ(ASN1_STRING_length(sk_GENERAL_NAME_value(names.get(), 1)->d.iPAddress), 16);
  EXPECT_EQ(sk_GENERAL_NAME_value(names.get(), 2)->type, GEN_DNS);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.0.2.11", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "n.example", 0, 0, nullptr), 1);
}

TEST(IssueCertificateTest, AdminAndReaderAreClientOnly) {
  CertAndKey ca = Ca();
  for (CertRole role : {CertRole::kAdmin, CertRole::kReader}) {
    X509Ptr cert = Issue(ca, Request(role));
    EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
    EXPECT_EQ(ParseCertificatePem(internal::CertificatePem(cert.get()))->role, role);
    EXPECT_EQ(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), -1);
  }
}

TEST(IssueCertificateTest, RefusesALeafOutlivingTheCa) {
  LeafRequest request = Request(CertRole::kAdmin);
  request.not_after = kNow + kCaValidity + absl::Seconds(1);
  absl::StatusOr<CertAndKey> leaf = IssueCertificate(Ca(), request);
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(leaf.status().message()), HasSubstr("would outlive the CA"));
  request.not_after = kNow + kCaValidity;
  EXPECT_TRUE(IssueCertificate(Ca(), request).ok());
}

TEST(IssueCertificateTest, RefusesAWrongCaKeyOrALeafAsCa) {
  CertAndKey ca = Ca();
  CertAndKey mixed{ca.cert_pem, Ca().key_pem};
  EXPECT_THAT(std::string(IssueCertificate(mixed, Request(CertRole::kAdmin)).status().message()),
              HasSubstr("CA key: the private key is not the key of certificate"));
  absl::StatusOr<CertAndKey> leaf = IssueCertificate(ca, Request(CertRole::kAdmin));
  ASSERT_TRUE(leaf.ok());
  EXPECT_THAT(std::string(IssueCertificate(*leaf, Request(CertRole::kAdmin)).status().message()),
              HasSubstr("is not a CA"));
}

TEST(IssueCertificateTest, RefusesBadNamesAndSans) {
  CertAndKey ca = Ca();
  LeafRequest request = Request(CertRole::kAdmin);
  request.name = "";
  EXPECT_EQ(IssueCertificate(ca, request).status().code(), absl::StatusCode::kInvalidArgument);
  request.name = std::string(65, 'n');
  EXPECT_EQ(IssueCertificate(ca, request).status().code(), absl::StatusCode::kInvalidArgument);
  request = Request(CertRole::kNode, {"192.0.2.11", "192.0.2.0/24"});
  EXPECT_THAT(std::string(IssueCertificate(ca, request).status().message()),
              HasSubstr("'192.0.2.0/24' is neither an IP address nor a DNS name"));
}

TEST(CheckSanTest, AcceptsAddressesAndHostNames) {
  for (const char* ok : {"192.0.2.1", "::1", "2001:db8::11", "fe80::1", "node01",
                         "node-01.example.com", "a.b.c", "xn--bcher-kva.example"}) {
    EXPECT_TRUE(CheckSan(ok).ok()) << ok;
  }
}

TEST(CheckSanTest, RefusesWhatIsNeither) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"192.0.2.1/24", "without a /prefix"},
      {"node01:7443", "without a port"},
      {"192.0.2.256", "looks like an IPv4 address"},
      {"192.0.2", "looks like an IPv4 address"},
      {"-node", "labels of letters"},
      {"node..example", "labels of letters"},
      {"node,DNS:evil", "labels of letters"},
      {"*.example", "labels of letters"},
  };
  for (const auto& [text, why] : cases) {
    absl::Status status = CheckSan(text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(status.message()), HasSubstr(why)) << text;
  }
}

}  // namespace
}  // namespace hacluster::agent::tls
