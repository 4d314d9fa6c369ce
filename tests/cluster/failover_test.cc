// Failover of resource groups between real ha-agent processes on a NetLab
// (network namespaces joined by bridges), watched from outside the agents:
//
//   lan 192.0.2.0/24:      node01 .11 (eth0), node02 .12 (eth0), client .100,
//                          and for the partition tests a ping node .1
//   hb  198.51.100.0/24:   node01 .11 (eth1), node02 .12 (eth1)
//   VIP 192.0.2.50/24 on eth0; heartbeats ucast over both networks,
//   keepalive 100ms, deadtime 500ms, initdead 1s.
//
// The service behind the VIP is probe_server, started by an LSB init script
// (testdata/probe-service) that each agent finds in /etc/init.d: every agent
// runs with a test-owned directory bound over /etc/init.d (and another over
// /run/resource-agents, where the OCF agents keep their state) inside its own
// mount namespace, never on the host. A client in its own namespace probes
// the VIP every 2 ms (vip_probe.h) and sees which node answers; a sampler
// lists the VIP on both nodes as fast as it can and catches any instant
// with two holders.
//
// What is checked: crash and link loss of the active node (VIP, service and
// the client's neighbour entry move to the peer), the same with the real OCF
// IPaddr2 and Dummy agents and with Heartbeat's IPaddr script, standby /
// takeover / move / failback without two holders, auto_failback on and off,
// partitions with a ping node (who yields, who keeps serving, split brain
// resolved on heal), and resource failures (start, monitor, stop).
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"
#include "proto/agent.pb.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;
using agent::MonotonicNow;
using harness::NetLab;
using harness::Process;

constexpr char kVip[] = "192.0.2.50";
constexpr char kPingNode[] = "192.0.2.1";
constexpr int kProbePort = 4711;
constexpr char kGroup[] = "svc";
constexpr char kScript[] = "probe-service";
const absl::Duration kDeadtime = absl::Milliseconds(500);

// Runs the rest of its arguments with a test-owned directory bound over
// /etc/init.d and another over /run/resource-agents. The caller's mount
// namespace is already a private one (NetLab::Spawn), so the binds are seen
// by this process and its children only.
constexpr char kMountWrapper[] =
    "mount --bind \"$1\" /etc/init.d && mount --bind \"$2\" /run/resource-agents && "
    "shift 2 && exec \"$@\"";

// Writes through a temporary file and rename(2): a script reading the file
// at that moment sees the old or the new contents, never half of it.
void WriteAtomically(const std::string& path, const std::string& contents, int mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
  }
  chmod(tmp.c_str(), mode);
  ASSERT_EQ(rename(tmp.c_str(), path.c_str()), 0) << path << ": " << strerror(errno);
}

// The mount points of a mountinfo file (field 5).
std::vector<std::string> MountPoints(const std::string& mountinfo) {
  std::vector<std::string> points;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() > 4) points.emplace_back(f[4]);
  }
  return points;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The last `lines` lines of `text`.
std::string Tail(const std::string& text, int lines) {
  std::vector<absl::string_view> all = absl::StrSplit(text, '\n');
  if (!all.empty() && all.back().empty()) all.pop_back();
  const size_t keep = std::min(all.size(), static_cast<size_t>(lines));
  std::string out;
  for (size_t i = all.size() - keep; i < all.size(); ++i) absl::StrAppend(&out, all[i], "\n");
  return out;
}

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToDoubleMilliseconds(d), " ms"); }

MonoTime EventTime(const v1::Event& e) { return absl::Nanoseconds(e.monotonic_ns()); }

struct ProbeFaults {
  bool fail_start = false;
  bool fail_stop = false;
};

ProbeFaults FailStart() {
  ProbeFaults f;
  f.fail_start = true;
  return f;
}

ProbeFaults FailStop() {
  ProbeFaults f;
  f.fail_stop = true;
  return f;
}

// Which groups, resources and policies a test runs.
struct ClusterSetup {
  std::string preferred = "node01";
  // YAML list items under the group's resources:, indented for that place.
  std::string resources;
  bool auto_failback = true;
  bool ping_node = false;
  // The order the agents start in.
  std::vector<std::string> start_order = {"node01", "node02"};
};

ClusterSetup GroupSetup(std::string resources, bool auto_failback = true) {
  ClusterSetup s;
  s.resources = std::move(resources);
  s.auto_failback = auto_failback;
  return s;
}

