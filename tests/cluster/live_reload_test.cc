// Live reconfiguration of a running group, with two real agents on
// loopback and real OCF Dummy agents (Debian's resource-agents): a SIGHUP
// that adds a resource to the running group starts just that one, one that
// changes a resource restarts just that one, one that removes a resource
// stops just that one; the group stays on node01 and is never stopped.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/agent.pb.h"
#include "tests/cluster/api_cluster.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The inode of `path`, 0 when it does not exist.
ino_t InodeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class LiveReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiClusterOptions o;
    o.keepalive = "50ms";
    o.deadtime = "500ms";
    o.warntime = "250ms";
    absl::Status s = cluster_.Start(o);
    ASSERT_TRUE(s.ok()) << s;
    recorder_ = std::make_unique<EventRecorder>(cluster_.Socket("node01"));
    ASSERT_TRUE(harness::WaitFor([&] { return recorder_->connected(); }, absl::Seconds(5)));
    spec_ = Slurp(cluster_.SpecPath());
    ASSERT_NE(spec_.find("config_version: 1\n"), std::string::npos);
  }

  // Writes `spec` as the next version and sends SIGHUP to both agents;
  // waits until node01 runs that version.
  void Reload(const std::string& spec) {
    ++version_;
    spec_ = absl::StrReplaceAll(
        spec, {{absl::StrCat("config_version: ", version_ - 1, "\n"),
                absl::StrCat("config_version: ", version_, "\n")}});
    std::ofstream(cluster_.SpecPath(), std::ios::trunc) << spec_;
    for (const char* node : {"node01", "node02"}) {
      ASSERT_TRUE(cluster_.Agent(node).Kill(SIGHUP).ok());
    }
    AgentClient c(cluster_.Socket("node01"));
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          auto st = c.Status();
          return st.ok() && st->config_version() == static_cast<uint64_t>(version_);
        },
        absl::Seconds(10)))
        << "node01 never ran version " << version_;
  }

  // Waits until svc runs on node01 with `resources` resources.
  void WaitRunning(int resources) {
    AgentClient c(cluster_.Socket("node01"));
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          auto st = c.Status();
          return st.ok() && st->groups_size() == 1 && st->groups(0).holder() == "node01" &&
                 st->groups(0).state() == v1::GROUP_STATE_RUNNING &&
                 st->groups(0).resources_size() == resources;
        },
        absl::Seconds(10)));
  }

  // The (op, resource) of every resource operation node01 reported after
  // event index `from`, monitors left out.
  std::vector<std::string> OpsSince(size_t from) {
    std::vector<std::string> out;
    std::vector<v1::Event> ev = recorder_->Events();
    for (size_t i = from; i < ev.size(); ++i) {
      if (ev[i].kind() != v1::EVENT_KIND_RESOURCE_OP) continue;
      if (ev[i].op() == v1::RESOURCE_OP_MONITOR) continue;
      out.push_back(absl::StrCat(ev[i].op() == v1::RESOURCE_OP_START  ? "start "
                                 : ev[i].op() == v1::RESOURCE_OP_STOP ? "stop "
                                                                      : "other ",
                                 ev[i].resource()));
    }
    return out;
  }
  // OpsSince(from), once it has as many as `want` (the event stream may
  // lag behind the state files; bounded wait), compared with `want`.
  void ExpectOps(size_t from, const std::vector<std::string>& want) {
    harness::WaitFor([&] { return OpsSince(from).size() >= want.size(); }, absl::Seconds(10));
    EXPECT_EQ(OpsSince(from), want);
  }
  int GroupStops(size_t from) {
    int n = 0;
    std::vector<v1::Event> ev = recorder_->Events();
    for (size_t i = from; i < ev.size(); ++i) {
      n += ev[i].kind() == v1::EVENT_KIND_GROUP_STOPPING ||
           ev[i].kind() == v1::EVENT_KIND_GROUP_STOPPED;
    }
    return n;
  }

  ApiCluster cluster_;
  std::unique_ptr<EventRecorder> recorder_;
  std::string spec_;
  int version_ = 1;
};

