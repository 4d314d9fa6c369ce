#include "cli/control_commands.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli/hacli_output.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

// An Agent service with canned answers that records what it was asked and
// how much time the caller's deadline left it. Thread-safe: gRPC calls the
// handlers on its threads while the test reads and sets under mu_.
class FakeAgent final : public v1::Agent::Service {
 public:
  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::GetStatusResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response = status_;
    return grpc::Status::OK;
  }
  grpc::Status Standby(grpc::ServerContext* ctx, const v1::StandbyRequest* request,
                       v1::OperationResponse* response) override {
    absl::MutexLock lock(&mu_);
    standby_.push_back(*request);
    return AnswerOperation(ctx, response);
  }
  grpc::Status Takeover(grpc::ServerContext* ctx, const v1::TakeoverRequest* request,
                        v1::OperationResponse* response) override {
    absl::MutexLock lock(&mu_);
    takeover_.push_back(*request);
    return AnswerOperation(ctx, response);
  }
  grpc::Status Move(grpc::ServerContext* ctx, const v1::MoveRequest* request,
                    v1::OperationResponse* response) override {
    absl::MutexLock lock(&mu_);
    move_.push_back(*request);
    return AnswerOperation(ctx, response);
  }
  grpc::Status GetOperation(grpc::ServerContext* ctx, const v1::GetOperationRequest* request,
                            v1::OperationResponse* response) override {
    absl::MutexLock lock(&mu_);
    get_operation_.push_back(*request);
    return AnswerOperation(ctx, response);
  }
  grpc::Status Where(grpc::ServerContext* ctx, const v1::WhereRequest* request,
                     v1::WhereResponse* response) override {
    absl::MutexLock lock(&mu_);
    where_.push_back(*request);
    deadline_left_ = absl::FromChrono(ctx->deadline()) - absl::Now();
    *response = where_answer_;
    return where_status_;
  }

  void SetStatus(const v1::GetStatusResponse& s) {
    absl::MutexLock lock(&mu_);
    status_ = s;
  }
  void SetOperationAnswer(const v1::OperationResponse& op, grpc::Status s = grpc::Status::OK) {
    absl::MutexLock lock(&mu_);
    op_answer_ = op;
    op_status_ = s;
  }
  void SetWhereAnswer(const v1::WhereResponse& w, grpc::Status s = grpc::Status::OK) {
    absl::MutexLock lock(&mu_);
    where_answer_ = w;
    where_status_ = s;
  }
  std::vector<v1::StandbyRequest> standby() {
    absl::MutexLock lock(&mu_);
    return standby_;
  }
  std::vector<v1::TakeoverRequest> takeover() {
    absl::MutexLock lock(&mu_);
    return takeover_;
  }
  std::vector<v1::MoveRequest> move() {
    absl::MutexLock lock(&mu_);
    return move_;
  }
  std::vector<v1::GetOperationRequest> get_operation() {
    absl::MutexLock lock(&mu_);
    return get_operation_;
  }
  std::vector<v1::WhereRequest> where() {
    absl::MutexLock lock(&mu_);
    return where_;
  }
  size_t calls() {
    absl::MutexLock lock(&mu_);
    return standby_.size() + takeover_.size() + move_.size() + get_operation_.size() +
           where_.size();
  }
  // What the caller's deadline left when the last call arrived.
  absl::Duration deadline_left() {
    absl::MutexLock lock(&mu_);
    return deadline_left_;
  }

 private:
  grpc::Status AnswerOperation(grpc::ServerContext* ctx, v1::OperationResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    deadline_left_ = absl::FromChrono(ctx->deadline()) - absl::Now();
    *response = op_answer_;
    return op_status_;
  }

  absl::Mutex mu_;
  v1::GetStatusResponse status_ ABSL_GUARDED_BY(mu_);
  v1::OperationResponse op_answer_ ABSL_GUARDED_BY(mu_);
  grpc::Status op_status_ ABSL_GUARDED_BY(mu_);
  v1::WhereResponse where_answer_ ABSL_GUARDED_BY(mu_);
  grpc::Status where_status_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::StandbyRequest> standby_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::TakeoverRequest> takeover_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::MoveRequest> move_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::GetOperationRequest> get_operation_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::WhereRequest> where_ ABSL_GUARDED_BY(mu_);
  absl::Duration deadline_left_ ABSL_GUARDED_BY(mu_);
};

