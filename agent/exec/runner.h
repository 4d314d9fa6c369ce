// Running resource operations: one script to completion (Run), and the
// threads that keep such runs off the agent's event loop (OpExecutor).
//
// The agent's loop thread runs SCHED_RR with SIGTERM/SIGINT/SIGHUP blocked,
// SIGPIPE ignored and memory locked. None of that may reach a script: each
// one is started with posix_spawn (no fork of the big, locked process), in a
// process group of its own, with an empty signal mask, every signal at its
// default action, SCHED_OTHER, stdin from /dev/null, stdout and stderr into
// one pipe, working directory "/", no file descriptor of the agent but those,
// and exactly the Command's environment. (glibc's posix_spawn leaves its
// two internal signals, 32 and 33, ignored in the child; programs that use
// them install their own handlers.)
//
// On timeout the whole process group gets SIGTERM, then SIGKILL after a
// grace period. When the script ends by itself nothing is killed: a start
// script may leave a daemon behind, in the group or not.
//
// Requirements on the process: SIGCHLD must not be ignored, and nothing else
// may reap children it did not start (waitpid(-1)): Run waits for its own
// child by pid.
#ifndef HACLUSTER_AGENT_EXEC_RUNNER_H_
#define HACLUSTER_AGENT_EXEC_RUNNER_H_

#include <pthread.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/core/pi_mutex.h"
#include "absl/time/time.h"
#include "agent/exec/command.h"

namespace hacluster::exec {

// Runs `c` to completion or timeout and returns how it ended (RunResult is
// in command.h). Blocks the calling thread for up to c.timeout + kill_grace
// (+ a bounded wait for the killed process to be reaped): call it from an
// OpExecutor thread, never from the event loop. While the script runs, its
// output is read as it comes; once the script itself has exited, only what
// is already in the pipe is kept, so that a daemon it left holding the pipe
// does not hold up the result. (Such a daemon's later writes to its
// inherited stdout or stderr fail with EPIPE; daemons are expected to
// redirect or close them, as start-stop-daemon --background does.)
//
// Never fails as a call: a process that could not be started comes back
// with started == false and `error` naming the program and the OS reason.
// Thread-safe: runs may go on in parallel on several threads.
RunResult Run(const Command& c, absl::Duration kill_grace = absl::Seconds(5));

// Runs work items off the event loop, one new thread each (operations are
// rare: a handful per failover), and tells the loop through an eventfd when
// each is done.
//
// Threads are created SCHED_OTHER with an explicit scheduling attribute, so
// that they do not inherit the SCHED_RR of the loop that submits them.
//
// Thread-safety: Submit(), TakeCompleted() and InFlight() are meant to be
// called from one thread (the loop) but are safe from any; fd() is constant.
// Each work item runs on its own thread and must not call back into the
// OpExecutor. The destructor waits for every work item to return (each is
// bounded by its operation's timeout and grace).
class OpExecutor {
 public:
  // Default stack of a work thread; enough for Run() and its callers'
  // bookkeeping, small because the agent's memory is locked.
  static constexpr size_t kDefaultStackSize = 512 * 1024;

  // Creates the eventfd. Errors name the OS reason.
  static absl::StatusOr<std::unique_ptr<OpExecutor>> Create(
      size_t stack_size = kDefaultStackSize);

  OpExecutor(const OpExecutor&) = delete;
  OpExecutor& operator=(const OpExecutor&) = delete;
  // Waits for all work to return, joins the threads, closes the eventfd.
  ~OpExecutor();

  // Runs `work` on a new thread; when it returns, `id` is queued for
  // TakeCompleted() and fd() becomes readable. AlreadyExists when `id` is
  // still in flight (submitted and not yet taken); ResourceExhausted (with
  // the OS reason) when no thread can be created.
  absl::Status Submit(uint64_t id, std::function<void()> work);

  // The eventfd (non-blocking, close-on-exec) that is readable while
  // completed ids wait to be taken. For the loop's epoll; owned here.
  int fd() const { return event_fd_; }

  // Returns the ids whose work has returned since the last call, in the
  // order they finished, and resets fd() to not readable. Joins their
  // threads (which have nothing left to do but exit).
  std::vector<uint64_t> TakeCompleted();

  // Work submitted and not yet taken by TakeCompleted().
  size_t InFlight() const;

 private:
  struct Job;

  OpExecutor(int event_fd, size_t stack_size);
  static void* ThreadMain(void* arg);
  void Finished(uint64_t id);

  const int event_fd_;
  const size_t stack_size_;
  // Priority inheritance: the loop never waits long behind a worker.
  mutable agent::PiMutex mu_;
  // Threads of work not yet taken, by id.
  std::map<uint64_t, pthread_t> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> completed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hacluster::exec

#endif  // HACLUSTER_AGENT_EXEC_RUNNER_H_
