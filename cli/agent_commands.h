// hacli's commands that talk to a running ha-agent, on its Unix socket or
// remotely over mutual TLS (connection.h): `status`, `watch` and `servers`
// (the control commands are in control_commands.h), and the pieces they
// share: the error reports. Text output for people, `-o json` for scripts (the protobuf JSON
// mapping of proto/agent.proto, so the schema is the API's; a failure prints
// {"error": {...}} instead, see output.h).
//
// Exit statuses (exit_codes.h): 0 success, 1 the call failed, 2 usage, 3 no
// agent reachable, 4 permission denied, 5 no answer in time. Every message
// names the agent: its socket path or HOST:PORT.
//
// Thread-safety: each call is independent; the streams are not shared.
#ifndef HACLUSTER_CLI_AGENT_COMMANDS_H_
#define HACLUSTER_CLI_AGENT_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/output.h"
#include "grpcpp/support/status.h"
#include "proto/agent.pb.h"

namespace hacluster::cli {

// How a command reports a failure: the message (and a hint) on `err` as
// "hacli: COMMAND: ...", and with -o json the {"error": ...} object on `out`
// (one line when `one_line`, as in watch's stream). Each returns the exit
// status.
struct ErrorReport {
  absl::string_view command;
  OutputFormat format = OutputFormat::kText;
  std::ostream& out;
  std::ostream& err;
  bool one_line = false;
  // The command asks for a change: one cut by its deadline may still happen.
  bool changes_state = false;
};
// A command line the Run function refused (exit status 2).
int ReportUsageError(const ErrorReport& report, absl::string_view message);
// ConnectToAgent failed (exit status 2 or 3).
int ReportConnectError(const ErrorReport& report, const absl::Status& s);
// The call to `agent` failed (ExitCodeFor(s)); `deadline` is what the call
// was given, for the message of DEADLINE_EXCEEDED.
int ReportCallError(const ErrorReport& report, const AgentConnection& agent,
                    absl::Duration deadline, const grpc::Status& s);
// Anything else that failed after the call (exit status `code`).
int ReportFailure(const ErrorReport& report, int code, const std::string& target,
                  absl::string_view message);

struct StatusArgs {
  ConnectionOptions connection;
  OutputFormat format = OutputFormat::kText;
  absl::Duration timeout = absl::Seconds(5);
};
int RunStatus(const StatusArgs& args, std::ostream& out, std::ostream& err);

struct WatchArgs {
  ConnectionOptions connection;
  OutputFormat format = OutputFormat::kText;
  uint64_t after_id = 0;   // resume after this event id
  bool only_new = false;   // skip the events the agent still holds
  uint64_t count = 0;      // stop after this many events (0: until interrupted)
};
int RunWatch(const WatchArgs& args, std::ostream& out, std::ostream& err);

// `hacli servers`: every node of the spec as the answering agent sees it
// (addresses, labels, up or dead, active or standby, the VIPs it holds), the
// list a billing or management GUI shows.
struct ServersArgs {
  ConnectionOptions connection;
  OutputFormat format = OutputFormat::kText;
  absl::Duration timeout = absl::Seconds(5);
};
int RunServers(const ServersArgs& args, std::ostream& out, std::ostream& err);

// The text forms, exposed for tests.
std::string FormatStatusText(const agent::v1::GetStatusResponse& status);
std::string FormatServersText(const agent::v1::ListServersResponse& servers);
std::string FormatEventText(const agent::v1::Event& event);
// "dead", "up", "unknown"; "node-dead", "link-up"; "running"; "start" ...
std::string NodeStateName(agent::v1::NodeState s);
std::string LinkStateName(agent::v1::LinkState s);
std::string EventKindName(agent::v1::EventKind k);
std::string GroupStateName(agent::v1::GroupState s);
std::string ResourceOpName(agent::v1::ResourceOp op);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_AGENT_COMMANDS_H_
