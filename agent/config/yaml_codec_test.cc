#include "agent/config/yaml_codec.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/config/duration.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

using google::protobuf::util::MessageDifferencer;
using spec::v1::ClusterSpec;

ParsedSpec Parse(const std::string& yaml) { return ParseSpecYaml(yaml, "spec.yaml"); }

// Expects exactly one error, at spec.yaml:line:column, whose message
// contains every one of `parts`.
void ExpectError(const std::string& yaml, int line, int column,
                 std::initializer_list<std::string> parts) {
  ParsedSpec p = Parse(yaml);
  ASSERT_EQ(p.diagnostics.size(), 1u) << FormatDiagnostics(p.diagnostics);
  const Diagnostic& d = p.diagnostics[0];
  EXPECT_EQ(d.severity, Severity::kError);
  EXPECT_EQ(d.location.file, "spec.yaml");
  EXPECT_EQ(d.location.line, line) << FormatDiagnostic(d);
  EXPECT_EQ(d.location.column, column) << FormatDiagnostic(d);
  for (const std::string& part : parts) {
    EXPECT_NE(d.message.find(part), std::string::npos)
        << "'" << part << "' not in: " << FormatDiagnostic(d);
  }
}

ClusterSpec ParseOk(const std::string& yaml) {
  ParsedSpec p = Parse(yaml);
  EXPECT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics);
  return p.spec;
}

// ---- errors ----

TEST(YamlCodecTest, UnknownKeyNamesKeyAndSuggestsClosest) {
  ExpectError(R"yaml(cluster_name: c
timing:
  deadtme: 5s
)yaml",
              3, 3, {"unknown key 'timing.deadtme'", "did you mean 'deadtime'?"});
}

TEST(YamlCodecTest, UnknownKeyWithSwappedLettersSuggestsClosest) {
  ExpectError(R"yaml(cluster_name: c
nodes:
  - nmae: node01
)yaml",
              3, 5, {"unknown key 'nodes[0].nmae'", "did you mean 'name'?"});
}

TEST(YamlCodecTest, UnknownKeyWithNothingCloseHasNoSuggestion) {
  ParsedSpec p = Parse("cluster_name: c\nstonith: yes\n");
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_EQ(FormatDiagnostic(p.diagnostics[0]), "spec.yaml:2:1: error: unknown key 'stonith'");
}

// A file of unknown keys is not a spec: reading stops after 100 of them
// (the first pass over the events, before a node tree is built), each
// named as the decoder names it, and suggestions stop after their budget.
TEST(YamlCodecTest, ReadingStopsAfterAHundredUnknownKeys) {
  std::string yaml = "cluster_name: c\nnodes:\n  - nmae: a\n";
  for (int i = 0; i < 5000; ++i) yaml += absl::StrCat("junk", i, ": 1\n");
  ParsedSpec p = Parse(yaml);
  int unknown = 0;
  int suggested = 0;
  int notices = 0;
  for (const Diagnostic& d : p.diagnostics) {
    unknown += d.message.find("unknown key '") == 0;
    suggested += d.message.find("; did you mean") != std::string::npos;
    notices += d.severity == Severity::kWarning &&
               d.message.find("no more 'did you mean' suggestions") != std::string::npos;
  }
  EXPECT_EQ(unknown, 101) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(suggested, 1);  // nmae -> name; no junkN is close to a key
  EXPECT_EQ(notices, 1);
  EXPECT_EQ(FormatDiagnostic(p.diagnostics[0]),
            "spec.yaml:3:5: error: unknown key 'nodes[0].nmae'; did you mean 'name'?");
  EXPECT_EQ(FormatDiagnostic(p.diagnostics.back()),
            "spec.yaml:103:1: error: more than 100 unknown keys: this is not a cluster spec; "
            "reading stopped here");
}

