// hacli's control commands: standby, takeover and move (the operator's
// write calls to an agent: the local one, or a remote one over mutual TLS),
// operation (follow one started with --no-wait) and where (which node holds
// a virtual IP or a group).
//
// The agent's write RPC itself waits until the groups have moved or the
// timeout has passed; hacli gives the call a gRPC deadline of that timeout
// plus kDeadlineMargin and prints one line with the outcome ("done: web on
// node02 (operation 7)"), or the OperationResponse as JSON with -o json.
//
// The arguments hold the scope and durations as typed on the command line:
// the Run functions check them and answer a bad one with a usage error
// before any call to the agent.
//
// Exit statuses (exit_codes.h): 0 done (or accepted with --no-wait;
// answered for where), 1 failed, unknown target or refused, 2 usage, 3 no
// agent reachable, 4 permission denied, 5 timed out (no answer in time, or
// the operation still not done when --timeout passed). With -o json a
// failure prints {"error": {...}} (output.h) instead of an answer.
//
// Thread-safety: each call is independent; the streams are not shared.
#ifndef HACLUSTER_CLI_CONTROL_COMMANDS_H_
#define HACLUSTER_CLI_CONTROL_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/agent_commands.h"
#include "proto/agent.pb.h"

namespace hacluster::cli {

// How long standby, takeover and move wait when --timeout is not given.
inline constexpr char kDefaultControlTimeout[] = "30s";
// Added to the operation's timeout for the gRPC deadline, so that the agent's
// own TIMED_OUT answer arrives before the call is cut.
inline constexpr absl::Duration kDeadlineMargin = absl::Seconds(5);
// The gRPC deadline of `where` and of `operation` without --timeout.
inline constexpr absl::Duration kQueryDeadline = absl::Seconds(5);

// `hacli standby|takeover [SCOPE] [--timeout D] [--no-wait] [-o json]`.
struct ScopeArgs {
  ConnectionOptions connection;                  // the agent (connection.h)
  std::string scope = "all";                     // all, foreign, local or failback
  std::string timeout = kDefaultControlTimeout;  // absl::ParseDuration syntax
  bool no_wait = false;
  OutputFormat format = OutputFormat::kText;
};
int RunStandby(const ScopeArgs& args, std::ostream& out, std::ostream& err);
int RunTakeover(const ScopeArgs& args, std::ostream& out, std::ostream& err);

// `hacli move GROUP NODE [--timeout D] [--no-wait] [-o json]`.
struct MoveArgs {
  ConnectionOptions connection;
  std::string group;
  std::string node;
  std::string timeout = kDefaultControlTimeout;
  bool no_wait = false;
  OutputFormat format = OutputFormat::kText;
};
int RunMove(const MoveArgs& args, std::ostream& out, std::ostream& err);

// `hacli operation ID [--timeout D] [-o json]`: the operation's state now
// (timeout 0s, the default) or once it ends, waiting up to the timeout.
struct OperationArgs {
  ConnectionOptions connection;
  uint64_t operation_id = 0;
  std::string timeout = "0s";
  OutputFormat format = OutputFormat::kText;
};
int RunOperation(const OperationArgs& args, std::ostream& out, std::ostream& err);

// `hacli where IP|GROUP [-o json]`: the holder's node name alone on a line,
// or "none" (exit 0 both); the agent's NOT_FOUND message on `err` (exit 1).
struct WhereArgs {
  ConnectionOptions connection;
  std::string target;
  OutputFormat format = OutputFormat::kText;
};
int RunWhere(const WhereArgs& args, std::ostream& out, std::ostream& err);

// "30s", "500ms", "2m", "1m30s" (absl::ParseDuration). InvalidArgument for
// text without a unit, a negative or infinite duration, and for zero unless
// `allow_zero`; the message names --timeout and shows the accepted forms.
absl::StatusOr<absl::Duration> ParseTimeout(absl::string_view text, bool allow_zero);

// "all", "foreign", "local", "failback"; InvalidArgument naming the choices
// otherwise.
absl::StatusOr<agent::v1::StandbyScope> ParseScope(absl::string_view text);

// The outcome line of a write or GetOperation answer, without a newline:
//   done: web on node02 (operation 7)
//   timed out after 30s: web still moving (operation 7)
//   failed: no other node can take web: node02 is dead (operation 7)
//   operation 7 pending
// `waited` is the call's timeout; a PENDING answer to a call that waited
// (waited > 0) is reported as timed out.
std::string FormatOperationLine(const agent::v1::OperationResponse& op, absl::Duration waited);

// The exit status for an answer, by the same rule as the line: 0 DONE, or
// PENDING when nothing was waited for; 5 TIMED_OUT, or PENDING after a
// wait; 1 otherwise.
int OperationExitStatus(const agent::v1::OperationResponse& op, absl::Duration waited);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_CONTROL_COMMANDS_H_
