#include "agent/exec/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/core/clock.h"

namespace hacluster::exec {
namespace {

using agent::MonoTime;
using agent::MonotonicNow;

// How long a process killed with SIGKILL may take to be reaped before Run
// gives up on it (only a process stuck in the kernel takes that long).
constexpr absl::Duration kReapTimeout = absl::Seconds(10);
// Without a pidfd (kernels before 5.3), how often the child is looked at.
constexpr absl::Duration kExitPollInterval = absl::Milliseconds(5);

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof(buf));  // GNU strerror_r
}

int PollMillis(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1))),
      60 * 1000));
}

// The output pipe and the tail of what came through it.
class OutputReader {
 public:
  explicit OutputReader(int fd) : fd_(fd) {}
  ~OutputReader() { Close(); }

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }

  // Reads what the pipe holds now; closes it at EOF.
  void Drain() {
    char buf[4096];
    while (fd_ >= 0) {
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n > 0) {
        tail_.append(buf, static_cast<size_t>(n));
        // Trimmed in batches to keep the copying linear.
        if (tail_.size() > 4 * RunResult::kMaxOutput) Trim();
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      Close();  // EOF, or an error that no retry fixes
    }
  }

  std::string Take() {
    Trim();
    return std::move(tail_);
  }

 private:
  void Trim() {
    if (tail_.size() > RunResult::kMaxOutput) {
      tail_.erase(0, tail_.size() - RunResult::kMaxOutput);
    }
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  int fd_;
  std::string tail_;
};

// The spawned child: its pid, a pidfd when the kernel has them, and its
// exit once seen (observed with WNOWAIT: the child stays a zombie, so its
// pid and process group id remain ours until Reap()).
class Child {
 public:
  explicit Child(pid_t pid)
      : pid_(pid), pidfd_(static_cast<int>(syscall(SYS_pidfd_open, pid, 0))) {}
  ~Child() {
    if (pidfd_ >= 0) close(pidfd_);
  }

  pid_t pid() const { return pid_; }
  bool exited() const { return exited_; }
  const siginfo_t& info() const { return info_; }

  // Looks at the child without waiting.
  void Check() {
    if (exited_) return;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_) {
      info_ = info;
      exited_ = true;
    }
  }

  // Reads output and watches the child until it exits or `end` passes.
  // True when it has exited.
  bool WaitUntil(MonoTime end, OutputReader& out) {
    while (true) {
      Check();
      if (exited_) return true;
      const absl::Duration left = end - MonotonicNow();
      if (left <= absl::ZeroDuration()) return false;
      struct pollfd fds[2];
      int n = 0;
      int out_index = -1;
      if (out.open()) {
        out_index = n;
        fds[n++] = {out.fd(), POLLIN, 0};
      }
      if (pidfd_ >= 0) fds[n++] = {pidfd_, POLLIN, 0};
      const absl::Duration wait =
          pidfd_ >= 0 ? left : std::min(left, kExitPollInterval);
      const int ready = poll(fds, n, PollMillis(wait));
      if (ready > 0 && out_index >= 0 &&
          (fds[out_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        out.Drain();
      }
    }
  }

  // Collects the exited child. Only after this may its pid be reused.
  void Reap() {
    siginfo_t info;
    while (waitid(P_PID, pid_, &info, WEXITED) != 0 && errno == EINTR) {
    }
  }

 private:
  const pid_t pid_;
  const int pidfd_;
  bool exited_ = false;
  siginfo_t info_{};
};

RunResult NotStarted(std::string error) {
  RunResult r;
  r.error = std::move(error);
  return r;
}

// The spawn attributes: own process group, empty mask, every signal at its
// default action, SCHED_OTHER.
int SetUpAttributes(posix_spawnattr_t* attr) {
  int err = posix_spawnattr_init(attr);
  if (err != 0) return err;
  sigset_t none;
  sigemptyset(&none);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  sched_param param{};
  param.sched_priority = 0;
  const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSCHEDULER;
  if ((err = posix_spawnattr_setflags(attr, flags)) != 0 ||
      (err = posix_spawnattr_setpgroup(attr, 0)) != 0 ||
      (err = posix_spawnattr_setsigmask(attr, &none)) != 0 ||
      (err = posix_spawnattr_setsigdefault(attr, &all)) != 0 ||
      (err = posix_spawnattr_setschedpolicy(attr, SCHED_OTHER)) != 0 ||
      (err = posix_spawnattr_setschedparam(attr, &param)) != 0) {
    posix_spawnattr_destroy(attr);
  }
  return err;
}

// stdin from /dev/null, stdout and stderr to `out`, nothing else open,
// working directory "/".
int SetUpFileActions(posix_spawn_file_actions_t* actions, int out) {
  int err = posix_spawn_file_actions_init(actions);
  if (err != 0) return err;
  if ((err = posix_spawn_file_actions_addopen(actions, 0, "/dev/null",
                                              O_RDONLY, 0)) != 0 ||
      (err = posix_spawn_file_actions_adddup2(actions, out, 1)) != 0 ||
      (err = posix_spawn_file_actions_adddup2(actions, out, 2)) != 0 ||
      (err = posix_spawn_file_actions_addclosefrom_np(actions, 3)) != 0 ||
      (err = posix_spawn_file_actions_addchdir_np(actions, "/")) != 0) {
    posix_spawn_file_actions_destroy(actions);
  }
  return err;
}

}  // namespace