// gRPC sends the deadline as a timeout header rounded up to a coarser unit,
// so the server may see up to this much more than the client set.
constexpr absl::Duration kHeaderRounding = absl::Seconds(1);

v1::GroupStatus Group(const std::string& name, const std::string& holder, v1::GroupState state,
                      const std::string& target) {
  v1::GroupStatus g;
  g.set_name(name);
  g.set_holder(holder);
  g.set_state(state);
  g.set_target(target);
  return g;
}

v1::OperationResponse Operation(uint64_t id, v1::OperationState state, const std::string& message,
                                std::vector<v1::GroupStatus> groups = {}) {
  v1::OperationResponse op;
  op.set_operation_id(id);
  op.set_state(state);
  op.set_message(message);
  for (auto& g : groups) *op.add_groups() = std::move(g);
  return op;
}

// The fake agent on a real Unix socket in a short /tmp directory (socket
// paths must fit in 108 bytes).
class ControlCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hac-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/agent.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&agent_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr) << "cannot serve on " << socket_;
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  ScopeArgs Scope(const std::string& scope = "all") {
    ScopeArgs a;
    a.connection.socket = socket_;
    a.scope = scope;
    return a;
  }
  MoveArgs MoveTo(const std::string& group, const std::string& node) {
    MoveArgs a;
    a.connection.socket = socket_;
    a.group = group;
    a.node = node;
    return a;
  }
  WhereArgs WhereIs(const std::string& target) {
    WhereArgs a;
    a.connection.socket = socket_;
    a.target = target;
    return a;
  }

  std::string dir_;
  std::string socket_;
  FakeAgent agent_;
  std::unique_ptr<grpc::Server> server_;
  std::ostringstream out_, err_;
};

// --- the requests sent ---

TEST_F(ControlCommandsTest, StandbyDefaultsToScopeAllAndThirtySeconds) {
  agent_.SetOperationAnswer(Operation(1, v1::OPERATION_STATE_DONE, "standby all: nothing held"));
  ASSERT_EQ(RunStandby(Scope(), out_, err_), 0) << err_.str();
  ASSERT_EQ(agent_.standby().size(), 1u);
  const v1::StandbyRequest req = agent_.standby()[0];
  EXPECT_EQ(req.scope(), v1::STANDBY_SCOPE_ALL);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(req.timeout()), 30000);
  EXPECT_FALSE(req.no_wait());
}

TEST_F(ControlCommandsTest, StandbySendsScopeAndTimeoutAndWaitsTheTimeoutPlusMargin) {
  agent_.SetOperationAnswer(Operation(2, v1::OPERATION_STATE_DONE, ""));
  ScopeArgs args = Scope("foreign");
  args.timeout = "2m";
  ASSERT_EQ(RunStandby(args, out_, err_), 0) << err_.str();
  ASSERT_EQ(agent_.standby().size(), 1u);
  EXPECT_EQ(agent_.standby()[0].scope(), v1::STANDBY_SCOPE_FOREIGN);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(agent_.standby()[0].timeout()), 120000);
  // The deadline is the timeout plus the margin: the agent's own TIMED_OUT
  // answer comes back before the call is cut.
  EXPECT_GT(agent_.deadline_left(), absl::Minutes(2));
  EXPECT_LE(agent_.deadline_left(), absl::Minutes(2) + kDeadlineMargin + kHeaderRounding);
}

TEST_F(ControlCommandsTest, StandbyLocalAndFailbackScopesAreSent) {
  agent_.SetOperationAnswer(Operation(3, v1::OPERATION_STATE_DONE, ""));
  ASSERT_EQ(RunStandby(Scope("local"), out_, err_), 0) << err_.str();
  ASSERT_EQ(RunStandby(Scope("failback"), out_, err_), 0) << err_.str();
  ASSERT_EQ(agent_.standby().size(), 2u);
  EXPECT_EQ(agent_.standby()[0].scope(), v1::STANDBY_SCOPE_LOCAL);
  EXPECT_EQ(agent_.standby()[1].scope(), v1::STANDBY_SCOPE_FAILBACK);
}

