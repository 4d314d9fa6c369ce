// hacli's exit statuses: the same numbers for every subcommand, so that a
// script can tell "try another node" (3) from "fix the certificate" (4) from
// "the cluster said no" (1) without reading the message.
//
//   0  done
//   1  the operation failed (invalid input, the agent refused or failed it)
//   2  usage error (the command line, a missing or unreadable file it names)
//   3  no agent reachable (the socket, or every --server)
//   4  permission denied: no certificate, a bad one, or a role that may not
//      do this
//   5  timed out waiting (no answer in time, or the operation did not
//      complete within --timeout)
//
// ExitCodeFor() in connection.h maps a call's outcome to these.
//
// Thread-safety: constants only.
#ifndef HACLUSTER_CLI_EXIT_CODES_H_
#define HACLUSTER_CLI_EXIT_CODES_H_

namespace hacluster::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;
inline constexpr int kExitDenied = 4;
inline constexpr int kExitTimedOut = 5;

// The table above as help text (ends with a newline), for --help and the
// README to say the same thing.
inline constexpr char kExitStatusHelp[] =
    "Exit status (the same for every subcommand):\n"
    "  0  done\n"
    "  1  the operation failed\n"
    "  2  usage error\n"
    "  3  no agent reachable\n"
    "  4  permission denied: no certificate, a bad one, or a role that may not do this\n"
    "  5  timed out waiting\n";

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_EXIT_CODES_H_
