// hacli's commands that talk to a running ha-agent over its API socket:
// `status` and `watch` (the control commands are in control_commands.h), and
// the pieces they share: the socket, the JSON form, the error messages.
// Text output for people, `-o json` for scripts (the protobuf JSON mapping
// of proto/agent.proto, so the schema is the API's).
//
// Exit statuses: 0 success, 1 the agent could not be reached or the call
// failed (the message names the socket), 2 usage.
//
// Thread-safety: each call is independent.
#ifndef HACLUSTER_CLI_AGENT_COMMANDS_H_
#define HACLUSTER_CLI_AGENT_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"
#include "proto/agent.grpc.pb.h"
#include "proto/agent.pb.h"

namespace hacluster::cli {

// The socket of the local agent when neither --socket nor HACLI_SOCKET is given.
inline constexpr char kDefaultAgentSocket[] = "/var/lib/ha-agent/agent.sock";

// --socket if set, else $HACLI_SOCKET if set, else kDefaultAgentSocket.
std::string ResolveSocket(const std::string& flag);

enum class OutputFormat { kText, kJson };

// A client of the agent listening on the Unix socket `socket` (no I/O until
// the first call).
std::unique_ptr<agent::v1::Agent::Stub> ConnectAgent(const std::string& socket);

// The protobuf JSON mapping of an API message with the .proto field names;
// `pretty` spreads it over lines, else one line. `with_defaults` also prints
// fields left at their default ("holder": "" rather than no holder key).
std::string ApiJson(const google::protobuf::Message& m, bool pretty, bool with_defaults = false);

// What to tell the operator when a call to the agent at `socket` failed:
// "cannot reach the agent at SOCKET: ..." with a hint for UNAVAILABLE and
// DEADLINE_EXCEEDED, else what the agent answered. Ends with a newline.
std::string AgentCallError(const std::string& socket, const grpc::Status& s);

struct StatusArgs {
  std::string socket;
  OutputFormat format = OutputFormat::kText;
  absl::Duration timeout = absl::Seconds(5);
};
int RunStatus(const StatusArgs& args, std::ostream& out, std::ostream& err);

struct WatchArgs {
  std::string socket;
  OutputFormat format = OutputFormat::kText;
  uint64_t after_id = 0;   // resume after this event id
  bool only_new = false;   // skip the events the agent still holds
  uint64_t count = 0;      // stop after this many events (0: until interrupted)
};
int RunWatch(const WatchArgs& args, std::ostream& out, std::ostream& err);

// The text forms, exposed for tests.
std::string FormatStatusText(const agent::v1::GetStatusResponse& status);
std::string FormatEventText(const agent::v1::Event& event);
// "dead", "up", "unknown"; "node-dead", "link-up"; "running"; "start" ...
std::string NodeStateName(agent::v1::NodeState s);
std::string LinkStateName(agent::v1::LinkState s);
std::string EventKindName(agent::v1::EventKind k);
std::string GroupStateName(agent::v1::GroupState s);
std::string ResourceOpName(agent::v1::ResourceOp op);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_AGENT_COMMANDS_H_
