// Hostile clients at the agent's TCP API must cost the heartbeat nothing.
// Two agents on loopback at keepalive 5 ms / deadtime 20 ms / warntime 10
// ms serve their API over mutual TLS. For a calm window, then for an
// attack window as long, the late heartbeats and deaths both agents report
// are counted; during the attack, clients connect to node01's API and send
// garbage bytes, and hundreds of connections start a TLS handshake and
// never finish it (held until the agent drops them, then opened again).
// No false death, no restart, no more late heartbeats than in the calm
// window (plus a margin of 2 for a shared machine), and a legitimate
// reader is answered throughout and after.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/agent.grpc.pb.h"
#include "tests/cluster/api_cluster.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;

constexpr absl::Duration kWindow = absl::Seconds(6);
constexpr int kHalfOpen = 300;

struct Counts {
  int late = 0;
  int deaths = 0;
  int restarts = 0;
};

Counts CountSince(const EventRecorder& r, size_t from, size_t to) {
  Counts c;
  std::vector<v1::Event> ev = r.Events();
  for (size_t i = from; i < std::min(to, ev.size()); ++i) {
    if (ev[i].kind() == v1::EVENT_KIND_HEARTBEAT_LATE) ++c.late;
    if (ev[i].kind() == v1::EVENT_KIND_NODE_DEAD) ++c.deaths;
    if (ev[i].kind() == v1::EVENT_KIND_NODE_RESTARTED) ++c.restarts;
  }
  return c;
}

// A TCP connection to "a.b.c.d:port", or -1.
int Connect(const std::string& target, bool nonblocking) {
  std::vector<std::string> hp = absl::StrSplit(target, ':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  int port = 0;
  if (hp.size() != 2 || inet_pton(AF_INET, hp[0].c_str(), &to.sin_addr) != 1 ||
      !absl::SimpleAtoi(hp[1], &port)) {
    return -1;
  }
  to.sin_port = htons(static_cast<uint16_t>(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(ApiHostileTest, GarbageAndHalfOpenHandshakesCostNoHeartbeat) {
  ApiCluster cluster;
  absl::Status started = cluster.Start(ApiClusterOptions{});
  ASSERT_TRUE(started.ok()) << started;
  EventRecorder r1(cluster.Socket("node01")), r2(cluster.Socket("node02"));
  ASSERT_TRUE(harness::WaitFor([&] { return r1.connected() && r2.connected(); },
                               absl::Seconds(5)));
  auto reader = cluster.TlsStub("node01", "reader");
  auto ask = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::WhereRequest req;
    req.set_target("svc");
    v1::WhereResponse r;
    return reader->Where(&ctx, req, &r).ok() && r.holder() == "node01";
  };
  ASSERT_TRUE(ask());

  // The calm window.
  const size_t calm1 = r1.Events().size(), calm2 = r2.Events().size();
  harness::WaitFor([] { return false; }, kWindow, absl::Milliseconds(50));
  const size_t attack1 = r1.Events().size(), attack2 = r2.Events().size();

  // The attack.
  const std::string target = cluster.Target("node01");
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> garbage_sent{0}, half_open_opened{0}, reader_ok{0}, reader_failed{0};
  std::thread garbage([&] {
    std::mt19937 rng(7);
    std::string junk(4096, '\0');
    for (int i = 0; i < 100000 && !stop.load(); ++i) {
      for (char& c : junk) c = static_cast<char>(rng());
      int fd = Connect(target, false);
      if (fd < 0) continue;
      if (send(fd, junk.data(), junk.size(), MSG_NOSIGNAL) > 0) ++garbage_sent;
      close(fd);
    }
  });
  std::thread half_open([&] {
    // A TLS record header announcing a ClientHello that never comes.
    const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};
    std::vector<int> fds;
    for (int round = 0; round < 1000 && !stop.load(); ++round) {
      while (static_cast<int>(fds.size()) < kHalfOpen) {
        int fd = Connect(target, true);
        if (fd < 0) break;
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 1000) == 1) (void)send(fd, hello, sizeof(hello), MSG_NOSIGNAL);
        fds.push_back(fd);
        ++half_open_opened;
      }
      // Connections the agent closed (handshake timeout) are opened again.
      std::vector<int> alive;
      for (int fd : fds) {
        char b;
        ssize_t n = recv(fd, &b, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
          close(fd);
        } else {
          alive.push_back(fd);
        }
      }
      fds.swap(alive);
      harness::WaitFor([] { return false; }, absl::Milliseconds(100), absl::Milliseconds(100));
    }
    for (int fd : fds) close(fd);
  });
  std::thread legit([&] {
    for (int i = 0; i < 100000 && !stop.load(); ++i) {
      (ask() ? reader_ok : reader_failed)++;
      harness::WaitFor([] { return false; }, absl::Milliseconds(20), absl::Milliseconds(20));
    }
  });
  harness::WaitFor([] { return false; }, kWindow, absl::Milliseconds(50));
  stop = true;
  garbage.join();
  half_open.join();
  legit.join();
  const size_t end1 = r1.Events().size(), end2 = r2.Events().size();

  const Counts calm_a = CountSince(r1, calm1, attack1), calm_b = CountSince(r2, calm2, attack2);
  const Counts hit_a = CountSince(r1, attack1, end1), hit_b = CountSince(r2, attack2, end2);
  std::cout << "attack: " << garbage_sent << " garbage connections, " << half_open_opened
            << " half-open handshakes (" << kHalfOpen << " held at a time); reader answered "
            << reader_ok << " times, failed " << reader_failed << "\n"
            << "late heartbeats: calm " << calm_a.late + calm_b.late << ", under attack "
            << hit_a.late + hit_b.late << "; deaths: calm " << calm_a.deaths + calm_b.deaths
            << ", under attack " << hit_a.deaths + hit_b.deaths << "\n";
  EXPECT_GT(garbage_sent.load(), 100u);
  EXPECT_GE(half_open_opened.load(), static_cast<uint64_t>(kHalfOpen));
  EXPECT_EQ(hit_a.deaths + hit_b.deaths, 0);
  EXPECT_EQ(hit_a.restarts + hit_b.restarts, 0);
  EXPECT_LE(hit_a.late + hit_b.late, calm_a.late + calm_b.late + 2);
  EXPECT_GT(reader_ok.load(), 0u);
  EXPECT_EQ(reader_failed.load(), 0u);
  EXPECT_TRUE(ask()) << "the API no longer answers a reader after the attack";
  EXPECT_EQ(AgentClient(cluster.Socket("node01")).StateOf("node02"), v1::NODE_STATE_UP);
}

}  // namespace
}  // namespace hacluster::testing
