// failover_bench: how fast and how reliably ha-agent detects a dead node,
// and what it costs. Runs real agents on loopback (127.x.y.z addresses of
// its own) and prints its figures with the settings used; it asserts
// nothing (the figures go to the README).
//
//   failover_bench [--short | --cost | --false-deaths RUNS]
//
// 1. Detection latency: node02 is killed with SIGKILL; the time from the kill
//    to node01's NODE_DEAD event (both on CLOCK_MONOTONIC), at keepalive 5 ms /
//    deadtime 20 ms and at keepalive 1 s / deadtime 5 s. Median and p99.
// 2. False deaths: a two-node cluster at keepalive 5 ms / deadtime 20 ms for
//    2 minutes while every core is kept busy by a spinning process; every
//    NODE_DEAD or LINK_DEAD either node reports is a false death.
// 3. Cost: RSS and CPU% of one core of an agent at keepalive 5 ms and 1 s
//    (CPU from the scheduler's per-thread accounting, both nodes), next to
//    two floors measured the same way, in turns with the agents over 5
//    rounds of 10 s: a bare process that only wakes every 5 ms, and a bare
//    pair of loops that each wake every 5 ms, send one HMAC-SHA256 frame and
//    read and verify the other's (what any agent sending a heartbeat per
//    keepalive pays at least).
//
// --short (what the test suite runs): fewer trials and shorter runs.
// --cost: only part 3.
// --false-deaths RUNS: only part 2, RUNS times.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "agent/wire/mac.h"
#include "proto/cluster_spec.pb.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;

class Bench {
 public:
  Bench() {
    LoopbackSpot spot = RandomLoopbackSpot();
    prefix_ = spot.prefix;
    port_ = spot.port;
    dir_.Write("authkey", "benchmark-secret\n", 0600);
  }

  std::string WriteSpec(const std::string& keepalive, const std::string& deadtime) {
    SpecOptions o;
    o.cluster_name = "bench";
    o.nodes = {{"node01", {prefix_ + "1"}}, {"node02", {prefix_ + "2"}}};
    o.udp_port = port_;
    o.keepalive = keepalive;
    o.deadtime = deadtime;
    o.initdead = deadtime;
    return dir_.Write(absl::StrCat("bench-", keepalive, "-", deadtime, ".yaml"), SpecYaml(o));
  }

  const std::string& prefix() const { return prefix_; }
  int port() const { return port_; }

  std::string Socket(const std::string& node) { return dir_.File(node + "/agent.sock"); }

  absl::StatusOr<harness::Process> Start(const std::string& spec, const std::string& node) {
    auto log = harness::NewLogPath("bench-" + node);
    if (!log.ok()) return log.status();
    return harness::SpawnProcess(
        {HaAgentPath(), "--config", spec, "--node", node, "--state-dir", dir_.File(node)}, *log);
  }

  bool WaitUp(const std::string& observer, const std::string& node, absl::Duration d) {
    AgentClient c(Socket(observer));
    return harness::WaitFor([&] { return c.StateOf(node) == v1::NODE_STATE_UP; }, d,
                            absl::Milliseconds(5));
  }

