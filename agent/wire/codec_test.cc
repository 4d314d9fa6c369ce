#include "agent/wire/codec.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/wire.pb.h"

namespace hacluster::wire {
namespace {

using google::protobuf::util::MessageDifferencer;
using spec::v1::AuthMethod;

wire::v1::Heartbeat SampleHeartbeat() {
  wire::v1::Heartbeat hb;
  hb.set_cluster_name("mor");
  hb.set_node("node01");
  hb.set_generation(7);
  hb.set_seq(12345);
  hb.set_config_version(3);
  hb.set_standby(true);
  hb.set_connectivity_score(2);
  auto* g = hb.add_groups();
  g->set_name("vip");
  g->set_phase(wire::v1::GroupClaim::PHASE_HELD);
  return hb;
}

// A frame with any payload bytes, correctly signed.
std::string SignedFrame(uint8_t id, AuthMethod method, const std::string& secret,
                        const std::string& payload) {
  std::string frame = absl::StrCat("HAW1", std::string(1, static_cast<char>(id)),
                                   std::string(1, static_cast<char>(method)));
  frame += static_cast<char>(payload.size() >> 8);
  frame += static_cast<char>(payload.size() & 0xFF);
  frame += payload;
  absl::StatusOr<Mac> mac = Mac::Create(method, secret);
  EXPECT_TRUE(mac.ok());
  uint8_t out[kMaxMacSize];
  mac->Compute(frame, out);
  frame.append(reinterpret_cast<const char*>(out), mac->size());
  return frame;
}

class CodecTest : public ::testing::Test {
 protected:
  CodecTest()
      : ring_({{1, spec::v1::AUTH_METHOD_SHA256, "s3cret"},
               {2, spec::v1::AUTH_METHOD_SHA1, "legacy-sha1"},
               {3, spec::v1::AUTH_METHOD_MD5, "legacy-md5"},
               {4, spec::v1::AUTH_METHOD_CRC, ""}},
              1),
        codec_(&ring_) {}

  // Decodes `frame`, expecting a drop for `reason`; returns its detail.
  std::string ExpectDrop(absl::string_view frame, DropReason reason) {
    wire::v1::Heartbeat hb;
    uint32_t key_id = 99;
    Drop drop;
    EXPECT_FALSE(codec_.Decode(frame, &hb, &key_id, &drop));
    EXPECT_EQ(DropReasonName(drop.reason), DropReasonName(reason)) << drop.detail;
    return drop.detail;
  }

  Keyring ring_;
  FrameCodec codec_;
};

TEST_F(CodecTest, EveryMethodRoundTrips) {
  const wire::v1::Heartbeat hb = SampleHeartbeat();
  for (uint32_t id : {1u, 2u, 3u, 4u}) {
    SCOPED_TRACE(id);
    std::string frame;
    ASSERT_TRUE(EncodeFrame(hb, *ring_.Find(id), &frame).ok());
    wire::v1::Heartbeat decoded;
    uint32_t key_id = 0;
    Drop drop;
    ASSERT_TRUE(codec_.Decode(frame, &decoded, &key_id, &drop)) << drop.detail;
    EXPECT_EQ(key_id, id);
    EXPECT_TRUE(MessageDifferencer::Equals(hb, decoded)) << decoded.DebugString();
    // encode -> decode -> encode gives the same bytes.
    std::string again;
    ASSERT_TRUE(EncodeFrame(decoded, *ring_.Find(id), &again).ok());
    EXPECT_EQ(again, frame);
  }
}

TEST_F(CodecTest, FrameFollowsTheDocumentedLayout) {
  const wire::v1::Heartbeat hb = SampleHeartbeat();
  const std::string payload = hb.SerializeAsString();
  struct Case {
    uint32_t id;
    size_t mac_size;
  };
  for (Case c : {Case{1, 32}, Case{2, 20}, Case{3, 16}, Case{4, 4}}) {
    SCOPED_TRACE(c.id);
    std::string frame;
    ASSERT_TRUE(EncodeFrame(hb, *ring_.Find(c.id), &frame).ok());
    ASSERT_EQ(frame.size(), 8 + payload.size() + c.mac_size);
    EXPECT_EQ(frame.substr(0, 4), "HAW1");
    EXPECT_EQ(static_cast<uint8_t>(frame[4]), c.id);
    EXPECT_EQ(static_cast<uint8_t>(frame[5]), static_cast<uint8_t>(ring_.Find(c.id)->method));
    EXPECT_EQ(static_cast<uint8_t>(frame[6]), payload.size() >> 8);
    EXPECT_EQ(static_cast<uint8_t>(frame[7]), payload.size() & 0xFF);
    EXPECT_EQ(frame.substr(8, payload.size()), payload);
  }
  std::string crc_frame;
  ASSERT_TRUE(EncodeFrame(hb, *ring_.Find(4), &crc_frame).ok());
  uint32_t crc = Crc32(absl::string_view(crc_frame).substr(0, 8 + payload.size()));
  std::string be = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16),
                    static_cast<char>(crc >> 8), static_cast<char>(crc)};
  EXPECT_EQ(crc_frame.substr(8 + payload.size()), be);
}

