// flood_sender: junk UDP datagrams at a paced rate, for the flood test. It
// sends, in turns to each --to address, a mix of datagrams that a heartbeat
// medium must survive:
//
//   oversized  40%  1401 to 65000 bytes (log-uniform, so most are a few
//                   KB), half of them starting with the frame magic "HAW1";
//                   IP fragments them on a 1500-byte path
//   garbage    30%  1 to 1400 random bytes that do not start with "HAW1"
//   bad-mac    30%  well-formed frames (magic, key id 1, HMAC-SHA256, a
//                   payload length that matches) whose payload and MAC are
//                   random: they pass every layout check and fail the MAC
//
//   flood_sender --to ADDR:PORT [--to ADDR:PORT...] --rate N --seconds S
//                [--max-count C] [--seed X] [--only oversized|garbage|bad-mac]
//
// --only sends one kind alone (a single bad-mac datagram makes a handy
// marker: the agent reports it as an auth-failure event naming its source).
//
// The datagrams are made once (a pool of 1024) and sent with sendmmsg(2) in
// batches of up to 64, paced so that the total after t seconds is N * t
// (the sender catches up in full batches when it falls behind). It stops
// after S seconds or C datagrams (default N * S), whichever comes first, so
// it always ends. It then prints one line:
//
//   sent=720000 seconds=30.000 rate=24000.0 min_second_rate=23980
//   oversized=288000 garbage=216000 bad_mac=216000 errors=0 port=40031
//
// (on one line): datagrams sent, the time from the first send to the end of
// the last, their rate, the fewest sent in any whole second, the mix,
// datagrams the kernel refused (errno; counted, not retried), and the UDP
// port they came from. IPv4 only.
// Exit status: 0 done, 1 could not start (the reason on stderr), 2 usage.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/wire/frame_format.h"

