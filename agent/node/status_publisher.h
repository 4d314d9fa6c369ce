// How the loop tells the world what happens: each event is stamped (wall
// time, the node's generation), logged at its level (deaths, late
// heartbeats, refused specs and refused packets are warnings) and
// published to the EventHub the API reads; the status snapshot is
// completed with what only the spec knows (the nodes' addresses and
// labels) and published there too.
//
// Thread-safety: called by the loop thread only; the EventHub it publishes
// to is thread-safe.
#ifndef HACLUSTER_AGENT_NODE_STATUS_PUBLISHER_H_
#define HACLUSTER_AGENT_NODE_STATUS_PUBLISHER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/core/clock.h"
#include "agent/log/logger.h"
#include "agent/service/event_hub.h"
#include "proto/agent.pb.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::agent {

// The log level (and so the journal's priority) of an event: errors for
// what needs an operator now (a group that failed here, a stop that
// failed, two holders seen, a fencing command that failed); warnings for
// deaths, late heartbeats, lost quorum, a failed resource operation, a
// fencing that ran, refused specs, packets and API calls, and drift;
// info for the rest.
LogLevel LevelOf(const v1::Event& e);

// Adds the spec's facts to a status: each node's addresses and labels, and
// the running config version on the local node. Pure.
void AddSpecFacts(const spec::v1::ClusterSpec& spec, v1::GetStatusResponse* status);

// The address of a packet's source without its port: "192.0.2.12:694" ->
// "192.0.2.12", "[2001:db8::1]:694" -> "2001:db8::1"; other sources (a
// serial device) as they are.
absl::string_view SourceAddress(absl::string_view source);

class StatusPublisher {
 public:
  // Neither is owned; both must outlive the publisher.
  StatusPublisher(Logger& logger, EventHub& hub) : logger_(logger), hub_(hub) {}
  void set_generation(uint64_t generation) { generation_ = generation; }

  // Stamps, logs and publishes `*events` in order, and clears it.
  void Emit(std::vector<v1::Event>* events);
  // Publishes `status` (completed by AddSpecFacts from `spec`, and with
  // the counters below) as of `now`.
  void Publish(const spec::v1::ClusterSpec& spec, v1::GetStatusResponse status, MonoTime now);
  // Counts one packet the wire check refused, by its source address (at
  // most kMaxSources sources; the rest under "other").
  void CountRefusedPacket(absl::string_view source);

  static constexpr size_t kMaxSources = 64;

 private:
  Logger& logger_;
  EventHub& hub_;
  uint64_t generation_ = 0;
  // Counted from the events emitted and the packets refused; merged into
  // the status's counters (which carry the group controller's failovers).
  uint64_t late_heartbeats_ = 0;
  uint64_t node_deaths_ = 0;
  std::map<std::string, uint64_t> refused_by_source_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_STATUS_PUBLISHER_H_