TEST_F(ControlCommandsTest, TakeoverSendsScopeTimeoutAndNoWait) {
  agent_.SetOperationAnswer(Operation(4, v1::OPERATION_STATE_PENDING, ""));
  ScopeArgs args = Scope("local");
  args.timeout = "500ms";
  args.no_wait = true;
  ASSERT_EQ(RunTakeover(args, out_, err_), 0) << err_.str();
  ASSERT_EQ(agent_.takeover().size(), 1u);
  const v1::TakeoverRequest req = agent_.takeover()[0];
  EXPECT_EQ(req.scope(), v1::STANDBY_SCOPE_LOCAL);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(req.timeout()), 500);
  EXPECT_TRUE(req.no_wait());
  EXPECT_TRUE(agent_.standby().empty());
  // Not waiting: the margin alone bounds the call.
  EXPECT_LE(agent_.deadline_left(), kDeadlineMargin + kHeaderRounding);
}

TEST_F(ControlCommandsTest, MoveSendsGroupNodeAndTimeout) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_DONE, "move web to node02: done",
                                      {Group("web", "node02", v1::GROUP_STATE_RUNNING, "node02")}));
  MoveArgs args = MoveTo("web", "node02");
  args.timeout = "45s";
  ASSERT_EQ(RunMove(args, out_, err_), 0) << err_.str();
  ASSERT_EQ(agent_.move().size(), 1u);
  const v1::MoveRequest req = agent_.move()[0];
  EXPECT_EQ(req.group(), "web");
  EXPECT_EQ(req.node(), "node02");
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(req.timeout()), 45000);
  EXPECT_FALSE(req.no_wait());
}

TEST_F(ControlCommandsTest, ControlCommandsUseTheSocketFromTheEnvironment) {
  agent_.SetOperationAnswer(Operation(5, v1::OPERATION_STATE_DONE, ""));
  setenv("HACLI_SOCKET", socket_.c_str(), 1);
  ScopeArgs args;  // no --socket
  int rc = RunTakeover(args, out_, err_);
  unsetenv("HACLI_SOCKET");
  EXPECT_EQ(rc, 0) << err_.str();
  EXPECT_EQ(agent_.takeover().size(), 1u);
}

// --- outcomes and exit statuses ---

TEST_F(ControlCommandsTest, DoneSaysWhereEachGroupIsAndExitsZero) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_DONE, "move web to node02: done",
                                      {Group("web", "node02", v1::GROUP_STATE_RUNNING, "node02")}));
  EXPECT_EQ(RunMove(MoveTo("web", "node02"), out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "done: web on node02 (operation 7)\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ControlCommandsTest, TimedOutNamesTheGroupsStillMovingAndExitsFive) {
  agent_.SetOperationAnswer(
      Operation(7, v1::OPERATION_STATE_TIMED_OUT, "move web to node02: timed out",
                {Group("web", "node01", v1::GROUP_STATE_STOPPING, "node02")}));
  EXPECT_EQ(RunMove(MoveTo("web", "node02"), out_, err_), 5);
  EXPECT_EQ(out_.str(), "timed out after 30s: web still moving (operation 7)\n");
}

TEST_F(ControlCommandsTest, FailedPrintsTheAgentsReasonAndExitsOne) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_FAILED,
                                      "no other node can take web: node02 is dead",
                                      {Group("web", "node01", v1::GROUP_STATE_RUNNING, "node01")}));
  EXPECT_EQ(RunStandby(Scope(), out_, err_), 1);
  EXPECT_EQ(out_.str(), "failed: no other node can take web: node02 is dead (operation 7)\n");
}

TEST_F(ControlCommandsTest, NoWaitPrintsThePendingOperationAndExitsZero) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_PENDING, "standby all: started"));
  ScopeArgs args = Scope();
  args.no_wait = true;
  EXPECT_EQ(RunStandby(args, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "operation 7 pending\n");
  ASSERT_EQ(agent_.standby().size(), 1u);
  EXPECT_TRUE(agent_.standby()[0].no_wait());
}

TEST_F(ControlCommandsTest, PendingAnswerToAWaitingCallIsATimeout) {
  agent_.SetOperationAnswer(Operation(9, v1::OPERATION_STATE_PENDING, "",
                                      {Group("db", "", v1::GROUP_STATE_STOPPED, "node02")}));
  EXPECT_EQ(RunTakeover(Scope(), out_, err_), 5);
  EXPECT_EQ(out_.str(), "timed out after 30s: db still moving (operation 9)\n");
}

