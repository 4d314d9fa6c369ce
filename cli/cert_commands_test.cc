// hacli cert init / issue / show, run in-process in a scratch directory at
// the real time (the interop check runs the openssl binary, which reads the
// clock itself).
#include "cli/cert_commands.h"

#include <fcntl.h>
#include <spawn.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/tls/certificates.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

extern char** environ;

namespace hacluster::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CertCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/cert-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    scratch_ = tmpl;
    dir_ = scratch_ + "/pki";
    now_ = absl::Now();
  }

  int Init(const std::string& cluster = "demo", bool force = false) {
    CertInitArgs args;
    args.dir = dir_;
    args.cluster = cluster;
    args.force = force;
    return Run([&](std::ostream& o, std::ostream& e) { return RunCertInit(args, now_, o, e); });
  }
  int Issue(const std::string& role, const std::string& name, std::vector<std::string> sans = {},
            int days = kDefaultCertDays, bool force = false) {
    CertIssueArgs args;
    args.dir = dir_;
    args.role = role;
    args.name = name;
    args.sans = std::move(sans);
    args.days = days;
    args.force = force;
    return Run([&](std::ostream& o, std::ostream& e) { return RunCertIssue(args, now_, o, e); });
  }
  int Show(const std::string& file, OutputFormat format = OutputFormat::kText,
           absl::Time at = absl::InfinitePast()) {
    CertShowArgs args{file, format};
    absl::Time when = at == absl::InfinitePast() ? now_ : at;
    return Run([&](std::ostream& o, std::ostream& e) { return RunCertShow(args, when, o, e); });
  }
  template <typename F>
  int Run(F f) {
    std::ostringstream o, e;
    int status = f(o, e);
    out_ = o.str();
    err_ = e.str();
    return status;
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static mode_t Mode(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
  }
  static bool Exists(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0;
  }
  agent::tls::CertInfo Info(const std::string& name) const {
    absl::StatusOr<agent::tls::CertInfo> info = agent::tls::ParseCertificatePem(Read(Path(name)));
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : agent::tls::CertInfo{};
  }

  std::string scratch_, dir_, out_, err_;
  absl::Time now_;
};

TEST_F(CertCommandsTest, InitIssueShowRoundTrip) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("CA O=demo, CN=demo cluster CA"));
  ASSERT_EQ(Issue("node", "node01", {"192.0.2.11", "2001:db8::11", "node01.example"}), kExitOk)
      << err_;
  EXPECT_THAT(out_, HasSubstr("wrote " + Path("node01.crt") + " and " + Path("node01.key")));

  ASSERT_EQ(Show(Path("node01.crt")), kExitOk) << err_;
  agent::tls::CertInfo info = Info("node01.crt");
  for (const std::string& line : {
           std::string("subject:     O=demo, OU=node, CN=node01\n"),
           std::string("role:        node\n"),
           std::string("SANs:        192.0.2.11, 2001:db8::11, node01.example\n"),
           absl::StrCat("not after:   ", agent::tls::FormatCertTime(info.not_after), "\n"),
           std::string("CA:          no\n"),
           absl::StrCat("SHA-256:     ", info.fingerprint_sha256, "\n"),
       }) {
    EXPECT_THAT(out_, HasSubstr(line));
  }
  EXPECT_THAT(out_, Not(HasSubstr("EXPIRED")));
  EXPECT_EQ(info.not_before, absl::FromUnixSeconds(absl::ToUnixSeconds(now_ - kBackdate)));
  EXPECT_EQ(info.not_after,
            absl::FromUnixSeconds(absl::ToUnixSeconds(now_ + absl::Hours(24 * 825))));

  ASSERT_EQ(Show(Path("ca.crt")), kExitOk) << err_;
  EXPECT_THAT(out_, HasSubstr("role:        -\n"));
  EXPECT_THAT(out_, HasSubstr("CA:          yes\n"));
}

