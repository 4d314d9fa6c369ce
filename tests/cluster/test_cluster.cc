#include "tests/cluster/test_cluster.h"

#include <cmath>

#include <algorithm>

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/core/clock.h"
#include "grpcpp/grpcpp.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {

ScratchDir::ScratchDir() {
  char tmpl[] = "/tmp/hac-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) abort();
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::Write(const std::string& name, const std::string& contents,
                              int mode) const {
  std::string path = File(name);
  {
    std::ofstream out(path, std::ios::trunc);
    out << contents;
  }
  chmod(path.c_str(), mode);
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t MonotonicNs() { return absl::ToInt64Nanoseconds(agent::MonotonicNow()); }

LoopbackSpot RandomLoopbackSpot() {
  std::random_device rd;
  std::mt19937 rng(rd());
  LoopbackSpot spot;
  spot.prefix = absl::StrCat("127.", 1 + rng() % 250, ".", 1 + rng() % 250, ".");
  spot.port = 20000 + rng() % 20000;
  return spot;
}

std::string RunfilePath(const std::string& rel) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  if (srcdir != nullptr && ws != nullptr) return absl::StrCat(srcdir, "/", ws, "/", rel);
  return rel;  // run by hand from the workspace's bazel-bin
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * v.size()));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string HaAgentPath() { return RunfilePath("agent/ha-agent"); }
std::string HacliPath() { return RunfilePath("cli/hacli"); }

std::string SpecYaml(const SpecOptions& o) {
  std::string y = absl::StrCat("cluster_name: ", o.cluster_name, "\nconfig_version: 1\nnodes:\n");
  for (const SpecNode& n : o.nodes) {
    absl::StrAppend(&y, "  - name: ", n.name, "\n    addresses: [", absl::StrJoin(n.addresses, ", "),
                    "]\n");
    if (!n.labels.empty()) absl::StrAppend(&y, "    labels:\n");
    for (const auto& [key, value] : n.labels) {
      absl::StrAppend(&y, "      ", key, ": \"", value, "\"\n");
    }
  }
  absl::StrAppend(&y, "timing:\n  keepalive: ", o.keepalive, "\n  deadtime: ", o.deadtime, "\n");
  if (!o.warntime.empty()) absl::StrAppend(&y, "  warntime: ", o.warntime, "\n");
  if (!o.initdead.empty()) absl::StrAppend(&y, "  initdead: ", o.initdead, "\n");
  if (o.udp_port != 0) absl::StrAppend(&y, "udp_port: ", o.udp_port, "\n");
  absl::StrAppend(&y, "media:\n");
  for (const std::string& m : o.media) absl::StrAppend(&y, "  ", m, "\n");
  absl::StrAppend(&y, "auth:\n  active_key: 1\n  keys:\n    - id: 1\n      method: ", o.key_method,
                  "\n      secret_file: ", o.key_file, "\n");
  if (!o.ping_nodes.empty()) {
    absl::StrAppend(&y, "connectivity:\n  ping_nodes: [", absl::StrJoin(o.ping_nodes, ", "), "]\n");
    if (!o.deadping.empty()) absl::StrAppend(&y, "  deadping: ", o.deadping, "\n");
  }
  return y;
}

namespace {
// Tests often ask before the agent listens: retry the connection every few
// milliseconds instead of gRPC's default backoff of a second and more.
std::shared_ptr<grpc::Channel> Channel(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  // A channel of its own: a fresh one really reconnects at once.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
}
}  // namespace

AgentClient::AgentClient(const std::string& socket)
    : socket_(socket), stub_(agent::v1::Agent::NewStub(Channel(socket))) {}

absl::StatusOr<agent::v1::GetStatusResponse> AgentClient::Status(absl::Duration timeout) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  agent::v1::GetStatusResponse r;
  grpc::Status s = stub_->GetStatus(&ctx, agent::v1::GetStatusRequest(), &r);
  if (!s.ok()) {
    // gRPC backs off before reconnecting a channel that failed (a second
    // and more); a new channel tries again at once.
    stub_ = agent::v1::Agent::NewStub(Channel(socket_));
    return absl::UnavailableError(s.error_message());
  }
  return r;
}

agent::v1::NodeState AgentClient::StateOf(const std::string& node) {
  auto st = Status();
  if (!st.ok()) return agent::v1::NODE_STATE_UNSPECIFIED;
  for (const auto& n : st->nodes()) {
    if (n.name() == node) return n.state();
  }
  return agent::v1::NODE_STATE_UNSPECIFIED;
}

uint64_t AgentClient::GenerationOf(const std::string& node) {
  auto st = Status();
  if (!st.ok()) return 0;
  for (const auto& n : st->nodes()) {
    if (n.name() == node) return n.generation();
  }
  return 0;
}

EventRecorder::EventRecorder(const std::string& socket)
    : stub_(agent::v1::Agent::NewStub(Channel(socket))),
      context_(std::make_unique<grpc::ClientContext>()) {
  thread_ = std::thread([this] {
    agent::v1::WatchEventsRequest req;
    auto reader = stub_->WatchEvents(context_.get(), req);
    agent::v1::Event e;
    while (reader->Read(&e)) {
      connected_ = true;
      absl::MutexLock lock(&mu_);
      events_.push_back(e);
    }
    (void)reader->Finish();
  });
}

EventRecorder::~EventRecorder() {
  context_->TryCancel();
  thread_.join();
}

std::vector<agent::v1::Event> EventRecorder::Events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

bool EventRecorder::Has(agent::v1::EventKind kind, const std::string& node,
                        const std::string& link) const {
  absl::MutexLock lock(&mu_);
  for (const auto& e : events_) {
    if (e.kind() == kind && e.node() == node && (link.empty() || e.link() == link)) return true;
  }
  return false;
}

bool EventRecorder::WaitFor(agent::v1::EventKind kind, const std::string& node,
                            absl::Duration deadline, const std::string& link) const {
  return harness::WaitFor([&] { return Has(kind, node, link); }, deadline);
}

}  // namespace hacluster::testing
