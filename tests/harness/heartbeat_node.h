// HeartbeatNode: the real Linux-HA Heartbeat 3.0.6 daemon (Debian package
// `heartbeat`, with the resource scripts of `resource-agents`) run as one
// host of a NetLab, so that multi-node tests can put a real Heartbeat node
// beside ha-agent, or two real ones side by side, on a real L2 segment.
//
// The "machine": Create() checks the host and the config; Start() writes a
// private tree for the node under DefaultLogDir() (Dir()):
//   etc/ha.d/          ha.cf, haresources, authkeys (0600); every other
//                      entry of the installed /etc/ha.d (resource.d, rc.d,
//                      harc, shellfuncs) is bind-mounted read-only from it;
//   run/               the node's /run (and so /var/run): heartbeat.pid,
//                      heartbeat/ (API sockets, rsctmp), resource-agents/,
//                      lock/; emptied at every Start, as a tmpfs at boot;
//   var/lib/heartbeat/ the node's state (fifo, hb_uuid, hb_generation,
//                      hostcache, cores/), kept across restarts;
//   ha.log             heartbeat's and the resource scripts' log;
//   daemon.out         the daemon's stdout/stderr; machine.log the keeper's.
// and starts a keeper process (`sleep infinity`) in the host's network
// namespace plus new mount, UTS and IPC namespaces of its own (mount
// propagation private): the tree is bind-mounted over /etc/ha.d, /run and
// /var/lib/heartbeat there, /dev/shm is a fresh tmpfs and the hostname is
// the node name. The daemon (`/usr/libexec/heartbeat/heartbeat -f`, kept in
// the foreground) and every Exec() enter the keeper's namespaces with
// nsenter. Nothing of the root filesystem is written; two nodes on one
// machine share no state. The keeper lives until the HeartbeatNode goes, so
// the node's namespaces (and an address left on its NIC) outlive a crash of
// the daemon: Exec() works after KillHard().
//
// The node's processes are exactly those in the keeper's mount namespace
// (whatever their parent: heartbeat's children and resource scripts are
// found after the master control process died); DaemonPids() lists them
// without the keeper, KillHard() SIGKILLs them through pidfds (no pid reuse
// can reach a stranger). The destructor kills them and the keeper; the
// NetLab kills whatever is left in its namespaces as well.
//
//   NetLab lab("hb");
//   lab.AddNetwork("lan", "192.0.2.0/24"); lab.AddHost("node01", ...);
//   HeartbeatConfig c;
//   c.node_name = "node01"; c.nodes = {"node01", "node02"};
//   c.media = {"ucast eth0 192.0.2.12"};
//   c.haresources = {"node01 IPaddr::192.0.2.100/24/eth0"};
//   absl::StatusOr<std::unique_ptr<HeartbeatNode>> n =
//       HeartbeatNode::Create(lab, "node01", c);
//   (*n)->Start();  (*n)->NodeStatus("node02");  (*n)->KillHard();
//
// What the logs show and is expected: "ERROR: setsid() failure" (the
// harness starts the daemon as a process group leader, which setsid()
// refuses; harmless), "udpport/baudrate setting must precede media
// statements" on stderr (printed when heartbeat applies its defaults, even
// with udpport first), "Initial dead time ... may be too small" for an
// initdead under 10 s. After both nodes come up, the resource hand-shake
// stays in "transition" for about 10 s before it settles.
//
// Needs root (the NetLab does) and the heartbeat, resource-agents and
// util-linux (unshare, nsenter) packages.
//
// Thread-safety: not thread-safe; drive a HeartbeatNode from the thread that
// drives its NetLab (the processes get PR_SET_PDEATHSIG of that thread). The
// NetLab must outlive the HeartbeatNode.
#ifndef HACLUSTER_TESTS_HARNESS_HEARTBEAT_NODE_H_
#define HACLUSTER_TESTS_HARNESS_HEARTBEAT_NODE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"

