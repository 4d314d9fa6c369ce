// The agent's loop on a FakeClock with fake media: each turn is run by
// hand after moving the clock to the loop's own deadline, so none of these
// tests sleeps. They show the order of a turn (dated frames are read before
// any deadline is checked), a SIGHUP reload (applied, refused, media
// reopened) and a SIGTERM stop.
#include "agent/node/agent_loop.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/config/yaml_codec.h"
#include "agent/core/clock.h"
#include "agent/log/logger.h"
#include "agent/wire/codec.h"
#include "agent/wire/keyring.h"
#include "gtest/gtest.h"
#include "proto/wire.pb.h"

namespace hacluster::agent {
namespace {

// What crosses the fake media: frames the agent sent, frames waiting for
// it with their arrival times.
struct FakeWire {
  struct Arrival {
    std::string frame;
    MonoTime at;
  };
  std::vector<std::string> sent;
  std::vector<Arrival> inbox;
  int media_made = 0;
};

// A medium that dates its frames, as the UDP media do; its fd (an eventfd)
// never becomes readable: the loop reads it at every turn.
class FakeMedium final : public media::Medium {
 public:
  FakeMedium(int index, FakeWire* wire)
      : Medium(index, absl::StrCat("fake", index), absl::StrCat("fake medium ", index)),
        wire_(wire) {}
  ~FakeMedium() override {
    if (fd_ >= 0) close(fd_);
  }
  absl::Status Open() override {
    if (fd_ < 0) fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return absl::OkStatus();
  }
  int fd() const override { return fd_; }
  absl::Status Send(absl::string_view frame) override {
    wire_->sent.emplace_back(frame);
    return absl::OkStatus();
  }
  absl::Status Receive(Deliver) override { return absl::UnimplementedError("dated only"); }
  bool dates_arrivals() const override { return true; }
  absl::StatusOr<bool> ReceiveDated(DeliverDated deliver) override {
    std::vector<FakeWire::Arrival> in;
    in.swap(wire_->inbox);
    for (const auto& a : in) deliver(a.frame, "fake", a.at);
    return false;
  }

 private:
  FakeWire* wire_;
  int fd_ = -1;
};

constexpr absl::Duration kKeepalive = absl::Milliseconds(100);
constexpr absl::Duration kDeadtime = absl::Seconds(1);

class AgentLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { BlockSignals(); }

  void SetUp() override {
    char dir[] = "/tmp/hac-loop-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    {
      std::ofstream key(dir_ + "/authkey");
      key << "loop-test-secret\n";
    }
    ASSERT_EQ(chmod((dir_ + "/authkey").c_str(), 0600), 0);
    WriteSpec(SpecText(1, 694));
    config::ParsedSpec parsed = config::ParseSpecYaml(SpecText(1, 694), dir_ + "/spec.yaml");
    auto keyring = wire::Keyring::FromSpec(parsed.spec.auth(), dir_);
    ASSERT_TRUE(keyring.ok()) << keyring.status();
    keyring_ = std::make_unique<wire::Keyring>(*std::move(keyring));
    codec_ = std::make_unique<wire::FrameCodec>(keyring_.get());
    peer_hb_.set_cluster_name("looptest");
    peer_hb_.set_node("node02");
    peer_hb_.set_generation(1);
    peer_hb_.set_config_version(1);

    LogOptions log;
    log.to_stderr = false;
    log.file = dir_ + "/agent.log";
    auto logger = Logger::Create(log);
    ASSERT_TRUE(logger.ok()) << logger.status();
    logger_ = *std::move(logger);
    options_.config_path = dir_ + "/spec.yaml";
    options_.node = "node01";
    options_.state_dir = dir_ + "/node01";
    options_.realtime = false;
    std::filesystem::create_directory(options_.state_dir);
    chmod(options_.state_dir.c_str(), 0700);
    FakeWire* wire = &wire_;
    loop_ = std::make_unique<AgentLoop>(
        options_, *logger_, clock_,
        [wire](const spec::v1::ClusterSpec& spec, const std::string&)
            -> absl::StatusOr<std::vector<std::unique_ptr<media::Medium>>> {
          std::vector<std::unique_ptr<media::Medium>> media;
          for (int i = 0; i < spec.media_size(); ++i) {
            media.push_back(std::make_unique<FakeMedium>(i, wire));
          }
          ++wire->media_made;
          return media;
        });
    absl::Status s = loop_->Init();
    ASSERT_TRUE(s.ok()) << s;
    loop_->Start();
  }

