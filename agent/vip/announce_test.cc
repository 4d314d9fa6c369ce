// Announcements on a real segment: NetLab hosts "a" and "b" on one bridge
// (192.0.2.0/24). a announces a virtual IP; b sees the frames on a packet
// socket, and its neighbour table follows. The test thread enters a's or
// b's namespace around each use of a socket; nothing here touches the
// test's own namespace.
#include "agent/vip/announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/media/unique_fd.h"
#include "agent/vip/thread_netns.h"
#include "gtest/gtest.h"
#include "tests/harness/netlab.h"
#include "tests/harness/wait.h"

namespace hacluster::vip {
namespace {

using harness::NetLab;
using media::UniqueFd;
using testing::ThreadNetns;
using Mac = std::array<uint8_t, 6>;
using Frame = std::vector<uint8_t>;

#define ASSERT_OK(expr)                                    \
  do {                                                     \
    const auto& status_ = (expr);                          \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_; \
  } while (0)

constexpr absl::Duration kArrivalWait = absl::Seconds(5);
constexpr int kMaxFramesRead = 1000;

std::string MacText(const uint8_t* mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                         mac[5]);
}

std::array<uint8_t, 16> Ip6(const char* text) {
  std::array<uint8_t, 16> out{};
  EXPECT_EQ(::inet_pton(AF_INET6, text, out.data()), 1) << text;
  return out;
}

std::array<uint8_t, 4> Ip4(const char* text) {
  std::array<uint8_t, 4> out{};
  EXPECT_EQ(::inet_pton(AF_INET, text, out.data()), 1) << text;
  return out;
}

uint16_t U16(const uint8_t* at) { return static_cast<uint16_t>(at[0] << 8 | at[1]); }

// The one's-complement sum the ICMPv6 checksum is checked with: 0xffff over
// pseudo-header and message when the checksum is right.
uint16_t Icmpv6Sum(const uint8_t* ip6, const uint8_t* icmp, size_t size) {
  uint32_t sum = 0;
  auto add = [&sum](const uint8_t* data, size_t n) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (n % 2 == 1) sum += static_cast<uint32_t>(data[n - 1] << 8);
  };
  add(ip6 + 8, 32);
  sum += static_cast<uint32_t>(size) + 58;
  add(icmp, size);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

class AnnounceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
    lab_ = std::make_unique<NetLab>("vipann");
    ASSERT_OK(lab_->status());
    ASSERT_OK(lab_->AddNetwork("lan", "192.0.2.0/24"));
    ASSERT_OK(lab_->AddHost("a", {{"lan", "eth0", "192.0.2.11"}}));
    ASSERT_OK(lab_->AddHost("b", {{"lan", "eth0", "192.0.2.12"}}));
    mac_a_ = MacOf("a", "eth0");
  }

  std::unique_ptr<ThreadNetns> In(const std::string& host) {
    absl::StatusOr<std::string> path = lab_->NetnsPathOf(host);
    EXPECT_TRUE(path.ok()) << path.status();
    if (!path.ok()) std::abort();
    absl::StatusOr<std::unique_ptr<ThreadNetns>> in = ThreadNetns::Enter(*path);
    EXPECT_TRUE(in.ok()) << in.status();
    if (!in.ok()) std::abort();  // never send outside the lab
    return *std::move(in);
  }

  Mac MacOf(const std::string& host, const std::string& ifname) {
    auto in = In(host);
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    Mac mac{};
    EXPECT_EQ(::ioctl(fd.get(), SIOCGIFHWADDR, &ifr), 0) << std::strerror(errno);
    std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
    return mac;
  }

  // A packet socket in `host` that receives every frame of `ethertype` on
  // `ifname`, opened before anything is sent.
  UniqueFd Listen(const std::string& host, const std::string& ifname, uint16_t ethertype) {
    auto in = In(host);
    UniqueFd fd(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ethertype)));
    EXPECT_TRUE(fd.valid()) << std::strerror(errno);
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ethertype);
    at.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    EXPECT_GT(at.sll_ifindex, 0) << ifname;
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof(at)), 0)
        << std::strerror(errno);
    return fd;
  }

  // Reads frames from `fd` until `done` says it has what it waits for, or
  // kArrivalWait has passed, or kMaxFramesRead frames were read.
  static void ReadUntil(const UniqueFd& fd, const std::function<bool(const Frame&)>& done) {
    const absl::Time deadline = absl::Now() + kArrivalWait;
    for (int read = 0; read < kMaxFramesRead;) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return;
      pollfd p{fd.get(), POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0 && errno != EINTR) {
        ADD_FAILURE() << "poll: " << std::strerror(errno);
        return;
      }
      if (ready <= 0) continue;
      Frame frame(2048);
      const ssize_t n = ::recv(fd.get(), frame.data(), frame.size(), 0);
      if (n < 0) continue;
      ++read;
      frame.resize(static_cast<size_t>(n));
      if (done(frame)) return;
    }
  }

  // `ip ARGS` in `host`; the test fails when it fails.
  std::string Ip(const std::string& host, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<harness::RunResult> r = lab_->Run(host, argv);
    if (!r.ok()) {
      ADD_FAILURE() << r.status();
      return "";
    }
    EXPECT_TRUE(r->status.ok()) << absl::StrJoin(argv, " ") << ": " << r->output;
    return r->output;
  }

  std::unique_ptr<NetLab> lab_;
  Mac mac_a_{};
};