RunResult Run(const Command& c, absl::Duration kill_grace) {
  if (c.argv.empty() || c.argv[0].empty()) {
    return NotStarted("cannot run an empty command");
  }
  const std::string& program = c.argv[0];
  std::vector<char*> argv;
  argv.reserve(c.argv.size() + 1);
  for (const std::string& a : c.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(c.env.size() + 1);
  for (const std::string& e : c.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return NotStarted(absl::StrCat("pipe for the output of ", program, ": ",
                                   ErrnoText(errno)));
  }
  OutputReader out(pipe_fds[0]);
  posix_spawnattr_t attr;
  if (int err = SetUpAttributes(&attr); err != 0) {
    close(pipe_fds[1]);
    return NotStarted(absl::StrCat("spawn attributes for ", program, ": ",
                                   ErrnoText(err)));
  }
  posix_spawn_file_actions_t actions;
  if (int err = SetUpFileActions(&actions, pipe_fds[1]); err != 0) {
    posix_spawnattr_destroy(&attr);
    close(pipe_fds[1]);
    return NotStarted(absl::StrCat("spawn file actions for ", program, ": ",
                                   ErrnoText(err)));
  }

  const MonoTime start = MonotonicNow();
  pid_t pid = -1;
  const int spawn_err = posix_spawn(&pid, program.c_str(), &actions, &attr,
                                    argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipe_fds[1]);
  if (spawn_err != 0) {
    return NotStarted(
        absl::StrCat("spawn ", program, ": ", ErrnoText(spawn_err)));
  }
  fcntl(out.fd(), F_SETFL, fcntl(out.fd(), F_GETFL) | O_NONBLOCK);

  RunResult result;
  result.started = true;
  Child child(pid);
  if (!child.WaitUntil(start + c.timeout, out)) {
    result.timed_out = true;
    // The child is not reaped, so the group id cannot belong to anyone
    // else yet.
    kill(-pid, SIGTERM);
    child.WaitUntil(MonotonicNow() + kill_grace, out);
    // Whatever of the group outlived SIGTERM (the script, or what it left
    // behind when it exited on SIGTERM).
    kill(-pid, SIGKILL);
    child.WaitUntil(MonotonicNow() + kReapTimeout, out);
  }
  out.Drain();
  result.duration = MonotonicNow() - start;
  result.output = out.Take();
  if (!child.exited()) {
    result.error = absl::StrCat(program, " (pid ", pid,
                                ") did not die within ",
                                absl::FormatDuration(kReapTimeout),
                                " of SIGKILL; left unreaped");
    return result;
  }
  const siginfo_t& info = child.info();
  if (info.si_code == CLD_EXITED) {
    result.exit_status = info.si_status;
  } else {
    result.signal = info.si_status;
  }
  child.Reap();
  return result;
}

// ---- OpExecutor ----

struct OpExecutor::Job {
  OpExecutor* executor;
  uint64_t id;
  std::function<void()> work;
};

absl::StatusOr<std::unique_ptr<OpExecutor>> OpExecutor::Create(
    size_t stack_size) {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    return absl::Status(absl::ErrnoToStatusCode(errno),
                        absl::StrCat("eventfd for operation completions: ",
                                     ErrnoText(errno)));
  }
  return std::unique_ptr<OpExecutor>(new OpExecutor(fd, stack_size));
}

