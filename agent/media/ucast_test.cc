// ucast media on loopback: three agents' media on 127.0.0.1/.2/.3, built
// from one spec as each node sees it.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/media/medium.h"
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

// Polls `medium` and receives until `count` frames arrived or 2 s passed.
std::vector<Received> ReceiveFrames(Medium& medium, size_t count) {
  std::vector<Received> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    pollfd p{medium.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    absl::Status s = medium.Receive([&](absl::string_view frame, absl::string_view source) {
      got.push_back({std::string(frame), std::string(source)});
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  return got;
}

// True when nothing is readable on `medium` within 50 ms.
bool NothingPending(Medium& medium) {
  pollfd p{medium.fd(), POLLIN, 0};
  return ::poll(&p, 1, 50) == 0;
}

spec::v1::ClusterSpec ThreeNodeSpec(uint16_t port) {
  spec::v1::ClusterSpec spec;
  spec.set_cluster_name("loop");
  for (int i = 1; i <= 3; ++i) {
    spec::v1::Node* n = spec.add_nodes();
    n->set_name(absl::StrCat("node", i));
    n->add_addresses(absl::StrCat("127.0.0.", i));
  }
  spec::v1::UcastMedium* u = spec.add_media()->mutable_ucast();
  u->set_interface("lo");
  u->set_port(port);
  return spec;
}

// A UDP port free on 127.0.0.1 right now (the kernel's pick).
uint16_t FreePort() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return 0;
  socklen_t len = sizeof(a);
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

std::unique_ptr<Medium> OnlyMedium(const spec::v1::ClusterSpec& spec, const std::string& node) {
  auto media = MakeMedia(spec, node);
  EXPECT_TRUE(media.ok()) << media.status();
  if (!media.ok() || media->size() != 1) return nullptr;
  return std::move(media->front());
}

class UcastTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The kernel's free port may be taken on .2 or .3 in between; try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = FreePort();
      ASSERT_NE(port_, 0);
      spec_ = ThreeNodeSpec(port_);
      media_.clear();
      bool all_open = true;
      for (int i = 1; i <= 3; ++i) {
        media_.push_back(OnlyMedium(spec_, absl::StrCat("node", i)));
        ASSERT_NE(media_.back(), nullptr);
        absl::Status s = media_.back()->Open();
        if (!s.ok()) {
          all_open = false;
          break;
        }
      }
      if (all_open) return;
    }
    FAIL() << "could not open three ucast media on one free port";
  }

  std::string Source(int node) const { return absl::StrCat("127.0.0.", node, ":", port_); }

  uint16_t port_ = 0;
  spec::v1::ClusterSpec spec_;
  std::vector<std::unique_ptr<Medium>> media_;
};

TEST_F(UcastTest, DescribesLinkAndDestinationsFromEachNode) {
  EXPECT_EQ(media_[0]->link_name(), "lo");
  EXPECT_EQ(media_[0]->description(),
            absl::StrCat("ucast lo port ", port_, " -> 127.0.0.2, 127.0.0.3"));
  EXPECT_EQ(media_[1]->description(),
            absl::StrCat("ucast lo port ", port_, " -> 127.0.0.1, 127.0.0.3"));
  EXPECT_EQ(media_[2]->description(),
            absl::StrCat("ucast lo port ", port_, " -> 127.0.0.1, 127.0.0.2"));
}

TEST_F(UcastTest, EachNodeReceivesTheOthersFramesWithTheirSource) {
  for (int i = 0; i < 3; ++i) {
    absl::Status s = media_[i]->Send(absl::StrCat("hello from node", i + 1));
    ASSERT_TRUE(s.ok()) << s;
  }
  for (int i = 0; i < 3; ++i) {
    std::vector<Received> got = ReceiveFrames(*media_[i], 2);
    std::map<std::string, std::string> by_source;
    for (const Received& r : got) by_source[r.source] = r.frame;
    std::map<std::string, std::string> want;
    for (int j = 0; j < 3; ++j) {
      if (j != i) want[Source(j + 1)] = absl::StrCat("hello from node", j + 1);
    }
    EXPECT_EQ(by_source, want) << "at node" << i + 1;
    EXPECT_EQ(got.size(), 2u) << "at node" << i + 1;
    // A node never hears its own frame on ucast.
    EXPECT_TRUE(NothingPending(*media_[i])) << "at node" << i + 1;
  }
}

TEST_F(UcastTest, FramesArriveInOrderWithTheirSource) {
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(media_[1]->Send(absl::StrCat("frame ", k)).ok());
  }
  std::vector<Received> got = ReceiveFrames(*media_[0], 20);
  ASSERT_EQ(got.size(), 20u);
  for (int k = 0; k < 20; ++k) {
    EXPECT_EQ(got[k], (Received{absl::StrCat("frame ", k), Source(2)}));
  }
}

