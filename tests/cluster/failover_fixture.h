// FailoverTest: the fixture of the tests that run a resource group between
// two real ha-agent processes on a NetLab (network namespaces joined by
// bridges) and watch it from outside the agents (failover_test.cc,
// safety_test.cc):
//
//   lan 192.0.2.0/24:      node01 .11 (eth0), node02 .12 (eth0), client .100,
//                          and with a ping node (partition tests) .1
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
// Timing checks: a test never compares what it measured on this machine with
// an absolute figure (the machine is shared and loaded). A client gap is
// compared with a calm window of the same probe measured earlier in the same
// test (MeasureCalmWindow, ExpectGapsAsCalm).
//
// Thread-safety: a fixture is used from the test's thread only (the probe,
// the sampler and the event recorders record on threads of their own and
// are read from it).
#ifndef HACLUSTER_TESTS_CLUSTER_FAILOVER_FIXTURE_H_
#define HACLUSTER_TESTS_CLUSTER_FAILOVER_FIXTURE_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"
#include "proto/agent.pb.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"

namespace hacluster::testing {

namespace v1 = agent::v1;
using agent::MonotonicNow;
using harness::NetLab;
using harness::Process;

inline constexpr char kVip[] = "192.0.2.50";
inline constexpr char kPingNode[] = "192.0.2.1";
inline constexpr int kProbePort = 4711;
inline constexpr char kGroup[] = "svc";
inline constexpr char kScript[] = "probe-service";
// The spec's timing (WriteSpec).
inline constexpr absl::Duration kKeepalive = absl::Milliseconds(100);
inline constexpr absl::Duration kDeadtime = absl::Milliseconds(500);

// Runs the rest of its arguments with a test-owned directory bound over
// /etc/init.d and another over /run/resource-agents. The caller's mount
// namespace is already a private one (NetLab::Spawn), so the binds are seen
// by this process and its children only.
inline constexpr char kMountWrapper[] =
    "mount --bind \"$1\" /etc/init.d && mount --bind \"$2\" /run/resource-agents && "
    "shift 2 && exec \"$@\"";

// Writes through a temporary file and rename(2): a script reading the file
// at that moment sees the old or the new contents, never half of it.
void WriteAtomically(const std::string& path, const std::string& contents, int mode);

// The mount points of a mountinfo file (field 5).
std::vector<std::string> MountPoints(const std::string& mountinfo);

bool Contains(const std::vector<std::string>& v, const std::string& s);

// The last `lines` lines of `text`.
std::string Tail(const std::string& text, int lines);

// "12.5 ms".
std::string Ms(absl::Duration d);

MonoTime EventTime(const v1::Event& e);

// Faults of the LSB script (probe.env).
struct ProbeFaults {
  bool fail_start = false;
  bool fail_stop = false;
};
ProbeFaults FailStart();
ProbeFaults FailStop();

// Which groups, resources and policies a test runs.
struct ClusterSetup {
  std::string preferred = "node01";
  // YAML list items under the group's resources:, indented for that place.
  std::string resources;
  bool auto_failback = true;
  bool ping_node = false;
  // The order the agents start in.
  std::vector<std::string> start_order = {"node01", "node02"};
  // More top-level YAML (e.g. an api section), appended to the spec.
  std::string extra_yaml;
  // Each node its own copy of the spec (NodeDir/cluster.yaml), as on real
  // machines, instead of one shared file.
  bool spec_per_node = false;
};

ClusterSetup GroupSetup(std::string resources, bool auto_failback = true);

// The VIP (native) then the LSB probe-service, with a monitor interval on
// the service when `monitor` is not empty ("200ms").
std::string VipAndServiceResources(const std::string& monitor = "");

// A stretch of the client probe's record measured while nothing moved.
struct CalmWindow {
  MonoTime from;
  MonoTime to;
  uint64_t probes = 0;  // probes sent in [from, to]
  ProbeGap longest;     // the longest gap in it
  absl::Duration length() const { return to - from; }
};

// How much longer than the calm window's longest gap a gap may be where
// nothing is supposed to move. A release and re-acquire of the VIP takes at
// least a stop and a start of the LSB service (forks of the init script and
// start-stop-daemon on each side, the VIP removed, added and announced):
// 30-70 ms for a planned move here (StandbyTakeoverMoveAndFailbackNeverShow-
// TwoHolders prints it), hundreds of ms for a failover. A second node
// grabbing the VIP while the holder still serves costs the client only the
// grabber's service start, 12-22 ms measured here: at the margin's edge, so
// the tests that use it also check structurally that nobody else held the
// VIP (the sampler) or answered (NodesAnswering). 10 ms above the calm
// figure stays above the scheduling noise between two windows of one run.
inline constexpr absl::Duration kGapMargin = absl::Milliseconds(10);

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // ------------------------------------------------------------ the lab