// Known keys with any number of values could make a 4 MiB file of a
// million values, each an error later: reading stops past kMaxSpecValues,
// at the value that went over, and nothing of the spec is read.
TEST(YamlCodecTest, ReadingStopsPastTheMostValuesASpecMayHold) {
  // "cluster_name", "c", the top map, "nodes", its list: 5 values, then
  // each element is a map, "name" and its value: 3 values.
  const size_t elements = (kMaxSpecValues - 5) / 3 + 1;
  std::string yaml = "cluster_name: c\nnodes:\n";
  for (size_t i = 0; i < elements; ++i) yaml += absl::StrCat("  - {name: n", i, "}\n");
  ParsedSpec p = Parse(yaml);
  ASSERT_EQ(p.diagnostics.size(), 1u) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(FormatDiagnostic(p.diagnostics[0]),
            absl::StrCat("spec.yaml:", elements + 2,
                         ":12: error: more than 100000 values (keys, values, lists and maps): "
                         "this is not a cluster spec; reading stopped here"));
  EXPECT_EQ(p.spec.nodes_size(), 0);

  // One element fewer is read whole.
  yaml.resize(yaml.rfind("  - {"));
  p = Parse(yaml);
  EXPECT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.spec.nodes_size(), static_cast<int>(elements - 1));

  // Empty values count too: a list of a million nulls is no shorter a read.
  std::string nulls = "cluster_name: c\nnodes:\n";
  for (size_t i = 0; i < kMaxSpecValues; ++i) nulls += "  -\n";
  p = Parse(nulls);
  ASSERT_FALSE(p.diagnostics.empty());
  EXPECT_TRUE(absl::StrContains(FormatDiagnostic(p.diagnostics.back()),
                                "error: more than 100000 values"))
      << FormatDiagnostics(p.diagnostics);
}

// Keys of map fields (OCF params, labels) are the operator's, not the
// schema's: any number of them is fine.
TEST(YamlCodecTest, ManyMapEntriesAreNotUnknownKeys) {
  std::string yaml = "cluster_name: c\nnodes:\n  - name: a\n    labels:\n";
  for (int i = 0; i < 300; ++i) yaml += absl::StrCat("      l", i, ": v\n");
  yaml += "groups:\n  - name: g\n    resources:\n      - ocf:\n          type: X\n"
          "          params:\n";
  for (int i = 0; i < 300; ++i) yaml += absl::StrCat("            p", i, ": v\n");
  ParsedSpec p = Parse(yaml);
  EXPECT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.spec.nodes(0).labels_size(), 300);
  EXPECT_EQ(p.spec.groups(0).resources(0).ocf().params_size(), 300);
}

TEST(YamlCodecTest, SequenceForDurationIsATypeError) {
  ExpectError("timing:\n  deadtime: [1, 2]\n", 2, 13,
              {"timing.deadtime: expected a duration such as 500ms or 2s, got a sequence"});
}

TEST(YamlCodecTest, BadDurationReportsTheDurationParserMessage) {
  ExpectError("timing:\n  keepalive: 2 fortnights\n", 2, 14,
              {"timing.keepalive: '2 fortnights' has an unknown unit"});
}

TEST(YamlCodecTest, DurationTakesPlainSecondsAndMilliseconds) {
  ClusterSpec s = ParseOk("timing:\n  keepalive: 2\n  warntime: 1.5\n  deadtime: 500ms\n");
  EXPECT_EQ(ToMs(s.timing().keepalive()), 2000);
  EXPECT_EQ(ToMs(s.timing().warntime()), 1500);
  EXPECT_EQ(ToMs(s.timing().deadtime()), 500);
}

TEST(YamlCodecTest, DuplicateKeyNamesTheFirstLine) {
  ExpectError("cluster_name: a\nudp_port: 694\ncluster_name: b\n", 3, 1,
              {"duplicate key 'cluster_name' (first set at line 1)"});
}

TEST(YamlCodecTest, DuplicateMapEntryIsAnError) {
  ExpectError(R"yaml(nodes:
  - name: n1
    labels:
      gui_id: "1"
      gui_id: "2"
)yaml",
              5, 7, {"duplicate key 'nodes[0].labels.gui_id' (first set at line 4)"});
}

TEST(YamlCodecTest, InvalidYamlReportsLineAndColumn) {
  ExpectError("cluster_name: c\nnodes: [a, b\nmedia: []\n", 3, 6, {"invalid YAML"});
}

TEST(YamlCodecTest, TabInIndentationIsNamed) {
  ExpectError("cluster_name: c\ntiming:\n  keepalive: 1s\n\tdeadtime: 5s\n", 4, 1,
              {"invalid YAML", "a tab in the indentation: YAML indents with spaces only"});
}

