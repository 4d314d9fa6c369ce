// ucast media on loopback: three agents' media on 127.0.0.1/.2/.3, built
// from one spec as each node sees it. Test frames start with the frame
// magic "HAW1": the UDP media's socket filter drops anything else.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/core/clock.h"
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
    absl::Status s = media_[i]->Send(absl::StrCat("HAW1 hello from node", i + 1));
    ASSERT_TRUE(s.ok()) << s;
  }
  for (int i = 0; i < 3; ++i) {
    std::vector<Received> got = ReceiveFrames(*media_[i], 2);
    std::map<std::string, std::string> by_source;
    for (const Received& r : got) by_source[r.source] = r.frame;
    std::map<std::string, std::string> want;
    for (int j = 0; j < 3; ++j) {
      if (j != i) want[Source(j + 1)] = absl::StrCat("HAW1 hello from node", j + 1);
    }
    EXPECT_EQ(by_source, want) << "at node" << i + 1;
    EXPECT_EQ(got.size(), 2u) << "at node" << i + 1;
    // A node never hears its own frame on ucast.
    EXPECT_TRUE(NothingPending(*media_[i])) << "at node" << i + 1;
  }
}

TEST_F(UcastTest, FramesArriveInOrderWithTheirSource) {
  for (int k = 0; k < 20; ++k) {
    ASSERT_TRUE(media_[1]->Send(absl::StrCat("HAW1 frame ", k)).ok());
  }
  std::vector<Received> got = ReceiveFrames(*media_[0], 20);
  ASSERT_EQ(got.size(), 20u);
  for (int k = 0; k < 20; ++k) {
    EXPECT_EQ(got[k], (Received{absl::StrCat("HAW1 frame ", k), Source(2)}));
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
  absl::Status s = node1->Send("HAW1 still delivered");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (ucast lo port ", port_,
                                      " -> 127.255.255.255, 127.0.0.3): cannot send to "
                                      "127.255.255.255:",
                                      port_, ": Permission denied"));
  EXPECT_EQ(ReceiveFrames(*media_[2], 1),
            (std::vector<Received>{{"HAW1 still delivered", Source(1)}}));
}

struct Dated {
  std::string frame;
  std::string source;
  agent::MonoTime arrival;
};

// One ReceiveDated call on `medium`; *more gets its result.
std::vector<Dated> ReceiveDatedOnce(Medium& medium, bool* more) {
  std::vector<Dated> got;
  absl::StatusOr<bool> r = medium.ReceiveDated(
      [&](absl::string_view frame, absl::string_view source, agent::MonoTime arrival) {
        got.push_back({std::string(frame), std::string(source), arrival});
      });
  EXPECT_TRUE(r.ok()) << r.status();
  *more = r.value_or(true);
  return got;
}

// Waits (at most 2 s) until `medium` has something to read.
bool WaitReadable(Medium& medium) {
  pollfd p{medium.fd(), POLLIN, 0};
  return ::poll(&p, 1, 2000) == 1;
}

TEST_F(UcastTest, SourcesAreRightWhenMoreSendersThanTheMediumRemembers) {
  // Six senders, in turns, more than the few source texts the medium keeps.
  std::vector<UniqueFd> senders;
  std::vector<std::string> names;
  for (int i = 0; i < 6; ++i) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000000u + 11 + i);  // 127.0.0.11 ...
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
    names.push_back(absl::StrCat("127.0.0.", 11 + i, ":", ntohs(a.sin_port)));
    senders.push_back(std::move(s));
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(0x7f000001u);
  to.sin_port = htons(port_);
  std::vector<Received> want;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 6; ++i) {
      std::string frame = absl::StrCat("HAW1 round ", round, " sender ", i);
      ASSERT_EQ(::sendto(senders[i].get(), frame.data(), frame.size(), 0,
                         reinterpret_cast<sockaddr*>(&to), sizeof(to)),
                static_cast<ssize_t>(frame.size()));
      want.push_back({frame, names[i]});
    }
  }
  EXPECT_EQ(ReceiveFrames(*media_[0], want.size()), want);
}

TEST_F(UcastTest, OpenMediumDatesArrivals) {
  for (const auto& m : media_) EXPECT_TRUE(m->dates_arrivals());
}

TEST_F(UcastTest, FrameReadLateIsDatedWhenItArrivedNotWhenItWasRead) {
  const agent::MonoTime before_send = agent::MonotonicNow();
  ASSERT_TRUE(media_[1]->Send("HAW1 late reader").ok());
  ASSERT_TRUE(WaitReadable(*media_[0]));
  const agent::MonoTime queued_by = agent::MonotonicNow();
  // The reader comes back 50 ms after the frame was queued (the agent reads
  // at its next wake, up to a keepalive later).
  absl::SleepFor(absl::Milliseconds(50));
  const agent::MonoTime read_from = agent::MonotonicNow();
  bool more = true;
  std::vector<Dated> got = ReceiveDatedOnce(*media_[0], &more);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].frame, "HAW1 late reader");
  EXPECT_EQ(got[0].source, Source(2));
  EXPECT_GE(got[0].arrival, before_send);
  EXPECT_LE(got[0].arrival, queued_by);
  EXPECT_LT(got[0].arrival, read_from - absl::Milliseconds(40));
  EXPECT_FALSE(more) << "one frame cannot fill a batch";
}

