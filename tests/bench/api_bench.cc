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
//   api_bench [--short] [--seconds N] [--clients N] [--client-threads N]
#include <algorithm>
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
#include "absl/synchronization/mutex.h"
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

// One call in flight on its client's connection.
struct Call {
  int client = 0;
  int64_t t0 = 0;
  grpc::ClientContext ctx;
  v1::WhereResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::WhereResponse>> reader;
};

// `clients` clients, each with its own stub (connection) from `make`, call
// Where("svc") back to back until `run` has passed: each has one call in
// flight at a time and starts the next when the answer arrives. They are
// driven from `threads` completion queues (clients spread evenly), as a
// load generator such as wrk drives many connections from a few threads, so
// that the clients' own CPU takes less from the two cores they share with
// the agents than a thread per client would.
template <typename MakeStub>
Load RunLoad(int clients, int threads_wanted, absl::Duration run, MakeStub make) {
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
  const int nthreads = std::max(1, std::min(threads_wanted, clients));
  std::vector<Load> per(nthreads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const int64_t start = MonotonicNs();
  for (int t = 0; t < nthreads; ++t) {
    threads.emplace_back([&, t] {
      grpc::CompletionQueue cq;
      v1::WhereRequest req;
      req.set_target("svc");
      Load& l = per[t];
      l.latency_ms.reserve(400000);
      auto issue = [&](int client) {
        auto* call = new Call;
        call->client = client;
        call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        call->t0 = MonotonicNs();
        call->reader = stubs[client]->PrepareAsyncWhere(&call->ctx, req, &cq);
        call->reader->StartCall();
        call->reader->Finish(&call->response, &call->status, call);
      };
      int in_flight = 0;
      for (int c = t; c < clients; c += nthreads, ++in_flight) issue(c);
      void* tag = nullptr;
      bool ok = false;
      while (in_flight > 0 && cq.Next(&tag, &ok)) {
        std::unique_ptr<Call> call(static_cast<Call*>(tag));
        const int64_t t1 = MonotonicNs();
        --in_flight;
        if (ok && call->status.ok() && call->response.holder() == "node01") {
          ++l.ok;
          l.latency_ms.push_back((t1 - call->t0) / 1e6);
        } else {
          ++l.errors;
          if (l.first_error.empty()) {
            l.first_error = !call->status.ok() ? call->status.error_message()
                                               : "holder " + call->response.holder();
          }
        }
        if (!stop.load(std::memory_order_relaxed)) {
          issue(call->client);
          ++in_flight;
        }
      }
      cq.Shutdown();
      while (cq.Next(&tag, &ok)) delete static_cast<Call*>(tag);
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
  int client_threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--short") == 0) {
      seconds = 2;
    } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      if (!absl::SimpleAtod(argv[++i], &seconds) || seconds <= 0) return 2;
    } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &clients) || clients <= 0 || clients > 256) return 2;
    } else if (strcmp(argv[i], "--client-threads") == 0 && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &client_threads) || client_threads <= 0 ||
          client_threads > 256) {
        return 2;
      }
    } else {
      fprintf(stderr,
              "usage: api_bench [--short] [--seconds N] [--clients N] [--client-threads N]\n");
      return 2;
    }
  }
  // As ha-agent does: no lock-order graph kept on every gRPC lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
         "Where(\"svc\") against node01, %d clients (one call in flight each, driven from "
         "%d threads), %.0f s per transport\n",
         clients, std::min(client_threads, clients), seconds);
  const absl::Duration run = absl::Seconds(seconds);
  Load tls = RunLoad(clients, client_threads, run, [&] { return cluster.TlsStub("node01", "reader"); });
  Print("mTLS", clients, tls);
  tally("mTLS phase", base1, base2);
  const size_t mid1 = r1.Events().size(), mid2 = r2.Events().size();
  Load unix_socket = RunLoad(clients, client_threads, run, [&] { return cluster.UnixStub("node01"); });
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
