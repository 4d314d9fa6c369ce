// hacli: the operator's and scripts' command-line tool for the cluster.
// This file only parses the command line; the work is in commands.h,
// agent_commands.h and control_commands.h, the agent in connection.h.
#include <cstdlib>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/core/version.h"
#include "cli/agent_commands.h"
#include "cli/apply_command.h"
#include "cli/cert_commands.h"
#include "cli/commands.h"
#include "cli/connection.h"
#include "cli/control_commands.h"
#include "cli/exit_codes.h"
#include "grpc/support/log.h"

namespace {

constexpr char kMigrateHelp[] = R"(
Convert a Heartbeat /etc/ha.d (ha.cf, haresources, authkeys) into one YAML
cluster spec, or write a spec back as Heartbeat files for one node (rollback).

With -o FILE each key's secret goes to a file of its own beside the spec
(cluster.yaml -> cluster.authkey1, mode 0600), which the spec names as the
key's secret_file; on stdout the secrets stay inline. A weak secret (short,
the `openssl md5` label "(stdin)=" of a copied recipe, a documentation
sample) is warned about, and so is every crc, md5 or sha1 key (the agent's
own method is sha256). A spec larger than the 4 MiB a spec file may have is
an error.

--rolling converts for a rolling migration (docs/migration.md is the guide
to the whole procedure): the spec gets `wire: heartbeat3`, so that the
converted node, running ha-agent, joins its peer while the peer still runs
Heartbeat 3. Keys keep their crc, md5 or sha1 method (Heartbeat has no
sha256). What Heartbeat's wire cannot carry is an error at its legacy line:
a serial line, ping and ping_group (the spec's connectivity: add it with
hacli apply after the switch to `wire: native`), and any node count but 2.

Every problem is reported as FILE:LINE: error|warning: ... on stderr. Exit
status: 0 converted (warnings allowed), 1 errors (nothing written), 2 usage.
--format json prints one JSON object on stdout for scripts (-o is the file
or directory to write): {"valid": bool, "diagnostics": [{"file", "line",
"column", "severity", "message"}], "errors", "warnings", "yaml" (the spec,
when no -o FILE was given), "written": [files], "error"}; a usage error
prints {"error": {"code": 2, "message": ...}}.

Examples:
  # one node's directory; YAML on stdout
  hacli migrate --from /etc/ha.d
  # both nodes' directories: checks haresources and authkeys match and
  # derives each node's address from the other node's ucast lines
  hacli migrate --from node01/ha.d --peer node02/ha.d --node node01 -o cluster.yaml
  # rolling migration: node01 runs ha-agent next to node02's Heartbeat
  hacli migrate --from node01/ha.d --peer node02/ha.d --node node01 --rolling -o cluster.yaml
  # rollback: Heartbeat files for node02 (authkeys written mode 0600)
  hacli migrate --to-legacy cluster.yaml --node node02 -o /etc/ha.d
  # for a script: the spec and every problem in one JSON object
  hacli migrate --from /etc/ha.d --format json | jq -r .yaml
)";

constexpr char kValidateHelp[] = R"(
Check a YAML cluster spec: syntax, field types, durations, addresses, and the
cross-field rules (timing, nodes, groups, keys). Every problem is reported as
FILE:LINE:COL: error|warning: ... on stderr; a summary goes to stdout.
Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage.
-o json prints one JSON object on stdout instead of the summary:
{"file", "valid": bool, "diagnostics": [{"file", "line", "column",
"severity", "message"}], "errors", "warnings", and when valid
"cluster_name", "nodes", "groups", "config_version"}.

Examples:
  hacli validate cluster.yaml
  hacli validate cluster.yaml 2>problems.txt || echo "fix the spec first"
  hacli validate cluster.yaml -o json 2>/dev/null | jq '.diagnostics[] | select(.severity == "error")'
)";