TEST_F(CertCommandsTest, P12BundleHoldsTheCertificateItsKeyAndTheCa) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  CertIssueArgs args;
  args.dir = dir_;
  args.role = "admin";
  args.name = "alice";
  args.p12 = true;
  ASSERT_EQ(Run([&](std::ostream& o, std::ostream& e) { return RunCertIssue(args, now_, o, e); }),
            kExitOk)
      << err_;
  EXPECT_THAT(out_, HasSubstr("wrote " + Path("alice.p12") + " (mode 0600)"));
  EXPECT_EQ(Mode(Path("alice.p12")), 0600u);
  const std::string der = Read(Path("alice.p12"));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(p12, nullptr);
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  ASSERT_EQ(PKCS12_parse(p12, "", &key, &cert, &ca), 1);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_private_key(cert, key), 1);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(sk_X509_num(ca), 1);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  EXPECT_EQ(std::string(data, static_cast<size_t>(n)), Read(Path("alice.crt")));
  BIO_free(bio);
  sk_X509_pop_free(ca, X509_free);
  X509_free(cert);
  EVP_PKEY_free(key);
  PKCS12_free(p12);
  // Another run without --force leaves everything as it was, the bundle too.
  ASSERT_EQ(Run([&](std::ostream& o, std::ostream& e) { return RunCertIssue(args, now_, o, e); }),
            kExitFailed);
  EXPECT_EQ(Read(Path("alice.p12")), der);
}

TEST_F(CertCommandsTest, ShowJsonIsOneObjectWithEveryKey) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(Issue("admin", "ops"), kExitOk) << err_;
  ASSERT_EQ(Show(Path("ops.crt"), OutputFormat::kJson), kExitOk) << err_;
  google::protobuf::Struct json;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_, &json).ok()) << out_;
  const auto& f = json.fields();
  EXPECT_EQ(f.size(), 9u) << out_;
  EXPECT_EQ(f.at("subject").string_value(), "O=demo, OU=admin, CN=ops");
  EXPECT_EQ(f.at("common_name").string_value(), "ops");
  EXPECT_EQ(f.at("role").string_value(), "admin");
  EXPECT_EQ(f.at("sans").list_value().values_size(), 0);
  EXPECT_EQ(f.at("not_before").string_value(),
            absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now_ - kBackdate, absl::UTCTimeZone()));
  EXPECT_TRUE(absl::EndsWith(f.at("not_after").string_value(), "Z"));
  EXPECT_FALSE(f.at("is_ca").bool_value());
  EXPECT_EQ(f.at("fingerprint_sha256").string_value(), Info("ops.crt").fingerprint_sha256);
  EXPECT_FALSE(f.at("expired").bool_value());

  ASSERT_EQ(Show(Path("ca.crt"), OutputFormat::kJson), kExitOk) << err_;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_, &json).ok()) << out_;
  EXPECT_EQ(json.fields().at("role").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_TRUE(json.fields().at("is_ca").bool_value());
}

TEST_F(CertCommandsTest, ShowSaysExpiredAndNotYetValid) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(Issue("reader", "gui", {}, 30), kExitOk) << err_;
  ASSERT_EQ(Show(Path("gui.crt"), OutputFormat::kText, now_ + absl::Hours(24 * 31)), kExitOk);
  EXPECT_THAT(out_, HasSubstr("UTC  (EXPIRED)\n"));
  ASSERT_EQ(Show(Path("gui.crt"), OutputFormat::kJson, now_ + absl::Hours(24 * 31)), kExitOk);
  EXPECT_THAT(out_, HasSubstr("\"expired\": true"));
  ASSERT_EQ(Show(Path("gui.crt"), OutputFormat::kText, now_ - absl::Hours(2)), kExitOk);
  EXPECT_THAT(out_, HasSubstr("UTC  (not yet valid)\n"));
}

TEST_F(CertCommandsTest, ShowOfAMissingFileOrAKeyFailsNamingIt) {
  EXPECT_EQ(Show(Path("nothing.crt")), kExitFailed);
  EXPECT_THAT(err_, HasSubstr(Path("nothing.crt")));
  ASSERT_EQ(Init(), kExitOk) << err_;
  EXPECT_EQ(Show(Path("ca.key")), kExitFailed);
  EXPECT_THAT(err_, HasSubstr(Path("ca.key") + ": no PEM certificate"));
}

