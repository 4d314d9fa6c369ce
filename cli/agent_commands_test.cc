#include "cli/agent_commands.h"

#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/service/api_server.h"
#include "agent/service/operations.h"
#include "cli/control_commands.h"
#include "cli/hacli_output.pb.h"
#include "cli/tls_testing.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

v1::GetStatusResponse SampleStatus() {
  v1::GetStatusResponse st;
  st.set_cluster_name("billing");
  st.set_config_version(3);
  st.set_local_node("node01");
  st.set_local_generation(7);
  *st.mutable_keepalive() = TimeUtil::MillisecondsToDuration(500);
  *st.mutable_deadtime() = TimeUtil::SecondsToDuration(5);
  auto* me = st.add_nodes();
  me->set_name("node01");
  me->set_state(v1::NODE_STATE_UP);
  me->set_generation(7);
  me->set_local(true);
  auto* peer = st.add_nodes();
  peer->set_name("node02");
  peer->set_state(v1::NODE_STATE_DEAD);
  peer->set_generation(4);
  *peer->mutable_since_last_heard() = TimeUtil::MillisecondsToDuration(6200);
  auto* l = peer->add_links();
  l->set_name("eth0");
  l->set_state(v1::LINK_STATE_DEAD);
  l = peer->add_links();
  l->set_name("eth1");
  l->set_state(v1::LINK_STATE_DEAD);
  (*st.mutable_dropped_packets())["bad-mac"] = 12;
  return st;
}

TEST(AgentCommandsTest, StatusTextShowsEveryNodeWithLinksAndTiming) {
  std::string text = FormatStatusText(SampleStatus());
  EXPECT_TRUE(absl::StrContains(text, "cluster billing  config version 3")) << text;
  EXPECT_TRUE(absl::StrContains(text, "keepalive 500ms")) << text;
  EXPECT_TRUE(absl::StrContains(text, "deadtime 5s")) << text;
  EXPECT_TRUE(absl::StrContains(text, "node02  dead")) << text;
  EXPECT_TRUE(absl::StrContains(text, "6.2s ago")) << text;
  EXPECT_TRUE(absl::StrContains(text, "eth0:dead eth1:dead")) << text;
  EXPECT_TRUE(absl::StrContains(text, "(this node)")) << text;
  EXPECT_TRUE(absl::StrContains(text, "dropped packets: bad-mac 12")) << text;
}

TEST(AgentCommandsTest, EventTextHasIdKindNodeLinkAndReason) {
  v1::Event e;
  e.set_id(12);
  e.set_kind(v1::EVENT_KIND_LINK_DEAD);
  e.set_node("node02");
  e.set_link("eth1");
  e.set_reason("link node02:eth1 dead");
  std::string line = FormatEventText(e);
  EXPECT_TRUE(absl::StrContains(line, " #12 link-dead node=node02 link=eth1: link node02:eth1 dead"))
      << line;
}

TEST(AgentCommandsTest, GroupEventTextHasGroupResourceAndOperation) {
  v1::Event e;
  e.set_id(40);
  e.set_kind(v1::EVENT_KIND_RESOURCE_OP);
  e.set_node("node01");
  e.set_group("web");
  e.set_resource("apache2");
  e.set_reason("start ok");
  std::string line = FormatEventText(e);
  EXPECT_TRUE(
      absl::StrContains(line, " #40 resource-op node=node01 group=web resource=apache2: start ok"))
      << line;
  v1::Event op;
  op.set_id(41);
  op.set_kind(v1::EVENT_KIND_OPERATION);
  op.set_operation_id(7);
  op.set_reason("move web to node02 requested");
  EXPECT_TRUE(absl::StrContains(FormatEventText(op),
                                " #41 operation operation=7: move web to node02 requested"))
      << FormatEventText(op);
}

TEST(AgentCommandsTest, StateAndOpNamesAreShortAndLowerCase) {
  EXPECT_EQ(GroupStateName(v1::GROUP_STATE_RUNNING), "running");
  EXPECT_EQ(GroupStateName(v1::GROUP_STATE_BLOCKED), "blocked");
  EXPECT_EQ(ResourceOpName(v1::RESOURCE_OP_MONITOR), "monitor");
}