std::string VipAndServiceResources(const std::string& monitor = "") {
  std::string r = absl::StrCat(
      "      - ip: {address: ", kVip, ", prefix_length: 24, interface: eth0}\n",
      "        name: vip\n", "      - lsb: {name: ", kScript, "}\n", "        name: service\n");
  if (!monitor.empty()) absl::StrAppend(&r, "        monitor_interval: ", monitor, "\n");
  return r;
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
    ASSERT_TRUE(std::filesystem::exists("/run/resource-agents"))
        << "/run/resource-agents is missing (the resource-agents package, see setup.sh)";
    probe_bin_ = std::filesystem::canonical(RunfilePath("tests/cluster/probe_server")).string();
  }

  // ------------------------------------------------------------ the lab

  // lan + hb, node01 and node02 on both, the client on lan, and with
  // `ping_node` a host answering ICMP on lan that the agents ping.
  void BuildLab(const std::string& name, bool ping_node = false) {
    lab_ = std::make_unique<NetLab>(name);
    ASSERT_TRUE(lab_->status().ok()) << lab_->status();
    ASSERT_TRUE(lab_->AddNetwork("lan", "192.0.2.0/24").ok());
    ASSERT_TRUE(lab_->AddNetwork("hb", "198.51.100.0/24").ok());
    for (int i : {1, 2}) {
      absl::Status s = lab_->AddHost(absl::StrCat("node0", i),
                                     {{"lan", "eth0", absl::StrCat("192.0.2.1", i)},
                                      {"hb", "eth1", absl::StrCat("198.51.100.1", i)}});
      ASSERT_TRUE(s.ok()) << s;
    }
    absl::Status s = lab_->AddHost("client", {{"lan", "eth0", "192.0.2.100"}});
    ASSERT_TRUE(s.ok()) << s;
    if (ping_node) {
      s = lab_->AddHost("pingnode", {{"lan", "eth0", kPingNode}});
      ASSERT_TRUE(s.ok()) << s;
    }
    for (const char* n : {"node01", "node02"}) {
      for (const char* sub : {"state", "init.d", "rsc"}) {
        std::filesystem::create_directories(absl::StrCat(NodeDir(n), "/", sub));
      }
    }
  }

  NetLab& lab() { return *lab_; }
  std::string Netns(const std::string& host) { return *lab_->NetnsPathOf(host); }

  std::string NodeDir(const std::string& node) { return dir_.File(node); }
  std::string StateDir(const std::string& node) { return NodeDir(node) + "/state"; }
  std::string InitDir(const std::string& node) { return NodeDir(node) + "/init.d"; }
  std::string RscDir(const std::string& node) { return NodeDir(node) + "/rsc"; }
  std::string Socket(const std::string& node) { return StateDir(node) + "/agent.sock"; }
  std::string Pidfile(const std::string& node) { return NodeDir(node) + "/probe.pid"; }
  std::string InitScript(const std::string& node) { return InitDir(node) + "/" + kScript; }

  // The init script and its probe.env in the node's own /etc/init.d.
  void InstallProbeService(const std::string& node, ProbeFaults faults = {}) {
    std::filesystem::copy_file(RunfilePath("tests/cluster/testdata/probe-service"), InitScript(node),
                               std::filesystem::copy_options::overwrite_existing);
    chmod(InitScript(node).c_str(), 0755);
    SetProbeFaults(node, faults);
  }

  void SetProbeFaults(const std::string& node, ProbeFaults faults) {
    WriteAtomically(InitDir(node) + "/probe.env",
                    absl::StrCat("PROBE_BIN=", probe_bin_, "\nPROBE_NAME=", node,
                                 "\nPROBE_PORT=", kProbePort, "\nPROBE_PIDFILE=", Pidfile(node),
                                 "\nPROBE_REALTIME_PRIORITY=1",
                                 "\nPROBE_FAIL_START=", faults.fail_start ? 1 : 0,
                                 "\nPROBE_FAIL_STOP=", faults.fail_stop ? 1 : 0, "\n"),
                    0644);
  }

  // Runs the init script by hand in the node's namespace: its exit code.
  int RunInit(const std::string& node, const std::string& op) {
    auto r = lab_->Run(node, {InitScript(node), op}, absl::Seconds(15));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return -1;
    last_init_output_ = r->output;
    return r->status.exited() ? r->status.code : 128 + r->status.signal;
  }

  pid_t ProbePid(const std::string& node) {
    int pid = 0;
    std::string text(absl::StripAsciiWhitespace(ReadFile(Pidfile(node))));
    return absl::SimpleAtoi(text, &pid) ? pid : 0;
  }

  // ------------------------------------------------------------ the spec

  std::string WriteSpec(const ClusterSetup& setup) {
    SpecOptions o;
    o.nodes = {{"node01", {"192.0.2.11", "198.51.100.11"}},
               {"node02", {"192.0.2.12", "198.51.100.12"}}};
    o.media = {"- ucast: {interface: eth0}", "- ucast: {interface: eth1}"};
    o.keepalive = "100ms";
    o.deadtime = "500ms";
    o.initdead = "1s";
    if (setup.ping_node) {
      o.ping_nodes = {kPingNode};
      o.deadping = "300ms";  // shorter than deadtime: the cut-off side yields first
    }
    dir_.Write("authkey", "failover-secret\n", 0600);
    std::string yaml = SpecYaml(o);
    absl::StrAppend(&yaml, "groups:\n  - name: ", kGroup, "\n    preferred_node: ", setup.preferred,
                    "\n    resources:\n", setup.resources,
                    "auto_failback: ", setup.auto_failback ? "on" : "off", "\n");
    return dir_.Write("cluster.yaml", yaml);
  }

  // ------------------------------------------------------------ agents

  // Starts the agent of `node` in its namespace, with the node's own
  // /etc/init.d and /run/resource-agents bound inside the agent's mount
  // namespace only (checked: the host's stay as they were).
  void StartAgent(const std::string& node) {
    std::string log;
    if (const char* out = getenv("TEST_UNDECLARED_OUTPUTS_DIR"); out != nullptr) {
      const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
      log = absl::StrCat(out, "/", info->name(), ".", node, ".agent.", ++starts_[node], ".log");
    } else {
      auto path = harness::NewLogPath("failover-agent-" + node);
      ASSERT_TRUE(path.ok()) << path.status();
      log = *path;
    }
    auto p = lab_->Spawn(node,
                         {"/bin/sh", "-c", kMountWrapper, "ha-agent-mounts", InitDir(node),
                          RscDir(node), HaAgentPath(), "--config", spec_, "--node", node,
                          "--state-dir", StateDir(node)},
                         log);
    ASSERT_TRUE(p.ok()) << p.status();
    const pid_t pid = p->pid();
    logs_[node].push_back(log);
    agents_[node] = *std::move(p);
    // Once the wrapper has exec'd the agent, its mounts are in place.
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          std::error_code ec;
          auto exe = std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec);
          return !ec && exe.filename() == "ha-agent";
        },
        absl::Seconds(5)))
        << "the wrapper never exec'd ha-agent\n" << Tail(ReadFile(log), 20);
    const std::vector<std::string> inside =
        MountPoints(ReadFile(absl::StrCat("/proc/", pid, "/mountinfo")));
    EXPECT_TRUE(Contains(inside, "/etc/init.d")) << "no bind on /etc/init.d in the agent";
    EXPECT_TRUE(Contains(inside, "/run/resource-agents"));
    const std::vector<std::string> host = MountPoints(ReadFile("/proc/self/mountinfo"));
    EXPECT_FALSE(Contains(host, "/etc/init.d")) << "the bind leaked to the test's namespace";
    EXPECT_FALSE(Contains(host, "/run/resource-agents"));
    // Once the API answers, follow this run's events from its first (the
    // agent keeps them; the stream starts with them).
    ASSERT_TRUE(harness::WaitFor([&] { return Client(node).Status().ok(); }, absl::Seconds(5)))
        << node << "'s API never answered\n" << Tail(ReadFile(log), 20);
    recorders_[node] = std::make_unique<EventRecorder>(Socket(node));
    ASSERT_TRUE(harness::WaitFor([&] { return recorders_[node]->connected(); }, absl::Seconds(5)))
        << "no event stream from " << node;
  }

  // Starts both agents (after installing the service on both).
  void StartCluster(const ClusterSetup& setup, std::map<std::string, ProbeFaults> faults = {}) {
    spec_ = WriteSpec(setup);
    for (const char* n : {"node01", "node02"}) InstallProbeService(n, faults[n]);
    for (const std::string& n : setup.start_order) {
      StartAgent(n);
      if (HasFatalFailure()) return;
    }
  }

  AgentClient& Client(const std::string& node) {
    auto it = clients_.find(node);
    if (it == clients_.end()) {
      it = clients_.emplace(node, std::make_unique<AgentClient>(Socket(node))).first;
    }
    return *it->second;
  }

  // The events of the node's latest agent run (recorded since StartAgent).
  EventRecorder& Recorder(const std::string& node) { return *recorders_.at(node); }

  std::optional<v1::GroupStatus> GroupSeenBy(const std::string& observer) {
    auto st = Client(observer).Status();
    if (!st.ok()) return std::nullopt;
    for (const auto& g : st->groups()) {
      if (g.name() == kGroup) return g;
    }
    return std::nullopt;
  }

  // Bounded wait until `observer` reports the group on `holder` in `state`.
  bool WaitHolder(const std::string& observer, const std::string& holder,
                  absl::Duration deadline = absl::Seconds(10),
                  v1::GroupState state = v1::GROUP_STATE_RUNNING) {
    return harness::WaitFor(
        [&] {
          auto g = GroupSeenBy(observer);
          return g.has_value() && g->holder() == holder && g->state() == state;
        },
        deadline);
  }

  // Both agents report the group running on `holder`.
  void ExpectRunningOn(const std::string& holder, absl::Duration deadline = absl::Seconds(10)) {
    for (const char* observer : {"node01", "node02"}) {
      if (agents_.count(observer) == 0 || agents_[observer].TryWait().has_value()) continue;
      ASSERT_TRUE(WaitHolder(observer, holder, deadline))
          << observer << " never saw " << kGroup << " running on " << holder << "\n"
          << Diagnose();
    }
  }

  // `hacli --socket S ARGS...` run from the test's own namespace.
  harness::RunResult Hacli(const std::string& node, std::vector<std::string> args,
                           absl::Duration timeout = absl::Seconds(30)) {
    std::vector<std::string> argv = {HacliPath(), "--socket", Socket(node)};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = harness::RunProcess(argv, timeout);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  }

  std::string Where(const std::string& node, const std::string& target) {
    harness::RunResult r = Hacli(node, {"where", target});
    if (!r.status.ok()) return absl::StrCat("(hacli ", r.status.ToString(), ": ", r.output, ")");
    return std::string(absl::StripAsciiWhitespace(r.output));
  }

  // `hacli where` for the VIP and the group on both agents says `holder`
  // (a peer learns it from the next heartbeat: allowed a few keepalives).
  void ExpectWhere(const std::string& holder) {
    for (const char* observer : {"node01", "node02"}) {
      if (agents_.count(observer) == 0 || agents_[observer].TryWait().has_value()) continue;
      for (const char* target : {kVip, kGroup}) {
        std::string said;
        EXPECT_TRUE(harness::WaitFor(
            [&] {
              said = Where(observer, target);
              return said == holder;
            },
            absl::Seconds(1), absl::Milliseconds(50)))
            << "hacli where " << target << " on " << observer << " says " << said
            << ", not " << holder;
      }
    }
  }

  // The crash of a whole node: the agent killed with SIGKILL, its VIP gone
  // (as when the machine dies) and the service stopped.
  void CrashNode(const std::string& node) {
    ASSERT_TRUE(agents_[node].Kill(SIGKILL).ok());
    auto exit = agents_[node].Wait(absl::Seconds(5));
    ASSERT_TRUE(exit.ok()) << exit.status();
    auto del = lab_->Run(node, {"ip", "addr", "del", absl::StrCat(kVip, "/24"), "dev", "eth0"});
    ASSERT_TRUE(del.ok()) << del.status();
    ASSERT_TRUE(del->status.ok()) << "the VIP was not on " << node << ": " << del->output;
    ASSERT_EQ(RunInit(node, "stop"), 0) << last_init_output_;
  }

  // ------------------------------------------------------------ observers

  std::unique_ptr<VipProbe> StartProbe() {
    VipProbeOptions o;
    o.netns_path = Netns("client");
    o.address = kVip;
    o.port = kProbePort;
    o.max_duration = absl::Seconds(90);
    // Above the test's other threads (the sampler runs flat out), below the
    // agents' heartbeat loops (SCHED_RR 10).
    o.realtime_priority = 1;
    auto p = VipProbe::Start(o);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }

  // Starts the sampler of both nodes; the fixture owns it.
  VipHolderSampler* StartSampler() {
    VipSamplerOptions o;
    o.hosts = {{"node01", Netns("node01")}, {"node02", Netns("node02")}};
    o.address = kVip;
    o.max_duration = absl::Seconds(90);
    auto s = VipHolderSampler::Start(o);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return nullptr;
    sampler_ = *std::move(s);
    return sampler_.get();
  }

  // The sampler's view after now: exactly these holders.
  void ExpectHolders(const std::vector<std::string>& holders) {
    ASSERT_NE(sampler_, nullptr);
    ASSERT_TRUE(sampler_->WaitForRoundAfter(MonotonicNow(), absl::Seconds(2)))
        << sampler_->Describe();
    EXPECT_EQ(sampler_->Holders(), holders) << sampler_->Describe();
  }

  bool HasVip(const std::string& host) {
    auto has = AddressPresentIn(Netns(host), kVip);
    EXPECT_TRUE(has.ok()) << has.status();
    return has.ok() && *has;
  }

  std::string MacOf(const std::string& host) {
    auto r = lab_->Run(host, {"ip", "-o", "link", "show", "dev", "eth0"});
    if (!r.ok() || !r->status.ok()) return "";
    std::vector<std::string> words = absl::StrSplit(r->output, absl::ByAnyChar(" \t\n\\"),
                                                    absl::SkipEmpty());
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "link/ether") return words[i + 1];
    }
    return "";
  }

  // The client's neighbour entry for the VIP: its MAC, "" when none.
  std::string ClientNeighbourMac() {
    auto r = lab_->Run("client", {"ip", "neigh", "show", "to", kVip, "dev", "eth0"});
    if (!r.ok() || !r->status.ok()) return "";
    std::vector<std::string> words = absl::StrSplit(r->output, absl::ByAnyChar(" \t\n"),
                                                    absl::SkipEmpty());
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "lladdr") return words[i + 1];
    }
    return "";
  }

  // Waits for an answer from `node` after `after` and returns when it came.
  MonoTime ExpectAnswerFrom(VipProbe& probe, const std::string& node, MonoTime after,
                            absl::Duration deadline = absl::Seconds(10)) {
    auto a = probe.WaitForAnswer(after, node, deadline);
    EXPECT_TRUE(a.has_value()) << "the client got no answer from " << node << " within "
                               << deadline << " (" << probe.sent() << " probes sent, "
                               << probe.Answers().size() << " answers)\n"
                               << Diagnose();
    if (!a.has_value()) return MonotonicNow();
    EXPECT_EQ(a->from, kVip) << "answer not from the VIP";
    return a->received;
  }

  // Lets the probe run `n` more probes (about 2 ms each).
  void LetProbeRun(VipProbe& probe, uint64_t n) {
    const uint64_t start = probe.sent();
    ASSERT_TRUE(harness::WaitFor([&] { return probe.sent() >= start + n; }, absl::Seconds(10)));
  }

  // Events of `node` matching `pred`, after `after` (monotonic).
  std::vector<v1::Event> EventsOf(const std::string& node,
                                  const std::function<bool(const v1::Event&)>& pred,
                                  MonoTime after = -absl::InfiniteDuration()) {
    std::vector<v1::Event> out;
    for (const auto& e : Recorder(node).Events()) {
      if (EventTime(e) > after && pred(e)) out.push_back(e);
    }
    return out;
  }

  std::optional<v1::Event> WaitEvent(const std::string& node,
                                     const std::function<bool(const v1::Event&)>& pred,
                                     MonoTime after, absl::Duration deadline) {
    std::optional<v1::Event> found;
    harness::WaitFor(
        [&] {
          auto events = EventsOf(node, pred, after);
          if (!events.empty()) found = events.front();
          return found.has_value();
        },
        deadline);
    return found;
  }

  static std::function<bool(const v1::Event&)> ResourceOp(v1::ResourceOp op, bool ok) {
    return [op, ok](const v1::Event& e) {
      return e.kind() == v1::EVENT_KIND_RESOURCE_OP && e.group() == kGroup &&
             absl::StrContains(e.resource(), "service") && e.op() == op && e.ok() == ok;
    };
  }

  static std::function<bool(const v1::Event&)> Kind(v1::EventKind kind) {
    return [kind](const v1::Event& e) { return e.kind() == kind; };
  }

  // For failure messages: each agent's view of the group, the sampler's
  // record and the end of each agent's log.
  std::string Diagnose() {
    std::string s = "---- diagnosis\n";
    for (const char* n : {"node01", "node02"}) {
      if (agents_.count(n) == 0) continue;
      auto st = Client(n).Status(absl::Milliseconds(500));
      if (!st.ok()) {
        absl::StrAppend(&s, n, ": no status (", st.status().message(), ")\n");
        continue;
      }
      for (const auto& g : st->groups()) {
        absl::StrAppend(&s, n, " sees ", g.name(), ": holder \"", g.holder(), "\" ",
                        v1::GroupState_Name(g.state()), " target \"", g.target(),
                        "\" failed_on [", absl::StrJoin(g.failed_on(), ","), "]\n");
        for (const auto& r : g.resources()) {
          absl::StrAppend(&s, "    ", r.name(), " running=", r.running(), " ",
                          v1::ResourceOp_Name(r.last_op()), " ok=", r.last_ok(), " \"",
                          r.last_message(), "\"\n");
        }
      }
    }
    if (sampler_ != nullptr) absl::StrAppend(&s, sampler_->Describe());
    for (const auto& [node, paths] : logs_) {
      for (const std::string& p : paths) {
        absl::StrAppend(&s, "---- ", p, " (last 40 lines)\n", Tail(ReadFile(p), 40));
      }
    }
    return s;
  }

  void TearDown() override {
    if (HasFailure()) std::cerr << Diagnose();
    // The observers go before the agents and the lab.
    recorders_.clear();
    sampler_.reset();
  }

  ScratchDir dir_;
  std::string probe_bin_;
  std::string spec_;
  std::string last_init_output_;
  std::unique_ptr<VipHolderSampler> sampler_;
  std::unique_ptr<NetLab> lab_;
  std::map<std::string, Process> agents_;
  std::map<std::string, int> starts_;
  std::map<std::string, std::vector<std::string>> logs_;
  std::map<std::string, std::unique_ptr<AgentClient>> clients_;
  std::map<std::string, std::unique_ptr<EventRecorder>> recorders_;
};

