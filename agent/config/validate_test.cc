#include "agent/config/validate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/config/yaml_codec.h"
#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

// A valid spec of 11 lines; tests append keys from line 12 on.
constexpr char kBase[] = R"yaml(cluster_name: c
nodes:
  - name: node01
    addresses: [192.0.2.11]
  - name: node02
    addresses: [192.0.2.12]
media:
  - ucast: {}
auth:
  keys:
    - {id: 1, secret: s3cret}
)yaml";

ValidateOptions NoFiles() {
  ValidateOptions o;
  o.check_files = false;
  return o;
}

std::vector<Diagnostic> Validate(const std::string& yaml,
                                 const ValidateOptions& options = NoFiles()) {
  ParsedSpec parsed = ParseSpecYaml(yaml, "spec.yaml");
  EXPECT_TRUE(parsed.diagnostics.empty()) << FormatDiagnostics(parsed.diagnostics);
  return ValidateSpec(parsed.spec, parsed.source_map, options);
}

// Expects exactly one diagnostic, at spec.yaml:line:column, whose message
// contains every one of `parts`.
void ExpectOne(const std::vector<Diagnostic>& ds, Severity severity, int line, int column,
               std::initializer_list<std::string> parts) {
  ASSERT_EQ(ds.size(), 1u) << FormatDiagnostics(ds);
  const Diagnostic& d = ds[0];
  EXPECT_EQ(d.severity, severity) << FormatDiagnostic(d);
  EXPECT_EQ(d.location.file, "spec.yaml");
  EXPECT_EQ(d.location.line, line) << FormatDiagnostic(d);
  EXPECT_EQ(d.location.column, column) << FormatDiagnostic(d);
  for (const std::string& part : parts) {
    EXPECT_NE(d.message.find(part), std::string::npos)
        << "'" << part << "' not in: " << FormatDiagnostic(d);
  }
}

void ExpectError(const std::string& yaml, int line, int column,
                 std::initializer_list<std::string> parts) {
  ExpectOne(Validate(yaml), Severity::kError, line, column, parts);
}

// The errors among `ds`, for specs that also draw warnings (each tested on
// its own).
std::vector<Diagnostic> ErrorsOf(const std::vector<Diagnostic>& ds) {
  std::vector<Diagnostic> errors;
  for (const Diagnostic& d : ds) {
    if (d.severity == Severity::kError) errors.push_back(d);
  }
  return errors;
}

void ExpectOnlyError(const std::string& yaml, int line, int column,
                     std::initializer_list<std::string> parts) {
  ExpectOne(ErrorsOf(Validate(yaml)), Severity::kError, line, column, parts);
}

void ExpectWarning(const std::string& yaml, int line, int column,
                   std::initializer_list<std::string> parts) {
  ExpectOne(Validate(yaml), Severity::kWarning, line, column, parts);
}

std::string Base(const std::string& more) { return absl::StrCat(kBase, more); }

// A sequence element that could not be read is left out of the spec; later
// elements' problems must still point at their own lines.
TEST(ValidateTest, ProblemsAfterAnUnreadableElementKeepTheirLines) {
  ParsedSpec parsed = ParseSpecYaml(R"yaml(cluster_name: c
nodes:
  - oops
  - {name: n1}
  - {name: "bad name!"}
)yaml",
                                    "spec.yaml");
  ASSERT_EQ(parsed.diagnostics.size(), 1u) << FormatDiagnostics(parsed.diagnostics);
  EXPECT_EQ(parsed.diagnostics[0].location.line, 3);
  std::vector<Diagnostic> ds = ValidateSpec(parsed.spec, parsed.source_map, NoFiles());
  bool found = false;
  for (const Diagnostic& d : ds) {
    if (d.message.find("bad name!") != std::string::npos) {
      found = true;
      EXPECT_EQ(d.location.line, 5) << FormatDiagnostic(d);
    }
  }
  EXPECT_TRUE(found) << FormatDiagnostics(ds);
}

TEST(ValidateTest, BaseSpecHasElevenLinesAndIsValid) {
  EXPECT_EQ(std::count(kBase, kBase + sizeof kBase - 1, '\n'), 11);
  EXPECT_TRUE(Validate(kBase).empty()) << FormatDiagnostics(Validate(kBase));
}

// ---- cluster_name ----

TEST(ValidateTest, MissingClusterNameIsAnError) {
  std::string yaml = kBase;
  yaml.replace(0, yaml.find('\n') + 1, "config_version: 3\n");
  ExpectOne(Validate(yaml), Severity::kError, 0, 0, {"cluster_name is missing"});
}

TEST(ValidateTest, ClusterNameWithSpaceIsAnError) {
  std::string yaml = kBase;
  yaml.replace(0, yaml.find('\n'), "cluster_name: my cluster");
  ExpectError(yaml, 1, 15, {"cluster_name 'my cluster' is not valid", "63"});
}

