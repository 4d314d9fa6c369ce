#include "agent/node/status_publisher.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/core/clock.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

v1::Event Ev(v1::EventKind kind, bool ok = false) {
  v1::Event e;
  e.set_kind(kind);
  e.set_ok(ok);
  return e;
}

TEST(StatusPublisherTest, DeathsRefusalsAndLateHeartbeatsAreWarnings) {
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_NODE_DEAD)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_HEARTBEAT_LATE)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_CONFIG_REJECTED)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_AUTH_FAILURE)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_QUORUM_LOST)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_NODE_UP)), LogLevel::kInfo);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_CONFIG_RELOADED)), LogLevel::kInfo);
}

TEST(StatusPublisherTest, GroupFailuresAreErrorsAndFailedOperationsWarnings) {
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_GROUP_FAILED)), LogLevel::kError);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_STOP_FAILED)), LogLevel::kError);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_SPLIT_BRAIN)), LogLevel::kError);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_FENCING, false)), LogLevel::kError);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_FENCING, true)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_RESOURCE_OP, false)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_RESOURCE_OP, true)), LogLevel::kInfo);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_API_CALL, false)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_API_CALL, true)), LogLevel::kInfo);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_CONFIG_DRIFT, false)), LogLevel::kWarning);
  EXPECT_EQ(LevelOf(Ev(v1::EVENT_KIND_CONFIG_DRIFT, true)), LogLevel::kInfo);
}

TEST(StatusPublisherTest, SpecFactsFillEachNodeAndTheLocalVersion) {
  spec::v1::ClusterSpec spec;
  spec.set_config_version(7);
  auto* a = spec.add_nodes();
  a->set_name("node01");
  a->add_addresses("192.0.2.1");
  (*a->mutable_labels())["role"] = "billing";
  auto* b = spec.add_nodes();
  b->set_name("node02");
  b->add_addresses("192.0.2.2");
  v1::GetStatusResponse st;
  auto* n1 = st.add_nodes();
  n1->set_name("node01");
  n1->set_local(true);
  auto* n2 = st.add_nodes();
  n2->set_name("node02");
  n2->set_config_version(6);  // as its heartbeats said
  AddSpecFacts(spec, &st);
  EXPECT_EQ(st.nodes(0).config_version(), 7u);
  ASSERT_EQ(st.nodes(0).addresses_size(), 1);
  EXPECT_EQ(st.nodes(0).addresses(0), "192.0.2.1");
  EXPECT_EQ(st.nodes(0).labels().at("role"), "billing");
  EXPECT_EQ(st.nodes(1).config_version(), 6u);
  EXPECT_EQ(st.nodes(1).addresses(0), "192.0.2.2");
}

TEST(StatusPublisherTest, EventsAreStampedLoggedAndPublishedInOrder) {
  char dir[] = "/tmp/hac-publisher-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  LogOptions o;
  o.to_stderr = false;
  o.file = std::string(dir) + "/log";
  auto logger = Logger::Create(o);
  ASSERT_TRUE(logger.ok()) << logger.status();
  EventHub hub;
  StatusPublisher publisher(**logger, hub);
  publisher.set_generation(42);
  const MonoTime at = MonotonicNow();
  std::vector<v1::Event> events(2);
  events[0].set_kind(v1::EVENT_KIND_NODE_DEAD);
  events[0].set_reason("node02 is dead");
  events[0].set_monotonic_ns(absl::ToInt64Nanoseconds(at));
  events[1].set_kind(v1::EVENT_KIND_NODE_UP);
  events[1].set_reason("node03 is up");
  events[1].set_monotonic_ns(absl::ToInt64Nanoseconds(at));
  publisher.Emit(&events);
  EXPECT_TRUE(events.empty());

  uint64_t cursor = 0;
  std::vector<v1::Event> out;
  hub.Next(&cursor, absl::ZeroDuration(), &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].reason(), "node02 is dead");
  EXPECT_EQ(out[1].reason(), "node03 is up");
  EXPECT_EQ(out[0].local_generation(), 42u);
  // The wall time of `at`, within a second of now.
  EXPECT_NEAR(static_cast<double>(out[0].time().seconds()), absl::ToUnixSeconds(absl::Now()), 1);

  logger->reset();
  std::ifstream in(o.file);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove_all(dir);
  const std::string log = text.str();
  const size_t dead = log.find("node02 is dead");
  const size_t up = log.find("node03 is up");
  ASSERT_NE(dead, std::string::npos) << log;
  ASSERT_NE(up, std::string::npos) << log;
  EXPECT_LT(dead, up);
}

TEST(StatusPublisherTest, SourceAddressDropsThePort) {
  EXPECT_EQ(SourceAddress("192.0.2.12:694"), "192.0.2.12");
  EXPECT_EQ(SourceAddress("[2001:db8::1]:694"), "2001:db8::1");
  EXPECT_EQ(SourceAddress("ttyS0"), "ttyS0");
}

TEST(StatusPublisherTest, CountersGoIntoThePublishedStatus) {
  LogOptions o;
  o.to_stderr = false;
  auto logger = Logger::Create(o);
  ASSERT_TRUE(logger.ok()) << logger.status();
  EventHub hub;
  StatusPublisher publisher(**logger, hub);
  std::vector<v1::Event> events(3);
  events[0].set_kind(v1::EVENT_KIND_HEARTBEAT_LATE);
  events[1].set_kind(v1::EVENT_KIND_HEARTBEAT_LATE);
  events[2].set_kind(v1::EVENT_KIND_NODE_DEAD);
  publisher.Emit(&events);
  publisher.CountRefusedPacket("192.0.2.99:694");
  publisher.CountRefusedPacket("192.0.2.99:40000");
  publisher.CountRefusedPacket("198.51.100.7:694");
  for (int i = 0; i < 100; ++i) {
    publisher.CountRefusedPacket(absl::StrCat("203.0.113.", i, ":694"));
  }
  v1::GetStatusResponse st;
  st.mutable_counters()->set_failovers(3);  // the group controller's part
  publisher.Publish(spec::v1::ClusterSpec(), st, MonotonicNow());
  const v1::AgentCounters& c = hub.Snapshot()->counters();
  EXPECT_EQ(c.failovers(), 3u);
  EXPECT_EQ(c.late_heartbeats(), 2u);
  EXPECT_EQ(c.node_deaths(), 1u);
  EXPECT_EQ(c.auth_failures_by_source().at("192.0.2.99"), 2u);
  EXPECT_EQ(c.auth_failures_by_source().at("198.51.100.7"), 1u);
  EXPECT_EQ(static_cast<size_t>(c.auth_failures_by_source().size()),
            StatusPublisher::kMaxSources);
  uint64_t total = 0;
  for (const auto& [source, n] : c.auth_failures_by_source()) total += n;
  EXPECT_EQ(total, 103u);
  EXPECT_GT(c.auth_failures_by_source().at("other"), 0u);
}

}  // namespace
}  // namespace hacluster::agent
