#include "cli/output.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"

namespace hacluster::cli {

std::string ApiJson(const google::protobuf::Message& m, bool pretty, bool with_defaults) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = pretty;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = with_defaults;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, opts);
  if (!pretty) return out;
  return std::string(absl::StripTrailingAsciiWhitespace(out));
}

std::string ErrorJson(int code, absl::string_view message, absl::string_view target,
                      absl::string_view grpc_status, bool pretty) {
  hacli::v1::ErrorOutput output;
  hacli::v1::Error* error = output.mutable_error();
  error->set_code(code);
  error->set_message(std::string(message));
  error->set_target(std::string(target));
  error->set_grpc_status(std::string(grpc_status));
  return ApiJson(output, pretty, /*with_defaults=*/true);
}

}  // namespace hacluster::cli
