// The API over TCP with mutual TLS, in-process on loopback: which
// certificates get in, what each role may do, the audit of refusals and
// writes, refusals at start, and certificates rotated by ReloadTls.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/service/api_server.h"
#include "agent/tls/issuer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

namespace fs = std::filesystem;
using tls::CertAndKey;
using tls::CertRole;

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class ApiTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hac-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const absl::Time now = absl::Now();
    auto ca = tls::MakeCa("demo", now - absl::Hours(1), now + absl::Hours(24 * 365));
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    auto other = tls::MakeCa("other", now - absl::Hours(1), now + absl::Hours(24 * 365));
    ASSERT_TRUE(other.ok()) << other.status();
    other_ca_ = *other;
    node_ = Issue(ca_, CertRole::kNode, "node01", {"127.0.0.1"});
    admin_ = Issue(ca_, CertRole::kAdmin, "ops", {});
    reader_ = Issue(ca_, CertRole::kReader, "gui", {});
    WriteFiles("a", ca_, node_);
    hub_.PublishStatus(StatusWithVip(), MonotonicNow());
  }
  void TearDown() override {
    api_.reset();
    fs::remove_all(dir_);
  }

  static v1::GetStatusResponse StatusWithVip() {
    v1::GetStatusResponse st;
    st.set_local_node("node01");
    v1::NodeStatus* n = st.add_nodes();
    n->set_name("node01");
    n->set_state(v1::NODE_STATE_UP);
    (*n->mutable_labels())["gui_server_id"] = "7";
    v1::GroupStatus* g = st.add_groups();
    g->set_name("web");
    g->set_holder("node01");
    g->add_addresses("192.0.2.50");
    return st;
  }

  CertAndKey Issue(const CertAndKey& ca, CertRole role, const std::string& name,
                   std::vector<std::string> sans, absl::Duration from = -absl::Hours(1),
                   absl::Duration to = absl::Hours(24 * 30)) {
    tls::LeafRequest r;
    r.role = role;
    r.name = name;
    r.sans = std::move(sans);
    r.not_before = absl::Now() + from;
    r.not_after = absl::Now() + to;
    auto c = tls::IssueCertificate(ca, r);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : CertAndKey{};
  }

  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }

  // The agent's files under prefix `p`: server cert and key, client CA.
  void WriteFiles(const std::string& p, const CertAndKey& ca, const CertAndKey& server) {
    options_.socket_path = dir_ + "/" + p + ".sock";
    options_.tcp_addresses = {"127.0.0.1:0"};
    options_.tls_cert = Write(p + "-server.crt", server.cert_pem, 0644);
    options_.tls_key = Write(p + "-server.key", server.key_pem);
    options_.tls_client_ca = Write(p + "-ca.crt", ca.cert_pem, 0644);
  }

  void StartApi() {
    auto logger = Logger::Create(LogOptions{});
    ASSERT_TRUE(logger.ok());
    logger_ = *std::move(logger);
    auto api = ApiServer::Start(options_, hub_, ops_, *logger_);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    ASSERT_EQ(api_->TcpPorts().size(), 1u);
    target_ = absl::StrCat("127.0.0.1:", api_->TcpPorts()[0]);
  }

  // A stub over TLS trusting `ca`, presenting `client` (none when empty).
  std::unique_ptr<v1::Agent::Stub> Stub(const CertAndKey& ca, const CertAndKey* client) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ca.cert_pem;
    if (client != nullptr) {
      o.pem_cert_chain = client->cert_pem;
      o.pem_private_key = client->key_pem;
    }
    return v1::Agent::NewStub(grpc::CreateChannel(target_, grpc::SslCredentials(o)));
  }

  grpc::Status Status(v1::Agent::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::GetStatusResponse r;
    return stub.GetStatus(&ctx, v1::GetStatusRequest(), &r);
  }

  grpc::Status Standby(v1::Agent::Stub& stub) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::StandbyRequest req;
    req.set_no_wait(true);
    v1::OperationResponse r;
    return stub.Standby(&ctx, req, &r);
  }

  std::vector<v1::Event> AuditEvents() {
    std::vector<v1::Event> out;
    uint64_t cursor = 0;
    std::vector<v1::Event> batch;
    hub_.Next(&cursor, absl::ZeroDuration(), &batch, 4096);
    for (const v1::Event& e : batch) {
      if (e.kind() == v1::EVENT_KIND_API_CALL) out.push_back(e);
    }
    return out;
  }

  std::string dir_;
  CertAndKey ca_, other_ca_, node_, admin_, reader_;
  ApiOptions options_;
  EventHub hub_;
  Operations ops_;
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<ApiServer> api_;
  std::string target_;
};

