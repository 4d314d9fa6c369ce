// hacli against the agent's own API server over mutual TLS, in-process on
// loopback, with certificates made by `hacli cert`: the two halves of remote
// management meet here (the fake agent of tls_testing.h stands in for the
// server in connection_test and agent_commands_test).
#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/log/logger.h"
#include "agent/service/api_server.h"
#include "agent/service/operations.h"
#include "cli/agent_commands.h"
#include "cli/cert_commands.h"
#include "cli/control_commands.h"
#include "cli/hacli_output.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;

class RemoteAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The Unix socket's path must fit in 108 bytes: a short directory.
    char tmpl[] = "/tmp/hac-remote-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    MakeCertificates("pki", "voip");
    MakeCertificates("other", "elsewhere");
    hub_.PublishStatus(Status(), agent::MonotonicNow());
    agent::ApiOptions options;
    options.socket_path = dir_ + "/agent.sock";
    options.tcp_addresses = {"127.0.0.1:0"};
    options.tls_cert = dir_ + "/pki/node01.crt";
    options.tls_key = dir_ + "/pki/node01.key";
    options.tls_client_ca = dir_ + "/pki/ca.crt";
    auto logger = agent::Logger::Create(agent::LogOptions{});
    ASSERT_TRUE(logger.ok()) << logger.status();
    logger_ = *std::move(logger);
    auto api = agent::ApiServer::Start(options, hub_, ops_, *logger_);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    ASSERT_EQ(api_->TcpPorts().size(), 1u);
    server_ = absl::StrCat("127.0.0.1:", api_->TcpPorts()[0]);
  }
  void TearDown() override {
    if (api_ != nullptr) api_->Shutdown();
    api_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A CA for `cluster` in dir_/SUB and, signed by it, node01 (for
  // 127.0.0.1), an admin and a reader: what an operator makes with hacli.
  void MakeCertificates(const std::string& sub, const std::string& cluster) {
    std::ostringstream out, err;
    CertInitArgs init;
    init.dir = dir_ + "/" + sub;
    init.cluster = cluster;
    ASSERT_EQ(RunCertInit(init, absl::Now(), out, err), 0) << err.str();
    for (const auto& [role, name] : std::vector<std::pair<std::string, std::string>>{
             {"node", "node01"}, {"admin", "admin"}, {"reader", "reader"}}) {
      CertIssueArgs issue;
      issue.dir = init.dir;
      issue.role = role;
      issue.name = name;
      if (role == "node") issue.sans = {"127.0.0.1"};
      ASSERT_EQ(RunCertIssue(issue, absl::Now(), out, err), 0) << err.str();
    }
  }
  static v1::GetStatusResponse Status() {
    v1::GetStatusResponse st;
    st.set_cluster_name("voip");
    st.set_local_node("node01");
    v1::GroupStatus* g = st.add_groups();
    g->set_name("web");
    g->set_holder("node01");
    g->set_state(v1::GROUP_STATE_RUNNING);
    g->add_addresses("192.0.2.50");
    return st;
  }
  // The agent on TCP, as `who` of the cluster's CA ("" for no certificate).
  ConnectionOptions As(const std::string& who, const std::string& pki = "pki") {
    ConnectionOptions o;
    o.servers = {server_};
    o.ca = dir_ + "/pki/ca.crt";
    if (!who.empty()) {
      o.cert = absl::StrCat(dir_, "/", pki, "/", who, ".crt");
      o.key = absl::StrCat(dir_, "/", pki, "/", who, ".key");
    }
    return o;
  }
  static hacli::v1::Error ErrorOf(const std::string& json) {
    hacli::v1::ErrorOutput output;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &output).ok()) << json;
    return output.error();
  }

  std::string dir_;
  std::string server_;
  agent::EventHub hub_;
  agent::Operations ops_;
  std::unique_ptr<agent::Logger> logger_;
  std::unique_ptr<agent::ApiServer> api_;
  std::ostringstream out_, err_;
};

TEST_F(RemoteAgentTest, AReaderReadsStatusAndWhere) {
  StatusArgs status;
  status.connection = As("reader");
  status.format = OutputFormat::kJson;
  ASSERT_EQ(RunStatus(status, out_, err_), 0) << err_.str();
  v1::GetStatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.local_node(), "node01");

  WhereArgs where;
  where.connection = As("reader");
  where.target = "192.0.2.50";
  std::ostringstream out, err;
  EXPECT_EQ(RunWhere(where, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "node01\n");
}

TEST_F(RemoteAgentTest, AReaderListsTheServersAndWhoAnswered) {
  ServersArgs servers;
  servers.connection = As("reader");
  servers.format = OutputFormat::kJson;
  ASSERT_EQ(RunServers(servers, out_, err_), 0) << err_.str();
  v1::ListServersResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.answered_by(), "node01");
}

TEST_F(RemoteAgentTest, AReadersStandbyIsDeniedWithExitFourAndNothingSubmitted) {
  ScopeArgs standby;
  standby.connection = As("reader");
  standby.format = OutputFormat::kJson;
  EXPECT_EQ(RunStandby(standby, out_, err_), 4) << err_.str();
  hacli::v1::Error error = ErrorOf(out_.str());
  EXPECT_EQ(error.code(), 4);
  EXPECT_EQ(error.grpc_status(), "PERMISSION_DENIED");
  EXPECT_EQ(error.target(), server_);
  EXPECT_TRUE(ops_.Take().empty());
}

TEST_F(RemoteAgentTest, NoCertificateOrAnotherClustersIsDeniedWithExitFour) {
  StatusArgs status;
  status.connection = As("");
  EXPECT_EQ(RunStatus(status, out_, err_), 4) << err_.str();
  EXPECT_TRUE(absl::StrContains(err_.str(), "did not accept this client")) << err_.str();
  std::ostringstream out, err;
  status.connection = As("admin", "other");
  EXPECT_EQ(RunStatus(status, out, err), 4) << err.str();
}

TEST_F(RemoteAgentTest, TrustingAnotherCaTheAgentIsUnreachable) {
  StatusArgs status;
  status.connection = As("admin");
  status.connection.ca = dir_ + "/other/ca.crt";
  EXPECT_EQ(RunStatus(status, out_, err_), 3);
  EXPECT_TRUE(absl::StrContains(err_.str(), server_ + ": ")) << err_.str();
}

TEST_F(RemoteAgentTest, AnAdminsStandbyReachesTheLoop) {
  ScopeArgs standby;
  standby.connection = As("admin");
  standby.no_wait = true;
  ASSERT_EQ(RunStandby(standby, out_, err_), 0) << err_.str();
  std::vector<agent::OperationRequest> got = ops_.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, agent::OperationRequest::Kind::kStandby);
  EXPECT_EQ(out_.str(), absl::StrCat("operation ", got[0].id, " pending\n"));
}

}  // namespace
}  // namespace hacluster::cli