TEST_F(ControlCommandsTest, JsonPrintsTheOperationResponseWithTheSameExitStatus) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_FAILED, "node02 is dead",
                                      {Group("web", "node01", v1::GROUP_STATE_RUNNING, "")}));
  MoveArgs args = MoveTo("web", "node02");
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunMove(args, out_, err_), 1);
  v1::OperationResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.operation_id(), 7u);
  EXPECT_EQ(parsed.state(), v1::OPERATION_STATE_FAILED);
  EXPECT_EQ(parsed.groups(0).holder(), "node01");
  EXPECT_TRUE(absl::StrContains(out_.str(), "\"operation_id\"")) << out_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "\"OPERATION_STATE_FAILED\"")) << out_.str();
}

TEST_F(ControlCommandsTest, NoWaitJsonExitsZero) {
  agent_.SetOperationAnswer(Operation(11, v1::OPERATION_STATE_PENDING, ""));
  ScopeArgs args = Scope();
  args.no_wait = true;
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunStandby(args, out_, err_), 0) << err_.str();
  v1::OperationResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.operation_id(), 11u);
  EXPECT_EQ(parsed.state(), v1::OPERATION_STATE_PENDING);
}

TEST_F(ControlCommandsTest, AgentRefusalIsExitOneWithItsMessageAndTheSocket) {
  agent_.SetOperationAnswer(
      v1::OperationResponse(),
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no quorum: 1 of 3 nodes"));
  EXPECT_EQ(RunTakeover(Scope(), out_, err_), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_TRUE(absl::StrContains(err_.str(), "the agent at " + socket_ + " refused")) << err_.str();
  EXPECT_TRUE(absl::StrContains(err_.str(), "no quorum: 1 of 3 nodes")) << err_.str();
}

TEST_F(ControlCommandsTest, AgentRefusalWithJsonIsOneErrorObjectNamingTheAgent) {
  agent_.SetOperationAnswer(
      v1::OperationResponse(),
      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no quorum: 1 of 3 nodes"));
  ScopeArgs args = Scope();
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunTakeover(args, out_, err_), 1);
  hacli::v1::ErrorOutput parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.error().code(), 1);
  EXPECT_EQ(parsed.error().target(), socket_);
  EXPECT_EQ(parsed.error().grpc_status(), "FAILED_PRECONDITION");
  EXPECT_EQ(parsed.error().message(),
            "the agent at " + socket_ + " refused: no quorum: 1 of 3 nodes");
}

TEST_F(ControlCommandsTest, UnknownGroupOnMoveIsExitOneWithTheAgentsMessage) {
  agent_.SetOperationAnswer(v1::OperationResponse(),
                            grpc::Status(grpc::StatusCode::NOT_FOUND, "no group 'wbe'"));
  EXPECT_EQ(RunMove(MoveTo("wbe", "node02"), out_, err_), 1);
  EXPECT_TRUE(absl::StrContains(err_.str(), "no group 'wbe'")) << err_.str();
}

// --- usage errors: exit 2, nothing sent ---

TEST_F(ControlCommandsTest, BadDurationsAreUsageErrorsAndSendNothing) {
  for (const char* bad : {"30", "1x", "abc", "-5s", "0s", "inf", "2h", ""}) {
    SCOPED_TRACE(bad);
    ScopeArgs args = Scope();
    args.timeout = bad;
    std::ostringstream out, err;
    EXPECT_EQ(RunStandby(args, out, err), 2);
    EXPECT_TRUE(absl::StrContains(err.str(), "hacli: standby: --timeout '")) << err.str();
    EXPECT_EQ(out.str(), "");
  }
  MoveArgs move = MoveTo("web", "node02");
  move.timeout = "30";
  EXPECT_EQ(RunMove(move, out_, err_), 2);
  EXPECT_EQ(agent_.calls(), 0u);
}

TEST_F(ControlCommandsTest, BadDurationMessageShowsTheAcceptedForms) {
  ScopeArgs args = Scope();
  args.timeout = "30";
  EXPECT_EQ(RunTakeover(args, out_, err_), 2);
  EXPECT_EQ(err_.str(),
            "hacli: takeover: --timeout '30' is not a duration: give a number with a unit, e.g. "
            "30s, 500ms, 2m\nRun 'hacli takeover --help'.\n");
}

TEST_F(ControlCommandsTest, UsageErrorWithJsonIsAnErrorObjectWithCodeTwo) {
  MoveArgs args = MoveTo("web", "node02");
  args.timeout = "30";
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunMove(args, out_, err_), 2);
  hacli::v1::ErrorOutput parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.error().code(), 2);
  EXPECT_EQ(parsed.error().target(), "");
  EXPECT_TRUE(absl::StartsWith(parsed.error().message(), "--timeout '30' is not a duration"))
      << parsed.error().message();
  EXPECT_EQ(agent_.calls(), 0u);
}

