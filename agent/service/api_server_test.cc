#include "agent/service/api_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

// Bazel's TEST_TMPDIR is too long for a Unix socket path (108 bytes):
// sockets go to a short directory of their own under /tmp, removed at exit.
const std::string& ShortDir() {
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/hac-api-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) abort();
    std::string* d = new std::string(tmpl);
    atexit([] { std::filesystem::remove_all(ShortDir()); });
    return d;
  }();
  return *dir;
}

std::string TmpPath(const std::string& name) { return ShortDir() + "/" + name; }

std::unique_ptr<v1::Agent::Stub> Connect(const std::string& path) {
  return v1::Agent::NewStub(
      grpc::CreateChannel("unix:" + path, grpc::InsecureChannelCredentials()));
}

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

TEST(ApiServerTest, GetStatusAnswersThePublishedSnapshot) {
  EventHub hub;
  Operations ops;
  v1::GetStatusResponse s;
  s.set_cluster_name("billing");
  s.set_local_node("node01");
  s.add_nodes()->set_name("node01");
  hub.PublishStatus(s, MonotonicNow());
  std::string path = TmpPath("status.sock");
  auto api = ApiServer::Start(path, hub, ops);
  ASSERT_TRUE(api.ok()) << api.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  v1::GetStatusResponse got;
  grpc::Status rpc = Connect(path)->GetStatus(&ctx, v1::GetStatusRequest(), &got);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  EXPECT_EQ(got.cluster_name(), "billing");
  ASSERT_EQ(got.nodes_size(), 1);
  EXPECT_EQ(got.nodes(0).name(), "node01");
}

TEST(ApiServerTest, WatchEventsStreamsHistoryThenLiveEventsAndResumes) {
  EventHub hub;
  Operations ops;
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_AGENT_STARTED);
  hub.Emit(e);
  std::string path = TmpPath("watch.sock");
  auto api = ApiServer::Start(path, hub, ops);
  ASSERT_TRUE(api.ok()) << api.status();
  auto stub = Connect(path);

  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  v1::WatchEventsRequest req;
  auto reader = stub->WatchEvents(&ctx, req);
  v1::Event got;
  ASSERT_TRUE(reader->Read(&got));
  EXPECT_EQ(got.id(), 1u);
  EXPECT_EQ(got.kind(), v1::EVENT_KIND_AGENT_STARTED);
  e.set_kind(v1::EVENT_KIND_NODE_DEAD);
  e.set_node("node02");
  hub.Emit(e);
  ASSERT_TRUE(reader->Read(&got));
  EXPECT_EQ(got.id(), 2u);
  EXPECT_EQ(got.node(), "node02");
  ctx.TryCancel();

  // Resume after id 1: only the second event.
  grpc::ClientContext ctx2;
  ctx2.set_deadline(In(10));
  req.set_after_id(1);
  auto resumed = stub->WatchEvents(&ctx2, req);
  ASSERT_TRUE(resumed->Read(&got));
  EXPECT_EQ(got.id(), 2u);
  ctx2.TryCancel();
}

