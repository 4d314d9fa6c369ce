// ha-controller against two real agents on loopback (tests/cluster
// ApiCluster: mutual TLS on each node's own address, an OCF Dummy group):
// the JSON endpoints give the same data as the gRPC calls, /metrics parses
// with Prometheus' own text-format parser (python3-prometheus-client), the
// HTTP refusals have their codes and JSON bodies, writes are forwarded for
// admins only, Apply goes through the controller, and a spec edited by
// hand on one node shows as config drift in status, events and metrics.
#include <signal.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/api_cluster.h"
#include "tests/cluster/test_cluster.h"
#include "tests/controller/controller_rig.h"
#include "tests/harness/process.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

namespace cv1 = controller::v1;
namespace av1 = agent::v1;
using google::protobuf::util::MessageDifferencer;

constexpr size_t kOneMiB = size_t{1} << 20;

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto c = std::make_unique<grpc::ClientContext>();
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return c;
}

template <typename M>
bool FromJson(const std::string& json, M* m) {
  return google::protobuf::util::JsonStringToMessage(json, m).ok();
}

std::string ParseWithPrometheus(const std::string& text);

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A server that answers early (413) and closes must not kill the client.
    signal(SIGPIPE, SIG_IGN);
    ApiClusterOptions o;
    o.keepalive = "50ms";
    o.warntime = "200ms";
    o.deadtime = "500ms";
    ASSERT_TRUE(cluster_.Start(o).ok());
    const std::string target = cluster_.Target("node01");
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(target.substr(target.rfind(':') + 1), &port));
    ControllerRigOptions r;
    r.spec = cluster_.SpecPath();
    r.cert_dir = cluster_.CertDir();
    r.host = cluster_.Address("node01");
    r.http_port = port + 1;
    r.grpc_port = port + 2;
    absl::Status s = rig_.Start(r);
    ASSERT_TRUE(s.ok()) << s;
    admin_ = rig_.Grpc("admin");
    // Both agents polled.
    ASSERT_TRUE(harness::WaitFor(
        [&] {
          cv1::ListClustersResponse l;
          return admin_->ListClusters(Ctx().get(), cv1::ListClustersRequest(), &l).ok() &&
                 l.clusters_size() == 1 && l.clusters(0).nodes_reachable() == 2 &&
                 l.clusters(0).groups_held() == 1;
        },
        absl::Seconds(20)))
        << rig_.Log();
  }

  // GET `path` as `who`: the status and body.
  std::pair<int, std::string> Get(const std::string& path, const std::string& who = "admin") {
    auto c = rig_.Https(who);
    auto r = c->Get(path.c_str());
    if (!r) return {-1, httplib::to_string(r.error())};
    return {r->status, r->body};
  }
  std::pair<int, std::string> Post(const std::string& path, const std::string& body,
                                   const std::string& who = "admin") {
    auto c = rig_.Https(who);
    auto r = c->Post(path.c_str(), body, "application/json");
    if (!r) return {-1, httplib::to_string(r.error())};
    return {r->status, r->body};
  }

  // Asks gRPC, then HTTP, then gRPC again, until both gRPC answers agree
  // (no poll came in between); then the JSON must say the same.
  template <typename M, typename GrpcCall>
  void ExpectSameData(const std::string& path, GrpcCall call) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      M before, after, json;
      ASSERT_TRUE(call(&before).ok());
      auto [code, body] = Get(path);
      ASSERT_EQ(code, 200) << body;
      ASSERT_TRUE(call(&after).ok());
      if (!MessageDifferencer::Equals(before, after)) continue;
      ASSERT_TRUE(FromJson(body, &json)) << body;
      EXPECT_TRUE(MessageDifferencer::Equals(json, before))
          << path << "\nJSON:\n" << json.DebugString() << "\ngRPC:\n" << before.DebugString();
      return;
    }
    FAIL() << path << ": the data never held still for two gRPC calls";
  }

  ApiCluster cluster_;
  ControllerRig rig_;
  std::unique_ptr<cv1::Controller::Stub> admin_;
};

