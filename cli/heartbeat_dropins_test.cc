// Replays what Heartbeat 3.0.6 printed (cli/testdata/heartbeat/*.txt, see
// README.txt there) against the agent's status for the same cluster state:
// nodes node01 and node02 on links eth0 and eth1, ping node 192.0.2.126,
// ping group pgrp (192.0.2.125, which never answers, and 192.0.2.126),
// group web preferred on node01 and db preferred on node02.
#include "cli/heartbeat_dropins.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace hacluster::cli::heartbeat {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

// ---- the captured transcripts ----

// One command run on one node, as capture.sh recorded it.
struct Captured {
  std::string node;     // "node01"
  std::string command;  // "cl_status listnodes -n"
  std::string out;
  std::string err;
  int exit_code = -1;
  int watches_before = 0;  // "watch" blocks before it: 0 = before the first
};

std::string ReadTestdata(const std::string& scenario) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                   "/cli/testdata/heartbeat/", scenario, ".txt");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The "== NODE: COMMAND" blocks of a transcript, without the "watch" ones
// (timings, read by people).
std::vector<Captured> ReadCaptured(const std::string& scenario) {
  std::vector<Captured> cases;
  std::string* into = nullptr;
  bool in_watch = false;
  int watches = 0;
  for (absl::string_view line : absl::StrSplit(ReadTestdata(scenario), '\n')) {
    if (in_watch) {
      in_watch = line != "-- end";
    } else if (absl::ConsumePrefix(&line, "== ")) {
      std::pair<std::string, std::string> head = absl::StrSplit(line, absl::MaxSplits(": ", 1));
      in_watch = absl::StartsWith(head.second, "watch ");
      watches += in_watch ? 1 : 0;
      if (!in_watch) cases.push_back(Captured{head.first, head.second, "", "", -1, watches});
      into = nullptr;
    } else if (line == "-- stdout") {
      into = &cases.back().out;
    } else if (line == "-- stderr") {
      into = &cases.back().err;
    } else if (absl::ConsumePrefix(&line, "-- exit ")) {
      EXPECT_TRUE(absl::SimpleAtoi(line, &cases.back().exit_code)) << line;
      into = nullptr;
    } else if (into != nullptr) {
      absl::StrAppend(into, line, "\n");
    }
  }
  return cases;
}

// The Heartbeat arguments of a captured "cl_status ..." command.
std::vector<std::string> ClStatusArgs(const std::string& command) {
  std::vector<std::string> words = absl::StrSplit(command, ' ', absl::SkipEmpty());
  return std::vector<std::string>(words.begin() + 1, words.end());
}

// What capture.sh left of cl_log's prefix: "MMM DD HH:MM:SS node01 cl_status: [PID]: ".
LogStamp CapturedStamp(const std::string& node) { return LogStamp{"MMM DD HH:MM:SS", node, "PID"}; }

// ---- the agent's status for a captured cluster state ----

struct ClusterState {
  std::string local = "node01";
  bool peer_up = true;
  bool peer_eth1_up = true;  // the eth1 path between the two nodes
  bool ping_up = true;       // 192.0.2.126 answers
  std::string web_holder = "node01";
  std::string db_holder = "node02";
};

void AddGroup(v1::GetStatusResponse& st, const std::string& name, const std::string& preferred,
              const std::string& holder) {
  v1::GroupStatus* g = st.add_groups();
  g->set_name(name);
  g->set_preferred_node(preferred);
  g->set_holder(holder);
  g->set_target(holder);
  g->set_state(holder.empty() ? v1::GROUP_STATE_STOPPED : v1::GROUP_STATE_RUNNING);
}

void AddPing(v1::GetStatusResponse& st, const std::string& host, const std::string& group,
             bool up) {
  v1::PingTargetStatus* p = st.add_ping_targets();
  p->set_host(host);
  p->set_group(group);
  p->set_state(up ? v1::PING_STATE_UP : v1::PING_STATE_DEAD);
}