TEST(ApiServerTest, OnlyNewSkipsHistoryAndShutdownEndsTheStream) {
  EventHub hub;
  Operations ops;
  v1::Event e;
  e.set_kind(v1::EVENT_KIND_AGENT_STARTED);
  hub.Emit(e);
  std::string path = TmpPath("onlynew.sock");
  auto api = ApiServer::Start(path, hub, ops);
  ASSERT_TRUE(api.ok()) << api.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  v1::WatchEventsRequest req;
  req.set_only_new(true);
  auto reader = Connect(path)->WatchEvents(&ctx, req);
  // The call is only known to be registered once it answers; emit until the
  // first event reaches it (bounded by the deadline above).
  // An event emitted before the handler took its cursor is history and is
  // rightly skipped, so the emitter keeps going until one arrives.
  std::atomic<bool> received{false};
  std::thread emitter([&] {
    v1::Event live;
    live.set_kind(v1::EVENT_KIND_LINK_UP);
    for (int i = 0; i < 1000 && !received.load(); ++i) {
      hub.Emit(live);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  v1::Event got;
  bool read = reader->Read(&got);
  received = true;
  emitter.join();
  ASSERT_TRUE(read);
  EXPECT_EQ(got.kind(), v1::EVENT_KIND_LINK_UP) << "the history event was skipped";
  EXPECT_GE(got.id(), 2u);
  (*api)->Shutdown();
  EXPECT_FALSE(reader->Read(&got));
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0) << "socket removed on shutdown";
}

TEST(ApiServerTest, StandbyWaitsForTheLoopsAnswerAndNoWaitReturnsTheId) {
  EventHub hub;
  Operations ops;
  std::string path = TmpPath("ops.sock");
  auto api = ApiServer::Start(path, hub, ops);
  ASSERT_TRUE(api.ok()) << api.status();
  // The loop's side: answers every request DONE, naming what it got.
  std::atomic<bool> stop{false};
  std::vector<OperationRequest> seen;
  std::mutex seen_mu;
  std::thread loop([&] {
    for (int i = 0; i < 2000 && !stop.load(); ++i) {
      for (OperationRequest& r : ops.Take()) {
        {
          std::lock_guard<std::mutex> lock(seen_mu);
          seen.push_back(r);
        }
        if (r.kind == OperationRequest::Kind::kMove) continue;  // left pending
        v1::OperationResponse done;
        done.set_state(v1::OPERATION_STATE_DONE);
        done.set_message("done: web on node02");
        ops.Update(r.id, done);
      }
      // Wake on the next submission (bounded, so `stop` is seen).
      pollfd p{ops.fd(), POLLIN, 0};
      poll(&p, 1, 5);
    }
  });
  auto stub = Connect(path);
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::StandbyRequest req;
    req.set_scope(v1::STANDBY_SCOPE_FOREIGN);
    v1::OperationResponse resp;
    ASSERT_TRUE(stub->Standby(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.state(), v1::OPERATION_STATE_DONE);
    EXPECT_EQ(resp.message(), "done: web on node02");
    EXPECT_GT(resp.operation_id(), 0u);
  }
  uint64_t move_id = 0;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::MoveRequest req;
    req.set_group("web");
    req.set_node("node02");
    req.set_no_wait(true);
    v1::OperationResponse resp;
    ASSERT_TRUE(stub->Move(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.state(), v1::OPERATION_STATE_PENDING);
    move_id = resp.operation_id();
  }
  {
    // Waiting on a pending operation ends with TIMED_OUT, and the move
    // goes on.
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::GetOperationRequest req;
    req.set_operation_id(move_id);
    req.mutable_timeout()->set_nanos(50000000);
    v1::OperationResponse resp;
    ASSERT_TRUE(stub->GetOperation(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.state(), v1::OPERATION_STATE_TIMED_OUT);
    EXPECT_TRUE(absl::StrContains(resp.message(), "timed out after 50ms")) << resp.message();
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::GetOperationRequest req;
    req.set_operation_id(9999);
    v1::OperationResponse resp;
    EXPECT_EQ(stub->GetOperation(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  stop = true;
  loop.join();
  std::lock_guard<std::mutex> lock(seen_mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind, OperationRequest::Kind::kStandby);
  EXPECT_EQ(seen[0].scope, v1::STANDBY_SCOPE_FOREIGN);
  EXPECT_EQ(seen[1].group, "web");
  EXPECT_EQ(seen[1].node, "node02");
}

TEST(ApiServerTest, WhereAnswersFromTheSnapshotByGroupOrAddress) {
  EventHub hub;
  Operations ops;
  v1::GetStatusResponse st;
  auto* g = st.add_groups();
  g->set_name("web");
  g->set_holder("node02");
  g->set_state(v1::GROUP_STATE_RUNNING);
  g->add_addresses("192.0.2.50");
  hub.PublishStatus(st, MonotonicNow());
  std::string path = TmpPath("where.sock");
  auto api = ApiServer::Start(path, hub, ops);
  ASSERT_TRUE(api.ok()) << api.status();
  auto stub = Connect(path);
  for (const char* target : {"web", "192.0.2.50"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(In(10));
    v1::WhereRequest req;
    req.set_target(target);
    v1::WhereResponse resp;
    ASSERT_TRUE(stub->Where(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.holder(), "node02");
    EXPECT_EQ(resp.group(), "web");
    EXPECT_EQ(resp.state(), v1::GROUP_STATE_RUNNING);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(In(10));
  v1::WhereRequest req;
  req.set_target("198.51.100.9");
  v1::WhereResponse resp;
  grpc::Status s = stub->Where(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no group or virtual IP 198.51.100.9 in the spec");
}

TEST(ApiServerTest, StaleSocketIsReplacedButAPlainFileIsRefused) {
  EventHub hub;
  Operations ops;
  std::string stale = TmpPath("stale.sock");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, stale.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  auto api = ApiServer::Start(stale, hub, ops);
  EXPECT_TRUE(api.ok()) << api.status();

  std::string plain = TmpPath("plain-file");
  std::ofstream(plain) << "data";
  EventHub hub2;
  Operations ops2;
  auto refused = ApiServer::Start(plain, hub2, ops2);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "is not a socket"));
}

TEST(ApiServerTest, MissingDirectoryIsAnError) {
  EventHub hub;
  Operations ops;
  auto api = ApiServer::Start(TmpPath("no-such-dir/agent.sock"), hub, ops);
  ASSERT_FALSE(api.ok());
  EXPECT_TRUE(absl::StrContains(api.status().message(), "no-such-dir/agent.sock"));
}

}  // namespace
}  // namespace hacluster::agent