constexpr char kDescription[] = R"(hacli: manage a high-availability cluster of ha-agent nodes.
Subcommands: status (the cluster as an agent sees it), watch (follow its
events), standby, takeover, move (move resource groups), operation (follow
one), where (who holds an IP or group), servers (every node, for a GUI),
migrate (legacy /etc/ha.d <-> YAML spec), validate (check a spec), apply (a
new spec to every node, or to none), diff (what an apply would do), cert
(the API's TLS certificates).
The agent commands talk to the local agent's socket, or with --server to
remote agents over TCP with mutual TLS (--ca, --cert, --key); these flags go
before the subcommand. -o json prints one JSON object for scripts.
Run 'hacli SUBCOMMAND --help' for each one's options and examples.)";

constexpr char kApplyHelp[] = R"(
Send a new spec to every live node of the cluster, in two phases: the file
is checked as 'hacli validate' checks it, then every node alive in the
cluster's membership prepares it (checks it against itself, as a reload
does, touching nothing); when one refuses or its API does not answer, every
node drops it and nothing changes; only when all have prepared does every
node commit it (switch to it, bounce only the resources it touches, and make
it its spec file). The nodes and their API addresses come from the spec
itself (api.listen; ':PORT' is each node's own addresses), so no --server:
give the CA and an admin certificate (--ca, --cert, --key or HACLI_CA,
HACLI_CERT, HACLI_KEY, before the subcommand).
Compare-and-swap: the new config_version must be the running one + 1; with
--expect-version N, every node must run N (else it refuses), so that of two
concurrent applies the second is refused. A node dead in the membership is
skipped, and said so: when it returns it fetches the spec from its peers
over the API (catch-up) and starts no group until it has. A node that was
prepared but not committed (hacli killed) commits the spec when it sees a
peer run it, and drops it otherwise when its hold passes (deadtime, at
least 500 ms): every node ends on one version, old or new.

Examples:
  hacli --ca certs/ca.crt --cert certs/ops.crt --key certs/ops.key apply -f cluster.yaml
  hacli apply -f cluster.yaml --expect-version 6
)";

constexpr char kDiffHelp[] = R"(
Print what 'hacli apply' of the file would do on each node, changing
nothing: for each group the resources it would start, stop or restart on
the node that holds it (the others take the new definition), groups added,
removed or moved (a new preferred node moves a group only with
auto_failback on), and node-wide changes (media reopened, timing, keys,
logging, ping targets, API settings). It compares the file with the spec
each node runs (the API's GetSpec) and says when an apply would be refused
(the new config_version must be the running one + 1). The nodes come from
the file's api.listen, as for apply; a reader's certificate may ask.
Exit status 0 when every node answered, 1 when some did not, 3 when none.

Example:
  hacli --ca certs/ca.crt --cert certs/gui.crt --key certs/gui.key diff -f cluster.yaml
)";

constexpr char kStatusHelp[] = R"(
Show what an agent (the local one, unless --server) believes about the
cluster: every node with its state (up, dead, unknown), generation, when it
was last heard, the state of each heartbeat link, its connectivity score
(ping nodes reached) and the config version it runs; then every resource
group with its holder (- when none), state, the node placement wants it on,
its preferred node and its virtual IPs, each of its resources with the last
operation run on that node (e.g. "ip 192.0.2.50: start ok"), and the nodes
it failed on; and a line when this partition has no quorum. -o json prints
the GetStatus answer of the agent API (proto/agent.proto) for scripts; a
failure prints {"error": {"code": N, "message": ...}} instead, N being the
exit status.

Examples:
  hacli status
  hacli --socket /run/ha/agent.sock status -o json | jq '.nodes[] | {name, state}'
  # a remote node over mutual TLS: the first of the two that answers
  hacli --server node01:7443,node02:7443 --ca ca.pem --cert admin.pem --key admin.key status
)";

