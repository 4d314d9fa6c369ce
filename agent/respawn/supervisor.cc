#include "agent/respawn/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::agent {
namespace {

constexpr char kPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string Errno(int err) { return strerror(err); }

absl::StatusOr<RespawnProgram> Resolve(const spec::v1::Respawn& r, int index) {
  RespawnProgram p;
  p.user = r.user();
  p.argv.assign(r.argv().begin(), r.argv().end());
  const std::string entry = absl::StrCat("respawn[", index, "]");
  if (p.argv.empty() || p.argv[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(entry, " has no program"));
  }
  p.label = absl::StrCat(entry, " ", p.argv[0]);
  for (const std::string& a : p.argv) {
    if (a.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(p.label, ": an argument holds a NUL byte"));
    }
  }
  if (p.argv[0][0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(p.label, ": the program must be an absolute path (argv[0])"));
  }
  struct stat st {};
  if (stat(p.argv[0].c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat(p.label, ": cannot run ", p.argv[0], ": ",
                                            Errno(errno)));
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(p.label, ": ", p.argv[0], " is not an executable file"));
  }
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* found = nullptr;
  const int err = getpwnam_r(p.user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        p.label, ": user ", p.user, err != 0 ? absl::StrCat(" cannot be looked up: ", Errno(err))
                                            : std::string(" does not exist")));
  }
  p.uid = pw.pw_uid;
  p.gid = pw.pw_gid;
  p.home = pw.pw_dir != nullptr ? pw.pw_dir : "/";
  p.shell = pw.pw_shell != nullptr ? pw.pw_shell : "/bin/sh";
  int n = 64;
  for (int tries = 0; tries < 4; ++tries) {
    p.groups.assign(n, 0);
    int got = n;
    if (getgrouplist(p.user.c_str(), p.gid, p.groups.data(), &got) >= 0) {
      p.groups.resize(got);
      break;
    }
    n = std::max(got, n * 2);
    p.groups.clear();
  }
  if (p.groups.empty()) p.groups.push_back(p.gid);
  if (geteuid() != 0 && p.uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(p.label, ": cannot run as ", p.user, ": the agent does not run as root"));
  }
  return p;
}

}  // namespace

absl::StatusOr<std::vector<RespawnProgram>> ResolveRespawn(const spec::v1::ClusterSpec& spec) {
  std::vector<RespawnProgram> out;
  for (int i = 0; i < spec.respawn_size(); ++i) {
    absl::StatusOr<RespawnProgram> p = Resolve(spec.respawn(i), i);
    if (!p.ok()) return p.status();
    out.push_back(*std::move(p));
  }
  return out;
}

struct RespawnSupervisor::Child {
  RespawnProgram program;
  RespawnBackoff backoff;
  pid_t pid = -1;      // running when > 0
  int pidfd = -1;
  MonoTime started;
  MonoTime restart_at = absl::InfiniteDuration();  // scheduled restart
  MonoTime kill_at = absl::InfiniteDuration();     // SIGKILL due (stopping)
  bool stopping = false;  // no restart: stopped or no longer listed
  bool retired = false;   // no longer listed: forgotten once it ended
};

RespawnSupervisor::RespawnSupervisor(Logger& logger, const Clock& clock, BackoffOptions backoff,
                                     absl::Duration stop_grace)
    : logger_(logger), clock_(clock), backoff_(backoff), stop_grace_(stop_grace) {}

RespawnSupervisor::~RespawnSupervisor() {
  for (auto& c : children_) {
    if (c->pid <= 0) continue;
    Signal(*c, SIGKILL);
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR) {
    }
    Forget(*c);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::Status RespawnSupervisor::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    return absl::InternalError(absl::StrCat("respawn: epoll_create1: ", Errno(errno)));
  }
  return absl::OkStatus();
}

