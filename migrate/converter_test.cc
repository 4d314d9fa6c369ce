#include "migrate/converter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/config/duration.h"
#include "gtest/gtest.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

using config::Location;
using config::Severity;

constexpr char kAuth[] = "auth 1\n1 sha1 3c6e0b8a9c15224a8228b9a98ca1531d\n";

LegacyText Text(std::string ha_cf, std::string haresources = "",
                std::string authkeys = kAuth) {
  LegacyText t;
  t.ha_cf = std::move(ha_cf);
  t.haresources = std::move(haresources);
  t.authkeys = std::move(authkeys);
  return t;
}

std::string All(const MigrateResult& r) { return config::FormatDiagnostics(r.diagnostics); }

TEST(ConverterTest, UdpportAfterUcastWarnsWithLine) {
  MigrateResult r = ConvertLegacy(Text("node a b\n"
                                       "keepalive 2\n"
                                       "deadtime 10\n"
                                       "# media\n"
                                       "\n"
                                       "ucast eth0 10.0.0.2\n"
                                       "udpport 496\n"
                                       "bcast eth1\n"
                                       "ucast eth0 10.0.0.1\n"),
                                  {});
  ASSERT_EQ(CountSeverity(r.diagnostics, Severity::kError), 0) << All(r);
  ASSERT_EQ(r.diagnostics.size(), 1u) << All(r);
  EXPECT_EQ(config::FormatDiagnostic(r.diagnostics[0]),
            "ha.cf:7: warning: udpport 496 comes after the first ucast line (line 6); "
            "Heartbeat reads udpport once per medium type, at its first line, so every ucast "
            "medium keeps port 694");
  EXPECT_EQ(r.spec.udp_port(), 496u);
  ASSERT_EQ(r.spec.media_size(), 2);
  EXPECT_EQ(r.spec.media(0).ucast().port(), 694u);
  EXPECT_EQ(r.spec.media(1).bcast().port(), 0u);  // takes udp_port
  EXPECT_EQ(r.source_map.Find("udp_port"), (Location{"ha.cf", 7, 0}));
  EXPECT_EQ(r.source_map.Find("media[0].ucast.interface"), (Location{"ha.cf", 6, 0}));
  EXPECT_EQ(r.source_map.Find("media[1].bcast.interface"), (Location{"ha.cf", 8, 0}));
}

// Heartbeat's ucast and bcast plugins each read udpport once, at their first
// line; mcast lines name their own port.
TEST(ConverterTest, UdpportIsFixedAtTheFirstLineOfEachMediumType) {
  MigrateResult r = ConvertLegacy(Text("node a b\n"
                                       "udpport 600\n"
                                       "ucast eth0 10.0.0.2\n"
                                       "udpport 700\n"
                                       "bcast eth1 eth2\n"
                                       "udpport 800\n"
                                       "ucast eth3 10.0.0.3\n"
                                       "mcast eth4 225.0.0.1 694 1 0\n"),
                                  {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 4,
                            "udpport 700 comes after the first ucast line (line 3)"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 6,
                            "udpport 800 comes after the first bcast line (line 5); Heartbeat "
                            "reads udpport once per medium type, at its first line, so every "
                            "bcast medium keeps port 700"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 6,
                            "so every ucast medium keeps port 600"))
      << All(r);
  EXPECT_EQ(r.spec.udp_port(), 800u);
  ASSERT_EQ(r.spec.media_size(), 5);
  EXPECT_EQ(r.spec.media(0).ucast().port(), 600u);
  EXPECT_EQ(r.spec.media(1).bcast().port(), 700u);
  EXPECT_EQ(r.spec.media(2).bcast().interface(), "eth2");
  EXPECT_EQ(r.spec.media(2).bcast().port(), 700u);
  EXPECT_EQ(r.spec.media(3).ucast().port(), 600u);  // not 800: fixed at line 3
  EXPECT_EQ(r.spec.media(4).mcast().port(), 694u);
}

TEST(ConverterTest, NoUdpportLeavesPortUnset) {
  MigrateResult r = ConvertLegacy(Text("node a b\nbcast eth0\n"), {});
  EXPECT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.udp_port(), 0u);
  EXPECT_EQ(r.spec.media(0).bcast().port(), 0u);
}

