#include "cli/agent_commands.h"

#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "agent/service/api_server.h"
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
};

TEST_F(AgentCommandsServerTest, StatusJsonIsTheApiMessage) {
  agent::EventHub hub;
  hub.PublishStatus(SampleStatus(), agent::MonotonicNow());
  auto api = agent::ApiServer::Start(socket_, hub);
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
  auto api = agent::ApiServer::Start(socket_, hub);
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
  auto api = agent::ApiServer::Start(socket_, hub);
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

}  // namespace
}  // namespace hacluster::cli
