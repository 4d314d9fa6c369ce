// hacli's exit statuses, the same numbers for every subcommand, which
// scripts rely on: 0 success (warnings allowed), 1 the input is invalid or
// an operation failed, 2 the command line is wrong.
//
// Thread-safety: constants only.
#ifndef HACLUSTER_CLI_EXIT_CODES_H_
#define HACLUSTER_CLI_EXIT_CODES_H_

namespace hacluster::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_EXIT_CODES_H_
