// The drop-ins' Run functions against the agent's real API server on a Unix
// socket: what cl_status prints is what the published status says, and what
// hb_standby / hb_takeover send is what the service hands to the loop.
#include "cli/heartbeat_dropin_run.h"

#include <poll.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/service/api_server.h"
#include "agent/service/event_hub.h"
#include "agent/service/operations.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace hacluster::cli::heartbeat {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

// node01 (this node) and node02 on eth0 and eth1, eth1 dead; web held here.
v1::GetStatusResponse TwoNodeStatus() {
  v1::GetStatusResponse st;
  st.set_local_node("node01");
  *st.mutable_deadtime() = TimeUtil::SecondsToDuration(6);
  v1::NodeStatus* me = st.add_nodes();
  me->set_name("node01");
  me->set_local(true);
  me->set_state(v1::NODE_STATE_UP);
  v1::NodeStatus* peer = st.add_nodes();
  peer->set_name("node02");
  peer->set_state(v1::NODE_STATE_UP);
  v1::LinkStatus* eth0 = peer->add_links();
  eth0->set_name("eth0");
  eth0->set_state(v1::LINK_STATE_UP);
  v1::LinkStatus* eth1 = peer->add_links();
  eth1->set_name("eth1");
  eth1->set_state(v1::LINK_STATE_DEAD);
  v1::GroupStatus* web = st.add_groups();
  web->set_name("web");
  web->set_preferred_node("node01");
  web->set_holder("node01");
  web->set_target("node01");
  web->set_state(v1::GROUP_STATE_RUNNING);
  return st;
}

struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

class DropinServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hac-dropin-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    flags_.connection.socket = dir_ + "/agent.sock";
  }
  void TearDown() override {
    if (api_ != nullptr) api_->Shutdown();
    std::filesystem::remove_all(dir_);
  }
  void StartAgent() {
    hub_.PublishStatus(TwoNodeStatus(), agent::MonotonicNow());
    auto api = agent::ApiServer::Start(flags_.connection.socket, hub_, ops_);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
  }
  Ran ClStatus(std::vector<std::string> args) {
    DropinFlags f = flags_;
    f.args = std::move(args);
    std::ostringstream out, err;
    Ran r;
    r.code = RunClStatus(f, ConnectDropinAgent(f), out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
  Ran Hb(HbTool tool, std::vector<std::string> args, const std::string& timeout = "30s") {
    DropinFlags f = flags_;
    f.args = std::move(args);
    f.timeout = timeout;
    std::ostringstream out, err;
    Ran r;
    const std::string program = tool == HbTool::kStandby ? "hb_standby" : "hb_takeover";
    r.code = RunHbCommand(tool, program, f, ConnectDropinAgent(f), out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
  // The loop's side: waits (on the eventfd, up to 10 s) for the requests.
  std::vector<agent::OperationRequest> TakeSubmitted() {
    pollfd p{ops_.fd(), POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return {};
    return ops_.Take();
  }

  std::string dir_;
  DropinFlags flags_;
  agent::EventHub hub_;
  agent::Operations ops_;
  std::unique_ptr<agent::ApiServer> api_;
};

TEST_F(DropinServerTest, ClStatusReadsTheAgentsStatusInHeartbeatsWords) {
  StartAgent();
  Ran hb = ClStatus({"hbstatus"});
  EXPECT_EQ(hb.code, 0) << hb.err;
  EXPECT_EQ(hb.out, "Heartbeat is running on this machine.\n");
  Ran nodes = ClStatus({"listnodes", "-v"});
  EXPECT_EQ(nodes.code, 0) << nodes.err;
  EXPECT_EQ(nodes.out,
            "\nnode02\tactive\t(nodetype: normal)\n\teth1\tdead\n\teth0\tup\n"
            "\nnode01\tactive\t(nodetype: normal)\n\teth1\tdead\n\teth0\tdead\n");
  Ran link = ClStatus({"hblinkstatus", "node02", "eth1"});
  EXPECT_EQ(link.out, "dead\n");
  EXPECT_EQ(link.code, kClNormalFail);
  Ran rsc = ClStatus({"rscstatus"});
  EXPECT_EQ(rsc.out, "local\n");
  EXPECT_EQ(rsc.code, 0);
}

TEST_F(DropinServerTest, ClStatusWithNoAgentSaysHeartbeatIsStopped) {
  Ran hb = ClStatus({"hbstatus"});
  EXPECT_EQ(hb.code, kClNormalFail);
  EXPECT_EQ(hb.out, "Heartbeat is stopped on this machine.\n");
  Ran nodes = ClStatus({"listnodes"});
  EXPECT_EQ(nodes.code, kClNormalFail);
  EXPECT_EQ(nodes.out, "");
  EXPECT_TRUE(absl::StrContains(nodes.err, "ERROR: Cannot signon with heartbeat\n")) << nodes.err;
  EXPECT_TRUE(absl::StrContains(nodes.err, "the agent at " + flags_.connection.socket)) << nodes.err;
}

TEST_F(DropinServerTest, StandbyWaitsForTheMoveAndIsSilentWhenDone) {
  StartAgent();
  Ran r;
  std::thread client([&] { r = Hb(HbTool::kStandby, {"failback"}); });
  std::vector<agent::OperationRequest> got = TakeSubmitted();
  if (got.size() != 1) {
    ops_.Close();  // wakes the waiting call
    client.join();
    FAIL() << "the loop got " << got.size() << " requests; hb_standby said: " << r.err;
  }
  EXPECT_EQ(got[0].kind, agent::OperationRequest::Kind::kStandby);
  EXPECT_EQ(got[0].scope, v1::STANDBY_SCOPE_FAILBACK);
  v1::OperationResponse done;
  done.set_state(v1::OPERATION_STATE_DONE);
  ops_.Update(got[0].id, done);
  client.join();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(absl::EndsWith(r.err, " Going standby [foreign].\n")) << r.err;
}

TEST_F(DropinServerTest, TakeoverFailbackAsksForAllAndReportsAFailure) {
  StartAgent();
  Ran r;
  std::thread client([&] { r = Hb(HbTool::kTakeover, {"failback"}); });
  std::vector<agent::OperationRequest> got = TakeSubmitted();
  if (got.size() != 1) {
    ops_.Close();
    client.join();
    FAIL() << "the loop got " << got.size() << " requests; hb_takeover said: " << r.err;
  }
  EXPECT_EQ(got[0].kind, agent::OperationRequest::Kind::kTakeover);
  EXPECT_EQ(got[0].scope, v1::STANDBY_SCOPE_ALL);
  v1::OperationResponse failed;
  failed.set_state(v1::OPERATION_STATE_FAILED);
  failed.set_message("node02 is dead");
  ops_.Update(got[0].id, failed);
  client.join();
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            absl::StrCat("hb_takeover: failed: node02 is dead (operation ", got[0].id, ")\n"));
}

TEST_F(DropinServerTest, MoveStillGoingWhenTheTimeoutPassesExitsOne) {
  StartAgent();
  // Nobody answers on the loop's side: the agent reports TIMED_OUT.
  Ran r = Hb(HbTool::kTakeover, {"local"}, "100ms");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StartsWith(r.err, "hb_takeover: timed out after 100ms")) << r.err;
  std::vector<agent::OperationRequest> got = ops_.Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].scope, v1::STANDBY_SCOPE_LOCAL);
}

TEST_F(DropinServerTest, BadArgumentIsUsageBeforeAnyCall) {
  StartAgent();
  Ran r = Hb(HbTool::kStandby, {"bogus"});
  EXPECT_EQ(r.code, kHbUsage);
  EXPECT_EQ(r.out, "hb_standby: wrong resources(bogus).\nusage:\n");
  EXPECT_EQ(r.err, "hb_standby [all|foreign|local|failback]\n");
  Ran t = Hb(HbTool::kTakeover, {}, "soon");
  EXPECT_EQ(t.code, kHbUsage);
  EXPECT_TRUE(absl::StrContains(t.err, "--timeout 'soon'")) << t.err;
  EXPECT_TRUE(ops_.Take().empty());
}

