#include "tests/harness/netlab.h"

#include <dirent.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::harness {
namespace {

#define ASSERT_OK(expr)                           \
  do {                                            \
    const absl::Status _s = (expr);               \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s;  \
  } while (0)

std::set<std::string> NetnsNames() {
  std::set<std::string> names;
  DIR* d = opendir("/run/netns");
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.insert(n);
  }
  closedir(d);
  return names;
}

bool AnyNetnsStartsWith(const std::string& prefix) {
  for (const std::string& n : NetnsNames()) {
    if (absl::StartsWith(n, prefix)) return true;
  }
  return false;
}

// Alive and not a zombie.
bool Alive(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return false;
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Interfaces, addresses and IPv4 routes of the namespace the test runs in.
std::string RootNamespaceSnapshot() {
  std::vector<std::string> lines;
  if (struct if_nameindex* ifs = if_nameindex()) {
    for (struct if_nameindex* i = ifs; i->if_index != 0; ++i) {
      lines.push_back(absl::StrCat("link ", i->if_index, " ", i->if_name));
    }
    if_freenameindex(ifs);
  }
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{
           {"ip", "-br", "addr", "show"},
           {"ip", "-4", "route", "show", "table", "all"}}) {
    absl::StatusOr<std::string> out = RunOrError(argv);
    lines.push_back(out.ok() ? *out : out.status().ToString());
  }
  return absl::StrJoin(lines, "\n");
}

// The process group of `pid`, -1 when it does not exist.
pid_t ProcessGroupOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> f =
      absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
  pid_t pgrp = -1;
  if (f.size() < 3 || !absl::SimpleAtoi(f[2], &pgrp)) return -1;
  return pgrp;
}

// Starts a daemon in `host` that left the spawned process group (setsid) and
// has no parent-death signal: only the lab's cleanup can find it. Returns
// its pid, or -1.
pid_t StartDaemon(NetLab& lab, const std::string& host) {
  absl::StatusOr<Process> p = lab.Spawn(host, {"setsid", "-f", "sleep", "600"});
  if (!p.ok() || !p->Wait(absl::Seconds(5)).ok()) return -1;
  pid_t daemon = -1;
  // Until the daemon has its own process group, destroying `p` (which kills
  // p's group) would kill it too.
  WaitFor(
      [&] {
        for (pid_t pid : lab.PidsIn(host).value_or(std::vector<pid_t>{})) {
          if (ProcessGroupOf(pid) == pid) daemon = pid;
        }
        return daemon > 0;
      },
      absl::Seconds(5));
  return daemon;
}

class NetLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << pre;
    ASSERT_TRUE(FindProgram("ping").ok())
        << "ping (iputils-ping) is needed by this test";
  }

  // One ICMP echo from `host` to `address`, waiting at most 1 s.
  static bool Ping(NetLab& lab, const std::string& host,
                   const std::string& address) {
    absl::StatusOr<RunResult> r =
        lab.Run(host, {"ping", "-n", "-c1", "-W1", address}, absl::Seconds(5));
    return r.ok() && r->status.ok();
  }

  // Pings until one gets through, for at most 10 s.
  static bool PingsWithin(NetLab& lab, const std::string& host,
                          const std::string& address) {
    return WaitFor([&] { return Ping(lab, host, address); }, absl::Seconds(10),
                   absl::Milliseconds(50));
  }
};