TEST(ValidateTest, ClusterNameOf64CharactersIsAnError) {
  std::string yaml = kBase;
  yaml.replace(0, yaml.find('\n'), "cluster_name: " + std::string(64, 'a'));
  ExpectError(yaml, 1, 15, {"is not valid: use 1 to 63"});
}

// ---- nodes ----

TEST(ValidateTest, NoNodesIsAnError) {
  ExpectError(R"yaml(cluster_name: c
nodes: []
media:
  - serial: {device: /dev/ttyS0}
auth:
  keys: [{id: 1, secret: s}]
)yaml",
              2, 1, {"no nodes"});
}

TEST(ValidateTest, NodeWithoutNameIsAnError) {
  ExpectError(R"yaml(cluster_name: c
nodes:
  - name: node01
  - addresses: [192.0.2.12]
media:
  - serial: {device: /dev/ttyS0}
auth:
  keys: [{id: 1, secret: s}]
)yaml",
              4, 5, {"nodes[1] has no name", "uname -n"});
}

TEST(ValidateTest, NodeNameWithSlashIsAnError) {
  ExpectError(R"yaml(cluster_name: c
nodes:
  - name: node/01
media:
  - serial: {device: /dev/ttyS0}
auth:
  keys: [{id: 1, secret: s}]
)yaml",
              3, 11, {"node name 'node/01' is not a host name"});
}

TEST(ValidateTest, DuplicateNodeNameIsReportedAtTheSecondNamingTheFirst) {
  ExpectError(R"yaml(cluster_name: c
nodes:
  - name: node01
  - name: node01
media:
  - serial: {device: /dev/ttyS0}
auth:
  keys: [{id: 1, secret: s}]
)yaml",
              4, 11, {"'node01' is listed twice", "nodes[1] repeats nodes[0] (line 3)"});
}

TEST(ValidateTest, InvalidNodeAddressIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("192.0.2.12"), 10, "192.0.2.300");
  ExpectError(yaml, 6, 17, {"address '192.0.2.300' of node 'node02' is not an IPv4 or IPv6"});
}

TEST(ValidateTest, AddressOfTwoNodesIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("192.0.2.12"), 10, "192.0.2.11");
  ExpectError(yaml, 6, 17,
              {"address 192.0.2.11 of node 'node02' is already an address of node 'node01'"});
}

TEST(ValidateTest, IPv6AddressesCompareByValue) {
  ExpectError(R"yaml(cluster_name: c
nodes:
  - name: node01
    addresses: ["2001:db8::1"]
  - name: node02
    addresses: ["2001:db8:0::1"]
media:
  - ucast: {}
auth:
  keys: [{id: 1, secret: s}]
)yaml",
              6, 17, {"already an address of node 'node01'"});
}

TEST(ValidateTest, EmptyLabelKeyIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("    addresses: [192.0.2.11]"), 0, "    labels: {\"\": x}\n");
  ExpectError(yaml, 4, 14, {"nodes[0].labels has an empty key"});
}

// ---- timing ----

TEST(ValidateTest, ZeroKeepaliveIsAnError) {
  ExpectError(Base("timing:\n  keepalive: 0s\n"), 13, 14, {"keepalive is 0"});
}

TEST(ValidateTest, DeadtimeNotLongerThanKeepaliveIsAnError) {
  ExpectError(Base(R"yaml(timing:
  keepalive: 2s
  deadtime: 2s
)yaml"),
              14, 13, {"deadtime 2s must be longer than keepalive 2s", "at least 4s"});
}

TEST(ValidateTest, KeepaliveAboveDefaultDeadtimeIsReportedAtKeepalive) {
  ExpectError(Base("timing:\n  keepalive: 40s\n"), 13, 14,
              {"deadtime 30s must be longer than keepalive 40s"});
}

TEST(ValidateTest, DeadtimeUnderTwiceKeepaliveIsAWarning) {
  ExpectWarning(Base(R"yaml(timing:
  keepalive: 1s
  deadtime: 1500ms
)yaml"),
                14, 13, {"deadtime 1500ms is less than twice keepalive 1s: one lost packet"});
}

TEST(ValidateTest, WarntimeShorterThanKeepaliveIsAWarning) {
  ExpectWarning(Base(R"yaml(timing:
  keepalive: 2s
  warntime: 1s
  deadtime: 10s
  initdead: 20s
)yaml"),
                14, 13, {"warntime 1s is shorter than keepalive 2s"});
}

TEST(ValidateTest, WarntimeLongerThanDeadtimeIsAWarning) {
  ExpectWarning(Base(R"yaml(timing:
  warntime: 10s
  deadtime: 5s
)yaml"),
                13, 13,
                {"warntime 10s is longer than deadtime 5s: nodes are declared dead before any "
                 "late-heartbeat warning"});
}