void RespawnSupervisor::Set(std::vector<RespawnProgram> programs, MonoTime now) {
  if (stopping_) return;
  std::vector<bool> kept(programs.size(), false);
  for (auto& c : children_) {
    if (c->retired) continue;
    bool listed = false;
    for (size_t i = 0; i < programs.size(); ++i) {
      if (!kept[i] && programs[i].user == c->program.user && programs[i].argv == c->program.argv) {
        kept[i] = true;
        listed = true;
        c->program.label = programs[i].label;  // its index may have changed
        c->program.uid = programs[i].uid;
        c->program.gid = programs[i].gid;
        c->program.groups = programs[i].groups;
        break;
      }
    }
    if (listed) continue;
    c->retired = true;
    c->stopping = true;
    c->restart_at = absl::InfiniteDuration();
    if (c->pid > 0) {
      logger_.Info(absl::StrCat(c->program.label, " (pid ", c->pid,
                                ") is no longer in the spec: stopping it (SIGTERM)"));
      Signal(*c, SIGTERM);
      c->kill_at = now + stop_grace_;
    }
  }
  children_.erase(std::remove_if(children_.begin(), children_.end(),
                                 [](const auto& c) { return c->retired && c->pid <= 0; }),
                  children_.end());
  for (size_t i = 0; i < programs.size(); ++i) {
    if (kept[i]) continue;
    auto c = std::make_unique<Child>();
    c->program = std::move(programs[i]);
    c->backoff = RespawnBackoff(backoff_);
    StartOrLog(*c, now);
    children_.push_back(std::move(c));
  }
}

void RespawnSupervisor::StartOrLog(Child& c, MonoTime now) {
  c.restart_at = absl::InfiniteDuration();
  absl::Status s = Spawn(c, now);
  if (s.ok()) return;
  // Could not start (the program vanished, setuid failed...): counted as a
  // quick end, so that a persistent failure backs off.
  RespawnDecision d = c.backoff.OnEnd({.exit_status = 127}, absl::ZeroDuration());
  c.restart_at = now + d.delay;
  logger_.Error(absl::StrCat(c.program.label, ": cannot start: ", s.message(), "; retrying in ",
                             absl::FormatDuration(d.delay)));
}

absl::Status RespawnSupervisor::Spawn(Child& c, MonoTime now) {
  const RespawnProgram& p = c.program;
  // Everything the child needs is made before fork: after it, in a
  // process with other threads, only async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const std::string& a : p.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string env_home = absl::StrCat("HOME=", p.home);
  const std::string env_user = absl::StrCat("USER=", p.user);
  const std::string env_logname = absl::StrCat("LOGNAME=", p.user);
  const std::string env_shell = absl::StrCat("SHELL=", p.shell);
  char* envp[] = {const_cast<char*>(kPath), const_cast<char*>(env_home.c_str()),
                  const_cast<char*>(env_user.c_str()), const_cast<char*>(env_logname.c_str()),
                  const_cast<char*>(env_shell.c_str()), nullptr};
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) return absl::InternalError(absl::StrCat("open /dev/null: ", Errno(errno)));
  // The child reports a failure before exec through this pipe (closed on a
  // successful exec).
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    const int err = errno;
    close(null_fd);
    return absl::InternalError(absl::StrCat("pipe2: ", Errno(err)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(null_fd);
    close(report[0]);
    close(report[1]);
    return absl::InternalError(absl::StrCat("fork: ", Errno(err)));
  }
  if (pid == 0) {
    // The child. Each failing step writes (step, errno) and exits 127.
    auto fail = [&](int step) {
      int msg[2] = {step, errno};
      (void)!write(report[1], msg, sizeof(msg));
      _exit(127);
    };
    sigset_t none;
    sigemptyset(&none);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    sched_param param{};
    sched_setscheduler(0, SCHED_OTHER, &param);
    if (setpgid(0, 0) != 0) fail(1);
    if (dup2(null_fd, 0) < 0 || dup2(2, 1) < 0) fail(2);
    // Every other descriptor goes: close_range keeps 0-2 and the report
    // pipe's write end (moved to 3 first; it closes at exec).
    if (report[1] != 3) {
      if (dup3(report[1], 3, O_CLOEXEC) < 0) fail(2);
      report[1] = 3;
    }
    if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) fail(2);
    if (setgroups(p.groups.size(), p.groups.data()) != 0) fail(3);
    if (setgid(p.gid) != 0) fail(4);
    if (setuid(p.uid) != 0) fail(5);
    // Set after setuid: a change of credentials clears it.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) fail(6);
    if (chdir("/") != 0) fail(7);
    execve(argv[0], argv.data(), envp);
    fail(8);
  }
  close(null_fd);
  close(report[1]);
  int msg[2] = {0, 0};
  ssize_t got;
  do {
    got = read(report[0], msg, sizeof(msg));
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof(msg))) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    static const char* const kSteps[] = {"",       "setpgid", "descriptors", "setgroups",
                                         "setgid", "setuid",  "prctl",       "chdir /",
                                         "execve"};
    const char* step = msg[0] >= 1 && msg[0] <= 8 ? kSteps[msg[0]] : "?";
    return absl::FailedPreconditionError(absl::StrCat(step, ": ", Errno(msg[1])));
  }
  c.pid = pid;
  c.started = now;
  c.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (c.pidfd < 0) {
    const int err = errno;
    logger_.Error(absl::StrCat(c.program.label, ": pidfd_open: ", Errno(err),
                               "; its end will not be seen"));
  } else {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = c.pidfd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.pidfd, &ev);
  }
  logger_.Info(absl::StrCat(c.program.label, ": started as user ", p.user, " (pid ", pid,
                            "): ", absl::StrJoin(p.argv, " ")));
  return absl::OkStatus();
}

