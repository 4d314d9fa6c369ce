#include "agent/ping/pinger.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/media/test_netns.h"
#include "gtest/gtest.h"

namespace hacluster::ping {
namespace {

using media::testing::ScopedNetns;
using media::testing::WriteSysctl;

// Replies received until `count` arrived or `wait` passed.
std::vector<std::string> Replies(Pinger& pinger, size_t count, std::chrono::milliseconds wait) {
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (got.size() < count) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{pinger.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    absl::Status s = pinger.Receive([&](absl::string_view host) { got.emplace_back(host); });
    EXPECT_TRUE(s.ok()) << s;
  }
  return got;
}

std::unique_ptr<Pinger> OpenPinger() {
  auto pinger = Pinger::Open();
  EXPECT_TRUE(pinger.ok()) << pinger.status();
  return pinger.ok() ? std::move(*pinger) : nullptr;
}

TEST(PingerTest, LoopbackAnswers) {
  std::unique_ptr<Pinger> pinger = OpenPinger();
  ASSERT_NE(pinger, nullptr);
  ASSERT_TRUE(pinger->SendEcho("127.0.0.1").ok());
  EXPECT_EQ(Replies(*pinger, 1, std::chrono::seconds(2)), std::vector<std::string>{"127.0.0.1"});
}

TEST(PingerTest, EveryRequestGetsItsOwnReply) {
  std::unique_ptr<Pinger> pinger = OpenPinger();
  ASSERT_NE(pinger, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pinger->SendEcho("127.0.0.1").ok());
  ASSERT_TRUE(pinger->SendEcho("127.0.0.2").ok());
  std::vector<std::string> got = Replies(*pinger, 4, std::chrono::seconds(2));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2"}));
}

TEST(PingerTest, RepliesToAnotherPingerAreNotCounted) {
  std::unique_ptr<Pinger> mine = OpenPinger();
  std::unique_ptr<Pinger> theirs = OpenPinger();
  ASSERT_NE(mine, nullptr);
  ASSERT_NE(theirs, nullptr);
  ASSERT_TRUE(theirs->SendEcho("127.0.0.1").ok());
  EXPECT_EQ(Replies(*theirs, 1, std::chrono::seconds(2)), std::vector<std::string>{"127.0.0.1"});
  // Both raw sockets saw the reply; only its sender counts it.
  EXPECT_TRUE(Replies(*mine, 1, std::chrono::milliseconds(50)).empty());
}

TEST(PingerTest, Ipv6LoopbackAnswersUnderTheCallersSpelling) {
  std::unique_ptr<Pinger> pinger = OpenPinger();
  ASSERT_NE(pinger, nullptr);
  absl::Status s = pinger->SendEcho("0:0:0:0:0:0:0:1");
  if (absl::IsUnavailable(s)) GTEST_SKIP() << "no IPv6 here: " << s;
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Replies(*pinger, 1, std::chrono::seconds(2)),
            std::vector<std::string>{"0:0:0:0:0:0:0:1"});
}

TEST(PingerTest, HostNameIsRefused) {
  std::unique_ptr<Pinger> pinger = OpenPinger();
  ASSERT_NE(pinger, nullptr);
  absl::Status s = pinger->SendEcho("gateway");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cannot ping: 'gateway' is not a numeric IPv4 or IPv6 address");
}

TEST(PingerTest, FdIsPollableNonBlockingAndCloseOnExec) {
  std::unique_ptr<Pinger> pinger = OpenPinger();
  ASSERT_NE(pinger, nullptr);
  ASSERT_GE(pinger->fd(), 0);
  EXPECT_NE(::fcntl(pinger->fd(), F_GETFD) & FD_CLOEXEC, 0);
  // Readable or not (a raw socket also wakes for other programs' replies),
  // with nothing sent there is nothing to report.
  pollfd p{pinger->fd(), POLLIN, 0};
  EXPECT_GE(::poll(&p, 1, 0), 0);
  int calls = 0;
  EXPECT_TRUE(pinger->Receive([&](absl::string_view) { ++calls; }).ok());
  EXPECT_EQ(calls, 0);
}

// The cases below need a network of their own: an address nobody answers
// must not be looked for on the host's real network.
class PingerNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto netns = ScopedNetns::Enter();
    if (!netns.ok()) GTEST_SKIP() << "no private network namespace: " << netns.status();
    netns_ = std::move(*netns);
  }
  void TearDown() override {
    pinger_.reset();
    netns_.reset();
  }
  std::unique_ptr<ScopedNetns> netns_;
  std::unique_ptr<Pinger> pinger_;
};

TEST_F(PingerNetnsTest, SilentHostOnTheLinkGetsNoReply) {
  ASSERT_TRUE(netns_->AddVethPair("hb-a", "192.0.2.1/24", "hb-b", "192.0.2.2/24").ok());
  pinger_ = OpenPinger();
  ASSERT_NE(pinger_, nullptr);
  ASSERT_TRUE(pinger_->SendEcho("192.0.2.123").ok());
  EXPECT_TRUE(Replies(*pinger_, 1, std::chrono::milliseconds(200)).empty());
}

TEST_F(PingerNetnsTest, HostWithoutRouteIsAnErrorNamingIt) {
  pinger_ = OpenPinger();
  ASSERT_NE(pinger_, nullptr);
  absl::Status s = pinger_->SendEcho("203.0.113.9");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "cannot ping 203.0.113.9: Network is unreachable");
  EXPECT_TRUE(Replies(*pinger_, 1, std::chrono::milliseconds(200)).empty());
}

TEST_F(PingerNetnsTest, DatagramSocketsWorkWhereThePingGroupRangeAllows) {
  // ping_group_range belongs to the namespace: allow every group here.
  ASSERT_TRUE(WriteSysctl("/proc/sys/net/ipv4/ping_group_range", "0 2147483647").ok());
  auto pinger = Pinger::OpenDatagramForTest();
  ASSERT_TRUE(pinger.ok()) << pinger.status();
  pinger_ = std::move(*pinger);
  EXPECT_FALSE(pinger_->uses_raw_sockets());
  ASSERT_TRUE(pinger_->SendEcho("127.0.0.1").ok());
  EXPECT_EQ(Replies(*pinger_, 1, std::chrono::seconds(2)), std::vector<std::string>{"127.0.0.1"});
}

TEST_F(PingerNetnsTest, DatagramSocketsRefusedSaySoAndWhy) {
  // The kernel's default: no group may.
  ASSERT_TRUE(WriteSysctl("/proc/sys/net/ipv4/ping_group_range", "1 0").ok());
  auto pinger = Pinger::OpenDatagramForTest();
  EXPECT_EQ(pinger.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(pinger.status().message(),
            "cannot open an ICMP socket: datagram socket: Permission denied (group " +
                std::to_string(::getgid()) + " is outside net.ipv4.ping_group_range)");
}

TEST(PingerOpenTest, RootGetsRawSockets) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root";
  std::unique_ptr<Pinger> pinger = OpenPinger();
  ASSERT_NE(pinger, nullptr);
  EXPECT_TRUE(pinger->uses_raw_sockets());
}

}  // namespace
}  // namespace hacluster::ping
