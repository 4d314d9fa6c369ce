#include "agent/respawn/backoff.h"

#include <signal.h>

#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

TEST(RespawnBackoffTest, ExitStatus100IsNotRestarted) {
  RespawnBackoff b;
  RespawnDecision d = b.OnEnd({.exit_status = 100}, absl::Seconds(100));
  EXPECT_FALSE(d.restart);
  EXPECT_EQ(d.why, "exit status 100 after 1m40s: not restarted (exit status 100 means do not "
                   "restart)");
  // Killed by signal 100 is not a request (there is none, but the rule is
  // about the exit status only).
  EXPECT_TRUE(b.OnEnd({.exit_status = 0, .signal = SIGKILL}, absl::Seconds(1)).restart);
}

TEST(RespawnBackoffTest, AStableRunRestartsAtOnce) {
  RespawnBackoff b;
  for (int i = 0; i < 5; ++i) {
    RespawnDecision d = b.OnEnd({.exit_status = 1}, absl::Seconds(31));
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay, absl::ZeroDuration());
    EXPECT_EQ(d.why, "exit status 1 after 31s: restarting");
  }
}

TEST(RespawnBackoffTest, ACrashLoopBacksOffDoublingUpToTheMaximum) {
  RespawnBackoff b({.stable_after = absl::Seconds(30),
                    .first_delay = absl::Milliseconds(250),
                    .max_delay = absl::Seconds(2)});
  const absl::Duration want[] = {absl::ZeroDuration(),      absl::Milliseconds(250),
                                 absl::Milliseconds(500),   absl::Seconds(1),
                                 absl::Seconds(2),          absl::Seconds(2)};
  for (absl::Duration w : want) {
    RespawnDecision d = b.OnEnd({.exit_status = 1}, absl::Milliseconds(10));
    EXPECT_TRUE(d.restart);
    EXPECT_EQ(d.delay, w);
  }
  EXPECT_EQ(b.quick_ends(), 6);
  EXPECT_EQ(b.OnEnd({.signal = SIGSEGV}, absl::Milliseconds(10)).why,
            "killed by signal 11 (Segmentation fault) after 10ms (7th quick end in a row, a "
            "crash loop): restarting in 2s");
  // A stable run ends the loop: the next quick end restarts at once again.
  EXPECT_EQ(b.OnEnd({.exit_status = 0}, absl::Minutes(5)).delay, absl::ZeroDuration());
  EXPECT_EQ(b.quick_ends(), 0);
  RespawnDecision first = b.OnEnd({.exit_status = 2}, absl::Seconds(1));
  EXPECT_EQ(first.delay, absl::ZeroDuration());
  EXPECT_EQ(first.why, "exit status 2 after 1s (it ran less than 30s): restarting");
  EXPECT_EQ(b.OnEnd({.exit_status = 2}, absl::Seconds(1)).delay, absl::Milliseconds(250));
}

TEST(RespawnBackoffTest, OrdinalsReadRight) {
  RespawnBackoff b({.first_delay = absl::Milliseconds(1), .max_delay = absl::Milliseconds(1)});
  std::vector<std::string> whys;
  for (int i = 0; i < 13; ++i) whys.push_back(b.OnEnd({.exit_status = 1}, absl::ZeroDuration()).why);
  EXPECT_NE(whys[1].find("(2nd quick end"), std::string::npos) << whys[1];
  EXPECT_NE(whys[2].find("(3rd quick end"), std::string::npos) << whys[2];
  EXPECT_NE(whys[3].find("(4th quick end"), std::string::npos) << whys[3];
  EXPECT_NE(whys[10].find("(11th quick end"), std::string::npos) << whys[10];
  EXPECT_NE(whys[12].find("(13th quick end"), std::string::npos) << whys[12];
}

}  // namespace
}  // namespace hacluster::agent
