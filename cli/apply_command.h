// hacli apply and hacli diff. apply: one spec to every live node of the cluster, or to none, in
// two phases over the agents' mutual-TLS API. The nodes and their API
// addresses come from the spec itself (api.listen, ":PORT" being each
// node's own addresses). Every node alive in the cluster's membership must
// prepare the spec; when one refuses or does not answer, every node that
// prepared drops it and nothing changes. Only then does every node commit.
// A node that is dead in the membership is skipped (said so).
//
// Thread-safety: RunApply may run on any thread; it shares nothing.
#ifndef HACLUSTER_CLI_APPLY_COMMAND_H_
#define HACLUSTER_CLI_APPLY_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "cli/connection.h"

namespace hacluster::cli {

struct ApplyArgs {
  std::string file;
  // Compare-and-swap: the config version the nodes must run now (0: the
  // one they report, when they all report the same).
  uint64_t expect_version = 0;
  // --ca, --cert, --key and --connect-timeout (servers and socket unused).
  ConnectionOptions connection;
  // Each call's deadline.
  absl::Duration timeout = absl::Seconds(30);
};

// Validates the file as `hacli validate` does, then applies it; prints one
// line per node and step, then the outcome. hacli's exit statuses.
int RunApply(const ApplyArgs& args, std::ostream& out, std::ostream& err);

// RunApply on a spec's text rather than a file (the controller's Apply):
// `source` names it in messages, and relative paths in it (key files) are
// checked against `base_dir`. args.file is unused.
int ApplySpecText(const std::string& spec_text, const std::string& source,
                  const std::string& base_dir, const ApplyArgs& args, std::ostream& out,
                  std::ostream& err);

// hacli diff: what applying the file would do on each node (cli/spec_plan),
// against the spec each node runs (GetSpec) and who holds each group now;
// changes nothing. A reader's certificate may ask. 0 when every node
// answered; 3 when none did; 1 when some did not.
int RunDiff(const ApplyArgs& args, std::ostream& out, std::ostream& err);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_APPLY_COMMAND_H_
