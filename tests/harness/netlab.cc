#include "tests/harness/netlab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/harness/wait.h"

namespace hacluster::harness {
namespace {

constexpr char kNetnsDir[] = "/run/netns";
// One lock file per lab, "<prefix>lock", flock()ed by the lab's process.
constexpr char kLockDir[] = "/run/hacluster-netlab";
constexpr char kLockSuffix[] = "lock";
constexpr size_t kMaxLabName = 16;
constexpr size_t kMaxHostName = 32;
constexpr size_t kMaxIfname = 15;  // IFNAMSIZ - 1
// How long cleanup waits for SIGKILLed processes to leave a namespace.
constexpr absl::Duration kKillWait = absl::Seconds(3);
// How long Destroy() waits for the janitor to exit.
constexpr absl::Duration kJanitorExitWait = absl::Seconds(10);
// Commands that set up the lab (ip, nft, tc).
constexpr absl::Duration kCommandTimeout = absl::Seconds(10);

// The three IPv4 documentation /24s (RFC 5737), host byte order.
constexpr uint32_t kAllowedNets[] = {0xC0000200u,   // 192.0.2.0/24
                                     0xC6336400u,   // 198.51.100.0/24
                                     0xCB007100u};  // 203.0.113.0/24

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof(buf));  // GNU strerror_r
}

absl::Status ErrnoError(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", ErrnoText(err)));
}

bool IsNameChar(char c, bool allow_dash) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         (allow_dash && c == '-');
}

absl::Status CheckName(absl::string_view what, absl::string_view name,
                       size_t max, bool allow_dash) {
  if (name.empty() || name.size() > max ||
      !std::all_of(name.begin(), name.end(),
                   [&](char c) { return IsNameChar(c, allow_dash); })) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " '", name, "' must be 1 to ", max, " characters of [A-Za-z0-9_",
        allow_dash ? "-" : "", "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckIfname(absl::string_view host, absl::string_view ifname) {
  const bool bad_char = std::any_of(ifname.begin(), ifname.end(), [](char c) {
    return c == '/' || c == ':' || c == '%' ||
           absl::ascii_isspace(static_cast<unsigned char>(c)) ||
           !absl::ascii_isprint(static_cast<unsigned char>(c));
  });
  if (ifname.empty() || ifname.size() > kMaxIfname || bad_char ||
      ifname == "." || ifname == ".." || ifname == "lo") {
    return absl::InvalidArgumentError(absl::StrCat(
        "host ", host, ": '", ifname,
        "' is not a usable interface name (1 to 15 characters, no '/', ':', "
        "'%' or blanks, not lo)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ParseIPv4(absl::string_view text) {
  struct in_addr in;
  if (inet_pton(AF_INET, std::string(text).c_str(), &in) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not an IPv4 address"));
  }
  return ntohl(in.s_addr);
}

std::string FormatIPv4(uint32_t addr) {
  return absl::StrFormat("%d.%d.%d.%d", addr >> 24, (addr >> 16) & 0xff,
                         (addr >> 8) & 0xff, addr & 0xff);
}

uint32_t MaskOf(int prefix_len) {
  return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
}

std::string NetnsPath(absl::string_view ns) {
  return absl::StrCat(kNetnsDir, "/", ns);
}

// A network namespace as stat() of its bound file or of /proc/PID/ns/net
// shows it.
struct NsId {
  dev_t dev;
  ino_t ino;
};

// The processes whose network namespace is one of `ids`. Zombies have no
// namespace and are not listed.
std::vector<pid_t> PidsInAny(const std::vector<NsId>& ids) {
  std::vector<pid_t> pids;
  if (ids.empty()) return pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (struct dirent* e = readdir(proc)) {
    int pid;
    if (!absl::SimpleAtoi(e->d_name, &pid) || pid <= 0) continue;
    struct stat st;
    const std::string ns = absl::StrCat("/proc/", pid, "/ns/net");
    if (stat(ns.c_str(), &st) != 0) continue;
    for (const NsId& id : ids) {
      if (st.st_dev == id.dev && st.st_ino == id.ino) {
        pids.push_back(pid);
        break;
      }
    }
  }
  closedir(proc);
  return pids;
}

// What `ip netns pids` prints for the namespace bound at `path`.
absl::StatusOr<std::vector<pid_t>> PidsInNetns(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return ErrnoError(errno, absl::StrCat("network namespace ", path));
  }
  return PidsInAny({NsId{st.st_dev, st.st_ino}});
}

// Removes the named namespaces of /run/netns: first their names (unmount and
// remove the file, as `ip netns delete` does; quick, so that a cleanup cut
// short leaves as little as possible), then SIGKILL to every process still
// inside one of them, until none is left (bounded). Names that do not exist
// are skipped.
absl::Status RemoveNamespaces(const std::vector<std::string>& names) {
  std::vector<NsId> ids;
  std::vector<std::string> errors;
  for (const std::string& name : names) {
    const std::string path = NetnsPath(name);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) {
        errors.push_back(absl::StrCat(path, ": ", ErrnoText(errno)));
      }
      continue;
    }
    ids.push_back(NsId{st.st_dev, st.st_ino});
    if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL &&
        errno != ENOENT) {
      errors.push_back(absl::StrCat("umount ", path, ": ", ErrnoText(errno)));
      continue;
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      errors.push_back(absl::StrCat("remove ", path, ": ", ErrnoText(errno)));
    }
  }
  std::vector<pid_t> left;
  const bool emptied = WaitFor(
      [&] {
        left = PidsInAny(ids);
        for (pid_t pid : left) kill(pid, SIGKILL);
        return left.empty();
      },
      kKillWait, absl::Milliseconds(5));
  if (!emptied) {
    errors.push_back(absl::StrCat("processes ", absl::StrJoin(left, " "),
                                  " still in the lab's namespaces ",
                                  absl::FormatDuration(kKillWait),
                                  " after SIGKILL"));
  }
  if (!errors.empty()) {
    return absl::InternalError(absl::StrJoin(errors, "; "));
  }
  return absl::OkStatus();
}