TEST_F(ControllerTest, JsonEndpointsGiveWhatGrpcGives) {
  ExpectSameData<cv1::ListClustersResponse>("/v1/clusters", [&](cv1::ListClustersResponse* m) {
    return admin_->ListClusters(Ctx().get(), cv1::ListClustersRequest(), m);
  });
  cv1::GetClusterStatusRequest sreq;
  sreq.set_cluster("testcluster");
  ExpectSameData<cv1::ClusterStatus>("/v1/clusters/testcluster/status",
                                     [&](cv1::ClusterStatus* m) {
                                       return admin_->GetClusterStatus(Ctx().get(), sreq, m);
                                     });
  cv1::ClusterServersRequest lreq;
  lreq.set_cluster("testcluster");
  ExpectSameData<cv1::ClusterServersResponse>(
      "/v1/clusters/testcluster/servers", [&](cv1::ClusterServersResponse* m) {
        return admin_->ListServers(Ctx().get(), lreq, m);
      });
  cv1::WhereRequest wreq;
  wreq.set_target("svc");
  ExpectSameData<cv1::WhereResponse>("/v1/where/svc", [&](cv1::WhereResponse* m) {
    return admin_->Where(Ctx().get(), wreq, m);
  });
  cv1::WhereResponse w;
  ASSERT_TRUE(admin_->Where(Ctx().get(), wreq, &w).ok());
  EXPECT_EQ(w.holder(), "node01");
  EXPECT_EQ(w.cluster(), "testcluster");

  // The first held events, over SSE and over gRPC: the same messages.
  std::vector<cv1::ClusterEvent> grpc_events;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = admin_->WatchEvents(&ctx, cv1::WatchEventsRequest());
    cv1::ClusterEvent e;
    while (grpc_events.size() < 3 && reader->Read(&e)) grpc_events.push_back(e);
    ctx.TryCancel();
  }
  ASSERT_EQ(grpc_events.size(), 3u);
  std::vector<cv1::ClusterEvent> sse_events;
  std::string buffer;
  auto c = rig_.Https("reader");
  auto r = c->Get("/v1/events", [&](const char* data, size_t n) {
    buffer.append(data, n);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      std::string block = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      const size_t data_at = block.find("data: ");
      if (data_at == std::string::npos) continue;
      cv1::ClusterEvent e;
      EXPECT_TRUE(FromJson(block.substr(data_at + 6), &e)) << block;
      EXPECT_TRUE(absl::StrContains(block, absl::StrCat("id: ", e.id(), "\n"))) << block;
      sse_events.push_back(e);
    }
    return sse_events.size() < 3;  // then the client closes
  });
  ASSERT_GE(sse_events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(sse_events[i], grpc_events[i]))
        << sse_events[i].DebugString() << "\nvs\n" << grpc_events[i].DebugString();
  }
}

// Every sample of `text` as Prometheus' own parser reads it ("TYPE NAME
// [(label, value)...] VALUE" per line); a failure when it cannot.
std::string ParseWithPrometheus(const std::string& text) {
  ScratchDir dir;
  const std::string file = dir.Write("metrics.txt", text);
  auto parsed = harness::RunProcess(
      // Debian's python3, where python3-prometheus-client is installed.
      {"/usr/bin/python3", "-c",
       "import sys\n"
       "from prometheus_client.parser import text_string_to_metric_families\n"
       "fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))\n"
       "for f in fams:\n"
       "    for s in f.samples:\n"
       "        print(f.type, s.name, sorted(s.labels.items()), s.value)\n",
       file},
      absl::Seconds(30));
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return "";
  EXPECT_TRUE(parsed->status.ok()) << parsed->output << "\n" << text;
  return parsed->status.ok() ? parsed->output : "";
}

TEST_F(ControllerTest, MetricsParseWithPrometheusOwnParser) {
  auto [code, text] = Get("/metrics", "reader");
  ASSERT_EQ(code, 200) << text;
  const std::string out = ParseWithPrometheus(text);
  ASSERT_FALSE(out.empty());
  for (const char* want : {
           "gauge ha_node_up [('cluster', 'testcluster'), ('node', 'node02'), ('observer', "
           "'node01')] 1.0",
           "gauge ha_group_holder [('cluster', 'testcluster'), ('group', 'svc'), ('node', "
           "'node01'), ('observer', 'node02')] 1.0",
           "gauge ha_agent_reachable [('cluster', 'testcluster'), ('node', 'node01')] 1.0",
           "counter ha_failovers_total [('cluster', 'testcluster'), ('node', 'node02')] 0.0",
           "counter ha_late_heartbeats_total",
           "gauge ha_config_version [('cluster', 'testcluster'), ('node', 'node01')] 1.0",
           "gauge ha_cluster_config_drift [('cluster', 'testcluster')] 0.0",
           "gauge ha_link_up",
       }) {
    EXPECT_TRUE(absl::StrContains(out, want)) << want << "\n" << out;
  }
}