  // lan + hb, node01 and node02 (to node0N with `nodes`) on both, the
  // client on lan, and with `ping_node` a host answering ICMP on lan that
  // the agents ping. Node i has 192.0.2.1i and 198.51.100.1i.
  void BuildLab(const std::string& name, bool ping_node = false, int nodes = 2);
  const std::vector<std::string>& Nodes() const { return nodes_; }

  NetLab& lab() { return *lab_; }
  std::string Netns(const std::string& host) { return *lab_->NetnsPathOf(host); }

  std::string NodeDir(const std::string& node) { return dir_.File(node); }
  std::string StateDir(const std::string& node) { return NodeDir(node) + "/state"; }
  std::string InitDir(const std::string& node) { return NodeDir(node) + "/init.d"; }
  std::string RscDir(const std::string& node) { return NodeDir(node) + "/rsc"; }
  std::string Socket(const std::string& node) { return StateDir(node) + "/agent.sock"; }
  std::string Pidfile(const std::string& node) { return NodeDir(node) + "/probe.pid"; }
  std::string InitScript(const std::string& node) { return InitDir(node) + "/" + kScript; }

  // dir_/certs with the API's certificates (tests/cluster/api_certs.h):
  // the node certificate's SANs are node01..node0N's lan and hb addresses
  // plus those of `extra` (name -> addresses). Returns the directory.
  std::string WriteCerts(int nodes,
                         std::vector<std::pair<std::string, std::vector<std::string>>> extra = {});

  // The spec file `node` runs.
  std::string SpecOf(const std::string& node) {
    return spec_per_node_ ? NodeDir(node) + "/cluster.yaml" : spec_;
  }

  // The init script and its probe.env in the node's own /etc/init.d.
  void InstallProbeService(const std::string& node, ProbeFaults faults = {});
  void SetProbeFaults(const std::string& node, ProbeFaults faults);

  // Runs the init script by hand in the node's namespace: its exit code.
  int RunInit(const std::string& node, const std::string& op);

  // The pid in the node's probe pid file; 0 when none.
  pid_t ProbePid(const std::string& node);

  // ------------------------------------------------------------ the spec

  std::string WriteSpec(const ClusterSetup& setup);

  // ------------------------------------------------------------ agents

  // Starts the agent of `node` in its namespace, with the node's own
  // /etc/init.d and /run/resource-agents bound inside the agent's mount
  // namespace only (checked: the host's stay as they were). Returns once
  // its API answers and its events are recorded.
  void StartAgent(const std::string& node);

  // Starts both agents (after installing the service on both).
  void StartCluster(const ClusterSetup& setup, std::map<std::string, ProbeFaults> faults = {});

  AgentClient& Client(const std::string& node);

  // The events of the node's latest agent run (recorded since StartAgent).
  EventRecorder& Recorder(const std::string& node) { return *recorders_.at(node); }

  std::optional<v1::GroupStatus> GroupSeenBy(const std::string& observer);

  // Bounded wait until `observer` reports the group on `holder` in `state`.
  bool WaitHolder(const std::string& observer, const std::string& holder,
                  absl::Duration deadline = absl::Seconds(10),
                  v1::GroupState state = v1::GROUP_STATE_RUNNING);

  // Both agents report the group running on `holder`.
  void ExpectRunningOn(const std::string& holder, absl::Duration deadline = absl::Seconds(10));

  // `hacli --socket S ARGS...` run from the test's own namespace.
  harness::RunResult Hacli(const std::string& node, std::vector<std::string> args,
                           absl::Duration timeout = absl::Seconds(30));

  // `hacli where TARGET` on `node`: the holder it names, or "(hacli ...)"
  // when it failed.
  std::string Where(const std::string& node, const std::string& target);

  // `hacli where` for the VIP and the group on both agents says `holder`
  // (a peer learns it from the next heartbeat: allowed a few keepalives).
  void ExpectWhere(const std::string& holder);

  // The crash of a whole node: the agent killed with SIGKILL, its VIP gone
  // (as when the machine dies) and the service stopped.
  void CrashNode(const std::string& node);

