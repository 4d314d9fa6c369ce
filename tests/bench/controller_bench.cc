// controller_bench: one ha-controller watching many two-node clusters,
// serving GET /v1/where/{ip} over HTTPS (mutual TLS, keep-alive).
//
//   controller_bench [--short] [--clusters N] [--seconds S] [--connections C]
//
// Everything runs in one network namespace the benchmark makes (NetLab
// host "box"): 2N real ha-agents on loopback addresses 127.1.I.1 and
// 127.1.I.2 (ucast heartbeats on lo, keepalive 1 s, each pair its own UDP
// port, api.listen ":7443" with mutual TLS), each pair with one group whose
// VIP 192.0.2.(10+I) is added on the box's eth0 by its holder; one
// ha-controller with --spec a directory of the N specs, listening on
// 192.0.2.2:8443; and the load client (this program again, --client mode):
// C keep-alive HTTPS connections with a reader certificate, each asking
// one request at a time, round-robin over the N VIPs, for S seconds. Every
// answer is checked (200, the right cluster, holder node01).
//
// Prints requests per second, median and p99 latency, and the settings.
// Targets: at least 5,000 req/s and p99 at most 10 ms with N = 50.
// --short (what the test suite runs): N = 4, S = 2.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/netlab.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

struct Settings {
  int clusters = 50;
  int seconds = 10;
  int connections = 8;
  bool short_mode = false;
};

std::string Vip(int i) { return absl::StrCat("192.0.2.", 10 + i); }
std::string Address(int i, int node) { return absl::StrCat("127.1.", i, ".", node); }
constexpr char kController[] = "192.0.2.2";
constexpr int kHttpsPort = 8443;

