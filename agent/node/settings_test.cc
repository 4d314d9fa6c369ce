#include "agent/node/settings.h"

#include <sys/utsname.h>

#include "absl/strings/match.h"
#include "agent/config/duration.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

spec::v1::ClusterSpec TwoNodes() {
  spec::v1::ClusterSpec s;
  s.add_nodes()->set_name("node01");
  s.add_nodes()->set_name("node02");
  return s;
}

TEST(SettingsTest, TimingDefaultsAreHeartbeats) {
  EffectiveTiming t = TimingOf(TwoNodes());
  EXPECT_EQ(t.keepalive, absl::Seconds(1));
  EXPECT_EQ(t.deadtime, absl::Seconds(30));
  EXPECT_EQ(t.warntime, absl::Seconds(15));
  EXPECT_EQ(t.initdead, absl::Seconds(60));
  EXPECT_EQ(t.deadping, absl::Seconds(30));
}

TEST(SettingsTest, HandoffWaitIsTwoKeepalivesAndTenMillisecondsAtMostDeadtime) {
  EffectiveTiming t;
  t.keepalive = absl::Milliseconds(5);
  t.deadtime = absl::Milliseconds(20);
  EXPECT_EQ(HandoffWait(t), absl::Milliseconds(20));
  t.deadtime = absl::Milliseconds(100);
  EXPECT_EQ(HandoffWait(t), absl::Milliseconds(20));
  t.keepalive = absl::Seconds(1);
  t.deadtime = absl::Seconds(30);
  EXPECT_EQ(HandoffWait(t), absl::Milliseconds(2010));
}

TEST(SettingsTest, WarntimeDefaultIsAtLeastKeepalive) {
  auto s = TwoNodes();
  *s.mutable_timing()->mutable_keepalive() = config::FromMs(5);
  *s.mutable_timing()->mutable_deadtime() = config::FromMs(8);
  EffectiveTiming t = TimingOf(s);
  EXPECT_EQ(t.warntime, absl::Milliseconds(5));
  EXPECT_EQ(t.initdead, absl::Milliseconds(16));
}

TEST(SettingsTest, GivenValuesWin) {
  auto s = TwoNodes();
  *s.mutable_timing()->mutable_keepalive() = config::FromMs(5);
  *s.mutable_timing()->mutable_warntime() = config::FromMs(12);
  *s.mutable_timing()->mutable_deadtime() = config::FromMs(20);
  *s.mutable_timing()->mutable_initdead() = config::FromMs(100);
  *s.mutable_connectivity()->mutable_deadping() = config::FromMs(15);
  EffectiveTiming t = TimingOf(s);
  EXPECT_EQ(t.keepalive, absl::Milliseconds(5));
  EXPECT_EQ(t.warntime, absl::Milliseconds(12));
  EXPECT_EQ(t.deadtime, absl::Milliseconds(20));
  EXPECT_EQ(t.initdead, absl::Milliseconds(100));
  EXPECT_EQ(t.deadping, absl::Milliseconds(15));
}

TEST(SettingsTest, UnknownNodeListsTheNodes) {
  auto name = LocalNodeName(TwoNodes(), "node09");
  ASSERT_FALSE(name.ok());
  EXPECT_TRUE(absl::StrContains(name.status().message(), "\"node09\" (--node)"));
  EXPECT_TRUE(absl::StrContains(name.status().message(), "node01, node02"));
  EXPECT_EQ(*LocalNodeName(TwoNodes(), "node02"), "node02");
}

TEST(SettingsTest, DefaultNodeIsTheHostName) {
  struct utsname u;
  ASSERT_EQ(uname(&u), 0);
  auto s = TwoNodes();
  auto name = LocalNodeName(s, "");
  ASSERT_FALSE(name.ok());
  EXPECT_TRUE(absl::StrContains(name.status().message(), "uname -n"));
  s.add_nodes()->set_name(u.nodename);
  EXPECT_EQ(*LocalNodeName(s, ""), u.nodename);
}

TEST(SettingsTest, SocketDefaultsIntoTheStateDir) {
  auto s = TwoNodes();
  EXPECT_EQ(ApiSocketPath(s, "/var/lib/ha-agent"), "/var/lib/ha-agent/agent.sock");
  s.mutable_api()->set_unix_socket("/run/ha.sock");
  EXPECT_EQ(ApiSocketPath(s, "/var/lib/ha-agent"), "/run/ha.sock");
}

