// ha-controller: one endpoint that knows every node of one cluster or of
// many. It reads the cluster specs (a file, or a directory of them), finds
// every node's agent from api.listen, keeps a mutual-TLS connection to each,
// and serves the aggregated view over gRPC (the Controller service) and
// HTTPS (JSON, server-sent events, Prometheus /metrics and the dashboard at
// /). It keeps no state of its own: several may run at once.
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/config/duration.h"
#include "agent/core/version.h"
#include "agent/http/https_server.h"
#include "agent/log/logger.h"
#include "agent/service/api_auth.h"
#include "agent/service/event_hub.h"
#include "agent/system/systemd_notify.h"
#include "agent/tls/certificates.h"
#include "controller/cluster_catalog.h"
#include "controller/controller_service.h"
#include "controller/fleet.h"
#include "controller/http_server.h"
#include "grpcpp/grpcpp.h"

using namespace hacluster;  // NOLINT: a main of one namespace's pieces

int main(int argc, char** argv) {
  CLI::App app{
      "ha-controller: one endpoint for every node of one cluster or of many.\n"
      "It reads the cluster specs, reaches every node's agent over its api.listen with\n"
      "mutual TLS, and serves on --listen (HTTPS): the dashboard at /, JSON under /v1/\n"
      "(clusters, status, servers, where, events as server-sent events, and POST\n"
      "standby / takeover / move with an admin certificate) and Prometheus text on\n"
      "/metrics; and the gRPC Controller service (proto/controller.proto) on\n"
      "--grpc-listen. Every client needs a certificate of the cluster CA.",
      "ha-controller"};
  std::string spec, listen, grpc_listen, cert, key, client_ca, agent_ca, poll = "1s", log_file;
  app.add_option("--spec", spec,
                 "A cluster spec (YAML), or a directory of them (*.yaml, *.yml: one per "
                 "cluster). Each must have api.listen: the controller reaches the nodes over it")
      ->required();
  app.add_option("--listen", listen, "HOST:PORT of the HTTPS listener, e.g. 0.0.0.0:8443")
      ->required();
  app.add_option("--grpc-listen", grpc_listen,
                 "HOST:PORT of the gRPC listener (mutual TLS). Default: --listen's port + 1");
  app.add_option("--tls-cert", cert,
                 "PEM certificate the controller serves with and presents to the agents: "
                 "a node certificate of the cluster CA (hacli cert issue --role node), "
                 "which may serve and act as admin")
      ->required();
  app.add_option("--tls-key", key, "Its private key (PEM, not readable by others)")->required();
  app.add_option("--tls-client-ca", client_ca,
                 "PEM CA that client certificates (browsers, hacli, GUIs) must chain to")
      ->required();
  app.add_option("--agent-ca", agent_ca,
                 "PEM CA the agents' certificates chain to. Default: --tls-client-ca");
  app.add_option("--poll-interval", poll,
                 "How often each agent's status is asked at least (events trigger a poll at "
                 "once). Default 1s");
  app.add_option("--log-file", log_file, "Also append the log to this file");
  app.set_version_flag("--version", VersionLine("ha-controller"));
  CLI11_PARSE(app, argc, argv);

  agent::HttpsOptions http_at, grpc_at;
  if (!agent::ParseHostPort(listen, &http_at)) {
    std::cerr << "ha-controller: --listen " << listen << ": expected HOST:PORT\n";
    return 2;
  }
  if (grpc_listen.empty()) grpc_listen = agent::JoinHostPort(http_at.host, http_at.port + 1);
  if (!agent::ParseHostPort(grpc_listen, &grpc_at)) {
    std::cerr << "ha-controller: --grpc-listen " << grpc_listen << ": expected HOST:PORT\n";
    return 2;
  }
  absl::StatusOr<int64_t> poll_ms = config::ParseDurationMs(poll);
  if (!poll_ms.ok() || *poll_ms <= 0) {
    std::cerr << "ha-controller: --poll-interval " << poll << ": expected a duration such as 1s\n";
    return 2;
  }
  if (agent_ca.empty()) agent_ca = client_ca;

  // A client gone in the middle of an answer (an event stream, a page) is
  // an error on that connection, not the end of the process.
  signal(SIGPIPE, SIG_IGN);
  // The signals end the process through sigwait below, on this thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  agent::LogOptions log_options;
  log_options.ident = "ha-controller";
  log_options.file = log_file;
  auto logger = agent::Logger::Create(log_options);
  if (!logger.ok()) {
    std::cerr << "ha-controller: " << logger.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<controller::Catalog> catalog = controller::LoadCatalog(spec);
  if (!catalog.ok()) {
    std::cerr << catalog.status().message() << "\nha-controller: --spec " << spec
              << ": refused\n";
    return 1;
  }
  absl::StatusOr<agent::tls::TlsFiles> files =
      agent::tls::LoadTlsFiles(cert, key, client_ca, absl::Now());
  if (!files.ok()) {
    std::cerr << "ha-controller: " << files.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::string> agent_ca_pem = agent::tls::ReadPemFile(agent_ca);
  if (!agent_ca_pem.ok()) {
    std::cerr << "ha-controller: --agent-ca: " << agent_ca_pem.status().message() << "\n";
    return 1;
  }

  controller::FleetOptions fleet_options;
  fleet_options.ca_pem = *agent_ca_pem;
  fleet_options.cert_pem = files->cert_pem;
  fleet_options.key_pem = files->key_pem;
  fleet_options.poll_interval = absl::Milliseconds(*poll_ms);
  size_t node_count = 0;
  for (const auto& c : catalog->clusters) node_count += c.nodes.size();
  const size_t cluster_count = catalog->clusters.size();
  controller::Fleet fleet(*std::move(catalog), fleet_options);
  fleet.Start();

  controller::HttpOptions http;
  http.host = http_at.host;
  http.port = http_at.port;
  http.tls_cert = cert;
  http.tls_key = key;
  http.tls_client_ca = client_ca;
  controller::HttpServer http_server(fleet, **logger);
  if (absl::Status s = http_server.Start(http); !s.ok()) {
    std::cerr << "ha-controller: " << s.message() << "\n";
    fleet.Stop();
    return 1;
  }

  // gRPC: the client's certificate is requested and judged per call by
  // ApiAuth, as the agent does it.
  agent::EventHub audit_hub;
  agent::ApiAuth auth(**logger, audit_hub);
  absl::StatusOr<std::shared_ptr<const agent::CertVerifier>> verifier =
      agent::CertVerifierForCa(files->ca_pem);
  if (!verifier.ok()) {
    std::cerr << "ha-controller: --tls-client-ca: " << verifier.status().message() << "\n";
    return 1;
  }
  auth.SetCertVerifier(*std::move(verifier));
  controller::ClientFiles client_files{agent_ca, cert, key};
  controller::ControllerService service(fleet, client_files, auth);
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  ssl.pem_root_certs = files->ca_pem;
  ssl.pem_key_cert_pairs.push_back({files->key_pem, files->cert_pem});
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(agent::JoinHostPort(grpc_at.host, grpc_at.port), grpc::SslServerCredentials(ssl),
                           &bound);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(controller::kMaxBodyBytes));
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || bound == 0) {
    std::cerr << "ha-controller: --grpc-listen: cannot listen on " << grpc_listen << "\n";
    http_server.Stop();
    fleet.Stop();
    return 1;
  }
  (*logger)->Info(absl::StrCat("ha-controller watches ", cluster_count, " cluster(s), ", node_count,
                               " node(s); HTTPS on ", agent::JoinHostPort(http_at.host, http_server.port()),
                               ", gRPC on ", agent::JoinHostPort(grpc_at.host, bound)));

  // Type=notify: both listeners are up.
  agent::SystemdNotifier notifier;
  notifier.Ready(absl::StrCat("watching ", cluster_count, " cluster(s), ", node_count, " node(s)"));
  int sig = 0;
  sigwait(&signals, &sig);
  notifier.Stopping(absl::StrCat("stopping on signal ", sig));
  (*logger)->Info(absl::StrCat("ha-controller stopping (signal ", sig, ")"));
  fleet.Stop();  // ends the event streams first
  grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  http_server.Stop();
  return 0;
}
