// vip_failover_bench: how fast a virtual IP moves between two real
// ha-agents, measured by a client that probes it every 2 ms from its own
// network namespace (a NetLab: node01 192.0.2.11, node02 192.0.2.12,
// client 192.0.2.100 on one segment; VIP 192.0.2.50; heartbeats ucast
// HMAC-SHA256 over that segment). Each node runs probe_server on every
// address, so whichever node holds the VIP answers the client with its
// name. It prints its figures with the settings used and asserts nothing.
//
//   vip_failover_bench [--short]
//
// 1. Crash failover: the holder's agent is killed with SIGKILL and the VIP
//    removed from its interface (what a crash of the node leaves); the time
//    from the kill to the first answer from the survivor, at keepalive 5 ms /
//    deadtime 20 ms and at keepalive 1 s / deadtime 5 s. The killed agent is
//    started again and the next trial crashes the other node.
// 2. Takeover overhead: from the survivor's NODE_DEAD event to its
//    GROUP_RUNNING event (the VIP added and announced), both on
//    CLOCK_MONOTONIC.
// 3. Planned switchover: `standby` on the holder (the Standby RPC, waited for
//    to completion); the longest time the client went without an answer.
//
// --short (what the test suite runs): a few trials of each.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

using agent::MonotonicNow;
using agent::MonoTime;
using harness::NetLab;
using harness::Process;
namespace v1 = agent::v1;

constexpr char kVip[] = "192.0.2.50";
constexpr int kPort = 7000;