// ------------------------------------------------------------------------
// The harness itself, without agents: the parts every failover test
// relies on, each shown able to fail.

TEST_F(FailoverTest, InitScriptServesTheVipAndFollowsLsbExitCodes) {
  BuildLab("initscript");
  InstallProbeService("node01");
  EXPECT_EQ(RunInit("node01", "status"), 3) << last_init_output_;
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "status"), 0) << last_init_output_;
  const pid_t pid = ProbePid("node01");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(RunInit("node01", "start"), 0) << "start of a running service";
  EXPECT_EQ(ProbePid("node01"), pid) << "a second start started another server";

  // The service answers on a VIP added by hand, from the VIP, and the
  // client's neighbour entry names node01's MAC.
  auto add = lab().Run("node01", {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"});
  ASSERT_TRUE(add.ok() && add->status.ok()) << (add.ok() ? add->output : add.status().ToString());
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow(), absl::Seconds(5));
  const std::string mac01 = MacOf("node01");
  ASSERT_FALSE(mac01.empty());
  EXPECT_EQ(ClientNeighbourMac(), mac01);
  EXPECT_NE(MacOf("node02"), mac01);

  // Killed behind the script's back: "dead, pid file left".
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(harness::WaitFor([&] { return kill(pid, 0) != 0; }, absl::Seconds(5)));
  EXPECT_EQ(RunInit("node01", "status"), 1) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "stop"), 0) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "status"), 3) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "stop"), 0) << "stop of a stopped service";

  // The faults the resource-failure tests use.
  SetProbeFaults("node01", FailStart());
  EXPECT_EQ(RunInit("node01", "start"), 1);
  EXPECT_EQ(RunInit("node01", "status"), 3);
  SetProbeFaults("node01", FailStop());
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  EXPECT_EQ(RunInit("node01", "stop"), 1);
  EXPECT_EQ(RunInit("node01", "status"), 0) << "a failed stop stopped the service";
  SetProbeFaults("node01", {});
  EXPECT_EQ(RunInit("node01", "stop"), 0);
  EXPECT_EQ(RunInit("node01", "status"), 3);
}