TEST(AgentCommandsTest, StatusWithoutGroupsHasNoGroupTable) {
  v1::GetStatusResponse st = SampleStatus();
  st.set_has_quorum(true);
  std::string text = FormatStatusText(st);
  EXPECT_FALSE(absl::StrContains(text, "GROUP")) << text;
  EXPECT_FALSE(absl::StrContains(text, "quorum")) << text;
}

TEST(AgentCommandsTest, StatusMarksConfigDrift) {
  v1::GetStatusResponse st = SampleStatus();
  std::string text = FormatStatusText(st);
  EXPECT_FALSE(absl::StrContains(text, "CONFIG DRIFT")) << text;
  st.set_config_drift(true);
  ASSERT_GE(st.nodes_size(), 2);
  st.mutable_nodes(1)->set_config_hash("0123456789abcdef0123456789abcdef");
  st.mutable_nodes(1)->set_config_drift(true);
  st.mutable_nodes(1)->set_config_version(4);
  text = FormatStatusText(st);
  EXPECT_TRUE(absl::StrContains(text, "CONFIG DRIFT")) << text;
  EXPECT_TRUE(absl::StrContains(text, "4 01234567 *")) << text;
  EXPECT_FALSE(absl::StrContains(text, "GROUPS HELD")) << text;
  st.set_groups_held_reason("catching up: node02 runs config version 4, this node 3");
  text = FormatStatusText(st);
  EXPECT_TRUE(absl::StrContains(
      text, "GROUPS HELD: catching up: node02 runs config version 4, this node 3\n"))
      << text;
}

TEST(AgentCommandsTest, ServersTextHasOneLinePerNodeAndWhoAnswered) {
  v1::ListServersResponse list;
  list.set_answered_by("node02");
  v1::Server* a = list.add_nodes();
  a->set_name("node01");
  a->set_state("up");
  a->set_role("active");
  a->add_addresses("192.0.2.11");
  a->add_groups("web");
  a->add_vips("192.0.2.50");
  a->set_config_version(3);
  (*a->mutable_labels())["gui_server_id"] = "7";
  (*a->mutable_labels())["dc"] = "fra";
  v1::Server* b = list.add_nodes();
  b->set_name("node02");
  b->set_state("up");
  b->set_role("standby");
  b->add_addresses("192.0.2.12");
  EXPECT_EQ(
      FormatServersText(list),
      "NODE    STATE  ROLE     ADDRESSES   GROUPS  VIPS        CONFIG  LABELS\n"
      "node01  up     active   192.0.2.11  web     192.0.2.50  3       dc=fra,gui_server_id=7\n"
      "node02  up     standby  192.0.2.12  -       -           -       -\n"
      "(answered by node02)\n");
}

TEST(AgentCommandsTest, ResourceNeverRunHereSaysSo) {
  v1::GetStatusResponse st = SampleStatus();
  auto* g = st.add_groups();
  g->set_name("db");
  auto* r = g->add_resources();
  r->set_kind("ocf");
  r->set_name("heartbeat:mysql");
  std::string text = FormatStatusText(st);
  EXPECT_TRUE(absl::StrContains(text, "\n  ocf heartbeat:mysql: not run on this node\n")) << text;
}

class AgentCommandsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hac-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/agent.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::string socket_;
  agent::Operations ops_;
};

TEST_F(AgentCommandsServerTest, StatusJsonIsTheApiMessage) {
  agent::EventHub hub;
  hub.PublishStatus(SampleStatus(), agent::MonotonicNow());
  auto api = agent::ApiServer::Start(socket_, hub, ops_);
  ASSERT_TRUE(api.ok()) << api.status();
  StatusArgs args;
  args.connection.socket = socket_;
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  ASSERT_EQ(RunStatus(args, out, err), 0) << err.str();
  v1::GetStatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out.str(), &parsed).ok()) << out.str();
  EXPECT_EQ(parsed.nodes(1).name(), "node02");
  EXPECT_EQ(parsed.nodes(1).state(), v1::NODE_STATE_DEAD);
  EXPECT_TRUE(absl::StrContains(out.str(), "\"NODE_STATE_DEAD\"")) << out.str();
}

TEST_F(AgentCommandsServerTest, StatusWithNoAgentIsUnreachableNamingTheSocket) {
  StatusArgs args;
  args.connection.socket = socket_;
  std::ostringstream out, err;
  EXPECT_EQ(RunStatus(args, out, err), 3);
  EXPECT_TRUE(absl::StrContains(err.str(), "cannot reach the agent at " + socket_)) << err.str();
}