TEST_F(CodecTest, CodecEncodesWithTheActiveKeyAsEncodeFrameDoes) {
  const wire::v1::Heartbeat hb = SampleHeartbeat();
  std::string from_codec;
  std::string from_function;
  ASSERT_TRUE(codec_.Encode(hb, &from_codec).ok());
  ASSERT_TRUE(EncodeFrame(hb, ring_.active(), &from_function).ok());
  EXPECT_EQ(from_codec, from_function);
  EXPECT_EQ(from_codec[4], 1);
}

TEST_F(CodecTest, EncodeReplacesTheOutputAndKeepsItsBuffer) {
  std::string out(1000, 'x');
  out.reserve(1400);
  const char* buffer = out.data();
  ASSERT_TRUE(codec_.Encode(SampleHeartbeat(), &out).ok());
  EXPECT_EQ(out.data(), buffer);
  EXPECT_EQ(out.substr(0, 4), "HAW1");
  EXPECT_LT(out.size(), 100u);
}

TEST_F(CodecTest, TamperedPayloadByteIsABadMac) {
  std::string frame;
  ASSERT_TRUE(codec_.Encode(SampleHeartbeat(), &frame).ok());
  for (size_t i = 8; i < frame.size(); ++i) {
    std::string bad = frame;
    bad[i] ^= 0x01;
    EXPECT_EQ(ExpectDrop(bad, DropReason::kBadMac), "key 1") << "byte " << i;
  }
}

TEST_F(CodecTest, TamperedCrcFrameIsABadMac) {
  std::string frame;
  ASSERT_TRUE(EncodeFrame(SampleHeartbeat(), *ring_.Find(4), &frame).ok());
  frame[10] ^= 0x40;
  EXPECT_EQ(ExpectDrop(frame, DropReason::kBadMac), "key 4");
}

TEST_F(CodecTest, WrongSecretIsABadMac) {
  std::string frame;
  ASSERT_TRUE(EncodeFrame(SampleHeartbeat(), Key{1, spec::v1::AUTH_METHOD_SHA256, "guess"},
                          &frame)
                  .ok());
  EXPECT_EQ(ExpectDrop(frame, DropReason::kBadMac), "key 1");
}

TEST_F(CodecTest, UnknownKeyIdIsRefused) {
  std::string frame;
  ASSERT_TRUE(EncodeFrame(SampleHeartbeat(), Key{9, spec::v1::AUTH_METHOD_SHA256, "s3cret"},
                          &frame)
                  .ok());
  wire::v1::Heartbeat hb;
  uint32_t key_id = 0;
  Drop drop;
  EXPECT_FALSE(codec_.Decode(frame, &hb, &key_id, &drop));
  EXPECT_EQ(drop.reason, DropReason::kUnknownKey);
  EXPECT_EQ(drop.detail, "key 9");
  EXPECT_EQ(key_id, 9u);
}

