// NetLab: a small Layer-2 network of Linux network namespaces for tests that
// need real segments (bcast and mcast heartbeats, VIPs and ARP, link failures,
// split brain), built with iproute2 (`ip`), nftables (`nft`) and `tc`, run by
// fork/exec with argv. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN).
//
// Shape:
//   - one "switch" namespace holds one Linux bridge per network (br0, br1..,
//     STP off, multicast snooping off: a dumb hub for every frame);
//   - one namespace per host, with `lo` up and one veth pair per NIC: the
//     host end carries the name the test gives (eth0, eth1..), the switch end
//     is a bridge port named h<host>n<network> (h0n1: first host, second
//     network). A host with NICs on two networks has two heartbeat paths.
//
//     NetLab lab("bcast");
//     ASSERT_TRUE(lab.AddNetwork("lan", "192.0.2.0/24").ok());
//     ASSERT_TRUE(lab.AddNetwork("hb", "198.51.100.0/24").ok());
//     ASSERT_TRUE(lab.AddHost("node01", {{"lan", "eth0", "192.0.2.11"},
//                                        {"hb", "eth1", "198.51.100.11"}}).ok());
//     ASSERT_TRUE(lab.AddHost("node02", {{"lan", "eth0", "192.0.2.12"},
//                                        {"hb", "eth1", "198.51.100.12"}}).ok());
//     absl::StatusOr<Process> agent =
//         lab.Spawn("node01", {agent_path, "--config", config_path});
//     ASSERT_TRUE(lab.SetLinkUp("node01", "eth1", false).ok());
//
// Address rules: networks are IPv4 subnets inside the documentation ranges
// 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 only (prefix /24 to /30),
// every host address lies inside its network's subnet and is neither its
// network nor its broadcast address. No namespace gets a default route; no
// veth, route or address ever touches the caller's (root) namespace: veths
// are created directly inside their namespaces. So nothing a test sends can
// leave the lab. The root namespace itself may use one of these ranges (some
// virtual machines do): lab addresses mean something only inside the lab, so
// never aim a program spawned with host "" at them.
//
// Names: every namespace is "<prefix><host>" or "<prefix>switch", where
// prefix() is "hat<pid>-<6 random hex digits>-<lab name>-", unique per run,
// so concurrent tests and leftovers of older runs never collide. Interface
// names inside the namespaces are short (Linux allows 15 characters).
//
// Cleanup guarantees:
//   - The destructor (or Destroy()) deletes the lab's namespaces (as
//     `ip netns delete`: unmount and remove /run/netns/NAME; the veths and
//     bridges go with them) and kills with SIGKILL every process left in them
//     (as `ip netns pids` finds them: any process whose network namespace is
//     one of the lab's), waiting until none is left.
//   - A janitor process, forked by the constructor, learns each namespace name
//     before it is created. When the test process dies for any reason (crash,
//     SIGKILL, a runner's timeout), the janitor's end of a socket reads EOF
//     and it does the same cleanup, then exits. It runs in a session of its
//     own and ignores SIGTERM/SIGINT/SIGHUP, so a signal sent to the test's
//     process group does not stop it; it exits as soon as its lab is gone and
//     never outlives its job.
//   - A runner that kills every leftover descendant when a test ends (Bazel's
//     process-wrapper is a child subreaper and SIGKILLs them) or tears down a
//     PID namespace may kill the janitor before it is done. For that, each
//     lab holds an flock() on /run/hacluster-netlab/<prefix>lock for its
//     whole life, and every NetLab constructor first removes the namespaces
//     of labs whose lock is free: the kernel releases it however the owner
//     died, so a live lab is never touched and a dead one is cleaned at the
//     latest by the next lab built on the machine.
//   - Processes started with Spawn() get PR_SET_PDEATHSIG SIGKILL and die
//     with the test even without the janitor.
//
// Errors: every call returns absl::Status; a command that fails is named
// with its argv and output. Construction cannot fail visibly: if the
// janitor could not be started, status() says why and every call that would
// create something returns that error.
//
// Thread-safety: not thread-safe. Build and drive a NetLab from one test
// thread (the one that outlives the processes it spawns: PR_SET_PDEATHSIG
// follows the spawning thread). Processes returned by Spawn() are owned by
// the caller and may outlive the lab (they are killed when it goes).
#ifndef HACLUSTER_TESTS_HARNESS_NETLAB_H_
#define HACLUSTER_TESTS_HARNESS_NETLAB_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/harness/process.h"

