#include "controller/metrics.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

// Every family, in output order.
constexpr Family kFamilies[] = {
    {"ha_agent_reachable", "gauge",
     "1 when the controller reached the node's agent at its last poll."},
    {"ha_node_up", "gauge", "1 when the observer hears the node (up), else 0."},
    {"ha_node_dead", "gauge", "1 when the observer has declared the node dead, else 0."},
    {"ha_node_last_heard_seconds", "gauge",
     "Seconds since the observer last heard a heartbeat of the node."},
    {"ha_link_up", "gauge", "1 when the observer hears the node on this link, else 0."},
    {"ha_group_holder", "gauge",
     "1 for the node the observer sees holding the group (running, starting or stopping it)."},
    {"ha_group_running", "gauge", "1 when the observer sees the group running, else 0."},
    {"ha_failovers_total", "counter",
     "Groups the node took over from a holder it saw die, since its agent started."},
    {"ha_last_failover_duration_seconds", "gauge",
     "The node's last takeover: from deciding to take the group to it running there."},
    {"ha_late_heartbeats_total", "counter",
     "Heartbeats that reached the node after more than warntime (heartbeat loss)."},
    {"ha_node_deaths_total", "counter", "Peers the node declared dead since its agent started."},
    {"ha_auth_failures_total", "counter",
     "Packets the node refused in the wire check (bad MAC, unknown key, replay...), by source."},
    {"ha_dropped_packets_total", "counter", "Packets the node dropped, by reason."},
    {"ha_config_version", "gauge", "The config_version of the spec the node runs."},
    {"ha_config_drift", "gauge",
     "1 when the node sees a live peer on another config version or spec."},
    {"ha_cluster_config_drift", "gauge",
     "1 when the controller sees the cluster's nodes run different specs."},
    {"ha_quorum", "gauge", "1 when the node's partition may run groups."},
};

std::string FormatValue(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

double Seconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + static_cast<double>(d.nanos()) / 1e9;
}

}  // namespace

std::string MetricsWriter::EscapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsWriter::Add(const std::string& family,
                        std::vector<std::pair<std::string, std::string>> labels, double value) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(absl::StrCat(k, "=\"", EscapeLabel(v), "\""));
  samples_[family].push_back(
      absl::StrCat(family, "{", absl::StrJoin(parts, ","), "} ", FormatValue(value)));
}

void MetricsWriter::AddReachable(const std::string& cluster, const std::string& node,
                                 bool reachable) {
  Add("ha_agent_reachable", {{"cluster", cluster}, {"node", node}}, reachable ? 1 : 0);
}

void MetricsWriter::AddClusterDrift(const std::string& cluster, bool drift) {
  Add("ha_cluster_config_drift", {{"cluster", cluster}}, drift ? 1 : 0);
}

void MetricsWriter::AddAgentStatus(const std::string& cluster, const av1::GetStatusResponse& st) {
  const std::string& me = st.local_node();
  for (const av1::NodeStatus& n : st.nodes()) {
    Add("ha_node_up", {{"cluster", cluster}, {"observer", me}, {"node", n.name()}},
        n.state() == av1::NODE_STATE_UP ? 1 : 0);
    Add("ha_node_dead", {{"cluster", cluster}, {"observer", me}, {"node", n.name()}},
        n.state() == av1::NODE_STATE_DEAD ? 1 : 0);
    if (!n.local() && n.has_since_last_heard()) {
      Add("ha_node_last_heard_seconds", {{"cluster", cluster}, {"observer", me}, {"node", n.name()}},
          Seconds(n.since_last_heard()));
    }
    for (const av1::LinkStatus& l : n.links()) {
      Add("ha_link_up",
          {{"cluster", cluster}, {"observer", me}, {"node", n.name()}, {"link", l.name()}},
          l.state() == av1::LINK_STATE_UP ? 1 : 0);
    }
  }
  for (const av1::GroupStatus& g : st.groups()) {
    if (!g.holder().empty()) {
      Add("ha_group_holder",
          {{"cluster", cluster}, {"observer", me}, {"group", g.name()}, {"node", g.holder()}}, 1);
    }
    Add("ha_group_running", {{"cluster", cluster}, {"observer", me}, {"group", g.name()}},
        g.state() == av1::GROUP_STATE_RUNNING ? 1 : 0);
  }
  const av1::AgentCounters& c = st.counters();
  Add("ha_failovers_total", {{"cluster", cluster}, {"node", me}}, static_cast<double>(c.failovers()));
  if (c.has_last_failover_duration()) {
    Add("ha_last_failover_duration_seconds", {{"cluster", cluster}, {"node", me}},
        Seconds(c.last_failover_duration()));
  }
  Add("ha_late_heartbeats_total", {{"cluster", cluster}, {"node", me}},
      static_cast<double>(c.late_heartbeats()));
  Add("ha_node_deaths_total", {{"cluster", cluster}, {"node", me}},
      static_cast<double>(c.node_deaths()));
  std::map<std::string, uint64_t> sources(c.auth_failures_by_source().begin(),
                                          c.auth_failures_by_source().end());
  for (const auto& [source, count] : sources) {
    Add("ha_auth_failures_total", {{"cluster", cluster}, {"node", me}, {"source", source}},
        static_cast<double>(count));
  }
  std::map<std::string, uint64_t> dropped(st.dropped_packets().begin(), st.dropped_packets().end());
  for (const auto& [reason, count] : dropped) {
    Add("ha_dropped_packets_total", {{"cluster", cluster}, {"node", me}, {"reason", reason}},
        static_cast<double>(count));
  }
  Add("ha_config_version", {{"cluster", cluster}, {"node", me}},
      static_cast<double>(st.config_version()));
  Add("ha_config_drift", {{"cluster", cluster}, {"node", me}}, st.config_drift() ? 1 : 0);
  Add("ha_quorum", {{"cluster", cluster}, {"node", me}}, st.has_quorum() ? 1 : 0);
}

std::string MetricsWriter::Render() const {
  std::string out;
  for (const Family& f : kFamilies) {
    auto it = samples_.find(f.name);
    if (it == samples_.end()) continue;
    absl::StrAppend(&out, "# HELP ", f.name, " ", f.help, "\n# TYPE ", f.name, " ", f.type, "\n");
    for (const std::string& line : it->second) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace hacluster::controller
