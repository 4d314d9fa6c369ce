// The FailoverTest fixture: see failover_fixture.h.
#include "tests/cluster/failover_fixture.h"

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
#include <iostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/cluster/api_certs.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {

void WriteAtomically(const std::string& path, const std::string& contents, int mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << contents;
  }
  chmod(tmp.c_str(), mode);
  ASSERT_EQ(rename(tmp.c_str(), path.c_str()), 0) << path << ": " << strerror(errno);
}

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

ClusterSetup GroupSetup(std::string resources, bool auto_failback) {
  ClusterSetup s;
  s.resources = std::move(resources);
  s.auto_failback = auto_failback;
  return s;
}

std::string VipAndServiceResources(const std::string& monitor) {
  std::string r = absl::StrCat(
      "      - ip: {address: ", kVip, ", prefix_length: 24, interface: eth0}\n",
      "        name: vip\n", "      - lsb: {name: ", kScript, "}\n", "        name: service\n");
  if (!monitor.empty()) absl::StrAppend(&r, "        monitor_interval: ", monitor, "\n");
  return r;
}

void FailoverTest::SetUp() {
  absl::Status pre = NetLab::CheckPrerequisites();
  if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
  ASSERT_TRUE(std::filesystem::exists("/run/resource-agents"))
      << "/run/resource-agents is missing (the resource-agents package, see setup.sh)";
  probe_bin_ = std::filesystem::canonical(RunfilePath("tests/cluster/probe_server")).string();
}

// ------------------------------------------------------------ the lab

// lan + hb, node01 and node02 on both, the client on lan, and with
// `ping_node` a host answering ICMP on lan that the agents ping.
void FailoverTest::BuildLab(const std::string& name, bool ping_node, int nodes) {
  nodes_.clear();
  for (int i = 1; i <= nodes; ++i) nodes_.push_back(absl::StrCat("node0", i));
  lab_ = std::make_unique<NetLab>(name);
  ASSERT_TRUE(lab_->status().ok()) << lab_->status();
  ASSERT_TRUE(lab_->AddNetwork("lan", "192.0.2.0/24").ok());
  ASSERT_TRUE(lab_->AddNetwork("hb", "198.51.100.0/24").ok());
  for (int i = 1; i <= nodes; ++i) {
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
  for (const std::string& n : nodes_) {
    for (const char* sub : {"state", "init.d", "rsc"}) {
      std::filesystem::create_directories(absl::StrCat(NodeDir(n), "/", sub));
    }
  }
}



// The init script and its probe.env in the node's own /etc/init.d.
void FailoverTest::InstallProbeService(const std::string& node, ProbeFaults faults) {
  std::filesystem::copy_file(RunfilePath("tests/cluster/testdata/probe-service"), InitScript(node),
                             std::filesystem::copy_options::overwrite_existing);
  chmod(InitScript(node).c_str(), 0755);
  SetProbeFaults(node, faults);
}

void FailoverTest::SetProbeFaults(const std::string& node, ProbeFaults faults) {
  WriteAtomically(InitDir(node) + "/probe.env",
                  absl::StrCat("PROBE_BIN=", probe_bin_, "\nPROBE_NAME=", node,
                               "\nPROBE_PORT=", kProbePort, "\nPROBE_PIDFILE=", Pidfile(node),
                               "\nPROBE_REALTIME_PRIORITY=1",
                               "\nPROBE_FAIL_START=", faults.fail_start ? 1 : 0,
                               "\nPROBE_FAIL_STOP=", faults.fail_stop ? 1 : 0, "\n"),
                  0644);
}

// Runs the init script by hand in the node's namespace: its exit code.
int FailoverTest::RunInit(const std::string& node, const std::string& op) {
  auto r = lab_->Run(node, {InitScript(node), op}, absl::Seconds(15));
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return -1;
  last_init_output_ = r->output;
  return r->status.exited() ? r->status.code : 128 + r->status.signal;
}

pid_t FailoverTest::ProbePid(const std::string& node) {
  int pid = 0;
  std::string text(absl::StripAsciiWhitespace(ReadFile(Pidfile(node))));
  return absl::SimpleAtoi(text, &pid) ? pid : 0;
}

std::string FailoverTest::WriteCerts(
    int nodes, std::vector<std::pair<std::string, std::vector<std::string>>> extra) {
  const std::string dir = dir_.File("certs");
  EXPECT_EQ(mkdir(dir.c_str(), 0700), 0);
  ApiCertOptions o;
  for (int i = 1; i <= nodes; ++i) {
    o.nodes.push_back({absl::StrCat("node0", i),
                       {absl::StrCat("192.0.2.1", i), absl::StrCat("198.51.100.1", i)}});
  }
  o.nodes.insert(o.nodes.end(), extra.begin(), extra.end());
  absl::Status s = WriteApiCerts(dir, o);
  EXPECT_TRUE(s.ok()) << s;
  return dir;
}

// ------------------------------------------------------------ the spec

std::string FailoverTest::WriteSpec(const ClusterSetup& setup) {
  SpecOptions o;
  for (size_t i = 1; i <= nodes_.size(); ++i) {
    o.nodes.push_back({nodes_[i - 1],
                       {absl::StrCat("192.0.2.1", i), absl::StrCat("198.51.100.1", i)},
                       {{"gui_server_id", absl::StrCat("10", i)}}});
  }
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
                  "auto_failback: ", setup.auto_failback ? "on" : "off", "\n",
                  setup.extra_yaml);
  return dir_.Write("cluster.yaml", yaml);
}

