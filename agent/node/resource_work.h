// The work of one resource operation or fencing command, as it runs on an
// OpExecutor thread (agent/exec/runner.h), off the agent's loop.
//
// - ip: start resolves where the address goes (the spec's interface and
//   prefix, else Heartbeat's findif from the routing table), adds it over
//   rtnetlink and sends the first gratuitous ARP / unsolicited neighbour
//   advertisement at once (the agent's loop sends the repeats); stop removes
//   it (from where it was added, else wherever it is); monitor checks that
//   it is still assigned; probe (at start-up) whether it is assigned
//   anywhere on this node.
// - lsb, heartbeat, ocf: the script's command (agent/exec/command.h), run
//   in its own process group with its timeout, its result interpreted by the
//   kind's rules; a probe runs the monitor command (status for lsb and
//   heartbeat scripts, monitor for ocf).
// - fencing: spec.fencing.command with `{node}` replaced, exit status 0
//   meaning fenced.
//
// Thread-safety: free functions over values; call them from work threads.
#ifndef HACLUSTER_AGENT_NODE_RESOURCE_WORK_H_
#define HACLUSTER_AGENT_NODE_RESOURCE_WORK_H_

#include <optional>
#include <string>

#include "agent/exec/command.h"
#include "agent/vip/announce.h"
#include "agent/vip/netlink_address.h"
#include "proto/agent.pb.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::agent {

struct WorkResult {
  bool ok = false;
  std::string message;  // one line for operators
  // The resource may be active after a failed operation; false when the
  // result shows it cleanly stopped (a probe or monitor that finds it not
  // running, a stop that succeeded).
  bool may_be_running = true;
  // ip start: where the address was added (later stops and monitors use it).
  std::optional<vip::Placement> placement;
  // ip start that succeeded: the address to announce again.
  bool announce = false;
};

// Runs `op` on resource `r`. `placement`: where an ip resource was added by
// an earlier start of this agent, if known. `announcer`: the agent's open
// packet socket (null: one is opened for the call, whose close costs about
// 10 ms).
WorkResult RunResourceOp(const spec::v1::Resource& r, v1::ResourceOp op,
                         const std::optional<vip::Placement>& placement,
                         const exec::ScriptPaths& paths, const vip::Announcer* announcer);

// Runs the fencing command for `node`.
WorkResult RunFence(const spec::v1::Fencing& fencing, const std::string& node);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_RESOURCE_WORK_H_