TEST_F(LiveReloadTest, AddChangeAndRemoveBounceOnlyTheResourceTheyTouch) {
  const std::string dummy = cluster_.File("dummy.state");
  const ino_t dummy_inode = InodeOf(dummy);
  ASSERT_NE(dummy_inode, 0u) << "svc's Dummy is not running";

  // Add: billing starts; dummy is not touched.
  const std::string billing = cluster_.File("billing.state");
  size_t from = recorder_->Events().size();
  Reload(spec_ + absl::StrCat("      - ocf:\n          type: Dummy\n          params: {state: ",
                              billing, "}\n        name: billing\n"));
  WaitRunning(2);
  ASSERT_TRUE(harness::WaitFor([&] { return InodeOf(billing) != 0; }, absl::Seconds(10)));
  ExpectOps(from, {"start billing"});
  EXPECT_EQ(InodeOf(dummy), dummy_inode);

  // Change billing's parameters: billing alone restarts with them.
  const std::string billing2 = cluster_.File("billing2.state");
  from = recorder_->Events().size();
  Reload(absl::StrReplaceAll(spec_, {{billing, billing2}}));
  ASSERT_TRUE(harness::WaitFor([&] { return InodeOf(billing2) != 0 && InodeOf(billing) == 0; },
                               absl::Seconds(10)));
  WaitRunning(2);
  ExpectOps(from, {"stop billing", "start billing"});
  EXPECT_EQ(InodeOf(dummy), dummy_inode);

  // Remove dummy: it alone stops; billing runs on.
  const ino_t billing_inode = InodeOf(billing2);
  from = recorder_->Events().size();
  const std::string dummy_yaml =
      absl::StrCat("      - ocf:\n          type: Dummy\n          params: {state: ", dummy,
                   "}\n        name: dummy\n");
  ASSERT_NE(spec_.find(dummy_yaml), std::string::npos) << spec_;
  Reload(absl::StrReplaceAll(spec_, {{dummy_yaml, ""}}));
  ASSERT_TRUE(harness::WaitFor([&] { return InodeOf(dummy) == 0; }, absl::Seconds(10)));
  WaitRunning(1);
  ExpectOps(from, {"stop dummy"});
  EXPECT_EQ(InodeOf(billing2), billing_inode);
  // The group itself never stopped, and node02 never took it.
  EXPECT_EQ(GroupStops(0), 0);
}

TEST_F(LiveReloadTest, ASpecEditedByHandOnOneNodeShowsAsDriftOnBoth) {
  EventRecorder node02_events(cluster_.Socket("node02"));
  ASSERT_TRUE(harness::WaitFor([&] { return node02_events.connected(); }, absl::Seconds(5)));
  AgentClient c1(cluster_.Socket("node01")), c2(cluster_.Socket("node02"));
  auto st = c2.Status();
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->config_drift());
  // The same version, one setting changed, on node01 alone.
  const std::string edited = spec_ + "logging:\n  syslog_facility: local3\n";
  std::ofstream(cluster_.SpecPath(), std::ios::trunc) << edited;
  ASSERT_TRUE(cluster_.Agent("node01").Kill(SIGHUP).ok());
  auto drifting = [](AgentClient& c, const std::string& peer) {
    auto s = c.Status();
    if (!s.ok() || !s->config_drift()) return false;
    for (const auto& n : s->nodes()) {
      if (n.name() == peer) return n.config_drift();
    }
    return false;
  };
  EXPECT_TRUE(harness::WaitFor([&] { return drifting(c2, "node01"); }, absl::Seconds(10)));
  EXPECT_TRUE(harness::WaitFor([&] { return drifting(c1, "node02"); }, absl::Seconds(10)));
  EXPECT_TRUE(node02_events.WaitFor(v1::EVENT_KIND_CONFIG_DRIFT, "node01", absl::Seconds(10)));
  // node02 takes the same file: the drift is over on both.
  ASSERT_TRUE(cluster_.Agent("node02").Kill(SIGHUP).ok());
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        auto a = c1.Status(), b = c2.Status();
        return a.ok() && b.ok() && !a->config_drift() && !b->config_drift() &&
               a->config_hash() == b->config_hash();
      },
      absl::Seconds(10)));
}

// One apply step on `node` with the admin certificate.
v1::OperationResponse Prepare(ApiCluster& cluster, const std::string& node,
                              const std::string& yaml, uint64_t expect,
                              absl::Duration hold = absl::Seconds(10)) {
  auto stub = cluster.TlsStub(node, "admin");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::PrepareApplyRequest req;
  req.set_spec_yaml(yaml);
  req.set_expect_version(expect);
  req.mutable_hold()->set_seconds(absl::ToInt64Seconds(hold));
  req.mutable_hold()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(hold - absl::Seconds(absl::ToInt64Seconds(hold)))));
  v1::OperationResponse resp;
  grpc::Status s = stub->PrepareApply(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}