TEST_F(ControlCommandsTest, BadScopeIsAUsageErrorAndSendsNothing) {
  EXPECT_EQ(RunStandby(Scope("everything"), out_, err_), 2);
  EXPECT_TRUE(absl::StrContains(err_.str(),
                                "unknown scope 'everything': use all, foreign, local or failback"))
      << err_.str();
  std::ostringstream err2;
  EXPECT_EQ(RunTakeover(Scope("ALL"), out_, err2), 2);
  EXPECT_EQ(agent_.calls(), 0u);
}

TEST_F(ControlCommandsTest, MoveWithoutGroupOrNodeIsAUsageError) {
  EXPECT_EQ(RunMove(MoveTo("", "node02"), out_, err_), 2);
  EXPECT_EQ(RunMove(MoveTo("web", ""), out_, err_), 2);
  EXPECT_EQ(agent_.calls(), 0u);
}

// --- unreachable agent ---

TEST_F(ControlCommandsTest, UnreachableSocketIsExitThreeNamingTheSocket) {
  std::string missing = dir_ + "/nothing.sock";
  ScopeArgs args = Scope();
  args.connection.socket = missing;
  EXPECT_EQ(RunStandby(args, out_, err_), 3);
  EXPECT_TRUE(absl::StrContains(err_.str(), "cannot reach the agent at " + missing)) << err_.str();
  EXPECT_EQ(out_.str(), "");

  std::ostringstream out, err;
  WhereArgs where = WhereIs("web");
  where.connection.socket = missing;
  EXPECT_EQ(RunWhere(where, out, err), 3);
  EXPECT_TRUE(absl::StrContains(err.str(), "cannot reach the agent at " + missing)) << err.str();
  EXPECT_EQ(out.str(), "");
}

TEST_F(ControlCommandsTest, UnreachableWithJsonIsAnErrorObjectWithCodeThree) {
  WhereArgs where = WhereIs("web");
  where.connection.socket = dir_ + "/nothing.sock";
  where.format = OutputFormat::kJson;
  EXPECT_EQ(RunWhere(where, out_, err_), 3);
  hacli::v1::ErrorOutput parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.error().code(), 3);
  EXPECT_EQ(parsed.error().target(), where.connection.socket);
  EXPECT_EQ(parsed.error().grpc_status(), "UNAVAILABLE");
}

TEST_F(ControlCommandsTest, AnOlderAgentWithoutTheCallIsNamedAsSuch) {
  // A bare service: every call answers UNIMPLEMENTED.
  std::string old_socket = dir_ + "/old.sock";
  v1::Agent::Service bare;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + old_socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&bare);
  std::unique_ptr<grpc::Server> old = builder.BuildAndStart();
  ASSERT_NE(old, nullptr);
  ScopeArgs args = Scope();
  args.connection.socket = old_socket;
  EXPECT_EQ(RunStandby(args, out_, err_), 1);
  EXPECT_TRUE(absl::StrContains(err_.str(), "does not offer this call")) << err_.str();
  old->Shutdown();
}

// --- operation ---

TEST_F(ControlCommandsTest, OperationAsksAtOnceByDefaultAndPendingExitsZero) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_PENDING, ""));
  OperationArgs args;
  args.connection.socket = socket_;
  args.operation_id = 7;
  EXPECT_EQ(RunOperation(args, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "operation 7 pending\n");
  ASSERT_EQ(agent_.get_operation().size(), 1u);
  EXPECT_EQ(agent_.get_operation()[0].operation_id(), 7u);
  EXPECT_FALSE(agent_.get_operation()[0].has_timeout());
  EXPECT_LE(agent_.deadline_left(), kQueryDeadline + kHeaderRounding);
}

