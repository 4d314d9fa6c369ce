#include "cli/connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "cli/exit_codes.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace hacluster::cli {
namespace {

namespace v1 = agent::v1;

std::string Env(const GetEnv& getenv, const char* name) {
  const char* value = getenv(name);
  return value == nullptr ? "" : value;
}

// Every entry split at commas, blanks around the items and empty items
// dropped ("a:1, b:2," -> a:1 b:2).
std::vector<std::string> SplitList(const std::vector<std::string>& entries) {
  std::vector<std::string> items;
  for (const std::string& entry : entries) {
    for (absl::string_view item : absl::StrSplit(entry, ',', absl::SkipWhitespace())) {
      items.emplace_back(absl::StripAsciiWhitespace(item));
    }
  }
  return items;
}

// "node01:7443", "192.0.2.11:7443", "[2001:db8::11]:7443". Not a gRPC URI
// ("dns:///...", "unix:..."): a server is dialled over TCP with TLS only.
absl::Status CheckHostPort(absl::string_view server) {
  const size_t colon = server.rfind(':');
  absl::string_view host = server.substr(0, colon == absl::string_view::npos ? 0 : colon);
  int port = 0;
  bool ok = colon != absl::string_view::npos && !host.empty() &&
            absl::SimpleAtoi(server.substr(colon + 1), &port) && port > 0 && port < 65536 &&
            host.find('/') == absl::string_view::npos;
  if (ok && host.front() == '[') {
    ok = host.size() > 2 && host.back() == ']';
  } else if (ok) {
    ok = host.find_first_of(":[]") == absl::string_view::npos;  // IPv6 needs brackets
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--server '", server,
                   "' is not HOST:PORT (e.g. node01:7443, 192.0.2.11:7443, [2001:db8::11]:7443)"));
}

// The socket: the flag, else HACLI_SOCKET, else the default.
absl::StatusOr<ConnectionOptions> SocketOnly(const ConnectionOptions& given, std::string socket) {
  ConnectionOptions resolved;
  if (socket.empty()) {
    socket = access(kPackagedAgentSocket, F_OK) == 0 ? kPackagedAgentSocket : kDefaultAgentSocket;
  }
  resolved.socket = std::move(socket);
  resolved.connect_timeout = given.connect_timeout;
  // gRPC would only say that the target is invalid.
  if (resolved.socket.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the socket path ", resolved.socket, " is longer than ",
                     sizeof(sockaddr_un::sun_path) - 1, " bytes, the most a Unix socket may have"));
  }
  return resolved;
}

// The CA and the client's pair for servers, each flag beating its variable.
absl::Status ResolveTls(const ConnectionOptions& given, const GetEnv& getenv,
                        ConnectionOptions& resolved) {
  resolved.ca = given.ca.empty() ? Env(getenv, "HACLI_CA") : given.ca;
  // The pair comes from one place, so a flag never pairs with a variable's
  // file that belongs to another certificate.
  const bool pair_from_flags = !given.cert.empty() || !given.key.empty();
  resolved.cert = pair_from_flags ? given.cert : Env(getenv, "HACLI_CERT");
  resolved.key = pair_from_flags ? given.key : Env(getenv, "HACLI_KEY");
  if (resolved.ca.empty()) {
    return absl::InvalidArgumentError(
        "--server needs --ca FILE (or HACLI_CA): the CA certificate the agents' certificates "
        "are checked against");
  }
  if (resolved.cert.empty() != resolved.key.empty()) {
    std::string given_one = pair_from_flags ? "--cert" : "HACLI_CERT";
    std::string missing = pair_from_flags ? "--key" : "HACLI_KEY";
    if (resolved.cert.empty()) std::swap(given_one, missing);
    return absl::InvalidArgumentError(absl::StrCat(
        given_one, " needs ", missing, ": the client certificate and its key go together"));
  }
  return absl::OkStatus();
}

// A PEM file's contents; InvalidArgument naming the file and its flag.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", flag, " file ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (!absl::StrContains(contents.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " file ", path, " holds no PEM block (no -----BEGIN line)"));
  }
  return contents.str();
}

