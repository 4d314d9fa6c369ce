#include "migrate/haresources_parser.h"

#include "gtest/gtest.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

using config::Severity;
using spec::v1::Resource;

// Parses a one-line haresources and returns its resources.
std::vector<HaresourcesResource> One(const std::string& text,
                                     std::vector<config::Diagnostic>* diags = nullptr) {
  HaresourcesParse p = ParseHaresources(text, "haresources");
  if (diags != nullptr) *diags = p.diagnostics;
  EXPECT_EQ(p.lines.size(), 1u);
  if (p.lines.empty()) return {};
  return p.lines[0].resources;
}

TEST(HaresourcesParserTest, BareIpForms) {
  std::vector<config::Diagnostic> d;
  auto r = One("n1 10.0.0.1 10.0.0.2/24 10.0.0.3/24/eth1 10.0.0.4/24/eth1/10.0.0.255 "
               "192.168.85.3/27/192.168.85.16 10.0.0.5/255.255.255.224 10.0.0.6//eth2\n",
               &d);
  ASSERT_TRUE(d.empty()) << config::FormatDiagnostics(d);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].resource.ip().address(), "10.0.0.1");
  EXPECT_EQ(r[0].resource.ip().prefix_length(), 0u);
  EXPECT_EQ(r[1].resource.ip().prefix_length(), 24u);
  EXPECT_EQ(r[2].resource.ip().interface(), "eth1");
  EXPECT_EQ(r[3].resource.ip().broadcast(), "10.0.0.255");
  EXPECT_EQ(r[3].resource.ip().interface(), "eth1");
  EXPECT_EQ(r[4].resource.ip().prefix_length(), 27u);
  EXPECT_EQ(r[4].resource.ip().broadcast(), "192.168.85.16");
  EXPECT_EQ(r[4].resource.ip().interface(), "");
  EXPECT_EQ(r[5].resource.ip().prefix_length(), 27u);
  EXPECT_EQ(r[6].resource.ip().interface(), "eth2");
  EXPECT_EQ(r[6].resource.ip().prefix_length(), 0u);
}

TEST(HaresourcesParserTest, IpaddrAndIpaddr2AreNativeIps) {
  auto r = One("n1 IPaddr::192.168.0.142/24/eth0 IPaddr2::10.1.1.1/16\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].resource.ip().address(), "192.168.0.142");
  EXPECT_EQ(r[0].resource.ip().interface(), "eth0");
  EXPECT_EQ(r[1].resource.ip().prefix_length(), 16u);
}

TEST(HaresourcesParserTest, AliasInterfaceIsReducedWithWarning) {
  std::vector<config::Diagnostic> d;
  auto r = One("n1 IPaddr::192.168.0.142/24/eth0:0 httpd\n", &d);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].resource.ip().interface(), "eth0");
  EXPECT_TRUE(HasDiagnostic(d, Severity::kWarning, "haresources", 1,
                            "interface 'eth0:0' in 'IPaddr::192.168.0.142/24/eth0:0' is an "
                            "alias label"));
}

TEST(HaresourcesParserTest, Ipv6addrKeepsDoubleColons) {
  auto r = One("n1 IPv6addr::2001:db8::10/64/eth0 IPv6addr::fe80::1\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].resource.ip().address(), "2001:db8::10");
  EXPECT_EQ(r[0].resource.ip().prefix_length(), 64u);
  EXPECT_EQ(r[0].resource.ip().interface(), "eth0");
  EXPECT_EQ(r[1].resource.ip().address(), "fe80::1");
}

// Heartbeat's ResourceManager would split a bare IPv6 token on '::' into a
// script name and arguments; it is still an IPv6 VIP here, with a warning.
TEST(HaresourcesParserTest, BareIpv6TokenIsAVipWithAWarning) {
  std::vector<config::Diagnostic> d;
  auto r = One("node01 2001:db8::5/64/eth0 httpd\n", &d);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].resource.ip().address(), "2001:db8::5");
  EXPECT_EQ(r[0].resource.ip().prefix_length(), 64u);
  EXPECT_EQ(r[0].resource.ip().interface(), "eth0");
  EXPECT_TRUE(HasDiagnostic(d, Severity::kWarning, "haresources", 1,
                            "'2001:db8::5/64/eth0': Heartbeat treats only dotted-quad tokens "
                            "as addresses (it would need IPv6addr::2001:db8::5/64/eth0); "
                            "converted as an IPv6 VIP"))
      << config::FormatDiagnostics(d);
  EXPECT_EQ(d.size(), 1u) << config::FormatDiagnostics(d);
  // The IPv6addr:: form Heartbeat understands does not warn.
  std::vector<config::Diagnostic> d2;
  One("node01 IPv6addr::2001:db8::5 httpd\n", &d2);
  EXPECT_TRUE(d2.empty()) << config::FormatDiagnostics(d2);
}