TEST(ValidateTest, InitdeadUnderTwiceDeadtimeIsAWarning) {
  ExpectWarning(Base(R"yaml(timing:
  deadtime: 30s
  initdead: 30s
)yaml"),
                14, 13, {"initdead 30s is less than twice deadtime 30s", "at least 60s"});
}

TEST(ValidateTest, DeadpingNotShorterThanDeadtimeIsAnError) {
  ExpectError(Base(R"yaml(timing:
  deadtime: 10s
connectivity:
  ping_nodes: [192.0.2.1]
  deadping: 10s
)yaml"),
              16, 13, {"deadping 10s must be shorter than deadtime 10s"});
}

TEST(ValidateTest, DeadpingAgainstDefaultDeadtime) {
  ExpectError(Base("connectivity:\n  ping_nodes: [192.0.2.1]\n  deadping: 45s\n"), 14, 13,
              {"deadping 45s must be shorter than deadtime 30s"});
}

// Heartbeat accepts a deadping with no ping node; it does nothing.
TEST(ValidateTest, DeadpingWithoutPingNodesOnlyWarns) {
  ExpectWarning(Base("connectivity:\n  deadping: 45s\n"), 13, 13,
                {"deadping has no effect: there are no ping_nodes or ping_groups"});
}

TEST(ValidateTest, UcastMediaWithFewerAddressesThanMediaWarn) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("addresses: [192.0.2.12]"), 23,
               "addresses: [192.0.2.12, 198.51.100.12]");
  yaml.replace(yaml.find("addresses: [192.0.2.11]"), 23,
               "addresses: [192.0.2.11, 198.51.100.11]");
  yaml.replace(yaml.find("  - ucast: {}"), 13, "  - ucast: {}\n  - ucast: {}");
  EXPECT_TRUE(Validate(yaml).empty()) << FormatDiagnostics(Validate(yaml));
  yaml.replace(yaml.find(", 198.51.100.12"), 15, "");  // node02 keeps one address
  ExpectWarning(yaml, 8, 5,
                {"2 ucast media share the node addresses by position, but node 'node02' has 1 "
                 "address(es)"});
}

// ---- ports and media ----

TEST(ValidateTest, UdpPortAbove65535IsAnError) {
  ExpectError(Base("udp_port: 70000\n"), 12, 11, {"udp_port 70000 is not a port number"});
}

TEST(ValidateTest, MediumPortAbove65535IsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "ucast: {port: 65536}");
  ExpectError(yaml, 8, 19, {"media[0].ucast.port 65536 is not a port number"});
}

TEST(ValidateTest, NoMediumIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("  - ucast: {}"), 13, "  []");
  yaml.replace(yaml.find("media:\n"), 7, "media:");
  ExpectError(yaml, 7, 1, {"no heartbeat medium"});
}

TEST(ValidateTest, MediumWithoutKindIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "{}");
  ExpectError(yaml, 8, 5, {"media[0] has no kind"});
}

TEST(ValidateTest, InvalidUcastPeerIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "ucast: {peers: [node02]}");
  ExpectError(yaml, 8, 21, {"ucast peer 'node02' is not an IPv4 or IPv6 address"});
}

TEST(ValidateTest, UcastWithoutPeersNeedsTwoNodesWithAddresses) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("    addresses: [192.0.2.12]\n"), 28, "");
  ExpectError(yaml, 7, 5, {"ucast needs node addresses or peers", "1 node(s)"});
}

TEST(ValidateTest, BcastWithoutInterfaceIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "bcast: {port: 694}");
  ExpectError(yaml, 8, 5, {"bcast has no interface"});
}

TEST(ValidateTest, McastWithoutInterfaceIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "mcast: {group: 239.0.0.1}");
  ExpectError(yaml, 8, 5, {"mcast has no interface"});
}

TEST(ValidateTest, McastWithoutGroupIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "mcast: {interface: eth1}");
  ExpectError(yaml, 8, 5, {"mcast has no group"});
}

TEST(ValidateTest, McastGroupOutsideMulticastRangeIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "mcast: {interface: eth1, group: 192.0.2.1}");
  ExpectError(yaml, 8, 37, {"mcast group '192.0.2.1' is not a multicast address"});
}

TEST(ValidateTest, McastIPv6GroupIsAccepted) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "mcast: {interface: eth1, group: \"ff02::1:2\"}");
  EXPECT_TRUE(Validate(yaml).empty()) << FormatDiagnostics(Validate(yaml));
}

TEST(ValidateTest, McastTtlAbove255IsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "mcast: {interface: eth1, group: 239.0.0.1, ttl: 256}");
  ExpectError(yaml, 8, 53, {"mcast ttl 256 is out of range: use 1 to 255"});
}