TEST(ConverterTest, TimingWithMsUnitsAndOnlyPresentFields) {
  MigrateResult r = ConvertLegacy(
      Text("node a\nkeepalive 500ms\ndeadtime 10\ninitdead 1.5\nbcast eth0\n"), {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(config::ToMs(r.spec.timing().keepalive()), 500);
  EXPECT_EQ(config::ToMs(r.spec.timing().deadtime()), 10000);
  EXPECT_EQ(config::ToMs(r.spec.timing().initdead()), 1500);
  EXPECT_FALSE(r.spec.timing().has_warntime());
  EXPECT_EQ(r.source_map.Find("timing.deadtime"), (Location{"ha.cf", 3, 0}));
}

TEST(ConverterTest, BadDurationIsAnError) {
  MigrateResult r = ConvertLegacy(Text("node a\ndeadtime 10x\n"), {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2,
                            "deadtime: '10x' has an unknown unit"))
      << All(r);
}

TEST(ConverterTest, RepeatedDirectiveWarnsLastWins) {
  MigrateResult r = ConvertLegacy(Text("node a\ndeadtime 10\ndeadtime 20\n"), {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 3,
                            "deadtime is given again (first at line 2); the last one wins"));
  EXPECT_EQ(config::ToMs(r.spec.timing().deadtime()), 20000);
}

TEST(ConverterTest, NodeWithSeveralNamesAndDuplicates) {
  MigrateResult r = ConvertLegacy(Text("node linuxha1 linuxha2\nnode linuxha3 linuxha1\n"), {});
  ASSERT_EQ(r.spec.nodes_size(), 3);
  EXPECT_EQ(r.spec.nodes(0).name(), "linuxha1");
  EXPECT_EQ(r.spec.nodes(1).name(), "linuxha2");
  EXPECT_EQ(r.spec.nodes(2).name(), "linuxha3");
  EXPECT_EQ(r.source_map.Find("nodes[1].name"), (Location{"ha.cf", 1, 0}));
  EXPECT_EQ(r.source_map.Find("nodes[2].name"), (Location{"ha.cf", 2, 0}));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2,
                            "node 'linuxha1' is declared twice (also at line 1)"));
}

TEST(ConverterTest, NoNodeIsAnError) {
  MigrateResult r = ConvertLegacy(Text("bcast eth0\n"), {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 0, "declares no node"));
}

TEST(ConverterTest, AutoFailbackForms) {
  struct Case {
    const char* line;
    spec::v1::AutoFailback want;
    bool warns;
  } cases[] = {
      {"auto_failback on", spec::v1::AUTO_FAILBACK_ON, false},
      {"auto_failback yes", spec::v1::AUTO_FAILBACK_ON, false},
      {"auto_failback off", spec::v1::AUTO_FAILBACK_OFF, false},
      {"auto_failback no", spec::v1::AUTO_FAILBACK_OFF, false},
      {"auto_failback legacy", spec::v1::AUTO_FAILBACK_ON, true},
      {"nice_failback on", spec::v1::AUTO_FAILBACK_OFF, true},
      {"nice_failback off", spec::v1::AUTO_FAILBACK_ON, true},
  };
  for (const Case& c : cases) {
    MigrateResult r = ConvertLegacy(Text(std::string("node a\n") + c.line + "\n"), {});
    EXPECT_TRUE(r.ok()) << c.line << All(r);
    EXPECT_EQ(r.spec.auto_failback(), c.want) << c.line;
    EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kWarning), c.warns ? 1 : 0) << c.line;
    if (c.warns) {
      EXPECT_EQ(r.diagnostics[0].location.line, 2) << c.line;
    }
    EXPECT_EQ(r.source_map.Find("auto_failback"), (Location{"ha.cf", 2, 0})) << c.line;
  }
  MigrateResult r = ConvertLegacy(Text("node a\nauto_failback maybe\n"), {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2,
                            "auto_failback 'maybe' is not one of on, off, legacy"));
}

TEST(ConverterTest, NiceFailbackIsObsoleteAndAutoFailbackWins) {
  MigrateResult r =
      ConvertLegacy(Text("node a\nnice_failback on\nauto_failback on\n"), {});
  EXPECT_EQ(r.spec.auto_failback(), spec::v1::AUTO_FAILBACK_ON);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "nice_failback is obsolete; converted to auto_failback off"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "nice_failback is ignored: auto_failback at line 3 takes "
                            "precedence"));
}

TEST(ConverterTest, CrmYesIsAnErrorCrmNoIsAccepted) {
  MigrateResult r = ConvertLegacy(Text("node linuxha1 linuxha2\ncrm yes\n"), {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2,
                            "crm yes means the resources are in a Heartbeat 2 CIB (cib.xml), "
                            "which this converter does not read"))
      << All(r);
  for (const char* v : {"crm respawn", "crm on", "pacemaker respawn"}) {
    MigrateResult e = ConvertLegacy(Text(std::string("node a\n") + v + "\n"), {});
    EXPECT_TRUE(HasDiagnostic(e.diagnostics, Severity::kError, "ha.cf", 2, "Heartbeat 2 CIB"))
        << v;
  }
  MigrateResult ok = ConvertLegacy(Text("node a\ncrm no\nbcast eth0\ncrm off\n"), {});
  EXPECT_TRUE(ok.ok()) << All(ok);
}