TEST_F(CertCommandsTest, InitMakesThePrivateDirectoryAndModes) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  EXPECT_EQ(Mode(dir_), 0700u);
  EXPECT_EQ(Mode(Path("ca.key")), 0600u);
  EXPECT_EQ(Mode(Path("ca.crt")), 0644u);
  ASSERT_EQ(Issue("node", "node01", {"192.0.2.11"}), kExitOk) << err_;
  EXPECT_EQ(Mode(Path("node01.key")), 0600u);
  EXPECT_EQ(Mode(Path("node01.crt")), 0644u);
}

TEST_F(CertCommandsTest, InitUsesAnExistingDirectoryAsItIs) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0750), 0);
  ASSERT_EQ(Init(), kExitOk) << err_;
  EXPECT_EQ(Mode(dir_), 0750u);
}

TEST_F(CertCommandsTest, DefaultClusterIsHacluster) {
  CertInitArgs args;
  args.dir = dir_;
  ASSERT_EQ(Run([&](std::ostream& o, std::ostream& e) { return RunCertInit(args, now_, o, e); }),
            kExitOk);
  EXPECT_EQ(Info("ca.crt").subject, "O=hacluster, CN=hacluster cluster CA");
}

TEST_F(CertCommandsTest, NothingIsOverwrittenWithoutForce) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  std::string ca = Read(Path("ca.crt"));
  std::string ca_key = Read(Path("ca.key"));
  EXPECT_EQ(Init(), kExitFailed);
  EXPECT_THAT(err_, HasSubstr(Path("ca.key") + " already exists; give --force to replace it"));
  EXPECT_EQ(Read(Path("ca.crt")), ca);
  EXPECT_EQ(Read(Path("ca.key")), ca_key);

  ASSERT_EQ(Issue("admin", "ops"), kExitOk) << err_;
  std::string ops = Read(Path("ops.crt"));
  unlink(Path("ops.key").c_str());  // half a pair left by hand: still refused
  EXPECT_EQ(Issue("admin", "ops"), kExitFailed);
  EXPECT_THAT(err_, HasSubstr(Path("ops.crt") + " already exists; give --force"));
  EXPECT_EQ(Read(Path("ops.crt")), ops);
  EXPECT_FALSE(Exists(Path("ops.key")));
}

TEST_F(CertCommandsTest, ForceReplacesBothFiles) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(Issue("admin", "ops"), kExitOk) << err_;
  std::string cert = Read(Path("ops.crt"));
  std::string key = Read(Path("ops.key"));
  ASSERT_EQ(Issue("admin", "ops", {}, 10, /*force=*/true), kExitOk) << err_;
  EXPECT_NE(Read(Path("ops.crt")), cert);
  EXPECT_NE(Read(Path("ops.key")), key);
  EXPECT_TRUE(agent::tls::CheckKeyMatchesCertificate(Read(Path("ops.crt")),
                                                     Read(Path("ops.key")))
                  .ok());
  std::string ca = Read(Path("ca.crt"));
  ASSERT_EQ(Init("demo", /*force=*/true), kExitOk) << err_;
  EXPECT_NE(Read(Path("ca.crt")), ca);
}

TEST_F(CertCommandsTest, NoHalfPairWhenTheSecondFileCannotBeWritten) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(mkdir(Path("web.crt").c_str(), 0755), 0);  // no file can replace it
  EXPECT_EQ(Issue("admin", "web", {}, 10, /*force=*/true), kExitFailed);
  EXPECT_THAT(err_, HasSubstr(Path("web.crt")));
  EXPECT_FALSE(Exists(Path("web.key")));
}

TEST_F(CertCommandsTest, NodeWithoutSanIsAUsageError) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  EXPECT_EQ(Issue("node", "node01"), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("a node certificate needs at least one --san ADDR"));
  EXPECT_FALSE(Exists(Path("node01.crt")));
  EXPECT_FALSE(Exists(Path("node01.key")));
}

