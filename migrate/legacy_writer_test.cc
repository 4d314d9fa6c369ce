#include "migrate/legacy_writer.h"

#include "absl/strings/match.h"
#include "agent/config/duration.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "migrate/authkeys_parser.h"
#include "migrate/converter.h"

namespace hacluster::migrate {
namespace {

using spec::v1::ClusterSpec;

ClusterSpec Base() {
  ClusterSpec s;
  s.set_cluster_name("c");
  s.add_nodes()->set_name("a");
  s.add_nodes()->set_name("b");
  auto* k = s.mutable_auth()->add_keys();
  k->set_id(1);
  k->set_method(spec::v1::AUTH_METHOD_SHA1);
  k->set_secret("s");
  s.mutable_auth()->set_active_key(1);
  return s;
}

// Converts written files back (single directory).
MigrateResult Back(const LegacyFiles& f) {
  LegacyText t;
  t.ha_cf = f.ha_cf;
  t.haresources = f.haresources;
  t.authkeys = f.authkeys;
  MigrateOptions o;
  o.cluster_name = "c";
  return ConvertLegacy(t, o);
}

TEST(LegacyWriterTest, WritesEveryDirective) {
  ClusterSpec s = Base();
  *s.mutable_timing()->mutable_keepalive() = config::FromMs(500);
  *s.mutable_timing()->mutable_deadtime() = config::FromMs(10000);
  s.mutable_logging()->set_syslog_facility("local0");
  s.set_auto_failback(spec::v1::AUTO_FAILBACK_OFF);
  s.mutable_media()->Add()->mutable_mcast()->set_interface("bond0");
  s.mutable_media(0)->mutable_mcast()->set_group("225.0.0.1");
  s.mutable_media(0)->mutable_mcast()->set_port(694);
  s.mutable_media(0)->mutable_mcast()->set_ttl(2);
  auto* g = s.add_groups();
  g->set_name("group1");
  g->set_preferred_node("a");
  g->add_resources()->mutable_heartbeat()->set_name("drbddisk");
  auto* fs = g->add_resources()->mutable_ocf();
  fs->set_provider("heartbeat");
  fs->set_type("Filesystem");
  (*fs->mutable_params())["device"] = "/dev/drbd0";
  (*fs->mutable_params())["directory"] = "/drbd";
  (*fs->mutable_params())["fstype"] = "ext3";
  g->add_resources()->mutable_lsb()->set_name("mysql");
  g->add_resources()->mutable_ip()->set_address("10.0.0.100");
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "keepalive 500ms\ndeadtime 10\n")) << f->ha_cf;
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "mcast bond0 225.0.0.1 694 2 0\n")) << f->ha_cf;
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "auto_failback off\nnode a\nnode b\n")) << f->ha_cf;
  EXPECT_TRUE(absl::StrContains(
      f->haresources, "\na drbddisk Filesystem::/dev/drbd0::/drbd::ext3 mysql 10.0.0.100\n"))
      << f->haresources;
  EXPECT_EQ(f->authkeys, "auth 1\n1 sha1 s\n");
  MigrateResult back = Back(*f);
  ASSERT_TRUE(back.ok()) << config::FormatDiagnostics(back.diagnostics);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back.spec, s))
      << back.spec.DebugString() << "\nvs\n" << s.DebugString();
}

// Heartbeat 1 acts on ping nodes only through ipfail: the way back starts
// it, and the converter drops it again (the spec comes back the same).
TEST(LegacyWriterTest, PingNodesComeWithIpfail) {
  ClusterSpec s = Base();
  s.mutable_connectivity()->add_ping_nodes("192.0.2.1");
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(f->ha_cf,
                                "ping 192.0.2.1\n"
                                "respawn hacluster /usr/libexec/heartbeat/ipfail\n"
                                "apiauth ipfail gid=haclient uid=hacluster\n"))
      << f->ha_cf;
  MigrateResult back = Back(*f);
  ASSERT_TRUE(back.ok()) << config::FormatDiagnostics(back.diagnostics);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back.spec, s))
      << back.spec.DebugString();
  ClusterSpec none = Base();
  f = SpecToLegacy(none, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(absl::StrContains(f->ha_cf, "ipfail")) << f->ha_cf;
}