// The DRBD user guide's sample ha.cf says `autojoin none`: the nodes are
// those listed with `node`, exactly the agent's model.
TEST(ConverterTest, AutojoinNoneConvertsAnyAndOtherAreErrors) {
  MigrateResult none = ConvertLegacy(Text("node a b\nautojoin none\nbcast eth0\n"), {});
  EXPECT_TRUE(none.ok()) << All(none);
  EXPECT_TRUE(none.diagnostics.empty()) << All(none);
  EXPECT_EQ(none.spec.nodes_size(), 2);
  for (const char* v : {"any", "other", "Any"}) {
    MigrateResult r = ConvertLegacy(Text(std::string("node a\nautojoin ") + v + "\n"), {});
    EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2,
                              "lets nodes that ha.cf does not list join the cluster"))
        << v << All(r);
  }
  MigrateResult bad = ConvertLegacy(Text("node a\nautojoin maybe\n"), {});
  EXPECT_TRUE(HasDiagnostic(bad.diagnostics, Severity::kError, "ha.cf", 2,
                            "autojoin 'maybe' is not one of none, other, any"));
}

TEST(ConverterTest, DroppedDirectivesWarn) {
  MigrateResult r = ConvertLegacy(
      Text("node a\napiauth ipfail gid=haclient uid=hacluster\nhopfudge 1\n"), {});
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "apiauth ipfail is dropped"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 3,
                            "hopfudge is dropped"));
}

TEST(ConverterTest, LoggingAndUseLogd) {
  MigrateResult r = ConvertLegacy(Text("node a\nuse_logd yes\nlogfile /var/log/ha-log\n"
                                       "debugfile /var/log/ha-debug\n"),
                                  {});
  EXPECT_EQ(r.spec.logging().syslog_facility(), "daemon");
  EXPECT_EQ(r.spec.logging().file(), "/var/log/ha-log");
  EXPECT_EQ(r.spec.logging().debug_file(), "/var/log/ha-debug");
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "logs to syslog directly (facility daemon)"));
  MigrateResult f = ConvertLegacy(Text("node a\nlogfacility local0\nuse_logd on\n"), {});
  EXPECT_EQ(f.spec.logging().syslog_facility(), "local0");
  EXPECT_EQ(f.source_map.Find("logging.syslog_facility"), (Location{"ha.cf", 2, 0}));
  MigrateResult none = ConvertLegacy(Text("node a\nlogfacility none\n"), {});
  EXPECT_EQ(none.spec.logging().syslog_facility(), "");
  MigrateResult off = ConvertLegacy(Text("node a\nuse_logd off\n"), {});
  EXPECT_TRUE(off.diagnostics.empty()) << All(off);
  EXPECT_FALSE(off.spec.has_logging());
}

// Shell syntax is warned about; a program that is not an absolute path is
// the validation's error (validate_test), not the converter's.
TEST(ConverterTest, RespawnWithShellSyntaxWarns) {
  MigrateResult r = ConvertLegacy(Text("node a\n"
                                       "respawn root /usr/bin/foo -a \"b c\" > /dev/null\n"
                                       "respawn hacluster bin/mon\n"),
                                  {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "respawn argument '\"b' looks like shell syntax"))
      << All(r);
  EXPECT_FALSE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 3, "")) << All(r);
  ASSERT_EQ(r.spec.respawn_size(), 2);
  EXPECT_EQ(r.spec.respawn(1).argv(0), "bin/mon");
}

TEST(ConverterTest, ConnectivityRespawnWatchdog) {
  MigrateResult r = ConvertLegacy(Text("node a\n"
                                       "ping 10.0.0.1 10.0.0.254\n"
                                       "ping_group g1 ping1.linux-ha.org ping2.linux-ha.org\n"
                                       "deadping 5\n"
                                       "respawn hacluster /usr/lib64/heartbeat/ipfail\n"
                                       "respawn nobody /usr/bin/mon --flag x\n"
                                       "watchdog /dev/watchdog\n"
                                       "ping_group g1 x\n"),
                                  {});
  const auto& c = r.spec.connectivity();
  EXPECT_EQ(c.ping_nodes_size(), 2);
  EXPECT_EQ(c.ping_nodes(1), "10.0.0.254");
  ASSERT_EQ(c.ping_groups_size(), 1);
  EXPECT_EQ(c.ping_groups(0).hosts_size(), 2);
  EXPECT_EQ(config::ToMs(c.deadping()), 5000);
  ASSERT_EQ(r.spec.respawn_size(), 1);  // not ipfail
  EXPECT_EQ(r.spec.respawn(0).user(), "nobody");
  EXPECT_EQ(r.spec.respawn(0).argv_size(), 3);
  EXPECT_EQ(r.spec.watchdog_device(), "/dev/watchdog");
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 5,
                            "respawn of ipfail is not converted"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 8,
                            "ping_group 'g1' is defined twice"));
  EXPECT_EQ(r.source_map.Find("connectivity.ping_nodes[1]"), (Location{"ha.cf", 2, 0}));
  // ipfail's only: the agent acts on the other respawn and the watchdog.
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kWarning), 1) << All(r);
}