  // Kill -> declared dead, `trials` times. Returns latencies in ms.
  std::vector<double> Detection(const std::string& keepalive, const std::string& deadtime,
                                int trials, absl::Duration deadtime_d) {
    std::string spec = WriteSpec(keepalive, deadtime);
    std::vector<double> out;
    auto observer = Start(spec, "node01");
    if (!observer.ok()) {
      fprintf(stderr, "cannot start node01: %s\n", observer.status().ToString().c_str());
      return out;
    }
    if (!harness::WaitFor([&] { return AgentClient(Socket("node01")).Status().ok(); },
                          absl::Seconds(10))) {
      fprintf(stderr, "node01 did not come up\n");
      return out;
    }
    EventRecorder recorder(Socket("node01"));
    harness::WaitFor([&] { return recorder.connected(); }, absl::Seconds(5));
    std::mt19937 rng(42);
    for (int t = 0; t < trials; ++t) {
      auto victim = Start(spec, "node02");
      if (!victim.ok() || !WaitUp("node01", "node02", absl::Seconds(20))) {
        fprintf(stderr, "trial %d: node02 never came up\n", t);
        continue;
      }
      // Kill at a random phase of the heartbeat interval, after a few
      // heartbeats went out.
      absl::Duration ka = deadtime_d / 4;
      harness::WaitFor([] { return false; },
                       ka + absl::Microseconds(rng() % std::max<int64_t>(
                                                           1, absl::ToInt64Microseconds(ka))),
                       absl::Milliseconds(1));
      size_t before = recorder.Events().size();
      int64_t killed = MonotonicNs();
      (void)victim->Kill(SIGKILL);
      int64_t declared = 0;
      harness::WaitFor(
          [&] {
            std::vector<v1::Event> ev = recorder.Events();
            for (size_t i = before; i < ev.size(); ++i) {
              if (ev[i].kind() == v1::EVENT_KIND_NODE_DEAD && ev[i].node() == "node02") {
                declared = ev[i].monotonic_ns();
                return true;
              }
            }
            return false;
          },
          deadtime_d * 3 + absl::Seconds(5), absl::Milliseconds(2));
      (void)victim->Wait(absl::Seconds(5));
      if (declared == 0) {
        fprintf(stderr, "trial %d: node02 was not declared dead\n", t);
        continue;
      }
      out.push_back((declared - killed) / 1e6);
    }
    return out;
  }