// The namespaces in /run/netns whose names start with `prefix`.
std::vector<std::string> NamespacesWithPrefix(absl::string_view prefix) {
  std::vector<std::string> names;
  DIR* d = opendir(kNetnsDir);
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    if (absl::StartsWith(e->d_name, prefix)) names.emplace_back(e->d_name);
  }
  closedir(d);
  return names;
}

// Removes what labs of dead processes left behind: a lab's lock file whose
// flock can be taken belongs to a process that is gone (the kernel drops the
// lock however the process ended). Returns the prefixes cleaned.
std::vector<std::string> SweepDeadLabs() {
  std::vector<std::string> swept;
  DIR* d = opendir(kLockDir);
  if (d == nullptr) return swept;
  std::vector<std::string> locks;
  while (struct dirent* e = readdir(d)) {
    const absl::string_view name = e->d_name;
    if (!absl::StartsWith(name, ".") && absl::EndsWith(name, kLockSuffix)) {
      locks.emplace_back(name);
    }
  }
  closedir(d);
  for (const std::string& lock : locks) {
    const std::string path = absl::StrCat(kLockDir, "/", lock);
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      const std::string prefix =
          lock.substr(0, lock.size() - strlen(kLockSuffix));
      absl::Status s = RemoveNamespaces(NamespacesWithPrefix(prefix));
      if (s.ok()) {
        unlink(path.c_str());
        swept.push_back(prefix);
      } else {
        fprintf(stderr, "netlab: leftovers of %s: %s\n", prefix.c_str(),
                s.ToString().c_str());
      }
    }
    close(fd);
  }
  return swept;
}

// What `ip -o link show` says of one interface.
struct LinkState {
  bool admin_up = false;  // IFF_UP among the flags
  bool oper_up = false;   // "state UP": carrier, and the kernel passes packets
};

// The links of namespace `ns` by name.
absl::StatusOr<std::map<std::string, LinkState>> LinkStates(
    const std::string& ns) {
  absl::StatusOr<std::string> out =
      RunOrError({"ip", "-n", ns, "-o", "link", "show"}, kCommandTimeout);
  if (!out.ok()) return out.status();
  std::map<std::string, LinkState> links;
  for (absl::string_view line : absl::StrSplit(*out, '\n', absl::SkipEmpty())) {
    // "3: h0n0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu ... state UP ..."
    const size_t name_at = line.find(": ");
    if (name_at == absl::string_view::npos) continue;
    absl::string_view rest = line.substr(name_at + 2);
    const size_t name_end = rest.find_first_of("@:");
    if (name_end == absl::string_view::npos) continue;
    LinkState state;
    const size_t open = rest.find('<');
    const size_t close = rest.find('>');
    if (open != absl::string_view::npos && close != absl::string_view::npos &&
        open < close) {
      for (absl::string_view flag :
           absl::StrSplit(rest.substr(open + 1, close - open - 1), ',')) {
        if (flag == "UP") state.admin_up = true;
      }
    }
    state.oper_up = absl::StrContains(rest, " state UP ");
    links[std::string(rest.substr(0, name_end))] = state;
  }
  return links;
}