TEST_F(ApiTlsTest, ReaderReadsAdminWritesAndBothAreKnownByTheirSubject) {
  StartApi();
  auto reader = Stub(ca_, &reader_);
  EXPECT_TRUE(Status(*reader).ok());
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::ListServersResponse servers;
    ASSERT_TRUE(reader->ListServers(&ctx, v1::ListServersRequest(), &servers).ok());
    ASSERT_EQ(servers.nodes_size(), 1);
    EXPECT_EQ(servers.nodes(0).role(), "active");
    EXPECT_EQ(servers.nodes(0).vips(0), "192.0.2.50");
    EXPECT_EQ(servers.nodes(0).labels().at("gui_server_id"), "7");
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::WhereRequest req;
    req.set_target("192.0.2.50");
    v1::WhereResponse where;
    ASSERT_TRUE(reader->Where(&ctx, req, &where).ok());
    EXPECT_EQ(where.holder(), "node01");
  }
  grpc::Status denied = Standby(*reader);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(denied.error_message(), "needs the admin role"))
      << denied.error_message();
  {
    // The steps of an apply are an admin's too.
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::PrepareApplyRequest req;
    req.set_spec_yaml("cluster_name: demo\n");
    v1::OperationResponse resp;
    grpc::Status s = reader->PrepareApply(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  }

  auto admin = Stub(ca_, &admin_);
  grpc::Status done = Standby(*admin);
  EXPECT_TRUE(done.ok()) << done.error_message();
  // A node's own certificate counts as admin.
  EXPECT_TRUE(Standby(*Stub(ca_, &node_)).ok());

  std::vector<v1::Event> audit = AuditEvents();
  ASSERT_EQ(audit.size(), 4u);
  EXPECT_EQ(audit[0].caller(), "O=demo, OU=reader, CN=gui");
  EXPECT_EQ(audit[0].call(), "standby scope=all");
  EXPECT_FALSE(audit[0].ok());
  EXPECT_EQ(audit[1].caller(), "O=demo, OU=reader, CN=gui");
  EXPECT_TRUE(absl::StartsWith(audit[1].call(), "apply prepare")) << audit[1].call();
  EXPECT_FALSE(audit[1].ok());
  EXPECT_EQ(audit[2].caller(), "O=demo, OU=admin, CN=ops");
  EXPECT_TRUE(audit[2].ok()) << audit[2].reason();
  EXPECT_EQ(audit[3].caller(), "O=demo, OU=node, CN=node01");
}

TEST_F(ApiTlsTest, NoCertificateAnotherCasAndAnExpiredOneAreRefusedAndAudited) {
  StartApi();
  grpc::Status none = Status(*Stub(ca_, nullptr));
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED) << none.error_message();
  EXPECT_TRUE(absl::StrContains(none.error_message(), "no client certificate"));

  CertAndKey foreign = Issue(other_ca_, CertRole::kAdmin, "intruder", {});
  grpc::Status other = Standby(*Stub(ca_, &foreign));
  EXPECT_EQ(other.error_code(), grpc::StatusCode::UNAUTHENTICATED) << other.error_message();
  EXPECT_TRUE(absl::StrContains(other.error_message(), "not signed by the cluster CA"))
      << other.error_message();

  CertAndKey expired =
      Issue(ca_, CertRole::kAdmin, "old", {}, -absl::Hours(48), -absl::Hours(24));
  grpc::Status old = Standby(*Stub(ca_, &expired));
  EXPECT_EQ(old.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(absl::StrContains(old.error_message(), "expired")) << old.error_message();

  std::vector<v1::Event> audit = AuditEvents();
  ASSERT_EQ(audit.size(), 3u);
  for (const v1::Event& e : audit) {
    EXPECT_FALSE(e.ok());
    EXPECT_TRUE(absl::StartsWith(e.caller(), "unidentified caller at ")) << e.caller();
    EXPECT_TRUE(absl::StrContains(e.reason(), "refused")) << e.reason();
  }
  EXPECT_EQ(audit[0].call(), "status");
  EXPECT_EQ(audit[1].call(), "standby scope=all");
  // The refused callers did not stop the server.
  EXPECT_TRUE(Status(*Stub(ca_, &reader_)).ok());
}

