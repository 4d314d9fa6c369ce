#include "agent/wire/packet_check.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/wire.pb.h"

namespace hacluster::wire {
namespace {

using google::protobuf::util::MessageDifferencer;

const Key kKey1{1, spec::v1::AUTH_METHOD_SHA256, "s3cret"};
const Key kKey2{2, spec::v1::AUTH_METHOD_SHA256, "next-s3cret"};
const Key kCrc{3, spec::v1::AUTH_METHOD_CRC, ""};

class PacketCheckTest : public ::testing::Test {
 protected:
  PacketCheckTest() : ring_({kKey1, kKey2}, 1), check_("mor", "node01", &ring_) {}

  static std::string Frame(const std::string& node, uint64_t generation, uint64_t seq,
                           const Key& key = kKey1, const std::string& cluster = "mor") {
    wire::v1::Heartbeat hb;
    hb.set_cluster_name(cluster);
    hb.set_node(node);
    hb.set_generation(generation);
    hb.set_seq(seq);
    hb.set_config_version(4);
    std::string frame;
    EXPECT_TRUE(EncodeFrame(hb, key, &frame).ok());
    return frame;
  }

  PacketCheck::Result Check(const std::string& frame, int link = 0) {
    return check_.Check(frame, link, &hb_);
  }

  // Expects the frame to be accepted as a peer's heartbeat.
  void ExpectAccepted(const std::string& frame, int link = 0) {
    PacketCheck::Result r = Check(frame, link);
    EXPECT_TRUE(r.ok) << DropReasonName(r.reason) << ": " << r.detail;
    EXPECT_FALSE(r.own);
    EXPECT_EQ(r.detail, "");
  }

  // Expects a drop for `reason` and returns its detail.
  std::string ExpectDropped(const std::string& frame, DropReason reason, int link = 0) {
    PacketCheck::Result r = Check(frame, link);
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.own);
    EXPECT_EQ(DropReasonName(r.reason), DropReasonName(reason)) << r.detail;
    return r.detail;
  }

