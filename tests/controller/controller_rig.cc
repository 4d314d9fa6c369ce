#include "tests/controller/controller_rig.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {

std::string HaControllerPath() { return RunfilePath("controller/ha-controller"); }

ControllerRig::~ControllerRig() {
  if (process_.pid() > 0) {
    (void)process_.Kill(SIGKILL);
    (void)process_.Wait(absl::Seconds(5));
  }
}

std::string ControllerRig::Log() const { return ReadFile(process_.log_path()); }

std::string ControllerRig::BaseUrl() const {
  return absl::StrCat("https://", options_.host, ":", options_.http_port);
}

absl::Status ControllerRig::Start(const ControllerRigOptions& options) {
  options_ = options;
  auto log = harness::NewLogPath("ha-controller");
  if (!log.ok()) return log.status();
  const std::string& d = options.cert_dir;
  auto p = harness::SpawnProcess(
      {HaControllerPath(), "--spec", options.spec, "--listen",
       absl::StrCat(options.host, ":", options.http_port), "--grpc-listen",
       absl::StrCat(options.host, ":", options.grpc_port), "--tls-cert", d + "/server.crt",
       "--tls-key", d + "/server.key", "--tls-client-ca", d + "/ca.crt", "--poll-interval",
       options.poll_interval},
      *log);
  if (!p.ok()) return p.status();
  process_ = *std::move(p);
  auto client = Https("reader");
  client->set_connection_timeout(1, 0);
  if (!harness::WaitFor(
          [&] {
            auto r = client->Get("/v1/whoami");
            return r && r->status == 200;
          },
          absl::Seconds(20))) {
    return absl::DeadlineExceededError(absl::StrCat("ha-controller never answered; log:\n", Log()));
  }
  return absl::OkStatus();
}

std::unique_ptr<httplib::SSLClient> ControllerRig::Https(const std::string& name) const {
  const std::string& d = options_.cert_dir;
  std::unique_ptr<httplib::SSLClient> c =
      name.empty() ? std::make_unique<httplib::SSLClient>(options_.host, options_.http_port)
                   : std::make_unique<httplib::SSLClient>(options_.host, options_.http_port,
                                                          absl::StrCat(d, "/", name, ".crt"),
                                                          absl::StrCat(d, "/", name, ".key"));
  c->set_ca_cert_path((d + "/ca.crt").c_str());
  c->enable_server_certificate_verification(true);
  c->set_read_timeout(10, 0);
  return c;
}

std::unique_ptr<controller::v1::Controller::Stub> ControllerRig::Grpc(
    const std::string& name) const {
  const std::string& d = options_.cert_dir;
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ReadFile(d + "/ca.crt");
  o.pem_cert_chain = ReadFile(absl::StrCat(d, "/", name, ".crt"));
  o.pem_private_key = ReadFile(absl::StrCat(d, "/", name, ".key"));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return controller::v1::Controller::NewStub(grpc::CreateCustomChannel(
      absl::StrCat(options_.host, ":", options_.grpc_port), grpc::SslCredentials(o), args));
}

}  // namespace hacluster::testing
