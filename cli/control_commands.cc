#include "cli/control_commands.h"

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/exit_codes.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

// The longest wait the agent accepts; more is surely a typo (ms for s).
constexpr absl::Duration kMaxTimeout = absl::Hours(1);

google::protobuf::Duration ToProto(absl::Duration d) {
  return TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

void SetDeadline(grpc::ClientContext& ctx, absl::Duration after) {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + after));
}

// A group is where the operation wants it: running on its target, or
// stopped with no node to take it.
bool Settled(const v1::GroupStatus& g) {
  if (g.target().empty()) return g.holder().empty() && g.state() == v1::GROUP_STATE_STOPPED;
  return g.holder() == g.target() && g.state() == v1::GROUP_STATE_RUNNING;
}

std::string OperationSuffix(const v1::OperationResponse& op) {
  if (op.operation_id() == 0) return "";
  return absl::StrCat(" (operation ", op.operation_id(), ")");
}

int Report(const v1::OperationResponse& op, absl::Duration waited, OutputFormat format,
           std::ostream& out) {
  if (format == OutputFormat::kJson) {
    out << ApiJson(op, /*pretty=*/true) << "\n";
  } else {
    out << FormatOperationLine(op, waited) << "\n";
  }
  return OperationExitStatus(op, waited);
}

using WriteCall =
    std::function<grpc::Status(v1::Agent::Stub&, grpc::ClientContext*, v1::OperationResponse*)>;

// Standby, takeover and move once their arguments are checked: the call
// with a deadline of the timeout plus the margin, then the outcome.
int RunWrite(const ErrorReport& report, const ConnectionOptions& connection, absl::Duration timeout,
             bool no_wait, const WriteCall& call) {
  absl::StatusOr<AgentConnection> agent = ConnectToAgent(connection);
  if (!agent.ok()) return ReportConnectError(report, agent.status());
  // With --no-wait the agent answers at once; the margin alone bounds it.
  absl::Duration deadline = (no_wait ? absl::ZeroDuration() : timeout) + kDeadlineMargin;
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  v1::OperationResponse op;
  grpc::Status s = call(*agent->stub, &ctx, &op);
  if (!s.ok()) return ReportCallError(report, *agent, deadline, s);
  return Report(op, no_wait ? absl::ZeroDuration() : timeout, report.format, report.out);
}

// The report of a write command: a call cut by its deadline may still have
// started the move.
ErrorReport WriteReport(absl::string_view command, OutputFormat format, std::ostream& out,
                        std::ostream& err) {
  ErrorReport report{command, format, out, err};
  report.changes_state = true;
  return report;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text, bool allow_zero) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout '", text,
                     "' is not a duration: give a number with a unit, e.g. 30s, 500ms, 2m"));
  }
  if (d == absl::InfiniteDuration() || d > kMaxTimeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout '", text, "' is longer than ", absl::FormatDuration(kMaxTimeout)));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--timeout '", text, "' is negative"));
  }
  if (d == absl::ZeroDuration() && !allow_zero) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout '", text, "' must be more than 0 (--no-wait returns at once)"));
  }
  return d;
}

absl::StatusOr<v1::StandbyScope> ParseScope(absl::string_view text) {
  if (text == "all") return v1::STANDBY_SCOPE_ALL;
  if (text == "foreign") return v1::STANDBY_SCOPE_FOREIGN;
  if (text == "local") return v1::STANDBY_SCOPE_LOCAL;
  if (text == "failback") return v1::STANDBY_SCOPE_FAILBACK;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scope '", text, "': use all, foreign, local or failback"));
}

std::string FormatOperationLine(const v1::OperationResponse& op, absl::Duration waited) {
  const std::string suffix = OperationSuffix(op);
  switch (op.state()) {
    case v1::OPERATION_STATE_DONE: {
      std::vector<std::string> where;
      for (const v1::GroupStatus& g : op.groups()) {
        where.push_back(g.holder().empty() ? absl::StrCat(g.name(), " stopped")
                                           : absl::StrCat(g.name(), " on ", g.holder()));
      }
      std::string what = !where.empty()          ? absl::StrJoin(where, ", ")
                         : !op.message().empty() ? op.message()
                                                 : "nothing to move";
      return absl::StrCat("done: ", what, suffix);
    }
    case v1::OPERATION_STATE_PENDING:
      if (waited <= absl::ZeroDuration()) {
        return absl::StrCat("operation ", op.operation_id(), " pending");
      }
      [[fallthrough]];  // the call waited and it still goes on: timed out
    case v1::OPERATION_STATE_TIMED_OUT: {
      std::vector<std::string> moving;
      for (const v1::GroupStatus& g : op.groups()) {
        if (!Settled(g)) moving.push_back(g.name());
      }
      if (!moving.empty()) {
        return absl::StrCat("timed out after ", absl::FormatDuration(waited), ": ",
                            absl::StrJoin(moving, ", "), " still moving", suffix);
      }
      // The agent's own message may already say that it timed out.
      if (absl::StartsWith(op.message(), "timed out")) return absl::StrCat(op.message(), suffix);
      return absl::StrCat("timed out after ", absl::FormatDuration(waited), ": ",
                          op.message().empty() ? "still moving" : op.message(), suffix);
    }
    case v1::OPERATION_STATE_FAILED:
      return absl::StrCat("failed", op.message().empty() ? "" : ": ", op.message(), suffix);
    default:
      return absl::StrCat("unexpected answer from the agent (state ",
                          v1::OperationState_Name(op.state()), ")",
                          op.message().empty() ? "" : ": ", op.message(), suffix);
  }
}

