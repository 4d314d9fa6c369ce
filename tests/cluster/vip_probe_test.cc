// VipProbe against a real probe_server on a loopback address of the run's
// own (no namespaces needed), the series analysis on made-up answers, and
// the holder sampler on the caller's own namespace. The sampler across lab
// namespaces is exercised by failover_test.
#include "tests/cluster/vip_probe.h"

#include <signal.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

using harness::Process;

MonoTime Ms(int64_t ms) { return absl::Milliseconds(ms); }

ProbeAnswer At(int64_t received_ms, const std::string& node, uint64_t seq = 1) {
  ProbeAnswer a;
  a.seq = seq;
  a.node = node;
  a.sent = Ms(received_ms - 1);
  a.received = Ms(received_ms);
  return a;
}

TEST(ProbeSeriesTest, LongestGapCountsTheWindowEnds) {
  std::vector<ProbeAnswer> answers = {At(10, "a"), At(20, "a"), At(50, "b")};
  EXPECT_EQ(LongestGap(answers, Ms(0), Ms(60)), Ms(30));   // 20 -> 50
  EXPECT_EQ(LongestGap(answers, Ms(0), Ms(100)), Ms(50));  // 50 -> end
  EXPECT_EQ(LongestGap(answers, Ms(15), Ms(25)), Ms(5));   // 20 -> 25
  EXPECT_EQ(LongestGap(answers, Ms(21), Ms(49)), Ms(28));  // none inside
  EXPECT_EQ(LongestGap({}, Ms(100), Ms(350)), Ms(250));
  EXPECT_EQ(LongestGap(answers, Ms(60), Ms(60)), absl::ZeroDuration());
  ProbeGap gap = LongestGapIn(answers, Ms(0), Ms(60));
  EXPECT_EQ(gap.from, Ms(20));
  EXPECT_EQ(gap.to, Ms(50));
  gap = LongestGapIn({At(10, "a"), At(20, "a")}, Ms(0), Ms(30));  // three of 10 ms
  EXPECT_EQ(gap.from, Ms(0));
  EXPECT_EQ(gap.to, Ms(10));
}

TEST(ProbeSeriesTest, FirstAnswerAfterIsStrictlyLaterAndFiltersByNode) {
  std::vector<ProbeAnswer> answers = {At(10, "a", 1), At(20, "a", 2), At(30, "b", 3),
                                      At(40, "a", 4)};
  auto any = FirstAnswerAfter(answers, Ms(20));
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->seq, 3u);
  auto a = FirstAnswerAfter(answers, Ms(20), "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->seq, 4u);
  EXPECT_FALSE(FirstAnswerAfter(answers, Ms(40)).has_value());
  EXPECT_FALSE(FirstAnswerAfter(answers, Ms(0), "c").has_value());
}

