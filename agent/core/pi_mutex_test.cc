#include "agent/core/pi_mutex.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

// The inversion it exists for, on one CPU: a low-priority thread holds the
// lock, a middle-priority thread spins, a high-priority thread wants the
// lock. Without inheritance the holder never runs while the middle thread
// spins, so the high thread gets the lock only once the middle one gives
// up (after 2 s); with it, the holder runs at the high priority, lets go,
// and the high thread stops the middle one long before.
TEST(PiMutexTest, HolderRunsAtTheWaitersPriorityAndLetsGo) {
  sched_param probe{};
  probe.sched_priority = 1;
  if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &probe) != 0) {
    GTEST_SKIP() << "no realtime scheduling here (needs CAP_SYS_NICE)";
  }
  probe.sched_priority = 0;
  pthread_setschedparam(pthread_self(), SCHED_OTHER, &probe);

  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 CPUs";
  // The test's threads start on CPU 1 (they inherit this mask) and move to
  // CPU 0 only once at their realtime priority, so none waits there at
  // normal priority behind a spinning realtime thread.
  cpu_set_t saved;
  pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
  cpu_set_t cpu1;
  CPU_ZERO(&cpu1);
  CPU_SET(1, &cpu1);
  ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof(cpu1), &cpu1), 0);

  PiMutex mu;
  std::atomic<bool> held{false}, middle_running{false}, stop_middle{false};
  std::atomic<bool> middle_stopped_by_high{false};
  auto setup = [](int priority) {
    sched_param p{};
    p.sched_priority = priority;
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
    cpu_set_t cpu0;
    CPU_ZERO(&cpu0);
    CPU_SET(0, &cpu0);
    pthread_setaffinity_np(pthread_self(), sizeof(cpu0), &cpu0);
  };
  std::thread low([&] {
    setup(1);
    PiMutexLock lock(&mu);
    held = true;
    // Holds the lock until the middle thread spins (bounded), then has work
    // to do on CPU 0 before it lets go: it runs only if boosted.
    const absl::Time limit = absl::Now() + absl::Seconds(5);
    while (!middle_running.load() && absl::Now() < limit) {
    }
    volatile uint64_t x = 0;
    for (int i = 0; i < 2000000; ++i) x = x + 1;
  });
  while (!held.load()) std::this_thread::yield();
  std::thread middle([&] {
    setup(5);
    middle_running = true;
    const absl::Time give_up = absl::Now() + absl::Seconds(2);
    while (!stop_middle.load() && absl::Now() < give_up) {
    }
    middle_stopped_by_high = stop_middle.load();
  });
  while (!middle_running.load()) std::this_thread::yield();
  std::thread high([&] {
    setup(10);
    PiMutexLock lock(&mu);
    stop_middle = true;
  });
  high.join();
  middle.join();
  low.join();
  pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
  EXPECT_TRUE(middle_stopped_by_high.load())
      << "the high-priority thread got the lock only after the middle one gave up";
}

TEST(PiMutexTest, ExcludesAndCountsRight) {
  PiMutex mu;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        PiMutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 40000);
}

TEST(PiCondVarTest, TimesOutWithoutASignalAndWakesOnOne) {
  PiMutex mu;
  PiCondVar cv;
  {
    PiMutexLock lock(&mu);
    EXPECT_FALSE(cv.WaitWithTimeout(&mu, absl::Milliseconds(1)));
    EXPECT_FALSE(cv.WaitWithTimeout(&mu, absl::ZeroDuration()));
  }
  bool ready = false;
  std::thread signaller([&] {
    PiMutexLock lock(&mu);
    ready = true;
    cv.SignalAll();
  });
  {
    PiMutexLock lock(&mu);
    // Bounded: at most 100 waits of up to 10 s each for one signal.
    for (int i = 0; i < 100 && !ready; ++i) cv.WaitWithTimeout(&mu, absl::Seconds(10));
    EXPECT_TRUE(ready);
  }
  signaller.join();
}

}  // namespace
}  // namespace hacluster::agent