TEST_F(ApiTlsTest, PlaintextClientGetsNothing) {
  StartApi();
  auto stub = v1::Agent::NewStub(grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(In(3));
  v1::GetStatusResponse r;
  grpc::Status s = stub->GetStatus(&ctx, v1::GetStatusRequest(), &r);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
              s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
      << s.error_code() << " " << s.error_message();
  EXPECT_TRUE(r.cluster_name().empty() && r.nodes().empty());
}

TEST_F(ApiTlsTest, StartRefusesAnExpiredServerCertificateAndAKeyOthersCanRead) {
  CertAndKey expired =
      Issue(ca_, CertRole::kNode, "node01", {"127.0.0.1"}, -absl::Hours(48), -absl::Hours(24));
  WriteFiles("expired", ca_, expired);
  auto logger = Logger::Create(LogOptions{});
  ASSERT_TRUE(logger.ok());
  auto api = ApiServer::Start(options_, hub_, ops_, **logger);
  ASSERT_FALSE(api.ok());
  EXPECT_TRUE(absl::StrContains(api.status().message(), options_.tls_cert)) << api.status();
  EXPECT_TRUE(absl::StrContains(api.status().message(), "expired")) << api.status();

  WriteFiles("open", ca_, node_);
  chmod(options_.tls_key.c_str(), 0644);
  api = ApiServer::Start(options_, hub_, ops_, **logger);
  ASSERT_FALSE(api.ok());
  EXPECT_TRUE(absl::StrContains(api.status().message(), options_.tls_key)) << api.status();
}

TEST_F(ApiTlsTest, ReloadTakesNewCertificatesWithoutARestartAndKeepsOldOnBadFiles) {
  StartApi();
  ASSERT_TRUE(Status(*Stub(ca_, &admin_)).ok());
  // Bad files: refused, the running server keeps serving.
  ApiOptions bad = options_;
  bad.tls_key = Write("bad.key", other_ca_.key_pem);
  api_->ReloadTls(bad);
  api_->WaitForReload();
  ASSERT_TRUE(Status(*Stub(ca_, &admin_)).ok());

  // A new CA and new certificates (same port): new clients get in, clients
  // of the old CA no longer do.
  auto ca2 = tls::MakeCa("demo", absl::Now() - absl::Hours(1), absl::Now() + absl::Hours(24 * 365));
  ASSERT_TRUE(ca2.ok());
  CertAndKey node2 = Issue(*ca2, CertRole::kNode, "node01", {"127.0.0.1"});
  CertAndKey admin2 = Issue(*ca2, CertRole::kAdmin, "ops2", {});
  const int port = api_->TcpPorts()[0];
  WriteFiles("b", *ca2, node2);
  options_.tcp_addresses = {absl::StrCat("127.0.0.1:", port)};
  api_->ReloadTls(options_);
  api_->WaitForReload();
  EXPECT_EQ(api_->TcpPorts(), std::vector<int>{port});
  grpc::Status fresh = Status(*Stub(*ca2, &admin2));
  EXPECT_TRUE(fresh.ok()) << fresh.error_message();
  grpc::Status stale = Status(*Stub(*ca2, &admin_));
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::UNAUTHENTICATED) << stale.error_message();
}

}  // namespace
}  // namespace hacluster::agent
