#include "tests/harness/process.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/core/clock.h"

extern char** environ;

namespace hacluster::harness {
namespace {

using agent::MonotonicNow;

// Searched after PATH for a program named without a slash.
constexpr const char* kFallbackDirs[] = {"/usr/local/sbin", "/usr/local/bin",
                                         "/usr/sbin",       "/usr/bin",
                                         "/sbin",           "/bin"};

// How long a child may take between fork and exec before the parent stops
// waiting for it (nothing in that window blocks; this only bounds a bug).
constexpr absl::Duration kExecTimeout = absl::Seconds(10);
// How long the destructor waits for a SIGKILLed child.
constexpr absl::Duration kReapTimeout = absl::Seconds(5);

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof(buf));  // GNU strerror_r
}

absl::Status ErrnoError(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", ErrnoText(err)));
}

int PollMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(
                            d, absl::Milliseconds(1))),
                        60 * 1000));
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

// Steps of the child between fork and exec, reported to the parent when one
// fails.
enum class ChildStep : int {
  kDeathSignal,
  kSetns,
  kUnshareMounts,
  kMountPrivate,
  kMountSys,
  kRedirect,
  kChdir,
  kExec,
};

const char* ChildStepText(ChildStep step) {
  switch (step) {
    case ChildStep::kDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case ChildStep::kSetns:
      return "setns(CLONE_NEWNET)";
    case ChildStep::kUnshareMounts:
      return "unshare(CLONE_NEWNS)";
    case ChildStep::kMountPrivate:
      return "making / a slave mount";
    case ChildStep::kMountSys:
      return "mounting sysfs on /sys";
    case ChildStep::kRedirect:
      return "dup2 of stdio";
    case ChildStep::kChdir:
      return "chdir";
    case ChildStep::kExec:
      return "execve";
  }
  return "?";
}

struct ChildFailure {
  ChildStep step;
  int error;
};

// Reads the child's failure report, if any: true with `*failure` filled when
// the child wrote one, false on EOF (the exec succeeded). Bounded by
// kExecTimeout.
absl::StatusOr<bool> ReadChildFailure(int fd, ChildFailure* failure) {
  const agent::MonoTime end = MonotonicNow() + kExecTimeout;
  char* out = reinterpret_cast<char*>(failure);
  size_t got = 0;
  while (got < sizeof(*failure)) {
    struct pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, PollMillis(end - MonotonicNow()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "poll on the exec status pipe");
    }
    if (ready == 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "child did not exec within ", absl::FormatDuration(kExecTimeout)));
    }
    const ssize_t n = read(fd, out + got, sizeof(*failure) - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "read of the exec status pipe");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0) return false;
  if (got != sizeof(*failure)) {
    return absl::InternalError("short exec status report from the child");
  }
  return true;
}

ExitStatus FromSiginfo(const siginfo_t& info) {
  ExitStatus s;
  if (info.si_code == CLD_EXITED) {
    s.code = info.si_status;
  } else {
    s.signal = info.si_status;
  }
  return s;
}

// The end of a command's output, short enough for an error message.
absl::string_view TailOf(absl::string_view output) {
  constexpr size_t kMax = 4096;
  return output.size() <= kMax ? output : output.substr(output.size() - kMax);
}

std::string ProgramStem(absl::string_view program) {
  std::string stem(program.substr(program.rfind('/') + 1));
  for (char& c : stem) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.') {
      c = '_';
    }
  }
  return stem.empty() ? "process" : stem;
}

}  // namespace

namespace internal {

// Forks and execs; the only code that builds a running Process.
class ProcessStarter {
 public:
  static absl::StatusOr<Process> Start(const std::vector<std::string>& argv,
                                       int output_fd,
                                       const std::string& log_path,
                                       const SpawnOptions& options);
  static int Pidfd(const Process& p) { return p.pidfd_; }
};

absl::StatusOr<Process> ProcessStarter::Start(
    const std::vector<std::string>& argv, int output_fd,
    const std::string& log_path, const SpawnOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("spawn: empty argv");
  }
  const std::string command = absl::StrJoin(argv, " ");
  absl::StatusOr<std::string> path = FindProgram(argv[0]);
  if (!path.ok()) return path.status();

