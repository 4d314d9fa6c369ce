#include "agent/media/cobs.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hacluster::media {
namespace {

using std::string_literals::operator""s;

std::string Encode(absl::string_view frame) {
  std::string out;
  CobsEncode(frame, &out);
  return out;
}

// Encoded frame with its delimiter, as a sender puts it on the line.
std::string OnLine(absl::string_view frame) { return Encode(frame) + '\0'; }

std::vector<std::string> FeedAll(CobsFrameReader& reader, absl::string_view bytes) {
  std::vector<std::string> frames;
  reader.Feed(bytes, [&](absl::string_view f) { frames.emplace_back(f); });
  return frames;
}

TEST(CobsEncodeTest, KnownVectors) {
  EXPECT_EQ(Encode(""), "\x01"s);
  EXPECT_EQ(Encode("\0"s), "\x01\x01"s);
  EXPECT_EQ(Encode("\0\0"s), "\x01\x01\x01"s);
  EXPECT_EQ(Encode("\x11\x22\0\x33"s), "\x03\x11\x22\x02\x33"s);
  EXPECT_EQ(Encode("\x11\x22\x33\x44"s), "\x05\x11\x22\x33\x44"s);
  EXPECT_EQ(Encode("\x11\0\0\0"s), "\x02\x11\x01\x01\x01"s);
}

TEST(CobsEncodeTest, LongRunWithoutZeroSplitsEvery254Bytes) {
  std::string frame(254, 'x');
  std::string encoded = Encode(frame);
  ASSERT_EQ(encoded.size(), 256u);
  EXPECT_EQ(static_cast<unsigned char>(encoded[0]), 0xFF);
  EXPECT_EQ(encoded.substr(1, 254), frame);
  EXPECT_EQ(encoded[255], '\x01');

  std::string longer(255, 'y');
  encoded = Encode(longer);
  ASSERT_EQ(encoded.size(), 257u);
  EXPECT_EQ(static_cast<unsigned char>(encoded[0]), 0xFF);
  EXPECT_EQ(encoded[255], '\x02');
  EXPECT_EQ(encoded[256], 'y');
}

TEST(CobsEncodeTest, EncodingNeverHoldsZeroAndStaysWithinBound) {
  for (size_t size : {0u, 1u, 253u, 254u, 255u, 508u, 509u, 1000u, 4000u}) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      std::string frame(size, '\0');
      for (size_t i = 0; i < size; ++i) {
        frame[i] = pattern == 0 ? '\0' : pattern == 1 ? 'a' : static_cast<char>(i * 7 % 256);
      }
      std::string encoded = Encode(frame);
      EXPECT_EQ(encoded.find('\0'), std::string::npos) << size << "/" << pattern;
      EXPECT_LE(encoded.size(), CobsMaxEncodedSize(size)) << size << "/" << pattern;
    }
  }
}

TEST(CobsEncodeTest, AppendsToWhatIsAlreadyThere) {
  std::string out = "head";
  CobsEncode("\x05"s, &out);
  EXPECT_EQ(out, "head\x02\x05"s);
}

TEST(CobsDecodeTest, RoundTripsEveryShape) {
  std::vector<std::string> frames = {""s, "\0"s, "\0\0\0"s, "abc"s, "a\0b\0"s,
                                     std::string(254, 'z'), std::string(255, 'z'),
                                     std::string(254, 'z') + '\0', std::string(600, '\0')};
  std::string mixed;
  for (int i = 0; i < 3000; ++i) mixed.push_back(static_cast<char>(i % 251));
  frames.push_back(mixed);
  for (const std::string& frame : frames) {
    std::string decoded = "stale";
    ASSERT_TRUE(CobsDecode(Encode(frame), &decoded).ok()) << frame.size();
    EXPECT_EQ(decoded, frame);
  }
}

TEST(CobsDecodeTest, RejectsEmptyInput) {
  std::string out;
  absl::Status s = CobsDecode("", &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "empty COBS frame");
}

TEST(CobsDecodeTest, RejectsCodeRunningPastTheEnd) {
  std::string out;
  absl::Status s = CobsDecode("\x05\x11\x22"s, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "COBS code byte runs past the end of the frame");
}

TEST(CobsDecodeTest, RejectsZeroByte) {
  std::string out;
  EXPECT_EQ(CobsDecode("\x03\x11\0"s, &out).message(), "COBS frame holds a 0x00 byte");
  EXPECT_EQ(CobsDecode("\x02\x11\0"s, &out).message(), "COBS frame holds a 0x00 byte");
}

