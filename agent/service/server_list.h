// The billing GUI's server list (Agent.ListServers) from a status snapshot:
// every node of the spec with its addresses and labels, whether it is up,
// its role (active, standby, down) and the groups and VIPs it holds. Pure:
// the snapshot holds each group's holder as this node hears the claims, so
// every node computes the same list.
//
// Thread-safety: a pure function.
#ifndef HACLUSTER_AGENT_SERVICE_SERVER_LIST_H_
#define HACLUSTER_AGENT_SERVICE_SERVER_LIST_H_

#include "proto/agent.pb.h"

namespace hacluster::agent {

v1::ListServersResponse ServerList(const v1::GetStatusResponse& status);

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SERVICE_SERVER_LIST_H_