// Aliases let a few bytes expand to billions of nodes ("billion laughs").
TEST(YamlCodecTest, AliasesAreRefused) {
  ExpectError("cluster_name: c\nnodes:\n  - &n {name: a}\n  - *n\n", 4, 5,
              {"YAML aliases (*name) are not allowed in a spec"});
}

TEST(YamlCodecTest, DeepNestingIsNamed) {
  std::string deep = "cluster_name: " + std::string(2000, '[') + std::string(2000, ']') + "\n";
  ParsedSpec p = Parse(deep);
  ASSERT_EQ(p.diagnostics.size(), 1u) << FormatDiagnostics(p.diagnostics);
  EXPECT_NE(p.diagnostics[0].message.find("nested too deeply"), std::string::npos)
      << FormatDiagnostics(p.diagnostics);
}

TEST(YamlCodecTest, NonMapDocumentIsAnError) {
  ExpectError("- cluster_name: c\n", 1, 1,
              {"expected a map of spec fields", "at the top level, got a sequence"});
}

TEST(YamlCodecTest, EmptyInputIsAnErrorNamingTheFile) {
  ParsedSpec p = Parse("# nothing here\n");
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_EQ(FormatDiagnostic(p.diagnostics[0]),
            "spec.yaml: error: the spec is empty: expected a map of spec fields (cluster_name, "
            "nodes, ...)");
}

TEST(YamlCodecTest, SecondDocumentIsAnError) {
  ExpectError("cluster_name: a\n---\ncluster_name: b\n", 2, 1, {"a second YAML document"});
}

TEST(YamlCodecTest, StrayFlowCommaIsAnErrorNotAHang) {
  ExpectError("cluster_name: c\n,\n", 2, 1, {"invalid YAML"});
}

TEST(YamlCodecTest, LoneCommaIsAnErrorNotAHang) { ExpectError(",", 1, 1, {"invalid YAML"}); }

TEST(YamlCodecTest, TwoKindsOfOneMediumAreAnErrorNamingBoth) {
  ExpectError(R"yaml(media:
  - ucast: {interface: eth1}
    bcast: {interface: eth1}
)yaml",
              3, 5, {"media[0]: both 'ucast' and 'bcast' are set", "only one of them"});
}

TEST(YamlCodecTest, EnumTakesShortLowerCaseNames) {
  ClusterSpec s = ParseOk(R"yaml(auth:
  keys:
    - {id: 1, method: sha1}
    - {id: 2, method: MD5}
auto_failback: off
)yaml");
  EXPECT_EQ(s.auth().keys(0).method(), spec::v1::AUTH_METHOD_SHA1);
  EXPECT_EQ(s.auth().keys(1).method(), spec::v1::AUTH_METHOD_MD5);
  EXPECT_EQ(s.auto_failback(), spec::v1::AUTO_FAILBACK_OFF);
}

TEST(YamlCodecTest, UnspecifiedEnumValueIsRejected) {
  ExpectError("auto_failback: unspecified\n", 1, 16,
              {"auto_failback: 'unspecified' is not one of on, off"});
}

TEST(YamlCodecTest, MisspelledEnumSuggestsClosest) {
  ExpectError("auth:\n  keys:\n    - {id: 1, method: sha265}\n", 3, 23,
              {"auth.keys[0].method: 'sha265' is not one of sha256, sha1, md5, crc",
               "did you mean 'sha256'?"});
}

TEST(YamlCodecTest, BoolTakesYesNoOnOff) {
  ClusterSpec s = ParseOk(R"yaml(media:
  - mcast: {loop: yes}
  - mcast: {loop: off}
  - mcast: {loop: true}
)yaml");
  EXPECT_TRUE(s.media(0).mcast().loop());
  EXPECT_FALSE(s.media(1).mcast().loop());
  EXPECT_TRUE(s.media(2).mcast().loop());
}

TEST(YamlCodecTest, BadBoolIsAnError) {
  ExpectError("media:\n  - mcast: {loop: maybe}\n", 2, 19,
              {"media[0].mcast.loop: expected true or false, got 'maybe'"});
}

TEST(YamlCodecTest, IntegerAboveTheFieldRangeIsAnError) {
  ExpectError("udp_port: 4294967296\n", 1, 11,
              {"udp_port: '4294967296' is out of range (0 to 4294967295)"});
}

