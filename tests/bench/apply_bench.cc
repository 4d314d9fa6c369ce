// apply_bench: the time from `hacli apply` of a one-resource change to all
// three nodes committed.
//
//   apply_bench [--short] [--rounds N]
//
// Three real ha-agents on loopback (127.x.y.1-3 of a run's own, ucast on
// lo, HMAC-SHA256), serving their API over mutual TLS on ":PORT", running
// one group with an OCF Dummy (Debian's resource-agents). Each round writes
// the next config_version, adding or removing a second Dummy in the group,
// and times `hacli apply -f SPEC` (a new process: it reads and validates
// the file, reaches the three nodes over TLS, has all three prepare, then
// all three commit) until it exits; then checks that every node reports
// the new version. Prints median and p99 per keepalive.
// Target: p99 at most 2 x keepalive + 50 ms.
// --short (what the test suite runs): 3 rounds at keepalive 100ms.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

constexpr const char* kNodes[] = {"node01", "node02", "node03"};

struct Run {
  std::string keepalive;
  int rounds;
};

int RunOne(const Run& run) {
  ScratchDir dir;
  LoopbackSpot spot = RandomLoopbackSpot();
  auto addr = [&](int i) { return absl::StrCat(spot.prefix, i + 1); };
  const std::string certs = dir.File("certs");
  mkdir(certs.c_str(), 0700);
  ApiCertOptions co;
  for (int i = 0; i < 3; ++i) co.nodes.push_back({kNodes[i], {addr(i)}});
  if (absl::Status s = WriteApiCerts(certs, co); !s.ok()) {
    fprintf(stderr, "apply_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  dir.Write("authkey", "apply-bench-secret\n", 0600);
  SpecOptions o;
  for (int i = 0; i < 3; ++i) o.nodes.push_back({kNodes[i], {addr(i)}});
  o.udp_port = spot.port;
  o.keepalive = run.keepalive;
  absl::Duration keepalive;
  if (!absl::ParseDuration(run.keepalive, &keepalive)) return 1;
  o.deadtime = absl::FormatDuration(keepalive * 10);
  o.warntime = absl::FormatDuration(keepalive * 5);
  o.initdead = absl::FormatDuration(std::max(keepalive * 20, absl::Seconds(1)));
  const std::string head = absl::StrCat(SpecYaml(o), ApiYaml({absl::StrCat(":", spot.port)}, certs));
  auto spec_text = [&](int version, bool extra) {
    std::string text = absl::StrCat(
        head,
        "groups:\n  - name: svc\n    preferred_node: node01\n    resources:\n"
        "      - ocf:\n          type: Dummy\n          params: {state: ",
        dir.File("dummy.state"), "}\n        name: dummy\n");
    if (extra) {
      absl::StrAppend(&text, "      - ocf:\n          type: Dummy\n          params: {state: ",
                      dir.File("extra.state"), "}\n        name: extra\n");
    }
    const std::string from = "config_version: 1\n";
    text.replace(text.find(from), from.size(), absl::StrCat("config_version: ", version, "\n"));
    return text;
  };
  const std::string spec = dir.Write("cluster.yaml", spec_text(1, false));
  std::vector<harness::Process> agents;
  for (const char* node : kNodes) {
    auto p = harness::SpawnProcess(
        {HaAgentPath(), "--config", spec, "--node", node, "--state-dir", dir.File(node)});
    if (!p.ok()) {
      fprintf(stderr, "apply_bench: %s\n", p.status().ToString().c_str());
      return 1;
    }
    agents.push_back(*std::move(p));
  }
  auto cleanup = [&] {
    for (auto& a : agents) {
      (void)a.Kill(SIGKILL);
      (void)a.Wait(absl::Seconds(5));
    }
  };
  std::map<std::string, std::unique_ptr<AgentClient>> clients;
  for (const char* node : kNodes) {
    clients[node] = std::make_unique<AgentClient>(dir.File(std::string(node) + "/agent.sock"));
  }
  const bool up = harness::WaitFor(
      [&] {
        auto st = clients["node03"]->Status();
        if (!st.ok() || st->groups_size() != 1 ||
            st->groups(0).state() != agent::v1::GROUP_STATE_RUNNING) {
          return false;
        }
        for (const auto& n : st->nodes()) {
          if (n.state() != agent::v1::NODE_STATE_UP) return false;
        }
        return true;
      },
      absl::Seconds(30));
  if (!up) {
    fprintf(stderr, "apply_bench: the cluster never came up\n");
    cleanup();
    return 1;
  }
  std::vector<double> ms;
  int failures = 0;
  for (int round = 0; round < run.rounds; ++round) {
    const int version = round + 2;
    const std::string next = dir.Write(absl::StrCat("v", version, ".yaml"),
                                       spec_text(version, round % 2 == 0));
    const absl::Time t0 = absl::Now();
    auto r = harness::RunProcess({HacliPath(), "--ca", certs + "/ca.crt", "--cert",
                                  certs + "/admin.crt", "--key", certs + "/admin.key", "apply",
                                  "-f", next},
                                 absl::Seconds(60));
    const absl::Duration took = absl::Now() - t0;
    bool all = r.ok() && r->status.ok();
    for (const char* node : kNodes) {
      auto st = clients[node]->Status();
      all = all && st.ok() && st->config_version() == static_cast<uint64_t>(version);
    }
    if (!all) {
      ++failures;
      fprintf(stderr, "apply_bench: round %d failed: %s\n", round,
              r.ok() ? r->output.c_str() : r.status().ToString().c_str());
      break;
    }
    ms.push_back(absl::ToDoubleMilliseconds(took));
  }
  cleanup();
  const double target = absl::ToDoubleMilliseconds(2 * keepalive + absl::Milliseconds(50));
  printf("keepalive %s, deadtime %s: %zu applies (one resource added or removed), hacli apply "
         "to all 3 nodes committed: median %.1f ms, p99 %.1f ms, max %.1f ms (target p99 <= "
         "%.0f ms)\n",
         run.keepalive.c_str(), o.deadtime.c_str(), ms.size(), Percentile(ms, 50),
         Percentile(ms, 99), Percentile(ms, 100), target);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace hacluster::testing

int main(int argc, char** argv) {
  bool short_mode = false;
  int rounds = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--short") {
      short_mode = true;
    } else if (a == "--rounds" && i + 1 < argc && absl::SimpleAtoi(argv[++i], &rounds) &&
               rounds > 0 && rounds <= 10000) {
    } else {
      fprintf(stderr, "usage: apply_bench [--short] [--rounds N]\n");
      return 2;
    }
  }
  printf("apply_bench (%s mode): 3 ha-agents on loopback, mutual TLS API, one group (OCF "
         "Dummy); hacli apply of the next config_version each round\n",
         short_mode ? "short" : "full");
  int failures = 0;
  if (short_mode) {
    failures += hacluster::testing::RunOne({"100ms", 3});
  } else {
    failures += hacluster::testing::RunOne({"100ms", rounds});
    failures += hacluster::testing::RunOne({"1s", std::min(rounds, 30)});
  }
  return failures == 0 ? 0 : 1;
}