  void TearDown() override {
    if (loop_ != nullptr) loop_->Finish();
    loop_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string SpecText(int version, int port, const std::string& extra = "") {
    return absl::StrCat("cluster_name: looptest\nconfig_version: ", version, "\nnodes:\n",
                        "  - name: node01\n    addresses: [192.0.2.1]\n",
                        "  - name: node02\n    addresses: [192.0.2.2]\n",
                        "timing:\n  keepalive: 100ms\n  warntime: 500ms\n  deadtime: 1s\n"
                        "  initdead: 2s\n",
                        "udp_port: ", port, "\nmedia:\n  - ucast: {interface: lo}\n",
                        "auth:\n  active_key: 1\n  keys:\n    - id: 1\n      method: sha256\n"
                        "      secret_file: authkey\n",
                        extra);
  }
  void WriteSpec(const std::string& text) {
    std::ofstream spec(dir_ + "/spec.yaml", std::ios::trunc);
    spec << text;
  }

  // node02's next heartbeat, arriving at `at`.
  void PeerHeartbeat(MonoTime at) {
    peer_hb_.set_seq(peer_hb_.seq() + 1);
    std::string frame;
    ASSERT_TRUE(codec_->Encode(peer_hb_, &frame).ok());
    wire_.inbox.push_back({frame, at});
  }

  // One turn, the clock first moved to the loop's deadline (never back).
  bool Turn() {
    clock_.Set(std::max(clock_.Now(), loop_->deadline()));
    return loop_->RunOnce();
  }

  v1::NodeState StateOf(const std::string& node) {
    v1::GetStatusResponse st = loop_->hub().Status(clock_.Now());
    for (const auto& n : st.nodes()) {
      if (n.name() == node) return n.state();
    }
    return v1::NODE_STATE_UNSPECIFIED;
  }

  // The events published so far, from the start.
  std::vector<v1::Event> Events() {
    uint64_t cursor = 0;
    std::vector<v1::Event> out;
    loop_->hub().Next(&cursor, absl::ZeroDuration(), &out, 100000);
    return out;
  }
  int Count(v1::EventKind kind) {
    int n = 0;
    for (const auto& e : Events()) n += e.kind() == kind;
    return n;
  }
  const v1::Event* Last(v1::EventKind kind) {
    last_events_ = Events();
    const v1::Event* found = nullptr;
    for (const auto& e : last_events_) {
      if (e.kind() == kind) found = &e;
    }
    return found;
  }

  std::string dir_;
  FakeClock clock_{absl::Seconds(1000)};
  FakeWire wire_;
  std::unique_ptr<wire::Keyring> keyring_;
  std::unique_ptr<wire::FrameCodec> codec_;
  wire::v1::Heartbeat peer_hb_;
  std::unique_ptr<Logger> logger_;
  AgentOptions options_;
  std::unique_ptr<AgentLoop> loop_;
  std::vector<v1::Event> last_events_;
};

TEST_F(AgentLoopTest, SendsAHeartbeatEveryKeepaliveOfTheClock) {
  const MonoTime start = clock_.Now();
  for (int i = 0; i < 200 && clock_.Now() < start + absl::Seconds(1); ++i) ASSERT_TRUE(Turn());
  // At start and every 100 ms: 10 or 11 within the second.
  EXPECT_GE(wire_.sent.size(), 10u);
  EXPECT_LE(wire_.sent.size(), 11u);
}

TEST_F(AgentLoopTest, AFrameThatArrivedBeforeTheDeadlineIsReadBeforeTheDeadlineIsChecked) {
  // node02 heartbeats every keepalive until initdead (2 s) is well over:
  // from then on its deaths come at last heartbeat + deadtime.
  const MonoTime start = clock_.Now();
  MonoTime heard = -absl::InfiniteDuration();
  for (int i = 0; i < 1000 && clock_.Now() < start + absl::Seconds(3); ++i) {
    if (clock_.Now() - heard >= kKeepalive) {
      heard = clock_.Now();
      PeerHeartbeat(heard);
    }
    ASSERT_TRUE(Turn());
  }
  ASSERT_GE(clock_.Now(), start + absl::Seconds(3));
  // One more, read in a turn at its own arrival time.
  clock_.Set(std::max(clock_.Now(), loop_->deadline()));
  heard = clock_.Now();
  PeerHeartbeat(heard);
  ASSERT_TRUE(loop_->RunOnce());
  ASSERT_EQ(StateOf("node02"), v1::NODE_STATE_UP);

  // The next heartbeat arrived 1 ms before node02's deadtime ran out, but
  // the loop wakes only 50 ms after it: the frame is read first, at its
  // arrival time, and node02 stays up.
  PeerHeartbeat(heard + kDeadtime - absl::Milliseconds(1));
  clock_.Set(heard + kDeadtime + absl::Milliseconds(50));
  ASSERT_TRUE(loop_->RunOnce());
  EXPECT_EQ(StateOf("node02"), v1::NODE_STATE_UP);
  EXPECT_EQ(Count(v1::EVENT_KIND_NODE_DEAD), 0);

  // Without a frame, the same late wake declares it dead.
  clock_.Set(heard + 2 * kDeadtime + absl::Milliseconds(50));
  ASSERT_TRUE(loop_->RunOnce());
  EXPECT_EQ(StateOf("node02"), v1::NODE_STATE_DEAD);
  EXPECT_EQ(Count(v1::EVENT_KIND_NODE_DEAD), 1);
}

TEST_F(AgentLoopTest, APeerOnAnotherConfigIsReportedAsDriftUntilItAgrees) {
  PeerHeartbeat(clock_.Now());
  ASSERT_TRUE(Turn());
  ASSERT_EQ(StateOf("node02"), v1::NODE_STATE_UP);
  v1::GetStatusResponse st = loop_->hub().Status(clock_.Now());
  EXPECT_FALSE(st.config_drift());
  EXPECT_EQ(st.config_hash().size(), 32u);
  // The peer says version 1 with no hash (as an older agent): no drift.
  EXPECT_EQ(Count(v1::EVENT_KIND_CONFIG_DRIFT), 0);

  peer_hb_.set_config_version(2);
  PeerHeartbeat(clock_.Now());
  ASSERT_TRUE(Turn());
  st = loop_->hub().Status(clock_.Now());
  EXPECT_TRUE(st.config_drift());
  for (const auto& n : st.nodes()) {
    if (n.name() == "node02") EXPECT_TRUE(n.config_drift());
  }
  const v1::Event* drift = Last(v1::EVENT_KIND_CONFIG_DRIFT);
  ASSERT_NE(drift, nullptr);
  EXPECT_FALSE(drift->ok());
  EXPECT_EQ(drift->node(), "node02");

  // The peer goes back to this node's version and spec: over.
  peer_hb_.set_config_version(1);
  config::ParsedSpec parsed = config::ParseSpecYaml(SpecText(1, 694), dir_ + "/spec.yaml");
  peer_hb_.set_config_hash(SpecHash(parsed.spec));
  PeerHeartbeat(clock_.Now());
  ASSERT_TRUE(Turn());
  EXPECT_FALSE(loop_->hub().Status(clock_.Now()).config_drift());
  drift = Last(v1::EVENT_KIND_CONFIG_DRIFT);
  ASSERT_NE(drift, nullptr);
  EXPECT_TRUE(drift->ok());
  EXPECT_EQ(Count(v1::EVENT_KIND_CONFIG_DRIFT), 2);
}

TEST_F(AgentLoopTest, SighupAppliesAValidSpecRefusesAnInvalidOneAndReopensChangedMedia) {
  ASSERT_TRUE(Turn());
  ASSERT_EQ(wire_.media_made, 1);

  WriteSpec(SpecText(2, 694));
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(loop_->RunOnce());  // the signal ends the wait at once
  EXPECT_EQ(loop_->hub().Status(clock_.Now()).config_version(), 2u);
  const v1::Event* reloaded = Last(v1::EVENT_KIND_CONFIG_RELOADED);
  ASSERT_NE(reloaded, nullptr);
  EXPECT_TRUE(absl::StrContains(reloaded->reason(), "1 -> 2")) << reloaded->reason();
  EXPECT_EQ(wire_.media_made, 1);  // same media: kept open

  WriteSpec(SpecText(3, 694) + "bogus_key: 1\n");
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(loop_->RunOnce());
  ASSERT_TRUE(Turn());
  EXPECT_EQ(loop_->hub().Status(clock_.Now()).config_version(), 2u);
  EXPECT_EQ(Count(v1::EVENT_KIND_CONFIG_REJECTED), 1);

  WriteSpec(SpecText(3, 695));
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(loop_->RunOnce());
  EXPECT_EQ(loop_->hub().Status(clock_.Now()).config_version(), 3u);
  EXPECT_GT(wire_.media_made, 1);  // new media made and opened
  reloaded = Last(v1::EVENT_KIND_CONFIG_RELOADED);
  ASSERT_NE(reloaded, nullptr);
  EXPECT_TRUE(absl::StrContains(reloaded->reason(), "media reopened")) << reloaded->reason();
  // The loop goes on sending on the new media.
  const size_t sent = wire_.sent.size();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Turn());
  EXPECT_GT(wire_.sent.size(), sent);
}

