#include "agent/groups/group_runner.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

// A group of an IP, an LSB service and an OCF agent; the LSB service is
// monitored every 10 s.
spec::v1::ResourceGroup Group() {
  spec::v1::ResourceGroup g;
  g.set_name("web");
  g.set_preferred_node("node1");
  g.add_resources()->mutable_ip()->set_address("192.0.2.50");
  auto* lsb = g.add_resources();
  lsb->mutable_lsb()->set_name("apache2");
  lsb->mutable_monitor_interval()->set_seconds(10);
  auto* ocf = g.add_resources();
  ocf->mutable_ocf()->set_type("Dummy");
  return g;
}

class GroupRunnerTest : public ::testing::Test {
 protected:
  GroupRunnerTest() : runner_(Group(), Options()) {}
  static GroupRunnerOptions Options() {
    GroupRunnerOptions o;
    o.stop_retry = absl::Seconds(5);
    o.max_monitor_failures = 3;
    return o;
  }

  // The pending operations as "op resource" strings, e.g. "start 0".
  std::string Ops() const {
    std::vector<std::string> out;
    for (const GroupOp& o : ops_) {
      const char* name = o.op == v1::RESOURCE_OP_START   ? "start"
                         : o.op == v1::RESOURCE_OP_STOP  ? "stop"
                         : o.op == v1::RESOURCE_OP_PROBE ? "probe"
                                                         : "monitor";
      out.push_back(absl::StrCat(name, " ", o.resource));
    }
    return absl::StrJoin(out, ", ");
  }
  // Answers the single pending operation.
  void Answer(bool ok, const std::string& message = "") {
    ASSERT_EQ(ops_.size(), 1u) << Ops();
    GroupOp op = ops_.front();
    ops_.clear();
    runner_.OnResult({op.id, ok, message}, now_, &ops_, &events_);
  }
  // Answers the single pending probe: running, cleanly not running, or in
  // doubt (failed and may be running).
  enum class Found { kRunning, kStopped, kDoubt };
  void AnswerProbe(Found found) {
    ASSERT_EQ(ops_.size(), 1u) << Ops();
    GroupOp op = ops_.front();
    ASSERT_EQ(op.op, v1::RESOURCE_OP_PROBE);
    ops_.clear();
    GroupOpResult r;
    r.id = op.id;
    r.ok = found == Found::kRunning;
    r.may_be_running = found != Found::kStopped;
    r.message = found == Found::kRunning ? "running" : "not running";
    runner_.OnResult(r, now_, &ops_, &events_);
  }
  // Answers every operation with success until none is pending (bounded).
  void AnswerAllOk() {
    for (int i = 0; i < 20 && !ops_.empty(); ++i) Answer(true);
    ASSERT_TRUE(ops_.empty());
  }
  // The pending operations by resource name, e.g. "stop lsb apache2".
  std::string NamedOps() const {
    std::vector<std::string> out;
    for (const GroupOp& o : ops_) {
      out.push_back(absl::StrCat(o.op == v1::RESOURCE_OP_START  ? "start "
                                 : o.op == v1::RESOURCE_OP_STOP ? "stop "
                                                                : "other ",
                                 ResourceDisplayName(o.spec)));
    }
    return absl::StrJoin(out, ", ");
  }
  bool Reshape(const spec::v1::ResourceGroup& next) {
    std::string refusal;
    bool ok = runner_.Reshape(next, now_, &ops_, &events_, &refusal);
    refusal_ = refusal;
    return ok;
  }
  void StartAll() {
    Start();
    AnswerAllOk();
    ASSERT_EQ(runner_.state(), GroupRunner::State::kRunning);
    events_.clear();
  }
  std::vector<v1::EventKind> Kinds() const {
    std::vector<v1::EventKind> k;
    for (const auto& e : events_) k.push_back(e.kind());
    return k;
  }
  void Start() { runner_.Start("test", now_, &ops_, &events_); }
  void Stop() { runner_.Stop("test", now_, &ops_, &events_); }
  void Advance(absl::Duration d) {
    now_ += d;
    runner_.Tick(now_, &ops_, &events_);
  }

  GroupRunner runner_;
  std::string refusal_;
  MonoTime now_ = absl::Seconds(100);
  std::vector<GroupOp> ops_;
  std::vector<v1::Event> events_;
};

