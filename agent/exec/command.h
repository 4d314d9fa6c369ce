// What to run for a resource operation, and what its result means.
//
// A resource of the spec (LSB init script, Heartbeat resource.d script, OCF
// resource agent) becomes a Command: the argv, the exact environment and the
// time limit of one operation. After the command has run (runner.h), its
// RunResult becomes an Outcome by the rules of the resource's kind: OCF exit
// codes, LSB status codes, or Heartbeat's reading of a status script's output.
//
// The script file is looked up when the Command is built (to fail early with
// a clear error and to do the resource.d -> init.d fallback as Heartbeat
// does); nothing else here touches the system.
//
// Thread-safety: free functions without shared state; safe from any thread.
#ifndef HACLUSTER_AGENT_EXEC_COMMAND_H_
#define HACLUSTER_AGENT_EXEC_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::exec {

enum class Op { kStart, kStop, kMonitor };

// "start", "stop" or "monitor" (the operation, not the script's verb).
absl::string_view OpName(Op op);

// One operation to run: argv[0] is an absolute path, run without a shell.
struct Command {
  std::vector<std::string> argv;
  // The complete environment of the script, "NAME=value" entries.
  std::vector<std::string> env;
  // Time the operation may take before it is killed.
  absl::Duration timeout = absl::Seconds(20);
};

// Where the scripts live; tests point these at temporary directories.
// HA_DIR (for Heartbeat scripts) is the parent directory of resource_d.
struct ScriptPaths {
  std::string init_d = "/etc/init.d";
  std::string resource_d = "/etc/ha.d/resource.d";
  std::string ocf_root = "/usr/lib/ocf";
};

// The PATH every script gets.
inline constexpr absl::string_view kScriptPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The timeout of `op` from the spec: start_timeout, stop_timeout or
// monitor_timeout; 20s when unset (or not positive).
absl::Duration OpTimeout(const spec::v1::Resource& r, Op op);

// The command for `op` on `r`:
// - lsb: INIT_D/NAME start|stop|status, env PATH.
// - heartbeat: RESOURCE_D/NAME ARGS... start|stop|status, or INIT_D/NAME
//   ARGS... when RESOURCE_D/NAME is not an executable file (Heartbeat's
//   ResourceManager looks in that order). Env: PATH, and what Heartbeat's
//   ResourceManager gave its scripts so that the wrappers in resource.d
//   (which source HA_DIR/shellfuncs and ocf-shellfuncs) work unchanged:
//   HA_DIR, HA_FUNCS, HA_RESOURCEDIR, OCF_ROOT, HA_LOGFACILITY=none and
//   HA_DEBUGLOG=/dev/null (their log lines go to stderr, which the runner
//   captures).
// - ocf: OCF_ROOT/resource.d/PROVIDER/TYPE start|stop|monitor (provider
//   default "heartbeat"). Env: PATH, OCF_ROOT, OCF_RA_VERSION_MAJOR=1,
//   OCF_RA_VERSION_MINOR=0, OCF_RESOURCE_INSTANCE (the resource's name, else
//   TYPE), OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER, OCF_RESKEY_<p>=value
//   for every param, and as Pacemaker gives them OCF_RESKEY_CRM_meta_timeout
//   (the operation's timeout in ms) and OCF_RESKEY_CRM_meta_interval (ms;
//   the monitor interval for a monitor, 0 otherwise; a param of the same
//   name wins).
// Errors: InvalidArgument for an ip resource (managed natively, not by a
// script), a resource without a kind, an empty name/type, a name, type or
// provider that is not a plain file name, a param name that cannot be an
// environment variable, or a NUL byte in an argument or value; NotFound
// naming the path(s) looked at when the script does not exist;
// FailedPrecondition naming the path when it is not an executable file.
absl::StatusOr<Command> CommandFor(const spec::v1::Resource& r, Op op,
                                   const ScriptPaths& paths = ScriptPaths());

// How one run ended (filled by Run() in runner.h; defined here so that the
// interpretation stays free of I/O).
struct RunResult {
  // False when the process could not be started; `error` says why.
  bool started = false;
  // The exit code when the process exited by itself (signal == 0).
  int exit_status = -1;
  // The signal that killed the process, else 0.
  int signal = 0;
  // The timeout expired and the process group was killed (the process may
  // still have exited by itself within the grace period).
  bool timed_out = false;
  // The end (at most kMaxOutput bytes) of stdout and stderr, interleaved.
  std::string output;
  // From start to the end of the run.
  absl::Duration duration = absl::ZeroDuration();
  // What went wrong outside the script: spawn failure, a process that could
  // not be reaped. Empty otherwise.
  std::string error;

  static constexpr size_t kMaxOutput = 4096;
};

// What an operation's result means for the resource.
struct Outcome {
  // The operation did what it was for: started, stopped, or (monitor) found
  // the resource running.
  bool ok = false;
  // The resource is, or may be, active on this node after the operation, so
  // it must be stopped before it may run elsewhere. False only when the
  // result shows it stopped: a successful stop, a monitor that finds it
  // cleanly stopped, or a start that never ran.
  bool running = false;
  // For people: "started", "running", "not running: <reason>", "timed out
  // after 20s", "killed by signal 9", "exit status 1 (generic error): <last
  // line of output>".
  std::string message;
};

// Interprets `result` of `op` on `r` (built by CommandFor):
// - A run that did not start, timed out or was killed by a signal is never
//   ok.
// - OCF: 0 success; 1 generic error, 2 bad arguments, 3 unimplemented,
//   4 insufficient privileges, 5 not installed, 6 not configured,
//   7 not running. A stop answering 7 has stopped it. A monitor: 0 running,
//   7 cleanly stopped (not ok, not running), 5 not installed (not ok, not
//   running: it cannot run here), anything else failed (not ok, may be
//   running). The reason is the last "ocf-exit-reason:" line when the agent
//   printed one, else the last line of output.
// - LSB start/stop: as OCF (the LSB action codes are the same). status: 0
//   running, 3 not running, 1 and 2 dead with a pid or lock file left (not
//   running), 4 and anything else unknown (not ok, may be running).
// - Heartbeat start/stop: 0 success, anything else failure. status: as
//   Heartbeat's ResourceManager decides, by the output alone: a match of
//   [Nn][Oo][Tt] followed later by [Rr]unning means stopped, else
//   [Rr]unning or OK anywhere means running, else stopped. (Heartbeat read
//   stdout only; here stdout and stderr come interleaved.)
Outcome Interpret(const spec::v1::Resource& r, Op op, const RunResult& result);

// Heartbeat's test of a status script's output (see Interpret).
bool HeartbeatStatusSaysRunning(absl::string_view output);

}  // namespace hacluster::exec

#endif  // HACLUSTER_AGENT_EXEC_COMMAND_H_