namespace hacluster::harness {

// One NIC of a host.
struct NicSpec {
  std::string network;  // a name given to AddNetwork
  std::string ifname;   // its name in the host's namespace, e.g. "eth0"
  std::string address;  // IPv4, "192.0.2.11" or "192.0.2.11/24" (the
                        // prefix, when given, must be the network's)
};

// Which end of a host's veth pair SetLinkUp acts on. kHost: the NIC inside
// the host (the host sees its interface administratively down). kSwitch: the
// bridge port (the host's NIC stays up but loses carrier, as when a cable is
// pulled or a switch port dies).
enum class LinkEnd { kHost, kSwitch };

class NetLab {
 public:
  // `name`: 1 to 16 characters [A-Za-z0-9_], part of every namespace name.
  // Takes the lab's lock, removes what labs of dead processes left, and
  // starts the janitor.
  explicit NetLab(absl::string_view name);
  // Destroy(); errors are printed to stderr.
  ~NetLab();
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  // OK, or why the lab cannot be used (bad name, janitor not started).
  const absl::Status& status() const { return status_; }

  // OK when this process can build labs: it runs as root and `ip` is found.
  // Tests use it to say clearly why they cannot run.
  static absl::Status CheckPrerequisites();

  // "hat<pid>-<hex>-<name>-": the start of every namespace name of this lab.
  const std::string& prefix() const { return prefix_; }

  // Adds an L2 segment with IPv4 subnet `subnet` ("192.0.2.0/24"). The first
  // call creates the switch namespace. InvalidArgument for a bad name or a
  // subnet outside the rules above; AlreadyExists for a name or subnet in use.
  absl::Status AddNetwork(absl::string_view network, absl::string_view subnet);

  // Adds a host namespace with one NIC per entry of `nics` (at least one),
  // each joined to its network's bridge, up, with its address. `host`: 1 to
  // 32 characters [A-Za-z0-9_-], not "switch". InvalidArgument for a bad
  // name, ifname or address; NotFound for an unknown network; AlreadyExists
  // for a host, ifname (within the host), address or network (within the
  // host) used twice. Returns once every NIC passes packets (both veth ends
  // operationally up). If a command fails midway the host is not added; its
  // namespace is still removed with the lab.
  absl::Status AddHost(absl::string_view host, const std::vector<NicSpec>& nics);

  // The names of the hosts, in the order they were added.
  std::vector<std::string> Hosts() const;
  // The full namespace name of `host`, e.g. for `ip netns exec`.
  absl::StatusOr<std::string> NamespaceOf(absl::string_view host) const;
  // "/run/netns/<namespace>", for SpawnOptions::netns_path or setns().
  absl::StatusOr<std::string> NetnsPathOf(absl::string_view host) const;
  // The address of `host` on `ifname`, without prefix length: "192.0.2.11".
  absl::StatusOr<std::string> AddressOf(absl::string_view host,
                                        absl::string_view ifname) const;
  // The switch namespace's name (empty before the first AddNetwork).
  const std::string& switch_namespace() const { return switch_ns_; }
  // Every namespace this lab has created and not yet removed.
  std::vector<std::string> Namespaces() const;
  // The pids of the processes inside `host`'s namespace, as
  // `ip netns pids` lists them.
  absl::StatusOr<std::vector<pid_t>> PidsIn(absl::string_view host) const;

  // Sets one end of `host`'s NIC `ifname` down or up (see LinkEnd). Setting
  // it up returns once the link passes packets again (unless its other end
  // is down as well).
  absl::Status SetLinkUp(absl::string_view host, absl::string_view ifname,
                         bool up, LinkEnd end = LinkEnd::kHost);