TEST_F(UcastTest, DatedReceiveDeliversEveryPendingFrameInOrderAndSaysDrained) {
  std::vector<agent::MonoTime> sent_before;
  for (int k = 0; k < 20; ++k) {
    sent_before.push_back(agent::MonotonicNow());
    ASSERT_TRUE(media_[2]->Send(absl::StrCat("HAW1 frame ", k)).ok());
  }
  // Loopback delivery is done when the datagram is readable; the last one
  // being readable means all are (one socket, in order).
  std::vector<Dated> got;
  bool more = true;
  for (int attempt = 0; attempt < 20 && got.size() < 20; ++attempt) {
    ASSERT_TRUE(WaitReadable(*media_[0]));
    std::vector<Dated> batch = ReceiveDatedOnce(*media_[0], &more);
    got.insert(got.end(), batch.begin(), batch.end());
    EXPECT_FALSE(more);
  }
  ASSERT_EQ(got.size(), 20u);
  for (int k = 0; k < 20; ++k) {
    EXPECT_EQ(got[k].frame, absl::StrCat("HAW1 frame ", k));
    EXPECT_EQ(got[k].source, Source(3));
    EXPECT_GE(got[k].arrival, sent_before[k]);
    if (k > 0) {
      EXPECT_GE(got[k].arrival, got[k - 1].arrival);
    }
  }
  std::vector<Dated> none = ReceiveDatedOnce(*media_[0], &more);
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(more);
}

// Bytes queued on `fd` for reading (the kernel's count, skb overhead included).
uint32_t QueuedBytes(int fd) {
  uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0) return 0;
  return info[SK_MEMINFO_RMEM_ALLOC];
}

// Sends `n` frames from media_[1] to media_[0] and waits (bounded, 2 s)
// until the kernel has queued them all: after one frame, read at once, says
// what one takes in the queue.
void QueueFrames(std::vector<std::unique_ptr<Medium>>& media, int n) {
  ASSERT_TRUE(media[1]->Send("HAW1x").ok());
  ASSERT_TRUE(WaitReadable(*media[0]));
  const uint32_t one = QueuedBytes(media[0]->fd());
  ASSERT_GT(one, 0u);
  bool more = true;
  ASSERT_EQ(ReceiveDatedOnce(*media[0], &more).size(), 1u);
  for (int k = 0; k < n; ++k) ASSERT_TRUE(media[1]->Send(absl::StrCat("HAW1", k % 10)).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (QueuedBytes(media[0]->fd()) < n * one && std::chrono::steady_clock::now() < deadline) {
    WaitReadable(*media[0]);
  }
  ASSERT_EQ(QueuedBytes(media[0]->fd()), n * one);
}

TEST_F(UcastTest, FloodIsReadInBoundedBatchesThatSayMoreIsPending) {
  // The medium's receive buffer (kUdpReceiveBuffer) has room for the whole
  // flood.
  constexpr int kFlood = 300;
  QueueFrames(media_, kFlood);
  if (HasFatalFailure()) return;
  bool more = false;
  std::vector<Dated> first = ReceiveDatedOnce(*media_[0], &more);
  EXPECT_EQ(first.size(), static_cast<size_t>(kMaxFramesPerReceive));
  EXPECT_TRUE(more);
  std::vector<Dated> rest = ReceiveDatedOnce(*media_[0], &more);
  EXPECT_EQ(rest.size(), static_cast<size_t>(kFlood - kMaxFramesPerReceive));
  EXPECT_FALSE(more);
}

TEST_F(UcastTest, OneDatedReceiveDrainsEverythingQueuedUnderTheBound) {
  // Far more than one recvmmsg batch (8 frames, then 32), fewer than the
  // bound: one call reads them all and says the medium is drained.
  constexpr int kFrames = 200;
  static_assert(kFrames < kMaxFramesPerReceive);
  QueueFrames(media_, kFrames);
  if (HasFatalFailure()) return;
  bool more = true;
  std::vector<Dated> got = ReceiveDatedOnce(*media_[0], &more);
  EXPECT_EQ(got.size(), static_cast<size_t>(kFrames));
  EXPECT_FALSE(more);
  EXPECT_TRUE(NothingPending(*media_[0]));
}

// A plain UDP socket bound to 127.0.0.<host>, to send what no medium would.
UniqueFd RawSender(int host) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(0x7f000000u + host);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return UniqueFd();
  return s;
}

// Sends `bytes` from `fd` to 127.0.0.1:port; false when the kernel refused.
bool SendRaw(int fd, const std::string& bytes, uint16_t port) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(0x7f000001u);
  to.sin_port = htons(port);
  return ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to),
                  sizeof(to)) == static_cast<ssize_t>(bytes.size());
}