TEST_F(FailoverTest, SamplerCatchesTwoHoldersAcrossNamespaces) {
  BuildLab("sampler");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  ExpectHolders({});
  const std::vector<std::string> add = {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"};
  const std::vector<std::string> del = {"ip", "addr", "del", "192.0.2.50/24", "dev", "eth0"};
  ASSERT_TRUE(lab().Run("node01", add)->status.ok());
  ExpectHolders({"node01"});
  EXPECT_EQ(sampler->overlap_rounds(), 0u);
  ASSERT_TRUE(lab().Run("node02", add)->status.ok());
  ExpectHolders({"node01", "node02"});
  EXPECT_GT(sampler->overlap_rounds(), 0u);
  ASSERT_TRUE(lab().Run("node01", del)->status.ok());
  const MonoTime released = MonotonicNow();
  ExpectHolders({"node02"});
  EXPECT_LE(*sampler->LastSeenHolding("node01"), released);
  EXPECT_FALSE(sampler->SeenHolding("node01", released, MonotonicNow()));
  EXPECT_TRUE(sampler->SeenHolding("node02", released, MonotonicNow()));
  std::vector<std::string> story;
  for (const HolderChange& c : sampler->Changes()) {
    story.push_back(absl::StrCat(c.host, c.holds ? "+" : "-"));
  }
  EXPECT_EQ(story, (std::vector<std::string>{"node01-", "node02-", "node01+", "node02+",
                                             "node01-"}));
  sampler->Stop();
  EXPECT_TRUE(sampler->status().ok()) << sampler->status();
  // Tens of thousands of rounds a second on an idle machine; a few hundred
  // at the very least.
  EXPECT_GT(sampler->rounds(), 100u);
}

// The partition tests hold the client to gaps of at most 10 ms: with the
// sampler running flat out, a service that nothing disturbs must stay well
// under that here, or those checks would measure the machine.
TEST_F(FailoverTest, ClientGapsStayUnderTenMsWhileNothingMoves) {
  BuildLab("calm");
  InstallProbeService("node01");
  ASSERT_EQ(RunInit("node01", "start"), 0) << last_init_output_;
  auto add = lab().Run("node01", {"ip", "addr", "add", "192.0.2.50/24", "dev", "eth0"});
  ASSERT_TRUE(add.ok() && add->status.ok());
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  const MonoTime first = ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  LetProbeRun(*probe, 250);
  // Cutting and healing paths the client does not use leaves it alone.
  ASSERT_TRUE(lab().CutPath("node01", "node02").ok());
  LetProbeRun(*probe, 250);
  ASSERT_TRUE(lab().HealPath("node01", "node02").ok());
  LetProbeRun(*probe, 250);
  const MonoTime end = MonotonicNow();
  const ProbeGap gap = LongestGapIn(probe->Answers(), first, end);
  std::cerr << "calm: longest gap " << Ms(gap.length()) << " at +" << Ms(gap.from - first)
            << " over " << Ms(end - first) << ", " << probe->sent() << " probes, "
            << probe->Answers().size() << " answers, " << sampler->rounds()
            << " sampler rounds\n";
  EXPECT_LE(gap.length(), absl::Milliseconds(10));
  EXPECT_EQ(sampler->overlap_rounds(), 0u);
  ASSERT_EQ(RunInit("node01", "stop"), 0);
}

TEST_F(FailoverTest, ScriptDirectoriesAreBoundOnlyInsideTheWrappedProcess) {
  BuildLab("mounts");
  InstallProbeService("node01");
  auto r = lab().Run("node01", {"/bin/sh", "-c", kMountWrapper, "ha-agent-mounts",
                                InitDir("node01"), RscDir("node01"), "/bin/sh", "-c",
                                "cat /etc/init.d/probe.env && touch /run/resource-agents/hat-check"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->status.ok()) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "PROBE_NAME=node01")) << r->output;
  EXPECT_TRUE(std::filesystem::exists(RscDir("node01") + "/hat-check"));
  EXPECT_FALSE(std::filesystem::exists("/run/resource-agents/hat-check"));
  EXPECT_FALSE(std::filesystem::exists("/etc/init.d/probe.env"));
  const std::vector<std::string> host = MountPoints(ReadFile("/proc/self/mountinfo"));
  EXPECT_FALSE(Contains(host, "/etc/init.d"));
  EXPECT_FALSE(Contains(host, "/run/resource-agents"));
}