TEST_F(UcastTest, BindConflictNamesMediumAddressAndReason) {
  // node1's medium holds 127.0.0.1:port; a second agent for node1 cannot.
  std::unique_ptr<Medium> second = OnlyMedium(spec_, "node1");
  ASSERT_NE(second, nullptr);
  absl::Status s = second->Open();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);  // absl maps EADDRINUSE so
  EXPECT_EQ(s.message(),
            absl::StrCat("media[0] (ucast lo port ", port_,
                         " -> 127.0.0.2, 127.0.0.3): cannot bind 127.0.0.1:", port_,
                         ": Address already in use"));
  EXPECT_EQ(second->fd(), -1);
}

TEST_F(UcastTest, SocketIsNonBlockingAndCloseOnExec) {
  int fd = media_[0]->fd();
  ASSERT_GE(fd, 0);
  EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(UcastTest, ReceiveWithNothingPendingReturnsAtOnce) {
  int calls = 0;
  absl::Status s = media_[0]->Receive([&](absl::string_view, absl::string_view) { ++calls; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 0);
}

TEST_F(UcastTest, FailedDestinationDoesNotStopTheOthers) {
  // node1 also "sends" to 127.255.255.255, the loopback broadcast address,
  // which the kernel refuses at once (no SO_BROADCAST on a ucast socket)
  // without anything leaving the host.
  spec::v1::ClusterSpec spec = spec_;
  spec::v1::UcastMedium* u = spec.mutable_media(0)->mutable_ucast();
  u->add_peers("127.255.255.255");
  u->add_peers("127.0.0.3");
  // Same bind address for node1 as before: take over its socket's port.
  media_[0].reset();
  std::unique_ptr<Medium> node1 = OnlyMedium(spec, "node1");
  ASSERT_NE(node1, nullptr);
  EXPECT_EQ(node1->description(),
            absl::StrCat("ucast lo port ", port_, " -> 127.255.255.255, 127.0.0.3"));
  ASSERT_TRUE(node1->Open().ok());
  absl::Status s = node1->Send("still delivered");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (ucast lo port ", port_,
                                      " -> 127.255.255.255, 127.0.0.3): cannot send to "
                                      "127.255.255.255:",
                                      port_, ": Permission denied"));
  EXPECT_EQ(ReceiveFrames(*media_[2], 1),
            (std::vector<Received>{{"still delivered", Source(1)}}));
}

TEST(UcastIpv6Test, Ipv6LoopbackCarriesFramesWithBracketedSource) {
  // Two nodes that both claim ::1 (the only IPv6 loopback address): node a
  // binds [::1]:port and sends to b's [::1]:port, which is itself.
  spec::v1::ClusterSpec spec;
  spec.set_cluster_name("v6");
  for (const char* name : {"a", "b"}) {
    spec::v1::Node* n = spec.add_nodes();
    n->set_name(name);
    n->add_addresses("::1");
  }
  std::unique_ptr<Medium> m;
  uint16_t port = 0;
  absl::Status s;
  for (int attempt = 0; attempt < 5; ++attempt) {
    port = FreePort();
    spec.clear_media();
    spec.add_media()->mutable_ucast()->set_port(port);
    m = OnlyMedium(spec, "a");
    ASSERT_NE(m, nullptr);
    s = m->Open();
    if (s.ok() || s.code() != absl::StatusCode::kFailedPrecondition) break;
  }
  if (absl::StrContains(s.message(), "Cannot assign requested address") ||
      absl::StrContains(s.message(), "Address family not supported")) {
    GTEST_SKIP() << "no IPv6 loopback here: " << s;
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(m->link_name(), "::1");
  EXPECT_EQ(m->description(), absl::StrCat("ucast port ", port, " -> ::1"));
  ASSERT_TRUE(m->Send("six").ok());
  EXPECT_EQ(ReceiveFrames(*m, 1),
            (std::vector<Received>{{"six", absl::StrCat("[::1]:", port)}}));
}

TEST(UcastUnopenedTest, SendAndReceiveBeforeOpenAreRefused) {
  std::unique_ptr<Medium> m = OnlyMedium(ThreeNodeSpec(7000), "node2");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->fd(), -1);
  absl::Status s = m->Send("x");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "media[0] (ucast lo port 7000 -> 127.0.0.1, 127.0.0.3): not open");
  s = m->Receive([](absl::string_view, absl::string_view) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hacluster::media
