#include "tests/cluster/api_cluster.h"

#include <signal.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "tests/cluster/api_certs.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace v1 = agent::v1;

grpc::ChannelArguments OwnChannel() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 10);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_ENABLE_CHANNELZ, 0);
  return args;
}

}  // namespace

ApiCluster::ApiCluster() {
  LoopbackSpot spot = RandomLoopbackSpot();
  prefix_ = spot.prefix;
  port_ = spot.port;
}

ApiCluster::~ApiCluster() {
  for (auto& [node, p] : agents_) {
    (void)p.Kill(SIGKILL);
    (void)p.Wait(absl::Seconds(5));
  }
}

std::string ApiCluster::Address(const std::string& node) const {
  return prefix_ + (node == "node01" ? "1" : "2");
}

std::string ApiCluster::Target(const std::string& node) const {
  return absl::StrCat(Address(node), ":", port_);
}

absl::Status ApiCluster::Start(const ApiClusterOptions& options) {
  mkdir(CertDir().c_str(), 0700);
  ApiCertOptions certs;
  certs.nodes = {{"node01", {Address("node01")}}, {"node02", {Address("node02")}}};
  absl::Status s = WriteApiCerts(CertDir(), certs);
  if (!s.ok()) return s;
  dir_.Write("authkey", "api-test-secret\n", 0600);
  SpecOptions o;
  o.nodes = {{"node01", {Address("node01")}}, {"node02", {Address("node02")}}};
  o.udp_port = port_;
  o.keepalive = options.keepalive;
  o.deadtime = options.deadtime;
  o.warntime = options.warntime;
  o.initdead = "1s";
  const std::string spec = dir_.Write(
      "cluster.yaml",
      absl::StrCat(SpecYaml(o), ApiYaml({absl::StrCat(":", port_)}, CertDir()),
                   options.metrics_port == 0
                       ? ""
                       : absl::StrCat("  metrics_listen: \":", options.metrics_port, "\"\n"),
                   "groups:\n  - name: svc\n    preferred_node: node01\n    resources:\n",
                   "      - ocf:\n          type: Dummy\n          params: {state: ",
                   dir_.File("dummy.state"), "}\n        name: dummy\n"));
  spec_per_node_ = options.spec_per_node;
  for (const char* node : {"node01", "node02"}) {
    if (spec_per_node_) dir_.Write(absl::StrCat(node, ".yaml"), ReadFile(spec));
    absl::Status started = StartAgent(node);
    if (!started.ok()) return started;
  }
  for (const auto& [node, other] :
       std::map<std::string, std::string>{{"node01", "node02"}, {"node02", "node01"}}) {
    AgentClient c(Socket(node));
    if (!harness::WaitFor([&] { return c.StateOf(other) == v1::NODE_STATE_UP; },
                          absl::Seconds(20))) {
      return absl::DeadlineExceededError(absl::StrCat(
          node, " never saw ", other, " up; log:\n", ReadFile(agents_.at(node).log_path())));
    }
  }
  AgentClient c(Socket("node02"));
  if (!harness::WaitFor(
          [&] {
            auto st = c.Status();
            return st.ok() && st->groups_size() == 1 && st->groups(0).holder() == "node01" &&
                   st->groups(0).state() == v1::GROUP_STATE_RUNNING;
          },
          absl::Seconds(20))) {
    return absl::DeadlineExceededError(
        absl::StrCat("svc never ran on node01; log:\n", ReadFile(agents_.at("node01").log_path())));
  }
  return absl::OkStatus();
}

absl::Status ApiCluster::StartAgent(const std::string& node) {
  auto log = harness::NewLogPath(absl::StrCat("api-agent-", node));
  if (!log.ok()) return log.status();
  auto p = harness::SpawnProcess({HaAgentPath(), "--config", SpecPathOf(node), "--node", node,
                                  "--state-dir", dir_.File(node)},
                                 *log);
  if (!p.ok()) return p.status();
  agents_.erase(node);
  agents_.emplace(node, *std::move(p));
  return absl::OkStatus();
}

std::unique_ptr<v1::Agent::Stub> ApiCluster::TlsStub(const std::string& node,
                                                     const std::string& name) const {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadFile(CertDir() + "/ca.crt");
  if (!name.empty()) {
    o.pem_cert_chain = ReadFile(absl::StrCat(CertDir(), "/", name, ".crt"));
    o.pem_private_key = ReadFile(absl::StrCat(CertDir(), "/", name, ".key"));
  }
  return v1::Agent::NewStub(
      grpc::CreateCustomChannel(Target(node), grpc::SslCredentials(o), OwnChannel()));
}

std::unique_ptr<v1::Agent::Stub> ApiCluster::UnixStub(const std::string& node) const {
  return v1::Agent::NewStub(grpc::CreateCustomChannel(
      "unix:" + Socket(node), grpc::InsecureChannelCredentials(), OwnChannel()));
}

}  // namespace hacluster::testing