TEST_F(GroupRunnerTest, StartsLeftToRightAndStopsRightToLeft) {
  Start();
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STARTING);
  EXPECT_EQ(Ops(), "start 0");
  Answer(true);
  EXPECT_EQ(Ops(), "start 1");
  Answer(true);
  EXPECT_EQ(Ops(), "start 2");
  Answer(true);
  EXPECT_TRUE(ops_.empty());
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_HELD);
  Stop();
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  EXPECT_EQ(Ops(), "stop 2");
  Answer(true);
  EXPECT_EQ(Ops(), "stop 1");
  Answer(true);
  EXPECT_EQ(Ops(), "stop 0");
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_UNSPECIFIED);
  using K = v1::EventKind;
  std::vector<K> want = {v1::EVENT_KIND_GROUP_STARTING, v1::EVENT_KIND_RESOURCE_OP,
                         v1::EVENT_KIND_RESOURCE_OP,    v1::EVENT_KIND_RESOURCE_OP,
                         v1::EVENT_KIND_GROUP_RUNNING,  v1::EVENT_KIND_GROUP_STOPPING,
                         v1::EVENT_KIND_RESOURCE_OP,    v1::EVENT_KIND_RESOURCE_OP,
                         v1::EVENT_KIND_RESOURCE_OP,    v1::EVENT_KIND_GROUP_STOPPED};
  EXPECT_EQ(Kinds(), want);
  EXPECT_EQ(events_[1].reason(), "start of ip 192.0.2.50 (group web): ok");
  EXPECT_EQ(events_[1].resource(), "ip 192.0.2.50");
  EXPECT_EQ(events_[1].group(), "web");
  EXPECT_TRUE(events_[1].ok());
}

TEST_F(GroupRunnerTest, FailedStartStopsWhatWasStartedAndFailsTheGroup) {
  Start();
  Answer(true);   // ip
  Answer(false, "exit status 1: apache2 failed");  // lsb
  // The failed resource and the ip are stopped, right to left.
  EXPECT_EQ(Ops(), "stop 1");
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  Answer(true);
  EXPECT_EQ(Ops(), "stop 0");
  Answer(true);
  EXPECT_TRUE(runner_.failed());
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_UNSPECIFIED);
  EXPECT_EQ(events_.back().kind(), v1::EVENT_KIND_GROUP_FAILED);
  EXPECT_EQ(events_.back().reason(),
            "group web failed here and is left to another node: start of lsb apache2 failed: "
            "exit status 1: apache2 failed");
  // A later Start (an operator's move here) tries again.
  Start();
  EXPECT_EQ(Ops(), "start 0");
}

TEST_F(GroupRunnerTest, FailedStopIsRetriedAndReportedAndKeepsTheGroupClaimed) {
  Start();
  AnswerAllOk();
  Stop();
  Answer(true);  // stop 2
  Answer(false, "timed out after 20s");  // stop 1
  EXPECT_TRUE(ops_.empty());
  EXPECT_TRUE(runner_.blocked());
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  EXPECT_EQ(events_.back().kind(), v1::EVENT_KIND_STOP_FAILED);
  EXPECT_TRUE(absl::StrContains(events_.back().reason(), "failed (1 time): timed out after 20s"))
      << events_.back().reason();
  EXPECT_EQ(runner_.NextDeadline(), now_ + absl::Seconds(5));
  Advance(absl::Milliseconds(4999));
  EXPECT_TRUE(ops_.empty()) << "not before stop_retry";
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(Ops(), "stop 1");
  Answer(false, "timed out after 20s");
  EXPECT_TRUE(absl::StrContains(events_.back().reason(), "failed (2 times)"));
  Advance(absl::Seconds(5));
  EXPECT_EQ(Ops(), "stop 1");
  Answer(true);
  EXPECT_EQ(Ops(), "stop 0");
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
  EXPECT_FALSE(runner_.blocked());
}

TEST_F(GroupRunnerTest, MonitorRunsAtItsIntervalAndAFailureRestartsFromThatResource) {
  Start();
  AnswerAllOk();
  EXPECT_EQ(runner_.NextDeadline(), now_ + absl::Seconds(10));
  Advance(absl::Milliseconds(9999));
  EXPECT_TRUE(ops_.empty());
  Advance(absl::Milliseconds(1));
  EXPECT_EQ(Ops(), "monitor 1");
  Answer(true);
  EXPECT_EQ(runner_.NextDeadline(), now_ + absl::Seconds(10));
  Advance(absl::Seconds(10));
  EXPECT_EQ(Ops(), "monitor 1");
  Answer(false, "exit status 3: not running");
  // Restart: stop the resources after it and itself, start them again.
  EXPECT_EQ(Ops(), "stop 2");
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  Answer(true);
  EXPECT_EQ(Ops(), "stop 1");
  Answer(true);
  EXPECT_EQ(Ops(), "start 1");
  Answer(true);
  EXPECT_EQ(Ops(), "start 2");
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
}

