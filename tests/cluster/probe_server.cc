// probe_server: the service behind a virtual IP in the failover tests. A
// UDP server that answers each datagram with the name of its node and the
// sequence number the datagram carried, so a client (tests/cluster/
// vip_probe.h) can tell which node answered which probe:
//
//   request:  "<seq>"            decimal, up to 20 digits
//   answer:   "<NODE> <seq>"
//
// The answer leaves from the address the request was sent to (IP_PKTINFO),
// so a client probing a virtual IP gets its answer from the virtual IP even
// when the server is bound to the wildcard address. Datagrams that do not
// start with a number are ignored.
//
//   probe_server --port P --name NODE [--bind ADDR] [--pidfile F]
//                [--max-runtime SECONDS] [--realtime-priority N]
//
// --pidfile is written (atomically: a temporary file renamed) once the
// socket is bound, so an init script that waits for the file knows the
// service answers. The server runs until SIGTERM/SIGINT (exit 0, the pid
// file removed if it still names this process) or for --max-runtime seconds
// (default 900), so a server left behind by a broken test ends by itself.
// --realtime-priority runs the server SCHED_FIFO at N (1 to 99), so that
// the answer times a client measures are the cluster's and not the
// scheduling of a busy machine's.
// Exit status: 0 stopped, 1 could not start (the reason on stderr), 2 usage.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace {

int Fail(const std::string& what) {
  std::cerr << "probe_server: " << what << "\n";
  return 1;
}

std::string Errno(const std::string& what) { return absl::StrCat(what, ": ", strerror(errno)); }

// Writes our pid to `path` through a temporary file and rename(2), so a
// reader never sees a partial file.
bool WritePidfile(const std::string& path, std::string* error) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    *error = Errno(absl::StrCat("cannot write pid file ", tmp));
    return false;
  }
  fprintf(f, "%d\n", static_cast<int>(getpid()));
  if (fclose(f) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    *error = Errno(absl::StrCat("cannot write pid file ", path));
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

// Removes `path` if it still holds our pid (a restarted instance may have
// replaced it).
void RemovePidfile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return;
  int pid = 0;
  bool ours = fscanf(f, "%d", &pid) == 1 && pid == getpid();
  fclose(f);
  if (ours) unlink(path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string name;
  std::string bind_address = "0.0.0.0";
  std::string pidfile;
  int max_runtime_s = 900;
  int realtime_priority = 0;
  CLI::App app{"probe_server: answers each UDP datagram \"SEQ\" with \"NODE SEQ\"",
               "probe_server"};
  app.add_option("--port", port, "UDP port")->required()->check(CLI::Range(1, 65535));
  app.add_option("--name", name, "The node name put in every answer")->required();
  app.add_option("--bind", bind_address, "IPv4 address to bind (default: any)");
  app.add_option("--pidfile", pidfile, "Written once the socket is bound");
  app.add_option("--max-runtime", max_runtime_s, "Seconds before the server exits by itself")
      ->check(CLI::Range(1, 86400));
  app.add_option("--realtime-priority", realtime_priority, "SCHED_FIFO priority, 0: none")
      ->check(CLI::Range(0, 99));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "probe_server: " << e.what() << "\n";
    return 2;
  }
  if (name.empty() || name.find_first_of(" \n") != std::string::npos) {
    std::cerr << "probe_server: --name must be one word\n";
    return 2;
  }

  if (realtime_priority > 0) {
    sched_param param{};
    param.sched_priority = realtime_priority;
    if (sched_setscheduler(0, SCHED_FIFO, &param) != 0) {
      return Fail(Errno(absl::StrCat("sched_setscheduler(SCHED_FIFO ", realtime_priority, ")")));
    }
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) return Fail(Errno("sigprocmask"));
  int sfd = signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (sfd < 0) return Fail(Errno("signalfd"));

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(Errno("socket(AF_INET, SOCK_DGRAM)"));
  int one = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0) {
    return Fail(Errno("setsockopt(IP_PKTINFO)"));
  }
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, bind_address.c_str(), &local.sin_addr) != 1) {
    std::cerr << "probe_server: --bind " << bind_address << " is not an IPv4 address\n";
    return 2;
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return Fail(Errno(absl::StrCat("bind ", bind_address, ":", port)));
  }
  if (!pidfile.empty()) {
    std::string error;
    if (!WritePidfile(pidfile, &error)) return Fail(error);
  }

  timespec start{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  char in[128];
  char control[CMSG_SPACE(sizeof(in_pktinfo))];
  std::string answer;
  answer.reserve(64);
  while (true) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left_ms = int64_t{max_runtime_s} * 1000 -
                      ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left_ms <= 0) {
      std::cerr << "probe_server: --max-runtime " << max_runtime_s << "s reached, exiting\n";
      break;
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(Errno("poll"));
    }
    if (fds[1].revents != 0) break;  // SIGTERM or SIGINT
    if ((fds[0].revents & POLLIN) == 0) continue;
    // A bounded batch per wake-up: everything queued, then poll again.
    for (int i = 0; i < 64; ++i) {
      sockaddr_in peer{};
      iovec iov{in, sizeof(in)};
      msghdr msg{};
      msg.msg_name = &peer;
      msg.msg_namelen = sizeof(peer);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      ssize_t got = recvmsg(fd, &msg, MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        return Fail(Errno("recvmsg"));
      }
      absl::string_view request(in, static_cast<size_t>(got));
      size_t digits = 0;
      while (digits < request.size() && digits < 20 && absl::ascii_isdigit(request[digits])) {
        ++digits;
      }
      uint64_t seq = 0;
      if (digits == 0 || !absl::SimpleAtoi(request.substr(0, digits), &seq)) continue;
      answer.clear();
      absl::StrAppend(&answer, name, " ", seq);
      // Answer from the address the request was sent to.
      in_pktinfo reply_info{};
      bool have_info = false;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          in_pktinfo info;
          memcpy(&info, CMSG_DATA(c), sizeof(info));
          reply_info.ipi_spec_dst = info.ipi_addr;
          have_info = true;
        }
      }
      iovec out{answer.data(), answer.size()};
      msghdr reply{};
      reply.msg_name = &peer;
      reply.msg_namelen = sizeof(peer);
      reply.msg_iov = &out;
      reply.msg_iovlen = 1;
      char reply_control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
      if (have_info) {
        reply.msg_control = reply_control;
        reply.msg_controllen = sizeof(reply_control);
        cmsghdr* c = CMSG_FIRSTHDR(&reply);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        memcpy(CMSG_DATA(c), &reply_info, sizeof(reply_info));
      }
      // A lost answer is the client's to notice (it counts gaps): no retry.
      (void)sendmsg(fd, &reply, MSG_DONTWAIT);
    }
  }
  if (!pidfile.empty()) RemovePidfile(pidfile);
  return 0;
}
