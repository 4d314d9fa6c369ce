#include "cli/connection.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/tls_testing.h"
#include "gtest/gtest.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;
using tls_testing::TestPki;
using tls_testing::TlsServer;

// --- exit statuses ---

TEST(ExitCodeForTest, MapsEachCallOutcomeToTheDocumentedStatus) {
  EXPECT_EQ(ExitCodeFor(grpc::Status::OK), kExitOk);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")), kExitDenied);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "")), kExitDenied);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "")), kExitTimedOut);
  for (grpc::StatusCode failed :
       {grpc::StatusCode::NOT_FOUND, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::UNIMPLEMENTED,
        grpc::StatusCode::CANCELLED, grpc::StatusCode::INTERNAL, grpc::StatusCode::ABORTED}) {
    EXPECT_EQ(ExitCodeFor(grpc::Status(failed, "")), kExitFailed) << failed;
  }
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitFailed, 1);
  EXPECT_EQ(kExitUsage, 2);
  EXPECT_EQ(kExitUnreachable, 3);
  EXPECT_EQ(kExitDenied, 4);
  EXPECT_EQ(kExitTimedOut, 5);
}

TEST(ExitCodeForTest, ConnectErrorsAreUsageOrUnreachable) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("no --ca")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("none answered")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("?")), kExitFailed);
}

// --- where the options come from ---