  Keyring ring_;
  PacketCheck check_;
  wire::v1::Heartbeat hb_;
};

TEST_F(PacketCheckTest, ValidHeartbeatIsAcceptedAndParsed) {
  PacketCheck::Result r = Check(Frame("node02", 5, 1));
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_FALSE(r.own);
  EXPECT_EQ(r.key_id, 1u);
  EXPECT_EQ(hb_.node(), "node02");
  EXPECT_EQ(hb_.generation(), 5u);
  EXPECT_EQ(hb_.seq(), 1u);
  EXPECT_EQ(hb_.config_version(), 4u);
}

TEST_F(PacketCheckTest, OwnHeartbeatIsAcceptedAsOwnAndNeverAReplay) {
  std::string frame = Frame("node01", 5, 1);
  for (int i = 0; i < 3; ++i) {
    PacketCheck::Result r = Check(frame);
    EXPECT_TRUE(r.ok) << r.detail;
    EXPECT_TRUE(r.own);
  }
  EXPECT_EQ(check_.TrackedNodesForTest(), 0u);
}

TEST_F(PacketCheckTest, ReplayedPacketIsDropped) {
  std::string frame = Frame("node02", 5, 17);
  ExpectAccepted(frame);
  EXPECT_EQ(ExpectDropped(frame, DropReason::kReplay),
            "node \"node02\" link 0 generation 5 seq 17 was already seen");
}

TEST_F(PacketCheckTest, SeqOlderThanTheWindowIsDropped) {
  ExpectAccepted(Frame("node02", 5, 100));
  EXPECT_EQ(ExpectDropped(Frame("node02", 5, 36), DropReason::kReplay),
            "node \"node02\" link 0 generation 5 seq 36 is older than the window "
            "(64 below seq 100)");
  // 37 is the oldest seq the window still covers, and it was never seen.
  ExpectAccepted(Frame("node02", 5, 37));
}

TEST_F(PacketCheckTest, OutOfOrderSeqInsideTheWindowIsAcceptedOnce) {
  ExpectAccepted(Frame("node02", 5, 10));
  ExpectAccepted(Frame("node02", 5, 8));
  ExpectDropped(Frame("node02", 5, 8), DropReason::kReplay);
  ExpectAccepted(Frame("node02", 5, 9));
  ExpectDropped(Frame("node02", 5, 10), DropReason::kReplay);
  ExpectAccepted(Frame("node02", 5, 11));
  ExpectDropped(Frame("node02", 5, 9), DropReason::kReplay);
}

TEST_F(PacketCheckTest, WindowSlidesWithGapsInTheSequence) {
  ExpectAccepted(Frame("node02", 5, 1));
  ExpectAccepted(Frame("node02", 5, 1000));
  ExpectAccepted(Frame("node02", 5, 999));
  ExpectAccepted(Frame("node02", 5, 937));
  ExpectDropped(Frame("node02", 5, 936), DropReason::kReplay);
  ExpectDropped(Frame("node02", 5, 1), DropReason::kReplay);
  ExpectAccepted(Frame("node02", 5, 1030));  // 999 is still in the window
  ExpectDropped(Frame("node02", 5, 999), DropReason::kReplay);
  ExpectDropped(Frame("node02", 5, 966), DropReason::kReplay);  // 64 below 1030
}

TEST_F(PacketCheckTest, NewGenerationIsAcceptedAndTheOldOneRefusedAfterIt) {
  ExpectAccepted(Frame("node02", 5, 500));
  ExpectAccepted(Frame("node02", 6, 1));  // restarted: seq begins again
  ExpectAccepted(Frame("node02", 6, 2));
  EXPECT_EQ(ExpectDropped(Frame("node02", 5, 501), DropReason::kReplay),
            "node \"node02\" generation 5 is older than generation 6 (if that node lost its "
            "state directory, set its STATE_DIR/generation to 6 and restart it)");
}

TEST_F(PacketCheckTest, LowerGenerationStaysAReplayForTheLifeOfTheCheck) {
  ExpectAccepted(Frame("node02", 9, 40));
  ExpectAccepted(Frame("node02", 9, 41));
  // Whatever membership makes of node02 meanwhile (dead, say), its old
  // frames never pass again.
  for (int i = 0; i < 3; ++i) {
    ExpectDropped(Frame("node02", 1, 1), DropReason::kReplay);
    ExpectDropped(Frame("node02", 9, 40), DropReason::kReplay);
    ExpectDropped(Frame("node02", 9, 41), DropReason::kReplay);
  }
  ExpectAccepted(Frame("node02", 10, 1));  // it restarted
}

TEST_F(PacketCheckTest, LinkThatNeverHeardTheNodeAcceptsOnlyItsNewestSeqs) {
  for (uint64_t seq = 1; seq <= 10; ++seq) ExpectAccepted(Frame("node02", 3, seq), 0);
  // Link 1 never heard node02: seqs more than kFreshLinkLag below the
  // newest are replays (captured on link 0 and sent to link 1).
  EXPECT_EQ(ExpectDropped(Frame("node02", 3, 5), DropReason::kReplay, 1),
            "node \"node02\" link 1 generation 3 seq 5 is older than seq 10 already seen on "
            "another link");
  ExpectDropped(Frame("node02", 3, 1), DropReason::kReplay, 1);
  // A link up to kFreshLinkLag heartbeats slower opens, with its own window.
  ExpectAccepted(Frame("node02", 3, 10 - PacketCheck::kFreshLinkLag), 1);
  ExpectDropped(Frame("node02", 3, 10 - PacketCheck::kFreshLinkLag), DropReason::kReplay, 1);
  ExpectAccepted(Frame("node02", 3, 7), 1);
  ExpectAccepted(Frame("node02", 3, 11), 1);
  ExpectAccepted(Frame("node02", 3, 11), 0);
  // A newer seq opens a link too.
  ExpectAccepted(Frame("node02", 3, 14), 2);
}

TEST_F(PacketCheckTest, FloorsSaySeenGenerationAndHighestSeqPerNode) {
  ExpectAccepted(Frame("node03", 2, 7), 0);
  ExpectAccepted(Frame("node02", 5, 12), 0);
  ExpectAccepted(Frame("node02", 5, 17), 1);
  ExpectAccepted(Frame("node02", 5, 16), 1);
  const uint64_t before = check_.floors_version();
  ExpectAccepted(Frame("node02", 5, 18), 0);
  EXPECT_GT(check_.floors_version(), before);
  EXPECT_EQ(check_.Floors(), (std::vector<PacketCheck::Floor>{{"node02", 5, 18},
                                                              {"node03", 2, 7}}));
}

TEST_F(PacketCheckTest, RestoredFloorRefusesFramesCapturedBeforeARestart) {
  for (uint64_t seq = 1; seq <= 100; ++seq) ExpectAccepted(Frame("node02", 5, seq), 0);
  // The agent restarts with the floors it saved.
  PacketCheck restarted("mor", "node01", &ring_);
  for (const PacketCheck::Floor& f : check_.Floors()) restarted.SetFloor(f);
  EXPECT_EQ(restarted.Floors(), check_.Floors());
  for (uint64_t seq : {1, 37, 99, 100}) {
    PacketCheck::Result r = restarted.Check(Frame("node02", 5, seq), 0, &hb_);
    EXPECT_FALSE(r.ok) << seq;
    EXPECT_EQ(DropReasonName(r.reason), "replay");
    if (seq == 100) {
      EXPECT_EQ(r.detail, "node \"node02\" generation 5 seq 100 is at or below seq 100, seen "
                          "before this agent restarted");
    }
    // On every link: the floor is the node's, not a link's.
    EXPECT_FALSE(restarted.Check(Frame("node02", 5, seq), 3, &hb_).ok) << seq;
  }
  EXPECT_FALSE(restarted.Check(Frame("node02", 4, 500), 0, &hb_).ok);
  EXPECT_TRUE(restarted.Check(Frame("node02", 5, 101), 0, &hb_).ok);
  EXPECT_TRUE(restarted.Check(Frame("node02", 5, 101), 1, &hb_).ok);
  EXPECT_TRUE(restarted.Check(Frame("node02", 6, 1), 0, &hb_).ok);
}

TEST_F(PacketCheckTest, SetFloorNeverLowersWhatIsKnown) {
  ExpectAccepted(Frame("node02", 5, 40));
  check_.SetFloor({"node02", 4, 900});  // an older generation: ignored
  check_.SetFloor({"node02", 5, 10});   // below what was seen: nothing new
  ExpectAccepted(Frame("node02", 5, 41));
  ExpectDropped(Frame("node02", 4, 901), DropReason::kReplay);
  check_.SetFloor({"node01", 3, 3});  // this node's own: ignored
  check_.SetFloor({"", 3, 3});
  EXPECT_EQ(check_.Floors(), (std::vector<PacketCheck::Floor>{{"node02", 5, 41}}));
  check_.SetFloor({"node02", 7, 2});  // a newer generation: its floor holds
  ExpectDropped(Frame("node02", 7, 2), DropReason::kReplay);
  ExpectDropped(Frame("node02", 5, 42), DropReason::kReplay);
  ExpectAccepted(Frame("node02", 7, 3));
}

TEST_F(PacketCheckTest, SameSeqOnASecondLinkIsNotAReplay) {
  std::string frame = Frame("node02", 5, 17);
  ExpectAccepted(frame, 0);
  ExpectAccepted(frame, 1);
  ExpectAccepted(frame, 63);
  ExpectDropped(frame, DropReason::kReplay, 1);
  EXPECT_EQ(ExpectDropped(frame, DropReason::kReplay, 63),
            "node \"node02\" link 63 generation 5 seq 17 was already seen");
}

TEST_F(PacketCheckTest, NewGenerationStartsEveryLinkAfresh) {
  ExpectAccepted(Frame("node02", 5, 500), 0);
  ExpectAccepted(Frame("node02", 5, 500), 1);
  ExpectAccepted(Frame("node02", 6, 1), 0);
  ExpectAccepted(Frame("node02", 6, 1), 1);  // link 1 has no window of generation 6 yet
  ExpectDropped(Frame("node02", 5, 501), DropReason::kReplay, 1);
}

TEST_F(PacketCheckTest, OtherClusterIsDropped) {
  EXPECT_EQ(ExpectDropped(Frame("node02", 5, 1, kKey1, "billing"), DropReason::kWrongCluster),
            "cluster \"billing\", node \"node02\"");
  // It did not touch the window.
  ExpectAccepted(Frame("node02", 5, 1));
}

TEST_F(PacketCheckTest, NamesFromThePacketAreEscapedInTheDetail) {
  EXPECT_EQ(ExpectDropped(Frame("node\n02", 5, 1, kKey1, "x\x01y"), DropReason::kWrongCluster),
            "cluster \"x\\x01y\", node \"node\\n02\"");
  std::string long_name(100, 'n');
  EXPECT_EQ(ExpectDropped(Frame(long_name, 5, 1, kKey1, "other"), DropReason::kWrongCluster),
            absl::StrCat("cluster \"other\", node \"", std::string(64, 'n'), "\"..."));
}

TEST_F(PacketCheckTest, KeyRotationAcceptsTheNewActiveKey) {
  // The sender has switched to key 2; this node still sends with key 1 but
  // has key 2 configured.
  Keyring sender({kKey1, kKey2}, 2);
  FrameCodec sender_codec(&sender);
  wire::v1::Heartbeat hb;
  hb.set_cluster_name("mor");
  hb.set_node("node02");
  hb.set_generation(1);
  hb.set_seq(1);
  std::string frame;
  ASSERT_TRUE(sender_codec.Encode(hb, &frame).ok());
  PacketCheck::Result r = Check(frame);
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.key_id, 2u);
  // And the old key still works.
  ExpectAccepted(Frame("node02", 1, 2, kKey1));
}