TEST(LegacyWriterTest, IpForms) {
  ClusterSpec s = Base();
  auto* g = s.add_groups();
  g->set_name("group1");
  g->set_preferred_node("b");
  auto add = [&](const char* addr, uint32_t prefix, const char* iface, const char* bcast) {
    auto* ip = g->add_resources()->mutable_ip();
    ip->set_address(addr);
    ip->set_prefix_length(prefix);
    ip->set_interface(iface);
    ip->set_broadcast(bcast);
  };
  add("192.168.85.3", 27, "", "192.168.85.16");
  add("10.0.0.1", 0, "eth1", "");
  add("10.0.0.2", 24, "eth1", "10.0.0.255");
  add("10.0.0.3", 0, "", "10.0.0.255");
  add("2001:db8::10", 64, "eth0", "");
  add("2001:db8::11", 0, "", "");
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "b");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(f->haresources,
                                "b 192.168.85.3/27/192.168.85.16 10.0.0.1//eth1 "
                                "10.0.0.2/24/eth1/10.0.0.255 10.0.0.3//10.0.0.255 "
                                "IPv6addr::2001:db8::10/64/eth0 IPv6addr::2001:db8::11\n"))
      << f->haresources;
  MigrateResult back = Back(*f);
  ASSERT_TRUE(back.ok()) << config::FormatDiagnostics(back.diagnostics);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back.spec, s))
      << back.spec.DebugString();
}

TEST(LegacyWriterTest, UdpportLinesReproduceEachMediumsPort) {
  ClusterSpec s = Base();
  s.set_udp_port(800);
  auto* m0 = s.add_media()->mutable_ucast();
  m0->set_interface("eth0");
  m0->set_port(694);
  m0->add_peers("10.0.0.2");
  auto* m1 = s.add_media()->mutable_bcast();
  m1->set_interface("eth1");
  m1->set_port(700);
  s.add_media()->mutable_bcast()->set_interface("eth2");
  s.mutable_media(2)->mutable_bcast()->set_port(700);
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(
      f->ha_cf, "ucast eth0 10.0.0.2\nudpport 700\nbcast eth1\nbcast eth2\nudpport 800\n"))
      << f->ha_cf;
  MigrateResult back = Back(*f);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back.spec, s))
      << back.spec.DebugString();
}

// Heartbeat has one port per medium type: a spec with two bcast ports has
// no ha.cf form.
TEST(LegacyWriterTest, TwoPortsForOneMediumTypeAreAnError) {
  ClusterSpec s = Base();
  s.add_media()->mutable_bcast()->set_interface("eth1");
  s.add_media()->mutable_bcast()->set_interface("eth2");
  s.mutable_media(1)->mutable_bcast()->set_port(700);
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(absl::StrContains(f.status().message(),
                                "media[1] is a bcast on port 700 but media[0] is one on port "
                                "694"))
      << f.status();
}

TEST(LegacyWriterTest, UcastAddressesFromOtherNodes) {
  ClusterSpec s = Base();
  s.mutable_nodes(0)->add_addresses("10.0.0.1");
  s.mutable_nodes(0)->add_addresses("10.0.1.1");
  s.mutable_nodes(1)->add_addresses("10.0.0.2");
  s.mutable_nodes(1)->add_addresses("10.0.1.2");
  s.add_media()->mutable_ucast()->set_interface("eth0");
  s.add_media()->mutable_ucast()->set_interface("eth1");
  absl::StatusOr<LegacyFiles> a = SpecToLegacy(s, "a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(absl::StrContains(a->ha_cf, "ucast eth0 10.0.0.2\nucast eth1 10.0.1.2\n"))
      << a->ha_cf;
  // Not one address per medium: every address on every medium.
  s.mutable_nodes(0)->add_addresses("10.0.2.1");
  absl::StatusOr<LegacyFiles> b = SpecToLegacy(s, "b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(absl::StrContains(b->ha_cf,
                                "ucast eth0 10.0.0.1\nucast eth0 10.0.1.1\nucast eth0 "
                                "10.0.2.1\nucast eth1 10.0.0.1\n"))
      << b->ha_cf;
}

