// A mutex with priority inheritance, and a condition variable for it, for
// state the realtime heartbeat loop shares with threads of normal priority
// (the API's handlers, resource workers): the event hub, the operators'
// operations, the log. With a plain mutex the loop, waiting for a lock, can
// be kept waiting behind a holder that the scheduler has put aside for
// busier normal threads (priority inversion: tens of milliseconds on a
// loaded 2-core machine, enough for a late heartbeat or a false death).
// With PTHREAD_PRIO_INHERIT the holder runs at the waiter's priority until
// it lets go.
//
// Thread-safety: what a mutex is for. Not recursive; not copyable.
#ifndef HACLUSTER_AGENT_CORE_PI_MUTEX_H_
#define HACLUSTER_AGENT_CORE_PI_MUTEX_H_

#include <pthread.h>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace hacluster::agent {

class ABSL_LOCKABLE PiMutex {
 public:
  PiMutex();
  ~PiMutex();
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION();
  void Unlock() ABSL_UNLOCK_FUNCTION();

 private:
  friend class PiCondVar;
  pthread_mutex_t mu_;
};

class ABSL_SCOPED_LOCKABLE PiMutexLock {
 public:
  explicit PiMutexLock(PiMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~PiMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  PiMutexLock(const PiMutexLock&) = delete;
  PiMutexLock& operator=(const PiMutexLock&) = delete;

 private:
  PiMutex* const mu_;
};

// Waits on CLOCK_MONOTONIC.
class PiCondVar {
 public:
  PiCondVar();
  ~PiCondVar();
  PiCondVar(const PiCondVar&) = delete;
  PiCondVar& operator=(const PiCondVar&) = delete;

  // Releases `mu` (held by the caller), waits until signalled or until
  // `timeout` passed, and takes `mu` again. May wake early (spuriously):
  // callers re-check their condition. False when the time ran out.
  bool WaitWithTimeout(PiMutex* mu, absl::Duration timeout);
  void SignalAll();

 private:
  pthread_cond_t cv_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_CORE_PI_MUTEX_H_