// Heartbeat's API clients started by respawn become nothing in the spec,
// each with a warning saying what replaces it; other respawn lines stay.
TEST(ConverterTest, IpfailCcmAndDopdConvertToNothingSayingWhatReplacesThem) {
  MigrateResult r = ConvertLegacy(Text("node a b\n"
                                       "respawn hacluster /usr/lib/heartbeat/ipfail\n"
                                       "respawn hacluster ccm\n"
                                       "respawn hacluster /usr/lib/heartbeat/dopd\n"
                                       "respawn nobody /usr/bin/mon\n"
                                       "ping_group g1 192.0.2.1 192.0.2.2\n"),
                                  {});
  ASSERT_TRUE(r.ok()) << All(r);
  ASSERT_EQ(r.spec.respawn_size(), 1);
  EXPECT_EQ(r.spec.respawn(0).argv(0), "/usr/bin/mon");
  EXPECT_EQ(r.source_map.Find("respawn[0]"), (Location{"ha.cf", 5, 0}));
  // ipfail: the ping_group after it counts, so no "add a ping line".
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "a node that reaches fewer than its peer gives its groups up to it"))
      << All(r);
  EXPECT_FALSE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 2, "add one"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 3,
                            "the agent keeps its own membership"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 4,
                            "drbd-peer-outdater handler will fail"))
      << All(r);
  // One warning each, nothing more (`ccm` is dropped, not checked as a path).
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kWarning), 3) << All(r);

  MigrateResult lone = ConvertLegacy(Text("node a\nrespawn hacluster /usr/lib/heartbeat/ipfail\n"), {});
  EXPECT_TRUE(HasDiagnostic(lone.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "this ha.cf has no ping or ping_group line, so there is nothing to "
                            "score: add one (e.g. ping ROUTER)"))
      << All(lone);
  EXPECT_EQ(lone.spec.respawn_size(), 0);
}

