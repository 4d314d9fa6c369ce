#include "agent/hb3wire/codec.h"

#include <fstream>
#include <sstream>
#include <string>

#include "agent/wire/keyring.h"
#include "gtest/gtest.h"

namespace hacluster::hb3wire {
namespace {

using spec::v1::AUTH_METHOD_CRC;
using spec::v1::AUTH_METHOD_MD5;
using wire::DropReason;

// Datagrams the Debian heartbeat 3.0.6 daemon sent (node "nodea", authkeys
// "2 md5 s3cretKey", or "1 crc"), captured with tcpdump.
std::string Captured(const std::string& name) {
  std::ifstream in("agent/hb3wire/testdata/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

wire::Keyring Md5Ring(const std::string& secret = "s3cretKey") {
  return wire::Keyring({{2, AUTH_METHOD_MD5, secret}}, 2);
}

TEST(CodecTest, AcceptsWhatTheRealDaemonSent) {
  wire::Keyring ring = Md5Ring();
  Codec codec({"nodeb", std::string(16, 'b'), 5}, {"nodea", "nodeb"}, &ring);
  for (const char* name : {"md5_status.bin", "md5_resource.bin", "md5_ask_resources.bin",
                           "md5_NS_ackmsg.bin"}) {
    Received r;
    wire::PacketCheck::Result res = codec.Check(Captured(name), 0, &r);
    EXPECT_TRUE(res.ok) << name << ": " << res.detail;
    EXPECT_EQ(r.node, "nodea") << name;
    EXPECT_EQ(r.generation, 0x6b1561d2u) << name;
  }
  wire::Keyring crc({{1, AUTH_METHOD_CRC, ""}}, 1);
  Codec crc_codec({"nodeb", std::string(16, 'b'), 5}, {"nodea", "nodeb"}, &crc);
  Received r;
  wire::PacketCheck::Result res = crc_codec.Check(Captured("crc_status.bin"), 0, &r);
  EXPECT_TRUE(res.ok) << res.detail;
  EXPECT_EQ(r.type, "status");
  EXPECT_EQ(r.message.GetOr("st"), "init");
}

TEST(CodecTest, ReproducesTheDaemonsStatusMessageByteForByte) {
  const std::string real = Captured("md5_status.bin");
  absl::StatusOr<ParsedFrame> f = ParseFrame(real);
  ASSERT_TRUE(f.ok()) << f.status();
  const HaMessage& m = f->message;
  std::string uuid;
  for (const HaField& field : m.fields()) {
    if (field.name == "srcuuid") uuid = field.value;
  }
  ASSERT_EQ(uuid.size(), 16u);
  uint64_t hg = 0, seq = 0, ts = 0;
  ASSERT_TRUE(ParseHex(m.GetOr("hg"), &hg));
  ASSERT_TRUE(ParseHex(m.GetOr("seq"), &seq));
  ASSERT_TRUE(ParseHex(m.GetOr("ts"), &ts));
  wire::Keyring ring = Md5Ring();
  Codec codec({"nodea", uuid, hg}, {"nodea", "nodeb"}, &ring);
  codec.set_last_seq_for_test(seq - 1);
  HaMessage body;
  for (const char* name : {"t", "st", "dt", "protocol"}) body.Add(name, m.GetOr(name));
  absl::StatusOr<std::string> mine =
      codec.Encode(body, true, absl::FromUnixSeconds(static_cast<int64_t>(ts)), m.GetOr("ld"));
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(*mine, real);
  EXPECT_EQ(codec.last_seq(), seq);
  ASSERT_EQ(codec.History(seq, seq).size(), 1u);
  EXPECT_EQ(codec.History(seq, seq)[0], real);
}

TEST(CodecTest, DropsForgedReplayedAndWrongKeyMessages) {
  const std::string real = Captured("md5_status.bin");
  wire::Keyring ring = Md5Ring();
  Codec codec({"nodeb", std::string(16, 'b'), 5}, {"nodea", "nodeb"}, &ring);
  Received r;
  ASSERT_TRUE(codec.Check(real, 0, &r).ok);
  // The same datagram again: a replay.
  wire::PacketCheck::Result res = codec.Check(real, 0, &r);
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.reason, DropReason::kReplay) << res.detail;
  // Another secret.
  wire::Keyring wrong = Md5Ring("guess");
  Codec other({"nodeb", std::string(16, 'b'), 5}, {"nodea", "nodeb"}, &wrong);
  res = other.Check(real, 0, &r);
  EXPECT_EQ(res.reason, DropReason::kBadMac);
  // A key index the keyring lacks.
  wire::Keyring three({{3, AUTH_METHOD_MD5, "s3cretKey"}}, 3);
  Codec third({"nodeb", std::string(16, 'b'), 5}, {"nodea", "nodeb"}, &three);
  res = third.Check(real, 0, &r);
  EXPECT_EQ(res.reason, DropReason::kUnknownKey);
  // One byte changed (t=status -> t=statuz), with the old tokens.
  std::string forged = real;
  const size_t at = forged.find("t=status");
  ASSERT_NE(at, std::string::npos);
  forged[at + 7] = 'z';
  Codec fresh({"nodeb", std::string(16, 'b'), 5}, {"nodea", "nodeb"}, &ring);
  res = fresh.Check(forged, 0, &r);
  EXPECT_EQ(res.reason, DropReason::kBadMac);
  // A node that is not in the spec, properly signed.
  Codec stranger({"nodex", std::string(16, 'x'), 1}, {"nodex"}, &ring);
  HaMessage body;
  body.Add("t", "status");
  absl::StatusOr<std::string> d = stranger.Encode(body, true, absl::UnixEpoch(), "0.00");
  ASSERT_TRUE(d.ok());
  res = fresh.Check(*d, 0, &r);
  EXPECT_EQ(res.reason, DropReason::kWrongCluster);
  // Garbage.
  res = fresh.Check("###\nnot netstrings", 0, &r);
  EXPECT_EQ(res.reason, DropReason::kMalformed);
}

TEST(CodecTest, OwnMessagesAreOwnAndAGenerationGoesForwardOnly) {
  wire::Keyring ring = Md5Ring();
  Codec a({"nodea", std::string(16, 'a'), 100}, {"nodea", "nodeb"}, &ring);
  Codec b({"nodeb", std::string(16, 'b'), 7}, {"nodea", "nodeb"}, &ring);
  HaMessage body;
  body.Add("t", "status");
  absl::StatusOr<std::string> d1 = a.Encode(body, true, absl::UnixEpoch(), "0.00");
  ASSERT_TRUE(d1.ok());
  Received r;
  wire::PacketCheck::Result res = a.Check(*d1, 0, &r);
  EXPECT_TRUE(res.ok && res.own);
  EXPECT_TRUE(b.Check(*d1, 0, &r).ok);
  EXPECT_EQ(r.seq, 1u);
  // nodea restarts with a lower generation: its messages are old.
  Codec a_old({"nodea", std::string(16, 'a'), 99}, {"nodea", "nodeb"}, &ring);
  absl::StatusOr<std::string> d2 = a_old.Encode(body, true, absl::UnixEpoch(), "0.00");
  ASSERT_TRUE(d2.ok());
  res = b.Check(*d2, 0, &r);
  EXPECT_EQ(res.reason, DropReason::kReplay) << res.detail;
  // Acknowledgements carry no seq and pass.
  HaMessage ack;
  ack.Add("t", "NS_ackmsg");
  absl::StatusOr<std::string> d3 = a.Encode(ack, false, absl::UnixEpoch(), "");
  ASSERT_TRUE(d3.ok());
  EXPECT_EQ(a.last_seq(), 1u);
  EXPECT_TRUE(b.Check(*d3, 0, &r).ok);
  EXPECT_EQ(r.seq, 0u);
}

}  // namespace
}  // namespace hacluster::hb3wire