// --client: waits until every VIP is held, then loads the controller.
int RunClient(const Settings& s, const std::string& certs) {
  auto make_client = [&] {
    auto c = std::make_unique<httplib::SSLClient>(kController, kHttpsPort, certs + "/reader.crt",
                                                  certs + "/reader.key");
    c->set_ca_cert_path((certs + "/ca.crt").c_str());
    c->enable_server_certificate_verification(true);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->set_read_timeout(10, 0);
    return c;
  };
  auto probe = make_client();
  int held = 0;
  const bool ready = harness::WaitFor(
      [&] {
        held = 0;
        for (int i = 0; i < s.clusters; ++i) {
          auto r = probe->Get(absl::StrCat("/v1/where/", Vip(i)).c_str());
          if (r && r->status == 200 && r->body.find("\"holder\":\"node01\"") != std::string::npos) {
            ++held;
          }
        }
        return held == s.clusters;
      },
      absl::Seconds(120), absl::Milliseconds(500));
  if (!ready) {
    fprintf(stderr, "controller_bench: only %d of %d VIPs reported held by node01\n", held,
            s.clusters);
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::vector<double>> latencies(s.connections);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int t = 0; t < s.connections; ++t) {
    threads.emplace_back([&, t] {
      auto c = make_client();
      int i = t;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string vip = Vip(i % s.clusters);
        const std::string cluster = absl::StrCat("\"cluster\":\"pair", i % s.clusters, "\"");
        ++i;
        const absl::Time t0 = absl::Now();
        auto r = c->Get(absl::StrCat("/v1/where/", vip).c_str());
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
        if (!r || r->status != 200 || r->body.find(cluster) == std::string::npos ||
            r->body.find("\"holder\":\"node01\"") == std::string::npos) {
          ++bad;
          continue;
        }
        latencies[t].push_back(ms);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(s.seconds));
  stop = true;
  for (auto& th : threads) th.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  printf("GET /v1/where/{ip}: %zu requests in %.1f s: %.0f req/s; latency median %.2f ms, "
         "p99 %.2f ms, max %.2f ms; %d wrong or failed answers\n",
         all.size(), elapsed, all.size() / elapsed, Percentile(all, 50), Percentile(all, 99),
         Percentile(all, 100), bad.load());
  printf("targets (N=50): >= 5000 req/s, p99 <= 10 ms\n");
  return bad.load() == 0 && !all.empty() ? 0 : 1;
}

int RunBench(const Settings& s, const std::string& self) {
  harness::NetLab lab("ctlbench");
  absl::Status st = lab.AddNetwork("lan", "192.0.2.0/24");
  if (st.ok()) st = lab.AddHost("box", {{"lan", "eth0", kController}});
  if (!st.ok()) {
    fprintf(stderr, "controller_bench: %s\n", st.ToString().c_str());
    return 1;
  }
  ScratchDir dir;
  const std::string certs = dir.File("certs");
  const std::string specs = dir.File("specs");
  mkdir(certs.c_str(), 0700);
  mkdir(specs.c_str(), 0755);
  ApiCertOptions co;
  co.cluster = "bench";
  std::vector<std::string> sans = {kController};
  for (int i = 0; i < s.clusters; ++i) {
    sans.push_back(Address(i, 1));
    sans.push_back(Address(i, 2));
  }
  co.nodes = {{"bench", sans}};
  st = WriteApiCerts(certs, co);
  if (!st.ok()) {
    fprintf(stderr, "controller_bench: %s\n", st.ToString().c_str());
    return 1;
  }
  dir.Write("specs/authkey", "controller-bench-secret\n", 0600);
  std::vector<harness::Process> agents;
  for (int i = 0; i < s.clusters; ++i) {
    SpecOptions o;
    o.cluster_name = absl::StrCat("pair", i);
    o.nodes = {{"node01", {Address(i, 1)}}, {"node02", {Address(i, 2)}}};
    o.udp_port = 20000 + i;
    o.keepalive = "1s";
    o.warntime = "3s";
    o.deadtime = "5s";
    o.initdead = "10s";
    const std::string spec = dir.Write(
        absl::StrCat("specs/pair", i, ".yaml"),
        absl::StrCat(SpecYaml(o), ApiYaml({":7443"}, certs),
                     "groups:\n  - name: svc\n    preferred_node: node01\n    resources:\n"
                     "      - ip: {address: ",
                     Vip(i), ", prefix_length: 24, interface: eth0}\n"));
    for (const char* node : {"node01", "node02"}) {
      const std::string state = dir.File(absl::StrCat("state/pair", i, "-", node));
      harness::RunProcess({"mkdir", "-p", state});
      auto p = lab.Spawn("box", {HaAgentPath(), "--config", spec, "--node", node, "--state-dir",
                                 state});
      if (!p.ok()) {
        fprintf(stderr, "controller_bench: %s\n", p.status().ToString().c_str());
        return 1;
      }
      agents.push_back(*std::move(p));
    }
  }
  auto controller = lab.Spawn(
      "box", {RunfilePath("controller/ha-controller"), "--spec", specs, "--listen",
              absl::StrCat(kController, ":", kHttpsPort), "--tls-cert", certs + "/server.crt",
              "--tls-key", certs + "/server.key", "--tls-client-ca", certs + "/ca.crt"});
  if (!controller.ok()) {
    fprintf(stderr, "controller_bench: %s\n", controller.status().ToString().c_str());
    return 1;
  }
  printf("controller_bench: %d two-node clusters (%d ha-agents, keepalive 1s, mutual TLS API), "
         "one ha-controller (poll 1s), %d keep-alive HTTPS connections, %d s\n",
         s.clusters, 2 * s.clusters, s.connections, s.seconds);
  fflush(stdout);
  auto client = lab.Run("box",
                        {self, "--client", "--certs", certs, "--clusters",
                         absl::StrCat(s.clusters), "--seconds", absl::StrCat(s.seconds),
                         "--connections", absl::StrCat(s.connections)},
                        absl::Seconds(s.seconds + 180));
  if (!client.ok()) {
    fprintf(stderr, "controller_bench: client: %s\ncontroller log:\n%s\n",
            client.status().ToString().c_str(), ReadFile(controller->log_path()).c_str());
    return 1;
  }
  printf("%s", client->output.c_str());
  if (!client->status.ok()) {
    fprintf(stderr, "controller log:\n%s\n", ReadFile(controller->log_path()).c_str());
  }
  return client->status.ok() ? 0 : 1;
}

}  // namespace
}  // namespace hacluster::testing

int main(int argc, char** argv) {
  using namespace hacluster::testing;  // NOLINT
  Settings s;
  bool client = false;
  std::string certs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next_int = [&](int* out) { return i + 1 < argc && absl::SimpleAtoi(argv[++i], out); };
    if (a == "--short") {
      s.short_mode = true;
      s.clusters = 4;
      s.seconds = 2;
    } else if (a == "--client") {
      client = true;
    } else if (a == "--certs" && i + 1 < argc) {
      certs = argv[++i];
    } else if ((a == "--clusters" && next_int(&s.clusters)) ||
               (a == "--seconds" && next_int(&s.seconds)) ||
               (a == "--connections" && next_int(&s.connections))) {
    } else {
      fprintf(stderr,
              "usage: controller_bench [--short] [--clusters N] [--seconds S] [--connections C]\n");
      return 2;
    }
  }
  if (s.clusters < 1 || s.clusters > 200 || s.seconds < 1 || s.connections < 1) {
    fprintf(stderr, "controller_bench: --clusters 1..200, --seconds and --connections >= 1\n");
    return 2;
  }
  if (client) return RunClient(s, certs);
  absl::Status pre = hacluster::harness::NetLab::CheckPrerequisites();
  if (!pre.ok()) {
    fprintf(stderr, "controller_bench: needs network namespaces: %s\n", pre.ToString().c_str());
    return 1;
  }
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  return RunBench(s, self);
}
