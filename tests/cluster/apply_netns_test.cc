// Apply to a running three-node cluster in network namespaces: each node
// with its own spec file and its own /etc/init.d, the group (a VIP and the
// LSB probe-service) on node01, a client probing the VIP every 2 ms, and
// hacli run from the client's namespace over mutual TLS.
//   - v1 -> v2 adds a resource to the running group: the client sees no gap
//     beyond the calm one, and the service is not started again;
//   - v2 -> v3 names an init script node03 lacks: node03 refuses, every
//     node stays on v2, and node03's reason is shown;
//   - the same version again (stale) is refused;
//   - a client that dies between prepare and commit: with no commit sent,
//     every node drops the spec within deadtime; with one node committed,
//     the others see it run there and commit too;
//   - node03 down during an apply: when it returns it fetches the spec from
//     its peers and starts nothing until it has it.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/failover_fixture.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

class ApplyNetnsTest : public FailoverTest {
 protected:
  void SetUp() override {
    FailoverTest::SetUp();
    if (IsSkipped()) return;
    certs_ = WriteCerts(3);
  }

  // `text` as the next spec file to apply (next to the authkey it names).
  std::string SpecFile(const std::string& name, const std::string& text) {
    return dir_.Write(name, text);
  }

  // hacli apply -f FILE from the client's namespace, as admin.
  harness::RunResult Apply(const std::string& file) {
    auto r = lab().Run("client",
                       {HacliPath(), "--ca", certs_ + "/ca.crt", "--cert", certs_ + "/admin.crt",
                        "--key", certs_ + "/admin.key", "apply", "-f", file},
                       absl::Seconds(60));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  }

  uint64_t VersionOf(const std::string& node) {
    auto st = Client(node).Status();
    return st.ok() ? st->config_version() : 0;
  }

  // Every running node reports `version` (bounded wait).
  bool AllOn(uint64_t version, absl::Duration deadline,
             const std::vector<std::string>& nodes = {"node01", "node02", "node03"}) {
    return harness::WaitFor(
        [&] {
          for (const std::string& n : nodes) {
            if (VersionOf(n) != version) return false;
          }
          return true;
        },
        deadline, absl::Milliseconds(10));
  }

  std::unique_ptr<agent::v1::Agent::Stub> Stub(const std::string& node) {
    return agent::v1::Agent::NewStub(grpc::CreateChannel("unix:" + Socket(node),
                                                         grpc::InsecureChannelCredentials()));
  }
  // PrepareApply over the node's Unix socket (root: admin), as hacli does.
  uint64_t Prepare(const std::string& node, const std::string& text, uint64_t expect,
                   absl::Duration hold) {
    agent::v1::PrepareApplyRequest req;
    req.set_spec_yaml(text);
    req.set_expect_version(expect);
    req.mutable_hold()->set_seconds(absl::ToInt64Seconds(hold));
    req.mutable_hold()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(hold % absl::Seconds(1))));
    agent::v1::OperationResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status s = Stub(node)->PrepareApply(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.state(), agent::v1::OPERATION_STATE_DONE) << node << ": " << resp.message();
    return resp.operation_id();
  }

  // An apply resolved on a node: switched to (committed, or caught up) or
  // its prepared spec dropped.
  static std::function<bool(const agent::v1::Event&)> Resolved() {
    return [](const agent::v1::Event& e) {
      return e.kind() == agent::v1::EVENT_KIND_CONFIG_RELOADED ||
             (e.kind() == agent::v1::EVENT_KIND_CONFIG_REJECTED &&
              absl::StrContains(e.reason(), "dropped"));
    };
  }

  std::string certs_;
};