// Waits until every (namespace, interface) of `links` is operationally up.
// A veth whose both ends were just set up passes packets only once the
// kernel's link watcher has seen its carrier, a few milliseconds later.
absl::Status WaitOperational(
    const std::vector<std::pair<std::string, std::string>>& links) {
  constexpr absl::Duration kLinkUpWait = absl::Seconds(5);
  std::string not_up;
  const bool up = WaitFor(
      [&] {
        std::map<std::string, std::map<std::string, LinkState>> by_ns;
        not_up.clear();
        for (const auto& [ns, ifname] : links) {
          if (by_ns.count(ns) == 0) {
            absl::StatusOr<std::map<std::string, LinkState>> states =
                LinkStates(ns);
            if (!states.ok()) {
              not_up = std::string(states.status().message());
              return false;
            }
            by_ns[ns] = *std::move(states);
          }
          const auto it = by_ns[ns].find(ifname);
          if (it == by_ns[ns].end() || !it->second.oper_up) {
            absl::StrAppend(&not_up, not_up.empty() ? "" : ", ", ns, " ",
                            ifname);
          }
        }
        return not_up.empty();
      },
      kLinkUpWait, absl::Milliseconds(5));
  if (!up) {
    return absl::DeadlineExceededError(
        absl::StrCat("links not up after ", absl::FormatDuration(kLinkUpWait),
                     ": ", not_up));
  }
  return absl::OkStatus();
}

// Sends one line to the janitor. MSG_NOSIGNAL: a dead janitor is an error,
// not a SIGPIPE.
absl::Status TellJanitor(int fd, absl::string_view line) {
  std::string msg = absl::StrCat(line, "\n");
  size_t sent = 0;
  while (sent < msg.size()) {
    const ssize_t n =
        send(fd, msg.data() + sent, msg.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "netlab janitor");
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// The janitor: remembers the namespaces its lab announces ("+NAME" before
// creating one) and, when its lab's process is gone (EOF on the socket, or
// it has been re-parented), removes those still there, then the lab's lock
// file if the lab's process no longer holds it, and exits. Never returns.
[[noreturn]] void RunJanitor(int fd, pid_t owner, const std::string& log_path,
                             const std::string& lock_path) {
  setsid();  // out of the test's process group and session
  prctl(PR_SET_NAME, "netlab-janitor");
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE}) {
    signal(sig, SIG_IGN);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Nothing of the test's but our socket: no pipe of a test runner is held
  // open by us, and the lab's lock stays with the lab's process alone.
  const int null_fd = open("/dev/null", O_RDWR);
  const int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(log_fd >= 0 ? log_fd : null_fd, 2);
  }
  if (fd > 3) close_range(3, fd - 1, 0);
  close_range(fd + 1, ~0U, 0);

  std::vector<std::string> names;
  std::string pending;
  char buf[4096];
  while (true) {
    struct pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, 500);
    if (getppid() != owner) break;  // the lab's process died
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the lab was destroyed, or its process died
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      if (nl > 1 && pending[0] == '+') names.push_back(pending.substr(1, nl - 1));
      pending.erase(0, nl + 1);
    }
  }
  // After a Destroy() these are gone already and this does nothing.
  absl::Status s = RemoveNamespaces(names);
  if (!s.ok()) fprintf(stderr, "netlab janitor: %s\n", s.ToString().c_str());
  const int lock_fd = open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (lock_fd >= 0) {
    if (s.ok() && flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
      unlink(lock_path.c_str());
    }
    close(lock_fd);
  }
  _exit(0);
}

std::string ProgramBase(absl::string_view program) {
  std::string base(program.substr(program.rfind('/') + 1));
  for (char& c : base) {
    if (!IsNameChar(c, true) && c != '.') c = '_';
  }
  return base.empty() ? "process" : base;
}

}  // namespace

NetLab::NetLab(absl::string_view name) : name_(name), owner_pid_(getpid()) {
  status_ = CheckName("lab name", name, kMaxLabName, /*allow_dash=*/false);
  if (!status_.ok()) return;
  uint32_t random = 0;
  if (getrandom(&random, sizeof(random), 0) != sizeof(random)) {
    status_ = ErrnoError(errno, "getrandom for the lab prefix");
    return;
  }
  prefix_ = absl::StrFormat("hat%d-%06x-%s-", owner_pid_, random & 0xffffff,
                            name_);
  status_ = TakeLock();
  if (!status_.ok()) return;
  SweepDeadLabs();
  status_ = StartJanitor();
}

absl::Status NetLab::TakeLock() {
  if (mkdir(kLockDir, 0755) != 0 && errno != EEXIST) {
    return ErrnoError(errno, absl::StrCat("mkdir ", kLockDir));
  }
  // Locked under a hidden name, then renamed: a sweeper never sees the
  // file unlocked.
  lock_path_ = absl::StrCat(kLockDir, "/", prefix_, kLockSuffix);
  const std::string tmp = absl::StrCat(kLockDir, "/.", prefix_, kLockSuffix);
  const int fd =
      open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, absl::StrCat("create ", tmp));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0 || rename(tmp.c_str(), lock_path_.c_str()) != 0) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return ErrnoError(err, absl::StrCat("lock ", lock_path_));
  }
  lock_fd_ = fd;
  return absl::OkStatus();
}

