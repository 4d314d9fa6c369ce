// Checks that the per-packet path of Membership does not touch the heap:
// the agent runs at keepalive 5 ms and must stay cheap. The global operator
// new is replaced by one that counts while counting is on.
#include <cstdlib>
#include <new>
#include <vector>

#include "absl/time/time.h"
#include "agent/membership/membership.h"
#include "gtest/gtest.h"

namespace {
bool counting = false;
long allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (size == 0) size = 1;
  if (void* p = std::malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace hacluster::agent {
namespace {

class MembershipAllocTest : public ::testing::Test {
 protected:
  MembershipAllocTest() : m_(Config(), 3, absl::Seconds(1000)) {
    hb_.set_cluster_name("production-cluster");
    hb_.set_node("node02.example.org");  // longer than the small-string buffer
    hb_.set_generation(4);
    hb_.set_config_version(9);
    hb_.set_connectivity_score(2);
    for (const char* name : {"web-frontend-group", "database-group"}) {
      auto* g = hb_.add_groups();
      g->set_name(name);
      g->set_phase(wire::v1::GroupClaim::PHASE_HELD);
    }
    events_.reserve(16);
  }
  static MembershipConfig Config() {
    MembershipConfig c;
    c.local_node = "node01.example.org";
    c.nodes = {"node01.example.org", "node02.example.org"};
    c.links = {"eth0", "eth1"};
    c.keepalive = absl::Milliseconds(5);
    c.warntime = absl::Milliseconds(20);
    c.deadtime = absl::Milliseconds(50);
    c.initdead = absl::Milliseconds(100);
    return c;
  }
  // One heartbeat on both links, 5 ms after the previous one.
  void Beat() {
    now_ += absl::Milliseconds(5);
    hb_.set_seq(++seq_);
    m_.OnHeartbeat(hb_, 0, now_, &events_);
    m_.OnHeartbeat(hb_, 1, now_, &events_);
    m_.Tick(now_, &events_);
    (void)m_.NextDeadline();
  }

  Membership m_;
  wire::v1::Heartbeat hb_;
  std::vector<agent::v1::Event> events_;
  MonoTime now_ = absl::Seconds(1000);
  uint64_t seq_ = 0;
};

TEST_F(MembershipAllocTest, SteadyHeartbeatsOnUpLinksDoNotAllocate) {
  for (int i = 0; i < 10; ++i) Beat();  // node and links come up
  ASSERT_EQ(events_.size(), 3u);        // NODE_UP, LINK_UP x2
  events_.clear();

  allocations = 0;
  counting = true;
  for (int i = 0; i < 1000; ++i) Beat();
  counting = false;
  EXPECT_EQ(allocations, 0);
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(m_.LastHeartbeat("node02.example.org")->seq(), seq_);
}

TEST_F(MembershipAllocTest, CounterSeesTheAllocationsOfAnEvent) {
  for (int i = 0; i < 10; ++i) Beat();
  events_.clear();
  allocations = 0;
  counting = true;
  now_ += absl::Milliseconds(30);  // late: builds a reason
  Beat();
  counting = false;
  EXPECT_EQ(events_.size(), 2u);  // late on both links
  EXPECT_GT(allocations, 0);
}

}  // namespace
}  // namespace hacluster::agent