// The status the local agent of `c.local` answers, in the captured
// configuration (keepalive 1, warntime 3, deadtime 6, initdead 12).
v1::GetStatusResponse StatusOf(const ClusterState& c) {
  v1::GetStatusResponse st;
  st.set_cluster_name("hbcap");
  st.set_config_version(1);
  st.set_local_node(c.local);
  *st.mutable_keepalive() = TimeUtil::SecondsToDuration(1);
  *st.mutable_warntime() = TimeUtil::SecondsToDuration(3);
  *st.mutable_deadtime() = TimeUtil::SecondsToDuration(6);
  *st.mutable_initdead() = TimeUtil::SecondsToDuration(12);
  for (const std::string name : {"node01", "node02"}) {
    v1::NodeStatus* n = st.add_nodes();
    n->set_name(name);
    n->set_local(name == c.local);
    if (n->local()) {
      n->set_state(v1::NODE_STATE_UP);
      continue;
    }
    n->set_state(c.peer_up ? v1::NODE_STATE_UP : v1::NODE_STATE_DEAD);
    for (const std::string link : {"eth0", "eth1"}) {
      v1::LinkStatus* l = n->add_links();
      l->set_name(link);
      const bool up = c.peer_up && (link == "eth0" || c.peer_eth1_up);
      l->set_state(up ? v1::LINK_STATE_UP : v1::LINK_STATE_DEAD);
    }
  }
  AddPing(st, "192.0.2.126", "", c.ping_up);
  AddPing(st, "192.0.2.125", "pgrp", false);
  AddPing(st, "192.0.2.126", "pgrp", c.ping_up);
  AddGroup(st, "web", "node01", c.web_holder);
  AddGroup(st, "db", "node02", c.db_holder);
  return st;
}

StatusFetch Answer(const v1::GetStatusResponse& st) {
  return [st]() -> absl::StatusOr<v1::GetStatusResponse> { return st; };
}

// Captured commands our answers may differ in, and why.
const std::map<std::string, std::string>& Differences() {
  static const auto* d = new std::map<std::string, std::string>{
      {"cl_status hbparameter -p auto_failback", "the agent's status does not carry it"},
      {"cl_status hbstatus -v", "its version line (checked apart)"},
  };
  return *d;
}

// Every captured cl_status command of `node` in `scenario` (from the
// `from_watch`th watch block on), answered from `fetch`.
void ExpectSameAsHeartbeat(const std::string& scenario, const std::string& node,
                           const StatusFetch& fetch, int from_watch = 0) {
  int compared = 0;
  for (const Captured& c : ReadCaptured(scenario)) {
    if (c.node != node || !absl::StartsWith(c.command, "cl_status") ||
        Differences().count(c.command) > 0 || c.watches_before < from_watch) {
      continue;
    }
    Output o = ClStatus(ClStatusArgs(c.command), fetch, CapturedStamp(node));
    EXPECT_EQ(o.out, c.out) << scenario << ": " << node << ": " << c.command;
    EXPECT_EQ(o.err, c.err) << scenario << ": " << node << ": " << c.command;
    EXPECT_EQ(o.exit_code, c.exit_code) << scenario << ": " << node << ": " << c.command;
    ++compared;
  }
  EXPECT_GT(compared, 0) << "nothing captured for " << node << " in " << scenario;
}

void ExpectSameAsHeartbeat(const std::string& scenario, const ClusterState& c, int from_watch = 0) {
  ExpectSameAsHeartbeat(scenario, c.local, Answer(StatusOf(c)), from_watch);
}

// ---- cl_status, scenario by scenario ----

TEST(ClStatusTest, AgentNotRunningAnswersAsHeartbeatStopped) {
  StatusFetch down = [] {
    return absl::StatusOr<v1::GetStatusResponse>(absl::UnavailableError(""));
  };
  ExpectSameAsHeartbeat("stopped", "node01", down);
}

TEST(ClStatusTest, NodeAloneWithItsPeerNeverHeardHoldsAll) {
  ClusterState c;
  c.peer_up = false;
  c.db_holder = "node01";
  // Once initdead has passed (after the first watch).
  ExpectSameAsHeartbeat("alone", c, /*from_watch=*/1);
}

TEST(ClStatusTest, HeartbeatAnswersNoClientDuringInitdeadUnlikeTheAgent) {
  // A known difference: Heartbeat refuses clients until initdead has
  // passed; the agent answers at once, calling unheard nodes dead.
  int during = 0;
  for (const Captured& c : ReadCaptured("alone")) {
    if (c.watches_before > 0) break;
    EXPECT_EQ(c.exit_code, kClNormalFail) << c.command;
    ++during;
  }
  EXPECT_EQ(during, 3);
}