void NetLab::ReleaseLock() {
  if (lock_fd_ < 0) return;
  unlink(lock_path_.c_str());
  close(lock_fd_);
  lock_fd_ = -1;
}

NetLab::~NetLab() {
  absl::Status s = Destroy();
  if (!s.ok()) {
    fprintf(stderr, "netlab %s: cleanup: %s\n", prefix_.c_str(),
            s.ToString().c_str());
  }
}

absl::Status NetLab::StartJanitor() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoError(errno, "socketpair for the netlab janitor");
  }
  const std::string log_path =
      absl::StrCat(DefaultLogDir(), "/", prefix_, "janitor.log");
  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  const pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    RunJanitor(sv[1], owner_pid_, log_path, lock_path_);
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return ErrnoError(fork_errno, "fork of the netlab janitor");
  }
  janitor_pid_ = pid;
  janitor_fd_ = sv[0];
  return absl::OkStatus();
}

void NetLab::StopJanitor() {
  if (janitor_fd_ >= 0) close(janitor_fd_);
  janitor_fd_ = -1;
  if (janitor_pid_ <= 0) return;
  const pid_t pid = janitor_pid_;
  janitor_pid_ = -1;
  const bool exited = WaitFor(
      [pid] {
        const pid_t r = waitpid(pid, nullptr, WNOHANG);
        return r == pid || (r < 0 && errno == ECHILD);
      },
      kJanitorExitWait, absl::Milliseconds(2));
  if (!exited) {
    fprintf(stderr, "netlab: janitor %d did not exit within %s; killing it\n",
            pid, absl::FormatDuration(kJanitorExitWait).c_str());
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

absl::Status NetLab::CheckPrerequisites() {
  if (geteuid() != 0) {
    return absl::PermissionDeniedError(
        "NetLab needs root (network namespaces, veths, bridges)");
  }
  absl::StatusOr<std::string> ip = FindProgram("ip");
  if (!ip.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("NetLab needs iproute2: ", ip.status().message()));
  }
  return absl::OkStatus();
}

absl::Status NetLab::CheckUsable() const {
  if (!status_.ok()) return status_;
  if (destroyed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("netlab ", prefix_, " has been destroyed"));
  }
  if (getpid() != owner_pid_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "netlab ", prefix_, " belongs to process ", owner_pid_));
  }
  return absl::OkStatus();
}

absl::Status NetLab::CreateNamespace(const std::string& ns) {
  if (absl::Status s = TellJanitor(janitor_fd_, absl::StrCat("+", ns));
      !s.ok()) {
    return absl::InternalError(absl::StrCat(
        "not creating namespace ", ns,
        ": its cleanup after a crash cannot be guaranteed: ", s.message()));
  }
  absl::StatusOr<std::string> out =
      RunOrError({"ip", "netns", "add", ns}, kCommandTimeout);
  if (!out.ok()) return out.status();
  namespaces_.push_back(ns);
  return absl::OkStatus();
}

absl::Status NetLab::AddNetwork(absl::string_view network,
                                absl::string_view subnet) {
  if (absl::Status s = CheckUsable(); !s.ok()) return s;
  if (absl::Status s = CheckName("network name", network, kMaxLabName,
                                 /*allow_dash=*/true);
      !s.ok()) {
    return s;
  }
  if (networks_.count(network) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("network ", network, " already exists"));
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(subnet, '/');
  int prefix_len = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &prefix_len)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network ", network, ": subnet '", subnet,
        "' is not of the form A.B.C.D/LEN"));
  }
  absl::StatusOr<uint32_t> base = ParseIPv4(parts[0]);
  if (!base.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network ", network, ": subnet '", subnet, "': ",
        base.status().message()));
  }
  const bool allowed =
      std::find(std::begin(kAllowedNets), std::end(kAllowedNets),
                *base & 0xFFFFFF00u) != std::end(kAllowedNets);
  if (!allowed || prefix_len < 24 || prefix_len > 30) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network ", network, ": subnet ", subnet,
        " is not inside 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24 with "
        "a prefix of /24 to /30 (tests use documentation addresses only)"));
  }
  if ((*base & ~MaskOf(prefix_len)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network ", network, ": ", subnet, " has host bits set (the network "
        "address is ", FormatIPv4(*base & MaskOf(prefix_len)), ")"));
  }
  for (const auto& [other_name, other] : networks_) {
    const uint32_t mask = MaskOf(std::min(other.prefix_len, prefix_len));
    if ((other.base & mask) == (*base & mask)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "network ", network, ": ", subnet, " overlaps network ", other_name,
          " (", FormatIPv4(other.base), "/", other.prefix_len, ")"));
    }
  }

  if (switch_ns_.empty()) {
    const std::string ns = absl::StrCat(prefix_, "switch");
    if (absl::Status s = CreateNamespace(ns); !s.ok()) return s;
    switch_ns_ = ns;
  }
  Network net;
  net.index = static_cast<int>(networks_.size());
  net.base = *base;
  net.prefix_len = prefix_len;
  const std::string bridge = absl::StrCat("br", net.index);
  // A dumb hub: no STP delay, no IGMP snooping that could stop multicast
  // heartbeats when no querier is present.
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{
           {"ip", "-n", switch_ns_, "link", "add", bridge, "type", "bridge",
            "stp_state", "0", "mcast_snooping", "0"},
           {"ip", "-n", switch_ns_, "link", "set", "dev", bridge, "up"}}) {
    absl::StatusOr<std::string> out = RunOrError(argv, kCommandTimeout);
    if (!out.ok()) return out.status();
  }
  networks_.emplace(std::string(network), net);
  return absl::OkStatus();
}