TEST_F(ControlCommandsTest, OperationWithTimeoutWaitsAndReportsTheOutcome) {
  agent_.SetOperationAnswer(Operation(7, v1::OPERATION_STATE_DONE, "",
                                      {Group("web", "node02", v1::GROUP_STATE_RUNNING, "node02"),
                                       Group("db", "node02", v1::GROUP_STATE_RUNNING, "node02")}));
  OperationArgs args;
  args.connection.socket = socket_;
  args.operation_id = 7;
  args.timeout = "1m";
  EXPECT_EQ(RunOperation(args, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "done: web on node02, db on node02 (operation 7)\n");
  ASSERT_EQ(agent_.get_operation().size(), 1u);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(agent_.get_operation()[0].timeout()), 60000);
  EXPECT_GT(agent_.deadline_left(), absl::Minutes(1));
}

TEST_F(ControlCommandsTest, OperationStillPendingAfterItsTimeoutExitsFive) {
  agent_.SetOperationAnswer(
      Operation(7, v1::OPERATION_STATE_TIMED_OUT, "",
                {Group("web", "node01", v1::GROUP_STATE_STOPPING, "node02")}));
  OperationArgs args;
  args.connection.socket = socket_;
  args.operation_id = 7;
  args.timeout = "10s";
  EXPECT_EQ(RunOperation(args, out_, err_), 5);
  EXPECT_EQ(out_.str(), "timed out after 10s: web still moving (operation 7)\n");
}

TEST_F(ControlCommandsTest, UnknownOperationIsExitOneWithTheAgentsMessage) {
  agent_.SetOperationAnswer(v1::OperationResponse(),
                            grpc::Status(grpc::StatusCode::NOT_FOUND, "no operation 99"));
  OperationArgs args;
  args.connection.socket = socket_;
  args.operation_id = 99;
  EXPECT_EQ(RunOperation(args, out_, err_), 1);
  EXPECT_EQ(err_.str(), "hacli: operation: no operation 99 (asked the agent at " + socket_ + ")\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(ControlCommandsTest, OperationWithoutIdOrWithBadTimeoutIsAUsageError) {
  OperationArgs args;
  args.connection.socket = socket_;
  EXPECT_EQ(RunOperation(args, out_, err_), 2);
  args.operation_id = 7;
  args.timeout = "soon";
  EXPECT_EQ(RunOperation(args, out_, err_), 2);
  EXPECT_EQ(agent_.calls(), 0u);
}

// --- where ---

TEST_F(ControlCommandsTest, WherePrintsTheHolderAloneOnALine) {
  v1::WhereResponse w;
  w.set_target("192.0.2.50");
  w.set_group("web");
  w.set_holder("node02");
  w.set_state(v1::GROUP_STATE_RUNNING);
  agent_.SetWhereAnswer(w);
  EXPECT_EQ(RunWhere(WhereIs("192.0.2.50"), out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "node02\n");
  ASSERT_EQ(agent_.where().size(), 1u);
  EXPECT_EQ(agent_.where()[0].target(), "192.0.2.50");
  EXPECT_LE(agent_.deadline_left(), kQueryDeadline + kHeaderRounding);
}

TEST_F(ControlCommandsTest, WherePrintsNoneAndExitsZeroWhenNobodyHoldsIt) {
  v1::WhereResponse w;
  w.set_target("web");
  w.set_group("web");
  w.set_state(v1::GROUP_STATE_STOPPED);
  agent_.SetWhereAnswer(w);
  EXPECT_EQ(RunWhere(WhereIs("web"), out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "none\n");
}

TEST_F(ControlCommandsTest, WhereJsonIsTheWhereResponseWithAnEmptyHolder) {
  v1::WhereResponse w;
  w.set_target("web");
  w.set_group("web");
  w.set_state(v1::GROUP_STATE_STOPPED);
  agent_.SetWhereAnswer(w);
  WhereArgs args = WhereIs("web");
  args.format = OutputFormat::kJson;
  EXPECT_EQ(RunWhere(args, out_, err_), 0) << err_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "\"holder\": \"\"")) << out_.str();
  EXPECT_TRUE(absl::StrContains(out_.str(), "\"state\": \"GROUP_STATE_STOPPED\"")) << out_.str();
  v1::WhereResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out_.str(), &parsed).ok()) << out_.str();
  EXPECT_EQ(parsed.group(), "web");
}