TEST_F(NetLabTest, TwoHostsOnOneNetworkPingEachOther) {
  NetLab lab("ping");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddHost("node01", {{"lan", "eth0", "192.0.2.11"}}));
  ASSERT_OK(lab.AddHost("node02", {{"lan", "eth0", "192.0.2.12/24"}}));
  // AddHost returns with the links ready: the first ping gets through.
  EXPECT_TRUE(Ping(lab, "node01", "192.0.2.12"));
  EXPECT_TRUE(Ping(lab, "node02", "192.0.2.11"));
  EXPECT_EQ(lab.Hosts(), (std::vector<std::string>{"node01", "node02"}));
  EXPECT_EQ(*lab.AddressOf("node02", "eth0"), "192.0.2.12");

  // The NIC has its address and broadcast address; lo is up; there is no
  // default route, only the segment's.
  absl::StatusOr<RunResult> addr =
      lab.Run("node01", {"ip", "-o", "-4", "addr", "show"});
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_TRUE(absl::StrContains(addr->output,
                                "eth0    inet 192.0.2.11/24 brd 192.0.2.255"))
      << addr->output;
  EXPECT_TRUE(absl::StrContains(addr->output, "lo    inet 127.0.0.1/8"))
      << addr->output;
  absl::StatusOr<RunResult> routes =
      lab.Run("node01", {"ip", "-4", "route", "show"});
  ASSERT_TRUE(routes.ok()) << routes.status();
  EXPECT_EQ(routes->output,
            "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.11 \n");
  // /sys describes the host's namespace, as under `ip netns exec`.
  absl::StatusOr<RunResult> sys = lab.Run("node01", {"ls", "/sys/class/net"});
  ASSERT_TRUE(sys.ok()) << sys.status();
  EXPECT_EQ(sys->output, "eth0\nlo\n");
}

TEST_F(NetLabTest, NamespaceNamesCarryAPrefixUniqueToTheLab) {
  NetLab one("same");
  NetLab two("same");
  ASSERT_OK(one.status());
  ASSERT_OK(two.status());
  EXPECT_NE(one.prefix(), two.prefix());
  EXPECT_TRUE(absl::StartsWith(one.prefix(), absl::StrCat("hat", getpid(), "-")))
      << one.prefix();
  EXPECT_TRUE(absl::EndsWith(one.prefix(), "-same-")) << one.prefix();
  ASSERT_OK(one.AddNetwork("lan", "203.0.113.0/24"));
  ASSERT_OK(one.AddHost("a", {{"lan", "eth0", "203.0.113.1"}}));
  ASSERT_OK(two.AddNetwork("lan", "203.0.113.0/24"));
  ASSERT_OK(two.AddHost("a", {{"lan", "eth0", "203.0.113.1"}}));

  EXPECT_EQ(*one.NamespaceOf("a"), one.prefix() + "a");
  EXPECT_EQ(one.switch_namespace(), one.prefix() + "switch");
  EXPECT_EQ(*one.NetnsPathOf("a"), "/run/netns/" + one.prefix() + "a");
  const std::set<std::string> present = NetnsNames();
  for (NetLab* lab : {&one, &two}) {
    ASSERT_EQ(lab->Namespaces().size(), 2u);
    for (const std::string& ns : lab->Namespaces()) {
      EXPECT_TRUE(absl::StartsWith(ns, lab->prefix())) << ns;
      EXPECT_EQ(present.count(ns), 1u) << ns;
    }
  }
  // The same addresses in two labs do not meet: each lab is its own world.
  EXPECT_TRUE(Ping(one, "a", "203.0.113.1"));
  EXPECT_FALSE(Ping(one, "a", "203.0.113.2"));
}

