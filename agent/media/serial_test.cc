// The serial medium over a pty pair. The medium opens the slave side by its
// path, as it would /dev/ttyS0; the test plays the peer on the master side,
// framing with the same COBS codec. A pty is not a UART: termios speeds are
// accepted and stored but do not pace anything.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/media/cobs.h"
#include "agent/media/medium.h"
#include "agent/media/unique_fd.h"
#include "gtest/gtest.h"

namespace hacluster::media {
namespace {

using std::string_literals::operator""s;

spec::v1::ClusterSpec SerialSpec(const std::string& device, uint32_t baud) {
  spec::v1::ClusterSpec spec;
  spec.set_cluster_name("line");
  spec.add_nodes()->set_name("a");
  spec::v1::SerialMedium* s = spec.add_media()->mutable_serial();
  s->set_device(device);
  s->set_baud(baud);
  return spec;
}

std::unique_ptr<Medium> OnlyMedium(const spec::v1::ClusterSpec& spec) {
  auto media = MakeMedia(spec, "a");
  EXPECT_TRUE(media.ok()) << media.status();
  if (!media.ok() || media->size() != 1) return nullptr;
  return std::move(media->front());
}

std::string OnLine(absl::string_view frame) {
  std::string out(1, '\0');
  CobsEncode(frame, &out);
  out.push_back('\0');
  return out;
}

bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

class SerialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int master = -1;
    int slave = -1;
    char name[256];
    ASSERT_EQ(::openpty(&master, &slave, name, nullptr, nullptr), 0) << std::strerror(errno);
    master_.reset(master);
    slave_.reset(slave);
    path_ = name;
    ASSERT_EQ(::fcntl(master_.get(), F_SETFL, O_NONBLOCK), 0);
    medium_ = OnlyMedium(SerialSpec(path_, 115200));
    ASSERT_NE(medium_, nullptr);
    absl::Status s = medium_->Open();
    ASSERT_TRUE(s.ok()) << s;
  }

  // What the peer (master side) reads as frames, until `count` arrived or
  // 2 s passed.
  std::vector<std::string> PeerReads(size_t count) {
    std::vector<std::string> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[1024];
      ssize_t n = ::read(master_.get(), buf, sizeof(buf));
      if (n <= 0) continue;
      peer_reader_.Feed(absl::string_view(buf, static_cast<size_t>(n)),
                        [&](absl::string_view f) { got.emplace_back(f); });
    }
    return got;
  }

  // What the medium delivers, until `count` frames arrived or `wait` passed.
  std::vector<std::string> MediumReceives(size_t count,
                                          std::chrono::milliseconds wait = std::chrono::seconds(2)) {
    std::vector<std::string> got;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
      pollfd p{medium_->fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      absl::Status s = medium_->Receive([&](absl::string_view frame, absl::string_view source) {
        EXPECT_EQ(source, path_);
        got.emplace_back(frame);
      });
      EXPECT_TRUE(s.ok()) << s;
    }
    return got;
  }

  UniqueFd master_;
  UniqueFd slave_;
  std::string path_;
  std::unique_ptr<Medium> medium_;
  CobsFrameReader peer_reader_{4096};
};

TEST_F(SerialTest, LinkNameIsTheDeviceBasename) {
  EXPECT_EQ(medium_->link_name(), path_.substr(path_.rfind('/') + 1));
  EXPECT_EQ(medium_->description(), absl::StrCat("serial ", path_, " 115200 baud"));
}