// ------------------------------------------------------------ agents

// Starts the agent of `node` in its namespace, with the node's own
// /etc/init.d and /run/resource-agents bound inside the agent's mount
// namespace only (checked: the host's stay as they were).
void FailoverTest::StartAgent(const std::string& node) {
  std::string log;
  if (const char* out = getenv("TEST_UNDECLARED_OUTPUTS_DIR"); out != nullptr) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // A parameterized test's name has a '/' ("Case/3").
    const std::string test = absl::StrReplaceAll(info->name(), {{"/", "_"}});
    log = absl::StrCat(out, "/", test, ".", node, ".agent.", ++starts_[node], ".log");
  } else {
    auto path = harness::NewLogPath("failover-agent-" + node);
    ASSERT_TRUE(path.ok()) << path.status();
    log = *path;
  }
  std::vector<std::string> argv = {"/bin/sh", "-c", kMountWrapper, "ha-agent-mounts",
                                   InitDir(node), RscDir(node)};
  if (auto env = agent_env_.find(node); env != agent_env_.end() && !env->second.empty()) {
    argv.push_back("env");
    argv.insert(argv.end(), env->second.begin(), env->second.end());
  }
  argv.insert(argv.end(), {HaAgentPath(), "--config", SpecOf(node), "--node", node,
                           "--state-dir", StateDir(node)});
  auto p = lab_->Spawn(node, argv, log);
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
void FailoverTest::StartCluster(const ClusterSetup& setup,
                                std::map<std::string, ProbeFaults> faults) {
  spec_ = WriteSpec(setup);
  spec_per_node_ = setup.spec_per_node;
  for (const std::string& n : nodes_) {
    InstallProbeService(n, faults[n]);
    if (spec_per_node_) {
      for (const char* f : {"cluster.yaml", "authkey"}) {
        std::filesystem::copy_file(dir_.File(f), NodeDir(n) + "/" + f,
                                   std::filesystem::copy_options::overwrite_existing);
      }
    }
  }
  for (const std::string& n : setup.start_order) {
    StartAgent(n);
    if (HasFatalFailure()) return;
  }
}

AgentClient& FailoverTest::Client(const std::string& node) {
  auto it = clients_.find(node);
  if (it == clients_.end()) {
    it = clients_.emplace(node, std::make_unique<AgentClient>(Socket(node))).first;
  }
  return *it->second;
}


std::optional<v1::GroupStatus> FailoverTest::GroupSeenBy(const std::string& observer) {
  auto st = Client(observer).Status();
  if (!st.ok()) return std::nullopt;
  for (const auto& g : st->groups()) {
    if (g.name() == kGroup) return g;
  }
  return std::nullopt;
}