TEST(ValidateTest, SerialWithoutDeviceIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "serial: {baud: 9600}");
  ExpectError(yaml, 8, 5, {"serial has no device"});
}

TEST(ValidateTest, UnsupportedBaudIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "serial: {device: /dev/ttyS0, baud: 9601}");
  ExpectError(yaml, 8, 40, {"serial baud 9601 is not a supported speed"});
}

// ---- auth ----

TEST(ValidateTest, NoKeyIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("    - {id: 1, secret: s3cret}\n"), 30, "");
  yaml.replace(yaml.find("  keys:\n"), 8, "  keys: []\n");
  ExpectError(yaml, 9, 1, {"no authentication key"});
}

TEST(ValidateTest, KeyIdAbove15IsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("id: 1"), 5, "id: 16");
  ExpectError(yaml, 11, 12, {"auth.keys[0] has id 16: key ids are 1 to 15"});
}

TEST(ValidateTest, DuplicateKeyIdIsAnError) {
  ExpectError(Base(R"yaml(    - {id: 1, secret: other}
  active_key: 1
)yaml"),
              12, 12, {"key id 1 is used twice", "auth.keys[1] repeats auth.keys[0] (line 11)"});
}

TEST(ValidateTest, KeyWithoutSecretIsAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("secret: s3cret"), 14, "method: sha1");
  ExpectError(yaml, 11, 7, {"key 1 (sha1) has no secret: set secret or secret_file"});
}

TEST(ValidateTest, CrcKeyNeedsNoSecretButWarnsOnANetworkMedium) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("secret: s3cret"), 14, "method: crc");
  ExpectWarning(yaml, 11, 23,
                {"crc does not authenticate; on a shared network anyone can inject heartbeats",
                 "use sha256 or keep crc for a private cable"});
}

TEST(ValidateTest, CrcWarningPointsAtTheActiveKeyWhenItIsNotTheFirst) {
  std::string yaml = kBase;
  yaml.insert(yaml.find("  keys:"), "  active_key: 2\n");  // line 10
  yaml += "    - {id: 2, method: crc}\n";                     // line 13
  ExpectWarning(yaml, 13, 23, {"active key 2 uses crc"});
}

TEST(ValidateTest, CrcKeyOnASerialCableOnlyIsAccepted) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("secret: s3cret"), 14, "method: crc");
  yaml.replace(yaml.find("ucast: {}"), 9, "serial: {device: /dev/ttyS0}");
  EXPECT_TRUE(Validate(yaml).empty()) << FormatDiagnostics(Validate(yaml));
}

TEST(ValidateTest, SecretAndSecretFileTogetherAreAnError) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("secret: s3cret"), 14, "secret: s3cret, secret_file: /etc/k");
  ExpectError(yaml, 11, 44, {"key 1 (sha256) has both secret and secret_file"});
}

TEST(ValidateTest, ActiveKeyThatIsNotConfiguredIsAnError) {
  ExpectError(Base("  active_key: 2\n"), 12, 15,
              {"active_key 2 is not a configured key: the keys are 1"});
}

TEST(ValidateTest, SeveralKeysWithoutActiveKeyIsAnError) {
  ExpectError(Base("    - {id: 2, secret: next}\n"), 9, 1,
              {"auth has 2 keys but no active_key"});
}

// Key files live in a fresh directory under TEST_TMPDIR.
class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0700);
  }
  std::string WriteKey(const std::string& name, mode_t mode) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << "s3cret\n";
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::vector<Diagnostic> ValidateWithKey(const std::string& secret_file) {
    std::string yaml = kBase;
    yaml.replace(yaml.find("secret: s3cret"), 14, "secret_file: " + secret_file);
    ValidateOptions options;
    options.base_dir = dir_;
    return Validate(yaml, options);
  }
  std::string dir_;
};

TEST_F(SecretFileTest, Mode0600IsAccepted) {
  std::string path = WriteKey("authkey", 0600);
  EXPECT_TRUE(ValidateWithKey(path).empty()) << FormatDiagnostics(ValidateWithKey(path));
}

TEST_F(SecretFileTest, Mode0400IsAccepted) {
  std::string path = WriteKey("authkey", 0400);
  EXPECT_TRUE(ValidateWithKey(path).empty()) << FormatDiagnostics(ValidateWithKey(path));
}

TEST_F(SecretFileTest, RelativePathIsResolvedAgainstBaseDir) {
  WriteKey("authkey", 0600);
  EXPECT_TRUE(ValidateWithKey("authkey").empty())
      << FormatDiagnostics(ValidateWithKey("authkey"));
}