// ------------------------------------------------------------------------
// Death of the active node.

TEST_F(FailoverTest, VipAndLsbServiceMoveToPeerWhenActiveNodeCrashesAndFailBack) {
  BuildLab("crash");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const std::string mac01 = MacOf("node01");
  const std::string mac02 = MacOf("node02");
  ASSERT_FALSE(mac01.empty());
  ASSERT_NE(mac01, mac02);
  ASSERT_EQ(ClientNeighbourMac(), mac01) << "the client must know node01's MAC before the crash";
  ExpectWhere("node01");

  const MonoTime crash = MonotonicNow();
  CrashNode("node01");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  const MonoTime back = ExpectAnswerFrom(*probe, "node02", crash);
  RecordProperty("crash_outage_ms", absl::StrCat(absl::ToInt64Milliseconds(back - crash)));
  std::cerr << "crash: the client was answered again by node02 after " << Ms(back - crash)
            << "\n";
  LetProbeRun(*probe, 100);
  EXPECT_EQ(NodesAnswering(probe->Answers(), back, MonotonicNow()),
            std::set<std::string>{"node02"});
  EXPECT_EQ(ClientNeighbourMac(), mac02) << "the gratuitous ARP did not reach the client";
  EXPECT_TRUE(HasVip("node02"));
  EXPECT_FALSE(HasVip("node01"));
  EXPECT_EQ(Where("node02", kVip), "node02");
  EXPECT_EQ(Where("node02", kGroup), "node02");
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();

  // node01 comes back: with auto_failback on, the group returns to it, and
  // at no instant do both nodes hold the VIP.
  const MonoTime restart = MonotonicNow();
  StartAgent("node01");
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01", absl::Seconds(15));
  ExpectAnswerFrom(*probe, "node01", restart);
  ExpectHolders({"node01"});
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  EXPECT_EQ(ClientNeighbourMac(), mac01);
  ExpectWhere("node01");
}

TEST_F(FailoverTest, LinkLossOfActiveNodeMovesVipAndServiceToPeer) {
  BuildLab("linkdown");
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  ASSERT_EQ(ClientNeighbourMac(), MacOf("node01"));

  const MonoTime cut = MonotonicNow();
  ASSERT_TRUE(lab().SetLinkUp("node01", "eth0", false).ok());
  ASSERT_TRUE(lab().SetLinkUp("node01", "eth1", false).ok());
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  const MonoTime back = ExpectAnswerFrom(*probe, "node02", cut);
  std::cerr << "link loss: the client was answered again by node02 after " << Ms(back - cut)
            << "\n";
  LetProbeRun(*probe, 100);
  EXPECT_EQ(NodesAnswering(probe->Answers(), back, MonotonicNow()),
            std::set<std::string>{"node02"});
  EXPECT_EQ(ClientNeighbourMac(), MacOf("node02"));
  EXPECT_TRUE(HasVip("node02"));
  EXPECT_EQ(Where("node02", kVip), "node02");
}

// The same crash with the real OCF IPaddr2 and Dummy agents, or with
// Heartbeat's resource.d/IPaddr, as installed: the VIP, Dummy's state (in
// each node's own /run/resource-agents) and the service move.
class ScriptVipFailoverTest : public FailoverTest {
 protected:
  void CrashFailover(const std::string& vip_resource) {
    const std::string dummy_state = "/run/resource-agents/hat-dummy.state";
    std::string resources = absl::StrCat(
        vip_resource, "      - ocf:\n          type: Dummy\n          params: {state: ",
        dummy_state, "}\n        name: dummy\n", "      - lsb: {name: ", kScript,
        "}\n        name: service\n");
    auto sampler = StartSampler();
    ASSERT_NE(sampler, nullptr);
    StartCluster(GroupSetup(resources));
    if (HasFatalFailure()) return;
    ExpectRunningOn("node01", absl::Seconds(15));
    if (HasFatalFailure()) return;
    EXPECT_TRUE(std::filesystem::exists(RscDir("node01") + "/hat-dummy.state"));
    EXPECT_FALSE(std::filesystem::exists(RscDir("node02") + "/hat-dummy.state"));
    EXPECT_FALSE(std::filesystem::exists(dummy_state)) << "Dummy wrote the host's own directory";
    auto probe = StartProbe();
    ASSERT_NE(probe, nullptr);
    ExpectAnswerFrom(*probe, "node01", MonotonicNow());
    ASSERT_EQ(ClientNeighbourMac(), MacOf("node01"));

    const MonoTime crash = MonotonicNow();
    CrashNode("node01");
    if (HasFatalFailure()) return;
    ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(15))) << Diagnose();
    const MonoTime back = ExpectAnswerFrom(*probe, "node02", crash);
    std::cerr << "crash: the client was answered again by node02 after " << Ms(back - crash)
              << "\n";
    EXPECT_TRUE(HasVip("node02"));
    EXPECT_FALSE(HasVip("node01"));
    EXPECT_TRUE(std::filesystem::exists(RscDir("node02") + "/hat-dummy.state"));
    // The resource agents' announcement reaches the client too.
    EXPECT_TRUE(harness::WaitFor([&] { return ClientNeighbourMac() == MacOf("node02"); },
                                 absl::Seconds(3)))
        << ClientNeighbourMac();
    auto g = GroupSeenBy("node02");
    ASSERT_TRUE(g.has_value());
    ASSERT_EQ(g->resources_size(), 3) << g->DebugString();
    for (const auto& r : g->resources()) {
      EXPECT_TRUE(r.running()) << r.DebugString();
      EXPECT_EQ(r.last_op(), v1::RESOURCE_OP_START) << r.DebugString();
      EXPECT_TRUE(r.last_ok()) << r.DebugString();
    }
    EXPECT_EQ(Where("node02", kGroup), "node02");
    // The VIP of an IPaddr2 or IPaddr resource is a VIP too: a GUI asks
    // where it is.
    EXPECT_EQ(Where("node02", kVip), "node02");
    EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  }
};