TEST_F(ControlCommandsTest, WhereUnknownTargetIsExitOneWithTheAgentsMessage) {
  agent_.SetWhereAnswer(v1::WhereResponse(),
                        grpc::Status(grpc::StatusCode::NOT_FOUND,
                                     "no group or virtual IP '10.9.9.9' in cluster billing"));
  EXPECT_EQ(RunWhere(WhereIs("10.9.9.9"), out_, err_), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "hacli: where: no group or virtual IP '10.9.9.9' in cluster billing "
            "(asked the agent at " +
                socket_ + ")\n");
}

TEST_F(ControlCommandsTest, WhereWithoutTargetIsAUsageError) {
  EXPECT_EQ(RunWhere(WhereIs(""), out_, err_), 2);
  EXPECT_EQ(agent_.calls(), 0u);
}

// --- status shows groups ---

TEST_F(ControlCommandsTest, StatusTableShowsGroupsResourcesFailuresAndQuorum) {
  v1::GetStatusResponse st;
  st.set_cluster_name("billing");
  st.set_local_node("node01");
  auto* n = st.add_nodes();
  n->set_name("node01");
  n->set_state(v1::NODE_STATE_UP);
  n->set_local(true);
  v1::GroupStatus web = Group("web", "node01", v1::GROUP_STATE_RUNNING, "node01");
  web.set_preferred_node("node01");
  web.add_addresses("192.0.2.50");
  web.add_addresses("2001:db8::50");
  auto* ip = web.add_resources();
  ip->set_kind("ip");
  ip->set_name("192.0.2.50");
  ip->set_last_op(v1::RESOURCE_OP_START);
  ip->set_last_ok(true);
  auto* apache = web.add_resources();
  apache->set_kind("lsb");
  apache->set_name("apache2");
  apache->set_last_op(v1::RESOURCE_OP_MONITOR);
  apache->set_last_ok(false);
  apache->set_last_message("exit status 7");
  apache->set_monitor_failures(2);
  *st.add_groups() = web;
  v1::GroupStatus db = Group("db", "", v1::GROUP_STATE_STOPPED, "");
  db.set_preferred_node("node02");
  db.add_failed_on("node02");
  db.add_failed_on("node03");
  *st.add_groups() = db;
  st.set_has_quorum(false);
  st.set_quorum_reason("1 of 3 nodes up");
  agent_.SetStatus(st);

  StatusArgs args;
  args.connection.socket = socket_;
  ASSERT_EQ(RunStatus(args, out_, err_), 0) << err_.str();
  const std::string text = out_.str();
  EXPECT_TRUE(absl::StrContains(text, "NODE")) << text;
  EXPECT_TRUE(absl::StrContains(text, "\nGROUP  HOLDER  STATE    TARGET  PREFERRED  ADDRESSES\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, "\nweb    node01  running  node01  node01     192.0.2.50,2001:db8::50\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "\n  ip 192.0.2.50: start ok\n")) << text;
  EXPECT_TRUE(absl::StrContains(
      text, "\n  lsb apache2: monitor failed: exit status 7, 2 monitor failures\n"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "\ndb     -       stopped  -       node02     -\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "\n  failed on: node02, node03\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "no quorum: 1 of 3 nodes up")) << text;
  // The groups come after the nodes.
  EXPECT_LT(text.find("NODE"), text.find("GROUP")) << text;
}

TEST_F(ControlCommandsTest, StatusWithQuorumHasNoQuorumLine) {
  v1::GetStatusResponse st;
  st.set_has_quorum(true);
  *st.add_groups() = Group("web", "node01", v1::GROUP_STATE_RUNNING, "node01");
  agent_.SetStatus(st);
  StatusArgs args;
  args.connection.socket = socket_;
  ASSERT_EQ(RunStatus(args, out_, err_), 0) << err_.str();
  EXPECT_FALSE(absl::StrContains(out_.str(), "quorum")) << out_.str();
}

// --- pure helpers ---

TEST(ParseTimeoutTest, AcceptsDurationsWithUnits) {
  EXPECT_EQ(*ParseTimeout("30s", false), absl::Seconds(30));
  EXPECT_EQ(*ParseTimeout("500ms", false), absl::Milliseconds(500));
  EXPECT_EQ(*ParseTimeout("2m", false), absl::Minutes(2));
  EXPECT_EQ(*ParseTimeout("1m30s", false), absl::Seconds(90));
  EXPECT_EQ(*ParseTimeout("0s", true), absl::ZeroDuration());
}

