#include "controller/cluster_view.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

CatalogCluster Cluster() {
  CatalogCluster c;
  c.name = "pair";
  c.spec.set_config_version(4);
  c.nodes = {{"a", {"192.0.2.11:7443"}}, {"b", {"192.0.2.12:7443"}}};
  c.group_addresses = {{"web", {"192.0.2.100"}}};
  return c;
}

// A's or b's view: both up, web held by `holder`.
v1::NodeView View(const std::string& self, const std::string& holder, uint64_t version = 4,
                  const std::string& hash = "h4") {
  v1::NodeView v;
  v.set_node(self);
  v.set_reachable(true);
  av1::GetStatusResponse* st = v.mutable_status();
  st->set_local_node(self);
  st->set_config_version(version);
  st->set_config_hash(hash);
  for (const char* n : {"a", "b"}) {
    av1::NodeStatus* ns = st->add_nodes();
    ns->set_name(n);
    ns->set_state(av1::NODE_STATE_UP);
    ns->set_local(self == n);
  }
  av1::GroupStatus* g = st->add_groups();
  g->set_name("web");
  g->set_holder(holder);
  g->set_state(holder.empty() ? av1::GROUP_STATE_STOPPED : av1::GROUP_STATE_RUNNING);
  return v;
}

TEST(ClusterViewTest, AgreedHolderAndNoDrift) {
  v1::ClusterStatus st = BuildClusterStatus(Cluster(), {View("a", "a"), View("b", "a")});
  ASSERT_EQ(st.holders_size(), 1);
  EXPECT_EQ(st.holders(0).holder(), "a");
  EXPECT_EQ(st.holders(0).state(), av1::GROUP_STATE_RUNNING);
  EXPECT_TRUE(st.holders(0).disagreement().empty());
  EXPECT_FALSE(st.config_drift());
  v1::ClusterSummary s = Summarize(Cluster(), st);
  EXPECT_EQ(s.nodes_reachable(), 2u);
  EXPECT_EQ(s.nodes_up(), 2u);
  EXPECT_EQ(s.groups_held(), 1u);
  std::optional<v1::WhereResponse> w = WhereIn(Cluster(), st, "192.0.2.100");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->holder(), "a");
  EXPECT_EQ(w->group(), "web");
  EXPECT_TRUE(WhereIn(Cluster(), st, "web").has_value());
  EXPECT_FALSE(WhereIn(Cluster(), st, "192.0.2.200").has_value());
}

TEST(ClusterViewTest, DisagreementIsShownAndTheHoldersOwnWordWinsATie) {
  v1::ClusterStatus st = BuildClusterStatus(Cluster(), {View("a", ""), View("b", "b")});
  EXPECT_EQ(st.holders(0).holder(), "b");
  EXPECT_TRUE(absl::StrContains(st.holders(0).disagreement(), "a sees none")) << st.DebugString();
}

TEST(ClusterViewTest, AnUnreachableNodeCountsForNothing) {
  v1::NodeView b;
  b.set_node("b");
  b.set_error("connection refused");
  v1::ClusterStatus st = BuildClusterStatus(Cluster(), {View("a", "a"), b});
  EXPECT_EQ(st.holders(0).holder(), "a");
  EXPECT_EQ(Summarize(Cluster(), st).nodes_reachable(), 1u);
  EXPECT_EQ(st.nodes(1).error(), "connection refused");
}

TEST(ClusterViewTest, DifferentVersionsOrFlagsAreDrift) {
  v1::ClusterStatus st =
      BuildClusterStatus(Cluster(), {View("a", "a", 5, "h5"), View("b", "a", 4, "h4")});
  EXPECT_TRUE(st.config_drift());
  ASSERT_GE(st.drift_size(), 1);
  EXPECT_TRUE(absl::StrContains(st.drift(0), "a runs config version 5")) << st.drift(0);

  v1::NodeView a = View("a", "a");
  a.mutable_status()->mutable_nodes(1)->set_config_drift(true);
  a.mutable_status()->mutable_nodes(1)->set_config_version(4);
  st = BuildClusterStatus(Cluster(), {a, View("b", "a")});
  EXPECT_TRUE(st.config_drift());
  EXPECT_TRUE(absl::StrContains(st.drift(0), "a sees b run config version 4")) << st.drift(0);
}

}  // namespace
}  // namespace hacluster::controller
