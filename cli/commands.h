// hacli's subcommands as functions: arguments in, exit status out, all text
// to the given streams. The binary (hacli.cc) only parses the command line
// and calls these, so tests run them in-process.
//
// Exit statuses scripts can rely on (exit_codes.h): 0 success (warnings
// allowed), 1 the input is invalid or an operation failed, 2 the command
// line is wrong.
//
// Thread-safety: each call is independent; the streams are not shared.
#ifndef HACLUSTER_CLI_COMMANDS_H_
#define HACLUSTER_CLI_COMMANDS_H_

#include <ostream>
#include <string>

#include "cli/exit_codes.h"
#include "cli/output.h"

namespace hacluster::cli {

struct MigrateArgs {
  // legacy -> spec
  std::string from;          // this node's /etc/ha.d
  std::string peer;          // the other node's /etc/ha.d (optional)
  std::string node;          // which node `from` belongs to (optional)
  std::string cluster_name;  // optional
  // --rolling: the spec gets wire: heartbeat3 (the node joins a running
  // Heartbeat peer); what that wire cannot carry is an error.
  bool rolling = false;
  // spec -> legacy
  std::string to_legacy;     // spec file
  // both: output file (spec) or directory (legacy); empty = stdout (spec)
  std::string output;
  // kJson: one hacli.v1.MigrateOutput object on `out` (the YAML inside it,
  // when it would have gone to stdout), or an ErrorOutput for a usage error.
  OutputFormat format = OutputFormat::kText;
};

// `hacli migrate`: legacy /etc/ha.d -> YAML spec, or spec -> legacy files
// for one node. Diagnostics go to `err`; the YAML to `out` when no output
// file is given.
int RunMigrate(const MigrateArgs& args, std::ostream& out, std::ostream& err);

// `hacli validate FILE`: diagnostics to `err`, a one-line summary to `out`,
// or with kJson one hacli.v1.ValidateOutput object (hacli_output.proto).
int RunValidate(const std::string& file, std::ostream& out, std::ostream& err,
                OutputFormat format = OutputFormat::kText);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_COMMANDS_H_