absl::Status NetLab::AddHost(absl::string_view host,
                             const std::vector<NicSpec>& nics) {
  if (absl::Status s = CheckUsable(); !s.ok()) return s;
  if (absl::Status s =
          CheckName("host name", host, kMaxHostName, /*allow_dash=*/true);
      !s.ok()) {
    return s;
  }
  if (host == "switch") {
    return absl::InvalidArgumentError(
        "host name 'switch' is the switch namespace's");
  }
  if (hosts_.count(host) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("host ", host,
                                                 " already exists"));
  }
  if (nics.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("host ", host, " needs at least one NIC"));
  }

  Host h;
  h.index = next_host_index_;
  for (const NicSpec& spec : nics) {
    auto net = networks_.find(spec.network);
    if (net == networks_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "host ", host, ": no network named '", spec.network, "'"));
    }
    if (absl::Status s = CheckIfname(host, spec.ifname); !s.ok()) return s;
    for (const Nic& other : h.nics) {
      if (other.ifname == spec.ifname) {
        return absl::AlreadyExistsError(absl::StrCat(
            "host ", host, ": two NICs named ", spec.ifname));
      }
      if (other.network == spec.network) {
        return absl::AlreadyExistsError(
            absl::StrCat("host ", host, ": two NICs on network ",
                         spec.network, " (", other.ifname, ", ", spec.ifname,
                         ")"));
      }
    }
    const std::vector<absl::string_view> parts =
        absl::StrSplit(spec.address, absl::MaxSplits('/', 1));
    absl::StatusOr<uint32_t> addr = ParseIPv4(parts[0]);
    if (!addr.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "host ", host, " ", spec.ifname, ": ", addr.status().message()));
    }
    const Network& n = net->second;
    int len = n.prefix_len;
    if (parts.size() == 2 &&
        (!absl::SimpleAtoi(parts[1], &len) || len != n.prefix_len)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "host ", host, " ", spec.ifname, ": address ", spec.address,
          " must have network ", spec.network, "'s prefix /", n.prefix_len));
    }
    const uint32_t mask = MaskOf(n.prefix_len);
    if ((*addr & mask) != n.base || *addr == n.base ||
        *addr == (n.base | ~mask)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "host ", host, " ", spec.ifname, ": ", parts[0],
          " is not a host address of network ", spec.network, " (",
          FormatIPv4(n.base), "/", n.prefix_len, ")"));
    }
    const std::string address = FormatIPv4(*addr);
    for (const auto& [other_name, other] : hosts_) {
      for (const Nic& nic : other.nics) {
        if (nic.address == address) {
          return absl::AlreadyExistsError(absl::StrCat(
              "host ", host, ": address ", address, " is host ", other_name,
              "'s (", nic.ifname, ")"));
        }
      }
    }
    Nic nic;
    nic.network = spec.network;
    nic.ifname = spec.ifname;
    nic.address = address;
    nic.port = absl::StrCat("h", h.index, "n", n.index);
    h.nics.push_back(std::move(nic));
  }

  // Port names carry the index, so a host that failed halfway never lends
  // its leftover ports' names to the next one.
  ++next_host_index_;
  h.ns = absl::StrCat(prefix_, host);
  if (absl::Status s = CreateNamespace(h.ns); !s.ok()) return s;
  std::vector<std::vector<std::string>> commands;
  commands.push_back({"ip", "-n", h.ns, "link", "set", "dev", "lo", "up"});
  for (const Nic& nic : h.nics) {
    const Network& n = networks_.find(nic.network)->second;
    // Both ends are created inside their namespaces: the root namespace
    // never sees them.
    commands.push_back({"ip", "link", "add", nic.ifname, "netns", h.ns,
                        "type", "veth", "peer", "name", nic.port, "netns",
                        switch_ns_});
    commands.push_back({"ip", "-n", switch_ns_, "link", "set", "dev",
                        nic.port, "master", absl::StrCat("br", n.index),
                        "up"});
    commands.push_back({"ip", "-n", h.ns, "addr", "add",
                        absl::StrCat(nic.address, "/", n.prefix_len), "brd",
                        "+", "dev", nic.ifname});
    commands.push_back(
        {"ip", "-n", h.ns, "link", "set", "dev", nic.ifname, "up"});
  }
  for (const std::vector<std::string>& argv : commands) {
    absl::StatusOr<std::string> out = RunOrError(argv, kCommandTimeout);
    if (!out.ok()) {
      return absl::Status(out.status().code(),
                          absl::StrCat("host ", host, ": ",
                                       out.status().message()));
    }
  }
  std::vector<std::pair<std::string, std::string>> links;
  for (const Nic& nic : h.nics) {
    links.emplace_back(h.ns, nic.ifname);
    links.emplace_back(switch_ns_, nic.port);
  }
  if (absl::Status s = WaitOperational(links); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("host ", host, ": ", s.message()));
  }
  host_order_.emplace_back(host);
  hosts_.emplace(std::string(host), std::move(h));
  return absl::OkStatus();
}