TEST(YamlCodecTest, NegativeUnsignedIntegerIsAnError) {
  ExpectError("config_version: -1\n", 1, 17, {"config_version: '-1' is negative"});
}

TEST(YamlCodecTest, NonNumberForIntegerIsAnError) {
  ExpectError("udp_port: 69x\n", 1, 11, {"udp_port: expected a whole number, got '69x'"});
}

TEST(YamlCodecTest, MapForStringIsATypeError) {
  ExpectError("cluster_name: {a: b}\n", 1, 15, {"cluster_name: expected a string, got a map"});
}

TEST(YamlCodecTest, EmptyValueForStringIsATypeError) {
  ExpectError("cluster_name:\nudp_port: 694\n", 1, 1,
              {"cluster_name: expected a string, got nothing"});
}

TEST(YamlCodecTest, ScalarForListIsATypeError) {
  ExpectError("nodes:\n  - name: n1\n    addresses: 192.0.2.1\n", 3, 16,
              {"nodes[0].addresses: expected a sequence of a string, got '192.0.2.1'"});
}

TEST(YamlCodecTest, SequenceForLabelsIsATypeError) {
  ExpectError("nodes:\n  - name: n1\n    labels: [a]\n", 3, 13,
              {"nodes[0].labels: expected a map, got a sequence"});
}

TEST(YamlCodecTest, ScalarForMessageIsATypeError) {
  ExpectError("timing: fast\n", 1, 9, {"timing: expected a map, got 'fast'"});
}

TEST(YamlCodecTest, InvalidUtf8IsAnError) {
  ExpectError("cluster_name: \"a\xff\"\n", 1, 15, {"cluster_name: the text is not valid UTF-8"});
}

TEST(YamlCodecTest, AllErrorsOfADocumentAreReported) {
  ParsedSpec p = Parse("clustr_name: c\nudp_port: x\ntiming: {deadtime: 1q}\n");
  EXPECT_EQ(p.diagnostics.size(), 3u) << FormatDiagnostics(p.diagnostics);
}

// ---- what is read ----

TEST(YamlCodecTest, EmptyMediumKindMeansThatKindWithDefaults) {
  ClusterSpec s = ParseOk("media:\n  - ucast:\n  - bcast: {}\n");
  ASSERT_EQ(s.media_size(), 2);
  EXPECT_TRUE(s.media(0).has_ucast());
  EXPECT_TRUE(s.media(1).has_bcast());
}

TEST(YamlCodecTest, SourceMapRecordsEveryFieldAndElement) {
  ParsedSpec p = Parse(R"yaml(cluster_name: c
nodes:
  - name: n1
    labels:
      gui_id: "7"
timing:
  deadtime: 5s
groups:
  - name: g
    resources:
      - lsb: {name: x}
      - ip:
          address: 192.0.2.10
)yaml");
  ASSERT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics);
  auto at = [&](const std::string& path) {
    EXPECT_TRUE(p.source_map.Has(path)) << path;
    Location l = p.source_map.Find(path);
    return std::make_pair(l.line, l.column);
  };
  EXPECT_EQ(p.source_map.Find("cluster_name").file, "spec.yaml");
  EXPECT_EQ(at("cluster_name"), std::make_pair(1, 15));
  EXPECT_EQ(at("nodes"), std::make_pair(2, 1));
  EXPECT_EQ(at("nodes[0]"), std::make_pair(3, 5));
  EXPECT_EQ(at("nodes[0].name"), std::make_pair(3, 11));
  EXPECT_EQ(at("nodes[0].labels.gui_id"), std::make_pair(5, 7));
  EXPECT_EQ(at("timing"), std::make_pair(6, 1));
  EXPECT_EQ(at("timing.deadtime"), std::make_pair(7, 13));
  EXPECT_EQ(at("groups[0].resources[1]"), std::make_pair(12, 9));
  EXPECT_EQ(at("groups[0].resources[1].ip"), std::make_pair(12, 9));
  EXPECT_EQ(at("groups[0].resources[1].ip.address"), std::make_pair(13, 20));
  EXPECT_EQ(at("groups[0].resources[0].lsb.name"), std::make_pair(11, 21));
}

// ---- writing and round trips ----

