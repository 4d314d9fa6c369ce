#include "agent/media/serial_medium.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hacluster::media::internal {
namespace {

// Reads per Receive() call at most, and their size.
constexpr int kMaxReadsPerReceive = 64;
constexpr size_t kReadChunk = 4096;

}  // namespace

std::optional<speed_t> TermiosSpeed(uint32_t baud) {
  switch (baud) {
    case 50: return B50;
    case 75: return B75;
    case 110: return B110;
    case 134: return B134;
    case 150: return B150;
    case 200: return B200;
    case 300: return B300;
    case 600: return B600;
    case 1200: return B1200;
    case 1800: return B1800;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 500000: return B500000;
    case 576000: return B576000;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 1152000: return B1152000;
    case 1500000: return B1500000;
    case 2000000: return B2000000;
    case 2500000: return B2500000;
    case 3000000: return B3000000;
    case 3500000: return B3500000;
    case 4000000: return B4000000;
    default: return std::nullopt;
  }
}

SerialMedium::SerialMedium(int index, std::string link_name, std::string description,
                           std::string device, speed_t speed)
    : Medium(index, std::move(link_name), std::move(description)),
      device_(std::move(device)),
      speed_(speed),
      reader_(kMaxSerialEncodedFrame) {
  out_.reserve(kMaxSerialEncodedFrame + 2);
}

absl::Status SerialMedium::Open() {
  tty_.reset();
  out_.clear();
  out_written_ = 0;
  UniqueFd tty(::open(device_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!tty.valid()) return OsError(errno, absl::StrCat("cannot open ", device_));
  // Two agents on one line would garble each other's frames.
  if (::flock(tty.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat(error_prefix(), ": ", device_, " is in use by another process"));
    }
    return OsError(errno, absl::StrCat("cannot lock ", device_));
  }
  termios tio;
  if (::tcgetattr(tty.get(), &tio) != 0) {
    return OsError(errno, absl::StrCat("cannot read the line settings of ", device_));
  }
  ::cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~CRTSCTS;
  tio.c_iflag &= ~(IXON | IXOFF | IXANY);
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (::cfsetispeed(&tio, speed_) != 0 || ::cfsetospeed(&tio, speed_) != 0) {
    return OsError(errno, absl::StrCat("cannot set the speed of ", device_));
  }
  if (::tcsetattr(tty.get(), TCSANOW, &tio) != 0) {
    return OsError(errno, absl::StrCat("cannot set the line settings of ", device_));
  }
  // Whatever sat in the buffers belongs to an earlier life of the line.
  ::tcflush(tty.get(), TCIOFLUSH);
  reader_.Reset();
  tty_ = std::move(tty);
  return absl::OkStatus();
}

absl::StatusOr<bool> SerialMedium::Flush() {
  while (out_written_ < out_.size()) {
    ssize_t n = ::write(tty_.get(), out_.data() + out_written_, out_.size() - out_written_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      int err = errno;
      out_.clear();
      out_written_ = 0;
      return OsError(err, absl::StrCat("cannot write to ", device_));
    }
    out_written_ += static_cast<size_t>(n);
  }
  out_.clear();
  out_written_ = 0;
  return true;
}

absl::Status SerialMedium::Send(absl::string_view frame) {
  if (!tty_.valid()) return NotOpenError();
  if (!out_.empty()) {
    absl::StatusOr<bool> done = Flush();
    if (!done.ok()) return done.status();
    if (!*done) {
      return absl::UnavailableError(absl::StrCat(
          error_prefix(), ": ", device_, " still busy with the previous frame (",
          out_.size() - out_written_, " bytes left); frame dropped"));
    }
  }
  out_.push_back(kCobsDelimiter);
  CobsEncode(frame, &out_);
  if (out_.size() - 1 > kMaxSerialEncodedFrame) {
    size_t encoded = out_.size() - 1;
    out_.clear();
    return absl::InvalidArgumentError(
        absl::StrCat(error_prefix(), ": frame of ", frame.size(), " bytes encodes to ", encoded,
                     " bytes, more than the ", kMaxSerialEncodedFrame,
                     " a serial receiver accepts"));
  }
  out_.push_back(kCobsDelimiter);
  absl::StatusOr<bool> done = Flush();
  if (!done.ok()) return done.status();
  if (!*done && out_written_ == 0) {
    // Nothing of it reached the line: drop it whole rather than send it late.
    out_.clear();
    return absl::UnavailableError(
        absl::StrCat(error_prefix(), ": ", device_, " output is full; frame dropped"));
  }
  // Partly written: the rest goes first at the next Send().
  return absl::OkStatus();
}

absl::Status SerialMedium::Receive(Deliver deliver) {
  if (!tty_.valid()) return NotOpenError();
  char buffer[kReadChunk];
  for (int i = 0; i < kMaxReadsPerReceive; ++i) {
    ssize_t n = ::read(tty_.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
      // A hung-up or unplugged device stays readable and fails every read:
      // close it rather than spin the event loop.
      int err = errno;
      tty_.reset();
      out_.clear();
      out_written_ = 0;
      return OsError(err, absl::StrCat("cannot read from ", device_, " (closed; Open() retries)"));
    }
    if (n == 0) {
      // With VMIN 1, a tty reads 0 bytes only once hung up (and then for
      // ever, as readable): close it like a failed device.
      tty_.reset();
      out_.clear();
      out_written_ = 0;
      return absl::UnavailableError(
          absl::StrCat(error_prefix(), ": ", device_, " hung up (closed; Open() retries)"));
    }
    reader_.Feed(absl::string_view(buffer, static_cast<size_t>(n)),
                 [&](absl::string_view frame) { deliver(frame, device_); });
  }
  return absl::OkStatus();
}

}  // namespace hacluster::media::internal