std::vector<std::string> NetLab::Hosts() const { return host_order_; }

std::vector<std::string> NetLab::Namespaces() const { return namespaces_; }

absl::StatusOr<const NetLab::Host*> NetLab::FindHost(
    absl::string_view host) const {
  if (absl::Status s = CheckUsable(); !s.ok()) return s;
  auto it = hosts_.find(host);
  if (it == hosts_.end()) {
    return absl::NotFoundError(absl::StrCat("netlab ", prefix_,
                                            ": no host named '", host, "'"));
  }
  return &it->second;
}

absl::StatusOr<const NetLab::Nic*> NetLab::FindNic(
    const Host& host, absl::string_view ifname) const {
  for (const Nic& nic : host.nics) {
    if (nic.ifname == ifname) return &nic;
  }
  return absl::NotFoundError(absl::StrCat(
      "namespace ", host.ns, " has no NIC named '", ifname, "'"));
}

absl::StatusOr<std::string> NetLab::NamespaceOf(absl::string_view host) const {
  absl::StatusOr<const Host*> h = FindHost(host);
  if (!h.ok()) return h.status();
  return (*h)->ns;
}

absl::StatusOr<std::string> NetLab::NetnsPathOf(absl::string_view host) const {
  absl::StatusOr<std::string> ns = NamespaceOf(host);
  if (!ns.ok()) return ns.status();
  return NetnsPath(*ns);
}

absl::StatusOr<std::string> NetLab::AddressOf(absl::string_view host,
                                              absl::string_view ifname) const {
  absl::StatusOr<const Host*> h = FindHost(host);
  if (!h.ok()) return h.status();
  absl::StatusOr<const Nic*> nic = FindNic(**h, ifname);
  if (!nic.ok()) return nic.status();
  return (*nic)->address;
}

absl::StatusOr<std::vector<pid_t>> NetLab::PidsIn(
    absl::string_view host) const {
  absl::StatusOr<std::string> path = NetnsPathOf(host);
  if (!path.ok()) return path.status();
  return PidsInNetns(*path);
}