namespace hacluster::harness {

// Paths of the installed package.
inline constexpr char kHeartbeatBinary[] = "/usr/libexec/heartbeat/heartbeat";
inline constexpr char kHbStandby[] = "/usr/share/heartbeat/hb_standby";
inline constexpr char kHbTakeover[] = "/usr/share/heartbeat/hb_takeover";
inline constexpr char kClStatus[] = "/usr/bin/cl_status";

enum class AutoFailback { kOn, kOff, kLegacy };
enum class AuthMethod { kCrc, kMd5, kSha1 };

// What goes into ha.cf, haresources and authkeys. Times are written in
// whole milliseconds ("200ms"), which ha.cf accepts.
struct HeartbeatConfig {
  // The node's name, also its hostname (uname -n), which heartbeat requires
  // to be one of `nodes`. [a-z0-9._-], 1 to 64 characters (heartbeat
  // lower-cases node names).
  std::string node_name;
  // The cluster's nodes, one `node` line each, in this order.
  std::vector<std::string> nodes;
  // Heartbeat media lines, written after udpport (order matters in ha.cf):
  // "ucast eth0 192.0.2.12", "bcast eth0", "mcast eth0 239.0.0.1 694 1 0".
  // At least one.
  std::vector<std::string> media;
  int udpport = 694;  // 1..65535
  absl::Duration keepalive = absl::Seconds(2);
  absl::Duration deadtime = absl::Seconds(30);  // > keepalive
  // Late-heartbeat warning; zero leaves the line out. < deadtime.
  absl::Duration warntime = absl::Seconds(10);
  // Dead time at start-up; zero leaves the line out. >= deadtime.
  absl::Duration initdead = absl::Seconds(60);
  AutoFailback auto_failback = AutoFailback::kOn;
  // authkeys: "auth <index>" and "<index> <method> [<key>]". crc takes no
  // key; md5 and sha1 need one (no whitespace). index 1..15.
  AuthMethod auth_method = AuthMethod::kSha1;
  std::string auth_key = "lab-key";
  int auth_index = 1;
  // haresources lines, "node01 IPaddr::192.0.2.100/24/eth0". May be empty.
  std::vector<std::string> haresources;
  // ha.cf `realtime`: off by default, so that the daemons neither lock their
  // memory nor take a real-time priority on a shared test machine.
  bool realtime = false;
  // More ha.cf lines, written last, verbatim.
  std::vector<std::string> extra_ha_cf;
};

// The three configuration files of one node.
struct HeartbeatFiles {
  std::string ha_cf;
  std::string haresources;
  std::string authkeys;
};

// Pure: checks `config` and renders its files; ha.cf logs to `log_path`
// (logfacility none: nothing goes to the machine's syslog). InvalidArgument
// naming the field for anything heartbeat would refuse or misread (an empty
// or unknown name, a time that is not a positive whole number of
// milliseconds, deadtime <= keepalive, a line holding a newline...).
absl::StatusOr<HeartbeatFiles> RenderHeartbeatFiles(
    const HeartbeatConfig& config, absl::string_view log_path);

class HeartbeatNode {
 public:
  // Checks that `host` is a host of `lab` and that `config` renders. Starts
  // nothing. `lab` must outlive the node.
  static absl::StatusOr<std::unique_ptr<HeartbeatNode>> Create(
      NetLab& lab, absl::string_view host, HeartbeatConfig config);
  // KillHard(), then the keeper; errors go to stderr. Dir() is left for
  // the logs.
  ~HeartbeatNode();
  HeartbeatNode(const HeartbeatNode&) = delete;
  HeartbeatNode& operator=(const HeartbeatNode&) = delete;

  const std::string& host() const { return host_; }
  const HeartbeatConfig& config() const { return config_; }
  // The node's private tree (empty before the first Start()).
  const std::string& Dir() const { return dir_; }