// Found by the haresources fuzzer's round trip: "2.6.8.1:" became interface
// "2.6.8.1", which written back ("9.1.8.3//2.6.8.1") reads as a broadcast.
TEST(HaresourcesParserTest, InterfaceThatIsAnAddressIsAnError) {
  std::vector<config::Diagnostic> d;
  auto r = One("n1 9.1.8.3//2.6.8.1: IPv6addr::2001:db8::1/64/10.0.0.1 httpd\n", &d);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].resource.lsb().name(), "httpd");
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1,
                            "interface '2.6.8.1:' in '9.1.8.3//2.6.8.1:' is an IPv4 address, "
                            "not an interface name; write ADDRESS/PREFIX/INTERFACE/BROADCAST"))
      << config::FormatDiagnostics(d);
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1,
                            "interface '10.0.0.1' in 'IPv6addr::2001:db8::1/64/10.0.0.1' is an "
                            "IPv4 address"))
      << config::FormatDiagnostics(d);
}

// What Debian's installed agents (resource-agents 1:4.12.0-2) do with a
// dotted quad that is not a contiguous netmask, found by running their own
// code: IPaddr's findif (/usr/libexec/heartbeat/findif, C) prints
// "Converted dotted-quad netmask to CIDR as: 31" for 100.200.230.6 (32
// minus its trailing zero bits) and exits 6 on 0.0.0.0; IPaddr2's findif.sh
// (maybe_convert_dotted_quad_to_cidr) logs "Bogus netmask" for 255.0.255.0
// and its start fails. The conversion does the same as each.
TEST(HaresourcesParserTest, DottedQuadThatIsNotANetmaskDoesWhatDebiansIPaddrDoes) {
  std::vector<config::Diagnostic> d;
  auto r = One("node1 IPaddr::100.200.230.1/100.200.230.6 10.0.0.7/255.0.255.0 named\n", &d);
  ASSERT_EQ(r.size(), 3u) << config::FormatDiagnostics(d);
  EXPECT_EQ(r[0].resource.ip().address(), "100.200.230.1");
  EXPECT_EQ(r[0].resource.ip().prefix_length(), 31u);
  EXPECT_TRUE(HasDiagnostic(d, Severity::kWarning, "haresources", 1,
                            "'100.200.230.6' in 'IPaddr::100.200.230.1/100.200.230.6' is not "
                            "a netmask (its one bits are not contiguous): Debian's IPaddr "
                            "(resource-agents' findif) takes 32 minus its trailing zero bits, "
                            "/31 here, and so does the conversion"))
      << config::FormatDiagnostics(d);
  EXPECT_EQ(r[1].resource.ip().prefix_length(), 24u);  // a bare IP goes to IPaddr too
  EXPECT_EQ(CountSeverity(d, Severity::kError), 0);

  d.clear();
  r = One("node1 IPaddr2::10.0.0.7/255.0.255.0 IPaddr::10.0.0.8/0.0.0.0 "
          "IPaddr2::10.0.0.9/255.255.255.0\n", &d);
  ASSERT_EQ(r.size(), 1u) << config::FormatDiagnostics(d);
  EXPECT_EQ(r[0].resource.ip().prefix_length(), 24u);  // contiguous: exact, no warning
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1,
                            "'255.0.255.0' in 'IPaddr2::10.0.0.7/255.0.255.0' is not a netmask "
                            "(its one bits are not contiguous): Debian's IPaddr2 refuses it"))
      << config::FormatDiagnostics(d);
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1,
                            "'0.0.0.0' in 'IPaddr::10.0.0.8/0.0.0.0' is not a netmask: "
                            "Debian's IPaddr and IPaddr2 refuse it"))
      << config::FormatDiagnostics(d);
  EXPECT_EQ(CountSeverity(d, Severity::kWarning), 0) << config::FormatDiagnostics(d);
}

TEST(HaresourcesParserTest, BadPrefixIsAnError) {
  std::vector<config::Diagnostic> d;
  auto r = One("n1 10.0.0.1/33 10.0.0.2/x 10.0.0.3/0\n", &d);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1,
                            "'33' in '10.0.0.1/33' is not a prefix length (1 to 32)"));
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1, "'x' in '10.0.0.2/x'"));
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1, "'0' in '10.0.0.3/0'"));
}

TEST(HaresourcesParserTest, IpaddrWithAnIpv6AddressPointsToIpv6addr) {
  std::vector<config::Diagnostic> d;
  auto r = One("n1 IPaddr::2001:db8::5\n", &d);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(HasDiagnostic(d, Severity::kError, "haresources", 1,
                            "an IPv6 address goes in IPv6addr::ADDRESS/PREFIX/INTERFACE"))
      << config::FormatDiagnostics(d);
}