OpExecutor::OpExecutor(int event_fd, size_t stack_size)
    : event_fd_(event_fd), stack_size_(stack_size) {}

OpExecutor::~OpExecutor() {
  std::map<uint64_t, pthread_t> threads;
  {
    agent::PiMutexLock lock(&mu_);
    threads.swap(threads_);
  }
  for (auto& [id, thread] : threads) pthread_join(thread, nullptr);
  close(event_fd_);
}

absl::Status OpExecutor::Submit(uint64_t id, std::function<void()> work) {
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("thread attributes for operation ", id, ": ",
                     ErrnoText(err)));
  }
  sched_param param{};
  param.sched_priority = 0;
  if ((err = pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED)) ==
          0 &&
      (err = pthread_attr_setschedpolicy(&attr, SCHED_OTHER)) == 0 &&
      (err = pthread_attr_setschedparam(&attr, &param)) == 0) {
    err = pthread_attr_setstacksize(&attr, std::max<size_t>(
                                               stack_size_, PTHREAD_STACK_MIN));
  }
  if (err != 0) {
    pthread_attr_destroy(&attr);
    return absl::InternalError(absl::StrCat(
        "thread attributes for operation ", id, ": ", ErrnoText(err)));
  }

  // Held across pthread_create so that the new thread's Finished() finds
  // its entry in threads_.
  agent::PiMutexLock lock(&mu_);
  if (threads_.count(id) != 0) {
    pthread_attr_destroy(&attr);
    return absl::AlreadyExistsError(
        absl::StrCat("operation ", id, " is still in flight"));
  }
  auto job = std::make_unique<Job>(Job{this, id, std::move(work)});
  pthread_t thread;
  err = pthread_create(&thread, &attr, &OpExecutor::ThreadMain, job.get());
  pthread_attr_destroy(&attr);
  if (err != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot start a thread for operation ", id, ": ", ErrnoText(err)));
  }
  job.release();  // owned by the thread now
  threads_.emplace(id, thread);
  return absl::OkStatus();
}

void* OpExecutor::ThreadMain(void* arg) {
  std::unique_ptr<Job> job(static_cast<Job*>(arg));
  job->work();
  job->executor->Finished(job->id);
  return nullptr;
}

void OpExecutor::Finished(uint64_t id) {
  agent::PiMutexLock lock(&mu_);
  completed_.push_back(id);
  const uint64_t one = 1;
  // Cannot fail short of a counter overflow (2^64 - 1 completions).
  ssize_t ignored = write(event_fd_, &one, sizeof(one));
  (void)ignored;
}

std::vector<uint64_t> OpExecutor::TakeCompleted() {
  std::vector<uint64_t> done;
  std::vector<pthread_t> finished;
  {
    agent::PiMutexLock lock(&mu_);
    uint64_t count;
    ssize_t ignored = read(event_fd_, &count, sizeof(count));  // resets it
    (void)ignored;
    done.swap(completed_);
    finished.reserve(done.size());
    for (uint64_t id : done) {
      auto it = threads_.find(id);
      if (it == threads_.end()) continue;
      finished.push_back(it->second);
      threads_.erase(it);
    }
  }
  // Each has only its return left to do.
  for (pthread_t t : finished) pthread_join(t, nullptr);
  return done;
}

size_t OpExecutor::InFlight() const {
  agent::PiMutexLock lock(&mu_);
  return threads_.size();
}

}  // namespace hacluster::exec