// respawn and watchdog convert to the keys the agent acts on, with no
// warning; a respawn program that is not an absolute path is left to the
// validation (an error at its line).
TEST(ConverterTest, RespawnAndWatchdogConvertWithoutWarnings) {
  MigrateResult r = ConvertLegacy(Text("node a\n"
                                       "watchdog /dev/watchdog\n"
                                       "respawn nobody /usr/bin/mon --flag x\n"),
                                  {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_TRUE(r.diagnostics.empty()) << All(r);
  EXPECT_EQ(r.spec.watchdog_device(), "/dev/watchdog");
  EXPECT_EQ(r.source_map.Find("watchdog_device"), (Location{"ha.cf", 2, 0}));
  ASSERT_EQ(r.spec.respawn_size(), 1);
  EXPECT_EQ(r.spec.respawn(0).user(), "nobody");
  EXPECT_EQ(r.source_map.Find("respawn[0]"), (Location{"ha.cf", 3, 0}));
}

TEST(ConverterTest, MediaKinds) {
  MigrateResult r = ConvertLegacy(Text("node a b\n"
                                       "serial /dev/ttyS0 /dev/ttyS1\n"
                                       "baud 38400\n"
                                       "bcast eth0 eth1\n"
                                       "mcast bond0 225.0.0.1 694 2 0\n"
                                       "mcast6 eth2 ff02::1:2 700 1 1\n"
                                       "ucast eth3 10.0.0.2\n"
                                       "ucast eth4 10.0.0.2\n"
                                       "ucast eth3 10.0.1.2\n"),
                                  {});
  ASSERT_TRUE(r.ok()) << All(r);
  ASSERT_EQ(r.spec.media_size(), 8);
  EXPECT_EQ(r.spec.media(0).serial().device(), "/dev/ttyS0");
  EXPECT_EQ(r.spec.media(1).serial().baud(), 38400u);
  EXPECT_EQ(r.spec.media(3).bcast().interface(), "eth1");
  EXPECT_EQ(r.spec.media(4).mcast().group(), "225.0.0.1");
  EXPECT_EQ(r.spec.media(4).mcast().ttl(), 2u);
  EXPECT_FALSE(r.spec.media(4).mcast().loop());
  EXPECT_EQ(r.spec.media(5).mcast().port(), 700u);
  EXPECT_TRUE(r.spec.media(5).mcast().loop());
  EXPECT_EQ(r.spec.media(6).ucast().interface(), "eth3");
  ASSERT_EQ(r.spec.media(6).ucast().peers_size(), 2);
  EXPECT_EQ(r.spec.media(6).ucast().peers(1), "10.0.1.2");
  EXPECT_EQ(r.spec.media(7).ucast().interface(), "eth4");
  EXPECT_EQ(r.source_map.Find("media[6].ucast.peers[1]"), (Location{"ha.cf", 9, 0}));
  EXPECT_EQ(r.source_map.Find("media[1].serial.baud"), (Location{"ha.cf", 3, 0}));
}

TEST(ConverterTest, BadMediaValues) {
  MigrateResult r = ConvertLegacy(Text("node a\n"
                                       "mcast bond0 225.0.0.1 694 0 0\n"
                                       "mcast bond0 225.0.0.1 99999 1 0\n"
                                       "mcast bond0 225.0.0.1 694 1 2\n"
                                       "udpport http\n"
                                       "mcast eth0 ff02::1 694 1 0\n"
                                       "baud fast\n"),
                                  {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2, "ttl '0'"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 3, "port '99999'"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 4, "loop '2'"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 5, "udpport 'http'"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 6, "use mcast6"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 7, "baud 'fast'"));
}

TEST(ConverterTest, HaresourcesGroupsAndSourceMap) {
  MigrateResult r = ConvertLegacy(
      Text("node drbd1 drbd2\nbcast eth0\n",
           "# comment\n"
           "drbd1 drbddisk Filesystem::/dev/drbd0::/drbd::ext3 \\\n"
           "   mysql 10.0.0.100\n"
           "drbd2 MailTo::youremail@address.com::DRBDFailure\n"),
      {});
  ASSERT_TRUE(r.ok()) << All(r);
  ASSERT_EQ(r.spec.groups_size(), 2);
  EXPECT_EQ(r.spec.groups(0).name(), "group1");
  EXPECT_EQ(r.spec.groups(0).preferred_node(), "drbd1");
  EXPECT_EQ(r.spec.groups(0).resources_size(), 4);
  EXPECT_EQ(r.spec.groups(1).name(), "group2");
  EXPECT_EQ(r.spec.groups(1).preferred_node(), "drbd2");
  EXPECT_EQ(r.source_map.Find("groups[0].preferred_node"), (Location{"haresources", 2, 0}));
  EXPECT_EQ(r.source_map.Find("groups[0].resources[3].ip.address"),
            (Location{"haresources", 3, 0}));
  EXPECT_EQ(r.source_map.Find("groups[1].resources[0]"), (Location{"haresources", 4, 0}));
}

TEST(ConverterTest, UndeclaredHaresourcesNodeSuggestsClosest) {
  MigrateResult r = ConvertLegacy(Text("node node01 node02\n", "node1 10.0.0.1 httpd\n"), {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "haresources", 1,
                            "node 'node1' is not declared in ha.cf (nodes: node01, node02); "
                            "did you mean 'node01'?"))
      << All(r);
  MigrateResult far = ConvertLegacy(Text("node a\n", "zzzzzz httpd\n"), {});
  EXPECT_TRUE(HasDiagnostic(far.diagnostics, Severity::kError, "haresources", 1,
                            "add 'node zzzzzz' there"));
}

// A haresources of junk lines: each undeclared node is an error that lists
// only the first declared nodes (a long node list would make every message
// as long), suggestions stop after their budget, and no group is built.
TEST(ConverterTest, UndeclaredNodesOfAJunkFileStayCheap) {
  std::string ha_cf;
  for (int i = 0; i < 1000; ++i) ha_cf += absl::StrCat("node n", i, "\n");
  std::string haresources;
  for (int i = 0; i < 1000; ++i) haresources += absl::StrCat("x", i, " httpd\n");
  MigrateResult r = ConvertLegacy(Text(ha_cf, haresources), {});
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 1000);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "haresources", 1,
                            "node 'x0' is not declared in ha.cf (nodes: n0, n1, n2, n3, n4, n5, "
                            "n6, n7, ... (1000 in all)); did you mean 'n0'?"))
      << r.diagnostics[0].message;
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "haresources", 21,
                            "no more 'did you mean' suggestions"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "haresources", 21,
                            "add 'node x20' there"));
  EXPECT_EQ(r.spec.groups_size(), 0);
}

// The seeds' two-VIP MOR setup: asterisk after each VIP.
TEST(ConverterTest, OneScriptInTwoGroupsWarnsThatItCanRunTwice) {
  MigrateResult r = ConvertLegacy(Text("node node01 node02\n",
                                       "node01 203.0.113.4 asterisk\n"
                                       "node01 203.0.113.5 \\\n"
                                       "  asterisk\n"
                                       "node02 203.0.113.6 Delay::1 mysql\n"
                                       "node02 203.0.113.7 Delay::2 asterisk2\n"),
                                  {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "haresources", 3,
                            "'asterisk' is also in group1 (line 1): each group starts and "
                            "stops it, so when the two groups run on different nodes"))
      << All(r);
  // Other scripts, or one script with other arguments, are not warned about.
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kWarning), 1) << All(r);
}

TEST(ConverterTest, HaresourcesNodeMatchesWithoutRegardToCase) {
  MigrateResult r = ConvertLegacy(Text("node Alpha beta\n", "alpha 10.0.0.1 httpd\n"), {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.groups(0).preferred_node(), "Alpha");
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "haresources", 1,
                            "node 'alpha' is written 'Alpha' in ha.cf"))
      << All(r);
}

