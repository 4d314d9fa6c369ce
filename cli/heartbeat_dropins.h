// Heartbeat's own command-line tools as drop-ins over the agent: what
// `cl_status` prints and returns for the agent's GetStatus answer, and which
// Standby/Takeover request `hb_standby` / `hb_takeover` stand for. Operator
// scripts and monitoring checks (check_mk's and Nagios' Heartbeat checks call
// cl_status) then run unchanged against ha-agent.
//
// Pure: no I/O, no clock. The programs (cli/*_main.cc, through
// heartbeat_dropin_run.h) fetch the status, stamp the log lines and send the
// requests. Every format here was captured from Heartbeat 3.0.6 (Debian's
// heartbeat 1:3.0.6) in cli/testdata/heartbeat/, which the tests replay.
//
// How the agent's state reads in Heartbeat's words:
//   - nodes: the spec's nodes plus one "ping" node per ping host and per
//     ping group, listed as Heartbeat lists an ha.cf with its node lines
//     before its ping lines: in reverse order of the configuration (ping
//     groups, ping hosts, then the nodes last to first).
//   - node status: "active" for a node heard within deadtime (and the local
//     node); "dead" otherwise, also for a node not heard yet: Heartbeat
//     answers no client during initdead and calls every node it has not
//     heard dead afterwards. A ping node is "ping" while it answers, else
//     "dead". Heartbeat's short-lived "up" (heard, not yet started) has no
//     counterpart in the agent's status and is never printed.
//   - links: each node's media, last first; a ping node has one link named
//     as itself. The local node lists the same names as its peers, all
//     "dead", as Heartbeat shows for ucast media it never hears itself on.
//   - rscstatus: "transition" while any group moves (starting, stopping,
//     probing, a blocked stop, or not yet on the node placement wants);
//     otherwise what this node holds: "local" (groups preferred here),
//     "foreign" (groups preferred elsewhere), "all" (both) or "none".
//
// Thread-safety: every function is independent; nothing is shared.
#ifndef HACLUSTER_CLI_HEARTBEAT_DROPINS_H_
#define HACLUSTER_CLI_HEARTBEAT_DROPINS_H_

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/agent.pb.h"

namespace hacluster::cli::heartbeat {

// cl_status's exit statuses, with the names its source gives them.
inline constexpr int kClOk = 0;               // done; the node, link or client is up
inline constexpr int kClNormalFail = 1;       // down, offline, or heartbeat not running
inline constexpr int kClParameterError = 11;  // bad sub-command, option or node name
inline constexpr int kClTimeout = 12;         // no answer within 5 s
inline constexpr int kClUnknownError = 13;    // e.g. an unknown link or node to walk
// How long cl_status waits for an answer (its alarm()).
inline constexpr int kClTimeoutSeconds = 5;

// hb_standby / hb_takeover: Heartbeat exits 1 on a bad argument; ours exit
// 2, the usage status of every hacli command.
inline constexpr int kHbUsage = 2;

// What a command prints and returns.
struct Output {
  std::string out;  // stdout
  std::string err;  // stderr
  int exit_code = 0;
};

// What cl_status's logger writes before each ERROR line on stderr:
// "Dec 06 00:04:40 node01 cl_status: [27212]: ERROR: ...".
struct LogStamp {
  std::string time;  // "%b %d %H:%M:%S", local time
  std::string host;  // the node name (uname -n)
  std::string pid;   // the process id
};

// The agent's status, or why there is none: kUnavailable (nothing listens;
// Heartbeat "is stopped"), kDeadlineExceeded (no answer in time) or any
// other code (it answered but refused). The message says which agent and
// what happened; it is appended to Heartbeat's reason text.
using StatusFetch = std::function<absl::StatusOr<agent::v1::GetStatusResponse>()>;

// `cl_status ARGS` (ARGS without the program name) against the agent.
// `fetch` is called at most once, and only for a valid sub-command, as
// Heartbeat signs on only then.
Output ClStatus(const std::vector<std::string>& args, const StatusFetch& fetch,
                const LogStamp& stamp);

// One node as cl_status lists it.
struct HbLink {
  std::string name;
  std::string status;  // "up" or "dead"
};
struct HbNode {
  std::string name;
  std::string type;    // "normal" or "ping"
  std::string status;  // "active", "dead" or "ping"
  std::vector<HbLink> links;
  // On the heartbeat3 wire (a mixed pair): "heartbeat3" and what runs
  // there ("Heartbeat 3 (protocol 1)", "ha-agent 1.2.0"); shown by the
  // verbose listings. Empty on the native wire, whose listings stay
  // Heartbeat's own.
  std::string wire;
  std::string software;
};
// Every node of `status` in Heartbeat's order and words (see the top).
std::vector<HbNode> HeartbeatNodes(const agent::v1::GetStatusResponse& status);

// "none", "local", "foreign", "all" or "transition" (see the top).
std::string ResourceState(const agent::v1::GetStatusResponse& status);

// hb_standby and hb_takeover.
enum class HbTool { kStandby, kTakeover };

// What `hb_standby ARG` / `hb_takeover ARG` asks the agent for.
struct HbRequest {
  // all, foreign, local as themselves. hb_standby's failback is FAILBACK
  // (Heartbeat sends "foreign": on two nodes the same move, and FAILBACK
  // also picks each group's preferred node when there are more).
  // hb_takeover's failback is ALL: Heartbeat 3.0.6 takes every group for it
  // (captured), although its man page suggests only the local ones.
  agent::v1::StandbyScope scope = agent::v1::STANDBY_SCOPE_ALL;
  // The word hb_standby logs: "Going standby [foreign]." for failback.
  std::string word;
};

// Heartbeat's argument check: no argument means all; one of all, foreign,
// local, failback; anything else (or two arguments) gets Heartbeat's usage
// text naming `program` (argv[0] as typed), with exit status kHbUsage.
std::variant<HbRequest, Output> ParseHbArgs(HbTool tool, const std::string& program,
                                            const std::vector<std::string>& args);

// hb_standby's line on stderr before it asks: "Dec 06 00:10:00 Going
// standby [all].\n", `time` as in LogStamp.
std::string GoingStandbyLine(const HbRequest& request, const std::string& time);

}  // namespace hacluster::cli::heartbeat

#endif  // HACLUSTER_CLI_HEARTBEAT_DROPINS_H_
