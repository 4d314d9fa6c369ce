// The netlink address work against the real kernel, inside a NetLab host
// namespace: host "a" has eth0 on 192.0.2.0/24 and eth1 on 198.51.100.0/25.
// The test thread enters a's namespace around each call of the code under
// test; nothing here touches the test's own namespace.
#include "agent/vip/netlink_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/media/unique_fd.h"
#include "agent/vip/thread_netns.h"
#include "gtest/gtest.h"
#include "tests/harness/netlab.h"

namespace hacluster::vip {
namespace {

using harness::NetLab;
using testing::ThreadNetns;

#define ASSERT_OK(expr)                                    \
  do {                                                     \
    const auto& status_ = (expr);                          \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_; \
  } while (0)

spec::v1::IpAddress Spec(const std::string& address, uint32_t prefix_length = 0,
                         const std::string& interface = "", const std::string& broadcast = "") {
  spec::v1::IpAddress ip;
  ip.set_address(address);
  ip.set_prefix_length(prefix_length);
  ip.set_interface(interface);
  ip.set_broadcast(broadcast);
  return ip;
}

class NetlinkAddressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
    lab_ = std::make_unique<NetLab>("vipnl");
    ASSERT_OK(lab_->status());
    ASSERT_OK(lab_->AddNetwork("lan", "192.0.2.0/24"));
    ASSERT_OK(lab_->AddNetwork("hb", "198.51.100.0/25"));
    ASSERT_OK(lab_->AddHost("a", {{"lan", "eth0", "192.0.2.11"}, {"hb", "eth1", "198.51.100.11"}}));
    absl::StatusOr<std::string> path = lab_->NetnsPathOf("a");
    ASSERT_OK(path.status());
    netns_a_ = *path;
  }

  // Runs `ip ARGS` in host a; fails the test when it fails.
  std::string IpInA(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<harness::RunResult> r = lab_->Run("a", argv);
    if (!r.ok()) {
      ADD_FAILURE() << r.status();
      return "";
    }
    EXPECT_TRUE(r->status.ok()) << absl::StrJoin(argv, " ") << ": " << r->output;
    return r->output;
  }

  // Enters host a's namespace for the life of the returned object.
  std::unique_ptr<ThreadNetns> InA() {
    absl::StatusOr<std::unique_ptr<ThreadNetns>> in = ThreadNetns::Enter(netns_a_);
    EXPECT_TRUE(in.ok()) << in.status();
    if (!in.ok()) std::abort();  // never run the code under test outside the lab
    return *std::move(in);
  }

  int IfindexInA(const std::string& name) {
    auto in = InA();
    absl::StatusOr<int> ifindex = InterfaceIndex(name);
    EXPECT_TRUE(ifindex.ok()) << ifindex.status();
    return ifindex.ok() ? *ifindex : -1;
  }

  std::unique_ptr<NetLab> lab_;
  std::string netns_a_;
};

TEST_F(NetlinkAddressTest, FindInterfacePicksTheConnectedNetworkContainingTheAddress) {
  auto in = InA();
  absl::StatusOr<Placement> lan = FindInterface("192.0.2.50");
  ASSERT_OK(lan.status());
  EXPECT_EQ(lan->interface, "eth0");
  EXPECT_EQ(lan->prefix_length, 24);
  absl::StatusOr<Placement> hb = FindInterface("198.51.100.50");
  ASSERT_OK(hb.status());
  EXPECT_EQ(hb->interface, "eth1");
  EXPECT_EQ(hb->prefix_length, 25);
  in.reset();
  EXPECT_EQ(lan->ifindex, IfindexInA("eth0"));
  EXPECT_EQ(hb->ifindex, IfindexInA("eth1"));
}

TEST_F(NetlinkAddressTest, FindInterfaceFailsNamingTheAddressWhenNoConnectedRouteContainsIt) {
  auto in = InA();
  // Just past eth1's /25.
  absl::StatusOr<Placement> p = FindInterface("198.51.100.200");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(p.status().message(),
            "no directly connected route contains 198.51.100.200: give `interface` and "
            "`prefix_length`");
}