// Two declared names equal without regard to case: the first one declared
// is used, as before the lookup became a map.
TEST(ConverterTest, HaresourcesNodeCaseMatchTakesTheFirstDeclared) {
  MigrateResult r =
      ConvertLegacy(Text("node ALPHA Alpha\n", "alpha 10.0.0.1 httpd\nAlpha httpd2\n"), {});
  ASSERT_EQ(CountSeverity(r.diagnostics, Severity::kError), 0) << All(r);
  ASSERT_EQ(r.spec.groups_size(), 2);
  EXPECT_EQ(r.spec.groups(0).preferred_node(), "ALPHA");
  EXPECT_EQ(r.spec.groups(1).preferred_node(), "Alpha");  // exact match, no warning
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "haresources", 1,
                            "node 'alpha' is written 'ALPHA' in ha.cf"))
      << All(r);
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kWarning), 1) << All(r);
}

// Matching haresources lines to nodes must not cost (lines x nodes): with
// 20000 of each the old scan took about two minutes, a map lookup well under
// a second. No clock is read here: the target is `size = "small"`, so a
// quadratic regression runs into Bazel's 60 s test timeout.
TEST(ConverterTest, ManyNodesAndLinesConvert) {
  constexpr int kN = 20000;
  std::string ha_cf, haresources;
  for (int i = 0; i < kN; ++i) {
    absl::StrAppend(&ha_cf, "node n", i, "\n");
    absl::StrAppend(&haresources, i % 2 == 0 ? "n" : "N", i, " svc", i, "\n");
  }
  MigrateResult r = ConvertLegacy(Text(ha_cf, haresources), {});
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 0);
  ASSERT_EQ(r.spec.groups_size(), kN);
  EXPECT_EQ(r.spec.groups(kN - 1).preferred_node(), absl::StrCat("n", kN - 1));
}

TEST(ConverterTest, AuthkeysAndSourceMap) {
  MigrateResult r = ConvertLegacy(Text("node a\n", "", "#k\nauth 2\n1 md5 x\n2 crc\n"), {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.auth().active_key(), 2u);
  EXPECT_EQ(r.spec.auth().keys_size(), 2);
  EXPECT_EQ(r.source_map.Find("auth.keys[1].method"), (Location{"authkeys", 4, 0}));
  EXPECT_EQ(r.source_map.Find("auth.active_key"), (Location{"authkeys", 2, 0}));
}

TEST(ConverterTest, ClusterNameDerivedOrGiven) {
  MigrateResult r = ConvertLegacy(Text("node linuxha1.linux-ha.org linuxha2.linux-ha.org\n"), {});
  EXPECT_EQ(r.spec.cluster_name(), "linuxha1.linux-ha.org-linuxha2.linux-ha.org");
  MigrateOptions o;
  o.cluster_name = "mor";
  EXPECT_EQ(ConvertLegacy(Text("node a\n"), o).spec.cluster_name(), "mor");
  EXPECT_EQ(DeriveClusterName({"a b", "c/d"}), "a_b-c_d");
  EXPECT_EQ(DeriveClusterName({std::string(100, 'x')}).size(), 63u);
}

TEST(ConverterTest, OptionNodeMustBeDeclared) {
  MigrateOptions o;
  o.node = "node3";
  MigrateResult r = ConvertLegacy(Text("node node01 node02\n"), o);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 0,
                            "node 'node3' (--node) is not declared"));
}

// Two nodes' files for the pair tests.
LegacyText NodeText(const std::string& dir, const std::string& ucast,
                    const std::string& extra = "") {
  LegacyText t = Text("keepalive 2\nudpport 496\n" + ucast + "node node01 node02\n" + extra,
                      "node01 203.0.113.4 asterisk\n");
  t.dir = dir;
  t.ha_cf_name = dir + "/ha.cf";
  t.haresources_name = dir + "/haresources";
  t.authkeys_name = dir + "/authkeys";
  return t;
}

TEST(ConverterPairTest, AddressesComeFromTheOtherNodesUcastLines) {
  LegacyText a = NodeText("x/node01", "ucast eth0 192.168.0.132\nucast eth1 10.0.0.2\n");
  LegacyText b = NodeText("x/node02", "ucast eth0 192.168.0.131\nucast eth1 10.0.0.1\n");
  MigrateResult r = ConvertLegacyPair(a, b, {});
  ASSERT_TRUE(r.ok()) << All(r);
  ASSERT_EQ(r.spec.nodes_size(), 2);
  ASSERT_EQ(r.spec.nodes(0).addresses_size(), 2);
  EXPECT_EQ(r.spec.nodes(0).addresses(0), "192.168.0.131");
  EXPECT_EQ(r.spec.nodes(0).addresses(1), "10.0.0.1");
  EXPECT_EQ(r.spec.nodes(1).addresses_size(), 2);
  EXPECT_EQ(r.spec.nodes(1).addresses(0), "192.168.0.132");
  ASSERT_EQ(r.spec.media_size(), 2);
  EXPECT_EQ(r.spec.media(0).ucast().peers_size(), 0);
  EXPECT_EQ(r.spec.media(1).ucast().interface(), "eth1");
  EXPECT_EQ(r.source_map.Find("nodes[0].addresses[1]"), (Location{"x/node02/ha.cf", 4, 0}));
  EXPECT_EQ(r.source_map.Find("nodes[1].addresses[0]"), (Location{"x/node01/ha.cf", 3, 0}));
  // Same result when the directories are given the other way round.
  MigrateResult swapped = ConvertLegacyPair(b, a, {});
  ASSERT_TRUE(swapped.ok()) << All(swapped);
  EXPECT_EQ(swapped.spec.nodes(0).addresses(0), "192.168.0.131");
}