  // Runs both nodes for `run` with all cores spinning; counts deaths.
  std::pair<int, int> FalseDeaths(absl::Duration run, int spinners) {
    std::string spec = WriteSpec("5ms", "20ms");
    auto a = Start(spec, "node01");
    auto b = Start(spec, "node02");
    if (!a.ok() || !b.ok() || !WaitUp("node01", "node02", absl::Seconds(10)) ||
        !WaitUp("node02", "node01", absl::Seconds(10))) {
      fprintf(stderr, "false-death run: the cluster did not form\n");
      return {-1, -1};
    }
    EventRecorder ra(Socket("node01"));
    EventRecorder rb(Socket("node02"));
    harness::WaitFor([&] { return ra.connected() && rb.connected(); }, absl::Seconds(5));
    size_t base_a = ra.Events().size(), base_b = rb.Events().size();
    std::vector<pid_t> spin;
    for (int i = 0; i < spinners; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        volatile uint64_t x = 0;
        alarm(static_cast<unsigned>(absl::ToInt64Seconds(run)) + 30);  // never outlives us long
        for (;;) x = x + 1;
      }
      spin.push_back(pid);
    }
    harness::WaitFor([] { return false; }, run, absl::Milliseconds(100));
    for (pid_t p : spin) {
      kill(p, SIGKILL);
      waitpid(p, nullptr, 0);
    }
    int node_deaths = 0, link_deaths = 0;
    // Every false death is printed with the agent's own reason (how long
    // the silence was), to tell a late sender from a late reader.
    auto count = [&](const std::vector<v1::Event>& ev, size_t base) {
      for (size_t i = base; i < ev.size(); ++i) {
        const bool node = ev[i].kind() == v1::EVENT_KIND_NODE_DEAD;
        if (!node && ev[i].kind() != v1::EVENT_KIND_LINK_DEAD) continue;
        (node ? node_deaths : link_deaths)++;
        printf("  false death: %s\n", ev[i].reason().c_str());
      }
    };
    count(ra.Events(), base_a);
    count(rb.Events(), base_b);
    return {node_deaths, link_deaths};
  }

  struct Cost {
    double rss_mb = 0;          // node01's resident set at the end
    double cpu_percent = 0;     // mean of both nodes, % of one core
    double cpu_percent_a = 0;   // node01
    double cpu_percent_b = 0;   // node02
    // node01's CPU by thread name, % of one core.
    std::map<std::string, double> by_thread_a;
  };

  // CPU time in ns of every thread of `pid` (the kernel's scheduler
  // accounting in /proc/PID/task/TID/schedstat, finer than the clock ticks of
  // /proc/PID/stat). Threads that ended before the reading are not counted.
  static bool ReadCpuNs(pid_t pid, uint64_t* ns) {
    std::error_code ec;
    std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid, "/task"), ec);
    if (ec) return false;
    uint64_t total = 0;
    for (const auto& task : it) {
      std::ifstream in(task.path() / "schedstat");
      uint64_t on_cpu = 0;
      if (in >> on_cpu) total += on_cpu;
    }
    *ns = total;
    return true;
  }

  // CPU time in ns of `pid`'s threads, summed by thread name (the loop is
  // "ha-agent"; gRPC's threads have their own names).
  static std::map<std::string, uint64_t> CpuNsByThread(pid_t pid) {
    std::map<std::string, uint64_t> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(absl::StrCat("/proc/", pid, "/task"), ec);
    if (ec) return out;
    for (const auto& task : it) {
      std::ifstream in(task.path() / "schedstat");
      std::ifstream comm(task.path() / "comm");
      uint64_t on_cpu = 0;
      std::string name;
      if (in >> on_cpu && std::getline(comm, name)) out[name] += on_cpu;
    }
    return out;
  }

  static double RssMb(pid_t pid) {
    std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
        double kb = 0;
        if (f.size() >= 2 && absl::SimpleAtod(f[1], &kb)) return kb / 1024.0;
      }
    }
    return NAN;
  }

  Cost Measure(const std::string& keepalive, const std::string& deadtime, absl::Duration run) {
    std::string spec = WriteSpec(keepalive, deadtime);
    auto a = Start(spec, "node01");
    auto b = Start(spec, "node02");
    Cost c;
    if (!a.ok() || !b.ok() || !WaitUp("node01", "node02", absl::Seconds(20))) {
      fprintf(stderr, "cost run: the cluster did not form\n");
      return c;
    }
    uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    // Settled first: start-up work is not the cost of running.
    harness::WaitFor([] { return false; }, absl::Seconds(2), absl::Milliseconds(100));
    std::map<std::string, uint64_t> t0 = CpuNsByThread(a->pid());
    ReadCpuNs(a->pid(), &a0);
    ReadCpuNs(b->pid(), &b0);
    int64_t w0 = MonotonicNs();
    harness::WaitFor([] { return false; }, run, absl::Milliseconds(100));
    ReadCpuNs(a->pid(), &a1);
    ReadCpuNs(b->pid(), &b1);
    std::map<std::string, uint64_t> t1 = CpuNsByThread(a->pid());
    int64_t w1 = MonotonicNs();
    double wall = static_cast<double>(w1 - w0);
    for (const auto& [name, ns] : t1) {
      const uint64_t before = t0.count(name) ? t0[name] : 0;
      if (ns > before) c.by_thread_a[name] = 100.0 * static_cast<double>(ns - before) / wall;
    }
    c.cpu_percent_a = 100.0 * static_cast<double>(a1 - a0) / wall;
    c.cpu_percent_b = 100.0 * static_cast<double>(b1 - b0) / wall;
    c.cpu_percent = (c.cpu_percent_a + c.cpu_percent_b) / 2;
    c.rss_mb = RssMb(a->pid());
    return c;
  }

 private:
  ScratchDir dir_;
  std::string prefix_;
  int port_ = 0;
};

// Runs `body` in a child process; after a 500 ms settling time, returns its
// CPU% of one core over `run` (scheduler accounting, as for the agents).
template <typename Body>
double ChildCpuPercent(absl::Duration run, Body body) {
  pid_t pid = fork();
  if (pid < 0) return NAN;
  if (pid == 0) {
    body();
    _exit(0);
  }
  uint64_t t0 = 0, t1 = 0;
  harness::WaitFor([] { return false; }, absl::Milliseconds(500), absl::Milliseconds(100));
  const bool read0 = Bench::ReadCpuNs(pid, &t0);
  int64_t w0 = MonotonicNs();
  harness::WaitFor([] { return false; }, run, absl::Milliseconds(100));
  const bool read1 = Bench::ReadCpuNs(pid, &t1);
  int64_t w1 = MonotonicNs();
  // A child that already ended (it could not set up) has no figure.
  int status = 0;
  const bool ended_early = waitpid(pid, &status, WNOHANG) == pid;
  kill(pid, SIGKILL);
  if (!ended_early) waitpid(pid, nullptr, 0);
  if (!read0 || !read1 || ended_early) return NAN;
  return 100.0 * static_cast<double>(t1 - t0) / static_cast<double>(w1 - w0);
}