  // Everything the child needs is built before fork: between fork and exec
  // the child only makes system calls.
  std::vector<char*> child_argv;
  child_argv.reserve(argv.size() + 1);
  for (const std::string& a : argv) child_argv.push_back(const_cast<char*>(a.c_str()));
  child_argv.push_back(nullptr);
  std::vector<char*> child_env;
  char** envp = environ;
  if (options.env.has_value()) {
    child_env.reserve(options.env->size() + 1);
    for (const std::string& e : *options.env) {
      child_env.push_back(const_cast<char*>(e.c_str()));
    }
    child_env.push_back(nullptr);
    envp = child_env.data();
  }
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const bool remount_sys = !options.netns_path.empty() && options.remount_sys;
  int max_fd = static_cast<int>(sysconf(_SC_OPEN_MAX));
  if (max_fd <= 0 || max_fd > (1 << 20)) max_fd = 1 << 16;

  int netns_fd = -1;
  if (!options.netns_path.empty()) {
    netns_fd = open(options.netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      return ErrnoError(errno, absl::StrCat("spawn ", argv[0],
                                            ": network namespace ",
                                            options.netns_path));
    }
  }
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    const int err = errno;
    CloseFd(netns_fd);
    return ErrnoError(err, "open /dev/null");
  }
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    CloseFd(netns_fd);
    CloseFd(devnull);
    return ErrnoError(err, "pipe2 for the exec status");
  }

  sigset_t all, old_mask;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // The child. Async-signal-safe calls only.
    const int report = status_pipe[1];
    auto fail = [report](ChildStep step) {
      ChildFailure f{step, errno};
      ssize_t ignored = write(report, &f, sizeof(f));
      (void)ignored;
      _exit(127);
    };
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(ChildStep::kDeathSignal);
    if (getppid() != parent) _exit(127);  // the parent is already gone
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (netns_fd >= 0) {
      if (setns(netns_fd, CLONE_NEWNET) != 0) fail(ChildStep::kSetns);
      if (remount_sys) {
        if (unshare(CLONE_NEWNS) != 0) fail(ChildStep::kUnshareMounts);
        if (mount("", "/", "none", MS_SLAVE | MS_REC, nullptr) != 0) {
          fail(ChildStep::kMountPrivate);
        }
        // As `ip netns exec`: drop the old /sys if it can be, then mount
        // one that describes this namespace.
        umount2("/sys", MNT_DETACH);
        if (mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0) {
          fail(ChildStep::kMountSys);
        }
      }
    }
    if (dup2(devnull, 0) < 0 || dup2(output_fd, 1) < 0 ||
        dup2(output_fd, 2) < 0) {
      fail(ChildStep::kRedirect);
    }
    if (cwd != nullptr && chdir(cwd) != 0) fail(ChildStep::kChdir);
    // Only 0, 1 and 2 survive the exec.
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    execve(path->c_str(), child_argv.data(), envp);
    fail(ChildStep::kExec);
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  // Also from this side, so that a KillGroup() right after Start() reaches
  // the child even if it has not run yet.
  if (pid > 0) setpgid(pid, pid);
  CloseFd(netns_fd);
  CloseFd(devnull);
  close(status_pipe[1]);
  if (pid < 0) {
    close(status_pipe[0]);
    return ErrnoError(fork_errno, absl::StrCat("fork for ", argv[0]));
  }

  Process process;
  process.pid_ = pid;
  process.name_ = argv[0];
  process.log_path_ = log_path;
  // -1 on kernels before 5.3: Wait() then polls. (Called through syscall():
  // glibc 2.36's <sys/pidfd.h> lacks C++ linkage.)
  process.pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  ChildFailure failure;
  absl::StatusOr<bool> failed = ReadChildFailure(status_pipe[0], &failure);
  close(status_pipe[0]);
  if (!failed.ok()) {
    return absl::Status(failed.status().code(),
                        absl::StrCat("spawn ", command, ": ",
                                     failed.status().message()));
  }
  if (*failed) {
    std::string where = ChildStepText(failure.step);
    if (failure.step == ChildStep::kSetns) {
      absl::StrAppend(&where, " into ", options.netns_path);
    } else if (failure.step == ChildStep::kExec) {
      absl::StrAppend(&where, " ", *path);
    } else if (failure.step == ChildStep::kChdir) {
      absl::StrAppend(&where, " to ", options.cwd);
    }
    // `process` reaps the child, which has exited with 127.
    return ErrnoError(failure.error,
                      absl::StrCat("spawn ", command, ": ", where));
  }
  return process;
}

}  // namespace internal