// A spec setting every field of every message, every oneof kind, maps,
// both enums and durations with milliseconds.
ClusterSpec FullSpec() {
  ClusterSpec s;
  s.set_cluster_name("billing");
  s.set_config_version(18446744073709551615u);
  auto* n1 = s.add_nodes();
  n1->set_name("node01");
  n1->add_addresses("192.0.2.11");
  n1->add_addresses("2001:db8::11");
  (*n1->mutable_labels())["gui_id"] = "1";
  (*n1->mutable_labels())["rack"] = "on";
  auto* n2 = s.add_nodes();
  n2->set_name("node02");
  n2->add_addresses("192.0.2.12");
  s.mutable_timing()->mutable_keepalive()->CopyFrom(FromMs(500));
  s.mutable_timing()->mutable_warntime()->CopyFrom(FromMs(1500));
  s.mutable_timing()->mutable_deadtime()->CopyFrom(FromMs(5000));
  s.mutable_timing()->mutable_initdead()->CopyFrom(FromMs(120000));
  s.set_udp_port(694);
  auto* ucast = s.add_media()->mutable_ucast();
  ucast->set_interface("eth0");
  ucast->set_port(695);
  ucast->add_peers("192.0.2.12");
  s.add_media()->mutable_ucast();
  s.add_media()->mutable_bcast()->set_interface("eth1");
  s.mutable_media(2)->mutable_bcast()->set_port(696);
  auto* mcast = s.add_media()->mutable_mcast();
  mcast->set_interface("eth2");
  mcast->set_group("239.0.0.1");
  mcast->set_port(697);
  mcast->set_ttl(1);
  mcast->set_loop(true);
  s.add_media()->mutable_serial()->set_device("/dev/ttyS0");
  s.mutable_media(4)->mutable_serial()->set_baud(19200);
  s.mutable_auth()->set_active_key(2);
  auto* k1 = s.mutable_auth()->add_keys();
  k1->set_id(1);
  k1->set_method(spec::v1::AUTH_METHOD_CRC);
  auto* k2 = s.mutable_auth()->add_keys();
  k2->set_id(2);
  k2->set_method(spec::v1::AUTH_METHOD_SHA256);
  k2->set_secret("yes");
  auto* k3 = s.mutable_auth()->add_keys();
  k3->set_id(3);
  k3->set_method(spec::v1::AUTH_METHOD_MD5);
  k3->set_secret_file("authkey");
  s.mutable_auth()->add_keys()->set_method(spec::v1::AUTH_METHOD_SHA1);
  auto* g = s.add_groups();
  g->set_name("web");
  g->set_preferred_node("node01");
  auto* ip = g->add_resources();
  ip->set_name("vip");
  ip->mutable_ip()->set_address("192.0.2.100");
  ip->mutable_ip()->set_prefix_length(24);
  ip->mutable_ip()->set_interface("eth0");
  ip->mutable_ip()->set_broadcast("192.0.2.255");
  ip->mutable_start_timeout()->CopyFrom(FromMs(20000));
  ip->mutable_stop_timeout()->CopyFrom(FromMs(250));
  ip->mutable_monitor_interval()->CopyFrom(FromMs(10000));
  ip->mutable_monitor_timeout()->CopyFrom(FromMs(3000));
  g->add_resources()->mutable_lsb()->set_name("apache2");
  auto* hb = g->add_resources()->mutable_heartbeat();
  hb->set_name("Filesystem");
  hb->add_args("/dev/drbd0");
  hb->add_args("/var/lib/mysql");
  auto* ocf = g->add_resources()->mutable_ocf();
  ocf->set_provider("linbit");
  ocf->set_type("drbd");
  (*ocf->mutable_params())["drbd_resource"] = "r0";
  (*ocf->mutable_params())["options"] = "-o noatime: x";
  s.set_auto_failback(spec::v1::AUTO_FAILBACK_ON);
  s.mutable_connectivity()->add_ping_nodes("192.0.2.1");
  auto* pg = s.mutable_connectivity()->add_ping_groups();
  pg->set_name("routers");
  pg->add_hosts("198.51.100.1");
  pg->add_hosts("gw.example.org");
  s.mutable_connectivity()->mutable_deadping()->CopyFrom(FromMs(2500));
  auto* r = s.add_respawn();
  r->set_user("hacluster");
  r->add_argv("/usr/lib/heartbeat/ipfail");
  r->add_argv("--debug");
  s.set_watchdog_device("/dev/watchdog");
  s.mutable_fencing()->add_command("/usr/sbin/fence");
  s.mutable_fencing()->add_command("{node}");
  s.mutable_fencing()->mutable_timeout()->CopyFrom(FromMs(60000));
  s.mutable_logging()->set_file("/var/log/ha.log");
  s.mutable_logging()->set_syslog_facility("local0");
  s.mutable_logging()->set_debug_file("/var/log/ha-debug.log");
  s.mutable_api()->set_unix_socket("/run/hacluster/agent.sock");
  s.mutable_api()->add_listen("[::1]:7443");
  s.mutable_api()->set_tls_cert("/etc/hacluster/cert.pem");
  s.mutable_api()->set_tls_key("/etc/hacluster/key.pem");
  s.mutable_api()->set_tls_client_ca("/etc/hacluster/ca.pem");
  return s;
}

