// The running ha-agent: one event loop thread that owns the cluster state.
//
// The loop (Run) waits on epoll for the media, the pinger and a signalfd
// (SIGTERM/SIGINT stop, SIGHUP reloads the spec), until the next deadline
// (next heartbeat to send, next membership or ping deadline, next status
// snapshot) given as epoll_pwait2's timeout (a timerfd where the kernel
// lacks it). Media that date their frames (UDP: kernel receive stamps) are
// read at every wake, before any deadline is checked, and wake the loop
// themselves only when it is not due to wake within 10 ms anyway: at
// keepalive 5 ms the loop wakes once per keepalive. Every received packet
// passes the wire check (agent/wire) before Membership sees it, at its
// arrival time; every state change becomes an event that is logged and
// published to the EventHub, which the gRPC API (agent/service) reads from
// its own threads.
//
// Thread-safety: Create and Run are called from the main thread, which
// becomes the loop. Nothing else touches the Agent. Signals SIGTERM, SIGINT
// and SIGHUP must be blocked in every thread before Create (BlockSignals).
#ifndef HACLUSTER_AGENT_NODE_AGENT_H_
#define HACLUSTER_AGENT_NODE_AGENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/node/event_loop.h"  // BlockSignals

namespace hacluster::agent {

class AgentLoop;
class Logger;

struct AgentOptions {
  std::string config_path;
  std::string node;                            // empty: uname -n
  std::string state_dir = "/var/lib/ha-agent";
  bool realtime = true;                        // SCHED_RR + locked memory for the loop
};

class Agent {
 public:
  // Loads and validates the spec, finds the local node, locks the state
  // directory and bumps the generation, reads the keys, opens every medium
  // and the pinger, and starts the API server. Any failure is an error that
  // says what and why (the logger has already printed spec diagnostics).
  // `logger` is not owned and must outlive the Agent.
  static absl::StatusOr<std::unique_ptr<Agent>> Create(const AgentOptions& options,
                                                       Logger& logger);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs the loop until SIGTERM or SIGINT; returns the process exit status.
  int Run();

 private:
  explicit Agent(std::unique_ptr<AgentLoop> loop);
  std::unique_ptr<AgentLoop> impl_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_AGENT_H_