TEST_F(AnnounceTest, GratuitousArpIsARequestAndAReplyForTheAddressFromTheInterfacesMac) {
  UniqueFd listener = Listen("b", "eth0", ETH_P_ARP);
  {
    auto in = In("a");
    ASSERT_OK(SendGratuitousArp("eth0", "192.0.2.50"));
  }
  const std::array<uint8_t, 4> vip = Ip4("192.0.2.50");
  const Mac zero{};
  bool request = false;
  bool reply = false;
  ReadUntil(listener, [&](const Frame& f) {
    if (f.size() < 42 || std::memcmp(f.data() + 6, mac_a_.data(), 6) != 0) return false;
    const uint8_t* arp = f.data() + 14;
    EXPECT_EQ(MacText(f.data()), "ff:ff:ff:ff:ff:ff");
    EXPECT_EQ(U16(f.data() + 12), ETH_P_ARP);
    EXPECT_EQ(U16(arp), 1);           // Ethernet
    EXPECT_EQ(U16(arp + 2), 0x0800);  // IPv4
    EXPECT_EQ(arp[4], 6);
    EXPECT_EQ(arp[5], 4);
    EXPECT_EQ(MacText(arp + 8), MacText(mac_a_.data()));  // sender MAC
    EXPECT_EQ(std::memcmp(arp + 14, vip.data(), 4), 0);   // sender IP
    EXPECT_EQ(std::memcmp(arp + 24, vip.data(), 4), 0);   // target IP
    if (U16(arp + 6) == 1) {
      request = true;
      EXPECT_EQ(MacText(arp + 18), MacText(zero.data()));
    } else if (U16(arp + 6) == 2) {
      reply = true;
      EXPECT_EQ(MacText(arp + 18), MacText(mac_a_.data()));
    } else {
      ADD_FAILURE() << "ARP operation " << U16(arp + 6);
    }
    return request && reply;
  });
  EXPECT_TRUE(request) << "no ARP request from a within " << kArrivalWait;
  EXPECT_TRUE(reply) << "no ARP reply from a within " << kArrivalWait;
}

TEST_F(AnnounceTest, GratuitousArpMovesThePeersNeighbourEntry) {
  Ip("b", {"neigh", "replace", "192.0.2.50", "lladdr", "02:00:00:00:00:99", "dev", "eth0", "nud",
           "stale"});
  const std::string before = Ip("b", {"neigh", "show", "192.0.2.50", "dev", "eth0"});
  ASSERT_TRUE(absl::StrContains(before, "02:00:00:00:00:99")) << before;
  {
    auto in = In("a");
    ASSERT_OK(Announce("eth0", "192.0.2.50"));
  }
  const std::string want = MacText(mac_a_.data());
  std::string entry;
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        entry = Ip("b", {"neigh", "show", "192.0.2.50", "dev", "eth0"});
        return absl::StrContains(entry, want);
      },
      kArrivalWait))
      << "b's entry for 192.0.2.50 is still '" << entry << "', want lladdr " << want;
}