absl::Status NetLab::SetLinkUp(absl::string_view host,
                               absl::string_view ifname, bool up,
                               LinkEnd end) {
  absl::StatusOr<const Host*> h = FindHost(host);
  if (!h.ok()) return h.status();
  absl::StatusOr<const Nic*> nic = FindNic(**h, ifname);
  if (!nic.ok()) return nic.status();
  const std::pair<std::string, std::string> host_end((*h)->ns, (*nic)->ifname);
  const std::pair<std::string, std::string> switch_end(switch_ns_,
                                                       (*nic)->port);
  const auto& [ns, dev] = end == LinkEnd::kHost ? host_end : switch_end;
  const auto& [peer_ns, peer_dev] =
      end == LinkEnd::kHost ? switch_end : host_end;
  absl::StatusOr<std::string> out = RunOrError(
      {"ip", "-n", ns, "link", "set", "dev", dev, up ? "up" : "down"},
      kCommandTimeout);
  if (!out.ok() || !up) return out.status();
  // Back up: return once packets pass, unless the other end is down too.
  absl::StatusOr<std::map<std::string, LinkState>> peer = LinkStates(peer_ns);
  if (!peer.ok()) return peer.status();
  const auto it = peer->find(peer_dev);
  if (it == peer->end() || !it->second.admin_up) return absl::OkStatus();
  return WaitOperational({host_end, switch_end});
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
NetLab::PortPairs(absl::string_view host_a, absl::string_view host_b,
                  absl::string_view ifname) const {
  absl::StatusOr<const Host*> a = FindHost(host_a);
  if (!a.ok()) return a.status();
  absl::StatusOr<const Host*> b = FindHost(host_b);
  if (!b.ok()) return b.status();
  if (*a == *b) {
    return absl::InvalidArgumentError(
        absl::StrCat("a path needs two hosts, got ", host_a, " twice"));
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  auto peer_on = [&](const std::string& network) -> const Nic* {
    for (const Nic& nic : (*b)->nics) {
      if (nic.network == network) return &nic;
    }
    return nullptr;
  };
  if (!ifname.empty()) {
    absl::StatusOr<const Nic*> nic = FindNic(**a, ifname);
    if (!nic.ok()) return nic.status();
    const Nic* peer = peer_on((*nic)->network);
    if (peer == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("host ", host_b, " has no NIC on network ",
                       (*nic)->network, " (", host_a, "'s ", ifname, ")"));
    }
    pairs.emplace_back((*nic)->port, peer->port);
    return pairs;
  }
  for (const Nic& nic : (*a)->nics) {
    if (const Nic* peer = peer_on(nic.network)) {
      pairs.emplace_back(nic.port, peer->port);
    }
  }
  if (pairs.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "hosts ", host_a, " and ", host_b, " share no network"));
  }
  return pairs;
}

absl::Status NetLab::EnsureCutTable() {
  if (cut_table_) return absl::OkStatus();
  // One set of (input port, output port) pairs and one rule in the bridge's
  // forward hook: a frame flooded to many ports is dropped only towards the
  // ports the set names.
  SpawnOptions in_switch;
  in_switch.netns_path = NetnsPath(switch_ns_);
  in_switch.remount_sys = false;
  absl::StatusOr<std::string> out = RunOrError(
      {"nft",
       "add table bridge netlab; "
       "add set bridge netlab cuts { type ifname . ifname; }; "
       "add chain bridge netlab cutpath "
       "{ type filter hook forward priority 0; policy accept; }; "
       "add rule bridge netlab cutpath iifname . oifname @cuts drop"},
      kCommandTimeout, in_switch);
  if (!out.ok()) return out.status();
  cut_table_ = true;
  return absl::OkStatus();
}

absl::Status NetLab::CutPath(absl::string_view host_a,
                             absl::string_view host_b,
                             absl::string_view ifname) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs =
      PortPairs(host_a, host_b, ifname);
  if (!pairs.ok()) return pairs.status();
  std::vector<std::pair<std::string, std::string>> add;
  for (const auto& [p, q] : *pairs) {
    for (const auto& dir : {std::make_pair(p, q), std::make_pair(q, p)}) {
      if (cuts_.count(dir) == 0) add.push_back(dir);
    }
  }
  if (add.empty()) return absl::OkStatus();
  if (absl::Status s = EnsureCutTable(); !s.ok()) return s;
  std::vector<std::string> elements;
  for (const auto& [p, q] : add) {
    elements.push_back(absl::StrCat("\"", p, "\" . \"", q, "\""));
  }
  SpawnOptions in_switch;
  in_switch.netns_path = NetnsPath(switch_ns_);
  in_switch.remount_sys = false;
  absl::StatusOr<std::string> out = RunOrError(
      {"nft", "add", "element", "bridge", "netlab", "cuts",
       absl::StrCat("{ ", absl::StrJoin(elements, ", "), " }")},
      kCommandTimeout, in_switch);
  if (!out.ok()) return out.status();
  cuts_.insert(add.begin(), add.end());
  return absl::OkStatus();
}

absl::Status NetLab::HealPath(absl::string_view host_a,
                              absl::string_view host_b,
                              absl::string_view ifname) {
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> pairs =
      PortPairs(host_a, host_b, ifname);
  if (!pairs.ok()) return pairs.status();
  std::vector<std::pair<std::string, std::string>> remove;
  for (const auto& [p, q] : *pairs) {
    for (const auto& dir : {std::make_pair(p, q), std::make_pair(q, p)}) {
      if (cuts_.count(dir) != 0) remove.push_back(dir);
    }
  }
  if (remove.empty()) return absl::OkStatus();
  std::vector<std::string> elements;
  for (const auto& [p, q] : remove) {
    elements.push_back(absl::StrCat("\"", p, "\" . \"", q, "\""));
  }
  SpawnOptions in_switch;
  in_switch.netns_path = NetnsPath(switch_ns_);
  in_switch.remount_sys = false;
  absl::StatusOr<std::string> out = RunOrError(
      {"nft", "delete", "element", "bridge", "netlab", "cuts",
       absl::StrCat("{ ", absl::StrJoin(elements, ", "), " }")},
      kCommandTimeout, in_switch);
  if (!out.ok()) return out.status();
  for (const auto& dir : remove) cuts_.erase(dir);
  return absl::OkStatus();
}