TEST_F(CertCommandsTest, BadArgumentsAreUsageErrors) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  EXPECT_EQ(Issue("root", "ops"), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--role must be node, admin or reader, not 'root'"));
  for (const char* name : {"ca", "", "../ops", ".ops", "a/b"}) {
    EXPECT_EQ(Issue("admin", name), kExitUsage) << name;
    EXPECT_THAT(err_, HasSubstr("--name")) << name;
  }
  EXPECT_EQ(Issue("node", "node01", {"192.0.2.11/24"}), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("without a /prefix"));
  EXPECT_EQ(Issue("admin", "ops", {}, 0), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--days must be at least 1"));
  EXPECT_EQ(Init(""), kExitUsage);
  EXPECT_THAT(err_, HasSubstr("--cluster"));
}

TEST_F(CertCommandsTest, IssueWithoutACaNamesTheFileAndTheWayOut) {
  EXPECT_EQ(Issue("admin", "ops"), kExitFailed);
  EXPECT_THAT(err_, HasSubstr(Path("ca.crt")));
  EXPECT_THAT(err_, HasSubstr("hacli cert init --dir " + dir_));
}

TEST_F(CertCommandsTest, LeafIsClippedToTheCaAndSaysSo) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(Issue("admin", "ops", {}, 5000), kExitOk) << err_;
  EXPECT_THAT(err_, HasSubstr("note: --days 5000 would outlive the CA"));
  EXPECT_EQ(Info("ops.crt").not_after, Info("ca.crt").not_after);
}

TEST_F(CertCommandsTest, IssuedCertificatesVerifyAgainstTheCa) {
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(Issue("admin", "ops"), kExitOk) << err_;
  ASSERT_EQ(Issue("node", "node01", {"192.0.2.11"}), kExitOk) << err_;
  auto verifier = agent::tls::ClientCertVerifier::Create(Read(Path("ca.crt")));
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  absl::StatusOr<agent::tls::CertInfo> ops = (*verifier)->Verify(Read(Path("ops.crt")), now_);
  ASSERT_TRUE(ops.ok()) << ops.status();
  EXPECT_EQ(ops->role, agent::tls::CertRole::kAdmin);
  absl::StatusOr<agent::tls::CertInfo> node = (*verifier)->Verify(Read(Path("node01.crt")), now_);
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->role, agent::tls::CertRole::kNode);
  absl::StatusOr<agent::tls::TlsFiles> files = agent::tls::LoadTlsFiles(
      Path("node01.crt"), Path("node01.key"), Path("ca.crt"), now_);
  EXPECT_TRUE(files.ok()) << files.status();
}

// The openssl binary on PATH, or "" when there is none.
std::string FindOpenssl() {
  const char* path = getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(dir, "/openssl");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs argv (no shell) with stdout and stderr into `log`; the exit status.
int Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(CertCommandsTest, OpensslVerifyAcceptsTheCertificates) {
  std::string openssl = FindOpenssl();
  if (openssl.empty()) GTEST_SKIP() << "no openssl binary on PATH";
  ASSERT_EQ(Init(), kExitOk) << err_;
  ASSERT_EQ(Issue("node", "node01", {"192.0.2.11"}), kExitOk) << err_;
  ASSERT_EQ(Issue("reader", "gui"), kExitOk) << err_;
  std::string log = scratch_ + "/openssl.log";
  const std::vector<std::pair<std::string, std::string>> checks = {
      {"node01.crt", "sslserver"}, {"node01.crt", "sslclient"}, {"gui.crt", "sslclient"}};
  for (const auto& [cert, purpose] : checks) {
    EXPECT_EQ(Spawn({openssl, "verify", "-CAfile", Path("ca.crt"), "-purpose", purpose,
                     Path(cert)},
                    log),
              0)
        << cert << " " << purpose << ": " << Read(log);
    EXPECT_THAT(Read(log), HasSubstr(Path(cert) + ": OK")) << purpose;
  }
  // A reader may not serve the API.
  EXPECT_NE(Spawn({openssl, "verify", "-CAfile", Path("ca.crt"), "-purpose", "sslserver",
                   Path("gui.crt")},
                  log),
            0);
  // And the plain form the documentation shows.
  EXPECT_EQ(Spawn({openssl, "verify", "-CAfile", Path("ca.crt"), Path("node01.crt")}, log), 0)
      << Read(log);
}

}  // namespace
}  // namespace hacluster::cli
