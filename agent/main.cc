// ha-agent: the cluster agent, one per node. This file only parses the
// command line and starts the loop; the work is in agent/node/agent.h.
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/core/version.h"
#include "agent/log/logger.h"
#include "agent/node/agent.h"

namespace {

constexpr char kFooter[] = R"(
ha-agent sends heartbeats on every medium of the spec (ucast, bcast, mcast,
serial), checks the heartbeats it receives (HMAC with the spec's keys, the
cluster name, a replay window per node and generation, kept for the life of
the agent and saved in STATE_DIR/replay-floors so that frames captured
before a restart stay replays after it), and keeps the
membership: each node up, dead or unknown, each link to it up or dead, late
heartbeats after warntime, death after deadtime, nobody dead before initdead.
It answers hacli on its API socket (spec api.unix_socket, default
STATE_DIR/agent.sock, mode 0660, group api.unix_socket_group): root calls
as admin, other users as reader. With api.listen it also serves the API
over TCP with mutual TLS only (api.tls_cert, api.tls_key, and
api.tls_client_ca for the clients' certificates, whose OU is their role:
reader for status, watch, where and servers; admin or node also for
standby, takeover and move). It refuses to start with a certificate that is
expired or not yet valid, a key that does not match it, or a key file
others may read. Every write call and every refused call is logged with
the caller (certificate subject or uid), the call and the outcome, and sent
as an event to watchers.

It runs the spec's resource groups: each on one node at a time (placement
from the heartbeats: operator requests, auto_failback, the current holder,
the preferred node), started in order and stopped in reverse, a node
starting a group only once no live node claims it. Resources: native
virtual IPs (netlink; gratuitous ARP / unsolicited neighbour advertisement
5 times, 200 ms apart), LSB scripts (/etc/init.d), Heartbeat scripts
(/etc/ha.d/resource.d, with '::' arguments) and OCF agents
(/usr/lib/ocf/resource.d), each operation with its timeout in its own
process group. A dead holder's groups move to a peer (after the spec's
fencing command succeeds, when it has one); with 3 or more nodes only a
majority runs groups, with 2 the ping-node score decides. 'hacli standby',
'takeover' and 'move' move groups; 'hacli where' tells who holds one.

With 'wire: heartbeat3' in the spec (from 'hacli migrate --rolling') the
agent speaks Heartbeat 3.0.6's own UDP protocol instead of its frames
(authkeys' crc, md5 or sha1 keys, sequence numbers and generation,
retransmissions, haresources mode's resource hand-over): it joins a running
Heartbeat peer as a member of the pair, for a migration one node at a time
(docs/migration.md). The peer shows in 'hacli status' with its wire and
software; standby and takeover work both ways, 'hacli move' is refused. A
reload or 'hacli apply' switches the wire either way.

At start-up, before it claims or releases anything, the agent probes every
resource (is the VIP present, script status / OCF monitor) while its
heartbeats claim the groups as PROBING, so no peer starts them: a group
left running by an agent that crashed is adopted without a restart, one
left in part is stopped first. Heartbeats list the peers the sender hears;
a node that hears a holder which does not hear it (one-way loss) yields
the groups both claim.

Every start increments the node's generation, kept in STATE_DIR/generation,
so peers notice a restart. The state directory is locked: one agent each.
It must belong to the user the agent runs as and not be writable by group
or others: the agent creates it (and missing parents) with mode 0750 and
refuses to start with one another user owns ('chown') or can write
('chmod go-w DIR'). Files in it are never followed through symbolic links:
a link there (agent.lock, generation) is an error naming it.

Signals: SIGTERM or SIGINT stop the agent cleanly: it first stops its
groups (peers take them over at once), then exits; a second one exits
without waiting. SIGHUP re-reads the spec and the TLS files (new certificates
take over without a restart; ones that fail the checks are refused, and
the running ones kept);
a spec that is invalid, whose key files cannot be read, whose media cannot
open or whose resource scripts are missing or not executable here is
refused (logged, and shown by 'hacli watch') and the running one is kept,
unchanged. A running group that the new spec changes bounces only the
resources the change touches (added: started, removed: stopped, changed:
restarted); a group removed from the spec is stopped.

It starts the spec's respawn programs, each as its user (its groups,
its own process group, no inherited descriptor but stdin from /dev/null
and stdout/stderr on the agent's stderr), and restarts one that ends:
not after exit status 100; at once after a run of 30 s or more; after a
shorter run, at once the first time, then with a doubling back-off (250
ms up to 60 s). Each end is one log line saying why. At shutdown they get
SIGTERM, then SIGKILL after 10 s.

With watchdog_device, the agent opens the device as the last step of its
start (an error, naming it and why, stops the start), sets its timeout to
deadtime where the device can, keeps it alive from the heartbeat loop (a
hung loop lets the device reset the node) and disarms it (magic close)
only on a clean stop that leaves no group held.

Under systemd (Type=notify): READY once the media are open and the API
listens, RELOADING then READY around SIGHUP, STOPPING at shutdown, and
WATCHDOG=1 from the heartbeat loop when the unit has WatchdogSec. When
stderr is the journal, lines go to it with their priority and the fields
NODE, GROUP, LINK and RESOURCE of the event.

Logs go to stderr, and to the log file and syslog facility of the spec's
logging section.

Exit status: 0 stopped by a signal, 1 could not start (the reason is
printed), 2 usage.

Examples:
  ha-agent --config /etc/ha-agent/cluster.yaml
  ha-agent --config cluster.yaml --node node02 --state-dir /var/lib/ha-agent
  hacli status
)";