TEST(SettingsTest, ApiListenOwnAddressesAreTheLocalNodesAndOthersStayAsWritten) {
  auto s = TwoNodes();
  EXPECT_TRUE(ApiListenAddresses(s, "node01")->empty());
  for (auto& n : *s.mutable_nodes()) n.clear_addresses();
  s.mutable_nodes(0)->add_addresses("192.0.2.11");
  s.mutable_nodes(0)->add_addresses("2001:db8::11");
  s.mutable_nodes(1)->add_addresses("192.0.2.12");
  s.mutable_api()->add_listen(":7443");
  s.mutable_api()->add_listen("[::]:7444");
  EXPECT_EQ(*ApiListenAddresses(s, "node01"),
            (std::vector<std::string>{"192.0.2.11:7443", "[2001:db8::11]:7443", "[::]:7444"}));
  EXPECT_EQ(*ApiListenAddresses(s, "node02"),
            (std::vector<std::string>{"192.0.2.12:7443", "[::]:7444"}));
  s.mutable_nodes(1)->clear_addresses();
  auto none = ApiListenAddresses(s, "node02");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(absl::StrContains(none.status().message(), "api.listen[0] ':7443'"))
      << none.status();
}

TEST(SettingsTest, PingTargetsListNodesThenGroupHosts) {
  auto s = TwoNodes();
  s.mutable_connectivity()->add_ping_nodes("192.0.2.1");
  auto* g = s.mutable_connectivity()->add_ping_groups();
  g->set_name("routers");
  g->add_hosts("192.0.2.2");
  g->add_hosts("192.0.2.3");
  auto t = PingTargets(s);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], std::make_pair(std::string(), std::string("192.0.2.1")));
  EXPECT_EQ(t[2], std::make_pair(std::string("routers"), std::string("192.0.2.3")));
}

TEST(SettingsTest, SpecHashIsSixteenBytesThatChangeWithTheSpec) {
  spec::v1::ClusterSpec a;
  a.set_cluster_name("c");
  a.set_config_version(1);
  a.add_nodes()->set_name("node01");
  spec::v1::ClusterSpec b = a;
  EXPECT_EQ(SpecHash(a).size(), 16u);
  EXPECT_EQ(SpecHash(a), SpecHash(b));
  b.mutable_nodes(0)->add_addresses("192.0.2.1");
  EXPECT_NE(SpecHash(a), SpecHash(b));
  (*a.mutable_nodes(0)->mutable_labels())["x"] = "1";
  (*a.mutable_nodes(0)->mutable_labels())["y"] = "2";
  spec::v1::ClusterSpec c = a;
  c.mutable_nodes(0)->mutable_labels()->clear();
  (*c.mutable_nodes(0)->mutable_labels())["y"] = "2";
  (*c.mutable_nodes(0)->mutable_labels())["x"] = "1";
  EXPECT_EQ(SpecHash(a), SpecHash(c));  // map order does not matter
  EXPECT_EQ(Hex(std::string("\x01\xab\xff", 3)), "01abff");
}

TEST(SettingsTest, InlineSecretsNeverTravelAndComeBackFromTheNodesOwnSpec) {
  spec::v1::ClusterSpec own;
  auto* k1 = own.mutable_auth()->add_keys();
  k1->set_id(1);
  k1->set_secret("s3cret-one");
  auto* k2 = own.mutable_auth()->add_keys();
  k2->set_id(2);
  k2->set_secret_file("/etc/ha-agent/authkey");
  const spec::v1::ClusterSpec sent = RedactSecrets(own);
  EXPECT_EQ(sent.auth().keys(0).secret(), kSecretNotSent);
  EXPECT_EQ(sent.auth().keys(1).secret_file(), "/etc/ha-agent/authkey");
  EXPECT_EQ(sent.DebugString().find("s3cret"), std::string::npos);

  spec::v1::ClusterSpec fetched = sent;
  fetched.set_config_version(2);
  ASSERT_TRUE(RestoreSecrets(own, &fetched).ok());
  EXPECT_EQ(fetched.auth().keys(0).secret(), "s3cret-one");
  EXPECT_EQ(SpecHash(fetched), SpecHash([&] {
              spec::v1::ClusterSpec v2 = own;
              v2.set_config_version(2);
              return v2;
            }()));

  // A key this node does not have cannot be caught up with.
  spec::v1::ClusterSpec more = sent;
  auto* k3 = more.mutable_auth()->add_keys();
  k3->set_id(3);
  k3->set_secret(kSecretNotSent);
  absl::Status s = RestoreSecrets(own, &more);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(s.message(), "auth key 3 has an inline secret")) << s;
}

}  // namespace
}  // namespace hacluster::agent
