// The event loop against a peer the test plays itself: a UDP socket that
// sends signed heartbeats at chosen instants, at keepalive 5 ms, where the
// loop reads dated media only at its own wakes.
#include "agent/node/agent.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "agent/config/yaml_codec.h"
#include "agent/core/clock.h"
#include "agent/log/logger.h"
#include "agent/media/unique_fd.h"
#include "agent/wire/codec.h"
#include "agent/wire/keyring.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/agent.grpc.pb.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {
namespace {

constexpr absl::Duration kDeadtime = absl::Milliseconds(20);

// Sleeps until MonotonicNow() reaches `t` (the last stretch spinning, so
// that the test's own heartbeats go out within a few microseconds of it).
void SleepUntil(MonoTime t) {
  for (;;) {
    absl::Duration left = t - MonotonicNow();
    if (left <= absl::ZeroDuration()) return;
    if (left > absl::Microseconds(300)) absl::SleepFor(left - absl::Microseconds(200));
  }
}

// Collects the agent's events from WatchEvents on its own thread.
class EventStream {
 public:
  explicit EventStream(const std::string& socket)
      : stub_(v1::Agent::NewStub(
            grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()))),
        reader_([this] { Read(); }) {}
  ~EventStream() {
    context_.TryCancel();
    reader_.join();
  }

  std::vector<v1::Event> Events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  void Read() {
    v1::WatchEventsRequest request;
    std::unique_ptr<grpc::ClientReader<v1::Event>> stream =
        stub_->WatchEvents(&context_, request);
    v1::Event e;
    while (stream->Read(&e)) {
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    }
  }

  std::unique_ptr<v1::Agent::Stub> stub_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  std::vector<v1::Event> events_ ABSL_GUARDED_BY(mu_);
  std::thread reader_;
};

class AgentLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { BlockSignals(); }

  void SetUp() override {
    char dir[] = "/tmp/hac-agent-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    {
      std::ofstream key(dir_ + "/authkey");
      key << "agent-test-secret\n";
    }
    ASSERT_EQ(chmod((dir_ + "/authkey").c_str(), 0600), 0);
    std::random_device rd;
    prefix_ = absl::StrCat("127.", 1 + rd() % 250, ".", 1 + rd() % 250, ".");
    port_ = static_cast<uint16_t>(20000 + rd() % 20000);
    const std::string spec_text =
        absl::StrCat("cluster_name: looptest\nconfig_version: 1\nnodes:\n",
                     "  - name: node01\n    addresses: [", prefix_, "1]\n",
                     "  - name: node02\n    addresses: [", prefix_, "2]\n",
                     "timing:\n  keepalive: 5ms\n  warntime: 10ms\n  deadtime: 20ms\n"
                     "  initdead: 40ms\n",
                     "udp_port: ", port_, "\nmedia:\n  - ucast: {interface: lo}\n",
                     "auth:\n  active_key: 1\n  keys:\n    - id: 1\n      method: sha256\n"
                     "      secret_file: authkey\n");
    const std::string spec_path = dir_ + "/spec.yaml";
    {
      std::ofstream spec(spec_path);
      spec << spec_text;
    }
    config::ParsedSpec parsed = config::ParseSpecYaml(spec_text, spec_path);
    auto keyring = wire::Keyring::FromSpec(parsed.spec.auth(), dir_);
    ASSERT_TRUE(keyring.ok()) << keyring.status();
    keyring_ = std::make_unique<wire::Keyring>(*std::move(keyring));
    codec_ = std::make_unique<wire::FrameCodec>(keyring_.get());
    hb_.set_cluster_name("looptest");
    hb_.set_node("node02");
    hb_.set_generation(1);
    hb_.set_config_version(1);

    // The peer: node02's address and port, where the agent sends.
    peer_ = media::UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in own{};
    own.sin_family = AF_INET;
    own.sin_port = htons(port_);
    inet_pton(AF_INET, (prefix_ + "2").c_str(), &own.sin_addr);
    ASSERT_EQ(bind(peer_.get(), reinterpret_cast<sockaddr*>(&own), sizeof(own)), 0);
    agent_address_ = own;
    inet_pton(AF_INET, (prefix_ + "1").c_str(), &agent_address_.sin_addr);

    auto logger = Logger::Create(LogOptions{});
    ASSERT_TRUE(logger.ok()) << logger.status();
    logger_ = *std::move(logger);
    options_.config_path = spec_path;
    options_.node = "node01";
    options_.state_dir = dir_ + "/node01";
    options_.realtime = true;  // falls back to normal priority where refused
    std::filesystem::create_directory(options_.state_dir);
    StartAgent();
  }

  void StartAgent() {
    auto agent = Agent::Create(options_, *logger_);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    loop_ = std::thread([this] { exit_status_ = agent_->Run(); });
    events_ = std::make_unique<EventStream>(options_.state_dir + "/agent.sock");
  }

  void StopAgent() {
    if (loop_.joinable()) {
      kill(getpid(), SIGTERM);  // blocked everywhere: only the loop's signalfd takes it
      loop_.join();
      EXPECT_EQ(exit_status_, 0);
    }
    events_.reset();
    agent_.reset();
  }

  void TearDown() override {
    StopAgent();
    std::filesystem::remove_all(dir_);
  }

  // Sends node02's next heartbeat to the agent; returns the time just
  // before it went.
  MonoTime SendHeartbeat() {
    const std::string frame = NextFrame();
    MonoTime at = MonotonicNow();
    SendFrame(frame);
    return at;
  }

  // When the agent's next heartbeat reached the peer (those queued before
  // are skipped); nullopt after 2 s without one.
  std::optional<MonoTime> NextAgentHeartbeat() {
    char buf[2048];
    while (recv(peer_.get(), buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
    pollfd p{peer_.get(), POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return std::nullopt;
    MonoTime at = MonotonicNow();
    (void)recv(peer_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    return at;
  }

  // The first event of `kind` for node02 after `after` (monotonic), waiting
  // up to 2 s for it.
  std::optional<v1::Event> EventAfter(v1::EventKind kind, MonoTime after) {
    for (int i = 0; i < 400; ++i) {
      for (const v1::Event& e : events_->Events()) {
        if (e.kind() == kind && e.node() == "node02" &&
            absl::Nanoseconds(e.monotonic_ns()) >= after) {
          return e;
        }
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return std::nullopt;
  }

  // Sends a frame as it is (a replay).
  void SendFrame(const std::string& frame) {
    EXPECT_EQ(sendto(peer_.get(), frame.data(), frame.size(), 0,
                     reinterpret_cast<const sockaddr*>(&agent_address_), sizeof(agent_address_)),
              static_cast<ssize_t>(frame.size()));
  }
  std::string NextFrame() {
    hb_.set_seq(hb_.seq() + 1);
    std::string frame;
    EXPECT_TRUE(codec_->Encode(hb_, &frame).ok());
    return frame;
  }

  std::optional<v1::GetStatusResponse> Status() {
    auto stub = v1::Agent::NewStub(grpc::CreateChannel(
        "unix:" + dir_ + "/node01/agent.sock", grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetStatusResponse st;
    if (!stub->GetStatus(&ctx, v1::GetStatusRequest(), &st).ok()) return std::nullopt;
    return st;
  }

  std::optional<v1::NodeStatus> StatusOfPeer() {
    std::optional<v1::GetStatusResponse> st = Status();
    if (!st.has_value()) return std::nullopt;
    for (const v1::NodeStatus& n : st->nodes()) {
      if (n.name() == "node02") return n;
    }
    return std::nullopt;
  }

  AgentOptions options_;
  std::string dir_;
  std::string prefix_;
  uint16_t port_ = 0;
  std::unique_ptr<wire::Keyring> keyring_;
  std::unique_ptr<wire::FrameCodec> codec_;
  wire::v1::Heartbeat hb_;
  media::UniqueFd peer_;
  sockaddr_in agent_address_{};
  std::unique_ptr<Logger> logger_;
  std::unique_ptr<Agent> agent_;
  std::thread loop_;
  int exit_status_ = -1;
  std::unique_ptr<EventStream> events_;
};

// Heartbeat A goes 4 ms after one of the agent's sends, so A's deadline
// (A + 20 ms) falls 1 ms before a send. Heartbeat B goes 18.5 ms after A:
// after the send before that deadline, so it is still queued when the loop
// wakes for the deadline. The loop must read it first: no death then, and
// node02's last heartbeat is dated when B arrived, not when it was read.
// The loop runs at realtime priority where it may, so that it keeps these
// instants (else B may be read by a send that woke late).
TEST_F(AgentLoopTest, HeartbeatQueuedAtTheDeadlineIsReadBeforeDeathAndDatedAtArrival) {
  // Past initdead (no death is declared before it): node02, never heard,
  // is dead.
  ASSERT_TRUE(EventAfter(v1::EVENT_KIND_NODE_DEAD, absl::ZeroDuration()).has_value());
  bool conclusive = false;
  for (int attempt = 0; attempt < 10 && !conclusive; ++attempt) {
    // Each attempt starts with node02 dead: an inconclusive attempt's B may
    // have arrived after the death and brought it back.
    bool dead = false;
    for (int i = 0; i < 400 && !dead; ++i) {
      std::optional<v1::NodeStatus> peer = StatusOfPeer();
      dead = peer.has_value() && peer->state() == v1::NODE_STATE_DEAD;
      if (!dead) absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(dead) << "node02 never died after it went silent";
    std::optional<MonoTime> agent_sent = NextAgentHeartbeat();
    ASSERT_TRUE(agent_sent.has_value()) << "the agent sends nothing";
    SleepUntil(*agent_sent + absl::Milliseconds(4));
    const MonoTime a = SendHeartbeat();
    SleepUntil(a + kDeadtime - absl::Milliseconds(1.5));
    const MonoTime b = SendHeartbeat();
    const absl::Time b_wall = WallTimeOf(b);
    // Timing this test could not keep (a loaded machine) proves nothing:
    // A must go between the agent's sends, B after the agent's send before
    // A's deadline and before that deadline.
    conclusive = a - *agent_sent < absl::Milliseconds(4.5) &&
                 b - a < kDeadtime - absl::Milliseconds(1);
    std::optional<v1::Event> death = EventAfter(v1::EVENT_KIND_NODE_DEAD, a);
    ASSERT_TRUE(death.has_value()) << "node02 never died after it went silent";
    if (!conclusive) continue;
    // A brought node02 back. Its NODE_UP is dated at A's arrival, from the
    // kernel's receive timestamp, which may read a little before `a` (taken
    // here just before the send): node02 was dead until A, so nothing else
    // can have brought it up in that last millisecond.
    std::optional<v1::Event> up = EventAfter(v1::EVENT_KIND_NODE_UP, a - absl::Milliseconds(1));
    ASSERT_TRUE(up.has_value()) << "no NODE_UP for A (sent " << a - *agent_sent
                                << " after the agent's heartbeat)";
    // Not before B's deadline: B was taken into account.
    EXPECT_GE(absl::Nanoseconds(death->monotonic_ns()), b + kDeadtime)
        << "declared dead " << absl::Nanoseconds(death->monotonic_ns()) - a
        << " after A with B (sent " << b - a << " after A) unread";
    std::optional<v1::NodeStatus> peer = StatusOfPeer();
    ASSERT_TRUE(peer.has_value());
    ASSERT_TRUE(peer->has_last_heard());
    absl::Time last_heard = absl::FromUnixSeconds(peer->last_heard().seconds()) +
                            absl::Nanoseconds(peer->last_heard().nanos());
    EXPECT_LT(absl::AbsDuration(last_heard - b_wall), absl::Microseconds(500))
        << "B is dated " << last_heard - b_wall << " from when it was sent";
  }
  EXPECT_TRUE(conclusive) << "could not time the heartbeats in 10 attempts";
}

// The agent restarts: the frames node02 sent before are refused as replays
// (the floors were saved at the clean stop), its newer ones are not.
TEST_F(AgentLoopTest, ReplayFloorsSurviveAnAgentRestart) {
  std::vector<std::string> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(NextFrame());
    SendFrame(sent.back());
  }
  ASSERT_TRUE(EventAfter(v1::EVENT_KIND_NODE_UP, absl::ZeroDuration()).has_value());
  StopAgent();
  std::ifstream in(options_.state_dir + "/replay-floors");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "# ha-agent replay floors v1\nnode02 1 20\n");

  StartAgent();
  if (HasFatalFailure()) return;
  const MonoTime restarted = MonotonicNow();
  for (const std::string& frame : sent) SendFrame(frame);
  // Every one of them is counted as a replay, and none brings node02 up.
  uint64_t replays = 0;
  for (int i = 0; i < 400 && replays < sent.size(); ++i) {
    auto st = Status();
    ASSERT_TRUE(st.has_value());
    auto it = st->dropped_packets().find("replay");
    replays = it == st->dropped_packets().end() ? 0 : it->second;
    if (replays < sent.size()) absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(replays, sent.size());
  for (const v1::Event& e : events_->Events()) {
    EXPECT_FALSE(e.kind() == v1::EVENT_KIND_NODE_UP && e.node() == "node02") << e.reason();
  }
  SendFrame(NextFrame());
  EXPECT_TRUE(EventAfter(v1::EVENT_KIND_NODE_UP, restarted).has_value());
}

TEST_F(AgentLoopTest, CorruptReplayFloorsFileIsAnErrorNamingIt) {
  StopAgent();
  {
    std::ofstream out(options_.state_dir + "/replay-floors");
    out << "# ha-agent replay floors v1\nnode02 one 2\n";
  }
  auto agent = Agent::Create(options_, *logger_);
  ASSERT_FALSE(agent.ok());
  EXPECT_EQ(agent.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(agent.status().message(),
                                options_.state_dir + "/replay-floors:2: generation and seq"))
      << agent.status();
}

}  // namespace
}  // namespace hacluster::agent