std::string ExitStatus::ToString() const {
  if (signal == 0) return absl::StrCat("exit code ", code);
  const char* text = sigdescr_np(signal);
  return absl::StrCat("killed by signal ", signal, " (",
                      text != nullptr ? text : "unknown", ")");
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      name_(std::move(other.name_)),
      log_path_(std::move(other.log_path_)),
      exit_(std::exchange(other.exit_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    name_ = std::move(other.name_);
    log_path_ = std::move(other.log_path_);
    exit_ = std::exchange(other.exit_, std::nullopt);
  }
  return *this;
}

Process::~Process() { Release(); }

void Process::Release() {
  if (pid_ > 0) {
    // The child is not reaped yet, so its pid and group id are still ours.
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    if (Wait(kReapTimeout).ok()) {
      waitpid(pid_, nullptr, 0);
    } else {
      // Stuck in the kernel (D state): leave it to init rather than hang.
      fprintf(stderr, "harness: %s (pid %d) did not die within %s\n",
              name_.c_str(), pid_,
              absl::FormatDuration(kReapTimeout).c_str());
    }
  }
  CloseFd(pidfd_);
  pid_ = -1;
  exit_.reset();
}

absl::Status Process::Kill(int signal) {
  if (pid_ <= 0) return absl::FailedPreconditionError("no process");
  if (TryWait().has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, " (pid ", pid_, ") has already exited: ",
                     exit_->ToString()));
  }
  if (kill(pid_, signal) != 0) {
    return ErrnoError(errno, absl::StrCat("kill ", name_, " (pid ", pid_, ")"));
  }
  return absl::OkStatus();
}

absl::Status Process::KillGroup(int signal) {
  if (pid_ <= 0) return absl::FailedPreconditionError("no process");
  if (kill(-pid_, signal) != 0 && errno != ESRCH) {
    return ErrnoError(errno, absl::StrCat("kill process group of ", name_,
                                          " (", pid_, ")"));
  }
  return absl::OkStatus();
}

std::optional<ExitStatus> Process::TryWait() {
  if (pid_ <= 0 || exit_.has_value()) return exit_;
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  // WNOWAIT: the child stays a zombie, keeping its pid and group id ours.
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == pid_) {
    exit_ = FromSiginfo(info);
  }
  return exit_;
}

absl::StatusOr<ExitStatus> Process::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("no process");
  const agent::MonoTime end = MonotonicNow() + timeout;
  while (true) {
    if (std::optional<ExitStatus> s = TryWait()) return *s;
    const absl::Duration left = end - MonotonicNow();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(name_, " (pid ", pid_, ") still running after ",
                       absl::FormatDuration(timeout)));
    }
    if (pidfd_ >= 0) {
      struct pollfd p = {pidfd_, POLLIN, 0};
      poll(&p, 1, PollMillis(left));
    } else {
      absl::SleepFor(std::min(left, absl::Milliseconds(2)));
    }
  }
}

absl::StatusOr<ExitStatus> Process::Stop(absl::Duration grace) {
  if (pid_ <= 0) return absl::FailedPreconditionError("no process");
  if (std::optional<ExitStatus> s = TryWait()) {
    KillGroup(SIGKILL).IgnoreError();  // whatever it left in its group
    return *s;
  }
  if (absl::Status s = KillGroup(SIGTERM); !s.ok()) return s;
  absl::StatusOr<ExitStatus> status = Wait(grace);
  if (absl::Status s = KillGroup(SIGKILL); !s.ok()) return s;
  if (status.ok()) return status;
  return Wait(kReapTimeout);
}

absl::StatusOr<std::string> FindProgram(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (absl::StrContains(name, '/')) {
    std::string path(name);
    if (IsExecutableFile(path)) return path;
    return absl::NotFoundError(
        absl::StrCat("program ", path, " is not an executable file"));
  }
  std::vector<std::string> dirs;
  if (const char* env_path = getenv("PATH"); env_path != nullptr) {
    for (absl::string_view d : absl::StrSplit(env_path, ':', absl::SkipEmpty())) {
      dirs.emplace_back(d);
    }
  }
  for (const char* d : kFallbackDirs) dirs.emplace_back(d);
  for (const std::string& d : dirs) {
    std::string candidate = absl::StrCat(d, "/", name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("program '", name,
                                          "' not found in ",
                                          absl::StrJoin(dirs, ":")));
}

std::string DefaultLogDir() {
  for (const char* var : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* v = getenv(var);
    if (v != nullptr && v[0] != '\0') return v;
  }
  return "/tmp";
}

absl::StatusOr<std::string> NewLogPath(absl::string_view stem) {
  const std::string dir = DefaultLogDir();
  constexpr int kMaxTries = 10000;
  for (int n = 1; n <= kMaxTries; ++n) {
    std::string path = absl::StrCat(dir, "/", stem, ".", n, ".log");
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        0644);
    if (fd >= 0) {
      close(fd);
      return path;
    }
    if (errno != EEXIST) {
      return ErrnoError(errno, absl::StrCat("create log file ", path));
    }
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "no free log file name ", dir, "/", stem, ".N.log for N <= ",
      kMaxTries));
}