TEST_F(ControllerTest, HttpRefusalsHaveTheirCodesAndJsonBodies) {
  auto expect_json_error = [](int code, const std::string& body, int want, const char* what) {
    EXPECT_EQ(code, want) << what << ": " << body;
    google::protobuf::Struct s;
    ASSERT_TRUE(FromJson(body, &s)) << what << ": " << body;
    EXPECT_FALSE(s.fields().at("error").string_value().empty()) << body;
    EXPECT_EQ(s.fields().at("code").number_value(), want) << body;
  };
  auto [c1, b1] = Get("/v1/clusters", "");
  expect_json_error(c1, b1, 401, "no client certificate");
  ASSERT_TRUE(WriteForeignAdmin(cluster_.CertDir()).ok());
  auto [c2, b2] = Get("/v1/clusters", "other-admin");
  expect_json_error(c2, b2, 403, "another CA");
  auto [c3, b3] = Get("/v1/no/such/path");
  expect_json_error(c3, b3, 404, "unknown path");
  auto [c4, b4] = Post("/v1/clusters/testcluster/move", std::string(kOneMiB + 1, ' '));
  expect_json_error(c4, b4, 413, "body over 1 MiB");
  auto [c5, b5] = Post("/v1/clusters/testcluster/nodes/node01/standby", "{}", "reader");
  expect_json_error(c5, b5, 403, "reader writes");
  auto [c6, b6] = Get("/v1/where/203.0.113.200");
  expect_json_error(c6, b6, 404, "unknown address");
  auto [c7, b7] = Post("/v1/clusters/testcluster/move", "{not json");
  expect_json_error(c7, b7, 400, "bad JSON");
  // What a cross-site form could send with an admin's browser certificate.
  {
    auto c = rig_.Https("admin");
    auto r = c->Post("/v1/clusters/testcluster/nodes/node01/standby", "",
                     "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    expect_json_error(r->status, r->body, 415, "a form post");
    httplib::Headers cross = {{"Origin", "https://evil.example"}};
    r = c->Post("/v1/clusters/testcluster/nodes/node01/standby", cross, "{}", "application/json");
    ASSERT_TRUE(r);
    expect_json_error(r->status, r->body, 403, "another origin");
    cross = {{"Sec-Fetch-Site", "cross-site"}};
    r = c->Post("/v1/clusters/testcluster/nodes/node01/standby", cross, "{}", "application/json");
    ASSERT_TRUE(r);
    expect_json_error(r->status, r->body, 403, "a cross-site fetch");
    auto st = AgentClient(cluster_.Socket("node01")).Status();
    ASSERT_TRUE(st.ok());
    for (const auto& n : st->nodes()) EXPECT_FALSE(n.standby()) << n.name();
  }

  // gRPC: a reader may not write.
  auto reader = rig_.Grpc("reader");
  cv1::NodeStandbyRequest sreq;
  sreq.set_cluster("testcluster");
  sreq.set_node("node01");
  av1::OperationResponse op;
  EXPECT_EQ(reader->Standby(Ctx().get(), sreq, &op).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ControllerTest, AdminsMoveOverHttpAndApplyOverGrpc) {
  auto [code, body] =
      Post("/v1/clusters/testcluster/move", R"({"group": "svc", "node": "node02"})");
  ASSERT_EQ(code, 200) << body;
  av1::OperationResponse op;
  ASSERT_TRUE(FromJson(body, &op)) << body;
  EXPECT_EQ(op.state(), av1::OPERATION_STATE_DONE) << body;
  cv1::WhereRequest wreq;
  wreq.set_target("svc");
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        cv1::WhereResponse w;
        return admin_->Where(Ctx().get(), wreq, &w).ok() && w.holder() == "node02";
      },
      absl::Seconds(10)));

  // Apply v2 through the controller: both nodes run it.
  std::string v2 = absl::StrReplaceAll(ReadFile(cluster_.SpecPath()),
                                       {{"config_version: 1", "config_version: 2"}});
  cv1::ApplyRequest areq;
  areq.set_spec_yaml(v2);
  cv1::ApplyResponse aresp;
  grpc::Status s = admin_->Apply(Ctx().get(), areq, &aresp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string lines;
  for (const std::string& l : aresp.lines()) lines += l + "\n";
  ASSERT_TRUE(aresp.applied()) << lines;
  EXPECT_EQ(aresp.config_version(), 2u);
  for (const char* node : {"node01", "node02"}) {
    auto st = AgentClient(cluster_.Socket(node)).Status();
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->config_version(), 2u) << node;
  }
  // A stale one is refused, and says so.
  ASSERT_TRUE(admin_->Apply(Ctx().get(), areq, &aresp).ok());
  EXPECT_FALSE(aresp.applied());
}