TEST_F(AgentLoopTest, TheRunningSpecIsPublishedWithoutInlineSecrets) {
  ASSERT_TRUE(Turn());
  std::string text = SpecText(2, 694);
  text.replace(text.find("      secret_file: authkey\n"), std::string("      secret_file: authkey\n").size(),
               "      secret_file: authkey\n    - id: 2\n      method: sha256\n"
               "      secret: inline-s3cret-value\n");
  WriteSpec(text);
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  ASSERT_TRUE(loop_->RunOnce());
  ASSERT_EQ(loop_->hub().Status(clock_.Now()).config_version(), 2u);
  const std::string published = loop_->hub().Spec()->spec_yaml();
  EXPECT_EQ(published.find("inline-s3cret-value"), std::string::npos) << published;
  EXPECT_NE(published.find(kSecretNotSent), std::string::npos) << published;
  for (const v1::Event& e : Events()) {
    EXPECT_EQ(e.reason().find("inline-s3cret-value"), std::string::npos) << e.reason();
  }
}

TEST_F(AgentLoopTest, SigtermEndsTheLoopWithNoGroupsToStop) {
  ASSERT_TRUE(Turn());
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  EXPECT_FALSE(loop_->RunOnce());
  EXPECT_EQ(Count(v1::EVENT_KIND_AGENT_STOPPING), 1);
  EXPECT_EQ(loop_->Finish(), 0);
  loop_.reset();
}

}  // namespace
}  // namespace hacluster::agent