TEST(ConverterPairTest, NodeFromOptionOrParentDirOrErrors) {
  LegacyText a = NodeText("/srv/node01/ha.d", "ucast eth0 192.168.0.132\n");
  LegacyText b = NodeText("/srv/other", "ucast eth0 192.168.0.131\n");
  MigrateResult r = ConvertLegacyPair(a, b, {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.nodes(0).addresses(0), "192.168.0.131");
  // Peer directory named after node01: this one is node02.
  MigrateResult r2 = ConvertLegacyPair(b, a, {});
  ASSERT_TRUE(r2.ok()) << All(r2);
  EXPECT_EQ(r2.spec.nodes(0).addresses(0), "192.168.0.131");
  LegacyText c = NodeText("/srv/x", "ucast eth0 192.168.0.132\n");
  MigrateResult err = ConvertLegacyPair(c, b, {});
  EXPECT_TRUE(HasDiagnostic(err.diagnostics, Severity::kError, "/srv/x/ha.cf", 0,
                            "pass --node node01 or --node node02"))
      << All(err);
  MigrateOptions o;
  o.node = "node01";
  MigrateResult with_option = ConvertLegacyPair(c, b, o);
  ASSERT_TRUE(with_option.ok()) << All(with_option);
  EXPECT_EQ(with_option.spec.nodes(1).addresses(0), "192.168.0.132");
}

TEST(ConverterPairTest, DifferencesAreErrorsNamingBothFiles) {
  LegacyText a = NodeText("d/node01", "ucast eth0 192.168.0.132\n", "deadtime 10\n");
  LegacyText b = NodeText("d/node02", "ucast eth0 192.168.0.131\n", "deadtime 20\n");
  b.haresources = "# same?\nnode01 203.0.113.5 asterisk\n";
  b.authkeys = "auth 1\n1 sha1 s3cr3t-peer\n";
  MigrateResult r = ConvertLegacyPair(a, b, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "d/node01/ha.cf", 5,
                            "differs from d/node02/ha.cf:5 ('deadtime 10' vs 'deadtime 20')"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "d/node01/haresources", 1,
                            "differs from d/node02/haresources:2 ('node01 203.0.113.4 "
                            "asterisk' vs 'node01 203.0.113.5 asterisk'); haresources must be "
                            "the same on both nodes"));
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "d/node01/authkeys", 2,
                            "differs from d/node02/authkeys:2; authkeys must be the same"));
  for (const auto& d : r.diagnostics) EXPECT_EQ(d.message.find("s3cr3t"), std::string::npos);
}

TEST(ConverterPairTest, ExtraLineAndInterfaceMismatch) {
  LegacyText a = NodeText("d/node01", "ucast eth0 192.168.0.132\n");
  LegacyText b = NodeText("d/node02", "ucast em1 192.168.0.131\n", "ping 10.0.0.1\n");
  MigrateResult r = ConvertLegacyPair(a, b, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "d/node02/ha.cf", 5,
                            "this line has no counterpart in d/node01/ha.cf"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "d/node01/ha.cf", 3,
                            "('ucast eth0' vs 'ucast em1')"));
}

TEST(ConverterPairTest, NeedsTwoNodes) {
  LegacyText a = NodeText("d/node01", "ucast eth0 192.168.0.132\n", "node node03\n");
  LegacyText b = NodeText("d/node02", "ucast eth0 192.168.0.131\n", "node node03\n");
  MigrateResult r = ConvertLegacyPair(a, b, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "d/node01/ha.cf", 0,
                            "needs a two-node cluster, but ha.cf declares 3 node(s)"));
}

// --rolling: the spec gets wire: heartbeat3 and keeps authkeys' methods.
TEST(ConverterRollingTest, WritesHeartbeat3WireAndKeepsTheKeysMethods) {
  MigrateOptions rolling;
  rolling.rolling = true;
  for (const char* method : {"crc", "md5", "sha1"}) {
    std::string authkeys = absl::StrCat("auth 1\n1 ", method,
                                        std::string(method) == "crc"
                                            ? "\n"
                                            : " 3c6e0b8a9c15224a8228b9a98ca1531d\n");
    MigrateResult r = ConvertLegacy(Text("node a b\nucast eth0 192.0.2.2\n", "", authkeys),
                                    rolling);
    ASSERT_TRUE(r.ok()) << method << ": " << All(r);
    EXPECT_EQ(r.spec.wire(), spec::v1::WIRE_FORMAT_HEARTBEAT3) << method;
    ASSERT_EQ(r.spec.auth().keys_size(), 1);
    EXPECT_EQ(spec::v1::AuthMethod_Name(r.spec.auth().keys(0).method()),
              absl::StrCat("AUTH_METHOD_", absl::AsciiStrToUpper(method)));
  }
}