TEST_F(PacketCheckTest, KeyThatIsNotConfiguredIsRefused) {
  Keyring old_only({kKey1}, 1);
  check_.UpdateKeyring(&old_only);
  PacketCheck::Result r = Check(Frame("node02", 1, 1, kKey2));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, DropReason::kUnknownKey);
  EXPECT_EQ(r.key_id, 2u);
  EXPECT_EQ(r.detail, "key 2");
  check_.UpdateKeyring(&ring_);
}

TEST_F(PacketCheckTest, WrongSecretIsABadMac) {
  EXPECT_EQ(ExpectDropped(Frame("node02", 1, 1, Key{1, spec::v1::AUTH_METHOD_SHA256, "guess"}),
                          DropReason::kBadMac),
            "key 1");
  // A forged packet does not move the window.
  ExpectAccepted(Frame("node02", 1, 1));
}

TEST_F(PacketCheckTest, TamperedPayloadIsABadMac) {
  std::string frame = Frame("node02", 1, 1);
  frame[12] ^= 0x20;
  ExpectDropped(frame, DropReason::kBadMac);
}

TEST_F(PacketCheckTest, UpdateKeyringKeepsTheReplayState) {
  std::string frame = Frame("node02", 1, 1, kKey2);
  ExpectAccepted(frame);
  Keyring next({kKey2}, 2);
  check_.UpdateKeyring(&next);
  ExpectDropped(Frame("node02", 1, 2, kKey1), DropReason::kUnknownKey);
  ExpectDropped(frame, DropReason::kReplay);
  ExpectAccepted(Frame("node02", 1, 2, kKey2));
  check_.UpdateKeyring(&ring_);
}