TEST_F(GroupRunnerTest, RepeatedMonitorFailuresFailTheGroupOver) {
  Start();
  AnswerAllOk();
  for (int failure = 1; failure <= 2; ++failure) {
    Advance(absl::Seconds(10));
    ASSERT_EQ(Ops(), "monitor 1");
    Answer(false, "not running");
    AnswerAllOk();  // the restart
    ASSERT_EQ(runner_.state(), GroupRunner::State::kRunning);
  }
  Advance(absl::Seconds(10));
  Answer(false, "not running");
  EXPECT_EQ(Ops(), "stop 2");
  AnswerAllOk();
  EXPECT_TRUE(runner_.failed());
  EXPECT_EQ(events_.back().reason(),
            "group web failed here and is left to another node: 3 monitor failures (the last "
            "of lsb apache2: not running)");
}

TEST_F(GroupRunnerTest, StopDuringStartWaitsForTheRunningStartThenStopsWhatStarted) {
  Start();
  Answer(true);  // ip
  EXPECT_EQ(Ops(), "start 1");
  Stop();
  EXPECT_EQ(Ops(), "start 1") << "the running operation is not interrupted";
  Answer(true);
  EXPECT_EQ(Ops(), "stop 1");
  Answer(true);
  EXPECT_EQ(Ops(), "stop 0");
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
}

TEST_F(GroupRunnerTest, StopDuringAMonitorRestartEndsStopped) {
  Start();
  AnswerAllOk();
  Advance(absl::Seconds(10));
  Answer(false, "not running");
  EXPECT_EQ(Ops(), "stop 2");
  Stop();
  Answer(true);
  EXPECT_EQ(Ops(), "stop 1");
  Answer(true);
  EXPECT_EQ(Ops(), "stop 0") << "a plain stop now goes all the way down";
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
}

TEST_F(GroupRunnerTest, StaleResultsAreIgnored) {
  Start();
  GroupOp first = ops_.front();
  runner_.OnResult({first.id + 100, true, ""}, now_, &ops_, &events_);
  EXPECT_EQ(Ops(), "start 0");
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStarting);
}

TEST_F(GroupRunnerTest, StatusShowsEachResourcesLastOperation) {
  Start();
  Answer(true, "added 192.0.2.50/24 on eth0");
  Answer(false, "exit status 1");
  v1::GroupStatus st;
  runner_.FillResources([](MonoTime t) { return absl::FromUnixSeconds(0) + t; }, &st);
  ASSERT_EQ(st.resources_size(), 3);
  EXPECT_EQ(st.resources(0).name(), "ip 192.0.2.50");
  EXPECT_EQ(st.resources(0).kind(), "ip");
  EXPECT_TRUE(st.resources(0).last_ok());
  EXPECT_EQ(st.resources(0).last_message(), "added 192.0.2.50/24 on eth0");
  EXPECT_EQ(st.resources(0).last_time().seconds(), 100);
  EXPECT_EQ(st.resources(1).last_op(), v1::RESOURCE_OP_START);
  EXPECT_FALSE(st.resources(1).last_ok());
  EXPECT_EQ(st.resources(2).name(), "ocf heartbeat:Dummy");
  EXPECT_FALSE(st.resources(2).has_last_time());
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

TEST_F(GroupRunnerTest, ProbeThatFindsEverythingRunningAdoptsTheGroupWithoutARestart) {
  runner_.Probe(&ops_);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kProbing);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_PROBING);
  EXPECT_EQ(Ops(), "probe 0");
  AnswerProbe(Found::kRunning);
  EXPECT_EQ(Ops(), "probe 1");
  AnswerProbe(Found::kRunning);
  EXPECT_EQ(Ops(), "probe 2");
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_PROBING);
  AnswerProbe(Found::kRunning);
  EXPECT_TRUE(ops_.empty()) << Ops();  // no start, no stop
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_HELD);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind(), v1::EVENT_KIND_GROUP_RUNNING);
  EXPECT_TRUE(absl::StrContains(events_.back().reason(), "adopted without a restart"))
      << events_.back().reason();
  EXPECT_EQ(events_[0].reason(), "probe of ip 192.0.2.50 (group web): running: running");
  EXPECT_EQ(events_[0].op(), v1::RESOURCE_OP_PROBE);
  // Adopted means monitored, and stopped like any running group.
  Advance(absl::Seconds(10));
  EXPECT_EQ(Ops(), "monitor 1");
  Answer(true);
  Stop();
  EXPECT_EQ(Ops(), "stop 2");
}