TEST_F(NetLabTest, DestroyRemovesEveryNamespaceAndKillsWhatRanThere) {
  NetLab lab("destroy");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddNetwork("hb", "198.51.100.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"},
                              {"hb", "eth1", "198.51.100.1"}}));
  ASSERT_OK(lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"}}));
  const pid_t daemon = StartDaemon(lab, "a");
  ASSERT_GT(daemon, 0);
  absl::StatusOr<Process> spawned = lab.Spawn("b", {"sleep", "600"});
  ASSERT_TRUE(spawned.ok()) << spawned.status();
  EXPECT_EQ(lab.PidsIn("b").value_or(std::vector<pid_t>{}),
            std::vector<pid_t>{spawned->pid()});
  const pid_t janitor = lab.janitor_pid_for_test();
  ASSERT_GT(janitor, 0);
  EXPECT_TRUE(Alive(janitor));
  const std::string prefix = lab.prefix();
  ASSERT_TRUE(AnyNetnsStartsWith(prefix));
  const std::string lock = lab.lock_path_for_test();
  ASSERT_EQ(access(lock.c_str(), F_OK), 0) << lock;

  ASSERT_OK(lab.Destroy());
  EXPECT_FALSE(AnyNetnsStartsWith(prefix));
  EXPECT_NE(access(lock.c_str(), F_OK), 0);
  EXPECT_TRUE(lab.Namespaces().empty());
  EXPECT_TRUE(WaitFor([&] { return !Alive(daemon); }, absl::Seconds(5)));
  EXPECT_TRUE(spawned->TryWait().has_value());
  EXPECT_EQ(spawned->TryWait()->signal, SIGKILL);
  EXPECT_EQ(lab.janitor_pid_for_test(), -1);
  EXPECT_FALSE(Alive(janitor));
  // Destroyed means unusable, and destroying again is harmless.
  EXPECT_EQ(lab.AddHost("c", {{"lan", "eth0", "192.0.2.3"}}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(lab.Destroy().ok());
}

// A lab built by another process (a forked child, "the owner"), with a
// daemon in it, as the owner reported it.
struct ForeignLab {
  pid_t owner = -1;
  std::string prefix;
  pid_t janitor = -1;
  pid_t daemon = -1;
  std::string lock_path;
};

// Forks an owner that builds a lab, reports it and waits to be killed
// (alarm() bounds its life should the test itself die first).
absl::StatusOr<ForeignLab> StartForeignLab(const std::string& name) {
  int report[2];
  if (pipe(report) != 0) return absl::InternalError("pipe");
  const pid_t owner = fork();
  if (owner < 0) return absl::InternalError("fork");
  if (owner == 0) {
    close(report[0]);
    alarm(60);
    NetLab lab(name);
    absl::Status s = lab.AddNetwork("lan", "192.0.2.0/24");
    if (s.ok()) s = lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"}});
    if (s.ok()) s = lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"}});
    const pid_t daemon = s.ok() ? StartDaemon(lab, "a") : -1;
    const std::string line =
        daemon > 0 ? absl::StrCat(lab.prefix(), " ", lab.janitor_pid_for_test(),
                                  " ", daemon, " ", lab.lock_path_for_test(),
                                  "\n")
                   : absl::StrCat("error: ", s.ToString(), " / no daemon\n");
    ssize_t ignored = write(report[1], line.data(), line.size());
    (void)ignored;
    while (true) pause();
  }
  close(report[1]);
  std::string line;
  char buf[512];
  struct pollfd p = {report[0], POLLIN, 0};
  while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) == 1) {
    const ssize_t n = read(report[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(report[0]);
  ForeignLab lab;
  lab.owner = owner;
  const std::vector<std::string> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(line), ' ');
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[1], &lab.janitor) ||
      !absl::SimpleAtoi(parts[2], &lab.daemon)) {
    kill(owner, SIGKILL);
    waitpid(owner, nullptr, 0);
    return absl::InternalError(absl::StrCat("owner reported: ", line));
  }
  lab.prefix = parts[0];
  lab.lock_path = parts[3];
  return lab;
}

TEST_F(NetLabTest, JanitorCleansUpWhenTheOwnerIsKilled) {
  absl::StatusOr<ForeignLab> lab = StartForeignLab("janitor");
  ASSERT_TRUE(lab.ok()) << lab.status();
  ASSERT_TRUE(absl::StartsWith(lab->prefix, absl::StrCat("hat", lab->owner, "-")));
  ASSERT_TRUE(AnyNetnsStartsWith(lab->prefix));
  ASSERT_EQ(access(lab->lock_path.c_str(), F_OK), 0) << lab->lock_path;
  kill(lab->owner, SIGKILL);
  ASSERT_EQ(waitpid(lab->owner, nullptr, 0), lab->owner);

  EXPECT_TRUE(WaitFor([&] { return !AnyNetnsStartsWith(lab->prefix); },
                      absl::Seconds(15)))
      << "left behind: " << absl::StrJoin(NetnsNames(), " ");
  EXPECT_TRUE(WaitFor([&] { return !Alive(lab->daemon); }, absl::Seconds(5)));
  // The janitor does not outlive its job, and takes the lock file with it.
  EXPECT_TRUE(WaitFor([&] { return !Alive(lab->janitor); }, absl::Seconds(5)));
  EXPECT_NE(access(lab->lock_path.c_str(), F_OK), 0);
}