TEST(ParseTimeoutTest, RejectsWithAMessageNamingTheFlag) {
  absl::StatusOr<absl::Duration> d = ParseTimeout("30", false);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(),
            "--timeout '30' is not a duration: give a number with a unit, e.g. 30s, 500ms, 2m");
  EXPECT_EQ(ParseTimeout("0s", false).status().message(),
            "--timeout '0s' must be more than 0 (--no-wait returns at once)");
  EXPECT_EQ(ParseTimeout("-1s", true).status().message(), "--timeout '-1s' is negative");
  EXPECT_EQ(ParseTimeout("90m", true).status().message(), "--timeout '90m' is longer than 1h");
  EXPECT_EQ(*ParseTimeout("1h", true), absl::Hours(1));
}

TEST(ParseScopeTest, MapsEachScopeAndRejectsOthers) {
  EXPECT_EQ(*ParseScope("all"), v1::STANDBY_SCOPE_ALL);
  EXPECT_EQ(*ParseScope("foreign"), v1::STANDBY_SCOPE_FOREIGN);
  EXPECT_EQ(*ParseScope("local"), v1::STANDBY_SCOPE_LOCAL);
  EXPECT_EQ(*ParseScope("failback"), v1::STANDBY_SCOPE_FAILBACK);
  EXPECT_EQ(ParseScope("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseScope("Local").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FormatOperationLineTest, DoneWithoutGroupsUsesTheAgentsMessage) {
  EXPECT_EQ(FormatOperationLine(Operation(3, v1::OPERATION_STATE_DONE, "nothing held here"),
                                absl::Seconds(30)),
            "done: nothing held here (operation 3)");
  EXPECT_EQ(FormatOperationLine(Operation(3, v1::OPERATION_STATE_DONE, ""), absl::Seconds(30)),
            "done: nothing to move (operation 3)");
}

TEST(FormatOperationLineTest, DoneGroupWithoutHolderIsStopped) {
  EXPECT_EQ(FormatOperationLine(Operation(4, v1::OPERATION_STATE_DONE, "",
                                          {Group("db", "", v1::GROUP_STATE_STOPPED, "")}),
                                absl::Seconds(30)),
            "done: db stopped (operation 4)");
}

TEST(FormatOperationLineTest, TimedOutListsOnlyTheUnsettledGroups) {
  EXPECT_EQ(
      FormatOperationLine(Operation(5, v1::OPERATION_STATE_TIMED_OUT, "",
                                    {Group("web", "node02", v1::GROUP_STATE_RUNNING, "node02"),
                                     Group("db", "node02", v1::GROUP_STATE_STARTING, "node02"),
                                     Group("mail", "node01", v1::GROUP_STATE_RUNNING, "node02")}),
                          absl::Milliseconds(1500)),
      "timed out after 1.5s: db, mail still moving (operation 5)");
}

TEST(FormatOperationLineTest, TimedOutWithoutGroupsKeepsTheAgentsOwnTimeoutMessage) {
  EXPECT_EQ(FormatOperationLine(
                Operation(5, v1::OPERATION_STATE_TIMED_OUT, "timed out after 30s: submitted"),
                absl::Seconds(30)),
            "timed out after 30s: submitted (operation 5)");
  EXPECT_EQ(FormatOperationLine(Operation(5, v1::OPERATION_STATE_TIMED_OUT, "waiting for node02"),
                                absl::Seconds(30)),
            "timed out after 30s: waiting for node02 (operation 5)");
}

TEST(FormatOperationLineTest, FailedWithoutAnOperationIdHasNoSuffix) {
  EXPECT_EQ(
      FormatOperationLine(Operation(0, v1::OPERATION_STATE_FAILED, "no quorum"), absl::Seconds(30)),
      "failed: no quorum");
  EXPECT_EQ(OperationExitStatus(Operation(0, v1::OPERATION_STATE_FAILED, ""), absl::Seconds(30)),
            1);
}

TEST(FormatOperationLineTest, UnspecifiedStateIsAFailure) {
  v1::OperationResponse op = Operation(6, v1::OPERATION_STATE_UNSPECIFIED, "");
  EXPECT_EQ(FormatOperationLine(op, absl::Seconds(30)),
            "unexpected answer from the agent (state OPERATION_STATE_UNSPECIFIED) (operation 6)");
  EXPECT_EQ(OperationExitStatus(op, absl::ZeroDuration()), 1);
}

}  // namespace
}  // namespace hacluster::cli