absl::Status NetLab::AddDelay(absl::string_view host, absl::string_view ifname,
                              absl::Duration delay) {
  absl::StatusOr<const Host*> h = FindHost(host);
  if (!h.ok()) return h.status();
  absl::StatusOr<const Nic*> nic = FindNic(**h, ifname);
  if (!nic.ok()) return nic.status();
  if (delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "negative delay ", absl::FormatDuration(delay), " for ", host, " ",
        ifname));
  }
  const auto key = std::make_pair((*h)->ns, (*nic)->ifname);
  if (delay == absl::ZeroDuration()) {
    if (delayed_.count(key) == 0) return absl::OkStatus();
    absl::StatusOr<std::string> out = RunOrError(
        {"tc", "-n", (*h)->ns, "qdisc", "del", "dev", (*nic)->ifname, "root"},
        kCommandTimeout);
    if (!out.ok()) return out.status();
    delayed_.erase(key);
    return absl::OkStatus();
  }
  const std::vector<std::string> argv = {
      "tc", "-n", (*h)->ns, "qdisc", "replace", "dev", (*nic)->ifname, "root",
      "netem", "delay",
      absl::StrCat(absl::ToInt64Microseconds(delay), "us")};
  absl::StatusOr<RunResult> r = RunProcess(argv, kCommandTimeout);
  if (!r.ok()) return r.status();
  if (!r->status.ok()) {
    const std::string output(absl::StripTrailingAsciiWhitespace(r->output));
    if (absl::StrContains(output, "qdisc kind is unknown")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "tc netem is not available: this kernel has no sch_netem "
          "(CONFIG_NET_SCH_NETEM); ",
          absl::StrJoin(argv, " "), " said: ", output));
    }
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "),
                                            " failed (", r->status.ToString(),
                                            "): ", output));
  }
  delayed_.insert(key);
  return absl::OkStatus();
}

absl::StatusOr<Process> NetLab::Spawn(absl::string_view host,
                                      const std::vector<std::string>& argv,
                                      const std::string& log_path,
                                      SpawnOptions options) {
  if (absl::Status s = CheckUsable(); !s.ok()) return s;
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("spawn: empty argv");
  }
  options.netns_path.clear();
  if (!host.empty()) {
    absl::StatusOr<std::string> path = NetnsPathOf(host);
    if (!path.ok()) return path.status();
    options.netns_path = *std::move(path);
  }
  std::string log = log_path;
  if (log.empty()) {
    absl::StatusOr<std::string> made =
        NewLogPath(absl::StrCat(prefix_, host.empty() ? "local" : host, ".",
                                ProgramBase(argv[0])));
    if (!made.ok()) return made.status();
    log = *std::move(made);
  }
  return SpawnProcess(argv, log, options);
}

absl::StatusOr<RunResult> NetLab::Run(absl::string_view host,
                                      const std::vector<std::string>& argv,
                                      absl::Duration timeout) {
  if (absl::Status s = CheckUsable(); !s.ok()) return s;
  SpawnOptions options;
  if (!host.empty()) {
    absl::StatusOr<std::string> path = NetnsPathOf(host);
    if (!path.ok()) return path.status();
    options.netns_path = *std::move(path);
  }
  return RunProcess(argv, timeout, options);
}

absl::Status NetLab::Destroy() {
  if (destroyed_ || getpid() != owner_pid_) return absl::OkStatus();
  destroyed_ = true;
  // Hosts first (reverse order of creation), the switch last.
  const std::vector<std::string> names(namespaces_.rbegin(),
                                       namespaces_.rend());
  absl::Status removed = RemoveNamespaces(names);
  // The janitor reads EOF, retries whatever could not be removed, and exits.
  StopJanitor();
  if (removed.ok()) ReleaseLock();  // else a later sweep retries
  namespaces_.clear();
  hosts_.clear();
  host_order_.clear();
  networks_.clear();
  cuts_.clear();
  delayed_.clear();
  switch_ns_.clear();
  cut_table_ = false;
  if (!removed.ok()) {
    return absl::Status(removed.code(), absl::StrCat("netlab ", prefix_, ": ",
                                                     removed.message()));
  }
  return absl::OkStatus();
}

}  // namespace hacluster::harness