void Print(const std::string& what, const std::string& setting, const std::vector<double>& ms,
           int trials) {
  if (ms.empty()) {
    printf("%-22s %-28s trials  0/%d  (no figure)\n", what.c_str(), setting.c_str(), trials);
    return;
  }
  printf("%-22s %-28s trials %2zu/%d  median %7.2f ms  p99 %7.2f ms  min %7.2f  max %7.2f\n",
         what.c_str(), setting.c_str(), ms.size(), trials, Percentile(ms, 50),
         Percentile(ms, 99), *std::min_element(ms.begin(), ms.end()),
         *std::max_element(ms.begin(), ms.end()));
  fflush(stdout);
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

struct Setting {
  std::string keepalive;
  std::string deadtime;
  std::string initdead;
  int crash_trials = 0;
  int standby_trials = 0;
};

class Bench {
 public:
  explicit Bench(bool short_mode) : short_(short_mode), lab_("vipbench") {}

  bool Build() {
    if (!lab_.status().ok()) return Fail(lab_.status().ToString());
    absl::Status s = lab_.AddNetwork("lan", "192.0.2.0/24");
    if (s.ok()) s = lab_.AddHost("node01", {{"lan", "eth0", "192.0.2.11"}});
    if (s.ok()) s = lab_.AddHost("node02", {{"lan", "eth0", "192.0.2.12"}});
    if (s.ok()) s = lab_.AddHost("client", {{"lan", "eth0", "192.0.2.100"}});
    if (!s.ok()) return Fail(s.ToString());
    dir_.Write("authkey", "vip-bench-secret\n", 0600);
    for (const char* n : {"node01", "node02"}) {
      auto p = lab_.Spawn(n, {RunfilePath("tests/cluster/probe_server"), "--port",
                              std::to_string(kPort), "--name", n, "--max-runtime", "3600"});
      if (!p.ok()) return Fail(p.status().ToString());
      servers_.push_back(*std::move(p));
    }
    return true;
  }

  void Run(const Setting& setting) {
    const std::string label =
        absl::StrCat("keepalive ", setting.keepalive, " deadtime ", setting.deadtime);
    if (!StartCluster(setting)) {
      StopAgents();
      return;
    }
    VipProbeOptions po;
    po.netns_path = *lab_.NetnsPathOf("client");
    po.address = kVip;
    po.port = kPort;
    po.interval = absl::Milliseconds(2);
    po.max_duration = absl::Minutes(30);
    po.max_probes = 2000000;
    auto probe = VipProbe::Start(po);
    if (!probe.ok()) {
      Fail(probe.status().ToString());
      StopAgents();
      return;
    }
    std::string holder = "node01";
    if (!(*probe)->WaitForAnswer(MonotonicNow(), holder, absl::Seconds(10)).has_value()) {
      Fail("the client never reached the VIP on node01");
      StopAgents();
      return;
    }
    const absl::Duration deadtime = Parse(setting.deadtime);

    std::vector<double> failover, overhead;
    for (int t = 0; t < setting.crash_trials; ++t) {
      const std::string survivor = holder == "node01" ? "node02" : "node01";
      EventRecorder recorder(Socket(survivor));
      if (!harness::WaitFor([&] { return recorder.connected(); }, absl::Seconds(5))) {
        Fail(absl::StrCat("trial ", t, ": cannot follow ", survivor, "'s events"));
        break;
      }
      const MonoTime t0 = MonotonicNow();
      (void)agents_[Index(holder)].Kill(SIGKILL);
      (void)agents_[Index(holder)].Wait(absl::Seconds(5));
      // A crashed node takes its addresses with it.
      (void)lab_.Run(holder, {"ip", "addr", "del", absl::StrCat(kVip, "/24"), "dev", "eth0"});
      std::optional<ProbeAnswer> a =
          (*probe)->WaitForAnswer(t0, survivor, deadtime + absl::Seconds(10));
      if (!a.has_value()) {
        Fail(absl::StrCat("trial ", t, ": ", survivor, " never answered on the VIP"));
        break;
      }
      failover.push_back(Ms(a->received - t0));
      if (recorder.WaitFor(v1::EVENT_KIND_GROUP_RUNNING, "", absl::Seconds(5))) {
        std::optional<int64_t> dead, running;
        for (const v1::Event& e : recorder.Events()) {
          if (e.kind() == v1::EVENT_KIND_NODE_DEAD && e.node() == holder && !dead) {
            dead = e.monotonic_ns();
          }
          if (e.kind() == v1::EVENT_KIND_GROUP_RUNNING && dead && !running) {
            running = e.monotonic_ns();
          }
        }
        if (dead && running) {
          overhead.push_back((*running - *dead) / 1e6);
          fprintf(stderr,
                  "trial %d: %s killed; declared dead after %.2f ms, VIP up and announced "
                  "%.2f ms later, first answer from %s after %.2f ms\n",
                  t, holder.c_str(), (*dead - absl::ToInt64Nanoseconds(t0)) / 1e6,
                  (*running - *dead) / 1e6, survivor.c_str(), failover.back());
        }
      }
      // The crashed node comes back (failback is off: the group stays).
      if (!StartAgent(holder) || !WaitPair()) {
        Fail(absl::StrCat("trial ", t, ": ", holder, " did not come back"));
        break;
      }
      holder = survivor;
    }
    Print("crash failover", label, failover, setting.crash_trials);
    Print("takeover overhead", label, overhead, setting.crash_trials);

    std::vector<double> gaps;
    for (int t = 0; t < setting.standby_trials; ++t) {
      const std::string other = holder == "node01" ? "node02" : "node01";
      const MonoTime t0 = MonotonicNow();
      if (!Standby(holder)) break;
      const MonoTime t1 = MonotonicNow();
      std::optional<ProbeAnswer> a = (*probe)->WaitForAnswer(t0, other, absl::Seconds(5));
      if (!a.has_value()) {
        Fail(absl::StrCat("standby trial ", t, ": ", other, " never answered"));
        break;
      }
      const MonoTime end = std::max(t1, a->received) + absl::Milliseconds(20);
      (void)(*probe)->WaitForAnswer(end, "", absl::Seconds(1));
      gaps.push_back(Ms(LongestGap((*probe)->Answers(), t0, end)));
      holder = other;
    }
    if (setting.standby_trials > 0) {
      Print("standby switchover gap", label + " (VIP-only group)", gaps, setting.standby_trials);
    }
    (*probe)->Stop();
    StopAgents();
  }

  int failures() const { return failures_; }

 private:
  bool Fail(const std::string& why) {
    fprintf(stderr, "vip_failover_bench: %s\n", why.c_str());
    ++failures_;
    return false;
  }

  static absl::Duration Parse(const std::string& d) {
    absl::Duration out;
    return absl::ParseDuration(d, &out) ? out : absl::Seconds(5);
  }

  static size_t Index(const std::string& node) { return node == "node01" ? 0 : 1; }
  std::string Socket(const std::string& node) const { return dir_.File(node + "/agent.sock"); }

  bool StartCluster(const Setting& s) {
    SpecOptions o;
    o.cluster_name = "vipbench";
    o.nodes = {{"node01", {"192.0.2.11"}}, {"node02", {"192.0.2.12"}}};
    o.media = {"- ucast: {interface: eth0}"};
    o.keepalive = s.keepalive;
    o.deadtime = s.deadtime;
    o.initdead = s.initdead;
    std::string yaml = SpecYaml(o);
    absl::StrAppend(&yaml,
                    "auto_failback: off\n"
                    "groups:\n"
                    "  - name: vip\n"
                    "    preferred_node: node01\n"
                    "    resources:\n"
                    "      - ip: {address: ",
                    kVip, "}\n");
    spec_ = dir_.Write("cluster.yaml", yaml);
    agents_.clear();
    agents_.resize(2);
    for (const char* n : {"node01", "node02"}) {
      if (!StartAgent(n)) return false;
    }
    if (!WaitPair()) return Fail("the cluster did not form");
    AgentClient c(Socket("node02"));
    if (!harness::WaitFor(
            [&] {
              auto st = c.Status();
              return st.ok() && st->groups_size() == 1 && st->groups(0).holder() == "node01" &&
                     st->groups(0).state() == v1::GROUP_STATE_RUNNING;
            },
            absl::Seconds(30))) {
      return Fail("the group never ran on node01");
    }
    return true;
  }

  bool StartAgent(const std::string& node) {
    auto log = harness::NewLogPath("vipbench-" + node);
    if (!log.ok()) return Fail(log.status().ToString());
    auto p = lab_.Spawn(node, {HaAgentPath(), "--config", spec_, "--node", node, "--state-dir",
                               dir_.File(node)},
                        *log);
    if (!p.ok()) return Fail(p.status().ToString());
    agents_[Index(node)] = *std::move(p);
    return true;
  }

  // Both agents up, each seeing the other, both past initdead.
  bool WaitPair() {
    for (auto [self, peer] : {std::pair<const char*, const char*>{"node01", "node02"},
                              {"node02", "node01"}}) {
      AgentClient c(Socket(self));
      if (!harness::WaitFor(
              [&] {
                auto st = c.Status();
                // Nobody is declared dead within initdead: a trial starts
                // once both are past it.
                if (!st.ok() || st->in_initdead()) return false;
                for (const auto& n : st->nodes()) {
                  if (n.name() == peer) return n.state() == v1::NODE_STATE_UP;
                }
                return false;
              },
              absl::Seconds(60))) {
        return false;
      }
    }
    return true;
  }

  bool Standby(const std::string& node) {
    auto stub = v1::Agent::NewStub(
        grpc::CreateChannel("unix://" + Socket(node), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::StandbyRequest req;
    req.set_scope(v1::STANDBY_SCOPE_ALL);
    req.mutable_timeout()->set_seconds(15);
    v1::OperationResponse resp;
    grpc::Status s = stub->Standby(&ctx, req, &resp);
    if (!s.ok()) return Fail(absl::StrCat("standby on ", node, ": ", s.error_message()));
    if (resp.state() != v1::OPERATION_STATE_DONE) {
      return Fail(absl::StrCat("standby on ", node, ": ", resp.message()));
    }
    return true;
  }

  void StopAgents() {
    for (Process& p : agents_) {
      if (p.pid() > 0) {
        (void)p.Kill(SIGKILL);
        (void)p.Wait(absl::Seconds(5));
      }
    }
    agents_.clear();
    for (const char* n : {"node01", "node02"}) {
      (void)lab_.Run(n, {"ip", "addr", "del", absl::StrCat(kVip, "/24"), "dev", "eth0"});
    }
  }

  const bool short_;
  NetLab lab_;
  ScratchDir dir_;
  std::string spec_;
  std::vector<Process> servers_;
  std::vector<Process> agents_;
  int failures_ = 0;
};

}  // namespace
}  // namespace hacluster::testing

int main(int argc, char** argv) {
  using hacluster::testing::Bench;
  using hacluster::testing::Setting;
  const bool short_mode = argc > 1 && std::string(argv[1]) == "--short";
  if (argc > 1 && !short_mode) {
    fprintf(stderr, "usage: vip_failover_bench [--short]\n");
    return 2;
  }
  absl::Status pre = hacluster::harness::NetLab::CheckPrerequisites();
  if (!pre.ok()) {
    fprintf(stderr, "vip_failover_bench: needs network namespaces: %s\n", pre.ToString().c_str());
    return 1;
  }
  printf("vip_failover_bench (%s mode): 2 ha-agents + a client in network namespaces on one "
         "segment, ucast heartbeats HMAC-SHA256, SCHED_RR loops; group = one native VIP; the "
         "client probes the VIP over UDP every 2 ms\n",
         short_mode ? "short" : "full");
  Bench bench(short_mode);
  if (!bench.Build()) return 1;
  bench.Run({"5ms", "20ms", "500ms", short_mode ? 4 : 25, short_mode ? 3 : 25});
  bench.Run({"1s", "5s", "5s", short_mode ? 1 : 20, short_mode ? 1 : 10});
  return bench.failures() == 0 ? 0 : 1;
}
