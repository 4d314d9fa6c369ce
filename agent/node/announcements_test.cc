#include "agent/node/announcements.h"

#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

// Sends every announcement due until none is left, stepping the fake clock
// to each due time; returns the times (relative to `start`) of those of
// `address`.
std::vector<absl::Duration> Drain(AnnouncementSchedule& s, FakeClock& clock, MonoTime start,
                                  const std::string& address) {
  std::vector<absl::Duration> at;
  for (int i = 0; i < 100 && !s.empty(); ++i) {
    clock.Set(s.Next());
    for (const auto& d : s.TakeDue(clock.Now())) {
      if (d.address == address) at.push_back(clock.Now() - start);
    }
  }
  return at;
}

TEST(AnnouncementScheduleTest, FiveTimes200MsApartFromNow) {
  FakeClock clock;
  const MonoTime start = clock.Now();
  AnnouncementSchedule s;
  EXPECT_EQ(s.Next(), absl::InfiniteDuration());
  s.Add("eth0", "192.0.2.10", start, /*first_sent=*/false);
  EXPECT_EQ(s.Next(), start);
  auto at = Drain(s, clock, start, "192.0.2.10");
  EXPECT_EQ(at, (std::vector<absl::Duration>{absl::ZeroDuration(), absl::Milliseconds(200),
                                             absl::Milliseconds(400), absl::Milliseconds(600),
                                             absl::Milliseconds(800)}));
  EXPECT_EQ(s.Next(), absl::InfiniteDuration());
}

TEST(AnnouncementScheduleTest, AfterTheStartSentTheFirstFourMoreFollow) {
  FakeClock clock;
  const MonoTime start = clock.Now();
  AnnouncementSchedule s;
  s.Add("eth0", "192.0.2.10", start, /*first_sent=*/true);
  EXPECT_TRUE(s.TakeDue(start).empty());
  auto at = Drain(s, clock, start, "192.0.2.10");
  EXPECT_EQ(at, (std::vector<absl::Duration>{absl::Milliseconds(200), absl::Milliseconds(400),
                                             absl::Milliseconds(600), absl::Milliseconds(800)}));
}

TEST(AnnouncementScheduleTest, ALateWakeSendsOnceAndKeepsTheSpacingFromThen) {
  FakeClock clock;
  const MonoTime start = clock.Now();
  AnnouncementSchedule s;
  s.Add("eth0", "192.0.2.10", start, false);
  ASSERT_EQ(s.TakeDue(start).size(), 1u);
  // The loop wakes 500 ms late: one announcement, not the two missed.
  auto due = s.TakeDue(start + absl::Milliseconds(700));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].interface, "eth0");
  EXPECT_EQ(s.Next(), start + absl::Milliseconds(900));
}

TEST(AnnouncementScheduleTest, ForgetDropsOnlyThatAddress) {
  FakeClock clock;
  const MonoTime start = clock.Now();
  AnnouncementSchedule s;
  s.Add("eth0", "192.0.2.10", start, false);
  s.Add("eth1", "198.51.100.7", start + absl::Milliseconds(50), false);
  s.Forget("192.0.2.10");
  auto at = Drain(s, clock, start, "198.51.100.7");
  EXPECT_EQ(at.size(), 5u);
  EXPECT_EQ(at.front(), absl::Milliseconds(50));
  EXPECT_TRUE(Drain(s, clock, start, "192.0.2.10").empty());
}

}  // namespace
}  // namespace hacluster::agent