TEST_F(NetLabTest, TheNextLabRemovesWhatADeadLabsKilledJanitorLeft) {
  absl::StatusOr<ForeignLab> dead = StartForeignLab("orphan");
  ASSERT_TRUE(dead.ok()) << dead.status();
  // As a runner that SIGKILLs every leftover process would: the janitor
  // first, then the owner.
  kill(dead->janitor, SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return !Alive(dead->janitor); }, absl::Seconds(5)));
  kill(dead->owner, SIGKILL);
  ASSERT_EQ(waitpid(dead->owner, nullptr, 0), dead->owner);
  ASSERT_TRUE(AnyNetnsStartsWith(dead->prefix));
  ASSERT_TRUE(Alive(dead->daemon));

  // A live lab is never swept.
  NetLab alive("alive");
  ASSERT_OK(alive.status());
  ASSERT_OK(alive.AddNetwork("lan", "192.0.2.0/24"));

  NetLab next("next");
  ASSERT_OK(next.status());
  EXPECT_FALSE(AnyNetnsStartsWith(dead->prefix))
      << "left behind: " << absl::StrJoin(NetnsNames(), " ");
  EXPECT_NE(access(dead->lock_path.c_str(), F_OK), 0);
  EXPECT_TRUE(WaitFor([&] { return !Alive(dead->daemon); }, absl::Seconds(5)));
  EXPECT_TRUE(AnyNetnsStartsWith(alive.prefix()));
  EXPECT_EQ(access(alive.lock_path_for_test().c_str(), F_OK), 0);
}

TEST_F(NetLabTest, DownedLinkStopsTrafficAndUpRestoresIt) {
  NetLab lab("link");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"}}));
  ASSERT_OK(lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"}}));
  ASSERT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));

  ASSERT_OK(lab.SetLinkUp("a", "eth0", false));
  EXPECT_FALSE(Ping(lab, "a", "192.0.2.2"));
  EXPECT_FALSE(Ping(lab, "b", "192.0.2.1"));
  ASSERT_OK(lab.SetLinkUp("a", "eth0", true));
  // A neighbour entry left unresolved by the pings while down is retried on
  // the kernel's own ARP timer (1 s): traffic comes back within a few pings.
  EXPECT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));

  // The switch port: the host's NIC stays up but loses its carrier.
  ASSERT_OK(lab.SetLinkUp("b", "eth0", false, LinkEnd::kSwitch));
  absl::StatusOr<RunResult> link =
      lab.Run("b", {"ip", "-o", "link", "show", "dev", "eth0"});
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_TRUE(absl::StrContains(link->output, "NO-CARRIER")) << link->output;
  EXPECT_FALSE(Ping(lab, "a", "192.0.2.2"));
  ASSERT_OK(lab.SetLinkUp("b", "eth0", true, LinkEnd::kSwitch));
  EXPECT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));

  // Both ends down, then up one at a time: the first up does not wait for a
  // link that cannot come up.
  ASSERT_OK(lab.SetLinkUp("a", "eth0", false));
  ASSERT_OK(lab.SetLinkUp("a", "eth0", false, LinkEnd::kSwitch));
  const absl::Time start = absl::Now();
  ASSERT_OK(lab.SetLinkUp("a", "eth0", true));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(Ping(lab, "a", "192.0.2.2"));
  ASSERT_OK(lab.SetLinkUp("a", "eth0", true, LinkEnd::kSwitch));
  EXPECT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));

  EXPECT_EQ(lab.SetLinkUp("a", "eth7", false).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(lab.SetLinkUp("zz", "eth0", false).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(NetLabTest, CutPathStopsOnlyThatPathBothWaysAndHealRestoresIt) {
  NetLab lab("cut");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"}}));
  ASSERT_OK(lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"}}));
  ASSERT_OK(lab.AddHost("c", {{"lan", "eth0", "192.0.2.3"}}));
  ASSERT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));
  ASSERT_TRUE(PingsWithin(lab, "a", "192.0.2.3"));
  for (const char* host : {"b", "c"}) {
    absl::StatusOr<RunResult> r = lab.Run(
        host, {"sysctl", "-w", "net.ipv4.icmp_echo_ignore_broadcasts=0"});
    ASSERT_TRUE(r.ok() && r->status.ok()) << host;
  }

  ASSERT_OK(lab.CutPath("a", "b"));
  ASSERT_OK(lab.CutPath("b", "a"));  // already cut: no-op
  EXPECT_FALSE(Ping(lab, "a", "192.0.2.2"));
  EXPECT_FALSE(Ping(lab, "b", "192.0.2.1"));
  EXPECT_TRUE(Ping(lab, "a", "192.0.2.3"));
  EXPECT_TRUE(Ping(lab, "b", "192.0.2.3"));
  // Broadcasts too: from a they reach c only.
  absl::StatusOr<RunResult> bcast = lab.Run(
      "a", {"ping", "-n", "-b", "-c2", "-i0.2", "-w2", "192.0.2.255"});
  ASSERT_TRUE(bcast.ok()) << bcast.status();
  EXPECT_TRUE(absl::StrContains(bcast->output, "from 192.0.2.3"))
      << bcast->output;
  EXPECT_FALSE(absl::StrContains(bcast->output, "from 192.0.2.2"))
      << bcast->output;

  ASSERT_OK(lab.HealPath("b", "a"));
  ASSERT_OK(lab.HealPath("a", "b"));  // already healed: no-op
  EXPECT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));
  EXPECT_TRUE(Ping(lab, "b", "192.0.2.1"));
}

