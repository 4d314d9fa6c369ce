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

TEST(AgentCommandsTest, SocketFlagBeatsEnvironmentBeatsDefault) {
  unsetenv("HACLI_SOCKET");
  EXPECT_EQ(ResolveSocket(""), kDefaultAgentSocket);
  setenv("HACLI_SOCKET", "/run/x.sock", 1);
  EXPECT_EQ(ResolveSocket(""), "/run/x.sock");
  EXPECT_EQ(ResolveSocket("/tmp/y.sock"), "/tmp/y.sock");
  unsetenv("HACLI_SOCKET");
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
  args.socket = socket_;
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  ASSERT_EQ(RunStatus(args, out, err), 0) << err.str();
  v1::GetStatusResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out.str(), &parsed).ok()) << out.str();
  EXPECT_EQ(parsed.nodes(1).name(), "node02");
  EXPECT_EQ(parsed.nodes(1).state(), v1::NODE_STATE_DEAD);
  EXPECT_TRUE(absl::StrContains(out.str(), "\"NODE_STATE_DEAD\"")) << out.str();
}

TEST_F(AgentCommandsServerTest, StatusWithNoAgentNamesTheSocket) {
  StatusArgs args;
  args.socket = socket_;
  std::ostringstream out, err;
  EXPECT_EQ(RunStatus(args, out, err), 1);
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
  args.socket = socket_;
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
  WatchArgs args;
  args.socket = socket_;
  std::ostringstream out, err;
  std::thread stopper([&] {
    v1::Event e;
    e.set_kind(v1::EVENT_KIND_AGENT_STOPPING);
    hub.Emit(e);
    (*api)->Shutdown();
  });
  int rc = RunWatch(args, out, err);
  stopper.join();
  EXPECT_EQ(rc, 1);
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
  args.socket = socket_;
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
  standby.socket = socket_;
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
  follow.socket = socket_;
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
  args.socket = socket_;
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

}  // namespace
}  // namespace hacluster::cli
