#include "agent/media/test_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::media::testing {
namespace {

constexpr int kIpTimeoutMs = 10000;

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

absl::StatusOr<std::string> RunIp(const std::vector<std::string>& args) {
  const char* ip = nullptr;
  for (const char* candidate : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(candidate, X_OK) == 0) {
      ip = candidate;
      break;
    }
  }
  const std::string command = absl::StrCat("ip ", absl::StrJoin(args, " "));
  if (ip == nullptr) return absl::NotFoundError(absl::StrCat(command, ": no ip(8) found"));

  // Everything the child needs is built before fork.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(ip));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char* const envp[] = {nullptr};

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(command, ": pipe"));
  }
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return absl::ErrnoToStatus(errno, absl::StrCat(command, ": fork"));
  if (pid == 0) {
    ::dup2(write_end.get(), STDOUT_FILENO);
    ::dup2(write_end.get(), STDERR_FILENO);
    ::execve(ip, argv.data(), envp);
    ::_exit(127);
  }
  write_end.reset();

  std::string output;
  const int64_t deadline = NowMs() + kIpTimeoutMs;
  bool timed_out = false;
  for (;;) {
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[512];
    ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is done
    if (output.size() < 4096) output.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(command, ": no answer in 10 s"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return absl::InternalError(absl::StrCat(
        command, ": ", WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status)) : "killed",
        output.empty() ? "" : ": ", output));
  }
  return output;
}

absl::Status WriteSysctl(const std::string& path, const std::string& value) {
  UniqueFd f(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!f.valid()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  if (::write(f.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ScopedNetns>> ScopedNetns::Enter() {
  UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) {
    return absl::ErrnoToStatus(errno, "cannot open /proc/thread-self/ns/net");
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    return absl::ErrnoToStatus(errno, "unshare(CLONE_NEWNET) (needs root)");
  }
  std::unique_ptr<ScopedNetns> netns(new ScopedNetns(std::move(original)));
  if (auto up = RunIp({"link", "set", "lo", "up"}); !up.ok()) return up.status();
  return netns;
}

ScopedNetns::~ScopedNetns() {
  if (::setns(original_.get(), CLONE_NEWNET) != 0) {
    // Later tests would run in the wrong namespace: stop here, loudly.
    ::perror("setns back to the original network namespace");
    ::abort();
  }
}

absl::Status ScopedNetns::AddVethPair(const std::string& a, const std::string& a_address,
                                      const std::string& b, const std::string& b_address,
                                      bool broadcast) {
  if (auto made = RunIp({"link", "add", a, "type", "veth", "peer", "name", b}); !made.ok()) {
    return made.status();
  }
  for (const auto& [name, address] : {std::pair(a, a_address), std::pair(b, b_address)}) {
    std::vector<std::string> args = {"addr", "add", address, "dev", name};
    if (broadcast) args.insert(args.end(), {"brd", "+"});
    if (auto added = RunIp(args); !added.ok()) return added.status();
  }
  for (const std::string& conf : {std::string("all"), a, b}) {
    const std::string dir = absl::StrCat("/proc/sys/net/ipv4/conf/", conf, "/");
    if (absl::Status s = WriteSysctl(dir + "accept_local", "1"); !s.ok()) return s;
    if (absl::Status s = WriteSysctl(dir + "rp_filter", "0"); !s.ok()) return s;
  }
  // Link changes are announced on rtnetlink; listen before bringing them up
  // so that no announcement is missed between a check and the wait.
  UniqueFd events(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!events.valid()) return absl::ErrnoToStatus(errno, "rtnetlink socket");
  sockaddr_nl groups{};
  groups.nl_family = AF_NETLINK;
  groups.nl_groups = RTMGRP_LINK;
  if (::bind(events.get(), reinterpret_cast<sockaddr*>(&groups), sizeof(groups)) != 0) {
    return absl::ErrnoToStatus(errno, "rtnetlink bind to link events");
  }
  for (const std::string& name : {a, b}) {
    if (auto up = RunIp({"link", "set", name, "up"}); !up.ok()) return up.status();
  }
  // Ready when both are operationally up with their queueing discipline
  // attached: until then the kernel's "noop" qdisc drops every packet.
  const int64_t deadline = NowMs() + kIpTimeoutMs;
  for (;;) {
    bool ready = true;
    std::string last;
    for (const std::string& name : {a, b}) {
      absl::StatusOr<std::string> shown = RunIp({"-o", "link", "show", "dev", name});
      if (!shown.ok()) return shown.status();
      if (shown->find(" state UP ") == std::string::npos ||
          shown->find(" qdisc noop ") != std::string::npos) {
        ready = false;
        last = *shown;
      }
    }
    if (ready) return absl::OkStatus();
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      return absl::DeadlineExceededError(absl::StrCat("veth ", a, " <-> ", b,
                                                      " not up in 10 s: ", last));
    }
    pollfd p{events.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) > 0) {
      char drain[8192];
      while (::recv(events.get(), drain, sizeof(drain), MSG_DONTWAIT) > 0) {
      }
    }
  }
}

}  // namespace hacluster::media::testing