TEST(ClStatusTest, BothNodesUpEachHoldingItsOwnGroupOnBothNodes) {
  ExpectSameAsHeartbeat("both_up", ClusterState{});
  ClusterState on_node02;
  on_node02.local = "node02";
  ExpectSameAsHeartbeat("both_up", on_node02);
}

TEST(ClStatusTest, VerboseHbstatusListsEveryNodeAfterTheVersion) {
  ClusterState c;
  c.local = "node02";
  for (const Captured& cap : ReadCaptured("both_up")) {
    if (cap.command != "cl_status hbstatus -v") continue;
    Output o = ClStatus({"hbstatus", "-v"}, Answer(StatusOf(c)), CapturedStamp(cap.node));
    // Heartbeat's first line is its version: the agent has its own.
    std::pair<std::string, std::string> ours = absl::StrSplit(o.out, absl::MaxSplits('\n', 1));
    std::pair<std::string, std::string> theirs = absl::StrSplit(cap.out, absl::MaxSplits('\n', 1));
    EXPECT_EQ(ours.first, "version:\tha-agent (config version 1)");
    EXPECT_TRUE(absl::StartsWith(theirs.first, "version:\t3.0.6")) << theirs.first;
    EXPECT_EQ(ours.second, theirs.second);
    EXPECT_EQ(o.exit_code, cap.exit_code);
    return;
  }
  FAIL() << "no hbstatus -v in both_up.txt";
}