// Bounded wait until `observer` reports the group on `holder` in `state`.
bool FailoverTest::WaitHolder(const std::string& observer, const std::string& holder,
                              absl::Duration deadline, v1::GroupState state) {
  return harness::WaitFor(
      [&] {
        auto g = GroupSeenBy(observer);
        return g.has_value() && g->holder() == holder && g->state() == state;
      },
      deadline);
}

// Both agents report the group running on `holder`.
void FailoverTest::ExpectRunningOn(const std::string& holder, absl::Duration deadline) {
  for (const std::string& observer : nodes_) {
    if (agents_.count(observer) == 0 || agents_[observer].TryWait().has_value()) continue;
    ASSERT_TRUE(WaitHolder(observer, holder, deadline))
        << observer << " never saw " << kGroup << " running on " << holder << "\n"
        << Diagnose();
  }
}

// `hacli --socket S ARGS...` run from the test's own namespace.
harness::RunResult FailoverTest::Hacli(const std::string& node, std::vector<std::string> args,
                                       absl::Duration timeout) {
  std::vector<std::string> argv = {HacliPath(), "--socket", Socket(node)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = harness::RunProcess(argv, timeout);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : harness::RunResult{};
}

std::string FailoverTest::Where(const std::string& node, const std::string& target) {
  harness::RunResult r = Hacli(node, {"where", target});
  if (!r.status.ok()) return absl::StrCat("(hacli ", r.status.ToString(), ": ", r.output, ")");
  return std::string(absl::StripAsciiWhitespace(r.output));
}

// `hacli where` for the VIP and the group on both agents says `holder`
// (a peer learns it from the next heartbeat: allowed a few keepalives).
void FailoverTest::ExpectWhere(const std::string& holder) {
  for (const std::string& observer : nodes_) {
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
void FailoverTest::CrashNode(const std::string& node) {
  ASSERT_TRUE(agents_[node].Kill(SIGKILL).ok());
  auto exit = agents_[node].Wait(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << exit.status();
  auto del = lab_->Run(node, {"ip", "addr", "del", absl::StrCat(kVip, "/24"), "dev", "eth0"});
  ASSERT_TRUE(del.ok()) << del.status();
  ASSERT_TRUE(del->status.ok()) << "the VIP was not on " << node << ": " << del->output;
  ASSERT_EQ(RunInit(node, "stop"), 0) << last_init_output_;
}

std::vector<std::string> FailoverTest::ServiceInstances() {
  std::vector<std::string> found;
  for (const std::string& node : nodes_) {
    auto pids = lab_->PidsIn(node);
    EXPECT_TRUE(pids.ok()) << pids.status();
    if (!pids.ok()) continue;
    for (pid_t pid : *pids) {
      std::error_code ec;
      auto exe = std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/exe"), ec);
      if (ec || exe.string() != probe_bin_) continue;
      std::vector<std::string> argv =
          absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/cmdline")), '\0');
      std::string name = "?";
      for (size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "--name") name = argv[i + 1];
      }
      found.push_back(absl::StrCat(name, ":", pid));
    }
  }
  return found;
}

void FailoverTest::ExpectOneServiceInstance() {
  std::vector<std::string> found;
  const bool one = harness::WaitFor(
      [&] {
        found = ServiceInstances();
        return found.size() == 1;
      },
      absl::Seconds(5), absl::Milliseconds(50));
  EXPECT_TRUE(one) << "service instances: [" << absl::StrJoin(found, ", ") << "]";
}

// ------------------------------------------------------------ observers

std::unique_ptr<VipProbe> FailoverTest::StartProbe(absl::Duration max_duration) {
  VipProbeOptions o;
  o.netns_path = Netns("client");
  o.address = kVip;
  o.port = kProbePort;
  o.max_duration = max_duration;
  o.max_probes = std::max<uint64_t>(o.max_probes, max_duration / o.interval + 1);
  // Above the test's other threads (the sampler runs flat out), below the
  // agents' heartbeat loops (SCHED_RR 10).
  o.realtime_priority = 1;
  // The same service on each node's own address, through the same client
  // namespace, bridge and server: what a stall of the machine looks like.
  controls_.clear();
  for (size_t i = 1; i <= nodes_.size(); ++i) {
    const std::string& node = nodes_[i - 1];
    const std::string address = absl::StrCat("192.0.2.1", i);
    VipProbeOptions c = o;
    c.address = address;
    auto control = VipProbe::Start(c);
    EXPECT_TRUE(control.ok()) << control.status();
    if (control.ok()) controls_[node] = *std::move(control);
  }
  auto p = VipProbe::Start(o);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

// Starts the sampler of both nodes; the fixture owns it.
VipHolderSampler* FailoverTest::StartSampler(absl::Duration pause, absl::Duration max_duration) {
  VipSamplerOptions o;
  for (const std::string& n : nodes_) o.hosts.push_back({n, Netns(n)});
  o.address = kVip;
  o.pause = pause;
  o.max_duration = max_duration;
  auto s = VipHolderSampler::Start(o);
  EXPECT_TRUE(s.ok()) << s.status();
  if (!s.ok()) return nullptr;
  sampler_ = *std::move(s);
  return sampler_.get();
}

// The sampler's view after now: exactly these holders.
void FailoverTest::ExpectHolders(const std::vector<std::string>& holders) {
  ASSERT_NE(sampler_, nullptr);
  ASSERT_TRUE(sampler_->WaitForRoundAfter(MonotonicNow(), absl::Seconds(2)))
      << sampler_->Describe();
  EXPECT_EQ(sampler_->Holders(), holders) << sampler_->Describe();
}

bool FailoverTest::HasVip(const std::string& host) {
  auto has = AddressPresentIn(Netns(host), kVip);
  EXPECT_TRUE(has.ok()) << has.status();
  return has.ok() && *has;
}

std::string FailoverTest::MacOf(const std::string& host) {
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
std::string FailoverTest::ClientNeighbourMac() {
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
MonoTime FailoverTest::ExpectAnswerFrom(VipProbe& probe, const std::string& node, MonoTime after,
                                        absl::Duration deadline) {
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
void FailoverTest::LetProbeRun(VipProbe& probe, uint64_t n) {
  const uint64_t start = probe.sent();
  // Twice the probes' own time, and at least 10 s (the long fault matrix
  // holds a fault for 10 s, which alone would use up a fixed 10 s).
  const absl::Duration limit =
      std::max(absl::Seconds(10), 2 * static_cast<int64_t>(n) * absl::Milliseconds(2));
  ASSERT_TRUE(harness::WaitFor([&] { return probe.sent() >= start + n; }, limit))
      << probe.sent() - start << " of " << n << " probes sent within " << limit;
}

CalmWindow FailoverTest::MeasureCalmWindow(VipProbe& probe, uint64_t probes,
                                           const std::string& name) {
  CalmWindow calm;
  calm.from = MonotonicNow();
  const uint64_t sent = probe.sent();
  LetProbeRun(probe, probes);
  calm.to = MonotonicNow();
  calm.probes = probe.sent() - sent;
  calm.longest = LongestGapIn(probe.Answers(), calm.from, calm.to);
  std::cerr << "calm window " << name << ": longest client gap " << Ms(calm.longest.length())
            << " over " << Ms(calm.length()) << " (" << calm.probes << " probes)\n";
  RecordProperty(absl::StrCat("calm_", name, "_ms"),
                 absl::StrCat(absl::ToDoubleMilliseconds(calm.longest.length())));
  return calm;
}

ProbeGap FailoverTest::ExpectGapsAsCalm(VipProbe& probe, const CalmWindow& calm, MonoTime from,
                                        MonoTime to, const std::string& what) {
  const std::vector<ProbeAnswer> answers = probe.Answers();
  const ProbeGap overall = LongestGapIn(answers, from, to);
  const absl::Duration allowed = calm.longest.length() + kGapMargin;
  std::cerr << what << ": longest client gap " << Ms(overall.length()) << " from +"
            << Ms(overall.from - from) << " over " << Ms(to - from) << "; calm window "
            << Ms(calm.longest.length()) << " over " << Ms(calm.length()) << ", allowed "
            << Ms(allowed) << "\n";
  RecordProperty(absl::StrCat(what, "_gap_ms"),
                 absl::StrCat(absl::ToDoubleMilliseconds(overall.length())));
  if (calm.length() <= absl::ZeroDuration()) {
    ADD_FAILURE() << "empty calm window";
    return overall;
  }
  // Every stretch without an answer in [from, to], [from, first answer] and
  // [last answer, to] included.
  std::vector<MonoTime> times = {from};
  for (const ProbeAnswer& a : answers) {
    if (a.received > from && a.received < to) times.push_back(a.received);
  }
  times.push_back(to);
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const ProbeGap gap{times[i], times[i + 1]};
    if (gap.length() <= allowed) continue;
    // Who served the VIP around the gap (the answer that opened it, else
    // the one that closed it), and was its own address silent as long?
    std::string server;
    for (const ProbeAnswer& a : answers) {
      if (a.received > gap.from && !server.empty()) break;
      server = a.node;
    }
    std::string control_text = "no control probe of the serving node";
    auto control = controls_.find(server);
    if (control != controls_.end() && control->second != nullptr) {
      const ProbeGap shared = LongestGapIn(control->second->Answers(), gap.from, gap.to);
      if (shared.length() + kGapMargin >= gap.length()) {
        std::cerr << what << ": a gap of " << Ms(gap.length()) << " from +" << Ms(gap.from - from)
                  << " is a stall of the machine, not the VIP's: " << server
                  << "'s own address went " << Ms(shared.length()) << " without an answer in it\n";
        RecordProperty(absl::StrCat(what, "_shared_stall_ms"),
                       absl::StrCat(absl::ToDoubleMilliseconds(gap.length())));
        continue;
      }
      control_text = absl::StrCat(server, "'s own address went at most ", Ms(shared.length()),
                                  " without an answer in it");
    }
    ADD_FAILURE() << what << ": the client went " << Ms(gap.length())
                  << " without an answer, from +" << Ms(gap.from - from) << " to +"
                  << Ms(gap.to - from) << "; the calm window of this run had "
                  << Ms(calm.longest.length()) << " at most over " << Ms(calm.length())
                  << " (margin " << Ms(kGapMargin) << "); " << control_text;
    break;
  }
  return overall;
}

// Events of `node` matching `pred`, after `after` (monotonic).
std::vector<v1::Event> FailoverTest::EventsOf(const std::string& node,
                                              const std::function<bool(const v1::Event&)>& pred,
                                              MonoTime after) {
  std::vector<v1::Event> out;
  for (const auto& e : Recorder(node).Events()) {
    if (EventTime(e) > after && pred(e)) out.push_back(e);
  }
  return out;
}

std::optional<v1::Event> FailoverTest::WaitEvent(const std::string& node,
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

std::function<bool(const v1::Event&)> FailoverTest::ResourceOp(v1::ResourceOp op, bool ok) {
  return [op, ok](const v1::Event& e) {
    return e.kind() == v1::EVENT_KIND_RESOURCE_OP && e.group() == kGroup &&
           absl::StrContains(e.resource(), "service") && e.op() == op && e.ok() == ok;
  };
}

std::function<bool(const v1::Event&)> FailoverTest::Kind(v1::EventKind kind) {
  return [kind](const v1::Event& e) { return e.kind() == kind; };
}

// For failure messages: each agent's view of the group, the sampler's
// record and the end of each agent's log.
std::string FailoverTest::Diagnose() {
  std::string s = "---- diagnosis\n";
  for (const std::string& n : nodes_) {
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

void FailoverTest::TearDown() {
  if (HasFailure()) std::cerr << Diagnose();
  // The observers go before the agents and the lab.
  recorders_.clear();
  sampler_.reset();
  controls_.clear();
}

}  // namespace hacluster::testing