TEST(HaresourcesParserTest, ScriptsOcfAndLsb) {
  std::vector<config::Diagnostic> d;
  auto r = One("drbd1 drbddisk Filesystem::/dev/drbd0::/drbd::ext3 mysql maid::vacuum "
               "MailTo::youremail@address.com::DRBDFailure datadisk::drbd0 apache\n",
               &d);
  ASSERT_TRUE(d.empty()) << config::FormatDiagnostics(d);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].resource.heartbeat().name(), "drbddisk");
  EXPECT_EQ(r[0].resource.heartbeat().args_size(), 0);
  const auto& fs = r[1].resource.ocf();
  EXPECT_EQ(fs.provider(), "heartbeat");
  EXPECT_EQ(fs.type(), "Filesystem");
  EXPECT_EQ(fs.params().at("device"), "/dev/drbd0");
  EXPECT_EQ(fs.params().at("directory"), "/drbd");
  EXPECT_EQ(fs.params().at("fstype"), "ext3");
  EXPECT_EQ(fs.params().count("options"), 0u);
  EXPECT_EQ(r[2].resource.lsb().name(), "mysql");
  EXPECT_EQ(r[3].resource.heartbeat().name(), "maid");
  EXPECT_EQ(r[3].resource.heartbeat().args(0), "vacuum");
  EXPECT_EQ(r[4].resource.ocf().type(), "MailTo");
  EXPECT_EQ(r[4].resource.ocf().params().at("email"), "youremail@address.com");
  EXPECT_EQ(r[4].resource.ocf().params().at("subject"), "DRBDFailure");
  EXPECT_EQ(r[5].resource.heartbeat().name(), "datadisk");
  EXPECT_EQ(r[6].resource.heartbeat().name(), "apache");
}

TEST(HaresourcesParserTest, LocalResourceDirScriptIsHeartbeatScript) {
  HaresourcesParse p = ParseHaresources("n1 mirror smb\n", "haresources", {"mirror"});
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0].resources[0].resource.heartbeat().name(), "mirror");
  EXPECT_EQ(p.lines[0].resources[1].resource.lsb().name(), "smb");
}

TEST(HaresourcesParserTest, AddressSuffixOnServiceIsErrorWithFix) {
  HaresourcesParse p = ParseHaresources(
      "# two VIPs\n"
      "node01 192.168.0.179 asterisk/24/eth0 # testing\n"
      "node01 192.168.0.180 asterisk/24/eth1\n",
      "haresources");
  EXPECT_TRUE(HasDiagnostic(
      p.diagnostics, Severity::kError, "haresources", 2,
      "resource 'asterisk/24/eth0' looks like a service name with an address suffix; an "
      "address suffix belongs to the IP: write '192.168.0.179/24/eth0 asterisk'"))
      << config::FormatDiagnostics(p.diagnostics);
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "haresources", 3,
                            "write '192.168.0.180/24/eth1 asterisk'"));
}

TEST(HaresourcesParserTest, AddressSuffixWithoutIpOnLine) {
  HaresourcesParse p = ParseHaresources("node01 asterisk/24\n", "haresources");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "haresources", 1,
                            "write 'ADDRESS/24 asterisk'"));
}

TEST(HaresourcesParserTest, ContinuationAndSeveralLines) {
  HaresourcesParse p = ParseHaresources(
      "n1 10.0.0.1 \\\n"
      "   httpd   # web\n"
      "\n"
      "n2 10.0.0.2 smb\n",
      "haresources");
  ASSERT_TRUE(p.diagnostics.empty());
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[0].line, 1);
  EXPECT_EQ(p.lines[0].node, "n1");
  EXPECT_EQ(p.lines[0].resources[1].line, 2);
  EXPECT_EQ(p.lines[0].normalized, "n1 10.0.0.1 httpd");
  EXPECT_EQ(p.lines[1].line, 4);
  EXPECT_EQ(p.lines[1].node, "n2");
}

TEST(HaresourcesParserTest, NodeWithoutResourcesIsAnError) {
  HaresourcesParse p = ParseHaresources("n1\n", "haresources");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "haresources", 1,
                            "line names node 'n1' but no resources"));
}

TEST(HaresourcesParserTest, MalformedScriptForms) {
  HaresourcesParse p =
      ParseHaresources("n1 Filesystem::/dev/sda1 MailTo:: ::x IPv6addr::10.0.0.1\n", "hr");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "hr", 1,
                            "needs a device and a mount point"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "hr", 1, "needs an address"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "hr", 1, "has no script name"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "hr", 1,
                            "'10.0.0.1' in 'IPv6addr::10.0.0.1' is not an IPv6 address"));
  EXPECT_TRUE(p.lines[0].resources.empty());
}

}  // namespace
}  // namespace hacluster::migrate