// In a mixed pair (wire: heartbeat3) the verbose listings name each node's
// wire and software; nodestatus answers as for any node.
TEST(ClStatusTest, MixedPairListsTheHeartbeatPeerWithItsWireAndSoftware) {
  ClusterState c;
  c.local = "node02";
  v1::GetStatusResponse st = StatusOf(c);
  for (auto& n : *st.mutable_nodes()) {
    n.set_wire("heartbeat3");
    n.set_software(n.local() ? "ha-agent 0.1.0" : "Heartbeat 3 (protocol 1)");
  }
  Output o = ClStatus({"listnodes", "-v"}, Answer(st), CapturedStamp("node02"));
  EXPECT_NE(o.out.find("node01\tactive\t(nodetype: normal, wire: heartbeat3, software: "
                       "Heartbeat 3 (protocol 1))\n"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("node02\tactive\t(nodetype: normal, wire: heartbeat3, software: "
                       "ha-agent 0.1.0)\n"),
            std::string::npos)
      << o.out;
  Output ns = ClStatus({"nodestatus", "node01"}, Answer(st), CapturedStamp("node02"));
  EXPECT_EQ(ns.out, "active\n");
  // The native wire's listing stays Heartbeat's own.
  Output plain = ClStatus({"listnodes", "-v"}, Answer(StatusOf(c)), CapturedStamp("node02"));
  EXPECT_EQ(plain.out.find("wire:"), std::string::npos) << plain.out;
}

TEST(ClStatusTest, CutLinkIsDeadWhileTheNodeStaysActive) {
  ClusterState c;
  c.peer_eth1_up = false;
  ExpectSameAsHeartbeat("link_down", c);
  c.local = "node02";
  ExpectSameAsHeartbeat("link_down", c);
}

TEST(ClStatusTest, SilentPingNodeAndPingGroupAreDead) {
  ClusterState c;
  c.ping_up = false;
  ExpectSameAsHeartbeat("ping_down", c);
}

TEST(ClStatusTest, DeadPeerIsDeadWithDeadLinksAndItsGroupTakenOver) {
  ClusterState c;
  c.peer_up = false;
  c.db_holder = "node01";
  ExpectSameAsHeartbeat("peer_dead", c);
}

TEST(ClStatusTest, PeerBackAfterFailbackHoldsItsOwnGroupAgain) {
  ExpectSameAsHeartbeat("peer_back", ClusterState{});
  ClusterState on_node02;
  on_node02.local = "node02";
  ExpectSameAsHeartbeat("peer_back", on_node02);
}

TEST(ClStatusTest, CleanlyStoppedPeerIsDead) {
  ClusterState c;
  c.peer_up = false;
  c.db_holder = "node01";
  ExpectSameAsHeartbeat("peer_stopped", c);
}

// ---- cl_status beyond the captured states ----

TEST(ClStatusTest, AgentThatRefusesIsApparentlyRunning) {
  StatusFetch refused = [] {
    return absl::StatusOr<v1::GetStatusResponse>(
        absl::PermissionDeniedError("the agent at x.sock: read-only certificate"));
  };
  Output o = ClStatus({"hbstatus", "-v"}, refused, CapturedStamp("node01"));
  EXPECT_EQ(o.out,
            "Heartbeat is apparently running on this machine, but refuses my connection\n"
            "(the agent at x.sock: read-only certificate)\n");
  EXPECT_EQ(o.exit_code, kClOk);
  Output nodes = ClStatus({"listnodes"}, refused, CapturedStamp("node01"));
  EXPECT_EQ(nodes.exit_code, kClNormalFail);
  EXPECT_TRUE(absl::StrContains(nodes.err, "ERROR: Cannot signon with heartbeat\n")) << nodes.err;
}

TEST(ClStatusTest, UnreachableAgentIsNamedAfterHeartbeatsReason) {
  StatusFetch down = [] {
    return absl::StatusOr<v1::GetStatusResponse>(
        absl::UnavailableError("the agent at /run/a.sock: connection refused"));
  };
  Output o = ClStatus({"nodestatus", "node02"}, down, CapturedStamp("node01"));
  EXPECT_EQ(o.exit_code, kClNormalFail);
  EXPECT_TRUE(absl::StrContains(
      o.err,
      "ERROR: REASON: hb_api_signon: Can't initiate connection to heartbeat (the agent at "
      "/run/a.sock: connection refused)\n"))
      << o.err;
}

TEST(ClStatusTest, NoAnswerInTimeExitsTwelveAsCLStatusAlarm) {
  StatusFetch slow = [] {
    return absl::StatusOr<v1::GetStatusResponse>(
        absl::DeadlineExceededError("the agent at a.sock"));
  };
  Output o = ClStatus({"hbstatus"}, slow, CapturedStamp("node01"));
  EXPECT_EQ(o.exit_code, kClTimeout);
  EXPECT_EQ(o.out, "");
}

TEST(ClStatusTest, HelpAndInvalidSubcommandNeverAskTheAgent) {
  int asked = 0;
  StatusFetch count = [&asked] {
    ++asked;
    return absl::StatusOr<v1::GetStatusResponse>(StatusOf(ClusterState{}));
  };
  EXPECT_EQ(ClStatus({}, count, CapturedStamp("n")).exit_code, kClOk);
  EXPECT_EQ(ClStatus({"-h"}, count, CapturedStamp("n")).exit_code, kClOk);
  EXPECT_EQ(ClStatus({"test"}, count, CapturedStamp("n")).exit_code, kClParameterError);
  EXPECT_EQ(asked, 0);
}

TEST(ClStatusTest, OptionsMayFollowTheOperandsAsWithGlibcGetopt) {
  Output o = ClStatus({"nodestatus", "node02", "-m"}, Answer(StatusOf(ClusterState{})),
                      CapturedStamp("node01"));
  EXPECT_EQ(o.out, "The cluster node node02 is active\n");
  Output p = ClStatus({"hbparameter", "-pdeadtime"}, Answer(StatusOf(ClusterState{})),
                      CapturedStamp("node01"));
  EXPECT_EQ(p.out, "6\n");
}

TEST(ClStatusTest, MissingOptionValueIsGetoptsMessageAndAParameterError) {
  Output o =
      ClStatus({"hbparameter", "-p"}, Answer(StatusOf(ClusterState{})), CapturedStamp("node01"));
  EXPECT_EQ(o.err,
            "hbparameter: option requires an argument -- 'p'\n"
            "MMM DD HH:MM:SS node01 cl_status: [PID]: ERROR: Error: getopt returnedcharacter "
            "code ?.\n");
  EXPECT_EQ(o.exit_code, kClParameterError);
  Output joined =
      ClStatus({"listnodes", "-np"}, Answer(StatusOf(ClusterState{})), CapturedStamp("node01"));
  EXPECT_EQ(joined.out, "pgrp\n192.0.2.126\nnode02\nnode01\n");
}

TEST(ClStatusTest, SubSecondTimingIsPrintedInMillisecondsAsHaCfTakesIt) {
  v1::GetStatusResponse st = StatusOf(ClusterState{});
  *st.mutable_keepalive() = TimeUtil::MillisecondsToDuration(500);
  Output o = ClStatus({"hbparameter", "-p", "keepalive"}, Answer(st), CapturedStamp("node01"));
  EXPECT_EQ(o.out, "500ms\n");
}

TEST(ClStatusTest, NodeNotHeardYetIsDeadAndALocalNodeAloneHasNoLinks) {
  v1::GetStatusResponse st;
  st.set_local_node("node01");
  st.set_in_initdead(true);
  v1::NodeStatus* me = st.add_nodes();
  me->set_name("node01");
  me->set_local(true);
  me->set_state(v1::NODE_STATE_UP);
  v1::NodeStatus* peer = st.add_nodes();
  peer->set_name("node02");
  peer->set_state(v1::NODE_STATE_UNKNOWN);
  std::vector<HbNode> nodes = HeartbeatNodes(st);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "node02");
  EXPECT_EQ(nodes[0].status, "dead");
  EXPECT_EQ(nodes[1].status, "active");
  EXPECT_TRUE(nodes[1].links.empty());
}