class ResolveConnectionTest : public ::testing::Test {
 protected:
  GetEnv Env() {
    return [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
  }
  absl::StatusOr<ConnectionOptions> Resolve(const ConnectionOptions& given) {
    return ResolveConnection(given, Env());
  }
  static ConnectionOptions Servers(std::vector<std::string> servers) {
    ConnectionOptions o;
    o.servers = std::move(servers);
    o.ca = "ca.pem";
    return o;
  }
  // The usage error's message; "" when it resolved.
  std::string UsageError(const ConnectionOptions& given) {
    absl::StatusOr<ConnectionOptions> r = Resolve(given);
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    return std::string(r.status().message());
  }
  std::map<std::string, std::string> env_;
};

TEST_F(ResolveConnectionTest, NothingGivenIsTheDefaultSocket) {
  absl::StatusOr<ConnectionOptions> r = Resolve({});
  ASSERT_TRUE(r.ok()) << r.status();
  // The packaged agent's socket when there is one on this host.
  EXPECT_EQ(r->socket, access(kPackagedAgentSocket, F_OK) == 0 ? kPackagedAgentSocket
                                                                : kDefaultAgentSocket);
  EXPECT_TRUE(r->servers.empty());
}

TEST_F(ResolveConnectionTest, SocketFlagBeatsEnvironmentBeatsDefault) {
  env_["HACLI_SOCKET"] = "/run/x.sock";
  EXPECT_EQ(Resolve({})->socket, "/run/x.sock");
  ConnectionOptions given;
  given.socket = "/tmp/y.sock";
  EXPECT_EQ(Resolve(given)->socket, "/tmp/y.sock");
}

TEST_F(ResolveConnectionTest, ServersComeInOrderFromRepeatedFlagsAndCommaLists) {
  absl::StatusOr<ConnectionOptions> r =
      Resolve(Servers({"node01:7443,node02:7443", " [2001:db8::3]:7443 ,", "192.0.2.4:7443"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->servers, (std::vector<std::string>{"node01:7443", "node02:7443",
                                                  "[2001:db8::3]:7443", "192.0.2.4:7443"}));
  EXPECT_EQ(r->socket, "");
  EXPECT_EQ(r->ca, "ca.pem");
}

TEST_F(ResolveConnectionTest, EnvironmentGivesServersAndTlsFiles) {
  env_["HACLI_SERVER"] = "node01:7443,node02:7443";
  env_["HACLI_CA"] = "/etc/hacli/ca.pem";
  env_["HACLI_CERT"] = "/etc/hacli/admin.pem";
  env_["HACLI_KEY"] = "/etc/hacli/admin.key";
  absl::StatusOr<ConnectionOptions> r = Resolve({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->servers, (std::vector<std::string>{"node01:7443", "node02:7443"}));
  EXPECT_EQ(r->ca, "/etc/hacli/ca.pem");
  EXPECT_EQ(r->cert, "/etc/hacli/admin.pem");
  EXPECT_EQ(r->key, "/etc/hacli/admin.key");
}

TEST_F(ResolveConnectionTest, FlagsBeatTheirVariables) {
  env_["HACLI_SERVER"] = "node01:7443";
  env_["HACLI_CA"] = "env-ca.pem";
  env_["HACLI_CERT"] = "env.pem";
  env_["HACLI_KEY"] = "env.key";
  ConnectionOptions given = Servers({"node02:7443"});
  given.cert = "flag.pem";
  given.key = "flag.key";
  absl::StatusOr<ConnectionOptions> r = Resolve(given);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->servers, std::vector<std::string>{"node02:7443"});
  EXPECT_EQ(r->ca, "ca.pem");
  EXPECT_EQ(r->cert, "flag.pem");
  EXPECT_EQ(r->key, "flag.key");
}

TEST_F(ResolveConnectionTest, ATargetOnTheCommandLineHidesBothTargetVariables) {
  env_["HACLI_SOCKET"] = "/run/env.sock";
  env_["HACLI_SERVER"] = "node01:7443";
  env_["HACLI_CA"] = "ca.pem";
  ConnectionOptions socket;
  socket.socket = "/run/flag.sock";
  absl::StatusOr<ConnectionOptions> r = Resolve(socket);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->socket, "/run/flag.sock");
  EXPECT_TRUE(r->servers.empty());
  EXPECT_EQ(r->ca, "");  // the variables' TLS files are for servers only

  ConnectionOptions server;
  server.servers = {"node02:7443"};
  r = Resolve(server);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->servers, std::vector<std::string>{"node02:7443"});
  EXPECT_EQ(r->socket, "");
}

TEST_F(ResolveConnectionTest, CertificateAndKeyComeAsOnePair) {
  env_["HACLI_CERT"] = "env.pem";
  env_["HACLI_KEY"] = "env.key";
  ConnectionOptions given = Servers({"node01:7443"});
  given.cert = "flag.pem";  // never paired with HACLI_KEY
  EXPECT_EQ(UsageError(given),
            "--cert needs --key: the client certificate and its key go together");
  given.cert = "";
  given.key = "flag.key";
  EXPECT_EQ(UsageError(given),
            "--key needs --cert: the client certificate and its key go together");
  env_.erase("HACLI_KEY");
  EXPECT_EQ(UsageError(Servers({"node01:7443"})),
            "HACLI_CERT needs HACLI_KEY: the client certificate and its key go together");
}

TEST_F(ResolveConnectionTest, NoClientCertificateIsAllowed) {
  // The agent answers such calls UNAUTHENTICATED; hacli does not guess.
  absl::StatusOr<ConnectionOptions> r = Resolve(Servers({"node01:7443"}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cert, "");
  EXPECT_EQ(r->key, "");
}

TEST_F(ResolveConnectionTest, ServerWithoutCaIsAUsageErrorNamingIt) {
  ConnectionOptions given;
  given.servers = {"node01:7443"};
  EXPECT_TRUE(absl::StartsWith(UsageError(given), "--server needs --ca FILE (or HACLI_CA)"))
      << UsageError(given);
}

TEST_F(ResolveConnectionTest, SocketAndServerTogetherAreAUsageError) {
  ConnectionOptions given = Servers({"node01:7443"});
  given.socket = "/run/a.sock";
  EXPECT_EQ(UsageError(given), "give --socket or --server, not both");
  env_["HACLI_SOCKET"] = "/run/a.sock";
  env_["HACLI_SERVER"] = "node01:7443";
  EXPECT_TRUE(absl::StartsWith(UsageError({}), "HACLI_SOCKET and HACLI_SERVER are both set"));
}

TEST_F(ResolveConnectionTest, ASocketPathTooLongForUnixSocketsIsAUsageError) {
  ConnectionOptions given;
  given.socket = "/" + std::string(107, 's');
  EXPECT_TRUE(absl::StrContains(UsageError(given), "is longer than 107 bytes"))
      << UsageError(given);
  given.socket.pop_back();
  EXPECT_EQ(UsageError(given), "");
}

TEST_F(ResolveConnectionTest, TlsFlagsWithoutAServerAreAUsageError) {
  ConnectionOptions given;
  given.ca = "ca.pem";
  EXPECT_EQ(UsageError(given),
            "--ca, --cert and --key go with --server: the local socket needs none");
}

TEST_F(ResolveConnectionTest, ServersMustBeHostColonPort) {
  for (const char* bad :
       {"node01", "node01:", ":7443", "node01:0", "node01:65536", "node01:x", "::1:7443", "[::1]",
        "[]:7443", "dns:///node01:7443", "unix:/run/agent.sock"}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(absl::StartsWith(UsageError(Servers({bad})),
                                 absl::StrCat("--server '", bad, "' is not HOST:PORT")))
        << UsageError(Servers({bad}));
  }
  for (const char* good : {"node01:7443", "192.0.2.11:1", "[::1]:65535"}) {
    EXPECT_EQ(UsageError(Servers({good})), "") << good;
  }
}

// --- the flags ---

TEST(ConnectionFlagsTest, ServerIsRepeatableTakesListsAndLeavesTheSubcommand) {
  CLI::App app;
  ConnectionOptions options;
  AddConnectionFlags(app, options);
  CLI::App* status = app.add_subcommand("status");
  app.parse(
      "--server a:1 --server b:2,c:3 --ca ca.pem --cert c.pem --key k.pem "
      "--connect-timeout 500ms status",
      /*program_name_included=*/false);
  EXPECT_TRUE(status->parsed());
  absl::StatusOr<ConnectionOptions> r =
      ResolveConnection(options, [](const char*) { return static_cast<const char*>(nullptr); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->servers, (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  EXPECT_EQ(r->ca, "ca.pem");
  EXPECT_EQ(r->cert, "c.pem");
  EXPECT_EQ(r->key, "k.pem");
  EXPECT_EQ(r->connect_timeout, absl::Milliseconds(500));
}

TEST(ConnectionFlagsTest, ConnectTimeoutWithoutAUnitIsAParseError) {
  CLI::App app;
  ConnectionOptions options;
  AddConnectionFlags(app, options);
  EXPECT_THROW(app.parse("--connect-timeout 2", /*program_name_included=*/false), CLI::ParseError);
  EXPECT_EQ(options.connect_timeout, kDefaultConnectTimeout);
}

// --- connecting ---

class ConnectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/pki-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    absl::StatusOr<TestPki> pki = TestPki::Make(tmpl);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new TestPki(*pki);
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(pki_, nullptr) << "no test PKI";
    for (const char* name :
         {"HACLI_SOCKET", "HACLI_SERVER", "HACLI_CA", "HACLI_CERT", "HACLI_KEY"}) {
      unsetenv(name);
    }
  }

  std::unique_ptr<TlsServer> Serve(const std::string& name, const std::string& cert = "server",
                                   const std::string& host = "127.0.0.1") {
    return TlsServer::Start(host, *pki_, cert, name);
  }
  // An address where nothing listens: a server's, once it is gone.
  std::string DownAddress() {
    std::unique_ptr<TlsServer> gone = Serve("gone");
    EXPECT_NE(gone, nullptr);
    return gone == nullptr ? "127.0.0.1:1" : gone->address();
  }
  static ConnectionOptions Admin(std::vector<std::string> servers) {
    ConnectionOptions o;
    o.servers = std::move(servers);
    o.ca = pki_->Pem("ca");
    o.cert = pki_->Pem("client");
    o.key = pki_->Key("client");
    return o;
  }
  static grpc::Status CallStatus(AgentConnection& c, v1::GetStatusResponse* response,
                                 absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return c.stub->GetStatus(&ctx, v1::GetStatusRequest(), response);
  }

  static TestPki* pki_;
};
TestPki* ConnectTest::pki_ = nullptr;

TEST_F(ConnectTest, StatusOverTlsWithAClientCertificateIsAnswered) {
  std::unique_ptr<TlsServer> node01 = Serve("node01");
  ASSERT_NE(node01, nullptr);
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({node01->address()}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->target, node01->address());
  EXPECT_TRUE(c->remote);
  v1::GetStatusResponse status;
  grpc::Status s = CallStatus(*c, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.cluster_name(), "node01");
}

TEST_F(ConnectTest, Ipv6LiteralIsCheckedAgainstTheIpSubjectAltName) {
  std::unique_ptr<TlsServer> node01 = Serve("node01", "server", "[::1]");
  if (node01 == nullptr) GTEST_SKIP() << "no IPv6 loopback here";
  EXPECT_TRUE(absl::StartsWith(node01->address(), "[::1]:")) << node01->address();
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({node01->address()}));
  ASSERT_TRUE(c.ok()) << c.status();
  v1::GetStatusResponse status;
  grpc::Status s = CallStatus(*c, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.cluster_name(), "node01");
}

TEST_F(ConnectTest, AServerCertificateFromAnotherCaIsUnreachableWithTheReason) {
  std::unique_ptr<TlsServer> node01 = Serve("node01");
  ASSERT_NE(node01, nullptr);
  ConnectionOptions options = Admin({node01->address()});
  options.ca = pki_->Pem("other-ca");
  absl::StatusOr<AgentConnection> c = ConnectToAgent(options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ExitCodeFor(c.status()), kExitUnreachable);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "  " + node01->address() + ": "))
      << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "certificate verify failed")) << c.status();
}