void NextPeriod(timespec* next, int64_t step_ns) {
  next->tv_nsec += step_ns;
  while (next->tv_nsec >= 1000000000) {
    next->tv_nsec -= 1000000000;
    ++next->tv_sec;
  }
}

// The floor under any design that wakes once per keepalive: a process that
// does nothing but sleep to the next multiple of `period` (absolute
// CLOCK_MONOTONIC deadlines) for `run`, measured the same way as the agents.
double BareWakerCpuPercent(absl::Duration period, absl::Duration run) {
  return ChildCpuPercent(run, [&] {
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    const int64_t step = absl::ToInt64Nanoseconds(period);
    const int64_t wakes = absl::ToInt64Nanoseconds(run + absl::Seconds(2)) / step;
    for (int64_t i = 0; i < wakes; ++i) {
      NextPeriod(&next, step);
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
  });
}

// The floor under any agent that sends one authenticated heartbeat per
// keepalive: what one node of a pair of bare loops costs, each loop waking
// every `period` at SCHED_RR priority 10 (as the agent's loop does, where
// allowed), sending the other a frame of the agent's heartbeat size here (62
// bytes, HMAC-SHA256 with the agent's own Mac) over loopback UDP, and reading
// (one recvmmsg) and verifying what the other sent. No membership, no
// protobuf, no API: only the wake, one send, one receive and the MACs.
double BareHeartbeatCpuPercent(const std::string& prefix, int port, absl::Duration period,
                               absl::Duration run) {
  auto loop = [=](const std::string& self, const std::string& peer) {
    sched_param param{};
    param.sched_priority = 10;
    (void)sched_setscheduler(0, SCHED_RR, &param);
    absl::StatusOr<wire::Mac> mac = wire::Mac::Create(spec::v1::AUTH_METHOD_SHA256,
                                                      "benchmark-secret");
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in own{}, to{};
    own.sin_family = to.sin_family = AF_INET;
    own.sin_port = to.sin_port = htons(static_cast<uint16_t>(port));
    if (!mac.ok() || fd < 0 || inet_pton(AF_INET, self.c_str(), &own.sin_addr) != 1 ||
        inet_pton(AF_INET, peer.c_str(), &to.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<sockaddr*>(&own), sizeof(own)) != 0) {
      fprintf(stderr, "heartbeat floor: cannot set up %s\n", self.c_str());
      return;
    }
    constexpr size_t kSigned = 30, kFrame = kSigned + 32;
    uint8_t out[kFrame] = {};
    constexpr int kBatch = 8;
    uint8_t in[kBatch][256];
    iovec iov[kBatch];
    mmsghdr msgs[kBatch] = {};
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {in[i], sizeof(in[i])};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t verified = 0;
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    const int64_t step = absl::ToInt64Nanoseconds(period);
    const int64_t wakes = absl::ToInt64Nanoseconds(run + absl::Seconds(2)) / step;
    for (int64_t seq = 1; seq <= wakes; ++seq) {
      NextPeriod(&next, step);
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
      std::memcpy(out, &seq, sizeof(seq));
      mac->Compute(absl::string_view(reinterpret_cast<char*>(out), kSigned), out + kSigned);
      (void)sendto(fd, out, kFrame, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
      int n = recvmmsg(fd, msgs, kBatch, MSG_DONTWAIT, nullptr);
      for (int i = 0; i < n; ++i) {
        if (msgs[i].msg_len != kFrame) continue;
        const char* f = reinterpret_cast<const char*>(in[i]);
        verified += mac->Verify(absl::string_view(f, kSigned), absl::string_view(f + kSigned, 32));
      }
    }
    // Keeps the verification from being optimised away.
    if (verified == 0) fprintf(stderr, "heartbeat floor: %s verified no frame\n", self.c_str());
  };
  pid_t partner = fork();
  if (partner < 0) return NAN;
  if (partner == 0) {
    loop(prefix + "2", prefix + "1");
    _exit(0);
  }
  double cpu = ChildCpuPercent(run, [&] { loop(prefix + "1", prefix + "2"); });
  kill(partner, SIGKILL);
  waitpid(partner, nullptr, 0);
  return cpu;
}

void PrintLatency(const char* setting, double deadtime_ms, const std::vector<double>& ms,
                  int trials) {
  printf("detection %-28s trials %2zu/%d  median %8.2f ms  p99 %8.2f ms  min %8.2f  max %8.2f"
         "  (target p99 <= %.0f ms)\n",
         setting, ms.size(), trials, Percentile(ms, 50), Percentile(ms, 99),
         ms.empty() ? NAN : *std::min_element(ms.begin(), ms.end()),
         ms.empty() ? NAN : *std::max_element(ms.begin(), ms.end()), deadtime_ms + 5);
}

// Part 3. The agents at keepalive 5 ms and the two floors are measured in
// turns, `rounds` times, because this figure moves from run to run on a VM.
void PrintCost(Bench& bench, absl::Duration run, int rounds) {
  printf("cost: %d round(s) of %s each: an agent pair at keepalive 5 ms deadtime 20 ms, then "
         "the two floors at 5 ms (a bare heartbeat loop pair, a bare waker)\n",
         rounds, absl::FormatDuration(run).c_str());
  fflush(stdout);
  std::vector<double> agent, heartbeat, waker;
  double rss = NAN;
  for (int r = 1; r <= rounds; ++r) {
    Bench::Cost c = bench.Measure("5ms", "20ms", run);
    double h = BareHeartbeatCpuPercent(bench.prefix(), bench.port() + 1, absl::Milliseconds(5),
                                       run);
    double w = BareWakerCpuPercent(absl::Milliseconds(5), run);
    printf("  round %d: agent %.2f%% of a core (node01 %.2f%%, node02 %.2f%%), RSS %.1f MB; "
           "bare heartbeat loop %.2f%%; bare waker %.2f%%\n",
           r, c.cpu_percent, c.cpu_percent_a, c.cpu_percent_b, c.rss_mb, h, w);
    fflush(stdout);
    agent.push_back(c.cpu_percent);
    heartbeat.push_back(h);
    waker.push_back(w);
    rss = c.rss_mb;
  }
  const double am = Percentile(agent, 50), hm = Percentile(heartbeat, 50);
  printf("cost at keepalive 5ms  deadtime 20ms: CPU median %.2f%% of a core (min %.2f, max %.2f), "
         "RSS %.1f MB (targets: RSS <= 15 MB, CPU <= 0.5%%)\n",
         am, *std::min_element(agent.begin(), agent.end()),
         *std::max_element(agent.begin(), agent.end()), rss);
  printf("floors at 5ms: bare heartbeat loop median %.2f%% (min %.2f, max %.2f); bare waker "
         "median %.2f%% (min %.2f, max %.2f); the agent costs %.2f points above the heartbeat "
         "loop\n",
         hm, *std::min_element(heartbeat.begin(), heartbeat.end()),
         *std::max_element(heartbeat.begin(), heartbeat.end()), Percentile(waker, 50),
         *std::min_element(waker.begin(), waker.end()),
         *std::max_element(waker.begin(), waker.end()), am - hm);
  printf("cost ratio at 5ms: the agent costs %.2f times the bare heartbeat loop measured in "
         "this run (target <= 1.3)\n",
         am / hm);
  // The idle node: a long enough run that a few wakes a second add up to a
  // figure, and the floor of the same design (a bare heartbeat loop pair at
  // 1 s) measured right after it.
  const absl::Duration idle_run = std::max(run * 3, absl::Seconds(15));
  Bench::Cost slow = bench.Measure("1s", "5s", idle_run);
  const double idle_floor = BareHeartbeatCpuPercent(bench.prefix(), bench.port() + 1,
                                                    absl::Seconds(1), idle_run);
  std::string threads;
  for (const auto& [name, pct] : slow.by_thread_a) {
    absl::StrAppend(&threads, threads.empty() ? "" : ", ", name, " ",
                    absl::StrFormat("%.4f%%", pct));
  }
  printf("cost at keepalive 1s   deadtime 5s   over %s: RSS %.1f MB, CPU %.4f%% of a core "
         "(node01 %.4f%%, node02 %.4f%%; target <= 0.01%%); bare heartbeat loop at 1s %.4f%%; "
         "node01 by thread: %s\n",
         absl::FormatDuration(idle_run).c_str(), slow.rss_mb, slow.cpu_percent,
         slow.cpu_percent_a, slow.cpu_percent_b, idle_floor, threads.c_str());
  fflush(stdout);
}

int Main(bool short_mode) {
  const int fast_trials = short_mode ? 20 : 50;
  const int slow_trials = short_mode ? 3 : 20;
  const absl::Duration false_run = short_mode ? absl::Seconds(10) : absl::Minutes(2);
  const absl::Duration cost_run = short_mode ? absl::Seconds(5) : absl::Seconds(10);
  const int cost_rounds = short_mode ? 1 : 5;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("failover_bench (%s mode): ha-agent, 2 nodes on loopback, ucast, HMAC-SHA256, "
         "%ld cores\n",
         short_mode ? "short" : "full", cores);
  fflush(stdout);
  Bench bench;
  std::vector<double> fast = bench.Detection("5ms", "20ms", fast_trials, absl::Milliseconds(20));
  PrintLatency("keepalive 5ms deadtime 20ms", 20, fast, fast_trials);
  fflush(stdout);
  std::vector<double> slow = bench.Detection("1s", "5s", slow_trials, absl::Seconds(5));
  PrintLatency("keepalive 1s deadtime 5s", 5000, slow, slow_trials);
  fflush(stdout);
  auto [node_deaths, link_deaths] = bench.FalseDeaths(false_run, static_cast<int>(cores));
  printf("false deaths at keepalive 5ms deadtime 20ms over %s with %ld spinning processes: "
         "%d node deaths, %d link deaths (target 0)\n",
         absl::FormatDuration(false_run).c_str(), cores, node_deaths, link_deaths);
  fflush(stdout);
  PrintCost(bench, cost_run, cost_rounds);
  bool ran = fast.size() > 0 && slow.size() > 0 && node_deaths >= 0;
  return ran ? 0 : 1;
}

}  // namespace
}  // namespace hacluster::testing

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "--cost") {
    // Only part 3, as in a full run: what to run after a change to the loop.
    hacluster::testing::Bench bench;
    hacluster::testing::PrintCost(bench, absl::Seconds(10), 5);
    return 0;
  }
  if (mode == "--false-deaths") {
    // Only part 2, `runs` times over 2 minutes each.
    int runs = 0;
    if (argc != 3 || !absl::SimpleAtoi(argv[2], &runs) || runs < 1 || runs > 100) {
      fprintf(stderr, "usage: failover_bench --false-deaths RUNS (1 to 100)\n");
      return 2;
    }
    hacluster::testing::Bench bench;
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int total = 0;
    for (int r = 1; r <= runs; ++r) {
      auto [node_deaths, link_deaths] =
          bench.FalseDeaths(absl::Minutes(2), static_cast<int>(cores));
      printf("run %d: false deaths at keepalive 5ms deadtime 20ms over 2m with %ld spinning "
             "processes: %d node deaths, %d link deaths\n",
             r, cores, node_deaths, link_deaths);
      fflush(stdout);
      total += std::max(node_deaths, 0) + std::max(link_deaths, 0);
    }
    printf("false deaths over %d runs of 2 minutes: %d (target 0)\n", runs, total);
    return 0;
  }
  if (!mode.empty() && mode != "--short") {
    fprintf(stderr, "usage: failover_bench [--short | --cost | --false-deaths RUNS]\n");
    return 2;
  }
  return hacluster::testing::Main(mode == "--short");
}
