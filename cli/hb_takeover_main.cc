// hb_takeover: Heartbeat's hb_takeover as a drop-in over ha-agent. This file
// only handles the drop-in's own options; the work is in
// heartbeat_dropin_run.h and heartbeat_dropins.h. (Parsed by hand: the one
// Heartbeat argument and its messages must be exactly Heartbeat's.)
#include <string>

#include "cli/heartbeat_dropin_run.h"

namespace {

constexpr char kHelpHead[] =
    R"(Usage: hb_takeover [--socket PATH | --server HOST:PORT ...] [--timeout D] [all|foreign|local|failback]

A drop-in for Heartbeat's hb_takeover: scripts that call it run unchanged
against ha-agent. It takes resource groups over to this node:
  all       every group (the default)
  local     the groups whose preferred node is this one
  foreign   the groups preferred elsewhere
  failback  every group: Heartbeat 3.0.6 takes all for it
Each group stops on one node before another starts it (never two holders).
Unlike Heartbeat's, which only posts the request, it waits until every
group has moved: exit 0 then, 1 when the move failed or --timeout passed
(default 30s; e.g. 500ms, 2m; the move goes on) or the agent could not be
reached, 2 for a bad argument (Heartbeat's usage text). Silent on success,
as Heartbeat; 'hacli takeover' tells more.

)";

constexpr char kHelpTail[] = R"(Install it as /usr/share/heartbeat/hb_takeover (or where
your scripts look for it) in place of Heartbeat's.

Example:
  hb_takeover local
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace hacluster::cli::heartbeat;
  return HbMain(HbTool::kTakeover, std::string(kHelpHead) + kDropinConnectionHelp + kHelpTail, argc,
                argv);
}
