#include "controller/metrics.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

TEST(MetricsTest, AnAgentsStatusBecomesFamiliesWithHelpAndType) {
  av1::GetStatusResponse st;
  st.set_local_node("a");
  st.set_config_version(7);
  st.set_config_drift(true);
  st.set_has_quorum(true);
  auto* a = st.add_nodes();
  a->set_name("a");
  a->set_local(true);
  a->set_state(av1::NODE_STATE_UP);
  auto* b = st.add_nodes();
  b->set_name("b");
  b->set_state(av1::NODE_STATE_DEAD);
  b->mutable_since_last_heard()->set_seconds(12);
  b->mutable_since_last_heard()->set_nanos(500000000);
  auto* l = b->add_links();
  l->set_name("eth1");
  l->set_state(av1::LINK_STATE_DEAD);
  auto* g = st.add_groups();
  g->set_name("web");
  g->set_holder("a");
  g->set_state(av1::GROUP_STATE_RUNNING);
  st.mutable_counters()->set_failovers(2);
  st.mutable_counters()->mutable_last_failover_duration()->set_nanos(250000000);
  st.mutable_counters()->set_late_heartbeats(3);
  (*st.mutable_counters()->mutable_auth_failures_by_source())["192.0.2.99"] = 5;
  (*st.mutable_dropped_packets())["bad-mac"] = 5;

  MetricsWriter w;
  w.AddReachable("pair \"1\"", "a", true);
  w.AddAgentStatus("pair \"1\"", st);
  w.AddClusterDrift("pair \"1\"", true);
  const std::string text = w.Render();
  for (const char* line : {
           "# TYPE ha_node_up gauge",
           "ha_node_up{cluster=\"pair \\\"1\\\"\",observer=\"a\",node=\"b\"} 0",
           "ha_node_dead{cluster=\"pair \\\"1\\\"\",observer=\"a\",node=\"b\"} 1",
           "ha_node_last_heard_seconds{cluster=\"pair \\\"1\\\"\",observer=\"a\",node=\"b\"} 12.5",
           "ha_link_up{cluster=\"pair \\\"1\\\"\",observer=\"a\",node=\"b\",link=\"eth1\"} 0",
           "ha_group_holder{cluster=\"pair \\\"1\\\"\",observer=\"a\",group=\"web\",node=\"a\"} 1",
           "# TYPE ha_failovers_total counter",
           "ha_failovers_total{cluster=\"pair \\\"1\\\"\",node=\"a\"} 2",
           "ha_last_failover_duration_seconds{cluster=\"pair \\\"1\\\"\",node=\"a\"} 0.25",
           "ha_late_heartbeats_total{cluster=\"pair \\\"1\\\"\",node=\"a\"} 3",
           "ha_auth_failures_total{cluster=\"pair \\\"1\\\"\",node=\"a\",source=\"192.0.2.99\"} 5",
           "ha_config_version{cluster=\"pair \\\"1\\\"\",node=\"a\"} 7",
           "ha_config_drift{cluster=\"pair \\\"1\\\"\",node=\"a\"} 1",
           "ha_cluster_config_drift{cluster=\"pair \\\"1\\\"\"} 1",
           "ha_agent_reachable{cluster=\"pair \\\"1\\\"\",node=\"a\"} 1",
       }) {
    EXPECT_TRUE(absl::StrContains(text, absl::StrCat(line, "\n"))) << line << "\n" << text;
  }
  // One HELP and one TYPE per family.
  EXPECT_EQ(text.find("# TYPE ha_node_up"), text.rfind("# TYPE ha_node_up"));
  EXPECT_EQ(MetricsWriter::EscapeLabel("a\\b\nc"), "a\\\\b\\nc");
}

}  // namespace
}  // namespace hacluster::controller
