// The loop's waiting on a FakeClock: a deadline the clock has passed
// returns at once, so none of these tests sleeps (the one real timeout is
// a bound on a wait that an fd ends first).
#include "agent/node/event_loop.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>

#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

class EventFd {
 public:
  EventFd() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~EventFd() { close(fd_); }
  int fd() const { return fd_; }
  void Fire() {
    uint64_t one = 1;
    (void)!write(fd_, &one, sizeof(one));
  }
  void Drain() {
    uint64_t v;
    (void)!read(fd_, &v, sizeof(v));
  }

 private:
  int fd_;
};

class EventLoopTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() { BlockSignals(); }
  void SetUp() override {
    auto loop = EventLoop::Create(clock_, /*timerfd_deadline=*/GetParam());
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
    EXPECT_EQ(loop_->uses_timerfd(), GetParam());
  }

  FakeClock clock_;
  std::unique_ptr<EventLoop> loop_;
  uint64_t tags_[8] = {};
};

TEST_P(EventLoopTest, ADeadlineTheClockHasPassedReturnsAtOnce) {
  auto n = loop_->Wait(clock_.Now() - absl::Milliseconds(1), false, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  n = loop_->Wait(clock_.Now(), false, true, tags_, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
}

TEST_P(EventLoopTest, AReadyFdEndsAWaitWithoutDeadlineWithItsTag) {
  EventFd a, b;
  ASSERT_TRUE(loop_->Watch(a.fd(), 7).ok());
  ASSERT_TRUE(loop_->Watch(b.fd(), 9).ok());
  b.Fire();
  auto n = loop_->Wait(absl::InfiniteDuration(), false, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  EXPECT_EQ(tags_[0], 9u);
  b.Drain();
  loop_->Unwatch(b.fd());
  b.Fire();
  a.Fire();
  n = loop_->Wait(absl::InfiniteDuration(), false, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  EXPECT_EQ(tags_[0], 7u);
}

TEST_P(EventLoopTest, TheQuietSetLeavesOutLoudOnlyFds) {
  EventFd dated, other;
  ASSERT_TRUE(loop_->Watch(dated.fd(), 1, /*loud_only=*/true).ok());
  ASSERT_TRUE(loop_->Watch(other.fd(), 2).ok());
  dated.Fire();
  // Quiet: the dated medium's input does not wake the loop before its
  // deadline (passed on the fake clock: returns at once with nothing).
  auto n = loop_->Wait(clock_.Now(), false, /*quiet=*/true, tags_, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // Loud: it does.
  n = loop_->Wait(absl::InfiniteDuration(), false, /*quiet=*/false, tags_, 8);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  EXPECT_EQ(tags_[0], 1u);
  // Both sets have the other fds.
  dated.Drain();
  other.Fire();
  n = loop_->Wait(absl::InfiniteDuration(), false, /*quiet=*/true, tags_, 8);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  EXPECT_EQ(tags_[0], 2u);
}

TEST_P(EventLoopTest, PollOnlyNeverWaits) {
  EventFd a;
  ASSERT_TRUE(loop_->Watch(a.fd(), 3).ok());
  auto n = loop_->Wait(absl::InfiniteDuration(), /*poll_only=*/true, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  a.Fire();
  n = loop_->Wait(absl::InfiniteDuration(), /*poll_only=*/true, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
}

TEST_P(EventLoopTest, SignalsWakeEitherSetAndAreTakenInOrder) {
  ASSERT_EQ(kill(getpid(), SIGHUP), 0);
  auto n = loop_->Wait(absl::InfiniteDuration(), false, /*quiet=*/true, tags_, 8);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  EXPECT_EQ(tags_[0], EventLoop::kSignalTag);
  ASSERT_EQ(kill(getpid(), SIGTERM), 0);
  std::vector<int> signals = loop_->TakeSignals();
  // Standard signals are delivered lowest number first.
  EXPECT_EQ(signals, (std::vector<int>{SIGHUP, SIGTERM}));
  EXPECT_TRUE(loop_->TakeSignals().empty());
}

TEST_P(EventLoopTest, ALaterDeadlineWaitsUntilAnFdEndsIt) {
  // The deadline is 10 s ahead on the clock; the fd, already ready, ends
  // the wait first.
  EventFd a;
  ASSERT_TRUE(loop_->Watch(a.fd(), 4).ok());
  a.Fire();
  auto n = loop_->Wait(clock_.Now() + absl::Seconds(10), false, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 1);
  EXPECT_EQ(tags_[0], 4u);
}

TEST_P(EventLoopTest, AShortDeadlineEndsTheWaitWithNothingReady) {
  // 1 ms ahead: a real wait of about that long (the timerfd must be armed,
  // else this would never return).
  auto n = loop_->Wait(clock_.Now() + absl::Milliseconds(1), false, false, tags_, 8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
}

TEST_P(EventLoopTest, OwnTagsAreRefused) {
  EventFd a;
  EXPECT_FALSE(loop_->Watch(a.fd(), EventLoop::kFirstOwnTag).ok());
}

INSTANTIATE_TEST_SUITE_P(Deadline, EventLoopTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Timerfd" : "EpollPwait2";
                         });

}  // namespace
}  // namespace hacluster::agent