constexpr char kWatchHelp[] = R"(
Follow an agent's events as they happen: nodes and links going up or dead,
late heartbeats, restarts (new generation), ping nodes, config reloads and
authentication failures, one line each (-o json: one JSON object per line,
and a failure as a last {"error": ...} line). The events the agent still
holds (the last 4096) are shown first; each has an id, so a script can
resume with --after ID. Stops on Ctrl-C, after --count events (exit status
0), or when the agent stops (exit status 1).

Examples:
  hacli watch
  hacli watch --new -o json | while read -r ev; do ...; done
  hacli watch --after 812
  HACLI_SERVER=node02:7443 hacli watch --new    # with HACLI_CA, HACLI_CERT, HACLI_KEY
)";

constexpr char kStandbyHelp[] = R"help(
Give this node's resource groups away, like Heartbeat's hb_standby. SCOPE:
  all       every group this node holds (the default)
  local     the groups whose preferred node is this one
  foreign   the groups preferred elsewhere
  failback  those same groups, back to their preferred node where it can
            take them
"This node" is the local agent's, or with --server the node that answers
(its certificate's role must allow changes: admin).
Each group stops here before another node starts it (never two holders).
The agent waits until every group has moved or --timeout passes (default
30s; e.g. 500ms, 2m); after a timeout the move goes on. One line tells the
outcome, e.g. "done: web on node02 (operation 7)"; -o json prints the
agent's OperationResponse. --no-wait returns at once with "operation N
pending"; follow it with 'hacli operation N'.
Exit status 0 also means accepted (--no-wait); 5 means the groups had not
all moved when --timeout passed (the move goes on).

Examples:
  hacli standby                    # as hb_standby (all)
  hacli standby foreign --timeout 2m
  hacli --socket /run/ha/agent.sock standby --no-wait -o json | jq .operation_id
  hacli --server node01:7443 --ca ca.pem --cert admin.pem --key admin.key standby
)help";

constexpr char kTakeoverHelp[] = R"help(
Take resource groups over to this node, like Heartbeat's hb_takeover. SCOPE:
  all       every group (the default)
  local     the groups whose preferred node is this one
  failback  the same as local
  foreign   the groups preferred elsewhere
"This node" is the local agent's, or with --server the node that answers.
The current holder stops each group before this node starts it (never two
holders). The agent waits until every group has moved or --timeout passes
(default 30s; e.g. 500ms, 2m); after a timeout the move goes on. One line
tells the outcome, e.g. "done: web on node01 (operation 8)"; -o json prints
the agent's OperationResponse. --no-wait returns at once with "operation N
pending"; follow it with 'hacli operation N'.
Exit status 0 also means accepted (--no-wait); 5 means the groups had not
all moved when --timeout passed (the move goes on).

Examples:
  hacli takeover                   # as hb_takeover (all)
  hacli takeover local --timeout 1m
  hacli takeover foreign --no-wait
)help";

constexpr char kMoveHelp[] = R"help(
Move one resource group to one node: its holder stops it, then NODE starts
it. Heartbeat had no such command (one ran hb_standby on the holder). A
move is also how an operator sends a group back to a node it failed on
(listed as "failed on" in 'hacli status'). Any node's agent can move any
group. The agent waits until the group runs on NODE or --timeout passes
(default 30s; e.g. 500ms, 2m); after a timeout the move goes on. One line
tells the outcome, e.g.
  done: web on node02 (operation 7)
  timed out after 30s: web still moving (operation 7)
  failed: no other node can take web: node02 is dead (operation 7)
-o json prints the agent's OperationResponse; --no-wait returns at once with
"operation N pending"; follow it with 'hacli operation N'.
Exit status 0 also means accepted (--no-wait); 1 failed (the line says
why); 5 the group was still moving when --timeout passed (the move goes on).

Examples:
  hacli move web node02
  hacli move db node01 --timeout 2m -o json
  hacli --server node01:7443,node02:7443 move web node02
)help";