TEST_F(ScriptVipFailoverTest, OcfIpaddr2AndDummyFailOverWithTheService) {
  ASSERT_TRUE(std::filesystem::exists("/usr/lib/ocf/resource.d/heartbeat/IPaddr2"));
  BuildLab("ocf");
  CrashFailover(absl::StrCat("      - ocf:\n          type: IPaddr2\n          params: {ip: ", kVip,
                             ", cidr_netmask: \"24\", nic: eth0}\n        name: vip\n"));
}

TEST_F(ScriptVipFailoverTest, HeartbeatIpaddrScriptAndDummyFailOverWithTheService) {
  ASSERT_TRUE(std::filesystem::exists("/etc/ha.d/resource.d/IPaddr"));
  BuildLab("hbipaddr");
  CrashFailover(absl::StrCat("      - heartbeat: {name: IPaddr, args: [\"", kVip,
                             "/24/eth0\"]}\n        name: vip\n"));
}

// ------------------------------------------------------------------------
// Planned moves.

TEST_F(FailoverTest, StandbyTakeoverMoveAndFailbackNeverShowTwoHolders) {
  BuildLab("planned");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());

  struct Step {
    std::string on;
    std::vector<std::string> args;
    std::string holder;
  };
  const std::vector<Step> steps = {
      {"node01", {"standby", "--timeout", "10s"}, "node02"},
      {"node01", {"takeover", "--timeout", "10s"}, "node01"},
      {"node01", {"move", kGroup, "node02", "--timeout", "10s"}, "node02"},
      {"node02", {"standby", "failback", "--timeout", "10s"}, "node01"},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(absl::StrCat("hacli on ", step.on, ": ", absl::StrJoin(step.args, " ")));
    const MonoTime start = MonotonicNow();
    harness::RunResult r = Hacli(step.on, step.args);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString() << ": " << r.output << Diagnose();
    // The command returns once the move is complete: the VIP is there now.
    ExpectHolders({step.holder});
    // The agent that answered knows at once; its peer from the next
    // heartbeat.
    EXPECT_TRUE(WaitHolder(step.on, step.holder, absl::ZeroDuration())) << Diagnose();
    for (const char* observer : {"node01", "node02"}) {
      EXPECT_TRUE(WaitHolder(observer, step.holder, absl::Seconds(1))) << observer;
    }
    ExpectWhere(step.holder);
    const MonoTime answered = ExpectAnswerFrom(*probe, step.holder, start);
    std::cerr << absl::StrJoin(step.args, " ") << ": answered by " << step.holder << " after "
              << Ms(answered - start) << ", client gap "
              << Ms(LongestGap(probe->Answers(), start, answered)) << "\n";
    EXPECT_TRUE(sampler->SeenHolding(step.holder, start, MonotonicNow()));
    EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
    if (HasFailure()) return;
  }
}

TEST_F(FailoverTest, GroupStaysOnPeerAfterRestartWithAutoFailbackOff) {
  BuildLab("nofailback");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources(), /*auto_failback=*/false));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  CrashNode("node01");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();

  const MonoTime restart = MonotonicNow();
  StartAgent("node01");
  if (HasFatalFailure()) return;
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = Client("node01").Status();
        return st.ok() && !st->in_initdead() && Client("node01").StateOf("node02") ==
                                                    v1::NODE_STATE_UP;
      },
      absl::Seconds(10)));
  // Four deadtimes after node01 is back and settled: the group has not moved.
  EXPECT_FALSE(harness::WaitFor(
      [&] {
        auto g = GroupSeenBy("node01");
        return g.has_value() && g->holder() != "node02";
      },
      4 * kDeadtime))
      << Diagnose();
  ExpectWhere("node02");
  EXPECT_FALSE(sampler->SeenHolding("node01", restart, MonotonicNow())) << sampler->Describe();
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
}

// With a ping node configured, node01 starts first and hears node02 before
// node02's first ping reply is back (node02 reports score 0 for a moment).
// node02 has not lost its ping node, it has not pinged yet: the group must
// start on its preferred node02, and with auto_failback off a start on
// node01 would never be undone.
TEST_F(FailoverTest, PreferredNodeGetsTheGroupAtStartWithPingNodesWhicheverStartsFirst) {
  BuildLab("pingstart", /*ping_node=*/true);
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  ClusterSetup setup = GroupSetup(VipAndServiceResources(), /*auto_failback=*/false);
  setup.preferred = "node02";
  setup.ping_node = true;
  setup.start_order = {"node01", "node02"};
  StartCluster(setup);
  if (HasFatalFailure()) return;
  ExpectRunningOn("node02", absl::Seconds(5));
  EXPECT_FALSE(sampler->SeenHolding("node01", -absl::InfiniteDuration(), MonotonicNow()))
      << "the group started on node01 first\n"
      << Diagnose();
  ExpectWhere("node02");
}

// ------------------------------------------------------------------------
// Partitions, with a ping node on lan: both heartbeat paths between the
// nodes cut (CutPath on both networks); the client still reaches both.

class PartitionTest : public FailoverTest {
 protected:
  // The preferred node starts first (see PingNodeTest for the other order).
  void StartPartitionCluster(const std::string& preferred) {
    BuildLab(absl::StrCat("part", std::string(1, preferred.back())), /*ping_node=*/true);
    if (HasFatalFailure()) return;
    ASSERT_NE(StartSampler(), nullptr);
    // auto_failback off: when the network heals, nothing is planned to
    // move, so what the client sees is the heal alone.
    ClusterSetup setup = GroupSetup(VipAndServiceResources(), /*auto_failback=*/false);
    setup.preferred = preferred;
    setup.ping_node = true;
    setup.start_order = {preferred, preferred == "node01" ? "node02" : "node01"};
    StartCluster(setup);
    if (HasFatalFailure()) return;
    ExpectRunningOn(preferred);
    if (HasFatalFailure()) return;
    // Both reach the ping node before anything is cut.
    for (const char* n : {"node01", "node02"}) {
      ASSERT_TRUE(harness::WaitFor(
          [&] {
            auto st = Client(n).Status();
            return st.ok() && st->connectivity_score() == 1;
          },
          absl::Seconds(5)))
          << n << " never reached the ping node\n" << Diagnose();
    }
    probe_ = StartProbe();
    ASSERT_NE(probe_, nullptr);
    first_answer_ = ExpectAnswerFrom(*probe_, preferred, MonotonicNow());
    LetProbeRun(*probe_, 50);
  }

  // Where gaps are measured from: `t` - 200 ms, not before the first answer.
  MonoTime GapWindowStart(MonoTime t) {
    return std::max(first_answer_, t - absl::Milliseconds(200));
  }

  void CutHeartbeats() { ASSERT_TRUE(lab().CutPath("node01", "node02").ok()); }
  void HealHeartbeats() { ASSERT_TRUE(lab().HealPath("node01", "node02").ok()); }

  // Both see each other up again.
  void WaitReunited() {
    for (auto [a, b] : {std::pair<const char*, const char*>{"node01", "node02"},
                        {"node02", "node01"}}) {
      ASSERT_TRUE(harness::WaitFor([&] { return Client(a).StateOf(b) == v1::NODE_STATE_UP; },
                                   absl::Seconds(5)))
          << a << " never heard " << b << " again\n" << Diagnose();
    }
  }