TEST_F(ConnectTest, ACertificateForAnotherAddressIsRefused) {
  std::unique_ptr<TlsServer> node09 = Serve("node09", "elsewhere");
  ASSERT_NE(node09, nullptr);
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({node09->address()}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ExitCodeFor(c.status()), kExitUnreachable);
  EXPECT_TRUE(absl::StrContains(c.status().message(), node09->address())) << c.status();
  EXPECT_TRUE(
      absl::StrContains(c.status().message(), "Peer name 127.0.0.1 is not in peer certificate"))
      << c.status();
}

TEST_F(ConnectTest, AnIpAddressDoesNotMatchADnsNameSpelledTheSame) {
  std::unique_ptr<TlsServer> node01 = Serve("node01", "dns-ip");
  ASSERT_NE(node01, nullptr);
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({node01->address()}));
  ASSERT_FALSE(c.ok()) << "accepted a certificate with DNS:127.0.0.1 for " << node01->address();
  EXPECT_EQ(ExitCodeFor(c.status()), kExitUnreachable);
  EXPECT_EQ(c.status().message(),
            absl::StrCat("no agent reachable over TLS:\n  ", node01->address(),
                         ": the agent's certificate does not name 127.0.0.1 as an IP address "
                         "(subjectAltName IP:127.0.0.1)"));
}