absl::StatusOr<Process> SpawnProcess(const std::vector<std::string>& argv,
                                     const std::string& log_path,
                                     const SpawnOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("spawn: empty argv");
  }
  std::string path = log_path;
  if (path.empty()) {
    absl::StatusOr<std::string> made = NewLogPath(ProgramStem(argv[0]));
    if (!made.ok()) return made.status();
    path = *std::move(made);
  }
  int log_fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                    0644);
  if (log_fd < 0) {
    return ErrnoError(errno, absl::StrCat("open log file ", path, " for ",
                                          argv[0]));
  }
  absl::StatusOr<Process> p =
      internal::ProcessStarter::Start(argv, log_fd, path, options);
  close(log_fd);
  return p;
}

absl::StatusOr<RunResult> RunProcess(const std::vector<std::string>& argv,
                                     absl::Duration timeout,
                                     const SpawnOptions& options) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return ErrnoError(errno, "pipe2 for command output");
  }
  absl::StatusOr<Process> p =
      internal::ProcessStarter::Start(argv, out[1], "", options);
  close(out[1]);
  if (!p.ok()) {
    close(out[0]);
    return p.status();
  }
  fcntl(out[0], F_SETFL, O_NONBLOCK);

  RunResult result;
  char buf[16384];
  bool eof = false;
  // Reads what the pipe holds now; false at EOF.
  auto drain = [&]() {
    while (true) {
      const ssize_t n = read(out[0], buf, sizeof(buf));
      if (n > 0) {
        const size_t room = RunResult::kMaxOutput - result.output.size();
        result.output.append(buf, std::min(room, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) eof = true;
      return;
    }
  };

  const agent::MonoTime end = MonotonicNow() + timeout;
  while (true) {
    if (std::optional<ExitStatus> s = p->TryWait()) {
      // Whatever is left; a grandchild that keeps the pipe open does not
      // hold us up.
      drain();
      result.status = *s;
      break;
    }
    const absl::Duration left = end - MonotonicNow();
    if (left <= absl::ZeroDuration()) {
      p->KillGroup(SIGKILL).IgnoreError();
      p->Wait(kReapTimeout).IgnoreError();
      drain();
      close(out[0]);
      return absl::DeadlineExceededError(absl::StrCat(
          absl::StrJoin(argv, " "), " still running after ",
          absl::FormatDuration(timeout), "; killed. Output so far: ",
          TailOf(result.output)));
    }
    struct pollfd fds[2];
    int nfds = 0;
    if (!eof) fds[nfds++] = {out[0], POLLIN, 0};
    if (internal::ProcessStarter::Pidfd(*p) >= 0) fds[nfds++] = {internal::ProcessStarter::Pidfd(*p), POLLIN, 0};
    // Without a pidfd, look at the child every 2 ms.
    const absl::Duration wait =
        internal::ProcessStarter::Pidfd(*p) >= 0 ? left : std::min(left, absl::Milliseconds(2));
    if (nfds == 0) {
      absl::SleepFor(wait);
    } else if (poll(fds, nfds, PollMillis(wait)) > 0 && !eof &&
               (fds[0].revents & (POLLIN | POLLHUP)) != 0) {
      drain();
    }
  }
  close(out[0]);
  return result;
}

absl::StatusOr<std::string> RunOrError(const std::vector<std::string>& argv,
                                       absl::Duration timeout,
                                       const SpawnOptions& options) {
  absl::StatusOr<RunResult> r = RunProcess(argv, timeout, options);
  if (!r.ok()) return r.status();
  if (!r->status.ok()) {
    std::string output(absl::StripTrailingAsciiWhitespace(r->output));
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(argv, " "), " failed (", r->status.ToString(),
        ")", output.empty() ? "" : ": ", TailOf(output)));
  }
  return std::move(r->output);
}

}  // namespace hacluster::harness