  std::unique_ptr<VipProbe> probe_;
  MonoTime first_answer_;

  void TearDown() override {
    probe_.reset();
    FailoverTest::TearDown();
  }
};

// Holder node01 loses its ping node as the partition starts: it yields, the
// connected node02 takes over; when the network heals, node02 keeps serving
// and the client sees no gap.
TEST_F(PartitionTest, HolderThatLosesItsPingNodeYieldsAndHealKeepsOneHolder) {
  StartPartitionCluster("node01");
  if (HasFatalFailure()) return;
  VipHolderSampler& sampler = *sampler_;
  const MonoTime cut = MonotonicNow();
  CutHeartbeats();
  ASSERT_TRUE(lab().CutPath("node01", "pingnode").ok());
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  ASSERT_TRUE(harness::WaitFor([&] { return !HasVip("node01"); }, absl::Seconds(5)))
      << "node01 never released the VIP\n" << Diagnose();
  const MonoTime served = ExpectAnswerFrom(*probe_, "node02", cut);
  std::cerr << "partition: node02 answered after " << Ms(served - cut) << "\n";
  // node01 yields at deadping (its peer still alive, with a better score),
  // before node02 declares it dead: never two holders.
  EXPECT_EQ(sampler.overlap_rounds(), 0u) << sampler.Describe();
  ExpectHolders({"node02"});
  // node01 runs nothing and knows it.
  auto g = GroupSeenBy("node01");
  ASSERT_TRUE(g.has_value());
  EXPECT_NE(g->holder(), "node01") << g->DebugString();
  LetProbeRun(*probe_, 100);

  const MonoTime heal = MonotonicNow();
  HealHeartbeats();
  ASSERT_TRUE(lab().HealPath("node01", "pingnode").ok());
  WaitReunited();
  if (HasFatalFailure()) return;
  // A second after the heal: still node02 alone, serving all along.
  LetProbeRun(*probe_, 500);
  ExpectHolders({"node02"});
  EXPECT_FALSE(sampler.SeenHolding("node01", heal, MonotonicNow())) << sampler.Describe();
  EXPECT_EQ(sampler.overlap_rounds(), 0u) << sampler.Describe();
  const auto answers = probe_->Answers();
  const ProbeGap gap = LongestGapIn(answers, GapWindowStart(heal), MonotonicNow());
  std::cerr << "heal: longest client gap " << Ms(gap.length()) << " from +"
            << Ms(gap.from - heal) << " after the heal began\n";
  EXPECT_LE(gap.length(), absl::Milliseconds(10))
      << "from +" << Ms(gap.from - heal) << " to +" << Ms(gap.to - heal) << " after the heal began";
  EXPECT_EQ(NodesAnswering(answers, heal, MonotonicNow()), std::set<std::string>{"node02"});
  for (const char* n : {"node01", "node02"}) {
    EXPECT_EQ(Where(n, kVip), "node02") << n;
  }
}

// Holder node02 is the connected side: node01 loses its ping node and its
// peer, and must run nothing; node02 serves without a gap through the cut
// and the heal.
TEST_F(PartitionTest, ConnectedHolderKeepsServingThroughPartitionAndHeal) {
  StartPartitionCluster("node02");
  if (HasFatalFailure()) return;
  VipHolderSampler& sampler = *sampler_;
  const MonoTime cut = MonotonicNow();
  CutHeartbeats();
  ASSERT_TRUE(lab().CutPath("node01", "pingnode").ok());
  // Both sides notice, and node01 knows it lost the ping node.
  ASSERT_TRUE(harness::WaitFor(
      [&] { return Client("node01").StateOf("node02") == v1::NODE_STATE_DEAD; },
      absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor(
      [&] { return Client("node02").StateOf("node01") == v1::NODE_STATE_DEAD; },
      absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor(
      [&] {
        auto st = Client("node01").Status();
        return st.ok() && st->connectivity_score() == 0;
      },
      absl::Seconds(5)));
  // Four deadtimes of partition: node01 never takes the group.
  EXPECT_FALSE(harness::WaitFor([&] { return sampler.SeenHolding("node01", cut, MonotonicNow()); },
                                4 * kDeadtime))
      << sampler.Describe();
  ExpectHolders({"node02"});

  const MonoTime heal = MonotonicNow();
  HealHeartbeats();
  ASSERT_TRUE(lab().HealPath("node01", "pingnode").ok());
  WaitReunited();
  if (HasFatalFailure()) return;
  LetProbeRun(*probe_, 500);
  ExpectHolders({"node02"});
  EXPECT_EQ(sampler.overlap_rounds(), 0u) << sampler.Describe();
  EXPECT_FALSE(sampler.SeenHolding("node01", cut, MonotonicNow())) << sampler.Describe();
  const auto answers = probe_->Answers();
  const ProbeGap gap = LongestGapIn(answers, GapWindowStart(cut), MonotonicNow());
  std::cerr << "cut and heal: longest client gap " << Ms(gap.length()) << " from +"
            << Ms(gap.from - cut) << " after the cut (heal at +" << Ms(heal - cut) << ")\n";
  EXPECT_LE(gap.length(), absl::Milliseconds(10))
      << "from +" << Ms(gap.from - cut) << " to +" << Ms(gap.to - cut)
      << " after the cut; the heal began at +" << Ms(heal - cut);
  EXPECT_EQ(NodesAnswering(answers, cut, MonotonicNow()), std::set<std::string>{"node02"});
}

// Both keep their ping node: each side takes the group (split brain). On
// heal, the preferred node01 keeps it and node02 releases within a
// deadtime; the client is served by node01 again.
TEST_F(PartitionTest, SplitBrainHealKeepsPreferredNodeAndReleasesTheOther) {
  StartPartitionCluster("node01");
  if (HasFatalFailure()) return;
  VipHolderSampler& sampler = *sampler_;
  CutHeartbeats();
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  ExpectHolders({"node01", "node02"});
  ASSERT_TRUE(WaitHolder("node01", "node01", absl::Seconds(1))) << Diagnose();

  const MonoTime heal_start = MonotonicNow();
  HealHeartbeats();
  const MonoTime healed = MonotonicNow();
  ASSERT_TRUE(harness::WaitFor([&] { return !HasVip("node02"); }, absl::Seconds(5)))
      << "node02 never released the VIP\n" << Diagnose();
  auto last02 = sampler.LastSeenHolding("node02");
  ASSERT_TRUE(last02.has_value());
  std::cerr << "split brain: node02 released " << Ms(*last02 - heal_start)
            << " after the heal began\n";
  EXPECT_LE(*last02, healed + kDeadtime) << sampler.Describe();
  EXPECT_TRUE(sampler.SeenHolding("node01", heal_start, MonotonicNow()));
  ExpectHolders({"node01"});
  ExpectRunningOn("node01", absl::Seconds(2));
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        for (const char* n : {"node01", "node02"}) {
          if (!EventsOf(n, Kind(v1::EVENT_KIND_SPLIT_BRAIN), heal_start).empty()) return true;
        }
        return false;
      },
      absl::Seconds(2)))
      << "no SPLIT_BRAIN event on either node";
  // The client had node02's MAC (its last announcement): node01 must
  // announce again for the client to reach it.
  const MonoTime answered = ExpectAnswerFrom(*probe_, "node01", heal_start, absl::Seconds(3));
  std::cerr << "split brain: client answered by node01 " << Ms(answered - heal_start)
            << " after the heal began\n";
  EXPECT_EQ(ClientNeighbourMac(), MacOf("node01"));
}