int OperationExitStatus(const v1::OperationResponse& op, absl::Duration waited) {
  switch (op.state()) {
    case v1::OPERATION_STATE_DONE:
      return kExitOk;
    case v1::OPERATION_STATE_PENDING:
      return waited <= absl::ZeroDuration() ? kExitOk : kExitTimedOut;
    case v1::OPERATION_STATE_TIMED_OUT:
      return kExitTimedOut;
    default:
      return kExitFailed;
  }
}

int RunStandby(const ScopeArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report = WriteReport("standby", args.format, out, err);
  absl::StatusOr<v1::StandbyScope> scope = ParseScope(args.scope);
  if (!scope.ok()) return ReportUsageError(report, scope.status().message());
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(args.timeout, /*allow_zero=*/false);
  if (!timeout.ok()) return ReportUsageError(report, timeout.status().message());
  v1::StandbyRequest req;
  req.set_scope(*scope);
  *req.mutable_timeout() = ToProto(*timeout);
  req.set_no_wait(args.no_wait);
  return RunWrite(report, args.connection, *timeout, args.no_wait,
                  [&](v1::Agent::Stub& stub, grpc::ClientContext* ctx, v1::OperationResponse* op) {
                    return stub.Standby(ctx, req, op);
                  });
}

int RunTakeover(const ScopeArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report = WriteReport("takeover", args.format, out, err);
  absl::StatusOr<v1::StandbyScope> scope = ParseScope(args.scope);
  if (!scope.ok()) return ReportUsageError(report, scope.status().message());
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(args.timeout, /*allow_zero=*/false);
  if (!timeout.ok()) return ReportUsageError(report, timeout.status().message());
  v1::TakeoverRequest req;
  req.set_scope(*scope);
  *req.mutable_timeout() = ToProto(*timeout);
  req.set_no_wait(args.no_wait);
  return RunWrite(report, args.connection, *timeout, args.no_wait,
                  [&](v1::Agent::Stub& stub, grpc::ClientContext* ctx, v1::OperationResponse* op) {
                    return stub.Takeover(ctx, req, op);
                  });
}

int RunMove(const MoveArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report = WriteReport("move", args.format, out, err);
  if (args.group.empty() || args.node.empty()) {
    return ReportUsageError(report,
                            "give the group and the node to move it to: hacli move GROUP NODE");
  }
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(args.timeout, /*allow_zero=*/false);
  if (!timeout.ok()) return ReportUsageError(report, timeout.status().message());
  v1::MoveRequest req;
  req.set_group(args.group);
  req.set_node(args.node);
  *req.mutable_timeout() = ToProto(*timeout);
  req.set_no_wait(args.no_wait);
  return RunWrite(report, args.connection, *timeout, args.no_wait,
                  [&](v1::Agent::Stub& stub, grpc::ClientContext* ctx, v1::OperationResponse* op) {
                    return stub.Move(ctx, req, op);
                  });
}

int RunOperation(const OperationArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report{"operation", args.format, out, err};
  if (args.operation_id == 0) {
    return ReportUsageError(report, "give the operation id a standby, takeover or move printed");
  }
  absl::StatusOr<absl::Duration> timeout = ParseTimeout(args.timeout, /*allow_zero=*/true);
  if (!timeout.ok()) return ReportUsageError(report, timeout.status().message());
  absl::StatusOr<AgentConnection> agent = ConnectToAgent(args.connection);
  if (!agent.ok()) return ReportConnectError(report, agent.status());
  v1::GetOperationRequest req;
  req.set_operation_id(args.operation_id);
  if (*timeout > absl::ZeroDuration()) *req.mutable_timeout() = ToProto(*timeout);
  absl::Duration deadline =
      *timeout > absl::ZeroDuration() ? *timeout + kDeadlineMargin : kQueryDeadline;
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline);
  v1::OperationResponse op;
  grpc::Status s = agent->stub->GetOperation(&ctx, req, &op);
  if (!s.ok()) return ReportCallError(report, *agent, deadline, s);
  return Report(op, *timeout, args.format, out);
}

int RunWhere(const WhereArgs& args, std::ostream& out, std::ostream& err) {
  const ErrorReport report{"where", args.format, out, err};
  if (args.target.empty())
    return ReportUsageError(report, "give a virtual IP address or a group name");
  absl::StatusOr<AgentConnection> agent = ConnectToAgent(args.connection);
  if (!agent.ok()) return ReportConnectError(report, agent.status());
  v1::WhereRequest req;
  req.set_target(args.target);
  grpc::ClientContext ctx;
  SetDeadline(ctx, kQueryDeadline);
  v1::WhereResponse where;
  grpc::Status s = agent->stub->Where(&ctx, req, &where);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND && s.error_message().empty()) {
    s = grpc::Status(s.error_code(),
                     absl::StrCat("no virtual IP or group '", args.target, "' in the cluster"));
  }
  if (!s.ok()) return ReportCallError(report, *agent, kQueryDeadline, s);
  if (args.format == OutputFormat::kJson) {
    out << ApiJson(where, /*pretty=*/true, /*with_defaults=*/true) << "\n";
  } else {
    out << (where.holder().empty() ? "none" : where.holder()) << "\n";
  }
  return kExitOk;
}

}  // namespace hacluster::cli