TEST(ProbeSeriesTest, NodesAnsweringWithinAClosedRange) {
  std::vector<ProbeAnswer> answers = {At(10, "a"), At(20, "b"), At(30, "c")};
  EXPECT_EQ(NodesAnswering(answers, Ms(10), Ms(20)), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(NodesAnswering(answers, Ms(21), Ms(29)), std::set<std::string>{});
  EXPECT_EQ(NodesAnswering(answers, Ms(0), Ms(100)), (std::set<std::string>{"a", "b", "c"}));
}

TEST(VipProbeTest, RefusesBadOptions) {
  VipProbeOptions o;
  o.address = "192.0.2.300";
  o.port = 7;
  EXPECT_EQ(VipProbe::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.address = "127.0.0.1";
  o.port = 0;
  EXPECT_EQ(VipProbe::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.port = 7;
  o.interval = absl::ZeroDuration();
  EXPECT_EQ(VipProbe::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.interval = absl::Milliseconds(2);
  o.realtime_priority = 100;
  EXPECT_EQ(VipProbe::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VipProbeTest, OpenSocketInNetnsNamesAMissingNamespace) {
  auto fd = OpenSocketInNetns("/run/netns/no-such-namespace-here", AF_INET, SOCK_DGRAM, 0);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(fd.status().message().find("no-such-namespace-here"), std::string::npos);
}

class ProbeServerTest : public ::testing::Test {
 protected:
  std::string ServerPath() {
    return absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"),
                        "/tests/cluster/probe_server");
  }

  // Starts a server named `name` and waits for its pid file.
  Process StartServer(const std::string& name) {
    std::string pidfile = dir_.File(name + ".pid");
    auto p = harness::SpawnProcess({ServerPath(), "--port", std::to_string(spot_.port), "--name",
                                    name, "--bind", address_, "--pidfile", pidfile});
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return Process();
    EXPECT_TRUE(harness::WaitFor([&] { return std::filesystem::exists(pidfile); },
                                 absl::Seconds(5)))
        << ReadFile(p->log_path());
    return *std::move(p);
  }

  ScratchDir dir_;
  LoopbackSpot spot_ = RandomLoopbackSpot();
  std::string address_ = spot_.prefix + "1";
};

TEST_F(ProbeServerTest, ProbeSeesWhichServerAnswersAndTheOutageBetween) {
  Process alpha = StartServer("alpha");
  VipProbeOptions o;
  o.address = address_;
  o.port = spot_.port;
  o.max_duration = absl::Seconds(30);
  auto probe = VipProbe::Start(o);
  ASSERT_TRUE(probe.ok()) << probe.status();
  const MonoTime t0 = agent::MonotonicNow();
  auto first = (*probe)->WaitForAnswer(t0, "alpha", absl::Seconds(5));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->from, address_);
  EXPECT_LE(first->sent, first->received);
  // Let it answer for a while: 50 more probes.
  const uint64_t sent = (*probe)->sent();
  ASSERT_TRUE(harness::WaitFor([&] { return (*probe)->sent() >= sent + 50; }, absl::Seconds(5)));

  // The server stops cleanly on SIGTERM and removes its pid file.
  ASSERT_TRUE(alpha.Kill(SIGTERM).ok());
  auto exit = alpha.Wait(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok()) << exit->ToString();
  EXPECT_FALSE(std::filesystem::exists(dir_.File("alpha.pid")));
  const MonoTime down = agent::MonotonicNow();
  // 25 probes (about 50 ms) go unanswered.
  const uint64_t at_down = (*probe)->sent();
  ASSERT_TRUE(
      harness::WaitFor([&] { return (*probe)->sent() >= at_down + 25; }, absl::Seconds(5)));
  const MonoTime up = agent::MonotonicNow();
  Process beta = StartServer("beta");
  auto from_beta = (*probe)->WaitForAnswer(up, "beta", absl::Seconds(5));
  ASSERT_TRUE(from_beta.has_value());
  const MonoTime end = agent::MonotonicNow();
  (*probe)->Stop();
  EXPECT_FALSE((*probe)->running());
  EXPECT_TRUE((*probe)->status().ok()) << (*probe)->status();

  std::vector<ProbeAnswer> answers = (*probe)->Answers();
  EXPECT_EQ(NodesAnswering(answers, t0, down), std::set<std::string>{"alpha"});
  EXPECT_EQ(NodesAnswering(answers, down, up), std::set<std::string>{});
  EXPECT_EQ(NodesAnswering(answers, up, end), std::set<std::string>{"beta"});
  EXPECT_GE(LongestGap(answers, first->received, end), up - down);
  // While alpha served, answers came at the probing pace (2 ms), with room
  // for a busy machine.
  EXPECT_LT(LongestGap(answers, first->received, down - absl::Milliseconds(5)),
            absl::Milliseconds(100));
  for (size_t i = 1; i < answers.size(); ++i) {
    ASSERT_LE(answers[i - 1].received, answers[i].received);
  }
}

TEST_F(ProbeServerTest, ProbeStopsAtItsBounds) {
  Process alpha = StartServer("alpha");
  VipProbeOptions o;
  o.address = address_;
  o.port = spot_.port;
  o.max_probes = 10;
  auto probe = VipProbe::Start(o);
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_TRUE(harness::WaitFor([&] { return !(*probe)->running(); }, absl::Seconds(5)));
  EXPECT_EQ((*probe)->sent(), 10u);

  o.max_probes = 1000000;
  o.max_duration = absl::Milliseconds(100);
  auto timed = VipProbe::Start(o);
  ASSERT_TRUE(timed.ok()) << timed.status();
  ASSERT_TRUE(harness::WaitFor([&] { return !(*timed)->running(); }, absl::Seconds(5)));
  EXPECT_GT((*timed)->sent(), 5u);
  EXPECT_LT((*timed)->sent(), 200u);
}

TEST(ProbeServerUsageTest, RefusesAMissingNameAndABadAddress) {
  const std::string server = absl::StrCat(getenv("TEST_SRCDIR"), "/", getenv("TEST_WORKSPACE"),
                                          "/tests/cluster/probe_server");
  auto no_name = harness::RunProcess({server, "--port", "9"});
  ASSERT_TRUE(no_name.ok()) << no_name.status();
  EXPECT_EQ(no_name->status.code, 2) << no_name->output;
  auto bad_bind = harness::RunProcess({server, "--port", "9", "--name", "x", "--bind", "nowhere"});
  ASSERT_TRUE(bad_bind.ok()) << bad_bind.status();
  EXPECT_EQ(bad_bind->status.code, 2) << bad_bind->output;
  EXPECT_NE(bad_bind->output.find("nowhere"), std::string::npos) << bad_bind->output;
}

TEST(VipHolderSamplerTest, CountsRoundsWithTwoHolders) {
  // Two "hosts" that are both this namespace: 127.0.0.1 is on both.
  VipSamplerOptions o;
  o.hosts = {{"a", ""}, {"b", ""}};
  o.address = "127.0.0.1";
  auto sampler = VipHolderSampler::Start(o);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  ASSERT_TRUE((*sampler)->WaitForRoundAfter(agent::MonotonicNow(), absl::Seconds(5)));
  ASSERT_TRUE(harness::WaitFor([&] { return (*sampler)->rounds() >= 3; }, absl::Seconds(5)));
  (*sampler)->Stop();
  EXPECT_TRUE((*sampler)->status().ok()) << (*sampler)->status();
  ASSERT_GT((*sampler)->rounds(), 1u);
  // The first round alone proves nothing ("b" was listed after "a"); from
  // the second on, each listing of one falls between two of the other.
  EXPECT_EQ((*sampler)->ambiguous_rounds(), 1u);
  EXPECT_EQ((*sampler)->overlap_rounds(), (*sampler)->rounds() - 1);
  ASSERT_FALSE((*sampler)->Overlaps().empty());
  EXPECT_EQ((*sampler)->Overlaps()[0].holders, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ((*sampler)->Holders(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE((*sampler)->LastSeenHolding("a").has_value());
  EXPECT_TRUE((*sampler)->SeenHolding("b", absl::ZeroDuration(), agent::MonotonicNow()));
  // One change per host: the first round's.
  EXPECT_EQ((*sampler)->Changes().size(), 2u);
}

TEST(VipHolderSamplerTest, AnAddressOnNoInterfaceHasNoHolder) {
  // 127.255.255.254 is routed to lo but not assigned to it.
  auto present = AddressPresentIn("", "127.255.255.254");
  ASSERT_TRUE(present.ok()) << present.status();
  EXPECT_FALSE(*present);
  auto lo = AddressPresentIn("", "127.0.0.1");
  ASSERT_TRUE(lo.ok()) << lo.status();
  EXPECT_TRUE(*lo);

  VipSamplerOptions o;
  o.hosts = {{"a", ""}};
  o.address = "127.255.255.254";
  o.max_rounds = 20;
  auto sampler = VipHolderSampler::Start(o);
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  ASSERT_TRUE(harness::WaitFor([&] { return !(*sampler)->running(); }, absl::Seconds(5)));
  EXPECT_EQ((*sampler)->rounds(), 20u);
  EXPECT_EQ((*sampler)->overlap_rounds(), 0u);
  EXPECT_TRUE((*sampler)->Holders().empty());
  EXPECT_FALSE((*sampler)->LastSeenHolding("a").has_value());
  EXPECT_FALSE((*sampler)->SeenHolding("a", absl::ZeroDuration(), agent::MonotonicNow()));
}

TEST(VipHolderSamplerTest, RefusesABadAddressOrNoHosts) {
  VipSamplerOptions o;
  o.address = "127.0.0.1";
  EXPECT_EQ(VipHolderSampler::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.hosts = {{"a", ""}};
  o.address = "192.0.2.50/24";
  EXPECT_EQ(VipHolderSampler::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hacluster::testing