TEST_F(AnnounceTest, UnsolicitedNeighbourAdvertIsWellFormed) {
  UniqueFd listener = Listen("b", "eth0", ETH_P_IPV6);
  {
    auto in = In("a");
    ASSERT_OK(SendUnsolicitedNeighbourAdvert("eth0", "2001:db8:1::50"));
  }
  const std::array<uint8_t, 16> vip = Ip6("2001:db8:1::50");
  const std::array<uint8_t, 16> all_nodes = Ip6("ff02::1");
  bool seen = false;
  ReadUntil(listener, [&](const Frame& f) {
    constexpr size_t kSize = 14 + 40 + 32;
    if (f.size() < kSize || std::memcmp(f.data() + 6, mac_a_.data(), 6) != 0) return false;
    const uint8_t* ip6 = f.data() + 14;
    const uint8_t* na = ip6 + 40;
    if (ip6[6] != 58 || na[0] != 136) return false;  // some other ICMPv6 of a's
    seen = true;
    EXPECT_EQ(MacText(f.data()), "33:33:00:00:00:01");
    EXPECT_EQ(ip6[0] >> 4, 6);
    EXPECT_EQ(U16(ip6 + 4), 32);  // payload length
    EXPECT_EQ(ip6[7], 255);       // hop limit
    EXPECT_EQ(std::memcmp(ip6 + 8, vip.data(), 16), 0);
    EXPECT_EQ(std::memcmp(ip6 + 24, all_nodes.data(), 16), 0);
    EXPECT_EQ(na[1], 0);     // code
    EXPECT_EQ(na[4], 0x20);  // override; not solicited, not router
    EXPECT_EQ(Icmpv6Sum(ip6, na, 32), 0xFFFF) << "bad ICMPv6 checksum";
    EXPECT_EQ(std::memcmp(na + 8, vip.data(), 16), 0);  // target
    EXPECT_EQ(na[24], 2);                               // target link-layer address option
    EXPECT_EQ(na[25], 1);
    EXPECT_EQ(MacText(na + 26), MacText(mac_a_.data()));
    return true;
  });
  EXPECT_TRUE(seen) << "no neighbour advertisement from a within " << kArrivalWait;
}

TEST_F(AnnounceTest, UnsolicitedNeighbourAdvertMovesThePeersNeighbourEntry) {
  Ip("b", {"-6", "neigh", "replace", "2001:db8:1::50", "lladdr", "02:00:00:00:00:99", "dev", "eth0",
           "nud", "stale"});
  const std::string before = Ip("b", {"-6", "neigh", "show", "2001:db8:1::50", "dev", "eth0"});
  ASSERT_TRUE(absl::StrContains(before, "02:00:00:00:00:99")) << before;
  {
    auto in = In("a");
    ASSERT_OK(Announce("eth0", "2001:db8:1::50"));
  }
  const std::string want = MacText(mac_a_.data());
  std::string entry;
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        entry = Ip("b", {"-6", "neigh", "show", "2001:db8:1::50", "dev", "eth0"});
        return absl::StrContains(entry, want);
      },
      kArrivalWait))
      << "b's entry for 2001:db8:1::50 is still '" << entry << "', want lladdr " << want;
}

TEST_F(AnnounceTest, ErrorsNameTheInterfaceAndTheAddress) {
  auto in = In("a");
  absl::Status s = SendGratuitousArp("nosuch0", "192.0.2.50");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "gratuitous ARP for 192.0.2.50 on nosuch0: there is no interface nosuch0");
  s = SendUnsolicitedNeighbourAdvert("nosuch0", "2001:db8:1::50");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  s = SendGratuitousArp("much-too-long-name0", "192.0.2.50");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "'much-too-long-name0'")) << s;
  s = SendGratuitousArp("eth0", "2001:db8:1::50");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "gratuitous ARP: 2001:db8:1::50 is not a unicast IPv4 address");
  s = SendGratuitousArp("eth0", "224.0.0.1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = SendUnsolicitedNeighbourAdvert("eth0", "ff02::1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = Announce("eth0", "vip.example");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "'vip.example'")) << s;
}

TEST_F(AnnounceTest, ADownInterfaceIsAnErrorNamingIt) {
  ASSERT_OK(lab_->SetLinkUp("a", "eth0", false));
  auto in = In("a");
  absl::Status s = SendGratuitousArp("eth0", "192.0.2.50");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "on eth0")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "Network is down")) << s;
}

}  // namespace
}  // namespace hacluster::vip