TEST_F(GroupRunnerTest, ProbeThatFindsNothingLeavesTheGroupStoppedUnclaimed) {
  runner_.Probe(&ops_);
  AnswerProbe(Found::kStopped);
  AnswerProbe(Found::kStopped);
  AnswerProbe(Found::kStopped);
  EXPECT_TRUE(ops_.empty()) << Ops();
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_UNSPECIFIED);
  EXPECT_EQ(events_[1].reason(),
            "probe of lsb apache2 (group web): not running: not running");
  // It starts normally afterwards.
  Start();
  EXPECT_EQ(Ops(), "start 0");
}

TEST_F(GroupRunnerTest, ProbeThatFindsPartOfTheGroupStopsWhatRunsRightToLeft) {
  runner_.Probe(&ops_);
  AnswerProbe(Found::kRunning);   // the address
  AnswerProbe(Found::kStopped);   // the service
  AnswerProbe(Found::kDoubt);     // the OCF agent could not tell
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopping);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind(), v1::EVENT_KIND_GROUP_STOPPING);
  EXPECT_TRUE(absl::StrContains(events_.back().reason(),
                                "found at start-up (ip 192.0.2.50 running; lsb apache2 not "
                                "running; ocf heartbeat:Dummy in doubt)"))
      << events_.back().reason();
  EXPECT_EQ(Ops(), "stop 2");
  Answer(true);
  EXPECT_EQ(Ops(), "stop 0");  // the service was found stopped
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_UNSPECIFIED);
}

TEST_F(GroupRunnerTest, StopAskedDuringTheProbeStopsWhatWasFoundOnceItEnds) {
  runner_.Probe(&ops_);
  AnswerProbe(Found::kRunning);
  Stop();
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_PROBING);
  EXPECT_EQ(Ops(), "probe 1");
  AnswerProbe(Found::kRunning);
  AnswerProbe(Found::kRunning);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopping);
  EXPECT_EQ(Ops(), "stop 2");
  AnswerAllOk();
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopped);
}

TEST_F(GroupRunnerTest, ProbeOnlyFromStopped) {
  Start();
  runner_.Probe(&ops_);
  EXPECT_EQ(Ops(), "start 0");
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STARTING);
}

TEST_F(GroupRunnerTest, AResourceAddedToARunningGroupIsStartedAloneWhereverItGoes) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  // In the middle: the OCF agent after it is not bounced.
  spec::v1::Resource billing;
  billing.mutable_lsb()->set_name("billing");
  next.mutable_resources()->Add()->CopyFrom(billing);
  next.mutable_resources()->SwapElements(2, 3);
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_EQ(runner_.state(), GroupRunner::State::kReshaping);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_HELD);
  EXPECT_EQ(NamedOps(), "start lsb billing");
  EXPECT_EQ(ops_[0].resource, 2);
  Answer(true);
  EXPECT_TRUE(ops_.empty());
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
  EXPECT_EQ(runner_.group().resources_size(), 4);
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.front().kind(), v1::EVENT_KIND_GROUP_STARTING);
  EXPECT_TRUE(absl::StrContains(events_.front().reason(), "starting lsb billing"))
      << events_.front().reason();
  EXPECT_EQ(events_.back().kind(), v1::EVENT_KIND_GROUP_RUNNING);
  // A later stop stops all four, right to left.
  Stop();
  EXPECT_EQ(NamedOps(), "stop ocf heartbeat:Dummy");
  Answer(true);
  EXPECT_EQ(NamedOps(), "stop lsb billing");
}

TEST_F(GroupRunnerTest, AResourceRemovedFromARunningGroupIsStoppedAlone) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  next.mutable_resources()->DeleteSubrange(1, 1);  // apache2
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_EQ(NamedOps(), "stop lsb apache2");
  Answer(true);
  EXPECT_TRUE(ops_.empty());
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
  EXPECT_EQ(runner_.group().resources_size(), 2);
  Stop();
  EXPECT_EQ(NamedOps(), "stop ocf heartbeat:Dummy");
  Answer(true);
  EXPECT_EQ(NamedOps(), "stop ip 192.0.2.50");
}