TEST_F(CodecTest, MethodOtherThanTheKeysIsRefused) {
  // Key 1 is sha256: a crc frame claiming key 1 must not be accepted, or
  // anyone could forge heartbeats by downgrading.
  std::string frame;
  ASSERT_TRUE(EncodeFrame(SampleHeartbeat(), Key{1, spec::v1::AUTH_METHOD_CRC, ""}, &frame).ok());
  EXPECT_EQ(ExpectDrop(frame, DropReason::kWrongMethod), "key 1 is sha256, frame says crc");
}

TEST_F(CodecTest, CrcFrameIsRefusedWhenTheKeyringHasNoCrcKey) {
  Keyring hmac_only({{1, spec::v1::AUTH_METHOD_SHA256, "s3cret"}}, 1);
  FrameCodec codec(&hmac_only);
  for (uint32_t id : {1u, 4u}) {
    std::string frame;
    ASSERT_TRUE(
        EncodeFrame(SampleHeartbeat(), Key{id, spec::v1::AUTH_METHOD_CRC, ""}, &frame).ok());
    wire::v1::Heartbeat hb;
    uint32_t key_id = 0;
    Drop drop;
    EXPECT_FALSE(codec.Decode(frame, &hb, &key_id, &drop));
    EXPECT_EQ(drop.reason, id == 1 ? DropReason::kWrongMethod : DropReason::kUnknownKey);
  }
}

TEST_F(CodecTest, EveryTruncationIsMalformed) {
  std::string frame;
  ASSERT_TRUE(codec_.Encode(SampleHeartbeat(), &frame).ok());
  for (size_t n = 0; n < frame.size(); ++n) {
    ExpectDrop(absl::string_view(frame).substr(0, n), DropReason::kMalformed);
  }
  EXPECT_EQ(ExpectDrop("HAW", DropReason::kMalformed),
            "frame of 3 bytes is shorter than its 8-byte header");
  EXPECT_EQ(ExpectDrop(absl::string_view(frame).substr(0, frame.size() - 1),
                       DropReason::kMalformed),
            absl::StrCat("frame of ", frame.size() - 1, " bytes does not match its header (",
                         frame.size() - 8 - 32, "-byte payload, 32-byte sha256 MAC)"));
}

TEST_F(CodecTest, TrailingBytesAreMalformed) {
  std::string frame;
  ASSERT_TRUE(codec_.Encode(SampleHeartbeat(), &frame).ok());
  ExpectDrop(frame + "x", DropReason::kMalformed);
}

TEST_F(CodecTest, GarbageHeaderFieldsAreMalformed) {
  std::string frame;
  ASSERT_TRUE(codec_.Encode(SampleHeartbeat(), &frame).ok());
  std::string bad_magic = frame;
  bad_magic[3] = '2';
  EXPECT_EQ(ExpectDrop(bad_magic, DropReason::kMalformed), "no HAW1 magic");
  std::string id0 = frame;
  id0[4] = 0;
  EXPECT_EQ(ExpectDrop(id0, DropReason::kMalformed), "key id 0 is not 1 to 15");
  std::string id16 = frame;
  id16[4] = 16;
  EXPECT_EQ(ExpectDrop(id16, DropReason::kMalformed), "key id 16 is not 1 to 15");
  std::string method0 = frame;
  method0[5] = 0;
  EXPECT_EQ(ExpectDrop(method0, DropReason::kMalformed), "method 0 is not 1 to 4");
  std::string method5 = frame;
  method5[5] = 5;
  EXPECT_EQ(ExpectDrop(method5, DropReason::kMalformed), "method 5 is not 1 to 4");
  std::string length = frame;
  length[6] = 0x7F;
  ExpectDrop(length, DropReason::kMalformed);
  ExpectDrop(std::string(64, '\0'), DropReason::kMalformed);
  ExpectDrop(std::string(64, '\xff'), DropReason::kMalformed);
}

TEST_F(CodecTest, OversizeFrameIsMalformed) {
  std::string payload(kMaxFrameSize, 'p');
  std::string frame = SignedFrame(4, spec::v1::AUTH_METHOD_CRC, "", payload);
  EXPECT_EQ(ExpectDrop(frame, DropReason::kMalformed),
            absl::StrCat("frame of ", frame.size(), " bytes is larger than 1400"));
  ExpectDrop(std::string(70000, 'H'), DropReason::kMalformed);
}

