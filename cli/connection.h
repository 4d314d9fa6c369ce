// How hacli reaches an agent: the local agent's Unix socket (no setup), or
// remote agents over TCP, always with mutual TLS, trying each --server in
// order and using the first whose channel becomes ready. Also the one
// mapping from a call's outcome to hacli's exit statuses (exit_codes.h).
//
// Where the options come from: the global flags --socket, --server, --ca,
// --cert, --key and --connect-timeout (AddConnectionFlags), then the
// environment (HACLI_SOCKET, HACLI_SERVER, HACLI_CA, HACLI_CERT, HACLI_KEY)
// for what the command line left out (ResolveConnection).
//
// Thread-safety: the functions are independent and may run on any thread.
// An AgentConnection's stub may be used by several threads at once.
#ifndef HACLUSTER_CLI_CONNECTION_H_
#define HACLUSTER_CLI_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "proto/agent.grpc.pb.h"

namespace CLI {
class App;
}  // namespace CLI

namespace hacluster::cli {

// The local agent's socket when neither --socket, --server, HACLI_SOCKET nor
// HACLI_SERVER is given: kPackagedAgentSocket when it exists (the
// package's example spec puts it in the unit's RuntimeDirectory), else
// kDefaultAgentSocket (the agent's default, STATE_DIR/agent.sock).
inline constexpr char kPackagedAgentSocket[] = "/run/ha-agent/agent.sock";
inline constexpr char kDefaultAgentSocket[] = "/var/lib/ha-agent/agent.sock";
// How long each server gets to become ready before the next one is tried.
inline constexpr absl::Duration kDefaultConnectTimeout = absl::Seconds(2);

// The agent to talk to and how; empty strings are "not given".
struct ConnectionOptions {
  std::string socket;                // --socket PATH: the local agent
  std::vector<std::string> servers;  // --server HOST:PORT; an entry may be a comma list
  std::string ca;                    // --ca FILE: PEM, what agents' certificates must chain to
  std::string cert;                  // --cert FILE: PEM, this client's certificate (chain)
  std::string key;                   // --key FILE: PEM, its private key
  absl::Duration connect_timeout = kDefaultConnectTimeout;  // per server
};

// Registers the global connection flags on `app` (hacli's top level, so they
// go before the subcommand), writing into `options` as `app` parses; the
// flag texts name the environment variables. --connect-timeout takes a
// duration such as 2s or 500ms. `options` must outlive the parse.
void AddConnectionFlags(CLI::App& app, ConnectionOptions& options);

// The environment part of --help: each variable and what it stands for.
// Ends with a newline.
extern const char kConnectionEnvironmentHelp[];

// Reads one environment variable: its value, or nullptr when it is unset.
using GetEnv = std::function<const char*(const char* name)>;
// The process's environment (std::getenv).
GetEnv ProcessEnvironment();

// The options as ConnectToAgent uses them: comma lists split, the
// environment filled in where the command line left a gap, and the
// combination checked. A flag beats its variable; a target on the command
// line (--socket or --server) hides both HACLI_SOCKET and HACLI_SERVER;
// --cert and --key are one pair (from the flags if either is given, else
// from HACLI_CERT and HACLI_KEY). The result has either servers (and a CA)
// or a socket (kDefaultAgentSocket when none was given), never both; the
// TLS files are dropped when there is no server.
// InvalidArgument, a usage error naming what is wrong or missing: --socket
// with --server, both variables set, a server that is not HOST:PORT,
// servers without a CA, a certificate without its key or the reverse, TLS
// flags without a server, a socket path too long for a Unix socket.
absl::StatusOr<ConnectionOptions> ResolveConnection(const ConnectionOptions& given,
                                                    const GetEnv& getenv);

// A client of one agent.
struct AgentConnection {
  std::string target;   // the socket path or HOST:PORT: what messages name
  bool remote = false;  // true: TCP with TLS
  std::unique_ptr<agent::v1::Agent::Stub> stub;
};

// Resolves `given` with the process's environment and connects. The socket
// is not dialled here (the first call does it, and fails UNAVAILABLE when no
// agent listens). Servers are tried in order, each for up to its
// connect_timeout (less when it fails at once: refused, TLS handshake, name
// check); the first whose channel is ready is used.
// Errors: InvalidArgument as ResolveConnection, and for a TLS file that
// cannot be read or holds no PEM block, naming it (exit status 2);
// Unavailable when no server became ready, one line per server with gRPC's
// reason (exit status 3).
absl::StatusOr<AgentConnection> ConnectToAgent(const ConnectionOptions& given);

// hacli's exit status for a call's outcome: 0 OK; 3 UNAVAILABLE; 4
// UNAUTHENTICATED and PERMISSION_DENIED; 5 DEADLINE_EXCEEDED; 1 any other.
int ExitCodeFor(const grpc::Status& s);
// ... for a ConnectToAgent error: 2 InvalidArgument, 3 Unavailable, 4
// PermissionDenied (no access to the local socket), 1 other.
int ExitCodeFor(const absl::Status& s);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_CONNECTION_H_
