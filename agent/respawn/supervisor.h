// Runs the spec's `respawn` programs (ha.cf's `respawn USER CMD`): each as
// its user (setgid, supplementary groups, setuid), in a process group of
// its own, with stdin from /dev/null, stdout and stderr on the agent's
// stderr, no other inherited file descriptor, the default signal mask and
// dispositions, SCHED_OTHER, and an environment of PATH, HOME, USER,
// LOGNAME and SHELL only. The program's own process gets SIGTERM when the
// agent dies (parent death signal; what it started does not). When one
// ends, what is left of its process group is killed (SIGKILL) and it is
// restarted by RespawnBackoff's rules (exit status 100: not restarted; a
// crash loop backs off), with one log line per end saying why. Stop sends
// SIGTERM to each program's process group, then SIGKILL to the groups
// still there after the grace time.
//
// Each child is watched through a pidfd, all of them through one epoll fd
// (fd()) that the agent's loop watches; Reap, Tick and NextDeadline drive
// it from there.
//
// Thread-safety: one thread (the agent's loop) calls everything.
#ifndef HACLUSTER_AGENT_RESPAWN_SUPERVISOR_H_
#define HACLUSTER_AGENT_RESPAWN_SUPERVISOR_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/core/clock.h"
#include "agent/log/logger.h"
#include "agent/respawn/backoff.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::agent {

// A respawn entry with its user looked up.
struct RespawnProgram {
  std::string user;
  std::vector<std::string> argv;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (the user's, from the group database)
  std::string home;
  std::string shell;
  // "respawn[0] /usr/lib/heartbeat/ipfail": how log lines name it.
  std::string label;
};

// The spec's respawn entries, checked and resolved: each user exists (and
// is the agent's own user unless the agent runs as root), each program is
// an absolute path to an executable file. An error names the entry
// (respawn[N]), the user or program, and why.
absl::StatusOr<std::vector<RespawnProgram>> ResolveRespawn(const spec::v1::ClusterSpec& spec);

class RespawnSupervisor {
 public:
  // `logger` and `clock` are not owned and must outlive the supervisor.
  RespawnSupervisor(Logger& logger, const Clock& clock, BackoffOptions backoff = {},
                    absl::Duration stop_grace = absl::Seconds(10));
  // Kills (SIGKILL) and reaps every program still running.
  ~RespawnSupervisor();
  RespawnSupervisor(const RespawnSupervisor&) = delete;
  RespawnSupervisor& operator=(const RespawnSupervisor&) = delete;

  // The epoll fd, readable when a program has ended (then call Reap).
  // An error when it could not be made.
  absl::Status Init();
  int fd() const { return epoll_fd_; }

  // Makes `programs` the set to run: programs that stay (same user and
  // argv) are left alone, ones no longer listed are stopped, new ones are
  // started now. Ignored once Stop was called.
  void Set(std::vector<RespawnProgram> programs, MonoTime now);
  // Reaps the programs that ended, logs why and schedules their restart.
  void Reap(MonoTime now);
  // Starts the restarts that are due, and SIGKILLs what outlived its grace.
  void Tick(MonoTime now);
  // When Tick next has something to do; InfiniteDuration if never.
  MonoTime NextDeadline() const;
  // Stops every program (SIGTERM now, SIGKILL after the grace time); none
  // is started again.
  void Stop(MonoTime now);
  // No program is running (none left to reap).
  bool Idle() const;
  // Pids of the running programs (for status and tests).
  std::vector<pid_t> Running() const;

 private:
  struct Child;
  absl::Status Spawn(Child& c, MonoTime now);
  void StartOrLog(Child& c, MonoTime now);
  void Signal(Child& c, int sig);
  void Forget(Child& c);

  Logger& logger_;
  const Clock& clock_;
  const BackoffOptions backoff_;
  const absl::Duration stop_grace_;
  int epoll_fd_ = -1;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Child>> children_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_RESPAWN_SUPERVISOR_H_