  // Cuts the path between two hosts in both directions: the switch drops
  // every frame (unicast, broadcast, multicast, ARP) going from one's bridge
  // port to the other's, with an nftables rule in the switch namespace. Other
  // hosts still reach both. `ifname` is host_a's NIC and selects its network;
  // empty cuts every network the two hosts share. NotFound for an unknown
  // host or NIC; FailedPrecondition when host_b has no NIC on that network
  // or the hosts share no network. Cutting a cut path is a no-op.
  absl::Status CutPath(absl::string_view host_a, absl::string_view host_b,
                       absl::string_view ifname = "");
  // Undoes CutPath for the same hosts and networks; healing a path that is
  // not cut is a no-op.
  absl::Status HealPath(absl::string_view host_a, absl::string_view host_b,
                        absl::string_view ifname = "");

  // Delays every packet `host` sends on `ifname` by `delay` (tc netem on the
  // NIC's egress; a zero delay removes it). Millisecond resolution or finer.
  // FailedPrecondition naming sch_netem when the kernel has no netem qdisc.
  absl::Status AddDelay(absl::string_view host, absl::string_view ifname,
                        absl::Duration delay);

  // Starts argv inside `host`'s namespace (host "" = the caller's own
  // namespace: the loopback case), with its own mount namespace and /sys
  // (see process.h). stdout and stderr go to `log_path`, or when it is empty
  // to a new file "<prefix><host>.<program>.<n>.log" in DefaultLogDir().
  // options.netns_path is set by the lab.
  absl::StatusOr<Process> Spawn(absl::string_view host,
                                const std::vector<std::string>& argv,
                                const std::string& log_path = "",
                                SpawnOptions options = {});
  // Runs argv inside `host`'s namespace (or the caller's for "") to
  // completion with a bounded timeout; see RunProcess.
  absl::StatusOr<RunResult> Run(absl::string_view host,
                                const std::vector<std::string>& argv,
                                absl::Duration timeout = absl::Seconds(10));

  // Kills the processes left in the lab's namespaces, deletes the
  // namespaces and stops the janitor. Afterwards the lab is empty and every
  // call but this one fails. Idempotent. Only the process that built the
  // lab acts (a forked child's copy does nothing).
  absl::Status Destroy();

  // The janitor's pid, -1 when it is not running.
  pid_t janitor_pid_for_test() const { return janitor_pid_; }
  // The lab's lock file (see the cleanup guarantees).
  const std::string& lock_path_for_test() const { return lock_path_; }

 private:
  struct Network {
    int index = 0;       // bridge br<index>
    uint32_t base = 0;   // network address, host byte order
    int prefix_len = 0;
  };
  struct Nic {
    std::string network;
    std::string ifname;
    std::string address;  // without prefix length
    std::string port;     // bridge port in the switch namespace
  };
  struct Host {
    int index = 0;
    std::string ns;
    std::vector<Nic> nics;
  };

  absl::Status CheckUsable() const;
  absl::StatusOr<const Host*> FindHost(absl::string_view host) const;
  absl::StatusOr<const Nic*> FindNic(const Host& host,
                                     absl::string_view ifname) const;
  // Records the namespace with the janitor, then creates it.
  absl::Status CreateNamespace(const std::string& ns);
  absl::Status EnsureCutTable();
  // The bridge-port pairs to cut or heal between two hosts.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> PortPairs(
      absl::string_view host_a, absl::string_view host_b,
      absl::string_view ifname) const;
  absl::Status TakeLock();
  void ReleaseLock();
  absl::Status StartJanitor();
  void StopJanitor();

  absl::Status status_;
  std::string name_;
  std::string prefix_;
  pid_t owner_pid_ = -1;
  pid_t janitor_pid_ = -1;
  int janitor_fd_ = -1;  // our end of the socket; the janitor reads EOF
  std::string lock_path_;
  int lock_fd_ = -1;  // flock()ed while this lab lives

  std::string switch_ns_;
  std::map<std::string, Network, std::less<>> networks_;
  std::map<std::string, Host, std::less<>> hosts_;
  std::vector<std::string> host_order_;
  int next_host_index_ = 0;  // also counts hosts that failed halfway
  std::vector<std::string> namespaces_;  // created, in order
  bool cut_table_ = false;
  std::set<std::pair<std::string, std::string>> cuts_;  // (port, port)
  std::set<std::pair<std::string, std::string>> delayed_;  // (ns, ifname)
  bool destroyed_ = false;
};

}  // namespace hacluster::harness

#endif  // HACLUSTER_TESTS_HARNESS_NETLAB_H_
