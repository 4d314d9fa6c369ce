#include "agent/core/pi_mutex.h"

#include <errno.h>
#include <time.h>

#include <cstdlib>

namespace hacluster::agent {

PiMutex::PiMutex() {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  // Where priority inheritance is not available the mutex is a plain one:
  // correct, only without the boost.
  if (pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT) != 0 ||
      pthread_mutex_init(&mu_, &attr) != 0) {
    pthread_mutex_init(&mu_, nullptr);
  }
  pthread_mutexattr_destroy(&attr);
}

PiMutex::~PiMutex() { pthread_mutex_destroy(&mu_); }

void PiMutex::Lock() {
  // Errors here mean a broken invariant (a deadlock, a lock not ours):
  // nothing sensible can continue.
  if (pthread_mutex_lock(&mu_) != 0) abort();
}

void PiMutex::Unlock() {
  if (pthread_mutex_unlock(&mu_) != 0) abort();
}

PiCondVar::PiCondVar() {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&cv_, &attr);
  pthread_condattr_destroy(&attr);
}

PiCondVar::~PiCondVar() { pthread_cond_destroy(&cv_); }

bool PiCondVar::WaitWithTimeout(PiMutex* mu, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return false;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const absl::Duration until = absl::DurationFromTimespec(now) + timeout;
  const timespec deadline = absl::ToTimespec(until);
  return pthread_cond_timedwait(&cv_, &mu->mu_, &deadline) != ETIMEDOUT;
}

void PiCondVar::SignalAll() { pthread_cond_broadcast(&cv_); }

}  // namespace hacluster::agent