TEST_F(SerialTest, CannotDateArrivalsSoItIsReadWhenReadable) {
  EXPECT_FALSE(medium_->dates_arrivals());
  absl::StatusOr<bool> r =
      medium_->ReceiveDated([](absl::string_view, absl::string_view, agent::MonoTime) {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(r.status().message(),
            absl::StrCat("media[0] (serial ", path_, " 115200 baud): cannot date arrivals"));
}

TEST_F(SerialTest, LineIsRawAtTheSpecBaudWithoutFlowControl) {
  termios tio;
  ASSERT_EQ(::tcgetattr(slave_.get(), &tio), 0);
  EXPECT_EQ(::cfgetospeed(&tio), B115200);
  EXPECT_EQ(::cfgetispeed(&tio), B115200);
  EXPECT_EQ(tio.c_lflag & (ICANON | ECHO | ISIG), 0u);
  EXPECT_EQ(tio.c_oflag & OPOST, 0u);
  EXPECT_EQ(tio.c_iflag & (IXON | IXOFF | ICRNL), 0u);
  EXPECT_EQ(tio.c_cflag & CRTSCTS, 0u);
  EXPECT_EQ(tio.c_cflag & (CLOCAL | CREAD), static_cast<tcflag_t>(CLOCAL | CREAD));
  EXPECT_NE(::fcntl(medium_->fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(medium_->fd(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(SerialTest, SentFramesReachThePeerIntactEvenWithZerosAndNewlines) {
  std::vector<std::string> frames = {"hello", "a\0b\0\0c"s, "line\r\nend\n", std::string(3000, 'x')};
  for (const std::string& f : frames) {
    absl::Status s = medium_->Send(f);
    ASSERT_TRUE(s.ok()) << s;
  }
  EXPECT_EQ(PeerReads(frames.size()), frames);
}

TEST_F(SerialTest, SeveralFramesInOneWriteAreAllDelivered) {
  ASSERT_TRUE(WriteAll(master_.get(), OnLine("one") + OnLine("two\0"s) + OnLine("three")));
  EXPECT_EQ(MediumReceives(3), (std::vector<std::string>{"one", "two\0"s, "three"}));
}

TEST_F(SerialTest, FrameWrittenInPiecesIsDeliveredOnceWhole) {
  std::string frame;
  for (int i = 0; i < 600; ++i) frame.push_back(static_cast<char>(i % 7));
  std::string line = OnLine(frame);
  size_t half = line.size() / 2;
  ASSERT_TRUE(WriteAll(master_.get(), line.substr(0, half)));
  EXPECT_TRUE(MediumReceives(1, std::chrono::milliseconds(100)).empty());
  ASSERT_TRUE(WriteAll(master_.get(), line.substr(half)));
  EXPECT_EQ(MediumReceives(1), std::vector<std::string>{frame});
}

TEST_F(SerialTest, GarbageAndOverlongRunsAreSkipped) {
  // Line noise, then 5000 bytes without a delimiter, then a good frame.
  std::string noise = "\x7f\x01\x02\x03"s + std::string(5000, 'n');
  ASSERT_TRUE(WriteAll(master_.get(), noise));
  ASSERT_TRUE(WriteAll(master_.get(), OnLine("survivor")));
  EXPECT_EQ(MediumReceives(1), std::vector<std::string>{"survivor"});
}

TEST_F(SerialTest, FrameTooLongForTheLineIsRefused) {
  absl::Status s = medium_->Send(std::string(5000, 'L'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (serial ", path_,
                                      " 115200 baud): frame of 5000 bytes encodes to 5020 bytes, "
                                      "more than the 4096 a serial receiver accepts"));
  // The line is still usable.
  ASSERT_TRUE(medium_->Send("after").ok());
  EXPECT_EQ(PeerReads(1), std::vector<std::string>{"after"});
}

TEST_F(SerialTest, FullLineDropsWholeFramesAndFinishesAPartFrameFirst) {
  // Nobody reads the peer side until the line's buffers fill up.
  std::vector<std::string> accepted;
  int refused = 0;
  for (int k = 0; k < 400 && refused < 3; ++k) {
    std::string frame = absl::StrCat("frame ", k, " ", std::string(3000, 'p'));
    absl::Status s = medium_->Send(frame);
    if (s.ok()) {
      accepted.push_back(frame);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
      ++refused;
    }
  }
  ASSERT_GT(refused, 0) << "the pty never filled up";
  // The peer catches up; the next frame goes out once the line has room,
  // after whatever was left of a frame cut short.
  std::vector<std::string> got;
  bool sent_last = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline &&
         (!sent_last || got.size() < accepted.size() + 1)) {
    char buf[4096];
    ssize_t n = ::read(master_.get(), buf, sizeof(buf));
    if (n > 0) {
      peer_reader_.Feed(absl::string_view(buf, static_cast<size_t>(n)),
                        [&](absl::string_view f) { got.emplace_back(f); });
    } else {
      pollfd p{master_.get(), POLLIN, 0};
      ::poll(&p, 1, 20);
    }
    if (!sent_last && medium_->Send("last").ok()) sent_last = true;
  }
  accepted.push_back("last");
  EXPECT_EQ(got, accepted);
  EXPECT_EQ(peer_reader_.frames_dropped(), 0u);
}

TEST_F(SerialTest, HungUpLineClosesTheMediumInsteadOfStayingReadable) {
  slave_.reset();
  master_.reset();  // the other end goes away: the line is hung up
  pollfd p{medium_->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);
  absl::Status s = medium_->Receive([](absl::string_view, absl::string_view) {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (serial ", path_, " 115200 baud): ", path_,
                                      " hung up (closed; Open() retries)"));
  EXPECT_EQ(medium_->fd(), -1);
  EXPECT_EQ(medium_->Send("x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SerialTest, SecondAgentOnTheSameLineIsRefused) {
  std::unique_ptr<Medium> second = OnlyMedium(SerialSpec(path_, 115200));
  ASSERT_NE(second, nullptr);
  absl::Status s = second->Open();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (serial ", path_, " 115200 baud): ", path_,
                                      " is in use by another process"));
}

TEST(SerialOpenTest, MissingDeviceIsNamedWithTheReason) {
  std::string path = absl::StrCat(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp",
                                  "/no-such-tty");
  auto media = MakeMedia(SerialSpec(path, 0), "a");
  ASSERT_TRUE(media.ok()) << media.status();
  absl::Status s = (*media)[0]->Open();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (serial ", path, " 19200 baud): cannot open ", path,
                                      ": No such file or directory"));
}

TEST(SerialOpenTest, FileThatIsNotATerminalIsRefused) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(tmp ? tmp : "/tmp", "/not-a-tty");
  {
    UniqueFd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600));
    ASSERT_TRUE(f.valid());
  }
  auto media = MakeMedia(SerialSpec(path, 9600), "a");
  ASSERT_TRUE(media.ok()) << media.status();
  absl::Status s = (*media)[0]->Open();
  EXPECT_EQ(s.message(), absl::StrCat("media[0] (serial ", path,
                                      " 9600 baud): cannot read the line settings of ", path,
                                      ": Inappropriate ioctl for device"));
  EXPECT_EQ((*media)[0]->fd(), -1);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace hacluster::media