TEST_F(NetlinkAddressTest, FindInterfacePrefersTheMostSpecificRoute) {
  IpInA({"route", "add", "192.0.2.128/26", "dev", "eth1"});
  auto in = InA();
  absl::StatusOr<Placement> inside = FindInterface("192.0.2.150");
  ASSERT_OK(inside.status());
  EXPECT_EQ(inside->interface, "eth1");
  EXPECT_EQ(inside->prefix_length, 26);
  absl::StatusOr<Placement> outside = FindInterface("192.0.2.50");
  ASSERT_OK(outside.status());
  EXPECT_EQ(outside->interface, "eth0");
  EXPECT_EQ(outside->prefix_length, 24);
}

TEST_F(NetlinkAddressTest, FindInterfaceIgnoresRoutesThroughAGateway) {
  IpInA({"route", "add", "203.0.113.0/24", "via", "192.0.2.1", "dev", "eth0"});
  IpInA({"route", "add", "default", "via", "198.51.100.1", "dev", "eth1"});
  auto in = InA();
  absl::StatusOr<Placement> p = FindInterface("203.0.113.50");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "203.0.113.50")) << p.status();
}

TEST_F(NetlinkAddressTest, FindInterfaceRejectsTextThatIsNoAddress) {
  auto in = InA();
  absl::StatusOr<Placement> p = FindInterface("node01");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "'node01'")) << p.status();
}

TEST_F(NetlinkAddressTest, FindInterfaceWorksForIpv6) {
  IpInA({"-6", "addr", "add", "2001:db8:1::11/64", "dev", "eth0", "nodad"});
  IpInA({"-6", "addr", "add", "2001:db8:2::11/56", "dev", "eth1", "nodad"});
  auto in = InA();
  absl::StatusOr<Placement> one = FindInterface("2001:db8:1::50");
  ASSERT_OK(one.status());
  EXPECT_EQ(one->interface, "eth0");
  EXPECT_EQ(one->prefix_length, 64);
  absl::StatusOr<Placement> two = FindInterface("2001:db8:2:ff::50");
  ASSERT_OK(two.status());
  EXPECT_EQ(two->interface, "eth1");
  EXPECT_EQ(two->prefix_length, 56);
  EXPECT_EQ(FindInterface("2001:db8:3::50").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(NetlinkAddressTest, ResolvePlacementTakesWhatTheSpecGivesAndTheRouteTheRest) {
  auto in = InA();
  // Nothing given: both from the route.
  absl::StatusOr<Placement> p = ResolvePlacement(Spec("198.51.100.50"));
  ASSERT_OK(p.status());
  EXPECT_EQ(p->interface, "eth1");
  EXPECT_EQ(p->prefix_length, 25);
  // Interface given: the prefix of the route on that interface.
  p = ResolvePlacement(Spec("192.0.2.50", 0, "eth0"));
  ASSERT_OK(p.status());
  EXPECT_EQ(p->interface, "eth0");
  EXPECT_EQ(p->prefix_length, 24);
  // Prefix given: the interface from the route.
  p = ResolvePlacement(Spec("192.0.2.50", 27));
  ASSERT_OK(p.status());
  EXPECT_EQ(p->interface, "eth0");
  EXPECT_EQ(p->prefix_length, 27);
  // Both given: no route needed at all.
  p = ResolvePlacement(Spec("203.0.113.50", 28, "eth1"));
  ASSERT_OK(p.status());
  EXPECT_EQ(p->interface, "eth1");
  EXPECT_EQ(p->prefix_length, 28);
  const int eth1 = p->ifindex;
  in.reset();
  EXPECT_EQ(eth1, IfindexInA("eth1"));
}

TEST_F(NetlinkAddressTest, ResolvePlacementNamesAMissingInterface) {
  auto in = InA();
  absl::StatusOr<Placement> p = ResolvePlacement(Spec("192.0.2.50", 24, "nosuch0"));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(p.status().message(), "interface of 192.0.2.50: there is no interface nosuch0");
}

TEST_F(NetlinkAddressTest, ResolvePlacementRejectsAnImpossibleInterfaceName) {
  auto in = InA();
  for (const std::string name : {"much-too-long-name0", "eth0:1", "a/b", "eth 0"}) {
    absl::StatusOr<Placement> p = ResolvePlacement(Spec("192.0.2.50", 24, name));
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(p.status().message(), absl::StrCat("'", name, "'")))
        << p.status();
  }
}

TEST_F(NetlinkAddressTest, ResolvePlacementNeedsARouteOnTheGivenInterfaceForThePrefix) {
  auto in = InA();
  absl::StatusOr<Placement> p = ResolvePlacement(Spec("198.51.100.50", 0, "eth0"));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(p.status().message(),
            "no directly connected route on eth0 contains 198.51.100.50: give `prefix_length`");
}

TEST_F(NetlinkAddressTest, ResolvePlacementRejectsAPrefixTooLongForTheFamily) {
  auto in = InA();
  absl::StatusOr<Placement> p = ResolvePlacement(Spec("192.0.2.50", 33, "eth0"));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(), "prefix length 33 of 192.0.2.50 is not within 1..32");
  p = ResolvePlacement(Spec("2001:db8::50", 129, "eth0"));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  p = ResolvePlacement(Spec("192.0.2.50", 4000000000u));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(), "prefix length 4000000000 of 192.0.2.50 is not within 1..32");
}