TEST_F(GroupRunnerTest, AChangedResourceIsRestartedAloneWithItsNewDefinition) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  (*next.mutable_resources(2)->mutable_ocf()->mutable_params())["state"] = "/run/dummy";
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_EQ(NamedOps(), "stop ocf heartbeat:Dummy");
  EXPECT_TRUE(ops_[0].spec.ocf().params().empty());  // stopped as it was started
  Answer(true);
  EXPECT_EQ(NamedOps(), "start ocf heartbeat:Dummy");
  EXPECT_EQ(ops_[0].spec.ocf().params().at("state"), "/run/dummy");
  Answer(true);
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
}

TEST_F(GroupRunnerTest, AChangeOfTheGroupsOwnSettingsBouncesNothing) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  next.set_preferred_node("node2");
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_TRUE(ops_.empty());
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(runner_.state(), GroupRunner::State::kRunning);
  EXPECT_EQ(runner_.group().preferred_node(), "node2");
}

TEST_F(GroupRunnerTest, AReshapeWaitsForAMonitorUnderWay) {
  StartAll();
  Advance(absl::Seconds(10));
  ASSERT_EQ(NamedOps(), "other lsb apache2");  // its monitor
  spec::v1::ResourceGroup next = Group();
  next.mutable_resources()->DeleteSubrange(2, 1);
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_EQ(NamedOps(), "other lsb apache2");  // nothing more yet
  Answer(true);
  EXPECT_EQ(NamedOps(), "stop ocf heartbeat:Dummy");
}

TEST_F(GroupRunnerTest, AFailedStartWhileReshapingFailsTheGroupOver) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  next.add_resources()->mutable_lsb()->set_name("billing");
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_EQ(NamedOps(), "start lsb billing");
  Answer(false, "exit status 1");
  EXPECT_EQ(NamedOps(), "stop lsb billing");
  AnswerAllOk();
  EXPECT_EQ(runner_.state(), GroupRunner::State::kFailed);
}

TEST_F(GroupRunnerTest, AFailedStopWhileReshapingFailsTheGroupOverAndKeepsItClaimed) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  next.mutable_resources()->DeleteSubrange(2, 1);
  ASSERT_TRUE(Reshape(next)) << refusal_;
  Answer(false, "exit status 1");
  EXPECT_EQ(runner_.state(), GroupRunner::State::kStopping);
  EXPECT_EQ(runner_.claim(), wire::v1::GroupClaim::PHASE_STOPPING);
  EXPECT_TRUE(ops_.empty());
  Advance(absl::Seconds(5));  // the retry
  EXPECT_EQ(NamedOps(), "stop ocf heartbeat:Dummy");
  AnswerAllOk();
  EXPECT_EQ(runner_.state(), GroupRunner::State::kFailed);
  EXPECT_EQ(runner_.group().resources_size(), 2);  // the new definition
}

TEST_F(GroupRunnerTest, ReshapeIsRefusedWhileTheGroupStartsOrStopsAndTakenWhenStopped) {
  Start();
  spec::v1::ResourceGroup next = Group();
  next.add_resources()->mutable_lsb()->set_name("billing");
  EXPECT_FALSE(Reshape(next));
  EXPECT_TRUE(absl::StrContains(refusal_, "starting")) << refusal_;
  AnswerAllOk();
  Stop();
  EXPECT_FALSE(Reshape(next));
  EXPECT_TRUE(absl::StrContains(refusal_, "stopping")) << refusal_;
  AnswerAllOk();
  ASSERT_EQ(runner_.state(), GroupRunner::State::kStopped);
  ASSERT_TRUE(Reshape(next)) << refusal_;
  EXPECT_TRUE(ops_.empty());
  Start();
  AnswerAllOk();
  EXPECT_EQ(runner_.group().resources_size(), 4);
}

TEST_F(GroupRunnerTest, TwoResourcesWithOneNameCannotBeReshapedWhileRunning) {
  StartAll();
  spec::v1::ResourceGroup next = Group();
  next.add_resources()->mutable_lsb()->set_name("apache2");
  EXPECT_FALSE(Reshape(next));
  EXPECT_TRUE(absl::StrContains(refusal_, "two resources named 'lsb apache2'")) << refusal_;
  EXPECT_EQ(runner_.group().resources_size(), 3);
}

}  // namespace
}  // namespace hacluster::agent