  // Writes the tree (the first time), starts the keeper (the first time),
  // kills what a crash left, empties run/, starts the daemon and returns
  // once it has written its pid file (configuration read, media open),
  // within `timeout`. Its API (NodeStatus...) answers once cluster
  // communication is up, after initdead at the latest: wait for that with
  // WaitFor. FailedPrecondition when the daemon runs; the daemon's exit or
  // DeadlineExceeded otherwise, with the log tail in the message.
  absl::Status Start(absl::Duration timeout = absl::Seconds(15));

  // True while the master control process started by Start() has not
  // exited.
  bool DaemonRunning();
  // The master control process (-1 before Start()).
  pid_t MasterPid() const { return daemon_.pid(); }
  // The pids of every process of the node but the keeper: the master
  // control process, its children (FIFO reader, read/write processes per
  // medium), resource scripts, Exec()ed commands still running.
  absl::StatusOr<std::vector<pid_t>> DaemonPids() const;

  // SIGKILL to every process of DaemonPids(), repeated until none is left
  // (bounded: `timeout`). The node's addresses stay on its NICs, as on a
  // real crash; see RemoveAddress. OK when nothing runs.
  absl::Status KillHard(absl::Duration timeout = absl::Seconds(5));
  // Graceful stop: SIGTERM to the master control process (what
  // `heartbeat -k` does), which releases its resources and exits; returns
  // once no process of the node is left. After `timeout`: KillHard() and
  // DeadlineExceeded with the log tail. OK when the daemon is not running.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(20));

  // Runs argv to completion inside the node's namespaces (network, mount,
  // UTS, IPC), with PATH set for sbin and the resource scripts' log
  // variables (HA_LOGFILE...) aimed at the node's log. A non-zero exit is
  // not an error. FailedPrecondition before Start().
  absl::StatusOr<RunResult> Exec(const std::vector<std::string>& argv,
                                 absl::Duration timeout = absl::Seconds(10));

  // `cl_status nodestatus <peer>`: "active", "up", "dead"... Error when
  // cl_status prints nothing (the daemon is down, unknown node).
  absl::StatusOr<std::string> NodeStatus(absl::string_view peer);
  // `cl_status rscstatus`: "all", "local", "foreign", "none", "transition".
  absl::StatusOr<std::string> RscStatus();
  // Whether IPv4 `address` (no prefix length) is on one of the node's
  // interfaces (`ip -o -4 addr show`).
  absl::StatusOr<bool> HasAddress(absl::string_view address);
  // Deletes IPv4 `address` from whichever interface holds it, as the death
  // of the machine would. NotFound when no interface holds it.
  absl::Status RemoveAddress(absl::string_view address);

  // The log (ha.log) and the daemon's stdout/stderr, for failure messages;
  // each cut to its last `max_bytes`.
  std::string LogTail(size_t max_bytes = 8192) const;

 private:
  HeartbeatNode(NetLab& lab, std::string host, HeartbeatConfig config,
                HeartbeatFiles files);

  absl::Status WriteTree();
  absl::Status ResetRunDir();
  absl::Status StartKeeper();
  absl::Status CheckKeeper();
  std::vector<std::string> Environment() const;
  std::vector<std::string> NsenterPrefix() const;

  NetLab& lab_;
  std::string host_;
  HeartbeatConfig config_;
  HeartbeatFiles files_;
  std::string dir_;
  Process keeper_;
  // The keeper's mount namespace (st_dev, st_ino of /proc/PID/ns/mnt),
  // held open by mnt_fd_ so that its inode number cannot go to another
  // namespace while this node may look for its processes.
  dev_t mnt_dev_ = 0;
  ino_t mnt_ino_ = 0;
  int mnt_fd_ = -1;
  Process daemon_;
};

}  // namespace hacluster::harness

#endif  // HACLUSTER_TESTS_HARNESS_HEARTBEAT_NODE_H_