// ------------------------------------------------------------------------
// Resource failures.

TEST_F(FailoverTest, StartFailureRunsGroupOnPeerAndListsTheFailedNode) {
  BuildLab("startfail");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()), {{"node01", FailStart()}});
  if (HasFatalFailure()) return;
  ExpectRunningOn("node02", absl::Seconds(15));
  if (HasFatalFailure()) return;
  for (const char* observer : {"node01", "node02"}) {
    auto g = GroupSeenBy(observer);
    ASSERT_TRUE(g.has_value());
    EXPECT_TRUE(Contains({g->failed_on().begin(), g->failed_on().end()}, "node01"))
        << observer << ": " << g->DebugString();
  }
  const MonoTime ever = -absl::InfiniteDuration();
  EXPECT_TRUE(WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_START, false), ever,
                        absl::Seconds(2)))
      << "no failed start of the service reported on node01";
  EXPECT_TRUE(WaitEvent("node01", Kind(v1::EVENT_KIND_GROUP_FAILED), ever, absl::Seconds(2)));
  // node01 unwound what it had started (the VIP) before node02 started.
  EXPECT_TRUE(sampler->SeenHolding("node01", absl::ZeroDuration(), MonotonicNow()))
      << "the VIP never started on node01: the failure was not the service's\n"
      << sampler->Describe();
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  ExpectHolders({"node02"});
  EXPECT_EQ(RunInit("node01", "status"), 3);
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node02", MonotonicNow());
  ExpectWhere("node02");
}

TEST_F(FailoverTest, MonitorFailuresRestartTheServiceThenMoveTheGroup) {
  BuildLab("monitor");
  StartCluster(GroupSetup(VipAndServiceResources("200ms")));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  // Two kills: each detected by the monitor and restarted in place.
  for (uint32_t failures = 1; failures <= 2; ++failures) {
    SCOPED_TRACE(absl::StrCat("kill ", failures));
    const pid_t pid = ProbePid("node01");
    ASSERT_GT(pid, 0);
    const MonoTime killed = MonotonicNow();
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    auto failed = WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_MONITOR, false), killed,
                            absl::Seconds(3));
    ASSERT_TRUE(failed.has_value()) << "no failed monitor after the kill\n" << Diagnose();
    std::cerr << "monitor failure " << failures << " seen "
              << Ms(EventTime(*failed) - killed) << " after the kill\n";
    auto stopped = WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_STOP, true), EventTime(*failed),
                             absl::Seconds(5));
    ASSERT_TRUE(stopped.has_value()) << Diagnose();
    auto started = WaitEvent("node01", ResourceOp(v1::RESOURCE_OP_START, true),
                             EventTime(*stopped), absl::Seconds(5));
    ASSERT_TRUE(started.has_value()) << "the service was not restarted\n" << Diagnose();
    EXPECT_EQ(RunInit("node01", "status"), 0);
    EXPECT_NE(ProbePid("node01"), pid);
    auto g = GroupSeenBy("node01");
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->holder(), "node01");
    EXPECT_EQ(g->state(), v1::GROUP_STATE_RUNNING);
    ASSERT_EQ(g->resources_size(), 2);
    EXPECT_EQ(g->resources(1).monitor_failures(), failures) << g->DebugString();
  }
  EXPECT_TRUE(HasVip("node01"));
  EXPECT_FALSE(HasVip("node02"));

  // The third failure moves the group.
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  const MonoTime killed = MonotonicNow();
  ASSERT_EQ(kill(ProbePid("node01"), SIGKILL), 0);
  ASSERT_TRUE(WaitEvent("node01", Kind(v1::EVENT_KIND_GROUP_FAILED), killed, absl::Seconds(5)))
      << Diagnose();
  ExpectRunningOn("node02");
  if (HasFatalFailure()) return;
  auto g = GroupSeenBy("node02");
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(Contains({g->failed_on().begin(), g->failed_on().end()}, "node01"))
      << g->DebugString();
  ExpectAnswerFrom(*probe, "node02", killed);
  EXPECT_FALSE(HasVip("node01"));
  ExpectWhere("node02");
}

TEST_F(FailoverTest, StopFailureBlocksTheGroupAndPeerNeverTakesIt) {
  BuildLab("stopfail");
  auto sampler = StartSampler();
  ASSERT_NE(sampler, nullptr);
  StartCluster(GroupSetup(VipAndServiceResources()));
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  if (HasFatalFailure()) return;
  auto probe = StartProbe();
  ASSERT_NE(probe, nullptr);
  ExpectAnswerFrom(*probe, "node01", MonotonicNow());
  SetProbeFaults("node01", FailStop());

  const MonoTime asked = MonotonicNow();
  harness::RunResult r = Hacli("node01", {"standby", "--no-wait"});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString() << ": " << r.output;
  auto first = WaitEvent("node01", Kind(v1::EVENT_KIND_STOP_FAILED), asked, absl::Seconds(5));
  ASSERT_TRUE(first.has_value()) << "no STOP_FAILED\n" << Diagnose();
  ASSERT_TRUE(WaitHolder("node01", "node01", absl::Seconds(2), v1::GROUP_STATE_BLOCKED))
      << Diagnose();
  // node02 sees the group still claimed by node01 and does not start it.
  auto seen = GroupSeenBy("node02");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->holder(), "node01") << seen->DebugString();
  // The stop is retried every 5 s.
  auto second =
      WaitEvent("node01", Kind(v1::EVENT_KIND_STOP_FAILED), EventTime(*first), absl::Seconds(8));
  ASSERT_TRUE(second.has_value()) << "the failed stop was not retried\n" << Diagnose();
  const absl::Duration retry = EventTime(*second) - EventTime(*first);
  std::cerr << "stop retried after " << Ms(retry) << "\n";
  EXPECT_GE(retry, absl::Milliseconds(4500));
  EXPECT_LE(retry, absl::Milliseconds(6500));
  EXPECT_EQ(GroupSeenBy("node01")->state(), v1::GROUP_STATE_BLOCKED);
  EXPECT_FALSE(sampler->SeenHolding("node02", asked, MonotonicNow())) << sampler->Describe();
  EXPECT_TRUE(HasVip("node01"));
  // Nothing was stopped: node01 still serves.
  EXPECT_EQ(NodesAnswering(probe->Answers(), asked, MonotonicNow()),
            std::set<std::string>{"node01"});

  // Once the script's stop works again, the next retry lets the group go.
  const MonoTime fixed = MonotonicNow();
  SetProbeFaults("node01", {});
  ExpectRunningOn("node02", absl::Seconds(10));
  if (HasFatalFailure()) return;
  ExpectAnswerFrom(*probe, "node02", fixed);
  ExpectHolders({"node02"});
  EXPECT_EQ(sampler->overlap_rounds(), 0u) << sampler->Describe();
  EXPECT_EQ(RunInit("node01", "status"), 3);
}

}  // namespace
}  // namespace hacluster::testing
