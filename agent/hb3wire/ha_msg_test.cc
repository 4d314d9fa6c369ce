#include "agent/hb3wire/ha_msg.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace hacluster::hb3wire {
namespace {

TEST(HaMsgTest, SerializesFieldsAsNetstrings) {
  HaMessage m;
  m.Add("t", "status");
  m.Add("src", "node01");
  EXPECT_EQ(m.Serialize(), "###\n11:(0)t=status,13:(0)src=node01,%%%\n");
}

TEST(HaMsgTest, RoundTripsEveryFieldAndTheAuthNetstring) {
  HaMessage m;
  m.Add("t", "status");
  m.AddTyped(FieldType::kBinary, "srcuuid", std::string("\x01\x00\xff,=\n", 6));
  m.Add("seq", "1a");
  const std::string body = m.Serialize();
  const std::string datagram = body + "8:1 abcdef,";
  absl::StatusOr<ParsedFrame> f = ParseFrame(datagram);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->signed_part, body);
  ASSERT_TRUE(f->auth_index.has_value());
  EXPECT_EQ(*f->auth_index, 1u);
  EXPECT_EQ(f->auth_token, "abcdef");
  ASSERT_EQ(f->message.fields().size(), 3u);
  EXPECT_EQ(f->message.fields()[1].type, FieldType::kBinary);
  EXPECT_EQ(f->message.fields()[1].value, std::string("\x01\x00\xff,=\n", 6));
  EXPECT_EQ(f->message.GetOr("seq"), "1a");
  // A binary field is not a string field.
  EXPECT_FALSE(f->message.Get("srcuuid").has_value());
  EXPECT_EQ(f->message.Serialize(), body);
}

TEST(HaMsgTest, AcceptsOneTrailingNulAndNoAuth) {
  HaMessage m;
  m.Add("t", "status");
  const std::string body = m.Serialize();
  EXPECT_TRUE(ParseFrame(body + "5:2 a1f," + std::string(1, '\0')).ok());
  absl::StatusOr<ParsedFrame> f = ParseFrame(body);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->auth_index.has_value());
}

TEST(HaMsgTest, NestedStructsParse) {
  HaMessage child;
  child.Add("a", "b");
  HaMessage m;
  m.AddTyped(FieldType::kStruct, "child", child.Serialize());
  absl::StatusOr<ParsedFrame> f = ParseFrame(m.Serialize());
  ASSERT_TRUE(f.ok()) << f.status();
  HaMessage back;
  ASSERT_TRUE(ParseNested(f->message.fields()[0].value, 1, &back).ok());
  EXPECT_EQ(back.GetOr("a"), "b");
}

TEST(HaMsgTest, RefusesMalformedFrames) {
  const std::string cases[] = {
      "",
      ">>>\nt=status\n<<<\n",                      // the classic text form
      "###\n11:(0)t=status,",                      // no end marker
      "###\n12:(0)t=status,%%%\n",                 // length past the comma
      "###\n10:(0)t=status,%%%\n",                 // length short of it
      "###\n11:(9)t=status,%%%\n",                 // unknown type
      "###\n9:(0)status,%%%\n",                    // no '='
      "###\n10:(0)=status,%%%\n",                  // no name
      "###\n011:(0)t=status,%%%\n",                // leading zero
      "###\n11:(0)t=status,%%%\n4:1 a,",           // auth length past the comma
      "###\n11:(0)t=status,%%%\n5:1 abc,trailing", // bytes after auth
      "###\n11:(0)t=status,%%%\n4:1xab,",          // auth without a space
      "###\n99999999:(0)t=x,%%%\n",                // absurd length
      "###\n20:(2)c=###\n3:(0)x,%%%\n,%%%\n",      // broken nested message
  };
  for (const std::string& c : cases) {
    EXPECT_FALSE(ParseFrame(c).ok()) << "accepted: " << absl::CHexEscape(c);
  }
}

TEST(HaMsgTest, RefusesTooDeepNesting) {
  HaMessage m;
  m.Add("x", "y");
  for (int i = 0; i < kMaxDepth + 1; ++i) {
    HaMessage outer;
    outer.AddTyped(FieldType::kStruct, "c", m.Serialize());
    m = outer;
  }
  absl::StatusOr<ParsedFrame> f = ParseFrame(m.Serialize());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("too deep"), std::string::npos) << f.status();
}

TEST(HaMsgTest, SetReplacesAndDebugStringEscapes) {
  HaMessage m;
  m.Add("t", "status");
  m.Set("t", "x\ny");
  m.Set("new", "1");
  EXPECT_EQ(m.DebugString(), "t=x\\x0ay new=1");
}

}  // namespace
}  // namespace hacluster::hb3wire