void ExpectRoundTrip(const ClusterSpec& s) {
  std::string yaml = SpecToYaml(s);
  ParsedSpec p = Parse(yaml);
  EXPECT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics) << yaml;
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(s, p.spec)) << diff << "\n" << yaml;
  EXPECT_EQ(SpecToYaml(p.spec), yaml);
}

TEST(YamlCodecTest, FullSpecRoundTripsThroughYaml) { ExpectRoundTrip(FullSpec()); }

TEST(YamlCodecTest, EmptySpecRoundTrips) {
  ExpectRoundTrip(ClusterSpec());
  EXPECT_EQ(SpecToYaml(ClusterSpec()), "# Cluster spec (hacluster.spec.v1), canonical form.\n{}\n");
}

TEST(YamlCodecTest, PresentButEmptyMessagesRoundTrip) {
  ClusterSpec s;
  s.mutable_timing();
  s.add_media()->mutable_ucast();
  s.add_groups()->add_resources();
  ExpectRoundTrip(s);
}

TEST(YamlCodecTest, StringsThatYamlWouldReadOtherwiseAreQuoted) {
  ClusterSpec s;
  auto& labels = *s.add_nodes()->mutable_labels();
  const char* tricky[] = {"on",  "yes",   "No",   "true", "123", "1.5",   "0x1F", "1e3",
                          "1:20", "~",    "null", "",     " x",  "x ",    "a: b", "#x",
                          "- x", "[x]",   "{x}",  "*x",   "&x",  "!x",    "%x",   "@x",
                          "'x",  "\"x",   "x\r",  "a\nb", "\t",  ".inf",  "-",    "?",
                          ":",   "é",     "x #y", "|",    ">"};
  int i = 0;
  for (const char* t : tricky) labels[absl::StrCat("k", i++)] = t;
  labels["on"] = "key quoted too";
  ExpectRoundTrip(s);
  std::string yaml = SpecToYaml(s);
  EXPECT_NE(yaml.find("k0: \"on\"\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("k4: \"123\"\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("k9: \"~\"\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("\"on\": key quoted too\n"), std::string::npos) << yaml;
}

TEST(YamlCodecTest, AddressesAndPathsStayUnquoted) {
  ClusterSpec s;
  s.add_nodes()->add_addresses("192.0.2.11");
  s.mutable_nodes(0)->add_addresses("2001:db8::1");
  s.mutable_logging()->set_file("/var/log/ha.log");
  std::string yaml = SpecToYaml(s);
  EXPECT_NE(yaml.find("- 192.0.2.11\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("- 2001:db8::1\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("file: /var/log/ha.log\n"), std::string::npos) << yaml;
}

constexpr char kCanonical[] = R"yaml(# Cluster spec (hacluster.spec.v1), canonical form.
cluster_name: pbx
nodes:
  - name: node01
    addresses:
      - 192.0.2.11
    labels:
      gui_id: "1"
      role: primary
  - name: node02
    addresses:
      - 192.0.2.12
timing:
  keepalive: 500ms
  deadtime: 10s
media:
  - ucast: {}
  - serial:
      device: /dev/ttyS0
auth:
  keys:
    - id: 1
      method: sha1
      secret: "yes"
groups:
  - name: voip
    preferred_node: node01
    resources:
      - ip:
          address: 192.0.2.100
          prefix_length: 24
      - heartbeat:
          name: asterisk
          args:
            - "1"
        start_timeout: 1500ms
auto_failback: off
)yaml";

