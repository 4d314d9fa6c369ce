// What the tests of a mixed pair (the real Heartbeat 3.0.6 daemon and
// ha-agent on the heartbeat3 wire) share: the lab's addresses and VIP, the
// daemon's configuration and the agent's spec that match each other (what
// `hacli migrate --rolling` makes of that configuration), and the bounded
// waits on the daemon and on the VIP's holders.
//
// Thread-safety: plain functions; the waits poll the objects they are
// given from the calling thread.
#ifndef HACLUSTER_TESTS_CLUSTER_HB3_PAIR_H_
#define HACLUSTER_TESTS_CLUSTER_HB3_PAIR_H_

#include <string>

#include "absl/time/time.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/heartbeat_node.h"

namespace hacluster::testing {

// node01 192.0.2.11, node02 192.0.2.12 on one network; the VIP, in
// node01's haresources line.
inline constexpr char kHb3Vip[] = "192.0.2.100";
// With `second_group`: a second VIP, in node02's haresources line (group
// vip2 preferring node02 in the agent's spec).
inline constexpr char kHb3Vip2[] = "192.0.2.101";
// Both sides: keepalive 200 ms, warntime 1 s, deadtime 2 s, initdead 4 s.
inline constexpr absl::Duration kHb3Deadtime = absl::Seconds(2);

// Heartbeat's configuration of `node` (node01 or node02): ucast to the
// other node, the timing above, authkeys `1 sha1 SECRET`, haresources
// `node01 IPaddr::VIP/24/eth0`.
harness::HeartbeatConfig Hb3HeartbeatConfig(const std::string& node, const std::string& secret,
                                            bool auto_failback, bool second_group = false);

// The agent's spec for the same pair: ucast on eth0, key 1 sha1 in
// `authkey` beside the spec, one group `vip` preferring node01, then
// `extra` (e.g. an api section).
std::string Hb3AgentSpec(int config_version, const std::string& wire, bool auto_failback,
                         const std::string& extra = "", bool second_group = false);

// Bounded waits: exactly `host` holds the VIP by the sampler's latest
// rounds.
bool WaitSoleHolder(const VipHolderSampler& sampler, const std::string& host,
                    absl::Duration deadline);
// Heartbeat's `cl_status nodestatus PEER` says active.
bool WaitHeartbeatSeesActive(harness::HeartbeatNode& hb, const std::string& peer,
                             absl::Duration deadline = absl::Seconds(40));
// Heartbeat's log has not changed for 2 s: its join hand-shake and
// auto-failback are over (it ignores a standby request meanwhile).
bool WaitHeartbeatSettled(harness::HeartbeatNode& hb, absl::Duration deadline = absl::Seconds(40));

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_HB3_PAIR_H_