TEST_F(AgentCommandsServerTest, WatchPrintsOneJsonObjectPerEventAndStopsAtCount) {
  agent::EventHub hub;
  for (auto kind : {v1::EVENT_KIND_AGENT_STARTED, v1::EVENT_KIND_NODE_UP}) {
    v1::Event e;
    e.set_kind(kind);
    e.set_node("node02");
    hub.Emit(e);
  }
  auto api = agent::ApiServer::Start(socket_, hub, ops_);
  ASSERT_TRUE(api.ok()) << api.status();
  WatchArgs args;
  args.connection.socket = socket_;
  args.format = OutputFormat::kJson;
  args.count = 2;
  std::ostringstream out, err;
  ASSERT_EQ(RunWatch(args, out, err), 0) << err.str();
  std::istringstream lines(out.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    v1::Event e;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &e).ok()) << line;
    EXPECT_EQ(e.id(), static_cast<uint64_t>(++n));
  }
  EXPECT_EQ(n, 2);
}

TEST_F(AgentCommandsServerTest, WatchEndsWithStatusOneWhenTheAgentStops) {
  agent::EventHub hub;
  auto api = agent::ApiServer::Start(socket_, hub, ops_);
  ASSERT_TRUE(api.ok()) << api.status();
  // What a stopping agent does: says so, then ends every watch.
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_AGENT_STOPPING);
  hub.Emit(e);
  hub.Close();
  WatchArgs args;
  args.connection.socket = socket_;
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  EXPECT_EQ(RunWatch(args, out, err), 1);
  EXPECT_TRUE(absl::StrContains(out.str(), "\"EVENT_KIND_AGENT_STOPPING\"")) << out.str();
  // The last line is the error object.
  std::string text = out.str();
  ASSERT_TRUE(absl::EndsWith(text, "\n")) << text;
  text.pop_back();
  hacli::v1::ErrorOutput error;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(text.substr(text.rfind('\n') + 1), &error).ok())
      << text;
  EXPECT_EQ(error.error().code(), 1);
  EXPECT_EQ(error.error().target(), socket_);
  EXPECT_EQ(error.error().message(),
            "the agent at " + socket_ + " ended the event stream (it is stopping)");
}

TEST_F(AgentCommandsServerTest, WatchWithNoAgentIsUnreachable) {
  WatchArgs args;
  args.connection.socket = socket_;
  std::ostringstream out, err;
  EXPECT_EQ(RunWatch(args, out, err), 3);
  EXPECT_TRUE(absl::StrContains(err.str(), "cannot reach the agent at " + socket_)) << err.str();
  EXPECT_EQ(out.str(), "");
}

// The control commands against the agent's real service: what hacli sends
// is what the service hands to the loop, and the loop's answer is what
// hacli prints.

// The loop's side: waits (on the eventfd, up to 10 s) for one request.
std::vector<agent::OperationRequest> TakeSubmitted(agent::Operations& ops) {
  pollfd p{ops.fd(), POLLIN, 0};
  if (poll(&p, 1, 10000) != 1) return {};
  return ops.Take();
}

TEST_F(AgentCommandsServerTest, MoveReachesTheLoopAndPrintsItsAnswer) {
  agent::EventHub hub;
  auto api = agent::ApiServer::Start(socket_, hub, ops_);
  ASSERT_TRUE(api.ok()) << api.status();
  MoveArgs args;
  args.connection.socket = socket_;
  args.group = "web";
  args.node = "node02";
  std::ostringstream out, err;
  int rc = -1;
  std::thread client([&] { rc = RunMove(args, out, err); });
  std::vector<agent::OperationRequest> got = TakeSubmitted(ops_);
  if (got.size() != 1) {
    ops_.Close();  // wakes the waiting call
    client.join();
    FAIL() << "the loop got " << got.size() << " requests; hacli said: " << err.str();
  }
  EXPECT_EQ(got[0].kind, agent::OperationRequest::Kind::kMove);
  EXPECT_EQ(got[0].group, "web");
  EXPECT_EQ(got[0].node, "node02");
  v1::OperationResponse done;
  done.set_state(v1::OPERATION_STATE_DONE);
  v1::GroupStatus* g = done.add_groups();
  g->set_name("web");
  g->set_holder("node02");
  g->set_target("node02");
  g->set_state(v1::GROUP_STATE_RUNNING);
  ops_.Update(got[0].id, done);
  client.join();
  EXPECT_EQ(rc, 0) << err.str();
  EXPECT_EQ(out.str(), absl::StrCat("done: web on node02 (operation ", got[0].id, ")\n"));
}

