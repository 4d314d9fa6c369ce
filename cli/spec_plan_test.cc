#include "cli/spec_plan.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hacluster::cli {
namespace {

using Lines = std::vector<std::string>;

spec::v1::ClusterSpec Spec() {
  spec::v1::ClusterSpec s;
  s.set_cluster_name("c");
  s.set_config_version(1);
  s.add_nodes()->set_name("node01");
  s.add_nodes()->set_name("node02");
  auto* g = s.add_groups();
  g->set_name("web");
  g->set_preferred_node("node01");
  g->add_resources()->mutable_ip()->set_address("192.0.2.50");
  g->add_resources()->mutable_lsb()->set_name("apache2");
  return s;
}

const std::map<std::string, std::string> kWebOnNode01 = {{"web", "node01"}};

TEST(SpecPlanTest, NothingChangesForTheSameSpecAtTheNextVersion) {
  spec::v1::ClusterSpec next = Spec();
  next.set_config_version(2);
  EXPECT_EQ(PlanForNode(Spec(), next, "node01", kWebOnNode01), Lines{"nothing changes"});
}

TEST(SpecPlanTest, TheHolderBouncesOnlyWhatChangesTheOthersTakeTheDefinition) {
  spec::v1::ClusterSpec next = Spec();
  next.mutable_groups(0)->mutable_resources(0)->mutable_ip()->set_address("192.0.2.51");
  next.mutable_groups(0)->add_resources()->mutable_lsb()->set_name("billing");
  EXPECT_EQ(PlanForNode(Spec(), next, "node01", kWebOnNode01),
            Lines{"web: stop ip 192.0.2.50; start ip 192.0.2.51, lsb billing"});
  EXPECT_EQ(PlanForNode(Spec(), next, "node02", kWebOnNode01),
            Lines{"web: not running here: takes the new definition"});
  next = Spec();
  next.mutable_groups(0)->mutable_resources(1)->mutable_start_timeout()->set_seconds(60);
  EXPECT_EQ(PlanForNode(Spec(), next, "node01", kWebOnNode01), Lines{"web: restart lsb apache2"});
}

TEST(SpecPlanTest, ANewPreferredNodeMovesTheGroupOnlyWithFailback) {
  spec::v1::ClusterSpec next = Spec();
  next.mutable_groups(0)->set_preferred_node("node02");
  EXPECT_EQ(PlanForNode(Spec(), next, "node01", kWebOnNode01),
            Lines{"web: no resource bounced; preferred node node01 -> node02 (stays where it "
                  "runs: auto_failback off)"});
  next.set_auto_failback(spec::v1::AUTO_FAILBACK_ON);
  auto lines = PlanForNode(Spec(), next, "node01", kWebOnNode01);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "web: no resource bounced; moves from node01 to node02 (new preferred node, "
            "auto_failback on)");
  EXPECT_EQ(lines[1], "node settings: other settings");
}

TEST(SpecPlanTest, GroupsAddedAndRemovedAndNodeSettings) {
  spec::v1::ClusterSpec next = Spec();
  next.clear_groups();
  auto* db = next.add_groups();
  db->set_name("db");
  db->set_preferred_node("node02");
  db->add_resources()->mutable_lsb()->set_name("postgresql");
  next.mutable_timing()->mutable_deadtime()->set_seconds(10);
  next.set_udp_port(695);
  EXPECT_EQ(PlanForNode(Spec(), next, "node02", kWebOnNode01),
            (Lines{"db: new group (started where placement puts it: preferred here)",
                   "web: removed", "node settings: media reopened, timing"}));
  EXPECT_EQ(PlanForNode(Spec(), next, "node01", kWebOnNode01)[1], "web: removed (stopped here)");
}

}  // namespace
}  // namespace hacluster::cli