TEST(ConverterRollingTest, WithoutRollingThereIsNoWire) {
  MigrateResult r = ConvertLegacy(Text("node a b\nucast eth0 192.0.2.2\n"), {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.wire(), spec::v1::WIRE_FORMAT_UNSPECIFIED);
}

TEST(ConverterRollingTest, SerialIsRefusedAtItsLine) {
  MigrateOptions rolling;
  rolling.rolling = true;
  MigrateResult r = ConvertLegacy(Text("node a b\nbcast eth0\nserial /dev/ttyS0\nbaud 19200\n"),
                                  rolling);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 3,
                            "serial /dev/ttyS0 cannot be converted with --rolling: the spec gets "
                            "wire: heartbeat3"))
      << All(r);
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 1) << All(r);
  // Without --rolling the same file converts, serial medium and all.
  MigrateResult plain =
      ConvertLegacy(Text("node a b\nbcast eth0\nserial /dev/ttyS0\nbaud 19200\n"), {});
  ASSERT_TRUE(plain.ok()) << All(plain);
  ASSERT_EQ(plain.spec.media_size(), 2);
  EXPECT_EQ(plain.spec.media(1).serial().device(), "/dev/ttyS0");
}

TEST(ConverterRollingTest, PingAndPingGroupAreRefusedAtTheirLines) {
  MigrateOptions rolling;
  rolling.rolling = true;
  MigrateResult r = ConvertLegacy(Text("node a b\n"
                                       "bcast eth0\n"
                                       "ping 192.0.2.1\n"
                                       "ping_group routers 192.0.2.1 192.0.2.254\n"
                                       "deadping 5\n"),
                                  rolling);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 3,
                            "ping 192.0.2.1 cannot be converted with --rolling"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 4,
                            "ping_group routers 192.0.2.1 192.0.2.254 cannot be converted with "
                            "--rolling"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 3,
                            "add connectivity (ping_nodes, ping_groups) with hacli apply after "
                            "the switch to wire: native"))
      << All(r);
  EXPECT_EQ(r.spec.connectivity().ping_nodes_size(), 0);
  EXPECT_EQ(r.spec.connectivity().ping_groups_size(), 0);
}

TEST(ConverterRollingTest, IpfailWarningSaysConnectivityComesAfterTheSwitch) {
  MigrateOptions rolling;
  rolling.rolling = true;
  MigrateResult r =
      ConvertLegacy(Text("node a b\nbcast eth0\nrespawn hacluster /usr/lib/heartbeat/ipfail\n"),
                    rolling);
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, "ha.cf", 3,
                            "with --rolling the spec has no connectivity"))
      << All(r);
}

TEST(ConverterRollingTest, AThirdNodeIsRefusedAtItsLine) {
  MigrateOptions rolling;
  rolling.rolling = true;
  MigrateResult r = ConvertLegacy(Text("node a b\nbcast eth0\nnode c\nnode d\n"), rolling);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 3,
                            "node 'c' is a third node (ha.cf declares 4): --rolling joins a "
                            "running Heartbeat pair"))
      << All(r);
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 1) << All(r);
  EXPECT_TRUE(ConvertLegacy(Text("node a b\nbcast eth0\nnode c\nnode d\n"), {}).ok());
}

TEST(ConverterRollingTest, ASingleNodeIsRefusedAtItsLine) {
  MigrateOptions rolling;
  rolling.rolling = true;
  MigrateResult r = ConvertLegacy(Text("bcast eth0\nnode a\n"), rolling);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "ha.cf", 2,
                            "ha.cf declares only node 'a': --rolling joins a running Heartbeat "
                            "pair"))
      << All(r);
}

TEST(ConverterRollingTest, PairConversionGetsTheWireToo) {
  MigrateOptions rolling;
  rolling.rolling = true;
  LegacyText a = NodeText("x/node01", "ucast eth0 192.168.0.132\n");
  LegacyText b = NodeText("x/node02", "ucast eth0 192.168.0.131\n");
  MigrateResult r = ConvertLegacyPair(a, b, rolling);
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.wire(), spec::v1::WIRE_FORMAT_HEARTBEAT3);
  // A ping line in both ha.cf is refused in each file, at its line.
  a = NodeText("x/node01", "ucast eth0 192.168.0.132\n", "ping 192.0.2.1\n");
  b = NodeText("x/node02", "ucast eth0 192.168.0.131\n", "ping 192.0.2.1\n");
  r = ConvertLegacyPair(a, b, rolling);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "x/node01/ha.cf", 5,
                            "ping 192.0.2.1 cannot be converted with --rolling"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, "x/node02/ha.cf", 5,
                            "ping 192.0.2.1 cannot be converted with --rolling"))
      << All(r);
}

}  // namespace
}  // namespace hacluster::migrate