TEST_F(AgentCommandsServerTest, NoWaitStandbyThenOperationShowsItPendingThenFailed) {
  agent::EventHub hub;
  auto api = agent::ApiServer::Start(socket_, hub, ops_);
  ASSERT_TRUE(api.ok()) << api.status();
  ScopeArgs standby;
  standby.connection.socket = socket_;
  standby.scope = "foreign";
  standby.no_wait = true;
  std::ostringstream out, err;
  ASSERT_EQ(RunStandby(standby, out, err), 0) << err.str();
  std::vector<agent::OperationRequest> got = ops_.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, agent::OperationRequest::Kind::kStandby);
  EXPECT_EQ(got[0].scope, v1::STANDBY_SCOPE_FOREIGN);
  EXPECT_EQ(out.str(), absl::StrCat("operation ", got[0].id, " pending\n"));

  OperationArgs follow;
  follow.connection.socket = socket_;
  follow.operation_id = got[0].id;
  std::ostringstream out2, err2;
  EXPECT_EQ(RunOperation(follow, out2, err2), 0) << err2.str();
  EXPECT_EQ(out2.str(), absl::StrCat("operation ", got[0].id, " pending\n"));

  v1::OperationResponse failed;
  failed.set_state(v1::OPERATION_STATE_FAILED);
  failed.set_message("no other node can take web: node02 is dead");
  ops_.Update(got[0].id, failed);
  std::ostringstream out3, err3;
  EXPECT_EQ(RunOperation(follow, out3, err3), 1);
  EXPECT_EQ(out3.str(), absl::StrCat("failed: no other node can take web: node02 is dead",
                                     " (operation ", got[0].id, ")\n"));
}

TEST_F(AgentCommandsServerTest, WhereAnswersFromTheStatusAndUnknownTargetsExitOne) {
  agent::EventHub hub;
  v1::GetStatusResponse st = SampleStatus();
  v1::GroupStatus* g = st.add_groups();
  g->set_name("web");
  g->set_holder("node01");
  g->set_state(v1::GROUP_STATE_RUNNING);
  g->add_addresses("192.0.2.50");
  hub.PublishStatus(st, agent::MonotonicNow());
  auto api = agent::ApiServer::Start(socket_, hub, ops_);
  ASSERT_TRUE(api.ok()) << api.status();
  WhereArgs args;
  args.connection.socket = socket_;
  args.target = "192.0.2.50";
  std::ostringstream out, err;
  EXPECT_EQ(RunWhere(args, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "node01\n");
  args.target = "10.9.9.9";
  std::ostringstream out2, err2;
  EXPECT_EQ(RunWhere(args, out2, err2), 1);
  EXPECT_EQ(out2.str(), "");
  EXPECT_TRUE(absl::StrContains(err2.str(), "hacli: ")) << err2.str();
  EXPECT_TRUE(absl::StrContains(err2.str(), "10.9.9.9")) << err2.str();
}

// --- the same commands against remote agents over mutual TLS ---

// The error object a command printed with -o json.
hacli::v1::Error ErrorOf(const std::string& json) {
  hacli::v1::ErrorOutput output;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &output).ok()) << json;
  return output.error();
}

class RemoteCommandsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/pki-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    absl::StatusOr<tls_testing::TestPki> pki = tls_testing::TestPki::Make(tmpl);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new tls_testing::TestPki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(pki_, nullptr) << "no test PKI";
    node01_ = tls_testing::TlsServer::Start("127.0.0.1", *pki_, "server", "node01");
    ASSERT_NE(node01_, nullptr);
  }
  static ConnectionOptions Admin(std::vector<std::string> servers) {
    ConnectionOptions o;
    o.servers = std::move(servers);
    o.ca = pki_->Pem("ca");
    o.cert = pki_->Pem("client");
    o.key = pki_->Key("client");
    return o;
  }
  StatusArgs Status(ConnectionOptions connection) {
    StatusArgs args;
    args.connection = std::move(connection);
    args.format = OutputFormat::kJson;
    return args;
  }

  static tls_testing::TestPki* pki_;
  std::unique_ptr<tls_testing::TlsServer> node01_;
  std::ostringstream out_, err_;
};
tls_testing::TestPki* RemoteCommandsTest::pki_ = nullptr;