constexpr char kOperationHelp[] = R"help(
Show an operation that standby, takeover or move started (the id they
print, e.g. with --no-wait): at once by default, or after waiting up to
--timeout (e.g. 30s, 500ms, 2m) for it to finish. The same one line as those
commands; -o json prints the agent's OperationResponse. An operation is
known to the agent that started it: ask the same node.
Exit status 0 also means still pending when asked without --timeout; 1
failed or unknown operation; 5 still moving when --timeout passed.

Examples:
  hacli operation 7
  hacli operation 7 --timeout 1m || echo "not there yet"
)help";

constexpr char kWhereHelp[] = R"help(
Print the node that holds a virtual IP or a resource group (running or
starting it), alone on a line, or "none" when no node holds it: what a
billing or management GUI asks. -o json prints the agent's WhereResponse
(target, group, holder, state; holder "" when none).
Exit status 0 means answered (a node or none); 1 the agent knows no such IP
or group.

Examples:
  hacli where 192.0.2.50
  [ "$(hacli where web)" = "$(hostname)" ] && echo "web runs here"
  hacli where web -o json | jq -r .state
  hacli --server node02:7443 where 192.0.2.50    # as node02 sees it
)help";

constexpr char kServersHelp[] = R"help(
Print every node of the cluster as an agent sees it, one line each: its
state (up, dead, unknown), its role (active: up and holding a group;
standby: up and holding none; down), its addresses and labels from the spec
(e.g. a GUI's server id), the groups and virtual IPs it holds and the config
version it runs; then which node answered. What a billing or management GUI
shows. -o json prints the agent's ListServersResponse (proto/agent.proto).
A reader's certificate may ask.

Examples:
  hacli servers
  hacli --server node01:7443,node02:7443 servers -o json | jq -r '.nodes[] | select(.role == "active") | .name'
)help";

// The help footer of a subcommand: its text, then the exit status table.
std::string Footer(const char* help) {
  return absl::StrCat(help, "\n", hacluster::cli::kExitStatusHelp);
}

constexpr char kCertHelp[] = R"help(
Make and read the certificates of the agent API's mutual TLS, with nothing
but hacli: one cluster CA, then one certificate per node (it serves the API
and calls its peers), per admin (may act: standby, takeover, move) and per
reader (may only read: status, watch, where, the server list). The role is the certificate's
OU; the cluster name its O.
  init    make the cluster CA: DIR/ca.crt, DIR/ca.key
  issue   make a certificate signed by it: DIR/NAME.crt, DIR/NAME.key
  show    print what a certificate says
Keys are written mode 0600, certificates 0644; nothing is overwritten
without --force. Exit status: 0 done, 1 failed, 2 usage.

Examples:
  hacli cert init --dir /etc/ha-agent/pki --cluster voip
  hacli cert issue --dir /etc/ha-agent/pki --role node --name node01 --san 192.0.2.11
  hacli cert show /etc/ha-agent/pki/node01.crt
)help";

constexpr char kCertInitHelp[] = R"help(
Make the cluster CA: an EC P-256 key in DIR/ca.key (mode 0600) and a
self-signed certificate "O=CLUSTER, CN=CLUSTER cluster CA", valid 10 years,
in DIR/ca.crt. DIR is created (mode 0700) when missing. ca.crt goes to every
node (api.tls_client_ca); keep ca.key where certificates are issued, not on
the nodes. --force replaces an existing CA: every certificate the old one
signed is then refused, so issue them all again.
Exit status: 0 done, 1 failed (e.g. the CA exists), 2 usage.

Examples:
  hacli cert init --dir pki
  hacli cert init --dir /etc/ha-agent/pki --cluster voip
)help";

constexpr char kCertIssueHelp[] = R"help(
Make a certificate signed by DIR/ca.crt and DIR/ca.key: a new EC P-256 key
in DIR/NAME.key (mode 0600) and "O=CLUSTER, OU=ROLE, CN=NAME" in
DIR/NAME.crt. ROLE:
  node    an agent: serves the API and calls its peers (serverAuth and
          clientAuth); give every address clients and peers use with
          --san (at least one)
  admin   a person or tool that may act: standby, takeover, move
  reader  a person or tool that may only read: status, watch, where, the
          server list
