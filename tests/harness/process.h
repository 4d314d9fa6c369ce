// Child processes for cross-binary tests: start a program (optionally inside
// a network namespace), watch it, stop it, and never leave it behind.
//
// What every child gets, whichever call starts it:
// - argv, no shell. A bare program name is looked up in PATH and then in
//   /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin, /bin (test
//   runners often leave the sbin directories out of PATH).
// - its own process group (so a stop reaches the scripts it started), stdin
//   from /dev/null, no file descriptor of the test but 0, 1 and 2, default
//   signal dispositions and an empty signal mask;
// - PR_SET_PDEATHSIG SIGKILL: when the thread that started it dies (the test
//   crashed, was killed or timed out) the kernel kills it.
// - With SpawnOptions::netns_path, it enters that network namespace
//   (setns CLONE_NEWNET) before exec, and by default gets a mount namespace
//   of its own with /sys mounted again, as `ip netns exec` does, so that
//   /sys/class/net shows the namespace's interfaces.
//
// Process owns one child: destroying it kills the child's whole process
// group with SIGKILL and reaps the child (waiting at most 5 s). Wait() only
// observes the exit (the child stays a zombie until the Process goes), so the
// pid and the process group id cannot be reused while the Process exists and
// Kill()/KillGroup() never reach a stranger.
//
// Thread-safety: a Process is not synchronised; use it from one thread. The
// free functions are reentrant, but PR_SET_PDEATHSIG follows the calling
// thread: start long-lived children from a thread that outlives them.
#ifndef HACLUSTER_TESTS_HARNESS_PROCESS_H_
#define HACLUSTER_TESTS_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace hacluster::harness {

namespace internal {
class ProcessStarter;  // process.cc: fork + exec
}  // namespace internal

// How a child ended.
struct ExitStatus {
  int code = -1;   // the exit code when the child exited by itself
  int signal = 0;  // the signal that killed it, else 0

  bool exited() const { return signal == 0; }
  // Exited with code 0.
  bool ok() const { return signal == 0 && code == 0; }
  // "exit code 3" or "killed by signal 9 (Killed)".
  std::string ToString() const;
};

struct SpawnOptions {
  // A network namespace file to enter, e.g. "/run/netns/NAME" or
  // "/proc/PID/ns/net". Empty: stay in the caller's namespace.
  std::string netns_path;
  // With netns_path: a private mount namespace with /sys remounted.
  bool remount_sys = true;
  // The child's environment as "NAME=value" entries. Unset: the caller's.
  std::optional<std::vector<std::string>> env;
  // The child's working directory. Empty: the caller's.
  std::string cwd;
};

class Process {
 public:
  // An empty Process: pid() is -1 and every call but the destructor fails.
  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Kills the process group with SIGKILL and reaps the child.
  ~Process();

  pid_t pid() const { return pid_; }
  // The program as started (argv[0]), for messages.
  const std::string& name() const { return name_; }
  // Where stdout and stderr go; empty when they go to a pipe (RunProcess).
  const std::string& log_path() const { return log_path_; }

  // Sends `signal` to the child only. FailedPrecondition once it has exited.
  absl::Status Kill(int signal);
  // Sends `signal` to the child's process group (the child and whatever it
  // started that stayed in the group). Allowed after the child has exited,
  // while this Process lives.
  absl::Status KillGroup(int signal);

  // The exit status if the child has exited, without waiting.
  std::optional<ExitStatus> TryWait();
  // Waits at most `timeout` for the child to exit. DeadlineExceeded, naming
  // the program, when it is still running.
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout);
  // SIGTERM to the group, up to `grace` for the child to exit, then SIGKILL
  // to the group. Returns how the child ended.
  absl::StatusOr<ExitStatus> Stop(absl::Duration grace = absl::Seconds(2));

 private:
  friend class internal::ProcessStarter;

  void Release();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::string name_;
  std::string log_path_;
  std::optional<ExitStatus> exit_;
};

// Starts argv[0] with stdout and stderr appended to `log_path` (created,
// mode 0644; its directory must exist). An empty `log_path` makes a new file
// "<program>.<n>.log" in DefaultLogDir(). Errors name the program and the OS
// reason: NotFound when the program is not found or the namespace file does
// not exist, PermissionDenied without the rights for setns/mount, and so on.
absl::StatusOr<Process> SpawnProcess(const std::vector<std::string>& argv,
                                     const std::string& log_path = "",
                                     const SpawnOptions& options = {});

// What RunProcess returns: the exit status and stdout+stderr interleaved, up
// to kMaxOutput bytes (the rest is read and dropped).
struct RunResult {
  static constexpr size_t kMaxOutput = 1 << 20;
  ExitStatus status;
  std::string output;
};

// Runs argv to completion, capturing its output. A child still running after
// `timeout` is killed with its group and DeadlineExceeded is returned, with
// the output read so far in the message. A non-zero exit is not an error:
// look at RunResult::status.
absl::StatusOr<RunResult> RunProcess(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Seconds(10),
    const SpawnOptions& options = {});

// Like RunProcess, but any outcome other than exit code 0 is an error that
// names the command, the status and the output. Returns the output.
absl::StatusOr<std::string> RunOrError(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Seconds(10),
    const SpawnOptions& options = {});

// Where a program named without a slash would be found (see above).
// NotFound naming the program and the directories searched.
absl::StatusOr<std::string> FindProgram(absl::string_view name);

// The directory for logs: $TEST_TMPDIR, else $TMPDIR, else /tmp.
std::string DefaultLogDir();

// Creates a new empty file DefaultLogDir()/<stem>.<n>.log with the lowest
// free n (O_EXCL, so concurrent callers get distinct files) and returns its
// path. `stem` must be a plain file name.
absl::StatusOr<std::string> NewLogPath(absl::string_view stem);

}  // namespace hacluster::harness

#endif  // HACLUSTER_TESTS_HARNESS_PROCESS_H_