TEST_F(ApplyNetnsTest, ApplyToARunningThreeNodeCluster) {
  BuildLab("apply3", /*ping_node=*/false, /*nodes=*/3);
  ASSERT_NE(StartSampler(), nullptr);
  ClusterSetup setup = GroupSetup(VipAndServiceResources());
  setup.extra_yaml = ApiYaml({":7443"}, certs_);
  setup.start_order = {"node01", "node02", "node03"};
  setup.spec_per_node = true;
  StartCluster(setup);
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  const std::string v1_text = ReadFile(spec_);
  const absl::Duration deadtime = absl::Milliseconds(500);  // WriteSpec's
  const absl::Duration keepalive = absl::Milliseconds(100);

  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const CalmWindow calm = MeasureCalmWindow(*probe, 250, "before_apply");
  auto starts = [&] {
    return EventsOf("node01", ResourceOp(agent::v1::RESOURCE_OP_START, true)).size();
  };
  const size_t service_starts = starts();
  ASSERT_EQ(service_starts, 1u);

  // v1 -> v2: a resource added to the running group.
  const std::string extra_state = dir_.File("extra.state");
  const std::string v2 = absl::StrReplaceAll(
      v1_text, {{"config_version: 1\n", "config_version: 2\n"},
                {"auto_failback:", absl::StrCat("      - ocf:\n          type: Dummy\n"
                                                "          params: {state: ",
                                                extra_state, "}\n        name: extra\n"
                                                "auto_failback:")}});
  const MonoTime before_v2 = MonotonicNow();
  harness::RunResult r = Apply(SpecFile("v2.yaml", v2));
  EXPECT_EQ(r.status.code, 0) << r.output;
  ASSERT_TRUE(AllOn(2, absl::Seconds(10))) << r.output << Diagnose();
  ASSERT_TRUE(harness::WaitFor([&] { return std::filesystem::exists(extra_state); },
                               absl::Seconds(10)));
  LetProbeRun(*probe, 50);
  ExpectGapsAsCalm(*probe, calm, before_v2, MonotonicNow(), "apply_v2");
  EXPECT_EQ(starts(), service_starts) << "the service was started again";
  EXPECT_TRUE(EventsOf("node01", ResourceOp(agent::v1::RESOURCE_OP_STOP, true), before_v2).empty())
      << "the service was stopped";
  ExpectHolders({"node01"});
  for (const std::string& n : Nodes()) {
    EXPECT_NE(ReadFile(SpecOf(n)).find("config_version: 2\n"), std::string::npos) << n;
  }

  // v2 -> v3 names an init script that node03 lacks: refused everywhere.
  for (const char* n : {"node01", "node02"}) {
    std::ofstream(InitDir(n) + "/audit-svc") << "#!/bin/sh\nexit 0\n";
    chmod((InitDir(n) + "/audit-svc").c_str(), 0755);
  }
  const std::string v3 = absl::StrReplaceAll(
      v2, {{"config_version: 2\n", "config_version: 3\n"},
           {"auto_failback:", "      - lsb: {name: audit-svc}\n        name: audit\n"
                              "auto_failback:"}});
  r = Apply(SpecFile("v3.yaml", v3));
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_NE(r.output.find("node03: refused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("audit-svc"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("aborted"), std::string::npos) << r.output;
  for (const std::string& n : Nodes()) EXPECT_EQ(VersionOf(n), 2u) << n;

  // A stale version (v2 again) is refused.
  r = Apply(SpecFile("v2-again.yaml", v2));
  EXPECT_EQ(r.status.code, 1) << r.output;
  EXPECT_NE(r.output.find("must be 3"), std::string::npos) << r.output;
  for (const std::string& n : Nodes()) EXPECT_EQ(VersionOf(n), 2u) << n;

  // A client dies after every node prepared and before any commit: each
  // drops the spec when its hold (deadtime, as hacli asks) passes.
  const std::string v3ok = absl::StrReplaceAll(v2, {{"config_version: 2\n",
                                                     "config_version: 3\n"}});
  const MonoTime before_prepare = MonotonicNow();
  for (const std::string& n : Nodes()) Prepare(n, v3ok, 2, deadtime);
  const MonoTime prepared = MonotonicNow();
  // When each agent dropped it is read from its own event (stamped by its
  // loop), not from when this test happened to look.
  MonoTime last_drop = before_prepare;
  for (const std::string& n : Nodes()) {
    std::vector<agent::v1::Event> drops;
    EXPECT_TRUE(harness::WaitFor(
        [&] {
          drops = EventsOf(n, Resolved(), before_prepare);
          return !drops.empty();
        },
        absl::Seconds(10)))
        << n << " kept the prepared spec";
    if (drops.empty()) continue;
    EXPECT_EQ(drops[0].kind(), agent::v1::EVENT_KIND_CONFIG_REJECTED) << drops[0].reason();
    last_drop = std::max(last_drop, EventTime(drops[0]));
  }
  std::cout << "all three dropped the uncommitted spec " << Ms(last_drop - prepared)
            << " after the last prepare (deadtime " << Ms(deadtime) << ")\n";
  EXPECT_LE(last_drop - prepared, deadtime + keepalive);
  for (const std::string& n : Nodes()) EXPECT_EQ(VersionOf(n), 2u) << n;

  // It dies after committing node01 only: node02 and node03 see node01 run
  // it and commit it too.
  std::vector<uint64_t> ids;
  for (const std::string& n : Nodes()) ids.push_back(Prepare(n, v3ok, 2, deadtime));
  const MonoTime before_commit = MonotonicNow();
  {
    agent::v1::ApplyStepRequest req;
    req.set_apply_id(ids[0]);
    agent::v1::OperationResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ASSERT_TRUE(Stub("node01")->CommitApply(&ctx, req, &resp).ok());
    ASSERT_EQ(resp.state(), agent::v1::OPERATION_STATE_DONE) << resp.message();
  }
  EXPECT_TRUE(AllOn(3, absl::Seconds(10))) << Diagnose();
  // They committed their own prepared spec (not dropped it and caught up):
  // the first resolution each reports (its event stream may lag its status
  // a little: waited for) is that commit.
  for (const char* n : {"node02", "node03"}) {
    std::vector<agent::v1::Event> reloaded;
    EXPECT_TRUE(harness::WaitFor(
        [&] {
          reloaded = EventsOf(n, Resolved(), before_commit);
          return !reloaded.empty();
        },
        absl::Seconds(10)))
        << n << " reported nothing";
    if (reloaded.empty()) continue;
    EXPECT_EQ(reloaded[0].kind(), agent::v1::EVENT_KIND_CONFIG_RELOADED) << reloaded[0].reason();
    EXPECT_TRUE(absl::StrContains(reloaded[0].reason(), "applied (apply "))
        << n << " did not commit its own prepared spec: " << reloaded[0].reason();
    std::cout << n << " followed node01's commit after "
              << Ms(EventTime(reloaded[0]) - before_commit) << "\n";
    // Before its own hold would have dropped the spec.
    EXPECT_LE(EventTime(reloaded[0]) - before_commit, deadtime);
  }
  EXPECT_EQ(starts(), service_starts);

  // v4 prefers node03 (failback on): the group moves there. Then node03
  // dies (the group fails over) and v5, preferring node01 again, is applied
  // while it is down. node03's own spec file still says v4, under which it
  // would take the group back at once; it catches up with v5 first and so
  // never starts it.
  const std::string v4 = absl::StrReplaceAll(
      v3ok, {{"config_version: 3\n", "config_version: 4\n"},
             {"preferred_node: node01", "preferred_node: node03"}});
  r = Apply(SpecFile("v4.yaml", v4));
  EXPECT_EQ(r.status.code, 0) << r.output;
  ExpectRunningOn("node03");
  if (HasFatalFailure()) return;
  CrashNode("node03");
  ASSERT_TRUE(harness::WaitFor(
      [&] { return Client("node01").StateOf("node03") == agent::v1::NODE_STATE_DEAD; },
      absl::Seconds(10)));
  std::string holder;
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto g = GroupSeenBy("node01");
        if (!g.has_value() || g->state() != agent::v1::GROUP_STATE_RUNNING) return false;
        holder = g->holder();
        return holder == "node01" || holder == "node02";
      },
      absl::Seconds(10)))
      << Diagnose();
  const std::string v5 = absl::StrReplaceAll(
      v4, {{"config_version: 4\n", "config_version: 5\n"},
           {"preferred_node: node03", "preferred_node: node01"}});
  r = Apply(SpecFile("v5.yaml", v5));
  EXPECT_EQ(r.status.code, 0) << r.output;
  EXPECT_NE(r.output.find("node03: skipped"), std::string::npos) << r.output;
  ASSERT_TRUE(AllOn(5, absl::Seconds(10), {"node01", "node02"}));
  ExpectRunningOn("node01");
  EXPECT_NE(ReadFile(SpecOf("node03")).find("config_version: 4\n"), std::string::npos);
  StartAgent("node03");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(AllOn(5, absl::Seconds(20))) << Diagnose();
  EXPECT_NE(ReadFile(SpecOf("node03")).find("config_version: 5\n"), std::string::npos);
  // Its event stream may lag its status a little.
  ASSERT_TRUE(Recorder("node03").WaitFor(agent::v1::EVENT_KIND_CONFIG_RELOADED, "",
                                         absl::Seconds(10)));
  int catching = -1, caught = -1, starting = -1;
  const std::vector<agent::v1::Event> events = Recorder("node03").Events();
  for (int i = 0; i < static_cast<int>(events.size()); ++i) {
    const agent::v1::Event& e = events[i];
    if (catching < 0 && e.kind() == agent::v1::EVENT_KIND_CONFIG_DRIFT &&
        e.reason().find("catching up") != std::string::npos) {
      catching = i;
    }
    if (caught < 0 && e.kind() == agent::v1::EVENT_KIND_CONFIG_RELOADED) caught = i;
    if (starting < 0 && e.kind() == agent::v1::EVENT_KIND_GROUP_STARTING) starting = i;
  }
  EXPECT_GE(catching, 0);
  EXPECT_GT(caught, catching);
  EXPECT_LT(starting, 0) << "node03 started the group";
  ExpectRunningOn("node01");

  // hacli itself killed with SIGKILL as soon as the last node has
  // prepared: whether its commits reached none, some or all of the nodes,
  // within deadtime every node runs one version, v5 or v6, and stays so.
  const std::string v6 = absl::StrReplaceAll(v5, {{"config_version: 5\n",
                                                   "config_version: 6\n"}});
  const std::string v6_file = SpecFile("v6.yaml", v6);
  const MonoTime t0 = MonotonicNow();
  auto hacli = lab().Spawn("client", {HacliPath(), "--ca", certs_ + "/ca.crt", "--cert",
                                      certs_ + "/admin.crt", "--key", certs_ + "/admin.key",
                                      "apply", "-f", v6_file});
  ASSERT_TRUE(hacli.ok()) << hacli.status();
  auto prepared_on = [&](const std::string& node) {
    return !EventsOf(node,
                     [](const agent::v1::Event& e) {
                       return e.kind() == agent::v1::EVENT_KIND_API_CALL &&
                              absl::StartsWith(e.call(), "apply prepare");
                     },
                     t0)
                .empty();
  };
  ASSERT_TRUE(harness::WaitFor([&] { return prepared_on("node03"); }, absl::Seconds(20),
                               absl::Milliseconds(1)));
  ASSERT_TRUE(hacli->Kill(SIGKILL).ok());
  const MonoTime killed = MonotonicNow();
  (void)hacli->Wait(absl::Seconds(5));
  uint64_t agreed = 0;
  auto one_version = [&] {
    const uint64_t a = VersionOf("node01");
    if (a != 5 && a != 6) return false;
    for (const std::string& n : Nodes()) {
      if (VersionOf(n) != a) return false;
    }
    agreed = a;
    return true;
  };
  // Every node resolves its prepared spec (commits it, or drops it when
  // its hold passes) within deadtime of the kill, by its own events; then
  // all run one version.
  MonoTime last_resolved = killed;
  for (const std::string& n : Nodes()) {
    std::vector<agent::v1::Event> done;
    EXPECT_TRUE(harness::WaitFor(
        [&] {
          done = EventsOf(n, Resolved(), t0);
          return !done.empty();
        },
        absl::Seconds(10)))
        << n << " never resolved apply v6\n" << Diagnose();
    if (!done.empty()) last_resolved = std::max(last_resolved, EventTime(done[0]));
  }
  EXPECT_TRUE(harness::WaitFor(one_version, absl::Seconds(10))) << Diagnose();
  std::cout << "hacli killed after the last prepare: every node on config version " << agreed
            << ", the last resolved " << Ms(last_resolved - killed) << " after the kill (deadtime "
            << Ms(deadtime) << ")\n";
  EXPECT_LE(last_resolved - killed, deadtime + keepalive);
  ExpectRunningOn("node01");
}

}  // namespace
}  // namespace hacluster::testing