--san takes an IPv4 or IPv6 address or a DNS name, once per address. The
certificate starts an hour ago (for clocks a little behind) and lasts
--days (default 825), never beyond the CA: a longer --days is cut to the
CA's end, with a note. Nothing is overwritten without --force, and a failed
run leaves no new file behind.
--p12 also writes DIR/NAME.p12 (mode 0600): the certificate, its key and the
CA in one PKCS#12 bundle, for a person's browser (the dashboard of
ha-controller). Its password is the HACLI_P12_PASSWORD environment variable,
empty when unset (Chromium and Firefox import a bundle with an empty one).
Exit status: 0 done, 1 failed (e.g. no CA in DIR, NAME exists), 2 usage.

Examples:
  hacli cert issue --dir pki --role node --name node01 --san 192.0.2.11 --san 198.51.100.11
  hacli cert issue --dir pki --role admin --name alice --days 365 --p12
  hacli cert issue --dir pki --role reader --name billing-gui
  openssl verify -CAfile pki/ca.crt pki/node01.crt   # any TLS tool agrees
)help";

constexpr char kCertShowHelp[] = R"help(
Print what a certificate (PEM) says: its subject, role (the OU; - when
none), subjectAltNames, validity (marked EXPIRED or not yet valid), whether
it is a CA, and its SHA-256 fingerprint. -o json prints one object with
subject, common_name, role (null when none), sans, not_before, not_after
(RFC 3339, UTC), is_ca, fingerprint_sha256 and expired.
Exit status: 0 shown (even when expired), 1 unreadable or not a
certificate, 2 usage.

Examples:
  hacli cert show pki/node01.crt
  hacli cert show pki/alice.crt -o json | jq -r .not_after
)help";

// The options the write commands share.
void AddWaitOptions(CLI::App* cmd, std::string& timeout, bool& no_wait, std::string& output) {
  cmd->add_option("--timeout", timeout,
                  "How long to wait for the groups to move (default 30s; e.g. 500ms, 2m)")
      ->type_name("DURATION");
  CLI::Option* no_wait_option =
      cmd->add_flag("--no-wait", no_wait, "Return at once with the operation id");
  // --wait is the default, spelled out for scripts that say so.
  static bool wait = false;
  cmd->add_flag("--wait", wait, "Wait until every group has moved (the default)")
      ->excludes(no_wait_option);
  cmd->add_option("-o,--output", output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
}

hacluster::cli::OutputFormat Format(const std::string& output) {
  return output == "json" ? hacluster::cli::OutputFormat::kJson
                          : hacluster::cli::OutputFormat::kText;
}

}  // namespace