TEST_F(DropinServerTest, StandbyWithNoAgentNamesTheSocket) {
  Ran r = Hb(HbTool::kStandby, {});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "hb_standby: cannot reach the agent at " + flags_.connection.socket))
      << r.err;
}

// ---- the drop-ins' own options ----

DropinFlags Parse(std::vector<const char*> argv, bool with_timeout) {
  argv.insert(argv.begin(), "prog");
  return ParseDropinFlags(static_cast<int>(argv.size()), argv.data(), with_timeout);
}

TEST(DropinFlagsTest, OwnOptionsComeFirstAndHeartbeatsArgumentsFollowUnchanged) {
  DropinFlags f = Parse({"--socket", "/run/a.sock", "listnodes", "-n"}, false);
  EXPECT_EQ(f.connection.socket, "/run/a.sock");
  EXPECT_EQ(f.args, (std::vector<std::string>{"listnodes", "-n"}));
  DropinFlags g = Parse({"--socket=/run/b.sock", "--timeout=2m", "local"}, true);
  EXPECT_EQ(g.connection.socket, "/run/b.sock");
  EXPECT_EQ(g.timeout, "2m");
  EXPECT_EQ(g.args, (std::vector<std::string>{"local"}));
  EXPECT_TRUE(Parse({"--help"}, true).help);
  EXPECT_TRUE(Parse({"--version"}, false).version);
  EXPECT_FALSE(Parse({"--", "--version"}, false).version);
}

TEST(DropinFlagsTest, RemoteOptionsAreHaclis) {
  DropinFlags f = Parse({"--server", "192.0.2.11:7443,192.0.2.12:7443", "--server=192.0.2.13:7443",
                         "--ca", "ca.crt", "--cert=ops.crt", "--key", "ops.key",
                         "--connect-timeout", "500ms", "all"},
                        true);
  EXPECT_TRUE(f.error.empty()) << f.error;
  EXPECT_EQ(f.connection.servers,
            (std::vector<std::string>{"192.0.2.11:7443,192.0.2.12:7443", "192.0.2.13:7443"}));
  EXPECT_EQ(f.connection.ca, "ca.crt");
  EXPECT_EQ(f.connection.cert, "ops.crt");
  EXPECT_EQ(f.connection.key, "ops.key");
  EXPECT_EQ(f.connection.connect_timeout, absl::Milliseconds(500));
  EXPECT_EQ(f.args, (std::vector<std::string>{"all"}));
  EXPECT_FALSE(Parse({"--connect-timeout", "soon", "all"}, true).error.empty());
}

TEST(DropinFlagsTest, AServerWithoutCaIsAUsageErrorNamingIt) {
  DropinFlags f = Parse({"--server", "192.0.2.11:7443", "all"}, true);
  AgentLink link = ConnectDropinAgent(f);
  ASSERT_FALSE(link.error.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(link.error)) << link.error;
  std::ostringstream out, err;
  EXPECT_EQ(RunHbCommand(HbTool::kStandby, "hb_standby", f, link, out, err), kHbUsage);
  EXPECT_TRUE(absl::StrContains(err.str(), "--ca")) << err.str();
}

TEST(DropinFlagsTest, UnknownLongOptionIsLeftToHeartbeatsCheck) {
  DropinFlags f = Parse({"--verbose", "all"}, true);
  EXPECT_TRUE(f.error.empty());
  EXPECT_EQ(f.args, (std::vector<std::string>{"--verbose", "all"}));
  // cl_status has no --timeout: it is Heartbeat's (invalid) sub-command.
  EXPECT_EQ(Parse({"--timeout", "1s"}, false).args[0], "--timeout");
  EXPECT_EQ(Parse({"--", "--help"}, false).args, (std::vector<std::string>{"--help"}));
}

TEST(DropinFlagsTest, OptionWithoutItsValueIsAnError) {
  DropinFlags f = Parse({"--socket"}, false);
  EXPECT_EQ(f.error, "--socket needs a value");
}

}  // namespace
}  // namespace hacluster::cli::heartbeat