// ---- rscstatus ----

v1::GetStatusResponse WithWebState(v1::GroupState state, const std::string& holder,
                                   const std::string& target) {
  v1::GetStatusResponse st = StatusOf(ClusterState{});
  v1::GroupStatus* web = st.mutable_groups(0);
  web->set_state(state);
  web->set_holder(holder);
  web->set_target(target);
  return st;
}

TEST(ResourceStateTest, AnyGroupMovingIsTransition) {
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_STOPPING, "node01", "node02")),
            "transition");
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_STARTING, "node02", "node02")),
            "transition");
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_PROBING, "node01", "node01")), "transition");
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_BLOCKED, "node01", "")), "transition");
  // Placement wants it elsewhere, nobody started moving it yet.
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_RUNNING, "node01", "node02")), "transition");
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_STOPPED, "", "node02")), "transition");
}

TEST(ResourceStateTest, GroupNobodyMayRunIsSettledAndHeldByNone) {
  v1::GetStatusResponse st = WithWebState(v1::GROUP_STATE_STOPPED, "", "");
  EXPECT_EQ(ResourceState(st), "none");
}

// The captured hb_standby / hb_takeover sequence (standby.txt), replayed on
// a model of what the agent does with each request: after every command,
// both nodes' rscstatus must read as Heartbeat's did.
struct Placement {
  std::map<std::string, std::string> holder = {{"web", "node01"}, {"db", "node02"}};
  std::string Preferred(const std::string& group) const {
    return group == "web" ? "node01" : "node02";
  }
  static std::string Other(const std::string& node) {
    return node == "node01" ? "node02" : "node01";
  }
  // The agent's Standby / Takeover on a two-node cluster.
  void Apply(HbTool tool, v1::StandbyScope scope, const std::string& node) {
    for (auto& [group, holder_node] : holder) {
      const bool preferred_here = Preferred(group) == node;
      const bool in_scope = scope == v1::STANDBY_SCOPE_ALL ||
                            (scope == v1::STANDBY_SCOPE_LOCAL && preferred_here) ||
                            (scope != v1::STANDBY_SCOPE_LOCAL && !preferred_here);
      if (!in_scope) continue;
      if (tool == HbTool::kStandby && holder_node == node) holder_node = Other(node);
      if (tool == HbTool::kTakeover && holder_node != node) holder_node = node;
    }
  }
  std::string RscStatusOn(const std::string& node) const {
    ClusterState c;
    c.local = node;
    c.web_holder = holder.at("web");
    c.db_holder = holder.at("db");
    return ResourceState(StatusOf(c)) + "\n";
  }
};

TEST(ResourceStateTest, EveryCapturedStandbyAndTakeoverEndsAsInHeartbeat) {
  Placement model;
  std::vector<Captured> cases = ReadCaptured("standby");
  int steps = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Captured& c = cases[i];
    if (!absl::StartsWith(c.command, "hb_")) continue;
    std::vector<std::string> words = absl::StrSplit(c.command, ' ');
    const HbTool tool = words[0] == "hb_standby" ? HbTool::kStandby : HbTool::kTakeover;
    auto parsed = ParseHbArgs(tool, words[0], {words.begin() + 1, words.end()});
    ASSERT_TRUE(std::holds_alternative<HbRequest>(parsed)) << c.command;
    model.Apply(tool, std::get<HbRequest>(parsed).scope, c.node);
    // The last rscstatus of each node before the next command: settled.
    std::map<std::string, std::string> settled;
    for (size_t j = i + 1; j < cases.size() && !absl::StartsWith(cases[j].command, "hb_"); ++j) {
      if (cases[j].command == "cl_status rscstatus") settled[cases[j].node] = cases[j].out;
    }
    for (const auto& [node, word] : settled) {
      EXPECT_EQ(model.RscStatusOn(node), word) << "after " << c.node << ": " << c.command;
    }
    ++steps;
  }
  EXPECT_GE(steps, 10);
}