int main(int argc, char** argv) {
  // hacli's messages carry gRPC's reason for a failed connection; gRPC's own
  // log lines on stderr would say it again, in its words. GRPC_VERBOSITY
  // still brings them back for debugging.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) gpr_set_log_function([](gpr_log_func_args*) {});
  CLI::App app{kDescription, "hacli"};
  app.require_subcommand(1);
  app.set_version_flag("--version", hacluster::VersionLine("hacli"));
  app.footer(absl::StrCat("\n", hacluster::cli::kConnectionEnvironmentHelp, "\n",
                          hacluster::cli::kExitStatusHelp));
  hacluster::cli::ConnectionOptions connection;
  hacluster::cli::AddConnectionFlags(app, connection);

  hacluster::cli::MigrateArgs margs;
  CLI::App* migrate = app.add_subcommand(
      "migrate", "Convert legacy Heartbeat files to a YAML spec, or back");
  migrate->footer(kMigrateHelp);
  migrate->add_option("--from", margs.from, "Heartbeat directory (ha.cf, haresources, authkeys) to convert")
      ->type_name("DIR");
  migrate->add_option("--peer", margs.peer, "The other node's Heartbeat directory (two-node clusters)")
      ->type_name("DIR");
  migrate->add_option("--node", margs.node,
                      "With --from: the node that --from belongs to (default: found from "
                      "the directory name). With --to-legacy: the node to write files for")
      ->type_name("NAME");
  migrate->add_option("--cluster-name", margs.cluster_name,
                      "Cluster name for the spec (default: from the node names)")
      ->type_name("NAME");
  migrate->add_flag("--rolling", margs.rolling,
                    "With --from: write wire: heartbeat3, for a node that joins a running "
                    "Heartbeat peer (refuses serial, ping/ping_group, node count != 2; "
                    "see docs/migration.md)");
  migrate->add_option("--to-legacy", margs.to_legacy, "YAML spec to write back as Heartbeat files")
      ->type_name("FILE");
  migrate->add_option("-o,--output", margs.output,
                      "With --from: the YAML file to write (mode 0600, its key secrets in "
                      "FILE's stem + .authkeyN beside it; default or '-': stdout). "
                      "With --to-legacy: the directory to write into")
      ->type_name("FILE|DIR");
  std::string migrate_format = "text";
  migrate->add_option("--format", migrate_format,
                      "Output format: text or json (one object on stdout; -o is the file to "
                      "write)")
      ->check(CLI::IsMember({"text", "json"}));

  std::string validate_file;
  std::string validate_output = "text";
  CLI::App* validate = app.add_subcommand("validate", "Check a YAML cluster spec");
  validate->footer(kValidateHelp);
  validate->add_option("FILE", validate_file, "The YAML spec")->required();
  validate->add_option("-o,--output", validate_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  hacluster::cli::ApplyArgs apply_args;
  CLI::App* apply = app.add_subcommand("apply", "Apply a new spec to every node, or to none");
  apply->footer(Footer(kApplyHelp));
  apply->add_option("-f,--file", apply_args.file, "The new YAML spec")
      ->type_name("FILE")
      ->required();
  apply->add_option("--expect-version", apply_args.expect_version,
                    "The config version every node must run now (compare-and-swap)")
      ->type_name("N");

  hacluster::cli::ApplyArgs diff_args;
  CLI::App* diff = app.add_subcommand("diff", "Show what applying a spec would do on each node");
  diff->footer(Footer(kDiffHelp));
  diff->add_option("-f,--file", diff_args.file, "The new YAML spec")
      ->type_name("FILE")
      ->required();

  hacluster::cli::StatusArgs sargs;
  std::string status_output = "text";
  CLI::App* status = app.add_subcommand("status", "Show the cluster as an agent sees it");
  status->footer(Footer(kStatusHelp));
  status->add_option("-o,--output", status_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  hacluster::cli::WatchArgs wargs;
  std::string watch_output = "text";
  CLI::App* watch = app.add_subcommand("watch", "Follow the agent's events");
  watch->footer(Footer(kWatchHelp));
  watch->add_option("-o,--output", watch_output, "Output format: text or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}));
  watch->add_option("--after", wargs.after_id, "Resume after this event id")->type_name("ID");
  watch->add_flag("--new", wargs.only_new, "Only events from now on (skip the held ones)");
  watch->add_option("--count", wargs.count, "Stop after this many events")->type_name("N");

  hacluster::cli::ServersArgs servers_args;
  std::string servers_output = "text";
  CLI::App* servers = app.add_subcommand("servers", "List every node with its role and VIPs");
  servers->footer(Footer(kServersHelp));
  servers->add_option("-o,--output", servers_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  hacluster::cli::ScopeArgs standby_args;
  std::string standby_output = "text";
  CLI::App* standby =
      app.add_subcommand("standby", "Give this node's groups away (hb_standby)");
  standby->footer(Footer(kStandbyHelp));
  standby->add_option("SCOPE", standby_args.scope, "all (default), local, foreign or failback");
  AddWaitOptions(standby, standby_args.timeout, standby_args.no_wait, standby_output);

  hacluster::cli::ScopeArgs takeover_args;
  std::string takeover_output = "text";
  CLI::App* takeover =
      app.add_subcommand("takeover", "Take groups over to this node (hb_takeover)");
  takeover->footer(Footer(kTakeoverHelp));
  takeover->add_option("SCOPE", takeover_args.scope, "all (default), local, foreign or failback");
  AddWaitOptions(takeover, takeover_args.timeout, takeover_args.no_wait, takeover_output);

  hacluster::cli::MoveArgs move_args;
  std::string move_output = "text";
  CLI::App* move = app.add_subcommand("move", "Move one group to one node");
  move->footer(Footer(kMoveHelp));
  move->add_option("GROUP", move_args.group, "The resource group")
      ->type_name("NAME")
      ->required();
  move->add_option("NODE", move_args.node, "The node to run it on")
      ->type_name("NAME")
      ->required();
  AddWaitOptions(move, move_args.timeout, move_args.no_wait, move_output);

  hacluster::cli::OperationArgs operation_args;
  std::string operation_output = "text";
  CLI::App* operation =
      app.add_subcommand("operation", "Show (or wait for) a standby, takeover or move");
  operation->footer(Footer(kOperationHelp));
  operation->add_option("ID", operation_args.operation_id, "The operation id")
      ->type_name("N")
      ->required();
  operation->add_option("--timeout", operation_args.timeout,
                        "Wait up to this long for it to finish (default: answer at once; "
                        "e.g. 30s, 500ms, 2m)")
      ->type_name("DURATION");
  operation->add_option("-o,--output", operation_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  hacluster::cli::WhereArgs where_args;
  std::string where_output = "text";
  CLI::App* where = app.add_subcommand("where", "Print the node holding a virtual IP or group");
  where->footer(Footer(kWhereHelp));
  where->add_option("TARGET", where_args.target, "A virtual IP address or a group name")
      ->type_name("IP|GROUP")
      ->required();
  where->add_option("-o,--output", where_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  CLI::App* cert = app.add_subcommand("cert", "Make and read the API's TLS certificates");
  cert->footer(kCertHelp);
  cert->require_subcommand(1);

  hacluster::cli::CertInitArgs cert_init_args;
  CLI::App* cert_init = cert->add_subcommand("init", "Make the cluster CA");
  cert_init->footer(kCertInitHelp);
  cert_init->add_option("--dir", cert_init_args.dir, "Where to write ca.crt and ca.key")
      ->type_name("DIR")
      ->required();
  cert_init->add_option("--cluster", cert_init_args.cluster,
                        "The cluster name, the O of every certificate (default hacluster)")
      ->type_name("NAME");
  cert_init->add_flag("--force", cert_init_args.force, "Replace an existing CA");

  hacluster::cli::CertIssueArgs cert_issue_args;
  CLI::App* cert_issue = cert->add_subcommand("issue", "Make a certificate signed by the CA");
  cert_issue->footer(kCertIssueHelp);
  cert_issue->add_option("--dir", cert_issue_args.dir, "The directory of 'hacli cert init'")
      ->type_name("DIR")
      ->required();
  cert_issue->add_option("--role", cert_issue_args.role, "node, admin or reader")
      ->type_name("ROLE")
      ->required()
      ->check(CLI::IsMember({"node", "admin", "reader"}));
  cert_issue->add_option("--name", cert_issue_args.name,
                         "The node, person or tool (the CN; files DIR/NAME.crt and .key)")
      ->type_name("NAME")
      ->required();
  cert_issue->add_option("--san", cert_issue_args.sans,
                         "An address of the node (IP or DNS name); repeat for each")
      ->type_name("ADDR");
  cert_issue->add_option("--days", cert_issue_args.days,
                         "How long the certificate lasts (default 825, at most the CA's end)")
      ->type_name("N");
  cert_issue->add_flag("--force", cert_issue_args.force, "Replace DIR/NAME.crt and DIR/NAME.key");
  cert_issue->add_flag("--p12", cert_issue_args.p12,
                       "Also write DIR/NAME.p12, a PKCS#12 bundle for a browser (password: "
                       "$HACLI_P12_PASSWORD, empty when unset)");

  hacluster::cli::CertShowArgs cert_show_args;
  std::string cert_show_output = "text";
  CLI::App* cert_show = cert->add_subcommand("show", "Print what a certificate says");
  cert_show->footer(kCertShowHelp);
  cert_show->add_option("FILE", cert_show_args.file, "A PEM certificate")->required();
  cert_show->add_option("-o,--output", cert_show_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints help, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "hacli: " << e.what() << "\nRun 'hacli --help' or 'hacli SUBCOMMAND --help'.\n";
    return hacluster::cli::kExitUsage;
  }

  if (apply->parsed()) {
    apply_args.connection = connection;
    return hacluster::cli::RunApply(apply_args, std::cout, std::cerr);
  }
  if (diff->parsed()) {
    diff_args.connection = connection;
    return hacluster::cli::RunDiff(diff_args, std::cout, std::cerr);
  }
  if (status->parsed()) {
    sargs.connection = connection;
    if (status_output == "json") sargs.format = hacluster::cli::OutputFormat::kJson;
    return hacluster::cli::RunStatus(sargs, std::cout, std::cerr);
  }
  if (watch->parsed()) {
    wargs.connection = connection;
    if (watch_output == "json") wargs.format = hacluster::cli::OutputFormat::kJson;
    return hacluster::cli::RunWatch(wargs, std::cout, std::cerr);
  }
  if (servers->parsed()) {
    servers_args.connection = connection;
    servers_args.format = Format(servers_output);
    return hacluster::cli::RunServers(servers_args, std::cout, std::cerr);
  }
  if (standby->parsed()) {
    standby_args.connection = connection;
    standby_args.format = Format(standby_output);
    return hacluster::cli::RunStandby(standby_args, std::cout, std::cerr);
  }
  if (takeover->parsed()) {
    takeover_args.connection = connection;
    takeover_args.format = Format(takeover_output);
    return hacluster::cli::RunTakeover(takeover_args, std::cout, std::cerr);
  }
  if (move->parsed()) {
    move_args.connection = connection;
    move_args.format = Format(move_output);
    return hacluster::cli::RunMove(move_args, std::cout, std::cerr);
  }
  if (operation->parsed()) {
    operation_args.connection = connection;
    operation_args.format = Format(operation_output);
    return hacluster::cli::RunOperation(operation_args, std::cout, std::cerr);
  }
  if (where->parsed()) {
    where_args.connection = connection;
    where_args.format = Format(where_output);
    return hacluster::cli::RunWhere(where_args, std::cout, std::cerr);
  }
  if (cert_init->parsed()) {
    return hacluster::cli::RunCertInit(cert_init_args, absl::Now(), std::cout, std::cerr);
  }
  if (cert_issue->parsed()) {
    if (const char* pass = std::getenv("HACLI_P12_PASSWORD")) cert_issue_args.p12_password = pass;
    return hacluster::cli::RunCertIssue(cert_issue_args, absl::Now(), std::cout, std::cerr);
  }
  if (cert_show->parsed()) {
    cert_show_args.format = Format(cert_show_output);
    return hacluster::cli::RunCertShow(cert_show_args, absl::Now(), std::cout, std::cerr);
  }
  if (migrate->parsed()) {
    margs.format = Format(migrate_format);
    return hacluster::cli::RunMigrate(margs, std::cout, std::cerr);
  }
  if (validate->parsed()) {
    return hacluster::cli::RunValidate(validate_file, std::cout, std::cerr,
                                       Format(validate_output));
  }
  std::cerr << app.help();
  return hacluster::cli::kExitUsage;
}