TEST_F(ConnectTest, WithoutAClientCertificateTheCallIsDenied) {
  std::unique_ptr<TlsServer> node01 = Serve("node01");
  ASSERT_NE(node01, nullptr);
  ConnectionOptions options = Admin({node01->address()});
  options.cert = options.key = "";
  absl::StatusOr<AgentConnection> c = ConnectToAgent(options);
  ASSERT_TRUE(c.ok()) << c.status();
  v1::GetStatusResponse status;
  grpc::Status s = CallStatus(*c, &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(ExitCodeFor(s), kExitDenied);
}

TEST_F(ConnectTest, AReadersWriteIsDenied) {
  std::unique_ptr<TlsServer> node01 = Serve("node01");
  ASSERT_NE(node01, nullptr);
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({node01->address()}));
  ASSERT_TRUE(c.ok()) << c.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::OperationResponse op;
  grpc::Status s = c->stub->Standby(&ctx, v1::StandbyRequest(), &op);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(ExitCodeFor(s), kExitDenied);
}

TEST_F(ConnectTest, NoServerUpIsUnreachableListingEachWithItsReason) {
  const std::string a = DownAddress();
  const std::string b = DownAddress();
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({a, b}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ExitCodeFor(c.status()), kExitUnreachable);
  const std::string message(c.status().message());
  EXPECT_TRUE(absl::StartsWith(message, "no agent reachable over TLS:\n")) << message;
  EXPECT_TRUE(absl::StrContains(message, "\n  " + a + ": ")) << message;
  EXPECT_TRUE(absl::StrContains(message, "\n  " + b + ": ")) << message;
  EXPECT_LT(message.find(a), message.find(b)) << message;
  EXPECT_TRUE(absl::StrContains(message, "Connection refused")) << message;
}