TEST(ResourceStateTest, RightAfterAStandbyBothNodesSayTransitionAsHeartbeatDid) {
  std::vector<Captured> cases = ReadCaptured("standby");
  ASSERT_GE(cases.size(), 3u);
  ASSERT_EQ(cases[0].command, "hb_standby");
  EXPECT_EQ(cases[1].out, "transition\n");
  EXPECT_EQ(cases[2].out, "transition\n");
  EXPECT_EQ(ResourceState(WithWebState(v1::GROUP_STATE_STOPPING, "node01", "node02")) + "\n",
            cases[1].out);
}

// ---- hb_standby / hb_takeover arguments ----

TEST(HbArgsTest, BadArgumentsGetHeartbeatsUsageWithExitTwo) {
  int compared = 0;
  for (const Captured& c : ReadCaptured("usage")) {
    std::vector<std::string> words = absl::StrSplit(c.command, ' ');
    const HbTool tool = words[0] == "hb_standby" ? HbTool::kStandby : HbTool::kTakeover;
    auto parsed = ParseHbArgs(tool, words[0], {words.begin() + 1, words.end()});
    ASSERT_TRUE(std::holds_alternative<Output>(parsed)) << c.command;
    const Output& o = std::get<Output>(parsed);
    EXPECT_EQ(o.out, c.out) << c.command;
    EXPECT_EQ(o.err, c.err) << c.command;
    // Heartbeat exits 1; the drop-ins use the usage status of every hacli command.
    EXPECT_EQ(c.exit_code, 1) << c.command;
    EXPECT_EQ(o.exit_code, kHbUsage) << c.command;
    ++compared;
  }
  EXPECT_EQ(compared, 6);
}

TEST(HbArgsTest, ScopesMapToTheAgentsScopes) {
  auto scope = [](HbTool tool, std::vector<std::string> args) {
    auto parsed = ParseHbArgs(tool, "hb", args);
    EXPECT_TRUE(std::holds_alternative<HbRequest>(parsed));
    return std::get<HbRequest>(parsed).scope;
  };
  EXPECT_EQ(scope(HbTool::kStandby, {}), v1::STANDBY_SCOPE_ALL);
  EXPECT_EQ(scope(HbTool::kStandby, {"local"}), v1::STANDBY_SCOPE_LOCAL);
  EXPECT_EQ(scope(HbTool::kStandby, {"foreign"}), v1::STANDBY_SCOPE_FOREIGN);
  EXPECT_EQ(scope(HbTool::kStandby, {"failback"}), v1::STANDBY_SCOPE_FAILBACK);
  EXPECT_EQ(scope(HbTool::kTakeover, {}), v1::STANDBY_SCOPE_ALL);
  EXPECT_EQ(scope(HbTool::kTakeover, {"local"}), v1::STANDBY_SCOPE_LOCAL);
  EXPECT_EQ(scope(HbTool::kTakeover, {"foreign"}), v1::STANDBY_SCOPE_FOREIGN);
  EXPECT_EQ(scope(HbTool::kTakeover, {"failback"}), v1::STANDBY_SCOPE_ALL);
}

TEST(HbArgsTest, StandbyLogsHeartbeatsLineWithFailbackAsForeign) {
  int compared = 0;
  for (const Captured& c : ReadCaptured("standby")) {
    if (!absl::StartsWith(c.command, "hb_standby")) continue;
    std::vector<std::string> words = absl::StrSplit(c.command, ' ');
    auto parsed = ParseHbArgs(HbTool::kStandby, words[0], {words.begin() + 1, words.end()});
    ASSERT_TRUE(std::holds_alternative<HbRequest>(parsed)) << c.command;
    EXPECT_EQ(GoingStandbyLine(std::get<HbRequest>(parsed), "MMM DD HH:MM:SS"), c.err) << c.command;
    ++compared;
  }
  EXPECT_GE(compared, 5);
}

}  // namespace
}  // namespace hacluster::cli::heartbeat