TEST_F(RemoteCommandsTest, StatusOverTlsPrintsTheAnswer) {
  ASSERT_EQ(RunStatus(Status(Admin({node01_->address()})), out_, err_), 0) << err_.str();
  v1::GetStatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.cluster_name(), "node01");
}

TEST_F(RemoteCommandsTest, WithoutAClientCertificateStatusIsDeniedWithExitFour) {
  ConnectionOptions connection = Admin({node01_->address()});
  connection.cert = connection.key = "";
  EXPECT_EQ(RunStatus(Status(connection), out_, err_), 4);
  hacli::v1::Error error = ErrorOf(out_.str());
  EXPECT_EQ(error.code(), 4);
  EXPECT_EQ(error.target(), node01_->address());
  EXPECT_EQ(error.grpc_status(), "UNAUTHENTICATED");
  EXPECT_TRUE(absl::StrContains(err_.str(), "hacli: status: the agent at " + node01_->address() +
                                                " did not accept this client"))
      << err_.str();
  EXPECT_TRUE(absl::StrContains(err_.str(), "--cert and --key")) << err_.str();
}

TEST_F(RemoteCommandsTest, AReadersStandbyIsDeniedWithExitFour) {
  ScopeArgs args;
  args.connection = Admin({node01_->address()});
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunStandby(args, out_, err_), 4);
  hacli::v1::Error error = ErrorOf(out_.str());
  EXPECT_EQ(error.code(), 4);
  EXPECT_EQ(error.grpc_status(), "PERMISSION_DENIED");
  EXPECT_TRUE(absl::StrContains(error.message(), "denied the call")) << error.message();
}

TEST_F(RemoteCommandsTest, AWrongCaIsExitThreeNamingTheServer) {
  ConnectionOptions connection = Admin({node01_->address()});
  connection.ca = pki_->Pem("other-ca");
  EXPECT_EQ(RunStatus(Status(connection), out_, err_), 3);
  hacli::v1::Error error = ErrorOf(out_.str());
  EXPECT_EQ(error.code(), 3);
  EXPECT_EQ(error.target(), "");  // none was chosen
  EXPECT_TRUE(absl::StrContains(error.message(), node01_->address() + ": ")) << error.message();
  EXPECT_TRUE(absl::StrContains(
      err_.str(), "hacli: status: no agent reachable over TLS:\n  " + node01_->address() + ": "))
      << err_.str();
}

TEST_F(RemoteCommandsTest, TheSecondServerAnswersWhenTheFirstIsDown) {
  std::string down;
  {
    std::unique_ptr<tls_testing::TlsServer> gone =
        tls_testing::TlsServer::Start("127.0.0.1", *pki_, "server", "gone");
    ASSERT_NE(gone, nullptr);
    down = gone->address();
  }
  ASSERT_EQ(RunStatus(Status(Admin({down, node01_->address()})), out_, err_), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "\"cluster_name\": \"node01\"")) << out_.str();
  std::ostringstream out, err;
  EXPECT_EQ(RunStatus(Status(Admin({down})), out, err), 3);
  EXPECT_EQ(ErrorOf(out.str()).code(), 3);
}

TEST_F(RemoteCommandsTest, NoAnswerWithinTheTimeoutIsExitFive) {
  node01_->agent().Hang();
  StatusArgs args = Status(Admin({node01_->address()}));
  args.timeout = absl::Milliseconds(200);
  EXPECT_EQ(RunStatus(args, out_, err_), 5);
  hacli::v1::Error error = ErrorOf(out_.str());
  EXPECT_EQ(error.code(), 5);
  EXPECT_EQ(error.grpc_status(), "DEADLINE_EXCEEDED");
  EXPECT_EQ(error.message(), "no answer from the agent at " + node01_->address() + " within 200ms");
}

TEST_F(RemoteCommandsTest, AMissingCaIsAUsageErrorBeforeAnyConnection) {
  ConnectionOptions connection = Admin({node01_->address()});
  connection.ca = "";
  WhereArgs args;
  args.connection = connection;
  args.target = "web";
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunWhere(args, out_, err_), 2);
  hacli::v1::Error error = ErrorOf(out_.str());
  EXPECT_EQ(error.code(), 2);
  EXPECT_TRUE(absl::StartsWith(error.message(), "--server needs --ca FILE")) << error.message();
}

}  // namespace
}  // namespace hacluster::cli