TEST_F(PacketCheckTest, CrcFrameIsAcceptedOnlyWithACrcKey) {
  ExpectDropped(Frame("node02", 1, 1, kCrc), DropReason::kUnknownKey);
  ExpectDropped(Frame("node02", 1, 1, Key{1, spec::v1::AUTH_METHOD_CRC, ""}),
                DropReason::kWrongMethod);
  Keyring with_crc({kKey1, kCrc}, 1);
  check_.UpdateKeyring(&with_crc);
  ExpectAccepted(Frame("node02", 1, 1, kCrc));
  check_.UpdateKeyring(&ring_);
}

TEST_F(PacketCheckTest, BrokenFramesAreMalformedAndNeverCrash) {
  std::string frame = Frame("node02", 1, 1);
  for (size_t n = 0; n < frame.size(); ++n) {
    ExpectDropped(frame.substr(0, n), DropReason::kMalformed);
  }
  ExpectDropped("", DropReason::kMalformed);
  ExpectDropped(std::string(2000, '\xAA'), DropReason::kMalformed);
  ExpectDropped(std::string(1400, '\0'), DropReason::kMalformed);
  std::string oversize = frame + std::string(1400, 'x');
  EXPECT_EQ(ExpectDropped(oversize, DropReason::kMalformed),
            absl::StrCat("frame of ", oversize.size(), " bytes is larger than 1400"));
  ExpectAccepted(frame);
}

