#include "agent/config/ucast_peers.h"

#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

using spec::v1::ClusterSpec;
using Addresses = std::vector<std::string>;

ClusterSpec TwoNodes(const Addresses& a, const Addresses& b) {
  ClusterSpec s;
  auto* na = s.add_nodes();
  na->set_name("a");
  for (const auto& x : a) na->add_addresses(x);
  auto* nb = s.add_nodes();
  nb->set_name("b");
  for (const auto& x : b) nb->add_addresses(x);
  return s;
}

TEST(UcastPeersTest, PeerlessMediaPairWithAddressesByPosition) {
  ClusterSpec s = TwoNodes({"192.0.2.1", "198.51.100.1"}, {"192.0.2.2", "198.51.100.2"});
  s.add_media()->mutable_ucast()->set_interface("eth0");
  s.add_media()->mutable_serial()->set_device("/dev/ttyS0");
  s.add_media()->mutable_ucast()->set_interface("eth1");
  EXPECT_TRUE(UcastMediaPairByPosition(s));
  EXPECT_EQ(UcastDestinations(s, "a", 0), Addresses{"192.0.2.2"});
  EXPECT_EQ(UcastDestinations(s, "a", 2), Addresses{"198.51.100.2"});
  EXPECT_EQ(UcastDestinations(s, "b", 2), Addresses{"198.51.100.1"});
  EXPECT_EQ(UcastDestinations(s, "a", 1), Addresses{});  // serial
}

TEST(UcastPeersTest, UnevenAddressesGoToEveryPeerlessMedium) {
  ClusterSpec s = TwoNodes({"192.0.2.1", "198.51.100.1"}, {"192.0.2.2"});
  s.add_media()->mutable_ucast()->set_interface("eth0");
  s.add_media()->mutable_ucast()->set_interface("eth1");
  EXPECT_FALSE(UcastMediaPairByPosition(s));
  EXPECT_EQ(UcastDestinations(s, "a", 1), Addresses{"192.0.2.2"});
  EXPECT_EQ(UcastDestinations(s, "b", 0), (Addresses{"192.0.2.1", "198.51.100.1"}));
}

// A medium with peers does not count among the peer-less ones.
TEST(UcastPeersTest, MediaWithPeersSkipTheSendersOwnAddresses) {
  ClusterSpec s = TwoNodes({"192.0.2.1"}, {"192.0.2.2"});
  auto* listed = s.add_media()->mutable_ucast();
  listed->add_peers("192.0.2.1");
  listed->add_peers("192.0.2.2");
  listed->add_peers("203.0.113.9");
  s.add_media()->mutable_ucast()->set_interface("eth1");
  EXPECT_TRUE(UcastMediaPairByPosition(s));  // one peer-less medium, one address each
  EXPECT_EQ(UcastDestinations(s, "a", 0), (Addresses{"192.0.2.2", "203.0.113.9"}));
  EXPECT_EQ(UcastDestinations(s, "b", 0), (Addresses{"192.0.2.1", "203.0.113.9"}));
  EXPECT_EQ(UcastDestinations(s, "a", 1), Addresses{"192.0.2.2"});
}

}  // namespace
}  // namespace hacluster::config
