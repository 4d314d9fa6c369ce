// hacli: the operator's and scripts' command-line tool for the cluster.
// This file only parses the command line; the work is in commands.h.
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "cli/agent_commands.h"
#include "cli/commands.h"

namespace {

constexpr char kMigrateHelp[] = R"(
Convert a Heartbeat /etc/ha.d (ha.cf, haresources, authkeys) into one YAML
cluster spec, or write a spec back as Heartbeat files for one node (rollback).

Every problem is reported as FILE:LINE: error|warning: ... on stderr. Exit
status: 0 converted (warnings allowed), 1 errors (nothing written), 2 usage.

Examples:
  # one node's directory; YAML on stdout
  hacli migrate --from /etc/ha.d
  # both nodes' directories: checks haresources and authkeys match and
  # derives each node's address from the other node's ucast lines
  hacli migrate --from node01/ha.d --peer node02/ha.d --node node01 -o cluster.yaml
  # rollback: Heartbeat files for node02 (authkeys written mode 0600)
  hacli migrate --to-legacy cluster.yaml --node node02 -o /etc/ha.d
)";

constexpr char kValidateHelp[] = R"(
Check a YAML cluster spec: syntax, field types, durations, addresses, and the
cross-field rules (timing, nodes, groups, keys). Every problem is reported as
FILE:LINE:COL: error|warning: ... on stderr; a summary goes to stdout.
Exit status: 0 valid (warnings allowed), 1 invalid, 2 usage.

Examples:
  hacli validate cluster.yaml
  hacli validate cluster.yaml 2>problems.txt || echo "fix the spec first"
)";

constexpr char kStatusHelp[] = R"(
Show what the local agent believes about the cluster: every node with its
state (up, dead, unknown), generation, when it was last heard, the state of
each heartbeat link, its connectivity score (ping nodes reached) and the
config version it runs. -o json prints the GetStatus answer of the agent API
(proto/agent.proto) for scripts.
Exit status: 0 answered, 1 the agent could not be reached, 2 usage.

Examples:
  hacli status
  hacli --socket /run/ha/agent.sock status -o json | jq '.nodes[] | {name, state}'
)";

constexpr char kWatchHelp[] = R"(
Follow the agent's events as they happen: nodes and links going up or dead,
late heartbeats, restarts (new generation), ping nodes, config reloads and
authentication failures, one line each (-o json: one JSON object per line).
The events the agent still holds (the last 4096) are shown first; each has
an id, so a script can resume with --after ID. Stops on Ctrl-C, after
--count events, or when the agent stops (exit status 1).

Examples:
  hacli watch
  hacli watch --new -o json | while read -r ev; do ...; done
  hacli watch --after 812
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hacli: manage a high-availability cluster of ha-agent nodes.\n"
      "Subcommands: status (the cluster as the local agent sees it), watch "
      "(follow its events),\nmigrate (legacy /etc/ha.d <-> YAML spec), validate (check "
      "a spec).\nRun 'hacli SUBCOMMAND --help' for each one's options and "
      "examples.",
      "hacli"};
  app.require_subcommand(1);

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
  migrate->add_option("--to-legacy", margs.to_legacy, "YAML spec to write back as Heartbeat files")
      ->type_name("FILE");
  migrate->add_option("-o,--output", margs.output,
                      "With --from: the YAML file to write (mode 0600; default or '-': "
                      "stdout). "
                      "With --to-legacy: the directory to write into")
      ->type_name("FILE|DIR");

  std::string validate_file;
  CLI::App* validate = app.add_subcommand("validate", "Check a YAML cluster spec");
  validate->footer(kValidateHelp);
  validate->add_option("FILE", validate_file, "The YAML spec")->required();

  std::string socket;
  app.add_option("--socket", socket,
                 "The agent's API socket (default: $HACLI_SOCKET, else "
                 "/var/lib/ha-agent/agent.sock)")
      ->type_name("PATH");

  hacluster::cli::StatusArgs sargs;
  std::string status_output = "text";
  CLI::App* status = app.add_subcommand("status", "Show the cluster as the local agent sees it");
  status->footer(kStatusHelp);
  status->add_option("-o,--output", status_output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  hacluster::cli::WatchArgs wargs;
  std::string watch_output = "text";
  CLI::App* watch = app.add_subcommand("watch", "Follow the agent's events");
  watch->footer(kWatchHelp);
  watch->add_option("-o,--output", watch_output, "Output format: text or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}));
  watch->add_option("--after", wargs.after_id, "Resume after this event id")->type_name("ID");
  watch->add_flag("--new", wargs.only_new, "Only events from now on (skip the held ones)");
  watch->add_option("--count", wargs.count, "Stop after this many events")->type_name("N");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // prints help, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "hacli: " << e.what() << "\nRun 'hacli --help' or 'hacli SUBCOMMAND --help'.\n";
    return hacluster::cli::kExitUsage;
  }

  if (status->parsed()) {
    sargs.socket = socket;
    if (status_output == "json") sargs.format = hacluster::cli::OutputFormat::kJson;
    return hacluster::cli::RunStatus(sargs, std::cout, std::cerr);
  }
  if (watch->parsed()) {
    wargs.socket = socket;
    if (watch_output == "json") wargs.format = hacluster::cli::OutputFormat::kJson;
    return hacluster::cli::RunWatch(wargs, std::cout, std::cerr);
  }
  if (migrate->parsed()) return hacluster::cli::RunMigrate(margs, std::cout, std::cerr);
  if (validate->parsed()) return hacluster::cli::RunValidate(validate_file, std::cout, std::cerr);
  std::cerr << app.help();
  return hacluster::cli::kExitUsage;
}
