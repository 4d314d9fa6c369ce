// How hacli prints for scripts: `-o json` is the protobuf JSON mapping of an
// agent API message (proto/agent.proto) or of one of hacli's own output
// messages (cli/hacli_output.proto), with the .proto field names; a failed
// command prints one {"error": {...}} object instead.
//
// Thread-safety: pure functions.
#ifndef HACLUSTER_CLI_OUTPUT_H_
#define HACLUSTER_CLI_OUTPUT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "cli/hacli_output.pb.h"
#include "google/protobuf/message.h"

namespace hacluster::cli {

enum class OutputFormat { kText, kJson };

// The protobuf JSON mapping of `m` with the .proto field names; `pretty`
// spreads it over lines, else one line. `with_defaults` also prints fields
// left at their default ("holder": "" rather than no holder key).
std::string ApiJson(const google::protobuf::Message& m, bool pretty, bool with_defaults = false);

// {"error": {"code": CODE, "message": MESSAGE, "target": TARGET,
// "grpc_status": GRPC_STATUS}} with every field present; `code` is the exit
// status. One line unless `pretty`.
std::string ErrorJson(int code, absl::string_view message, absl::string_view target,
                      absl::string_view grpc_status, bool pretty);

}  // namespace hacluster::cli

#endif  // HACLUSTER_CLI_OUTPUT_H_
