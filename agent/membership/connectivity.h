// Connectivity: which ping nodes this node reaches (Heartbeat's ping,
// ping_group and deadping), and the score it derives from them.
//
// The agent's pinger sends ICMP echoes to every host of Hosts() at an
// interval of its choosing and reports each reply with OnReply; timer ticks
// come through Tick. Each distinct host is in one state:
// - UNKNOWN: no reply yet, and deadping has not passed since the start;
// - UP: replied within deadping (PING_UP on the transition);
// - DEAD: no reply for deadping since the last one, or since the start when
//   it never answered (PING_DEAD on the transition). A reply brings it UP.
// The deadline is exact: last reply + deadping is dead, a millisecond less
// is not.
//
// Score() = the ping nodes that are UP + the ping groups with at least one
// host UP. The agent passes it to Membership::SetLocalConnectivity, which
// reports changes and puts the score into the heartbeats peers compare
// (ipfail). A host listed both as a ping node and in a group (or in two
// groups) is pinged once and has one state.
//
// Events carry kind, link = the host, an empty node, reason and
// monotonic_ns (the `now` of the call). Pure logic: never reads a clock.
//
// Thread-safety: not synchronised; owned and called by the agent's event
// loop.
#ifndef HACLUSTER_AGENT_MEMBERSHIP_CONNECTIVITY_H_
#define HACLUSTER_AGENT_MEMBERSHIP_CONNECTIVITY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "proto/agent.pb.h"

namespace hacluster::agent {

struct ConnectivityConfig {
  // Hosts (addresses) each counting 1 to the score when UP.
  std::vector<std::string> ping_nodes;
  // Named groups of hosts; a group counts 1 when any of its hosts is UP.
  std::vector<std::pair<std::string, std::vector<std::string>>> ping_groups;
  // How long a host may stay silent before it is DEAD.
  absl::Duration deadping;
};

class Connectivity {
 public:
  // `start`: when the agent started; a host that never answers is DEAD at
  // start + deadping.
  Connectivity(ConnectivityConfig config, MonoTime start);

  Connectivity(const Connectivity&) = delete;
  Connectivity& operator=(const Connectivity&) = delete;

  // Every distinct host to ping: the ping nodes, then the group members, in
  // configuration order, each once.
  std::vector<std::string> Hosts() const;

  // An echo reply from `host` arrived at `now`. A host not configured is
  // ignored. Appends PING_UP to *out when the host was not UP.
  void OnReply(absl::string_view host, MonoTime now,
               std::vector<agent::v1::Event>* out);

  // Declares DEAD the hosts silent for deadping at `now` (PING_DEAD).
  void Tick(MonoTime now, std::vector<agent::v1::Event>* out);

  // The earliest time Tick could declare a host dead;
  // absl::InfiniteDuration() when none can.
  MonoTime NextDeadline() const;

  // Ping nodes UP + ping groups with at least one host UP.
  uint32_t Score() const { return score_; }
  // The score placement compares (the one heartbeats carry): as Score(),
  // but a host still UNKNOWN (no reply yet, deadping not over since the
  // start) counts as reachable. A node that has just started and not yet
  // had its first replies then neither loses its groups to a peer nor
  // hands them over for that moment; one that truly reaches nothing drops
  // to its real score at start + deadping.
  uint32_t PlacementScore() const { return placement_score_; }

  // Replaces ping_targets of `status`: one entry per ping node (group
  // empty) and one per group member (group = its name), with its state and
  // last reply (wall time from `wall`, which the agent passes WallTimeOf).
  void FillStatus(const std::function<absl::Time(MonoTime)>& wall,
                  agent::v1::GetStatusResponse* status) const;

  // SIGHUP: new ping nodes, groups and deadping. Hosts still configured keep
  // their state and last reply; new hosts start UNKNOWN and, if they never
  // answer, are DEAD at now + deadping. The score is recomputed (the caller
  // passes it on to Membership::SetLocalConnectivity).
  void Reconfigure(ConnectivityConfig config, MonoTime now);

 private:
  struct Host {
    std::string name;
    // How the host is named in reasons: "ping node 192.0.2.1" or
    // "ping group uplinks host 192.0.2.2".
    std::string description;
    agent::v1::PingState state = agent::v1::PING_STATE_UNKNOWN;
    bool replied = false;
    MonoTime last_reply;  // meaningful once replied
    MonoTime since;       // when it was configured: start or Reconfigure
    bool is_ping_node = false;
  };
  struct Group {
    std::string name;
    std::vector<size_t> hosts;  // indexes into hosts_
  };

  // Builds hosts_, ping_nodes_, groups_ and index_ from config_; `previous`
  // holds old hosts whose state carries over by name.
  void Build(MonoTime since, std::vector<Host> previous);
  MonoTime Deadline(const Host& h) const;
  void Rescore();

  ConnectivityConfig config_;
  std::vector<Host> hosts_;          // distinct, in Hosts() order
  std::vector<size_t> ping_nodes_;   // indexes into hosts_, distinct
  std::vector<Group> groups_;        // in config order
  absl::flat_hash_map<std::string, size_t> index_;  // host -> hosts_ index
  uint32_t score_ = 0;
  uint32_t placement_score_ = 0;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_MEMBERSHIP_CONNECTIVITY_H_