TEST(CobsFrameReaderTest, SeveralFramesInOneRead) {
  CobsFrameReader reader(4096);
  std::string line = OnLine("one") + OnLine("t\0o"s) + OnLine("three");
  EXPECT_EQ(FeedAll(reader, line), (std::vector<std::string>{"one", "t\0o"s, "three"}));
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.frames_dropped(), 0u);
}

TEST(CobsFrameReaderTest, FrameSplitAcrossReadsIsDeliveredOnceComplete) {
  CobsFrameReader reader(4096);
  std::string frame;
  for (int i = 0; i < 700; ++i) frame.push_back(static_cast<char>(i % 13));
  std::string line = OnLine(frame);
  std::vector<std::string> got;
  for (size_t i = 0; i < line.size(); i += 7) {
    auto part = FeedAll(reader, absl::string_view(line).substr(i, 7));
    if (i + 7 < line.size()) {
      EXPECT_TRUE(part.empty()) << "delivered early at " << i;
      EXPECT_EQ(reader.buffered(), i + 7);
    }
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, std::vector<std::string>{frame});
}

TEST(CobsFrameReaderTest, ByteByByteFeedDeliversEveryFrame) {
  CobsFrameReader reader(4096);
  std::string line = OnLine("alpha") + OnLine("beta");
  std::vector<std::string> got;
  for (char c : line) {
    auto part = FeedAll(reader, absl::string_view(&c, 1));
    got.insert(got.end(), part.begin(), part.end());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"alpha", "beta"}));
}

TEST(CobsFrameReaderTest, LeadingAndRepeatedDelimitersAreIgnored) {
  CobsFrameReader reader(4096);
  std::string line = "\0\0\0"s + OnLine("x") + "\0"s + OnLine("y");
  EXPECT_EQ(FeedAll(reader, line), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(reader.frames_dropped(), 0u);
}

TEST(CobsFrameReaderTest, ResynchronisesAfterGarbage) {
  CobsFrameReader reader(4096);
  // Garbage that is not valid COBS (its first code byte runs past the end),
  // ended by a delimiter, then good frames.
  std::string line = "\x40garbage"s + "\0"s + OnLine("good") + OnLine("also good");
  EXPECT_EQ(FeedAll(reader, line), (std::vector<std::string>{"good", "also good"}));
  EXPECT_EQ(reader.frames_dropped(), 1u);
}

TEST(CobsFrameReaderTest, StartingMidFrameLosesOnlyThatFrame) {
  CobsFrameReader reader(4096);
  std::string first = OnLine(std::string(40, 'a') + "\0"s + std::string(40, 'b'));
  std::string line = first.substr(first.size() / 2) + OnLine("next");
  std::vector<std::string> got = FeedAll(reader, line);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "next");
  // The tail of the first frame is either dropped as malformed or handed on
  // as junk for the packet check to refuse; it never merges with "next".
  EXPECT_LE(got.size(), 2u);
}

TEST(CobsFrameReaderTest, OverlongFrameIsDroppedAndBufferStaysBounded) {
  CobsFrameReader reader(64);
  std::string overlong(200, 'q');  // no delimiter for 200 bytes
  std::vector<std::string> got;
  for (size_t i = 0; i < overlong.size(); i += 50) {
    auto part = FeedAll(reader, absl::string_view(overlong).substr(i, 50));
    got.insert(got.end(), part.begin(), part.end());
    EXPECT_LE(reader.buffered(), 64u);
  }
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(reader.frames_dropped(), 1u);
  // The rest of the overlong frame up to its delimiter is discarded, then
  // reading goes on normally.
  got = FeedAll(reader, "more junk\0"s + OnLine("after"));
  EXPECT_EQ(got, std::vector<std::string>{"after"});
  EXPECT_EQ(reader.frames_dropped(), 1u);
}

TEST(CobsFrameReaderTest, FrameExactlyAtTheBoundIsKept) {
  std::string frame(60, 'k');
  size_t encoded = Encode(frame).size();
  CobsFrameReader reader(encoded);
  EXPECT_EQ(FeedAll(reader, OnLine(frame)), std::vector<std::string>{frame});
  CobsFrameReader smaller(encoded - 1);
  EXPECT_TRUE(FeedAll(smaller, OnLine(frame)).empty());
  EXPECT_EQ(smaller.frames_dropped(), 1u);
}

}  // namespace
}  // namespace hacluster::media
