#include "agent/service/operations.h"

#include <poll.h>

#include <thread>

#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

TEST(OperationsTest, SubmitWakesTheLoopAndTakeDrainsInOrder) {
  Operations ops;
  ASSERT_GE(ops.fd(), 0);
  EXPECT_FALSE(Readable(ops.fd()));
  OperationRequest a;
  a.kind = OperationRequest::Kind::kTakeover;
  auto id1 = ops.Submit(a);
  auto id2 = ops.Submit(a);
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_EQ(*id2, *id1 + 1);
  EXPECT_TRUE(Readable(ops.fd()));
  std::vector<OperationRequest> got = ops.Take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, *id1);
  EXPECT_EQ(got[1].id, *id2);
  EXPECT_FALSE(Readable(ops.fd()));
  EXPECT_TRUE(ops.Take().empty());
}

TEST(OperationsTest, WaitReturnsTheFinalAnswerOrTimesOut) {
  Operations ops;
  auto id = ops.Submit({});
  ASSERT_TRUE(id.ok());
  auto pending = ops.Wait(*id, absl::ZeroDuration());
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->state(), v1::OPERATION_STATE_PENDING);
  auto timed_out = ops.Wait(*id, absl::Milliseconds(20));
  EXPECT_EQ(timed_out->state(), v1::OPERATION_STATE_TIMED_OUT);
  std::thread loop([&] {
    v1::OperationResponse r;
    r.set_state(v1::OPERATION_STATE_PENDING);
    r.set_message("moving web");
    ops.Update(*id, r);
    r.set_state(v1::OPERATION_STATE_DONE);
    r.set_message("done");
    ops.Update(*id, r);
  });
  auto done = ops.Wait(*id, absl::Seconds(10));
  loop.join();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state(), v1::OPERATION_STATE_DONE);
  EXPECT_EQ(done->operation_id(), *id);
  EXPECT_FALSE(ops.Wait(*id + 1, absl::ZeroDuration()).has_value());
}

TEST(OperationsTest, CloseRefusesNewRequestsAndReleasesWaiters) {
  Operations ops;
  auto id = ops.Submit({});
  std::thread closer([&] { ops.Close(); });
  auto r = ops.Wait(*id, absl::Seconds(10));
  closer.join();
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->state(), v1::OPERATION_STATE_DONE);
  EXPECT_FALSE(ops.Submit({}).ok());
}

TEST(OperationsTest, OnlyTheNewestFinishedAnswersAreKept) {
  Operations ops;
  auto first = ops.Submit({});
  v1::OperationResponse done;
  done.set_state(v1::OPERATION_STATE_DONE);
  ops.Update(*first, done);
  for (int i = 0; i < 256; ++i) {
    auto id = ops.Submit({});
    ops.Update(*id, done);
  }
  EXPECT_FALSE(ops.Wait(*first, absl::ZeroDuration()).has_value());
}

}  // namespace
}  // namespace hacluster::agent