TEST_F(ControllerTest, ASpecEditedByHandOnOneNodeIsDriftInStatusEventsAndMetrics) {
  std::string edited = absl::StrReplaceAll(ReadFile(cluster_.SpecPath()),
                                           {{"config_version: 1", "config_version: 5"}});
  std::ofstream(cluster_.SpecPath(), std::ios::trunc) << edited;
  ASSERT_TRUE(cluster_.Agent("node01").Kill(SIGHUP).ok());
  cv1::GetClusterStatusRequest sreq;
  sreq.set_cluster("testcluster");
  cv1::ClusterStatus st;
  ASSERT_TRUE(harness::WaitFor(
      [&] { return admin_->GetClusterStatus(Ctx().get(), sreq, &st).ok() && st.config_drift(); },
      absl::Seconds(10)));
  ASSERT_GE(st.drift_size(), 1);
  EXPECT_TRUE(absl::StrContains(st.drift(0), "config version 5")) << st.drift(0);
  // The event, from the agents through the controller.
  bool seen = false;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = admin_->WatchEvents(&ctx, cv1::WatchEventsRequest());
    cv1::ClusterEvent e;
    while (!seen && reader->Read(&e)) {
      seen = e.event().kind() == av1::EVENT_KIND_CONFIG_DRIFT && !e.event().ok();
    }
    ctx.TryCancel();
  }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        auto [code, text] = Get("/metrics", "reader");
        return code == 200 &&
               absl::StrContains(text, "ha_cluster_config_drift{cluster=\"testcluster\"} 1\n") &&
               absl::StrContains(text, "ha_config_drift{cluster=\"testcluster\",node=\"node02\"} 1\n");
      },
      absl::Seconds(10)));
}

// The agent's own /metrics (api.metrics_listen ":PORT"): HTTPS with a
// client certificate, Prometheus text of that node's view.
TEST(AgentMetricsTest, TheAgentServesItsOwnMetricsWhenAsked) {
  signal(SIGPIPE, SIG_IGN);
  ApiCluster cluster;
  ApiClusterOptions o;
  o.keepalive = "50ms";
  o.warntime = "200ms";
  o.deadtime = "500ms";
  // The API's port + 3 on each node's own address.
  {
    const std::string t = cluster.Target("node01");
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(t.substr(t.rfind(':') + 1), &port));
    o.metrics_port = port + 3;
  }
  ASSERT_TRUE(cluster.Start(o).ok());
  for (const char* node : {"node01", "node02"}) {
    httplib::SSLClient c(cluster.Address(node), o.metrics_port, cluster.CertDir() + "/reader.crt",
                         cluster.CertDir() + "/reader.key");
    c.set_ca_cert_path((cluster.CertDir() + "/ca.crt").c_str());
    c.enable_server_certificate_verification(true);
    auto r = c.Get("/metrics");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    const std::string out = ParseWithPrometheus(r->body);
    EXPECT_NE(out.find(absl::StrCat("gauge ha_node_up [('cluster', 'testcluster'), ('node', '",
                                    node == std::string("node01") ? "node02" : "node01",
                                    "'), ('observer', '", node, "')] 1.0")),
              std::string::npos)
        << out;
    EXPECT_NE(out.find(absl::StrCat("counter ha_failovers_total [('cluster', 'testcluster'), "
                                    "('node', '", node, "')] 0.0")),
              std::string::npos)
        << out;
    httplib::SSLClient anonymous(cluster.Address(node), o.metrics_port);
    anonymous.set_ca_cert_path((cluster.CertDir() + "/ca.crt").c_str());
    anonymous.enable_server_certificate_verification(true);
    auto refused = anonymous.Get("/metrics");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << refused->body;
  }
}

}  // namespace
}  // namespace hacluster::testing