v1::OperationResponse Step(ApiCluster& cluster, const std::string& node, uint64_t id,
                           bool commit) {
  auto stub = cluster.TlsStub(node, "admin");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ApplyStepRequest req;
  req.set_apply_id(id);
  v1::OperationResponse resp;
  grpc::Status s =
      commit ? stub->CommitApply(&ctx, req, &resp) : stub->AbortApply(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp;
}

TEST_F(LiveReloadTest, ApplyInTwoPhasesSwitchesBothNodesAndRefusesStaleVersions) {
  const std::string billing = cluster_.File("billing.state");
  const std::string v2 = absl::StrReplaceAll(
      spec_ + absl::StrCat("      - ocf:\n          type: Dummy\n          params: {state: ",
                           billing, "}\n        name: billing\n"),
      {{"config_version: 1\n", "config_version: 2\n"}});
  // Prepare on both: nothing changes yet.
  v1::OperationResponse p1 = Prepare(cluster_, "node01", v2, 1);
  v1::OperationResponse p2 = Prepare(cluster_, "node02", v2, 1);
  ASSERT_EQ(p1.state(), v1::OPERATION_STATE_DONE) << p1.message();
  ASSERT_EQ(p2.state(), v1::OPERATION_STATE_DONE) << p2.message();
  EXPECT_EQ(p1.config_version(), 1u);
  EXPECT_EQ(InodeOf(billing), 0u);
  // A second prepare while one is held is refused.
  v1::OperationResponse again = Prepare(cluster_, "node01", v2, 1);
  EXPECT_EQ(again.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_NE(again.message().find("is prepared here"), std::string::npos) << again.message();
  // Commit both: version 2 everywhere, billing started, the spec file is v2.
  v1::OperationResponse c1 = Step(cluster_, "node01", p1.operation_id(), true);
  v1::OperationResponse c2 = Step(cluster_, "node02", p2.operation_id(), true);
  ASSERT_EQ(c1.state(), v1::OPERATION_STATE_DONE) << c1.message();
  ASSERT_EQ(c2.state(), v1::OPERATION_STATE_DONE) << c2.message();
  EXPECT_EQ(c1.config_version(), 2u);
  EXPECT_EQ(c2.config_version(), 2u);
  WaitRunning(2);
  ASSERT_TRUE(harness::WaitFor([&] { return InodeOf(billing) != 0; }, absl::Seconds(10)));
  EXPECT_EQ(Slurp(cluster_.SpecPath()), v2);

  // Stale: the caller expected version 1, or brings version 2 again.
  v1::OperationResponse stale = Prepare(cluster_, "node01", v2, 1);
  EXPECT_EQ(stale.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_NE(stale.message().find("runs config version 2, not the expected 1"), std::string::npos)
      << stale.message();
  stale = Prepare(cluster_, "node01", v2, 0);
  EXPECT_EQ(stale.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_NE(stale.message().find("must be 3"), std::string::npos) << stale.message();

  // Aborted, or held too long: dropped, nothing changes.
  const std::string v3 =
      absl::StrReplaceAll(v2, {{"config_version: 2\n", "config_version: 3\n"}});
  v1::OperationResponse p = Prepare(cluster_, "node01", v3, 2);
  ASSERT_EQ(p.state(), v1::OPERATION_STATE_DONE) << p.message();
  EXPECT_EQ(Step(cluster_, "node01", p.operation_id(), false).state(),
            v1::OPERATION_STATE_DONE);
  EXPECT_EQ(Step(cluster_, "node01", p.operation_id(), true).state(),
            v1::OPERATION_STATE_FAILED);
  p = Prepare(cluster_, "node01", v3, 2, absl::Milliseconds(300));
  ASSERT_EQ(p.state(), v1::OPERATION_STATE_DONE) << p.message();
  EventRecorder events(cluster_.Socket("node01"));
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        for (const auto& e : events.Events()) {
          if (e.kind() == v1::EVENT_KIND_CONFIG_REJECTED &&
              e.reason().find("dropped (not committed within its hold)") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)));
  v1::OperationResponse late = Step(cluster_, "node01", p.operation_id(), true);
  EXPECT_EQ(late.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_EQ(late.config_version(), 2u);
  EXPECT_EQ(Slurp(cluster_.SpecPath()), v2);
}

TEST_F(LiveReloadTest, HacliApplyReachesEveryLiveNodeOrNone) {
  const std::string certs = cluster_.CertDir();
  auto hacli = [&](const std::string& file, std::vector<std::string> more = {}) {
    std::vector<std::string> argv = {HacliPath(),          "--ca",  certs + "/ca.crt",
                                     "--cert",             certs + "/admin.crt",
                                     "--key",              certs + "/admin.key",
                                     "apply",              "-f",    file};
    argv.insert(argv.end(), more.begin(), more.end());
    auto r = harness::RunProcess(argv);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  };
  auto version_of = [&](const std::string& node) -> uint64_t {
    AgentClient c(cluster_.Socket(node));
    auto st = c.Status();
    return st.ok() ? st->config_version() : 0;
  };
  const std::string billing = cluster_.File("billing.state");
  const std::string v2 = absl::StrReplaceAll(
      spec_ + absl::StrCat("      - ocf:\n          type: Dummy\n          params: {state: ",
                           billing, "}\n        name: billing\n"),
      {{"config_version: 1\n", "config_version: 2\n"}});
  const std::string v2_file = cluster_.File("v2.yaml");
  std::ofstream(v2_file) << v2;

  // diff first: what would happen on each node, nothing changed.
  auto diff = harness::RunProcess({HacliPath(), "--ca", certs + "/ca.crt", "--cert",
                                   certs + "/reader.crt", "--key", certs + "/reader.key", "diff",
                                   "-f", v2_file});
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->status.code, 0) << diff->output;
  EXPECT_NE(diff->output.find("node01 (runs config version 1):\n  svc: start billing\n"),
            std::string::npos)
      << diff->output;
  EXPECT_NE(diff->output.find("node02 (runs config version 1):\n  svc: not running here"),
            std::string::npos)
      << diff->output;
  EXPECT_EQ(version_of("node01"), 1u);

  harness::RunResult r = hacli(v2_file);
  EXPECT_EQ(r.status.code, 0) << r.output;
  EXPECT_NE(r.output.find("applied config version 2 to node01, node02"), std::string::npos)
      << r.output;
  EXPECT_EQ(version_of("node01"), 2u);
  EXPECT_EQ(version_of("node02"), 2u);
  WaitRunning(2);

  // The same file again: every node refuses to prepare it; nothing changes.
  r = hacli(v2_file);
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_NE(r.output.find("must be 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("aborted"), std::string::npos) << r.output;
  // A stale expectation is refused too.
  const std::string v3 =
      absl::StrReplaceAll(v2, {{"config_version: 2\n", "config_version: 3\n"}});
  const std::string v3_file = cluster_.File("v3.yaml");
  std::ofstream(v3_file) << v3;
  r = hacli(v3_file, {"--expect-version", "1"});
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_NE(r.output.find("runs config version 2, not the expected 1"), std::string::npos)
      << r.output;
  EXPECT_EQ(version_of("node01"), 2u);
  EXPECT_EQ(version_of("node02"), 2u);
  // An invalid file is never sent.
  const std::string bad_file = cluster_.File("bad.yaml");
  std::ofstream(bad_file) << v3 << "bogus_key: 1\n";
  r = hacli(bad_file);
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_NE(r.output.find("nothing was sent"), std::string::npos) << r.output;

  // node02 dies: it is skipped, node01 takes version 3.
  ASSERT_TRUE(cluster_.Agent("node02").Kill(SIGKILL).ok());
  AgentClient c1(cluster_.Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return c1.StateOf("node02") == v1::NODE_STATE_DEAD; },
                               absl::Seconds(10)));
  r = hacli(v3_file, {"--expect-version", "2"});
  EXPECT_EQ(r.status.code, 0) << r.output;
  EXPECT_NE(r.output.find("node02: skipped: dead in the cluster's membership"), std::string::npos)
      << r.output;
  EXPECT_EQ(version_of("node01"), 3u);
}

// Each node with its own spec file, as on real machines: node02 is down
// while v2 (svc now prefers node02, plus a second resource) is applied.
// When it returns it fetches v2 from node01 over the TLS API, makes it its
// spec file, and starts nothing before it runs v2.
TEST(CatchUpTest, ANodeDownDuringAnApplyCatchesUpBeforeRunningAnything) {
  ApiCluster cluster;
  ApiClusterOptions o;
  o.keepalive = "50ms";
  o.deadtime = "500ms";
  o.warntime = "250ms";
  o.spec_per_node = true;
  absl::Status s = cluster.Start(o);
  ASSERT_TRUE(s.ok()) << s;
  const std::string v1_text = Slurp(cluster.SpecPathOf("node02"));
  ASSERT_TRUE(cluster.Agent("node02").Kill(SIGKILL).ok());
  (void)cluster.Agent("node02").Wait(absl::Seconds(5));
  AgentClient c1(cluster.Socket("node01"));
  ASSERT_TRUE(harness::WaitFor([&] { return c1.StateOf("node02") == v1::NODE_STATE_DEAD; },
                               absl::Seconds(10)));

  std::string v2 = absl::StrReplaceAll(
      v1_text, {{"config_version: 1\n", "config_version: 2\n"},
                {"preferred_node: node01", "preferred_node: node02"}});
  v2 += absl::StrCat("      - ocf:\n          type: Dummy\n          params: {state: ",
                     cluster.File("extra.state"), "}\n        name: extra\n");
  const std::string v2_file = cluster.File("v2.yaml");
  std::ofstream(v2_file) << v2;
  const std::string certs = cluster.CertDir();
  auto r = harness::RunProcess({HacliPath(), "--ca", certs + "/ca.crt", "--cert",
                                certs + "/admin.crt", "--key", certs + "/admin.key", "apply", "-f",
                                v2_file});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status.code, 0) << r->output;
  EXPECT_NE(r->output.find("node02: skipped: dead in the cluster's membership"),
            std::string::npos)
      << r->output;
  ASSERT_EQ(c1.Status()->config_version(), 2u);
  EXPECT_EQ(Slurp(cluster.SpecPathOf("node02")), v1_text);  // untouched while it was down

  ASSERT_TRUE(cluster.StartAgent("node02").ok());
  AgentClient c2(cluster.Socket("node02"));
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = c2.Status();
        return st.ok() && st->config_version() == 2u;
      },
      absl::Seconds(20)))
      << ReadFile(cluster.Agent("node02").log_path());
  // svc follows its new preferred node, node02, once it runs v2.
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = c2.Status();
        return st.ok() && st->groups_size() == 1 && st->groups(0).holder() == "node02" &&
               st->groups(0).state() == v1::GROUP_STATE_RUNNING;
      },
      absl::Seconds(20)))
      << ReadFile(cluster.Agent("node02").log_path());
  // The status that says so may be the one published just before the
  // catch-up ended: the held reason clears with the next one.
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        auto st = c2.Status();
        return st.ok() && st->groups_held_reason().empty();
      },
      absl::Seconds(5)))
      << c2.Status()->groups_held_reason();
  EXPECT_NE(Slurp(cluster.SpecPathOf("node02")).find("config_version: 2"), std::string::npos);
  // The order in node02's own record: it said it was catching up, then
  // switched to v2, and only then started svc.
  EventRecorder rec(cluster.Socket("node02"));
  ASSERT_TRUE(harness::WaitFor([&] { return rec.connected(); }, absl::Seconds(5)));
  ASSERT_TRUE(rec.WaitFor(v1::EVENT_KIND_GROUP_RUNNING, "", absl::Seconds(10)));
  int catching = -1, reloaded = -1, starting = -1;
  const std::vector<v1::Event> events = rec.Events();
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    const v1::Event& e = events[i];
    if (catching < 0 && e.kind() == v1::EVENT_KIND_CONFIG_DRIFT &&
        e.reason().find("catching up") != std::string::npos) {
      catching = i;
    }
    if (reloaded < 0 && e.kind() == v1::EVENT_KIND_CONFIG_RELOADED &&
        e.reason().find("caught up from node01") != std::string::npos) {
      reloaded = i;
    }
    // Both nodes' Dummy share one state file on this one machine, so
    // node02's start-up probe may find node01's instance running and adopt
    // svc before node01 has let go of it; catching up then reshapes that
    // running group (its GROUP_STARTING for `extra` comes with the reload).
    // What must not happen is a start of svc itself before the reload.
    if (starting < 0 && e.kind() == v1::EVENT_KIND_GROUP_STARTING &&
        e.reason().find("reconfiguring running group") == std::string::npos) {
      starting = i;
    }
  }
  std::string record;
  for (const v1::Event& e : events) record += e.reason() + "\n";
  record += "---- node01's log\n" + ReadFile(cluster.Agent("node01").log_path());
  record += "---- node02's log\n" + ReadFile(cluster.Agent("node02").log_path());
  EXPECT_GE(catching, 0) << record;
  EXPECT_GT(reloaded, catching) << record;
  if (starting >= 0) {
    EXPECT_GT(starting, reloaded) << record;
  } else {
    // No start at all: svc runs on node02 because it adopted it.
    EXPECT_NE(record.find("adopted without a restart"), std::string::npos) << record;
  }
}

}  // namespace
}  // namespace hacluster::testing
