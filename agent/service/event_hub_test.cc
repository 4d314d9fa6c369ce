#include "agent/service/event_hub.h"

#include <thread>

#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

using google::protobuf::util::TimeUtil;

v1::Event MakeEvent(const std::string& node) {
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_NODE_UP);
  e.set_node(node);
  return e;
}

TEST(EventHubTest, IdsIncreaseFromOne) {
  EventHub hub;
  EXPECT_EQ(hub.LastId(), 0u);
  EXPECT_EQ(hub.Emit(MakeEvent("a")), 1u);
  EXPECT_EQ(hub.Emit(MakeEvent("b")), 2u);
  EXPECT_EQ(hub.LastId(), 2u);
}

TEST(EventHubTest, NextResumesAfterTheCursor) {
  EventHub hub;
  for (const char* n : {"a", "b", "c"}) hub.Emit(MakeEvent(n));
  uint64_t cursor = 1;
  std::vector<v1::Event> out;
  ASSERT_EQ(hub.Next(&cursor, absl::ZeroDuration(), &out), EventHub::WaitResult::kEvents);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].node(), "b");
  EXPECT_EQ(out[0].id(), 2u);
  EXPECT_EQ(out[1].id(), 3u);
  EXPECT_EQ(cursor, 3u);
  out.clear();
  EXPECT_EQ(hub.Next(&cursor, absl::ZeroDuration(), &out), EventHub::WaitResult::kTimeout);
  EXPECT_TRUE(out.empty());
}

TEST(EventHubTest, HistoryIsBoundedAndOldCursorsSkipToTheOldestHeld) {
  EventHub hub(3);
  for (int i = 0; i < 10; ++i) hub.Emit(MakeEvent("n" + std::to_string(i)));
  uint64_t cursor = 0;
  std::vector<v1::Event> out;
  ASSERT_EQ(hub.Next(&cursor, absl::ZeroDuration(), &out), EventHub::WaitResult::kEvents);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id(), 8u);
  EXPECT_EQ(out[2].id(), 10u);
}

TEST(EventHubTest, MaxLimitsOneBatch) {
  EventHub hub;
  for (int i = 0; i < 5; ++i) hub.Emit(MakeEvent("x"));
  uint64_t cursor = 0;
  std::vector<v1::Event> out;
  hub.Next(&cursor, absl::ZeroDuration(), &out, 2);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(cursor, 2u);
}

TEST(EventHubTest, WatcherWakesOnEmitFromAnotherThread) {
  EventHub hub;
  uint64_t cursor = 0;
  std::vector<v1::Event> out;
  std::thread emitter([&] { hub.Emit(MakeEvent("late")); });
  // Bounded: the emit happens at once; 10 s is only a guard.
  EventHub::WaitResult r = hub.Next(&cursor, absl::Seconds(10), &out);
  emitter.join();
  EXPECT_EQ(r, EventHub::WaitResult::kEvents);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].node(), "late");
}

TEST(EventHubTest, CloseEndsWatchesAfterTheFeedIsDrained) {
  EventHub hub;
  hub.Emit(MakeEvent("a"));
  hub.Close();
  uint64_t cursor = 0;
  std::vector<v1::Event> out;
  EXPECT_EQ(hub.Next(&cursor, absl::Seconds(10), &out), EventHub::WaitResult::kEvents);
  EXPECT_EQ(hub.Next(&cursor, absl::Seconds(10), &out), EventHub::WaitResult::kClosed);
}

TEST(EventHubTest, StatusAgesSinceLastHeardByTheTimePassed) {
  EventHub hub;
  v1::GetStatusResponse s;
  auto* node = s.add_nodes();
  node->set_name("node02");
  *node->mutable_since_last_heard() = TimeUtil::MillisecondsToDuration(200);
  auto* link = node->add_links();
  *link->mutable_since_last_heard() = TimeUtil::MillisecondsToDuration(300);
  node = s.add_nodes();
  node->set_name("never-heard");
  hub.PublishStatus(s, absl::Seconds(100));
  v1::GetStatusResponse got = hub.Status(absl::Seconds(100) + absl::Milliseconds(50));
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(got.nodes(0).since_last_heard()), 250);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(got.nodes(0).links(0).since_last_heard()), 350);
  EXPECT_FALSE(got.nodes(1).has_since_last_heard());
}

}  // namespace
}  // namespace hacluster::agent
