// cl_status: Heartbeat's status tool as a drop-in over ha-agent. This file
// only handles the drop-in's own options; the work is in
// heartbeat_dropin_run.h and heartbeat_dropins.h.
//
// The command line is parsed by hand, not with CLI11 or Abseil flags:
// Heartbeat's grammar (a sub-command, then getopt letters anywhere, its own
// messages and exit codes) must come out exactly as Heartbeat's.
#include <iostream>

#include "cli/heartbeat_dropin_run.h"

namespace {

constexpr char kHelp[] = R"(Usage: cl_status <sub-command> [<options>] [<parameters>]
       cl_status [--socket PATH | --server HOST:PORT --ca F --cert F --key F] <sub-command> ...

A drop-in for Heartbeat's cl_status: monitoring checks (check_mk's and
Nagios' Heartbeat checks) and scripts that call cl_status run unchanged
against ha-agent. It prints what Heartbeat 3.0.6's cl_status prints, with
the same exit codes, from the local agent's status:
  hbstatus [-v]                    Heartbeat is running/stopped on this machine
  listnodes [-n|-p|-v]             the nodes, then the ping nodes (-p), last first
  nodestatus NODE                  active, dead, or ping (0 when up, else 1)
  nodetype NODE                    normal or ping
  listhblinks [-v] NODE            the node's heartbeat links
  hblinkstatus NODE LINK           up or dead (0 when up, else 1)
  rscstatus                        all, local, foreign, none or transition
  hbparameter -p NAME              keepalive, warntime, deadtime, initdead
  nodeweight, nodesite, clientstatus as Heartbeat answers them by default
-m makes any answer a sentence; 'cl_status' alone prints Heartbeat's help.
Exit codes: 0 ok/up, 1 down or the agent not running ("Heartbeat is
stopped on this machine."), 11 bad sub-command, option or node, 12 no answer
within 5 s, 13 unknown link.

)";

constexpr char kHelpTail[] = "Install it as /usr/bin/cl_status in place of Heartbeat's.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace hacluster::cli::heartbeat;
  DropinFlags flags = ParseDropinFlags(argc, argv, /*with_timeout=*/false);
  if (flags.help) {
    std::cout << kHelp << kDropinConnectionHelp << kHelpTail;
    return 0;
  }
  if (flags.version) {
    std::cout << DropinVersion("cl_status");
    return 0;
  }
  if (!flags.error.empty()) {
    std::cerr << "cl_status: " << flags.error << "\nRun 'cl_status --help'.\n";
    return kClParameterError;
  }
  return RunClStatus(flags, ConnectDropinAgent(flags), std::cout, std::cerr);
}