// The value of LD_BIND_NOW by which the agent knows it re-executed itself.
constexpr char kBindNowMark[] = "ha-agent";

// The process's name in /proc/PID/comm (at most 15 characters).
constexpr char kProcessName[] = "ha-agent";

// Names the main thread, and so the process, "ha-agent" in /proc/PID/comm:
// what ps, top, pgrep, ss -p and pkill see. The kernel sets comm from the
// file name exec was given, which for the re-exec below is
// /proc/self/exe ("exe"), and for a renamed binary or a symlink is that
// name; this runs first thing in main, so after the re-exec too. Threads
// started later inherit the name. (Debian's pidof, from sysvinit-utils,
// does not read comm for a bare name: it matches argv[0] or its basename,
// which the re-exec keeps; so `pidof ha-agent` finds an agent started by a
// path ending in ha-agent, a symlink of that name included.)
void NameProcess() { prctl(PR_SET_NAME, kProcessName, 0, 0, 0); }

// Makes the dynamic linker bind every library function at start-up
// (LD_BIND_NOW), re-executing the agent once if it was started without.
// With lazy binding the first call of each function does a symbol lookup
// through the symbol tables of some seventy libraries: a latency spike on
// the heartbeat loop the first time it declares a death or reloads, and
// pages of symbol tables mapped back after the agent released them (see
// agent/node/release_pages.h). Children (scripts) do not inherit the
// setting. Nothing is done for a secure-execution (setuid) start, which
// may not pass LD_BIND_NOW on, nor when the dynamic linker was run as the
// program (/proc/self/exe is then the linker, not the agent); if the
// re-exec fails, binding stays lazy. The re-exec goes through
// /proc/self/exe rather than the path it names, so it runs the very
// binary that started even if a package upgrade replaced the file; argv,
// argv[0] included, is passed on unchanged, and NameProcess renames the
// new image.
void BindLibrariesNow(char** argv) {
  const char* bind_now = std::getenv("LD_BIND_NOW");
  if (bind_now != nullptr && std::strcmp(bind_now, kBindNowMark) == 0) {
    unsetenv("LD_BIND_NOW");
    return;
  }
  if (bind_now != nullptr && *bind_now != '\0') return;  // bound already
  if (getauxval(AT_SECURE) != 0) return;
  // No interpreter was loaded by the kernel: ld.so is itself the program.
  if (getauxval(AT_BASE) == 0) return;
  setenv("LD_BIND_NOW", kBindNowMark, 1);
  execv("/proc/self/exe", argv);
  unsetenv("LD_BIND_NOW");
}

// The soft limit on open files up to the hard one (at most 65536): clients
// of the TCP API that open connections and never finish a TLS handshake
// hold a descriptor each until the handshake timeout, and must not leave the
// agent without descriptors for its own work (resource scripts' pipes).
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t want = limit.rlim_max == RLIM_INFINITY ? 65536 : std::min<rlim_t>(limit.rlim_max, 65536);
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = want;
  setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

int main(int argc, char** argv) {
  NameProcess();
  hacluster::agent::AgentOptions options;
  bool no_realtime = false;
  CLI::App app{"ha-agent: the high-availability cluster agent of one node", "ha-agent"};
  app.footer(kFooter);
  app.add_option("--config", options.config_path, "The YAML cluster spec")
      ->required()
      ->type_name("FILE");
  app.add_option("--node", options.node,
                 "This node's name in the spec (default: the host name, uname -n)")
      ->type_name("NAME");
  app.add_option("--state-dir", options.state_dir,
                 "Where the generation, the lock and the API socket live; owned by "
                 "the agent's user, not writable by group or others")
      ->type_name("DIR")
      ->capture_default_str();
  app.add_flag("--no-realtime", no_realtime,
               "Run the heartbeat loop at normal priority with unlocked memory "
               "(default: SCHED_RR and locked memory, as Heartbeat does)");
  app.set_version_flag("--version", hacluster::VersionLine("ha-agent"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ha-agent: " << e.what() << "\nRun 'ha-agent --help'.\n";
    return 2;
  }
  options.realtime = !no_realtime;
  // Debian builds Abseil with its Mutex deadlock detector on: every lock
  // and unlock, ours and gRPC's, would record its lock order in a global
  // graph. That costs the API's threads a tenth of their time under load and
  // adds a global lock the heartbeat loop would share with them.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  BindLibrariesNow(argv);
  RaiseOpenFileLimit();

  // Before any thread starts: only the loop's signalfd takes the signals.
  hacluster::agent::BlockSignals();
  auto logger = hacluster::agent::Logger::Create(hacluster::agent::LogOptions{});
  if (!logger.ok()) {
    std::cerr << "ha-agent: " << logger.status().message() << "\n";
    return 1;
  }
  auto agent = hacluster::agent::Agent::Create(options, **logger);
  if (!agent.ok()) {
    (*logger)->Error(absl::StrCat("cannot start: ", agent.status().message()));
    return 1;
  }
  return (*agent)->Run();
}
