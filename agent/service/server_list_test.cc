#include "agent/service/server_list.h"

#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

v1::GetStatusResponse ThreeNodes() {
  v1::GetStatusResponse st;
  st.set_local_node("node02");
  const char* names[] = {"node01", "node02", "node03"};
  const v1::NodeState states[] = {v1::NODE_STATE_UP, v1::NODE_STATE_UP, v1::NODE_STATE_DEAD};
  for (int i = 0; i < 3; ++i) {
    v1::NodeStatus* n = st.add_nodes();
    n->set_name(names[i]);
    n->set_state(states[i]);
    n->add_addresses(std::string("192.0.2.1") + std::to_string(i + 1));
    (*n->mutable_labels())["gui_server_id"] = std::to_string(i + 1);
    n->set_config_version(7);
  }
  v1::GroupStatus* web = st.add_groups();
  web->set_name("web");
  web->set_holder("node01");
  web->add_addresses("192.0.2.50");
  web->add_addresses("192.0.2.51");
  v1::GroupStatus* db = st.add_groups();
  db->set_name("db");
  db->set_holder("node03");  // its last claim before it died
  db->add_addresses("192.0.2.60");
  return st;
}

TEST(ServerListTest, EveryNodeWithItsRoleGroupsAndVips) {
  v1::ListServersResponse r = ServerList(ThreeNodes());
  EXPECT_EQ(r.answered_by(), "node02");
  ASSERT_EQ(r.nodes_size(), 3);
  const v1::Server& a = r.nodes(0);
  EXPECT_EQ(a.name(), "node01");
  EXPECT_EQ(a.state(), "up");
  EXPECT_EQ(a.role(), "active");
  EXPECT_EQ(std::vector<std::string>(a.groups().begin(), a.groups().end()),
            std::vector<std::string>{"web"});
  EXPECT_EQ(std::vector<std::string>(a.vips().begin(), a.vips().end()),
            (std::vector<std::string>{"192.0.2.50", "192.0.2.51"}));
  EXPECT_EQ(a.labels().at("gui_server_id"), "1");
  EXPECT_EQ(a.addresses(0), "192.0.2.11");
  EXPECT_EQ(a.config_version(), 7u);
  EXPECT_EQ(r.nodes(1).role(), "standby");
  EXPECT_TRUE(r.nodes(1).vips().empty());
  // A dead node holds nothing, whatever it claimed last.
  EXPECT_EQ(r.nodes(2).state(), "dead");
  EXPECT_EQ(r.nodes(2).role(), "down");
  EXPECT_TRUE(r.nodes(2).groups().empty());
}

TEST(ServerListTest, UnknownNodeIsDown) {
  v1::GetStatusResponse st = ThreeNodes();
  st.mutable_nodes(0)->set_state(v1::NODE_STATE_UNKNOWN);
  v1::ListServersResponse r = ServerList(st);
  EXPECT_EQ(r.nodes(0).state(), "unknown");
  EXPECT_EQ(r.nodes(0).role(), "down");
}

}  // namespace
}  // namespace hacluster::agent