namespace {

using hacluster::wire::kFrameMagic;
using hacluster::wire::kMaxFrameSize;

constexpr size_t kPoolSize = 1024;
constexpr int kMaxBatch = 64;
constexpr size_t kLargestDatagram = 65000;
constexpr int kMethodSha256 = 1;
constexpr size_t kSha256MacSize = 32;

enum Kind { kOversized = 0, kGarbage = 1, kBadMac = 2 };

struct Datagram {
  Kind kind;
  std::string bytes;
};

int Fail(const std::string& what) {
  std::cerr << "flood_sender: " << what << "\n";
  return 1;
}

double Now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

bool ParseDestination(const std::string& text, sockaddr_in* out) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  uint32_t port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port) || port == 0 || port > 65535) {
    return false;
  }
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, parts[0].c_str(), &out->sin_addr) == 1;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// `only`: -1 for the mix, else the one Kind to make.
Datagram Make(std::mt19937_64& rng, int only) {
  const uint64_t roll = rng() % 10;
  const uint64_t pick = only == kOversized ? 0 : only == kGarbage ? 4 : only == kBadMac ? 9 : roll;
  if (pick < 4) {
    // log-uniform in [kMaxFrameSize + 1, kLargestDatagram]
    std::uniform_real_distribution<double> u(std::log(kMaxFrameSize + 1.0),
                                             std::log(static_cast<double>(kLargestDatagram)));
    size_t n =
        std::clamp(static_cast<size_t>(std::exp(u(rng))), kMaxFrameSize + 1, kLargestDatagram);
    std::string bytes = RandomBytes(rng, n);
    if (rng() % 2 == 0)
      bytes.replace(0, kFrameMagic.size(), kFrameMagic.data(), kFrameMagic.size());
    return {kOversized, std::move(bytes)};
  }
  if (pick < 7) {
    std::string bytes = RandomBytes(rng, 1 + rng() % kMaxFrameSize);
    if (bytes.compare(0, kFrameMagic.size(), kFrameMagic.data(), kFrameMagic.size()) == 0) {
      bytes[0] = 'X';
    }
    return {kGarbage, std::move(bytes)};
  }
  const size_t payload = 20 + rng() % 200;
  std::string bytes(kFrameMagic);
  bytes.push_back(static_cast<char>(1));              // key id
  bytes.push_back(static_cast<char>(kMethodSha256));  // method
  bytes.push_back(static_cast<char>(payload >> 8));
  bytes.push_back(static_cast<char>(payload & 0xff));
  bytes += RandomBytes(rng, payload + kSha256MacSize);
  return {kBadMac, std::move(bytes)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sends a paced flood of junk UDP datagrams (see the header of flood_sender.cc)."};
  std::vector<std::string> to_text;
  double rate = 0;
  double seconds = 0;
  uint64_t max_count = 0;
  uint64_t seed = 1;
  std::string only_text;
  app.add_option("--to", to_text, "destination ADDR:PORT (IPv4), repeatable")->required();
  app.add_option("--rate", rate, "datagrams per second, all destinations together")
      ->required()
      ->check(CLI::Range(1.0, 10e6));
  app.add_option("--seconds", seconds, "how long to send")
      ->required()
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--max-count", max_count, "stop after this many datagrams (default rate*seconds)");
  app.add_option("--seed", seed, "seed of the datagrams' contents");
  app.add_option("--only", only_text, "send one kind only")
      ->check(CLI::IsMember({"oversized", "garbage", "bad-mac"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  std::vector<sockaddr_in> to(to_text.size());
  for (size_t i = 0; i < to_text.size(); ++i) {
    if (!ParseDestination(to_text[i], &to[i])) {
      std::cerr << "flood_sender: --to " << to_text[i] << ": not IPV4:PORT\n";
      return 2;
    }
  }
  if (max_count == 0) max_count = static_cast<uint64_t>(std::ceil(rate * seconds));
  const int only = only_text.empty()          ? -1
                   : only_text == "oversized" ? kOversized
                   : only_text == "garbage"   ? kGarbage
                                              : kBadMac;

  std::mt19937_64 rng(seed);
  std::vector<Datagram> pool;
  pool.reserve(kPoolSize);
  for (size_t i = 0; i < kPoolSize; ++i) pool.push_back(Make(rng, only));

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return Fail(absl::StrCat("socket: ", strerror(errno)));
  int sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  }

  mmsghdr messages[kMaxBatch];
  iovec iovecs[kMaxBatch];
  uint64_t sent = 0, errors = 0, attempts = 0;
  uint64_t by_kind[3] = {0, 0, 0};
  std::vector<uint64_t> per_second;
  size_t next = 0;  // index into the pool and the destinations
  const double start = Now();
  const double end = start + seconds;
  double now = start;
  // Every loop sends at least one datagram or sleeps until one is due, and
  // ends by time or count.
  while (attempts < max_count && now < end) {
    const uint64_t due =
        std::min<uint64_t>(max_count, static_cast<uint64_t>((now - start) * rate) + 1);
    if (attempts >= due) {
      // Ahead of the pace: sleep until the next datagram is due.
      const double wake = start + static_cast<double>(attempts) / rate;
      const double nap = std::min(wake, end) - now;
      if (nap > 0) {
        timespec ts{static_cast<time_t>(nap), static_cast<long>((nap - std::floor(nap)) * 1e9)};
        nanosleep(&ts, nullptr);
      }
      now = Now();
      continue;
    }
    const int batch = static_cast<int>(std::min<uint64_t>(kMaxBatch, due - attempts));
    for (int i = 0; i < batch; ++i) {
      const Datagram& d = pool[(next + i) % kPoolSize];
      iovecs[i] = {const_cast<char*>(d.bytes.data()), d.bytes.size()};
      msghdr& h = messages[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &to[(next + i) % to.size()];
      h.msg_namelen = sizeof(sockaddr_in);
      h.msg_iov = &iovecs[i];
      h.msg_iovlen = 1;
    }
    int n = sendmmsg(fd, messages, batch, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The first datagram of the batch was refused: count it, go on.
      n = 0;
      ++errors;
      ++attempts;
      ++next;
    }
    for (int i = 0; i < n; ++i) ++by_kind[pool[(next + i) % kPoolSize].kind];
    sent += n;
    attempts += n;
    next += n;
    now = Now();
    const size_t second = static_cast<size_t>(now - start);
    if (per_second.size() <= second) per_second.resize(second + 1, 0);
    per_second[second] += n;
  }
  const double elapsed = std::max(Now() - start, 1e-9);
  sockaddr_in from{};
  socklen_t from_length = sizeof(from);
  (void)getsockname(fd, reinterpret_cast<sockaddr*>(&from), &from_length);
  // Whole seconds only: the last one is cut short.
  uint64_t min_second = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i + 1 < per_second.size(); ++i)
    min_second = std::min(min_second, per_second[i]);
  if (min_second == std::numeric_limits<uint64_t>::max()) min_second = 0;
  printf(
      "sent=%llu seconds=%.3f rate=%.1f min_second_rate=%llu oversized=%llu garbage=%llu "
      "bad_mac=%llu errors=%llu port=%u\n",
      static_cast<unsigned long long>(sent), elapsed, static_cast<double>(sent) / elapsed,
      static_cast<unsigned long long>(min_second),
      static_cast<unsigned long long>(by_kind[kOversized]),
      static_cast<unsigned long long>(by_kind[kGarbage]),
      static_cast<unsigned long long>(by_kind[kBadMac]), static_cast<unsigned long long>(errors),
      static_cast<unsigned>(ntohs(from.sin_port)));
  return 0;
}