TEST_F(NetLabTest, CuttingOneNetworkLeavesTheOtherPath) {
  NetLab lab("twopath");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddNetwork("hb", "198.51.100.0/24"));
  ASSERT_OK(lab.AddHost("node01", {{"lan", "eth0", "192.0.2.11"},
                                   {"hb", "eth1", "198.51.100.11"}}));
  ASSERT_OK(lab.AddHost("node02", {{"lan", "eth0", "192.0.2.12"},
                                   {"hb", "eth1", "198.51.100.12"}}));
  ASSERT_TRUE(PingsWithin(lab, "node01", "192.0.2.12"));
  ASSERT_TRUE(PingsWithin(lab, "node01", "198.51.100.12"));

  ASSERT_OK(lab.CutPath("node01", "node02", "eth1"));
  EXPECT_FALSE(Ping(lab, "node01", "198.51.100.12"));
  EXPECT_TRUE(Ping(lab, "node01", "192.0.2.12"));
  ASSERT_OK(lab.CutPath("node01", "node02"));  // every shared network
  EXPECT_FALSE(Ping(lab, "node01", "192.0.2.12"));
  ASSERT_OK(lab.HealPath("node01", "node02", "eth0"));
  EXPECT_TRUE(PingsWithin(lab, "node01", "192.0.2.12"));
  EXPECT_FALSE(Ping(lab, "node01", "198.51.100.12"));
  ASSERT_OK(lab.HealPath("node01", "node02"));
  EXPECT_TRUE(PingsWithin(lab, "node01", "198.51.100.12"));
}

