// api_bench: how much API traffic an agent answers, and whether answering
// it costs the heartbeat anything. Two real agents on loopback at keepalive
// 5 ms / deadtime 20 ms / warntime 10 ms, node01 serving its API over
// mutual TLS on its own address; 16 client threads, each with a channel
// (connection) of its own, call Where("svc") back to back for a fixed time,
// first over mTLS (reader certificate), then over node01's Unix socket.
// Prints requests per second, p50 and p99 latency per transport, and the
// late heartbeats (HEARTBEAT_LATE) and false deaths (NODE_DEAD) both agents
// reported during the run. It asserts nothing (the figures go to the
// README); the targets are printed beside them.
//
//   api_bench [--short] [--seconds N] [--clients N]
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "proto/agent.grpc.pb.h"
#include "tests/cluster/api_cluster.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;

struct Load {
  double seconds = 0;
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::vector<double> latency_ms;
  std::string first_error;
};

// `clients` threads, each with its own stub from `make`, call Where("svc")
// until `run` has passed.
template <typename MakeStub>
Load RunLoad(int clients, absl::Duration run, MakeStub make) {
  std::vector<std::unique_ptr<v1::Agent::Stub>> stubs;
  for (int i = 0; i < clients; ++i) stubs.push_back(make());
  // Connect every channel before the clock starts.
  for (auto& stub : stubs) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::WhereResponse r;
    v1::WhereRequest req;
    req.set_target("svc");
    (void)stub->Where(&ctx, req, &r);
  }
  std::vector<Load> per(clients);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const int64_t start = MonotonicNs();
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      v1::WhereRequest req;
      req.set_target("svc");
      Load& l = per[i];
      l.latency_ms.reserve(200000);
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        v1::WhereResponse r;
        const int64_t t0 = MonotonicNs();
        grpc::Status s = stubs[i]->Where(&ctx, req, &r);
        const int64_t t1 = MonotonicNs();
        if (s.ok() && r.holder() == "node01") {
          ++l.ok;
          l.latency_ms.push_back((t1 - t0) / 1e6);
        } else {
          ++l.errors;
          if (l.first_error.empty()) l.first_error = s.ok() ? "holder " + r.holder() : s.error_message();
        }
      }
    });
  }
  harness::WaitFor([] { return false; }, run, absl::Milliseconds(50));
  stop = true;
  for (auto& t : threads) t.join();
  Load all;
  all.seconds = (MonotonicNs() - start) / 1e9;
  for (Load& l : per) {
    all.ok += l.ok;
    all.errors += l.errors;
    all.latency_ms.insert(all.latency_ms.end(), l.latency_ms.begin(), l.latency_ms.end());
    if (all.first_error.empty()) all.first_error = l.first_error;
  }
  return all;
}

void Print(const char* transport, int clients, const Load& l) {
  printf("where over %-12s %2d clients %5.1f s: %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms  "
         "errors %llu%s%s  (targets: >= 20000 req/s, p99 <= 5 ms)\n",
         transport, clients, l.seconds, l.ok / l.seconds, Percentile(l.latency_ms, 50),
         Percentile(l.latency_ms, 99), static_cast<unsigned long long>(l.errors),
         l.first_error.empty() ? "" : ", first: ", l.first_error.c_str());
}

int Main(int argc, char** argv) {
  double seconds = 10;
  int clients = 16;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--short") == 0) {
      seconds = 2;
    } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      if (!absl::SimpleAtod(argv[++i], &seconds) || seconds <= 0) return 2;
    } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &clients) || clients <= 0 || clients > 256) return 2;
    } else {
      fprintf(stderr, "usage: api_bench [--short] [--seconds N] [--clients N]\n");
      return 2;
    }
  }
  ApiCluster cluster;
  absl::Status s = cluster.Start(ApiClusterOptions{});
  if (!s.ok()) {
    fprintf(stderr, "api_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  EventRecorder r1(cluster.Socket("node01")), r2(cluster.Socket("node02"));
  harness::WaitFor([&] { return r1.connected() && r2.connected(); }, absl::Seconds(5));
  // Late heartbeats and deaths each agent reported in a phase.
  auto tally = [&](const char* phase, size_t from1, size_t from2) {
    for (auto [name, rec, base] : {std::make_tuple("node01", &r1, from1),
                                   std::make_tuple("node02", &r2, from2)}) {
      int late = 0, deaths = 0;
      std::vector<v1::Event> ev = rec->Events();
      for (size_t i = base; i < ev.size(); ++i) {
        if (ev[i].kind() == v1::EVENT_KIND_HEARTBEAT_LATE) ++late;
        if (ev[i].kind() == v1::EVENT_KIND_NODE_DEAD) ++deaths;
      }
      printf("  %s: %s reported %d late heartbeats, %d deaths\n", phase, name, late, deaths);
    }
  };
  const size_t base1 = r1.Events().size(), base2 = r2.Events().size();
  printf("api_bench: 2 agents on loopback, keepalive 5 ms, deadtime 20 ms, warntime 10 ms; "
         "Where(\"svc\") against node01, %d clients, %.0f s per transport\n",
         clients, seconds);
  const absl::Duration run = absl::Seconds(seconds);
  Load tls = RunLoad(clients, run, [&] { return cluster.TlsStub("node01", "reader"); });
  Print("mTLS", clients, tls);
  tally("mTLS phase", base1, base2);
  const size_t mid1 = r1.Events().size(), mid2 = r2.Events().size();
  Load unix_socket = RunLoad(clients, run, [&] { return cluster.UnixStub("node01"); });
  Print("unix socket", clients, unix_socket);
  tally("unix phase", mid1, mid2);
  int late = 0, deaths = 0;
  for (auto [rec, base] : {std::make_pair(&r1, base1), std::make_pair(&r2, base2)}) {
    std::vector<v1::Event> ev = rec->Events();
    for (size_t i = base; i < ev.size(); ++i) {
      if (ev[i].kind() == v1::EVENT_KIND_HEARTBEAT_LATE) ++late;
      if (ev[i].kind() == v1::EVENT_KIND_NODE_DEAD) ++deaths;
    }
  }
  printf("during the run: %d late heartbeats, %d false deaths (targets: 0 and 0)\n", late, deaths);
  return tls.ok > 0 && unix_socket.ok > 0 ? 0 : 1;
}

}  // namespace
}  // namespace hacluster::testing

int main(int argc, char** argv) { return hacluster::testing::Main(argc, argv); }
