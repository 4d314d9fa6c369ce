// bcast and mcast media over a veth pair inside a private network namespace
// of the test (192.0.2.1/24 on hb-a, 192.0.2.2/24 on hb-b). Each end plays
// one node, as eth1 would on two machines. Skipped when the test may not
// create a namespace (not root). Test frames start with the frame magic
// "HAW1": the UDP media's socket filter drops anything else.
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/media/medium.h"
#include "agent/media/test_netns.h"
#include "agent/media/unique_fd.h"
#include "gtest/gtest.h"

namespace hacluster::media {
namespace {

struct Received {
  std::string frame;
  std::string source;
  bool operator==(const Received& o) const { return frame == o.frame && source == o.source; }
};

std::ostream& operator<<(std::ostream& os, const Received& r) {
  return os << "{" << r.frame << " from " << r.source << "}";
}

// Receives on `medium` until `count` frames arrived or `wait` passed.
std::vector<Received> ReceiveFrames(Medium& medium, size_t count,
                                    std::chrono::milliseconds wait = std::chrono::seconds(2)) {
  std::vector<Received> got;
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    pollfd p{medium.fd(), POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    absl::Status s = medium.Receive([&](absl::string_view frame, absl::string_view source) {
      got.push_back({std::string(frame), std::string(source)});
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  return got;
}

// Frames from `source` only (a bcast medium also hears its own broadcasts;
// the packet check drops those by node name).
std::vector<Received> From(const std::vector<Received>& got, const std::string& source) {
  std::vector<Received> out;
  for (const Received& r : got) {
    if (r.source == source) out.push_back(r);
  }
  return out;
}

// The spec as one node sees it: the medium on its own end of the veth.
spec::v1::ClusterSpec NodeSpec(const std::string& medium_text_interface, bool mcast, int ttl,
                               bool loop) {
  spec::v1::ClusterSpec spec;
  spec.set_cluster_name("l2");
  spec::v1::Node* a = spec.add_nodes();
  a->set_name("a");
  a->add_addresses("192.0.2.1");
  spec::v1::Node* b = spec.add_nodes();
  b->set_name("b");
  b->add_addresses("192.0.2.2");
  if (mcast) {
    spec::v1::McastMedium* m = spec.add_media()->mutable_mcast();
    m->set_interface(medium_text_interface);
    m->set_group("239.255.69.4");
    m->set_ttl(static_cast<uint32_t>(ttl));
    m->set_loop(loop);
  } else {
    spec.add_media()->mutable_bcast()->set_interface(medium_text_interface);
  }
  return spec;
}

std::unique_ptr<Medium> Build(const spec::v1::ClusterSpec& spec, const std::string& node) {
  auto media = MakeMedia(spec, node);
  EXPECT_TRUE(media.ok()) << media.status();
  if (!media.ok() || media->size() != 1) return nullptr;
  return std::move(media->front());
}

class L2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto netns = testing::ScopedNetns::Enter();
    if (!netns.ok()) GTEST_SKIP() << "no private network namespace: " << netns.status();
    netns_ = std::move(*netns);
    absl::Status s = netns_->AddVethPair("hb-a", "192.0.2.1/24", "hb-b", "192.0.2.2/24");
    ASSERT_TRUE(s.ok()) << s;
  }

  void TearDown() override {
    // Sockets first, so that the namespace can go when the thread leaves it.
    a_.reset();
    b_.reset();
    netns_.reset();
  }

  void OpenBoth(bool mcast, int ttl = 0, bool loop = false) {
    a_ = Build(NodeSpec("hb-a", mcast, ttl, loop), "a");
    b_ = Build(NodeSpec("hb-b", mcast, ttl, loop), "b");
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
    absl::Status s = a_->Open();
    ASSERT_TRUE(s.ok()) << s;
    s = b_->Open();
    ASSERT_TRUE(s.ok()) << s;
  }

  std::unique_ptr<testing::ScopedNetns> netns_;
  std::unique_ptr<Medium> a_;
  std::unique_ptr<Medium> b_;
};

TEST_F(L2Test, BroadcastReachesThePeerWithItsSource) {
  OpenBoth(/*mcast=*/false);
  EXPECT_EQ(a_->link_name(), "hb-a");
  EXPECT_EQ(a_->description(), "bcast hb-a port 694");
  ASSERT_TRUE(a_->Send("HAW1 from a").ok());
  ASSERT_TRUE(b_->Send("HAW1 from b").ok());
  // Each end hears the other's broadcast (and its own, looped back).
  EXPECT_EQ(From(ReceiveFrames(*b_, 2), "192.0.2.1:694"),
            (std::vector<Received>{{"HAW1 from a", "192.0.2.1:694"}}));
  EXPECT_EQ(From(ReceiveFrames(*a_, 2), "192.0.2.2:694"),
            (std::vector<Received>{{"HAW1 from b", "192.0.2.2:694"}}));
}

TEST_F(L2Test, InterfaceWithoutBroadcastAddressUsesTheAllOnesAddress) {
  // Addresses on hb-c/hb-d have no broadcast address: the media fall back
  // to 255.255.255.255, kept on the interface by SO_BINDTODEVICE.
  ASSERT_TRUE(netns_
                  ->AddVethPair("hb-c", "198.51.100.1/24", "hb-d", "198.51.100.2/24",
                                /*broadcast=*/false)
                  .ok());
  std::unique_ptr<Medium> c = Build(NodeSpec("hb-c", false, 0, false), "a");
  std::unique_ptr<Medium> d = Build(NodeSpec("hb-d", false, 0, false), "b");
  ASSERT_NE(c, nullptr);
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(c->Open().ok());
  ASSERT_TRUE(d->Open().ok());
  OpenBoth(/*mcast=*/false);
  absl::Status s = c->Send("HAW1 all ones");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(From(ReceiveFrames(*d, 1), "198.51.100.1:694"),
            (std::vector<Received>{{"HAW1 all ones", "198.51.100.1:694"}}));
  // Nothing of it on the other link.
  EXPECT_TRUE(ReceiveFrames(*b_, 1, std::chrono::milliseconds(100)).empty());
}

TEST_F(L2Test, BroadcastMediumStaysOnItsInterface) {
  // A third interface pair in the same namespace: a bcast medium on hb-c
  // must not hear what hb-a broadcasts to hb-b.
  ASSERT_TRUE(netns_->AddVethPair("hb-c", "198.51.100.1/24", "hb-d", "198.51.100.2/24").ok());
  OpenBoth(/*mcast=*/false);
  std::unique_ptr<Medium> c = Build(NodeSpec("hb-c", false, 0, false), "a");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Open().ok());
  ASSERT_TRUE(a_->Send("HAW1 only on hb-a").ok());
  EXPECT_EQ(ReceiveFrames(*b_, 1), (std::vector<Received>{{"HAW1 only on hb-a", "192.0.2.1:694"}}));
  EXPECT_TRUE(ReceiveFrames(*c, 1, std::chrono::milliseconds(100)).empty());
}

TEST_F(L2Test, BroadcastBindConflictNamesAddressInterfaceAndReason) {
  // Someone holds 0.0.0.0:694 without SO_REUSEADDR.
  UniqueFd holder(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_port = htons(694);
  ASSERT_EQ(::bind(holder.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)), 0);
  a_ = Build(NodeSpec("hb-a", false, 0, false), "a");
  ASSERT_NE(a_, nullptr);
  absl::Status s = a_->Open();
  EXPECT_EQ(s.message(),
            "media[0] (bcast hb-a port 694): cannot bind 0.0.0.0:694 on hb-a: Address already in "
            "use");
  EXPECT_EQ(a_->fd(), -1);
}

TEST_F(L2Test, BroadcastOnMissingInterfaceSaysSo) {
  a_ = Build(NodeSpec("hb-none", false, 0, false), "a");
  ASSERT_NE(a_, nullptr);
  absl::Status s = a_->Open();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "media[0] (bcast hb-none port 694): cannot bind to device hb-none: No such device");
}

TEST_F(L2Test, MulticastReachesThePeerButNotItselfWithoutLoop) {
  OpenBoth(/*mcast=*/true);
  EXPECT_EQ(a_->description(), "mcast hb-a group 239.255.69.4 port 694 ttl 1 loop off");
  ASSERT_TRUE(a_->Send("HAW1 m from a").ok());
  ASSERT_TRUE(b_->Send("HAW1 m from b").ok());
  EXPECT_EQ(ReceiveFrames(*b_, 1), (std::vector<Received>{{"HAW1 m from a", "192.0.2.1:694"}}));
  EXPECT_EQ(ReceiveFrames(*a_, 1), (std::vector<Received>{{"HAW1 m from b", "192.0.2.2:694"}}));
  // Nothing more: no looped-back copies of our own.
  EXPECT_TRUE(ReceiveFrames(*a_, 1, std::chrono::milliseconds(100)).empty());
  EXPECT_TRUE(ReceiveFrames(*b_, 1, std::chrono::milliseconds(100)).empty());
}

TEST_F(L2Test, MulticastWithLoopHearsItselfToo) {
  OpenBoth(/*mcast=*/true, /*ttl=*/0, /*loop=*/true);
  ASSERT_TRUE(a_->Send("HAW1 echo").ok());
  std::vector<Received> at_a = ReceiveFrames(*a_, 1);
  EXPECT_EQ(at_a, (std::vector<Received>{{"HAW1 echo", "192.0.2.1:694"}}));
  EXPECT_EQ(ReceiveFrames(*b_, 1), (std::vector<Received>{{"HAW1 echo", "192.0.2.1:694"}}));
}

TEST_F(L2Test, MulticastSocketCarriesTtlAndInterfaceFromTheSpec) {
  OpenBoth(/*mcast=*/true, /*ttl=*/3);
  int ttl = 0;
  socklen_t len = sizeof(ttl);
  ASSERT_EQ(::getsockopt(a_->fd(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, &len), 0);
  EXPECT_EQ(ttl, 3);
  char device[IFNAMSIZ] = {};
  len = sizeof(device);
  ASSERT_EQ(::getsockopt(a_->fd(), SOL_SOCKET, SO_BINDTODEVICE, device, &len), 0);
  EXPECT_STREQ(device, "hb-a");
  EXPECT_NE(::fcntl(a_->fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(a_->fd(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(L2Test, MulticastOnMissingInterfaceSaysSo) {
  a_ = Build(NodeSpec("hb-none", true, 0, false), "a");
  ASSERT_NE(a_, nullptr);
  absl::Status s = a_->Open();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "media[0] (mcast hb-none group 239.255.69.4 port 694 ttl 1 loop off): no interface "
            "hb-none: No such device");
}

}  // namespace
}  // namespace hacluster::media