absl::StatusOr<grpc::SslCredentialsOptions> ReadTlsFiles(const ConnectionOptions& resolved) {
  grpc::SslCredentialsOptions tls;
  absl::StatusOr<std::string> ca = ReadPem(resolved.ca, "--ca");
  if (!ca.ok()) return ca.status();
  tls.pem_root_certs = *std::move(ca);
  if (resolved.cert.empty()) return tls;  // no client certificate: the agent decides
  absl::StatusOr<std::string> cert = ReadPem(resolved.cert, "--cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(resolved.key, "--key");
  if (!key.ok()) return key.status();
  tls.pem_cert_chain = *std::move(cert);
  tls.pem_private_key = *std::move(key);
  return tls;
}

// What one call of the standard health check on a channel came to. Any gRPC
// server answers it at once, if only with UNIMPLEMENTED, and it changes
// nothing: a way to read what gRPC tells only through a call.
struct Probe {
  grpc::Status status;
  std::shared_ptr<const grpc::AuthContext> peer;  // the handshake's; null if none
};

Probe HealthCheck(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Slice empty;  // an empty HealthCheckRequest: the server's overall health
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  Probe probe;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   probe.status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  probe.peer = ctx.auth_context();
  return probe;
}

// gRPC keeps why a channel could not connect (refused, TLS handshake, peer
// name check) and fails calls that do not wait for the channel with it.
std::string LastConnectError(const std::shared_ptr<grpc::Channel>& channel,
                             absl::Duration timeout) {
  Probe probe = HealthCheck(channel, timeout);
  if (probe.status.ok() || probe.status.error_message().empty()) return "the connection failed";
  return probe.status.error_message();
}

// OK once `channel` is ready; Unavailable with the reason at its first
// failure (no waiting out the timeout for a refused connection), or when
// `timeout` passes first.
absl::Status WaitReady(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout) {
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return absl::UnavailableError(LastConnectError(channel, timeout));
    }
    if (!channel->WaitForStateChange(state, deadline)) {
      return absl::UnavailableError(
          absl::StrCat("no connection within ", absl::FormatDuration(timeout)));
    }
    state = channel->GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

// The HOST of HOST:PORT, without the brackets of an IPv6 address.
absl::string_view HostOf(absl::string_view server) {
  absl::string_view host = server.substr(0, server.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return host;
}

// An IP address as its bytes (4 or 16); nullopt when `text` is none.
std::optional<std::string> IpBytes(absl::string_view text) {
  const std::string s(text);
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    return std::string(reinterpret_cast<const char*>(&v6), sizeof(v6));
  }
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return std::string(reinterpret_cast<const char*>(&v4), sizeof(v4));
  }
  return std::nullopt;
}

// The IP subjectAltNames of the agent's certificate, from the handshake on
// the ready `channel`.
absl::StatusOr<std::vector<std::string>> PeerIpNames(const std::shared_ptr<grpc::Channel>& channel,
                                                     absl::Duration timeout) {
  Probe probe = HealthCheck(channel, timeout);
  if (probe.peer == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("no TLS peer to check: ", probe.status.error_message()));
  }
  std::vector<std::string> names;
  for (const grpc::string_ref& ip : probe.peer->FindPropertyValues(GRPC_PEER_IP_PROPERTY_NAME)) {
    names.emplace_back(ip.data(), ip.size());
  }
  return names;
}

// gRPC's own name check compares the subjectAltNames' text with HOST, so it
// also accepts a DNS name spelled as the IP address dialled. An address is
// only an agent's when its certificate lists it as an IP address.
absl::Status CheckIpSubjectAltName(const std::shared_ptr<grpc::Channel>& channel,
                                   absl::string_view server, absl::Duration timeout) {
  std::optional<std::string> dialled = IpBytes(HostOf(server));
  if (!dialled.has_value()) return absl::OkStatus();  // a name: gRPC checked it
  absl::StatusOr<std::vector<std::string>> names = PeerIpNames(channel, timeout);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    if (IpBytes(name) == dialled) return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("the agent's certificate does not name ", HostOf(server),
                   " as an IP address (subjectAltName IP:", HostOf(server), ")"));
}

std::shared_ptr<grpc::Channel> TlsChannel(const std::string& server,
                                          const grpc::SslCredentialsOptions& tls) {
  grpc::ChannelArguments args;
  // A channel of its own to each server: one that failed a moment ago (in
  // another channel of this process) is tried afresh, not left in back-off.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // The target is HOST:PORT: gRPC checks the agent's certificate against the
  // CA, and HOST against the text of its subjectAltNames (see
  // CheckIpSubjectAltName for what it leaves out).
  return grpc::CreateCustomChannel(server, grpc::SslCredentials(tls), args);
}

absl::StatusOr<AgentConnection> ConnectFirstServer(const ConnectionOptions& resolved,
                                                   const grpc::SslCredentialsOptions& tls) {
  std::vector<std::string> failures;
  for (const std::string& server : resolved.servers) {
    std::shared_ptr<grpc::Channel> channel = TlsChannel(server, tls);
    absl::Status ready = WaitReady(channel, resolved.connect_timeout);
    if (ready.ok()) ready = CheckIpSubjectAltName(channel, server, resolved.connect_timeout);
    if (ready.ok()) return AgentConnection{server, /*remote=*/true, v1::Agent::NewStub(channel)};
    failures.push_back(absl::StrCat("  ", server, ": ", ready.message()));
  }
  return absl::UnavailableError(
      absl::StrCat("no agent reachable over TLS:\n", absl::StrJoin(failures, "\n")));
}

}  // namespace

const char kConnectionEnvironmentHelp[] =
    "Environment (a flag beats its variable):\n"
    "  HACLI_SOCKET  the local agent's socket, as --socket\n"
    "  HACLI_SERVER  remote agents, a comma-separated list, as --server\n"
    "  HACLI_CA      as --ca\n"
    "  HACLI_CERT    as --cert (taken with HACLI_KEY, unless --cert or --key is given)\n"
    "  HACLI_KEY     as --key\n";