TEST(LegacyWriterTest, ThingsHeartbeatCannotExpressAreErrors) {
  auto expect_error = [](const ClusterSpec& s, const std::string& node, const char* text) {
    absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, node);
    ASSERT_FALSE(f.ok()) << text;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(f.status().message(), text)) << f.status();
  };
  expect_error(Base(), "zz", "node 'zz' is not in the spec (nodes: a, b)");
  ClusterSpec sha256 = Base();
  sha256.mutable_auth()->mutable_keys(0)->set_method(spec::v1::AUTH_METHOD_SHA256);
  expect_error(sha256, "a", "Heartbeat's authkeys has no sha256");
  ClusterSpec ocf = Base();
  auto* g = ocf.add_groups();
  g->set_name("group1");
  g->set_preferred_node("a");
  g->add_resources()->mutable_ocf()->set_type("IPaddr2");
  expect_error(ocf, "a", "OCF agent heartbeat/IPaddr2 has no haresources form");
  ClusterSpec fence = Base();
  fence.mutable_fencing()->add_command("/usr/sbin/fence");
  expect_error(fence, "a", "fencing.command has no ha.cf equivalent");
  ClusterSpec lonely = Base();
  lonely.add_media()->mutable_ucast()->set_interface("eth0");
  expect_error(lonely, "a", "media[0].ucast has no peers");
  ClusterSpec bauds = Base();
  bauds.add_media()->mutable_serial()->set_device("/dev/ttyS0");
  bauds.mutable_media(0)->mutable_serial()->set_baud(9600);
  bauds.add_media()->mutable_serial()->set_device("/dev/ttyS1");
  bauds.mutable_media(1)->mutable_serial()->set_baud(19200);
  expect_error(bauds, "a", "different baud rates");
  ClusterSpec ipiface = Base();
  auto* vip = ipiface.add_groups();
  vip->set_name("g");
  vip->set_preferred_node("a");
  vip->add_resources()->mutable_ip()->set_address("192.0.2.10");
  vip->mutable_resources(0)->mutable_ip()->set_interface("192.0.2.1");
  expect_error(ipiface, "a", "interface '192.0.2.1' cannot be written in haresources");
  ClusterSpec blank = Base();
  blank.mutable_auth()->mutable_keys(0)->set_secret("two words");
  expect_error(blank, "a", "reads the secret as one word");
  ClusterSpec file = Base();
  file.mutable_auth()->mutable_keys(0)->set_secret("");
  file.mutable_auth()->mutable_keys(0)->set_secret_file("/etc/key");
  expect_error(file, "a", "needs it inline");
}

// Heartbeat's authkeys treats only a line starting with '#' as a comment.
TEST(LegacyWriterTest, SecretWithHashIsWrittenAndReadBack) {
  ClusterSpec s = Base();
  s.mutable_auth()->mutable_keys(0)->set_secret("a#b");
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(f->authkeys, " a#b\n")) << f->authkeys;
  AuthkeysParse back = ParseAuthkeys(f->authkeys, "authkeys");
  ASSERT_EQ(back.auth.keys_size(), 1);
  EXPECT_EQ(back.auth.keys(0).secret(), "a#b");
}

// The writer follows agent/config/ucast_peers.h: a medium with listed peers
// does not count when pairing the other media with node addresses.
TEST(LegacyWriterTest, UcastPairingIgnoresMediaWithPeers) {
  ClusterSpec s = Base();
  s.mutable_nodes(0)->add_addresses("192.0.2.1");
  s.mutable_nodes(0)->add_addresses("198.51.100.1");
  s.mutable_nodes(1)->add_addresses("192.0.2.2");
  s.mutable_nodes(1)->add_addresses("198.51.100.2");
  auto* listed = s.add_media()->mutable_ucast();
  listed->set_interface("eth0");
  listed->add_peers("203.0.113.5");
  s.add_media()->mutable_ucast()->set_interface("eth1");
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(f->ha_cf,
                                "ucast eth0 203.0.113.5\nucast eth1 192.0.2.2\n"
                                "ucast eth1 198.51.100.2\n"))
      << f->ha_cf;
}

TEST(LegacyWriterTest, DroppedSettingsAreListed) {
  ClusterSpec s = Base();
  (*s.mutable_nodes(0)->mutable_labels())["server_id"] = "1";
  auto* g = s.add_groups();
  g->set_name("web");
  g->set_preferred_node("a");
  auto* r = g->add_resources();
  r->mutable_lsb()->set_name("httpd");
  *r->mutable_monitor_interval() = config::FromMs(10000);
  absl::StatusOr<LegacyFiles> f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  std::string all;
  for (const std::string& d : f->dropped) all += d + "\n";
  EXPECT_TRUE(absl::StrContains(all, "nodes[0].labels")) << all;
  EXPECT_TRUE(absl::StrContains(all, "groups[0].name 'web'")) << all;
  EXPECT_TRUE(absl::StrContains(all, "groups[0].resources[0].monitor_interval")) << all;
  EXPECT_TRUE(absl::StrContains(all, "cluster_name: Heartbeat's files carry no cluster name; "
                                     "converted back they give 'a-b' unless hacli migrate "
                                     "is given --cluster-name c"))
      << all;
  s.set_cluster_name("a-b");  // the derived name: nothing is lost
  f = SpecToLegacy(s, "a");
  ASSERT_TRUE(f.ok()) << f.status();
  for (const std::string& d : f->dropped) EXPECT_FALSE(absl::StartsWith(d, "cluster_name")) << d;
}

}  // namespace
}  // namespace hacluster::migrate