TEST_F(NetLabTest, CutPathErrorsNameWhatIsWrong) {
  NetLab lab("cuterr");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddNetwork("hb", "198.51.100.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"},
                              {"hb", "eth1", "198.51.100.1"}}));
  ASSERT_OK(lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"}}));
  ASSERT_OK(lab.AddHost("c", {{"hb", "eth0", "198.51.100.3"}}));
  EXPECT_EQ(lab.CutPath("a", "nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(lab.CutPath("a", "a").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(lab.CutPath("a", "b", "eth9").code(), absl::StatusCode::kNotFound);
  const absl::Status no_nic = lab.CutPath("a", "b", "eth1");
  EXPECT_EQ(no_nic.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(no_nic.message(), "no NIC on network hb"))
      << no_nic;
  const absl::Status apart = lab.CutPath("b", "c");
  EXPECT_EQ(apart.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(apart.message(), "share no network")) << apart;
}

TEST_F(NetLabTest, AddressesOutsideTheDocumentationRangesAreRefused) {
  NetLab lab("rules");
  ASSERT_OK(lab.status());
  for (const char* subnet : {"10.0.0.0/24", "192.168.1.0/24", "192.0.2.0/16",
                             "192.0.2.0/31", "192.0.2.0", "192.0.2.0/x",
                             "192.0.3.0/24", "not-an-address/24"}) {
    EXPECT_EQ(lab.AddNetwork("lan", subnet).code(),
              absl::StatusCode::kInvalidArgument)
        << subnet;
  }
  const absl::Status host_bits = lab.AddNetwork("lan", "192.0.2.5/24");
  EXPECT_EQ(host_bits.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(host_bits.message(), "192.0.2.0"))
      << host_bits;
  EXPECT_TRUE(lab.switch_namespace().empty());  // nothing made so far

  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/25"));
  ASSERT_OK(lab.AddNetwork("hb", "203.0.113.64/26"));
  EXPECT_EQ(lab.AddNetwork("lan", "198.51.100.0/24").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(lab.AddNetwork("lan2", "192.0.2.0/24").code(),
            absl::StatusCode::kAlreadyExists);  // overlaps lan
  EXPECT_EQ(lab.AddNetwork("bad name", "198.51.100.0/24").code(),
            absl::StatusCode::kInvalidArgument);

  struct Case {
    std::string host;
    std::vector<NicSpec> nics;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"h", {{"lan", "eth0", "192.0.2.200"}}, absl::StatusCode::kInvalidArgument},
      {"h", {{"lan", "eth0", "192.0.2.0"}}, absl::StatusCode::kInvalidArgument},
      {"h", {{"lan", "eth0", "192.0.2.127"}}, absl::StatusCode::kInvalidArgument},
      {"h", {{"lan", "eth0", "192.0.2.1/24"}}, absl::StatusCode::kInvalidArgument},
      {"h", {{"lan", "eth0", "10.1.1.1"}}, absl::StatusCode::kInvalidArgument},
      {"h", {{"wan", "eth0", "192.0.2.1"}}, absl::StatusCode::kNotFound},
      {"h", {{"lan", "eth0123456789abc", "192.0.2.1"}},
       absl::StatusCode::kInvalidArgument},
      {"h", {{"lan", "lo", "192.0.2.1"}}, absl::StatusCode::kInvalidArgument},
      {"h", {{"lan", "e/0", "192.0.2.1"}}, absl::StatusCode::kInvalidArgument},
      {"h",
       {{"lan", "eth0", "192.0.2.1"}, {"hb", "eth0", "203.0.113.65"}},
       absl::StatusCode::kAlreadyExists},
      {"h",
       {{"lan", "eth0", "192.0.2.1"}, {"lan", "eth1", "192.0.2.2"}},
       absl::StatusCode::kAlreadyExists},
      {"h", {}, absl::StatusCode::kInvalidArgument},
      {"switch", {{"lan", "eth0", "192.0.2.1"}},
       absl::StatusCode::kInvalidArgument},
      {"no/slash", {{"lan", "eth0", "192.0.2.1"}},
       absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(lab.AddHost(c.host, c.nics).code(), c.code)
        << c.host << " " << (c.nics.empty() ? "" : c.nics[0].address);
  }
  EXPECT_TRUE(lab.Hosts().empty());
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"},
                              {"hb", "eth1", "203.0.113.65/26"}}));
  EXPECT_EQ(lab.AddHost("a", {{"lan", "eth0", "192.0.2.2"}}).code(),
            absl::StatusCode::kAlreadyExists);
  const absl::Status taken = lab.AddHost("b", {{"lan", "eth0", "192.0.2.1"}});
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StrContains(taken.message(), "host a")) << taken;

  NetLab bad_name("has-dash");
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_name.AddNetwork("lan", "192.0.2.0/24").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(NetLabTest, RootNamespaceInterfacesAddressesAndRoutesAreUntouched) {
  const std::string before = RootNamespaceSnapshot();
  {
    NetLab lab("root");
    ASSERT_OK(lab.status());
    ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
    ASSERT_OK(lab.AddNetwork("hb", "198.51.100.0/24"));
    ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"},
                                {"hb", "eth1", "198.51.100.1"}}));
    ASSERT_OK(lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"},
                                {"hb", "eth1", "198.51.100.2"}}));
    ASSERT_OK(lab.CutPath("a", "b", "eth1"));
    ASSERT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));
    EXPECT_EQ(RootNamespaceSnapshot(), before);
  }
  EXPECT_EQ(RootNamespaceSnapshot(), before);
}

