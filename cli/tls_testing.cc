#include "cli/tls_testing.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/harness/process.h"

namespace hacluster::cli::tls_testing {
namespace {

namespace v1 = agent::v1;

// openssl with no configuration file: only what the arguments say goes into
// the certificates (a system openssl.cnf could add CA extensions to leaves).
absl::Status OpenSsl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  harness::SpawnOptions options;
  options.env = std::vector<std::string>{"OPENSSL_CONF=/dev/null"};
  absl::StatusOr<std::string> out = harness::RunOrError(args, absl::Seconds(30), options);
  return out.ok() ? absl::OkStatus() : out.status();
}

absl::Status MakeCa(const std::string& dir, const std::string& name) {
  return OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", dir + "/" + name + ".key", "-out", dir + "/" + name + ".pem", "-days",
                  "2", "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign"});
}

// A leaf signed by `dir`/ca; `san` may be empty.
absl::Status MakeLeaf(const std::string& dir, const std::string& name, const std::string& cn,
                      const std::string& san) {
  std::vector<std::string> args = {"req",
                                   "-x509",
                                   "-CA",
                                   dir + "/ca.pem",
                                   "-CAkey",
                                   dir + "/ca.key",
                                   "-newkey",
                                   "ec",
                                   "-pkeyopt",
                                   "ec_paramgen_curve:P-256",
                                   "-nodes",
                                   "-keyout",
                                   dir + "/" + name + ".key",
                                   "-out",
                                   dir + "/" + name + ".pem",
                                   "-days",
                                   "2",
                                   "-subj",
                                   "/CN=" + cn,
                                   "-addext",
                                   "basicConstraints=critical,CA:FALSE"};
  if (!san.empty()) {
    args.push_back("-addext");
    args.push_back("subjectAltName=" + san);
  }
  return OpenSsl(args);
}

}  // namespace

absl::StatusOr<TestPki> TestPki::Make(const std::string& dir) {
  for (absl::Status s : {
           MakeCa(dir, "ca"),
           MakeCa(dir, "other-ca"),
           MakeLeaf(dir, "server", "node01", "IP:127.0.0.1,IP:::1"),
           MakeLeaf(dir, "client", "admin", ""),
           MakeLeaf(dir, "elsewhere", "node09", "IP:192.0.2.9"),
           MakeLeaf(dir, "dns-ip", "node01", "DNS:127.0.0.1"),
       }) {
    if (!s.ok()) return s;
  }
  return TestPki(dir);
}

std::string ReadFileForTest(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

grpc::Status FakeTlsAgent::GetStatus(grpc::ServerContext* ctx, const v1::GetStatusRequest*,
                                     v1::GetStatusResponse* response) {
  if (ctx->auth_context()->FindPropertyValues("x509_pem_cert").empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no client certificate");
  }
  bool hang;
  {
    absl::MutexLock lock(&mu_);
    hang = hang_;
  }
  if (hang) {
    // Until the test lets go or the caller's deadline cancels the call.
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (!ctx->IsCancelled() && absl::Now() < give_up &&
           !released_.WaitForNotificationWithTimeout(absl::Milliseconds(20))) {
    }
    return grpc::Status(grpc::StatusCode::ABORTED, "released");
  }
  response->set_cluster_name(name_);
  return grpc::Status::OK;
}

grpc::Status FakeTlsAgent::Standby(grpc::ServerContext* ctx, const v1::StandbyRequest*,
                                   v1::OperationResponse*) {
  if (ctx->auth_context()->FindPropertyValues("x509_pem_cert").empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no client certificate");
  }
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "the certificate's role is reader: Standby needs admin");
}

std::unique_ptr<TlsServer> TlsServer::Start(const std::string& host, const TestPki& pki,
                                            const std::string& cert, const std::string& name) {
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  tls.pem_root_certs = ReadFileForTest(pki.Pem("ca"));
  tls.pem_key_cert_pairs.push_back(
      {ReadFileForTest(pki.Key(cert)), ReadFileForTest(pki.Pem(cert))});
  std::unique_ptr<TlsServer> server(new TlsServer(name));
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(host + ":0", grpc::SslServerCredentials(tls), &port);
  builder.RegisterService(&server->agent_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) return nullptr;
  server->address_ = absl::StrCat(host, ":", port);
  return server;
}

TlsServer::~TlsServer() {
  agent_.Release();
  if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

}  // namespace hacluster::cli::tls_testing