TEST_F(SecretFileTest, GroupReadableFileIsAnError) {
  std::string path = WriteKey("authkey", 0644);
  ExpectOne(ValidateWithKey("authkey"), Severity::kError, 11, 28,
            {absl::StrCat("secret file ", path,
                          " has mode 0644; it must not be readable by group or others: "
                          "chmod 600 ",
                          path)});
}

TEST_F(SecretFileTest, MissingFileIsAnErrorWithTheOsReason) {
  ExpectOne(ValidateWithKey("nokey"), Severity::kError, 11, 28,
            {absl::StrCat("secret file ", dir_, "/nokey cannot be read"),
             "No such file or directory"});
}

TEST_F(SecretFileTest, EmptyFileIsAnError) {
  std::string path = absl::StrCat(dir_, "/empty");
  std::ofstream(path).flush();
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  ExpectOne(ValidateWithKey("empty"), Severity::kError, 11, 28,
            {absl::StrCat("secret file ", path, " is empty")});
}

TEST_F(SecretFileTest, FilesAreNotCheckedWhenDisabled) {
  std::string yaml = kBase;
  yaml.replace(yaml.find("secret: s3cret"), 14, "secret_file: /nonexistent/authkey");
  EXPECT_TRUE(Validate(yaml, NoFiles()).empty());
}

// ---- groups ----

constexpr char kGroup[] = R"yaml(groups:
  - name: web
    preferred_node: node01
    resources:
      - ip: {address: 192.0.2.100}
)yaml";  // lines 12 to 16 after kBase

TEST(ValidateTest, BaseWithGroupIsValid) {
  EXPECT_TRUE(Validate(Base(kGroup)).empty()) << FormatDiagnostics(Validate(Base(kGroup)));
}

std::string WithGroup(absl::string_view from, absl::string_view to) {
  std::string yaml = Base(kGroup);
  size_t at = yaml.find(std::string(from), sizeof kBase - 1);
  EXPECT_NE(at, std::string::npos) << from;
  yaml.replace(at, from.size(), std::string(to));
  return yaml;
}

TEST(ValidateTest, GroupWithoutNameIsAnError) {
  ExpectError(WithGroup("  - name: web\n    preferred_node", "  - preferred_node"), 13, 5,
              {"groups[0] has no name"});
}

TEST(ValidateTest, GroupNameWithSpaceIsAnError) {
  ExpectError(WithGroup("name: web", "name: web site"), 13, 11,
              {"group name 'web site' is not valid"});
}

