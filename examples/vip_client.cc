// vip_client: the demo's client of the service behind a virtual IP. It sends
// a numbered UDP datagram "<seq>" to ADDRESS:PORT every --interval and reads
// the answers "<NODE> <seq>" (the protocol of tests/cluster/probe_server.cc,
// which the demo's `asterisk` init script runs), so it sees which node
// serves the address and how long it went without an answer:
//
//   vip_client --to 192.0.2.10:4711 [--interval 2ms] [--max-seconds 60]
//
// While it runs it prints a line when the first answer comes and one each
// time another node answers, with the time since the start and the silence
// before it:
//
//   vip_client: +2.1 ms node01 answers (first answer)
//   vip_client: +1534.0 ms node02 answers (node01 before; 38.2 ms without an answer)
//
// On SIGTERM or SIGINT, or after --max-seconds, it prints one summary line
// (examples/answer_log.h) and exits:
//
//   answers 1234 of 1250 probes, longest gap 38.2 ms from node01 to node02, last answer from node02
//
// Only answers whose source is ADDRESS:PORT count. Every line is flushed at
// once, so a script can follow the output file while the client runs.
// Exit status: 0 stopped (whatever it measured), 1 could not run (the reason
// on stderr), 2 usage.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "examples/answer_log.h"

namespace {

using hacluster::examples::AnswerLog;

absl::Duration MonotonicNow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

int Fail(const std::string& what) {
  std::cerr << "vip_client: " << what << ": " << strerror(errno) << "\n";
  return 1;
}

int Usage(const std::string& what) {
  std::cerr << "vip_client: " << what << "\n";
  return 2;
}

// "192.0.2.10:4711" -> the IPv4 socket address; false when it is not one.
bool ParseTarget(const std::string& text, sockaddr_in* out) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port) || port < 1 || port > 65535) {
    return false;
  }
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, parts[0].c_str(), &out->sin_addr) == 1;
}

// "node01 17" -> "node01", when the answer names a node and a number.
bool ParseAnswer(absl::string_view answer, std::string* node) {
  std::vector<absl::string_view> words = absl::StrSplit(answer, ' ');
  uint64_t seq = 0;
  if (words.size() != 2 || words[0].empty() || !absl::SimpleAtoi(words[1], &seq)) return false;
  *node = std::string(words[0]);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string to;
  std::string interval_text = "2ms";
  int max_seconds = 60;
  CLI::App app{"vip_client: probes the service behind a virtual IP over UDP and reports who "
               "answered and the longest time without an answer",
               "vip_client"};
  app.add_option("--to", to, "ADDRESS:PORT of the service (IPv4)")->required();
  app.add_option("--interval", interval_text, "Time between two probes, 100us to 10s");
  app.add_option("--max-seconds", max_seconds, "Stops by itself after this long")
      ->check(CLI::Range(1, 3600));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Usage(e.what());
  }
  sockaddr_in target{};
  if (!ParseTarget(to, &target)) return Usage("--to " + to + " is not IPV4:PORT");
  absl::Duration interval;
  if (!absl::ParseDuration(interval_text, &interval) || interval < absl::Microseconds(100) ||
      interval > absl::Seconds(10)) {
    return Usage("--interval " + interval_text + " is not a duration from 100us to 10s");
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) return Fail("sigprocmask");
  const int sfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (sfd < 0) return Fail("signalfd");
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Fail("socket(AF_INET, SOCK_DGRAM)");

  AnswerLog log;
  uint64_t sent = 0;
  const absl::Duration start = MonotonicNow();
  const absl::Duration end = start + absl::Seconds(max_seconds);
  absl::Duration next_send = start;
  char in[128];
  while (true) {
    absl::Duration now = MonotonicNow();
    if (now >= end) break;
    if (now >= next_send) {
      const std::string probe = absl::StrCat(sent);
      // A refused send (no neighbour yet) is a probe without an answer.
      (void)sendto(fd, probe.data(), probe.size(), 0, reinterpret_cast<sockaddr*>(&target),
                   sizeof(target));
      ++sent;
      next_send += interval;
      // After a stall, carry on from now rather than send a burst.
      if (next_send < now) next_send = now + interval;
    }
    const timespec wait = absl::ToTimespec(std::min(next_send, end) - now);
    pollfd fds[2] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    const int n = ppoll(fds, 2, &wait, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("ppoll");
    }
    if (fds[1].revents != 0) break;  // SIGTERM or SIGINT
    if ((fds[0].revents & POLLIN) == 0) continue;
    // Everything queued, a bounded batch per wake-up.
    for (int i = 0; i < 64; ++i) {
      sockaddr_in from{};
      socklen_t from_len = sizeof(from);
      const ssize_t got =
          recvfrom(fd, in, sizeof(in), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        // An ICMP error queued on the socket: a lost probe, nothing more.
        if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) continue;
        return Fail("recvfrom");
      }
      if (from.sin_addr.s_addr != target.sin_addr.s_addr || from.sin_port != target.sin_port) {
        continue;
      }
      std::string node;
      if (!ParseAnswer(absl::string_view(in, static_cast<size_t>(got)), &node)) continue;
      const absl::Duration at = MonotonicNow() - start;
      std::optional<AnswerLog::Change> change = log.Add(at, node);
      if (!change.has_value()) continue;
      if (change->previous.empty()) {
        printf("vip_client: +%s %s answers (first answer)\n", AnswerLog::Ms(at).c_str(),
               node.c_str());
      } else {
        printf("vip_client: +%s %s answers (%s before; %s without an answer)\n",
               AnswerLog::Ms(at).c_str(), node.c_str(), change->previous.c_str(),
               AnswerLog::Ms(change->silence).c_str());
      }
      fflush(stdout);
    }
  }
  printf("%s\n", log.Summary(sent, MonotonicNow() - start).c_str());
  fflush(stdout);
  close(fd);
  close(sfd);
  return 0;
}