  // The probe_server processes of the group's service in the nodes'
  // namespaces: "node01:PID" for each (the name is the server's --name, its
  // node's PROBE_NAME).
  std::vector<std::string> ServiceInstances();

  // Exactly one instance of the service across the nodes (waits, bounded,
  // for a stop under way to finish, then checks it stays so).
  void ExpectOneServiceInstance();

  // ------------------------------------------------------------ observers

  // The client probing the VIP every 2 ms (SCHED_FIFO 1); nullptr on error
  // (a test failure is recorded). Also (re)starts the control probes of
  // each node's own lan address (controls_).
  // `max_duration` bounds the probes (they stop by themselves after it).
  std::unique_ptr<VipProbe> StartProbe(absl::Duration max_duration = absl::Seconds(90));

  // Starts the sampler of both nodes; the fixture owns it. `pause`: the
  // time between two rounds (zero: as fast as it can); `max_duration`
  // bounds it.
  VipHolderSampler* StartSampler(absl::Duration pause = absl::ZeroDuration(),
                                 absl::Duration max_duration = absl::Seconds(90));

  // The sampler's view after now: exactly these holders.
  void ExpectHolders(const std::vector<std::string>& holders);

  bool HasVip(const std::string& host);

  std::string MacOf(const std::string& host);

  // The client's neighbour entry for the VIP: its MAC, "" when none.
  std::string ClientNeighbourMac();

  // Waits for an answer from `node` after `after` and returns when it came.
  MonoTime ExpectAnswerFrom(VipProbe& probe, const std::string& node, MonoTime after,
                            absl::Duration deadline = absl::Seconds(10));

  // Lets the probe run `n` more probes (about 2 ms each).
  void LetProbeRun(VipProbe& probe, uint64_t n);

  // Lets the probe run `probes` probes with nothing else happening and
  // returns that window with its longest gap (printed and recorded as the
  // test property `calm_<name>_ms`). The probe must be answered already.
  CalmWindow MeasureCalmWindow(VipProbe& probe, uint64_t probes, const std::string& name);

  // The client saw no outage in [from, to]: no stretch of it without an
  // answer is longer than calm's longest gap plus kGapMargin. A longer gap is not the VIP's when the node that served the VIP around
  // it was silent as long on its own address (its control probe, started by
  // StartProbe): the whole path stalled (a busy machine deferring packet
  // processing), which is printed and recorded as the property
  // `<what>_shared_stall_ms`, not counted. Returns the longest gap found in
  // [from, to], printed with `what`.
  ProbeGap ExpectGapsAsCalm(VipProbe& probe, const CalmWindow& calm, MonoTime from, MonoTime to,
                            const std::string& what);

  // Events of `node` matching `pred`, after `after` (monotonic).
  std::vector<v1::Event> EventsOf(const std::string& node,
                                  const std::function<bool(const v1::Event&)>& pred,
                                  MonoTime after = -absl::InfiniteDuration());

  std::optional<v1::Event> WaitEvent(const std::string& node,
                                     const std::function<bool(const v1::Event&)>& pred,
                                     MonoTime after, absl::Duration deadline);

  // A RESOURCE_OP event of the group's service resource.
  static std::function<bool(const v1::Event&)> ResourceOp(v1::ResourceOp op, bool ok);
  static std::function<bool(const v1::Event&)> Kind(v1::EventKind kind);

  // For failure messages: each agent's view of the group, the sampler's
  // record and the end of each agent's log.
  std::string Diagnose();

  ScratchDir dir_;
  std::string probe_bin_;
  std::string spec_;
  bool spec_per_node_ = false;
  std::vector<std::string> nodes_ = {"node01", "node02"};
  std::string last_init_output_;
  std::unique_ptr<VipHolderSampler> sampler_;
  // By node: a probe of the same service on the node's own lan address,
  // started with each VIP probe (StartProbe), for ExpectGapsAsCalm.
  std::map<std::string, std::unique_ptr<VipProbe>> controls_;
  std::unique_ptr<NetLab> lab_;
  std::map<std::string, Process> agents_;
  // By node: "NAME=value" entries StartAgent puts in the agent's
  // environment (through env(1), after the mounts), e.g. an LD_PRELOAD.
  std::map<std::string, std::vector<std::string>> agent_env_;
  std::map<std::string, int> starts_;
  std::map<std::string, std::vector<std::string>> logs_;
  std::map<std::string, std::unique_ptr<AgentClient>> clients_;
  std::map<std::string, std::unique_ptr<EventRecorder>> recorders_;
};

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_FAILOVER_FIXTURE_H_