TEST(YamlCodecTest, CanonicalYamlIsReproducedExactly) {
  ParsedSpec p = Parse(kCanonical);
  ASSERT_TRUE(p.diagnostics.empty()) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(p.spec.groups(0).resources(1).start_timeout().nanos(), 500000000);
  EXPECT_EQ(SpecToYaml(p.spec), kCanonical);
}

TEST(YamlCodecTest, WritingNormalisesDurationsAndOrder) {
  ClusterSpec s = ParseOk("timing: {deadtime: 2000ms, keepalive: 0.5}\ncluster_name: c\n");
  EXPECT_EQ(SpecToYaml(s),
            "# Cluster spec (hacluster.spec.v1), canonical form.\n"
            "cluster_name: c\n"
            "timing:\n"
            "  keepalive: 500ms\n"
            "  deadtime: 2s\n");
}

// ---- files ----

std::string TmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

TEST(YamlCodecTest, LoadSpecFileOfMissingFileNamesFileAndReason) {
  std::string path = TmpDir() + "/missing.yaml";
  ParsedSpec p = LoadSpecFile(path);
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_EQ(p.diagnostics[0].location.file, path);
  EXPECT_EQ(p.diagnostics[0].message,
            absl::StrCat("cannot read spec file ", path, ": No such file or directory"));
}

TEST(YamlCodecTest, LoadSpecFileOfDirectoryIsAnError) {
  ParsedSpec p = LoadSpecFile(TmpDir());
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_NE(p.diagnostics[0].message.find("is not a regular file"), std::string::npos)
      << FormatDiagnostics(p.diagnostics);
}

TEST(YamlCodecTest, LoadSpecFileOfFifoIsRefusedWithoutHanging) {
  std::string path = TmpDir() + "/spec.fifo";
  unlink(path.c_str());
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  ParsedSpec p = LoadSpecFile(path);
  ASSERT_EQ(p.diagnostics.size(), 1u) << FormatDiagnostics(p.diagnostics);
  EXPECT_NE(p.diagnostics[0].message.find("is not a regular file"), std::string::npos)
      << FormatDiagnostics(p.diagnostics);
}

TEST(YamlCodecTest, LoadSpecFileOfAHugeFileIsRefused) {
  std::string path = TmpDir() + "/huge.yaml";
  std::ofstream(path) << "cluster_name: c\n" << std::string(5 << 20, '#') << "\n";
  ParsedSpec p = LoadSpecFile(path);
  ASSERT_EQ(p.diagnostics.size(), 1u) << FormatDiagnostics(p.diagnostics);
  EXPECT_NE(p.diagnostics[0].message.find("larger than 4 MiB"), std::string::npos);
}

TEST(YamlCodecTest, LoadSpecFileValidatesWithKeyFilesBesideTheSpec) {
  std::string dir = TmpDir() + "/load";
  mkdir(dir.c_str(), 0700);
  std::ofstream(dir + "/authkey") << "s3cret\n";
  ASSERT_EQ(chmod((dir + "/authkey").c_str(), 0644), 0);
  std::ofstream(dir + "/spec.yaml") << R"yaml(cluster_name: c
nodes:
  - {name: n1, addresses: [192.0.2.11]}
  - {name: n2, addresses: [192.0.2.12]}
media: [{ucast: {}}]
auth:
  keys: [{id: 1, secret_file: authkey}]
udp_prt: 694
)yaml";
  ParsedSpec p = LoadSpecFile(dir + "/spec.yaml");
  ASSERT_EQ(p.diagnostics.size(), 2u) << FormatDiagnostics(p.diagnostics);
  EXPECT_EQ(FormatDiagnostic(p.diagnostics[0]),
            absl::StrCat(dir, "/spec.yaml:8:1: error: unknown key 'udp_prt'; did you mean "
                              "'udp_port'?"));
  EXPECT_EQ(p.diagnostics[1].location.line, 7);
  EXPECT_NE(p.diagnostics[1].message.find("has mode 0644"), std::string::npos);

  ASSERT_EQ(chmod((dir + "/authkey").c_str(), 0600), 0);
  p = LoadSpecFile(dir + "/spec.yaml");
  EXPECT_EQ(p.diagnostics.size(), 1u) << FormatDiagnostics(p.diagnostics);
}

}  // namespace
}  // namespace hacluster::config