TEST(ValidateTest, DuplicateGroupNameIsAnError) {
  ExpectError(Base(absl::StrCat(kGroup, R"yaml(  - name: web
    preferred_node: node02
    resources: [{lsb: {name: apache2}}]
)yaml")),
              17, 11, {"group name 'web' is used twice", "groups[1] repeats groups[0] (line 13)"});
}

TEST(ValidateTest, GroupWithoutPreferredNodeIsAnError) {
  ExpectError(WithGroup("    preferred_node: node01\n", ""), 13, 5,
              {"group 'web' has no preferred_node"});
}

TEST(ValidateTest, UnknownPreferredNodeSuggestsTheClosestNode) {
  ExpectError(WithGroup("preferred_node: node01", "preferred_node: node1"), 14, 21,
              {"preferred_node 'node1' of group 'web' is not a node of this cluster",
               "did you mean 'node01'?"});
}

TEST(ValidateTest, GroupWithoutResourcesIsAnError) {
  ExpectError(WithGroup("    resources:\n      - ip: {address: 192.0.2.100}\n",
                        "    resources: []\n"),
              13, 5, {"group 'web' has no resources"});
}

TEST(ValidateTest, ResourceWithoutKindIsAnError) {
  ExpectError(WithGroup("- ip: {address: 192.0.2.100}", "- name: vip"), 16, 9,
              {"groups[0].resources[0] has no kind"});
}

TEST(ValidateTest, IpResourceWithoutAddressIsAnError) {
  ExpectError(WithGroup("ip: {address: 192.0.2.100}", "ip: {interface: eth0}"), 16, 9,
              {"ip resource has no address"});
}

TEST(ValidateTest, InvalidVipIsAnError) {
  ExpectError(WithGroup("192.0.2.100", "192.0.2.1000"), 16, 23,
              {"VIP '192.0.2.1000' is not an IPv4 or IPv6 address"});
}

TEST(ValidateTest, VipWrittenAsCidrSuggestsPrefixLength) {
  ExpectError(WithGroup("192.0.2.100", "192.0.2.100/24"), 16, 23,
              {"VIP '192.0.2.100/24' is not an IPv4 or IPv6 address",
               "address: 192.0.2.100 and prefix_length: 24"});
}

TEST(ValidateTest, InterfaceThatIsNoLinuxNameIsAnError) {
  ExpectError(WithGroup("192.0.2.100}", "192.0.2.100, interface: eth0:0}"), 16, 47,
              {"interface 'eth0:0' is not a Linux interface name", "write eth0, not eth0:0"});
  std::string yaml = kBase;
  yaml.replace(yaml.find("ucast: {}"), 9, "bcast: {interface: 192.0.2.9}");
  ExpectError(yaml, 8, 24, {"interface '192.0.2.9' is not a Linux interface name"});
}

TEST(ValidateTest, IPv4PrefixLengthAbove32IsAnError) {
  ExpectError(WithGroup("192.0.2.100}", "192.0.2.100, prefix_length: 33}"), 16, 51,
              {"prefix_length 33 of VIP 192.0.2.100 is out of range: use 1 to 32"});
}

TEST(ValidateTest, IPv6PrefixLengthUpTo128IsAccepted) {
  std::string yaml = WithGroup("192.0.2.100}", "\"2001:db8::100\", prefix_length: 64}");
  EXPECT_TRUE(Validate(yaml).empty()) << FormatDiagnostics(Validate(yaml));
}

TEST(ValidateTest, IPv6PrefixLengthAbove128IsAnError) {
  ExpectError(WithGroup("192.0.2.100}", "\"2001:db8::100\", prefix_length: 129}"), 16, 55,
              {"prefix_length 129 of VIP 2001:db8::100 is out of range: use 1 to 128"});
}

TEST(ValidateTest, BroadcastOnIPv6VipIsAnError) {
  ExpectError(WithGroup("192.0.2.100}", "\"2001:db8::100\", broadcast: 192.0.2.255}"), 16, 51,
              {"VIP 2001:db8::100 is IPv6, which has no broadcast"});
}

TEST(ValidateTest, InvalidBroadcastIsAnError) {
  ExpectError(WithGroup("192.0.2.100}", "192.0.2.100, broadcast: \"ff02::1\"}"), 16, 47,
              {"broadcast 'ff02::1' is not an IPv4 address"});
}

TEST(ValidateTest, VipThatIsANodeAddressIsAnError) {
  ExpectError(WithGroup("192.0.2.100", "192.0.2.11"), 16, 23,
              {"VIP 192.0.2.11 is node01's own address"});
}

TEST(ValidateTest, SameVipInTwoGroupsIsAnError) {
  ExpectError(Base(absl::StrCat(kGroup, R"yaml(  - name: db
    preferred_node: node02
    resources: [{ip: {address: 192.0.2.100}}]
)yaml")),
              19, 32, {"VIP 192.0.2.100 of group 'db' is already managed by group 'web'"});
}

TEST(ValidateTest, LsbWithoutNameIsAnError) {
  ExpectError(WithGroup("ip: {address: 192.0.2.100}", "lsb: {}"), 16, 9,
              {"lsb resource has no name"});
}

TEST(ValidateTest, HeartbeatScriptNameWithSlashIsAnError) {
  ExpectError(WithGroup("ip: {address: 192.0.2.100}",
                        "heartbeat: {name: /etc/init.d/x, args: [a]}"),
              16, 27, {"heartbeat name '/etc/init.d/x' contains '/'"});
}

TEST(ValidateTest, OcfWithoutTypeIsAnError) {
  ExpectError(WithGroup("ip: {address: 192.0.2.100}", "ocf: {provider: linbit}"), 16, 9,
              {"ocf resource has no type"});
}

TEST(ValidateTest, ZeroTimeoutIsAnError) {
  ExpectError(WithGroup("      - ip: {address: 192.0.2.100}\n",
                        "      - ip: {address: 192.0.2.100}\n        start_timeout: 0s\n"),
              17, 24, {"groups[0].resources[0].start_timeout is 0s: it must be longer than 0"});
}

// ---- connectivity ----

TEST(ValidateTest, EmptyPingNodeIsAnError) {
  ExpectError(Base("connectivity:\n  ping_nodes: [192.0.2.1, \"\"]\n"), 13, 27,
              {"ping node '' is not a host name or address"});
}

TEST(ValidateTest, PingGroupWithoutNameIsAnError) {
  ExpectError(Base("connectivity:\n  ping_groups:\n    - hosts: [192.0.2.1]\n"), 14, 7,
              {"connectivity.ping_groups[0] has no name"});
}

TEST(ValidateTest, DuplicatePingGroupNameIsAnError) {
  ExpectError(Base(R"yaml(connectivity:
  ping_groups:
    - {name: gw, hosts: [192.0.2.1]}
    - {name: gw, hosts: [192.0.2.2]}
)yaml"),
              15, 14, {"ping group name 'gw' is used twice"});
}

TEST(ValidateTest, PingGroupWithoutHostsIsAnError) {
  ExpectError(Base("connectivity:\n  ping_groups:\n    - name: gw\n"), 14, 7,
              {"ping group 'gw' has no hosts"});
}

TEST(ValidateTest, EmptyPingGroupHostIsAnError) {
  ExpectError(Base("connectivity:\n  ping_groups:\n    - {name: gw, hosts: [\"\"]}\n"), 14, 26,
              {"ping group host '' is not a host name or address"});
}

// ---- processes, logging, api ----

TEST(ValidateTest, RespawnWithoutUserIsAnError) {
  ExpectOnlyError(Base("respawn:\n  - argv: [/usr/lib/heartbeat/ipfail]\n"), 13, 5,
              {"respawn[0] has no user"});
}

TEST(ValidateTest, RespawnWithoutArgvIsAnError) {
  ExpectOnlyError(Base("respawn:\n  - user: hacluster\n"), 13, 5, {"respawn[0] has no program"});
}

TEST(ValidateTest, FencingCommandWithEmptyProgramIsAnError) {
  ExpectError(Base("fencing:\n  command: [\"\", \"{node}\"]\n"), 13, 13,
              {"fencing.command starts with an empty program name"});
}

TEST(ValidateTest, UnknownSyslogFacilitySuggestsTheClosest) {
  ExpectError(Base("logging:\n  syslog_facility: local9\n"), 13, 20,
              {"syslog_facility 'local9' is not a syslog facility", "did you mean 'local0'?"});
}

TEST(ValidateTest, ApiListenWithoutPortIsAnError) {
  ExpectOnlyError(Base(R"yaml(api:
  listen: [192.0.2.11]
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
)yaml"),
              13, 12, {"api listen address '192.0.2.11' has no port"});
}

TEST(ValidateTest, ApiListenIPv6NeedsBrackets) {
  ExpectOnlyError(Base(R"yaml(api:
  listen: ["[::1]:7443", "::1:7443"]
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
)yaml"),
              13, 26, {"'::1:7443' has an IPv6 address not in [ ]"});
}

TEST(ValidateTest, ApiListenPortOutOfRangeIsAnError) {
  ExpectOnlyError(Base(R"yaml(api:
  listen: ["0.0.0.0:70000"]
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
)yaml"),
              13, 12, {"'0.0.0.0:70000' has no valid port"});
}

TEST(ValidateTest, ApiListenWithoutTlsNamesEachMissingFile) {
  std::vector<Diagnostic> ds = ErrorsOf(Validate(Base("api:\n  listen: [\"0.0.0.0:7443\"]\n")));
  ASSERT_EQ(ds.size(), 3u) << FormatDiagnostics(ds);
  EXPECT_EQ(ds[0].location.line, 12);
  EXPECT_NE(ds[0].message.find("set api.tls_cert"), std::string::npos);
  EXPECT_NE(ds[1].message.find("set api.tls_key"), std::string::npos);
  EXPECT_NE(ds[2].message.find("set api.tls_client_ca"), std::string::npos);
}

TEST(ValidateTest, MetricsListenNeedsTlsAndAValidAddress) {
  std::vector<Diagnostic> ds = ErrorsOf(Validate(Base("api:\n  metrics_listen: \":9101\"\n")));
  ASSERT_EQ(ds.size(), 3u) << FormatDiagnostics(ds);
  EXPECT_NE(ds[0].message.find("api.metrics_listen serves metrics over HTTPS, which needs TLS: "
                               "set api.tls_cert"),
            std::string::npos)
      << FormatDiagnostics(ds);
  ExpectOnlyError(Base(R"yaml(api:
  metrics_listen: "9101"
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
)yaml"),
                  13, 19, {"api metrics_listen address '9101' has no port"});
  // With TLS and no API listener: valid, and no warning that the TLS files
  // go unused.
  std::vector<Diagnostic> quiet = Validate(Base(R"yaml(api:
  metrics_listen: ":9101"
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
)yaml"));
  EXPECT_TRUE(quiet.empty()) << FormatDiagnostics(quiet);
}

// ---- respawn and the watchdog (acted on by the agent: no warning) ----

TEST(ValidateTest, RespawnAndWatchdogAreValidWithoutWarnings) {
  std::vector<Diagnostic> ds = Validate(Base(R"yaml(respawn:
  - user: hacluster
    argv: [/usr/lib/heartbeat/ipfail]
  - {user: nobody, argv: [/usr/bin/mon, --flag]}
watchdog_device: /dev/watchdog
)yaml"));
  EXPECT_TRUE(ds.empty()) << FormatDiagnostics(ds);
}

TEST(ValidateTest, RespawnProgramAndWatchdogDeviceMustBeAbsolutePaths) {
  ExpectOnlyError(Base("respawn:\n  - {user: hacluster, argv: [ccm]}\n"), 13, 30,
                  {"respawn[0] program 'ccm' is not an absolute path: it is run without a shell "
                   "or PATH search, e.g. /usr/lib/heartbeat/ccm"});
  ExpectOnlyError(Base("watchdog_device: watchdog\n"), 12, 18,
                  {"watchdog_device 'watchdog' is not an absolute path, e.g. /dev/watchdog"});
}

TEST(ValidateTest, ApiListenWithTlsIsValidWithoutWarnings) {
  std::vector<Diagnostic> ds = Validate(Base(R"yaml(api:
  listen: ["0.0.0.0:7443", "[::]:7443", ":7444", "node01.example.net:7445"]
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
  unix_socket_group: hamon
)yaml"));
  EXPECT_TRUE(ds.empty()) << FormatDiagnostics(ds);
}

TEST(ValidateTest, ApiListenOwnAddressesNeedEveryNodesAddresses) {
  std::vector<Diagnostic> ds = ErrorsOf(Validate(R"yaml(cluster_name: demo
nodes:
  - {name: node01, addresses: [192.0.2.11]}
  - {name: node02}
media:
  - bcast: {interface: eth1}
auth:
  keys:
    - {id: 1, secret: s3cret}
api:
  listen: [":7443"]
  tls_cert: /etc/ha/cert.pem
  tls_key: /etc/ha/key.pem
  tls_client_ca: /etc/ha/ca.pem
)yaml"));
  ASSERT_EQ(ds.size(), 1u) << FormatDiagnostics(ds);
  EXPECT_NE(ds[0].message.find("':7443' means each node's own addresses, and node node02 has none"),
            std::string::npos)
      << FormatDiagnostic(ds[0]);
}

TEST(ValidateTest, TlsKeyWithoutListenWarnsNothingUsesIt) {
  ExpectWarning(Base("api:\n  tls_cert: /etc/ha/cert.pem\n"), 13, 13,
                {"api.tls_cert is set but api.listen is empty: there is no TCP API for it to "
                 "secure, so it is not used"});
}

TEST(ValidateTest, UnixSocketAloneIsActedOnAndQuiet) {
  EXPECT_TRUE(Validate(Base("api:\n  unix_socket: /run/ha-agent.sock\n")).empty());
}

}  // namespace
}  // namespace hacluster::config

namespace hacluster::config {
namespace {

// ---- wire ----

// The base spec with sha1 (sha256 is the default method) on the heartbeat3
// wire.
constexpr char kHb3Base[] = R"yaml(cluster_name: c
nodes:
  - name: node01
    addresses: [192.0.2.11]
  - name: node02
    addresses: [192.0.2.12]
media:
  - ucast: {}
auth:
  keys:
    - {id: 1, method: sha1, secret: s3cret}
wire: heartbeat3
)yaml";

TEST(ValidateTest, Heartbeat3WireWithSha1CrcOrMd5IsValid) {
  EXPECT_TRUE(Validate(kHb3Base).empty()) << FormatDiagnostics(Validate(kHb3Base));
  std::string md5 = kHb3Base;
  md5.replace(md5.find("sha1"), 4, "md5");
  EXPECT_TRUE(Validate(md5).empty()) << FormatDiagnostics(Validate(md5));
  // crc is allowed, with the usual warning, which names what this wire has.
  std::string crc = kHb3Base;
  crc.replace(crc.find("sha1, secret: s3cret"), 20, "crc");
  ExpectWarning(crc, 11, 23, {"crc does not authenticate", "use sha1 or"});
  std::string native = kBase;
  EXPECT_TRUE(Validate(native + "wire: native\n").empty());
}

TEST(ValidateTest, Heartbeat3WireRefusesSha256Keys) {
  std::string yaml = kHb3Base;
  yaml.replace(yaml.find("method: sha1, "), 14, "");
  ExpectError(yaml, 11, 7, {"key 1 uses sha256", "Heartbeat 3", "sha1, md5 or crc"});
}

TEST(ValidateTest, Heartbeat3WireNeedsExactlyTwoNodes) {
  std::string yaml = kHb3Base;
  yaml.replace(yaml.find("  - name: node02\n    addresses: [192.0.2.12]\n"), 45, "");
  yaml.replace(yaml.find("ucast: {}"), 9, "ucast: {peers: [192.0.2.12]}");
  ExpectError(yaml, 2, 1, {"exactly 2 nodes", "has 1"});
}

TEST(ValidateTest, Heartbeat3WireRefusesConnectivity) {
  ExpectError(absl::StrCat(kHb3Base, "connectivity:\n  ping_nodes: [192.0.2.1]\n"), 13, 1,
              {"connectivity cannot be used with wire: heartbeat3"});
}

}  // namespace
}  // namespace hacluster::config