TEST_F(PacketCheckTest, HeartbeatWithoutNodeOrWithSeqZeroIsMalformed) {
  EXPECT_EQ(ExpectDropped(Frame("", 1, 1), DropReason::kMalformed),
            "heartbeat without a node name");
  EXPECT_EQ(ExpectDropped(Frame("node02", 1, 0), DropReason::kMalformed),
            "node \"node02\" sent seq 0; sequence numbers start at 1");
}

TEST_F(PacketCheckTest, DecodedHeartbeatEqualsTheSentOne) {
  wire::v1::Heartbeat sent;
  sent.set_cluster_name("mor");
  sent.set_node("node02");
  sent.set_generation(3);
  sent.set_seq(99);
  sent.set_standby(true);
  sent.set_connectivity_score(4);
  auto* g = sent.add_groups();
  g->set_name("asterisk");
  g->set_phase(wire::v1::GroupClaim::PHASE_STARTING);
  std::string frame;
  ASSERT_TRUE(EncodeFrame(sent, kKey1, &frame).ok());
  ASSERT_TRUE(Check(frame).ok);
  EXPECT_TRUE(MessageDifferencer::Equals(sent, hb_)) << hb_.DebugString();
}

TEST_F(PacketCheckTest, TrackedNodesAreBoundedAndTheLeastRecentGoesFirst) {
  ExpectAccepted(Frame("first", 1, 1));
  ExpectAccepted(Frame("second", 1, 1));
  for (size_t i = 0; i < PacketCheck::kMaxTrackedNodes - 2; ++i) {
    ExpectAccepted(Frame(absl::StrCat("n", i), 1, 1));
  }
  EXPECT_EQ(check_.TrackedNodesForTest(), PacketCheck::kMaxTrackedNodes);
  ExpectAccepted(Frame("first", 1, 2));  // "second" is now the least recent
  ExpectAccepted(Frame("newcomer", 1, 1));
  EXPECT_EQ(check_.TrackedNodesForTest(), PacketCheck::kMaxTrackedNodes);
  ExpectDropped(Frame("first", 1, 1), DropReason::kReplay);
  ExpectAccepted(Frame("second", 1, 1));  // forgotten, so its old seq is new again
}

TEST(PacketCheckDeathTest, LinkOutOfRangeAborts) {
  Keyring ring({kKey1}, 1);
  PacketCheck check("mor", "node01", &ring);
  wire::v1::Heartbeat hb;
  EXPECT_DEATH(check.Check("", 64, &hb), "link 64 is not 0 to 63");
  EXPECT_DEATH(check.Check("", -1, &hb), "link -1 is not 0 to 63");
}

}  // namespace
}  // namespace hacluster::wire