TEST_F(ConnectTest, TheFirstServerDownTheSecondAnswers) {
  const std::string down = DownAddress();
  std::unique_ptr<TlsServer> node02 = Serve("node02");
  ASSERT_NE(node02, nullptr);
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({down, node02->address()}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->target, node02->address());
  v1::GetStatusResponse status;
  ASSERT_TRUE(CallStatus(*c, &status).ok());
  EXPECT_EQ(status.cluster_name(), "node02");
}

TEST_F(ConnectTest, TheFirstServerThatAnswersIsUsedNotTheLast) {
  std::unique_ptr<TlsServer> node01 = Serve("node01");
  std::unique_ptr<TlsServer> node02 = Serve("node02");
  ASSERT_NE(node01, nullptr);
  ASSERT_NE(node02, nullptr);
  absl::StatusOr<AgentConnection> c =
      ConnectToAgent(Admin({absl::StrCat(node01->address(), ",", node02->address())}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->target, node01->address());
}

// A TCP listener that never accepts: the kernel completes the handshake, but
// no TLS answer ever comes.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd_, 8) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  }
  ~SilentListener() {
    if (fd_ >= 0) close(fd_);
  }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

TEST_F(ConnectTest, AServerSilentForTheConnectTimeoutIsPassedOver) {
  SilentListener silent;
  ASSERT_FALSE(silent.address().empty());
  std::unique_ptr<TlsServer> node02 = Serve("node02");
  ASSERT_NE(node02, nullptr);
  ConnectionOptions options = Admin({silent.address(), node02->address()});
  options.connect_timeout = absl::Milliseconds(300);
  absl::StatusOr<AgentConnection> c = ConnectToAgent(options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->target, node02->address());

  options.servers = {silent.address()};
  c = ConnectToAgent(options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), absl::StrCat("no agent reachable over TLS:\n  ", silent.address(),
                                               ": no connection within 300ms"));
}

TEST_F(ConnectTest, NoAnswerWithinTheCallsDeadlineIsTimedOut) {
  std::unique_ptr<TlsServer> node01 = Serve("node01");
  ASSERT_NE(node01, nullptr);
  node01->agent().Hang();
  absl::StatusOr<AgentConnection> c = ConnectToAgent(Admin({node01->address()}));
  ASSERT_TRUE(c.ok()) << c.status();
  v1::GetStatusResponse status;
  grpc::Status s = CallStatus(*c, &status, absl::Milliseconds(200));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  EXPECT_EQ(ExitCodeFor(s), kExitTimedOut);
}

TEST_F(ConnectTest, UnreadableOrNonPemFilesAreUsageErrorsNamingTheFile) {
  ConnectionOptions options = Admin({"127.0.0.1:1"});
  options.ca = "/nonexistent/ca.pem";
  absl::StatusOr<AgentConnection> c = ConnectToAgent(options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ExitCodeFor(c.status()), kExitUsage);
  EXPECT_EQ(c.status().message(),
            "cannot read --ca file /nonexistent/ca.pem: No such file or directory");

  options = Admin({"127.0.0.1:1"});
  options.key = pki_->Pem("ca") + ".missing";
  c = ConnectToAgent(options);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "cannot read --key file " + options.key))
      << c.status();

  std::string not_pem = std::string(getenv("TEST_TMPDIR")) + "/not.pem";
  std::ofstream(not_pem) << "hello\n";
  options = Admin({"127.0.0.1:1"});
  options.cert = not_pem;
  c = ConnectToAgent(options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ExitCodeFor(c.status()), kExitUsage);
  EXPECT_EQ(c.status().message(),
            absl::StrCat("--cert file ", not_pem, " holds no PEM block (no -----BEGIN line)"));
}

TEST_F(ConnectTest, TheSocketIsUsedWithoutServersAndDialledByTheFirstCall) {
  ConnectionOptions options;
  options.socket = "/nonexistent/agent.sock";
  absl::StatusOr<AgentConnection> c = ConnectToAgent(options);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->target, options.socket);
  EXPECT_FALSE(c->remote);
  v1::GetStatusResponse status;
  grpc::Status s = CallStatus(*c, &status);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(ExitCodeFor(s), kExitUnreachable);
}

}  // namespace
}  // namespace hacluster::cli