TEST_F(NetlinkAddressTest, AddHasRemoveIpv4AndBothAreIdempotent) {
  const spec::v1::IpAddress vip = Spec("192.0.2.50");
  absl::StatusOr<Placement> p;
  int eth1 = 0;
  {
    auto in = InA();
    p = ResolvePlacement(vip);
    ASSERT_OK(p.status());
    absl::StatusOr<int> i = InterfaceIndex("eth1");
    ASSERT_OK(i.status());
    eth1 = *i;
    absl::StatusOr<bool> has = HasAddress("192.0.2.50");
    ASSERT_OK(has.status());
    EXPECT_FALSE(*has);
    ASSERT_OK(AddAddress(vip, *p));
    has = HasAddress("192.0.2.50", p->ifindex);
    ASSERT_OK(has.status());
    EXPECT_TRUE(*has);
    has = HasAddress("192.0.2.50", kAnyInterface);
    ASSERT_OK(has.status());
    EXPECT_TRUE(*has);
    has = HasAddress("192.0.2.50", eth1);
    ASSERT_OK(has.status());
    EXPECT_FALSE(*has);
    // Starting a started resource.
    ASSERT_OK(AddAddress(vip, *p));
  }
  // As the kernel shows it: prefix, broadcast of the subnet, the label; once.
  const std::string shown = IpInA({"-4", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_TRUE(absl::StrContains(shown,
                                "inet 192.0.2.50/24 brd 192.0.2.255 scope global "
                                "secondary eth0"))
      << shown;
  EXPECT_EQ(shown.find("192.0.2.50/"), shown.rfind("192.0.2.50/")) << shown;
  {
    auto in = InA();
    ASSERT_OK(RemoveAddress(vip, *p));
    absl::StatusOr<bool> has = HasAddress("192.0.2.50");
    ASSERT_OK(has.status());
    EXPECT_FALSE(*has);
    // Stopping a stopped resource.
    ASSERT_OK(RemoveAddress(vip, *p));
    // The host's own address is still there.
    has = HasAddress("192.0.2.11", p->ifindex);
    ASSERT_OK(has.status());
    EXPECT_TRUE(*has);
  }
}

TEST_F(NetlinkAddressTest, AddUsesTheSpecsBroadcastAndNoneForAHostPrefix) {
  {
    auto in = InA();
    absl::StatusOr<Placement> p = ResolvePlacement(Spec("192.0.2.50"));
    ASSERT_OK(p.status());
    ASSERT_OK(AddAddress(Spec("192.0.2.50", 0, "", "192.0.2.127"), *p));
    p->prefix_length = 32;
    ASSERT_OK(AddAddress(Spec("192.0.2.51"), *p));
  }
  const std::string shown = IpInA({"-4", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_TRUE(absl::StrContains(shown, "inet 192.0.2.50/24 brd 192.0.2.127 ")) << shown;
  EXPECT_TRUE(absl::StrContains(shown, "inet 192.0.2.51/32 scope global eth0")) << shown;
}

TEST_F(NetlinkAddressTest, RemoveTakesTheAddressAwayWhateverItsPrefix) {
  IpInA({"addr", "add", "192.0.2.60/28", "dev", "eth0"});
  auto in = InA();
  absl::StatusOr<int> eth0 = InterfaceIndex("eth0");
  ASSERT_OK(eth0.status());
  ASSERT_OK(RemoveAddress(Spec("192.0.2.60"), Placement{"eth0", *eth0, 24}));
  absl::StatusOr<bool> has = HasAddress("192.0.2.60");
  ASSERT_OK(has.status());
  EXPECT_FALSE(*has);
}

TEST_F(NetlinkAddressTest, Ipv6AddIsUsableAtOnceAndRemoveIsIdempotent) {
  IpInA({"-6", "addr", "add", "2001:db8:1::11/64", "dev", "eth0", "nodad"});
  const spec::v1::IpAddress vip = Spec("2001:db8:1::50");
  absl::StatusOr<Placement> p;
  {
    auto in = InA();
    p = ResolvePlacement(vip);
    ASSERT_OK(p.status());
    EXPECT_EQ(p->interface, "eth0");
    EXPECT_EQ(p->prefix_length, 64);
    ASSERT_OK(AddAddress(vip, *p));
    // No duplicate address detection: bindable right away (a tentative
    // address is not).
    media::UniqueFd udp(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(udp.valid()) << std::strerror(errno);
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    ASSERT_EQ(::inet_pton(AF_INET6, "2001:db8:1::50", &sin6.sin6_addr), 1);
    EXPECT_EQ(::bind(udp.get(), reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6)), 0)
        << std::strerror(errno);
    absl::StatusOr<bool> has = HasAddress("2001:db8:1::50", p->ifindex);
    ASSERT_OK(has.status());
    EXPECT_TRUE(*has);
    ASSERT_OK(AddAddress(vip, *p));
  }
  const std::string shown = IpInA({"-6", "-o", "addr", "show", "dev", "eth0"});
  std::string line;
  for (absl::string_view l : absl::StrSplit(shown, '\n')) {
    if (absl::StrContains(l, " 2001:db8:1::50/")) line = std::string(l);
  }
  EXPECT_TRUE(absl::StrContains(line, "inet6 2001:db8:1::50/64 scope global nodad")) << shown;
  EXPECT_FALSE(absl::StrContains(line, "tentative")) << shown;
  {
    auto in = InA();
    ASSERT_OK(RemoveAddress(vip, *p));
    absl::StatusOr<bool> has = HasAddress("2001:db8:1::50");
    ASSERT_OK(has.status());
    EXPECT_FALSE(*has);
    ASSERT_OK(RemoveAddress(vip, *p));
  }
}

TEST_F(NetlinkAddressTest, AddToAMissingInterfaceIsTheKernelsClearError) {
  auto in = InA();
  const Placement gone{"nosuch0", 9999, 24};
  absl::Status s = AddAddress(Spec("192.0.2.50"), gone);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StartsWith(s.message(), "cannot add 192.0.2.50/24 on nosuch0: No such device"))
      << s;
  // Nothing to remove from an interface that is not there.
  EXPECT_TRUE(RemoveAddress(Spec("192.0.2.50"), gone).ok());
}

TEST_F(NetlinkAddressTest, AddRejectsBadArguments) {
  auto in = InA();
  absl::StatusOr<int> eth0 = InterfaceIndex("eth0");
  ASSERT_OK(eth0.status());
  const Placement p{"eth0", *eth0, 64};
  absl::Status s = AddAddress(Spec("2001:db8:1::50", 0, "", "2001:db8:1::ff"), p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "broadcast '2001:db8:1::ff' of 2001:db8:1::50/64 on eth0: IPv6 has no broadcast "
            "address");
  s = AddAddress(Spec("192.0.2.50", 0, "", "192.0.2.x"), Placement{"eth0", *eth0, 24});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "broadcast '192.0.2.x' of 192.0.2.50/24 on eth0 is not an IPv4 address");
  s = AddAddress(Spec("192.0.2.50"), Placement{"eth0", *eth0, 0});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = AddAddress(Spec("192.0.2.50"), Placement{"eth0", 0, 24});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = AddAddress(Spec("192.0.2.500"), Placement{"eth0", *eth0, 24});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<bool> has = HasAddress("192.0.2.50");
  ASSERT_OK(has.status());
  EXPECT_FALSE(*has);
}

}  // namespace
}  // namespace hacluster::vip