TEST_F(NetLabTest, SpawnRunsInsideTheHostNamespaceOrHereForAnEmptyHost) {
  NetLab lab("spawn");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "198.51.100.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "198.51.100.7"}}));

  absl::StatusOr<Process> in_lab =
      lab.Spawn("a", {"ip", "-o", "-4", "addr", "show"});
  ASSERT_TRUE(in_lab.ok()) << in_lab.status();
  EXPECT_TRUE(absl::StartsWith(in_lab->log_path(),
                               DefaultLogDir() + "/" + lab.prefix() + "a.ip."))
      << in_lab->log_path();
  ASSERT_TRUE(in_lab->Wait(absl::Seconds(10)).ok());
  const std::string lab_view = ReadFile(in_lab->log_path());
  EXPECT_TRUE(absl::StrContains(lab_view, "198.51.100.7/24")) << lab_view;

  const std::string log = DefaultLogDir() + "/spawn_here.log";
  unlink(log.c_str());
  absl::StatusOr<Process> here =
      lab.Spawn("", {"ip", "-o", "-4", "addr", "show"}, log);
  ASSERT_TRUE(here.ok()) << here.status();
  ASSERT_TRUE(here->Wait(absl::Seconds(10)).ok());
  const std::string here_view = ReadFile(log);
  EXPECT_FALSE(absl::StrContains(here_view, "198.51.100.7")) << here_view;
  EXPECT_TRUE(absl::StrContains(here_view, "127.0.0.1")) << here_view;

  absl::StatusOr<Process> sleeper = lab.Spawn("a", {"sleep", "30"});
  ASSERT_TRUE(sleeper.ok()) << sleeper.status();
  EXPECT_EQ(lab.PidsIn("a").value_or(std::vector<pid_t>{}),
            std::vector<pid_t>{sleeper->pid()});
  EXPECT_EQ(lab.Spawn("nobody", {"true"}).status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<RunResult> slow =
      lab.Run("a", {"sleep", "30"}, absl::Milliseconds(200));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(NetLabTest, DelayArgumentsAreChecked) {
  NetLab lab("delayarg");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"}}));
  EXPECT_EQ(lab.AddDelay("a", "eth0", absl::Milliseconds(-1)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(lab.AddDelay("a", "eth5", absl::Milliseconds(10)).code(),
            absl::StatusCode::kNotFound);
  // Removing a delay that was never added is a no-op.
  EXPECT_TRUE(lab.AddDelay("a", "eth0", absl::ZeroDuration()).ok());
}

// Round-trip time of one ping, or a negative duration when it got no reply.
absl::Duration PingTime(NetLab& lab, const std::string& host,
                        const std::string& address) {
  absl::StatusOr<RunResult> r =
      lab.Run(host, {"ping", "-n", "-c1", "-W2", address}, absl::Seconds(5));
  if (!r.ok() || !r->status.ok()) return absl::Seconds(-1);
  const size_t at = r->output.find("time=");
  double ms = 0;
  if (at == std::string::npos ||
      !absl::SimpleAtod(absl::string_view(r->output)
                            .substr(at + 5, r->output.find(' ', at) - at - 5),
                        &ms)) {
    return absl::Seconds(-1);
  }
  return absl::Milliseconds(ms);
}

TEST_F(NetLabTest, DelayLengthensTheRoundTripUntilRemoved) {
  NetLab lab("delay");
  ASSERT_OK(lab.status());
  ASSERT_OK(lab.AddNetwork("lan", "192.0.2.0/24"));
  ASSERT_OK(lab.AddHost("a", {{"lan", "eth0", "192.0.2.1"}}));
  ASSERT_OK(lab.AddHost("b", {{"lan", "eth0", "192.0.2.2"}}));
  ASSERT_TRUE(PingsWithin(lab, "a", "192.0.2.2"));
  const absl::Status added = lab.AddDelay("a", "eth0", absl::Milliseconds(150));
  if (added.code() == absl::StatusCode::kFailedPrecondition &&
      absl::StrContains(added.message(), "sch_netem")) {
    GTEST_SKIP() << added;
  }
  ASSERT_OK(added);
  const absl::Duration delayed = PingTime(lab, "a", "192.0.2.2");
  EXPECT_GE(delayed, absl::Milliseconds(150));
  ASSERT_OK(lab.AddDelay("a", "eth0", absl::ZeroDuration()));
  const absl::Duration plain = PingTime(lab, "a", "192.0.2.2");
  EXPECT_GE(plain, absl::ZeroDuration());
  EXPECT_LT(plain, absl::Milliseconds(100));
}

}  // namespace
}  // namespace hacluster::harness