void AddConnectionFlags(CLI::App& app, ConnectionOptions& options) {
  app.add_option("--socket", options.socket,
                 "The local agent's API socket (default: $HACLI_SOCKET, else "
                 "/run/ha-agent/agent.sock if it exists, else /var/lib/ha-agent/agent.sock)")
      ->type_name("PATH");
  app.add_option("--server", options.servers,
                 "A remote agent's API, over TCP with mutual TLS; repeat it or give a "
                 "comma-separated list: the first that answers is used (default: $HACLI_SERVER)")
      ->type_name("HOST:PORT")
      ->allow_extra_args(false);  // one value per --server, never the words after it
  app.add_option("--ca", options.ca,
                 "With --server: the CA certificate (PEM) the agents' certificates must chain "
                 "to; their name or IP address must match HOST (default: $HACLI_CA)")
      ->type_name("FILE");
  app.add_option("--cert", options.cert,
                 "With --server: this client's certificate (PEM), which the agent checks and "
                 "whose role it enforces (default: $HACLI_CERT)")
      ->type_name("FILE");
  app.add_option("--key", options.key, "With --cert: its private key (PEM) (default: $HACLI_KEY)")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--connect-timeout",
         [&options](const std::string& text) {
           absl::Duration d;
           if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() ||
               d > absl::Minutes(5)) {
             throw CLI::ValidationError("--connect-timeout",
                                        "'" + text +
                                            "' is not a duration from 1ms to 5m, "
                                            "e.g. 2s, 500ms");
           }
           options.connect_timeout = d;
         },
         "With --server: how long each server gets to answer before the next is tried "
         "(default 2s)")
      ->type_name("DURATION");
}

GetEnv ProcessEnvironment() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

absl::StatusOr<ConnectionOptions> ResolveConnection(const ConnectionOptions& given,
                                                    const GetEnv& getenv) {
  const bool tls_flags = !given.ca.empty() || !given.cert.empty() || !given.key.empty();
  std::vector<std::string> servers = SplitList(given.servers);
  std::string socket = given.socket;
  if (!socket.empty() && !servers.empty()) {
    return absl::InvalidArgumentError("give --socket or --server, not both");
  }
  if (socket.empty() && servers.empty()) {
    socket = Env(getenv, "HACLI_SOCKET");
    servers = SplitList({Env(getenv, "HACLI_SERVER")});
    if (!socket.empty() && !servers.empty()) {
      return absl::InvalidArgumentError(
          "HACLI_SOCKET and HACLI_SERVER are both set: unset one, or choose with --socket or "
          "--server");
    }
  }
  if (servers.empty()) {
    if (tls_flags) {
      return absl::InvalidArgumentError(
          "--ca, --cert and --key go with --server: the local socket needs none");
    }
    return SocketOnly(given, std::move(socket));
  }
  for (const std::string& server : servers) {
    absl::Status ok = CheckHostPort(server);
    if (!ok.ok()) return ok;
  }
  ConnectionOptions resolved;
  resolved.servers = std::move(servers);
  resolved.connect_timeout = given.connect_timeout;
  absl::Status tls = ResolveTls(given, getenv, resolved);
  if (!tls.ok()) return tls;
  return resolved;
}

absl::StatusOr<AgentConnection> ConnectToAgent(const ConnectionOptions& given) {
  absl::StatusOr<ConnectionOptions> resolved = ResolveConnection(given, ProcessEnvironment());
  if (!resolved.ok()) return resolved.status();
  if (resolved->servers.empty()) {
    // Connecting would fail with "unavailable" alone: say that it is a
    // matter of permission, and how to get it.
    if (access(resolved->socket.c_str(), W_OK) != 0 && errno == EACCES) {
      return absl::PermissionDeniedError(absl::StrCat(
          "no permission to use the agent's socket ", resolved->socket,
          ": root may, and members of its group (the spec's api.unix_socket_group) may read"));
    }
    return AgentConnection{resolved->socket, /*remote=*/false,
                           v1::Agent::NewStub(grpc::CreateChannel(
                               "unix:" + resolved->socket, grpc::InsecureChannelCredentials()))};
  }
  absl::StatusOr<grpc::SslCredentialsOptions> tls = ReadTlsFiles(*resolved);
  if (!tls.ok()) return tls.status();
  return ConnectFirstServer(*resolved, *tls);
}

int ExitCodeFor(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::UNAVAILABLE:
      return kExitUnreachable;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitDenied;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitTimedOut;
    default:
      return kExitFailed;
  }
}

int ExitCodeFor(const absl::Status& s) {
  if (s.ok()) return kExitOk;
  if (absl::IsInvalidArgument(s)) return kExitUsage;
  if (absl::IsUnavailable(s)) return kExitUnreachable;
  if (absl::IsPermissionDenied(s) || absl::IsUnauthenticated(s)) return kExitDenied;
  return kExitFailed;
}

}  // namespace hacluster::cli