void RespawnSupervisor::Signal(Child& c, int sig) {
  if (c.pid <= 0) return;
  // The whole process group: what the program started goes too.
  if (kill(-c.pid, sig) != 0) kill(c.pid, sig);
}

void RespawnSupervisor::Forget(Child& c) {
  if (c.pidfd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.pidfd, nullptr);
    close(c.pidfd);
  }
  c.pidfd = -1;
  c.pid = -1;
  c.kill_at = absl::InfiniteDuration();
}

void RespawnSupervisor::Reap(MonoTime now) {
  // Every running child is looked at: a pidfd stays readable (and so the
  // epoll fd) until its child is reaped and Forget drops it.
  for (auto& c : children_) {
    if (c->pid <= 0) continue;
    int status = 0;
    const pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) continue;
    ProgramEnd end;
    if (r > 0 && WIFSIGNALED(status)) {
      end.signal = WTERMSIG(status);
    } else if (r > 0) {
      end.exit_status = WEXITSTATUS(status);
    } else {
      end.exit_status = -1;  // ECHILD: reaped elsewhere
    }
    const pid_t pid = c->pid;
    const absl::Duration ran = now - c->started;
    // What the program started in its process group goes with it (a group
    // id is not reused while a member lives): no leftover from this run
    // next to the restarted one.
    kill(-pid, SIGKILL);
    Forget(*c);
    if (c->stopping) {
      logger_.Info(absl::StrCat(c->program.label, " (pid ", pid, ") stopped: ",
                                DescribeEnd(end), " after ", absl::FormatDuration(ran)));
      continue;
    }
    RespawnDecision d = c->backoff.OnEnd(end, ran);
    const std::string line = absl::StrCat(c->program.label, " (pid ", pid, ") ended: ", d.why);
    if (!d.restart) {
      c->stopping = true;
      logger_.Warn(line);
      continue;
    }
    logger_.Warn(line);
    c->restart_at = now + d.delay;
  }
  children_.erase(std::remove_if(children_.begin(), children_.end(),
                                 [](const auto& c) { return c->retired && c->pid <= 0; }),
                  children_.end());
  Tick(now);
}

void RespawnSupervisor::Tick(MonoTime now) {
  for (auto& c : children_) {
    if (c->pid > 0 && now >= c->kill_at) {
      logger_.Warn(absl::StrCat(c->program.label, " (pid ", c->pid, ") did not stop within ",
                                absl::FormatDuration(stop_grace_), " of SIGTERM: SIGKILL"));
      Signal(*c, SIGKILL);
      c->kill_at = absl::InfiniteDuration();
    }
    if (c->pid <= 0 && !c->stopping && now >= c->restart_at) StartOrLog(*c, now);
  }
}

MonoTime RespawnSupervisor::NextDeadline() const {
  MonoTime next = absl::InfiniteDuration();
  for (const auto& c : children_) {
    if (c->pid > 0) next = std::min(next, c->kill_at);
    if (c->pid <= 0 && !c->stopping) next = std::min(next, c->restart_at);
  }
  return next;
}

void RespawnSupervisor::Stop(MonoTime now) {
  if (stopping_) return;
  stopping_ = true;
  for (auto& c : children_) {
    c->stopping = true;
    c->restart_at = absl::InfiniteDuration();
    if (c->pid <= 0) continue;
    logger_.Info(absl::StrCat(c->program.label, " (pid ", c->pid, "): stopping (SIGTERM)"));
    Signal(*c, SIGTERM);
    c->kill_at = now + stop_grace_;
  }
}

bool RespawnSupervisor::Idle() const {
  return std::none_of(children_.begin(), children_.end(),
                      [](const auto& c) { return c->pid > 0; });
}

std::vector<pid_t> RespawnSupervisor::Running() const {
  std::vector<pid_t> out;
  for (const auto& c : children_) {
    if (c->pid > 0) out.push_back(c->pid);
  }
  return out;
}

}  // namespace hacluster::agent
