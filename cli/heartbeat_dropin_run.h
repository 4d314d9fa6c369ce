// The edge of the Heartbeat drop-ins (cl_status, hb_standby, hb_takeover):
// their own options, the one function that connects them to an agent, and
// the Run functions that call the agent and print what heartbeat_dropins.h
// says Heartbeat would.
//
// Each program's command line is: its own long options first (--help,
// --version, hacli's connection options --socket PATH, --server HOST:PORT (repeated or
// a comma list), --ca, --cert, --key, --connect-timeout, with the same
// environment variables HACLI_SOCKET, HACLI_SERVER, HACLI_CA, HACLI_CERT,
// HACLI_KEY; and --timeout D for hb_standby / hb_takeover), then
// Heartbeat's arguments, unchanged ("--" ends ours). Heartbeat's tools take
// no "--" options, so one that is not ours goes on to Heartbeat's own check:
// cl_status calls it an invalid sub-command (exit 11), hb_standby and
// hb_takeover print their usage (exit 2).
//
// Exit statuses: cl_status's own (heartbeat_dropins.h). hb_standby and
// hb_takeover: 0 once every group has moved, 1 when the move failed or timed
// out or the agent could not be reached or refused, 2 usage.
//
// Thread-safety: each call is independent; the stub may be shared.
#ifndef HACLUSTER_CLI_HEARTBEAT_DROPIN_RUN_H_
#define HACLUSTER_CLI_HEARTBEAT_DROPIN_RUN_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/connection.h"
#include "cli/control_commands.h"
#include "cli/heartbeat_dropins.h"
#include "proto/agent.grpc.pb.h"

namespace hacluster::cli::heartbeat {

// The drop-in's own options, and Heartbeat's arguments after them.
struct DropinFlags {
  bool help = false;                             // --help
  bool version = false;                          // --version
  ConnectionOptions connection;                  // --socket, --server, --ca, --cert, --key
  std::string timeout = kDefaultControlTimeout;  // --timeout D: how long a move may take
  std::vector<std::string> args;                 // Heartbeat's arguments, as given
  std::string error;                             // a bad option of ours, for the usage message
};

// argv[1..]; `with_timeout` for hb_standby and hb_takeover.
DropinFlags ParseDropinFlags(int argc, const char* const* argv, bool with_timeout);

// An agent to talk to, and how messages name it ("the agent at
// /var/lib/ha-agent/agent.sock").
struct AgentLink {
  std::unique_ptr<agent::v1::Agent::StubInterface> stub;
  std::string name;
  // Why there is no stub: no agent reachable (Unavailable) or bad
  // connection options (InvalidArgument). The Run functions report it as
  // Heartbeat's tools report a heartbeat they cannot reach.
  absl::Status error;
};

// The one place the drop-ins connect, as hacli does (connection.h): the
// local agent's Unix socket, or the first of the --server agents that
// answers, over mutual TLS.
AgentLink ConnectDropinAgent(const DropinFlags& flags);

// `cl_status ARGS` (flags.args): asks `agent` for its status, within
// cl_status's 5 s, when the sub-command needs it.
int RunClStatus(const DropinFlags& flags, const AgentLink& agent, std::ostream& out,
                std::ostream& err);

// `hb_standby ARGS` / `hb_takeover ARGS` (flags.args): checks the arguments
// and --timeout (usage on `out` and `err`, exit 2, before any call), logs
// Heartbeat's "Going standby [..]." line (hb_standby), then asks `agent` and
// waits up to the timeout for every group to move. Silent on success, as
// Heartbeat; the outcome on `err` otherwise. `program` is argv[0] as typed
// (Heartbeat's messages name it).
int RunHbCommand(HbTool tool, const std::string& program, const DropinFlags& flags,
                 const AgentLink& agent, std::ostream& out, std::ostream& err);

// The paragraph of every drop-in's --help on how it reaches an agent.
extern const char kDropinConnectionHelp[];

// What `PROGRAM --version` prints (one line, with its newline).
std::string DropinVersion(const char* program);

// The whole of hb_standby's or hb_takeover's main: `help` (with
// kDropinConnectionHelp in it) for --help, --version, usage errors, then
// RunHbCommand against the agent ConnectDropinAgent finds.
int HbMain(HbTool tool, const std::string& help, int argc, char** argv);

}  // namespace hacluster::cli::heartbeat

#endif  // HACLUSTER_CLI_HEARTBEAT_DROPIN_RUN_H_