TEST_F(CodecTest, SignedGarbagePayloadIsMalformed) {
  // A field with wire type 7 does not parse, whatever the MAC says.
  std::string frame = SignedFrame(1, spec::v1::AUTH_METHOD_SHA256, "s3cret", "\x0f\x01garbage");
  EXPECT_EQ(ExpectDrop(frame, DropReason::kMalformed), "key 1: payload is not a Heartbeat");
}

TEST_F(CodecTest, EmptyPayloadIsAnEmptyHeartbeat) {
  std::string frame = SignedFrame(1, spec::v1::AUTH_METHOD_SHA256, "s3cret", "");
  wire::v1::Heartbeat hb = SampleHeartbeat();
  uint32_t key_id = 0;
  Drop drop;
  ASSERT_TRUE(codec_.Decode(frame, &hb, &key_id, &drop)) << drop.detail;
  EXPECT_EQ(hb.ByteSizeLong(), 0u);
}

TEST_F(CodecTest, HeartbeatTooLargeForAFrameIsNotEncoded) {
  wire::v1::Heartbeat hb = SampleHeartbeat();
  for (int i = 0; i < 100; ++i) hb.add_groups()->set_name(std::string(20, 'g'));
  std::string out;
  absl::Status s = codec_.Encode(hb, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), absl::StrCat("heartbeat of ", hb.ByteSizeLong(),
                                      " bytes does not fit a 1400-byte frame (at most 1360 "
                                      "with sha256)"));
}

TEST_F(CodecTest, LargestHeartbeatThatFitsIsEncodedAndDecoded) {
  wire::v1::Heartbeat hb;
  hb.set_cluster_name(std::string(1400 - 8 - 32 - 3, 'c'));  // tag + 2-byte length
  std::string out;
  ASSERT_TRUE(codec_.Encode(hb, &out).ok());
  EXPECT_EQ(out.size(), kMaxFrameSize);
  wire::v1::Heartbeat decoded;
  uint32_t key_id = 0;
  Drop drop;
  EXPECT_TRUE(codec_.Decode(out, &decoded, &key_id, &drop)) << drop.detail;
  hb.set_cluster_name(hb.cluster_name() + "c");
  EXPECT_EQ(codec_.Encode(hb, &out).code(), absl::StatusCode::kOutOfRange);
}

TEST_F(CodecTest, KeyIdOutsideOneToFifteenIsNotEncoded) {
  std::string out;
  absl::Status s = EncodeFrame(SampleHeartbeat(), Key{16, spec::v1::AUTH_METHOD_SHA256, "k"}, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "key id 16 cannot be sent: key ids are 1 to 15");
}

TEST_F(CodecTest, NewKeyringTakesEffect) {
  std::string frame;
  ASSERT_TRUE(EncodeFrame(SampleHeartbeat(), Key{5, spec::v1::AUTH_METHOD_SHA256, "next"},
                          &frame)
                  .ok());
  ExpectDrop(frame, DropReason::kUnknownKey);
  Keyring next({{5, spec::v1::AUTH_METHOD_SHA256, "next"}}, 5);
  codec_.SetKeyring(&next);
  wire::v1::Heartbeat hb;
  uint32_t key_id = 0;
  Drop drop;
  EXPECT_TRUE(codec_.Decode(frame, &hb, &key_id, &drop)) << drop.detail;
  codec_.SetKeyring(&ring_);
}

TEST(DropReasonTest, NamesAreStable) {
  EXPECT_EQ(DropReasonName(DropReason::kMalformed), "malformed");
  EXPECT_EQ(DropReasonName(DropReason::kUnknownKey), "unknown-key");
  EXPECT_EQ(DropReasonName(DropReason::kBadMac), "bad-mac");
  EXPECT_EQ(DropReasonName(DropReason::kWrongMethod), "wrong-method");
  EXPECT_EQ(DropReasonName(DropReason::kWrongCluster), "wrong-cluster");
  EXPECT_EQ(DropReasonName(DropReason::kReplay), "replay");
}

}  // namespace
}  // namespace hacluster::wire