// Receives from `medium` until a frame equal to `last` came (at most 2 s);
// datagrams of one sender reach a socket in order, so every datagram sent
// before `last` has been queued or dropped by then.
std::vector<std::string> ReceiveUntil(Medium& medium, const std::string& last) {
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while ((got.empty() || got.back() != last) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{medium.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    absl::Status s = medium.Receive(
        [&](absl::string_view frame, absl::string_view) { got.emplace_back(frame); });
    EXPECT_TRUE(s.ok()) << s;
  }
  return got;
}

TEST_F(UcastTest, DatagramsThatCannotBeFramesAreNeverDelivered) {
  UniqueFd sender = RawSender(21);
  ASSERT_TRUE(sender.valid());
  const std::string longest = "HAW1" + std::string(1400 - 4, 'l');
  const std::vector<std::string> junk = {
      "HAW1" + std::string(2000 - 4, 'o'),  // the magic, but longer than a frame
      "HAW1" + std::string(1401 - 4, 'o'),  // one byte too long
      std::string(100, 'j'),                // no magic
      "HAW2 almost",                        // another magic
      "HAW",                                // shorter than the magic
      "",                                   // empty
  };
  for (const std::string& j : junk) ASSERT_TRUE(SendRaw(sender.get(), j, port_));
  ASSERT_TRUE(SendRaw(sender.get(), "HAW1 valid-looking", port_));
  ASSERT_TRUE(SendRaw(sender.get(), longest, port_));
  ASSERT_TRUE(SendRaw(sender.get(), "HAW1 last", port_));
  EXPECT_EQ(ReceiveUntil(*media_[0], "HAW1 last"),
            (std::vector<std::string>{"HAW1 valid-looking", longest, "HAW1 last"}));
  // Nothing else was queued: the junk never took room in the buffer.
  EXPECT_TRUE(NothingPending(*media_[0]));
  // The kernel counted each refused datagram as a drop.
  EXPECT_EQ(media_[0]->kernel_drops(), junk.size());
}

TEST_F(UcastTest, SocketCarriesTheFrameFilter) {
  // SO_GET_FILTER with no room answers with the program's length.
  socklen_t instructions = 0;
  ASSERT_EQ(::getsockopt(media_[0]->fd(), SOL_SOCKET, SO_GET_FILTER, nullptr, &instructions), 0)
      << std::strerror(errno);
  EXPECT_GT(instructions, 0u);
}

TEST_F(UcastTest, ReceiveBufferIsAtLeastWhatTheMediaAskFor) {
  int size = 0;
  socklen_t len = sizeof(size);
  ASSERT_EQ(::getsockopt(media_[0]->fd(), SOL_SOCKET, SO_RCVBUF, &size, &len), 0);
  // The kernel reports twice what was set. Without root it caps the request
  // at net.core.rmem_max.
  int64_t asked = kUdpReceiveBuffer;
  if (::geteuid() != 0) {
    std::ifstream max_file("/proc/sys/net/core/rmem_max");
    int64_t max = 0;
    if (max_file >> max) asked = std::min(asked, max);
  }
  EXPECT_GE(size, 2 * asked);
}

TEST_F(UcastTest, DatagramsLostToAFullBufferAreCounted) {
  // A tiny buffer (the kernel's minimum, a few datagrams' worth) and a
  // burst of frames from node2: the kernel drops what finds no room.
  int tiny = 1;
  ASSERT_EQ(::setsockopt(media_[0]->fd(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)), 0);
  constexpr int kBurst = 100;
  const std::string frame = "HAW1" + std::string(1000, 'b');
  for (int k = 0; k < kBurst; ++k) ASSERT_TRUE(media_[1]->Send(frame).ok());
  size_t delivered = 0;
  ASSERT_TRUE(media_[0]
                  ->Receive([&](absl::string_view, absl::string_view) { ++delivered; })
                  .ok());
  // The buffer is empty again: the last frame finds room, and brings the
  // kernel's count along.
  ASSERT_TRUE(media_[1]->Send("HAW1 last").ok());
  std::vector<std::string> rest = ReceiveUntil(*media_[0], "HAW1 last");
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back(), "HAW1 last");
  delivered += rest.size() - 1;
  EXPECT_LT(delivered, static_cast<size_t>(kBurst));
  EXPECT_EQ(media_[0]->kernel_drops(), kBurst - delivered);
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
  ASSERT_TRUE(m->Send("HAW1 six").ok());
  EXPECT_EQ(ReceiveFrames(*m, 1),
            (std::vector<Received>{{"HAW1 six", absl::StrCat("[::1]:", port)}}));
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
  EXPECT_FALSE(m->dates_arrivals());
  absl::StatusOr<bool> r = m->ReceiveDated([](absl::string_view, absl::string_view,
                                              agent::MonoTime) {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hacluster::media
