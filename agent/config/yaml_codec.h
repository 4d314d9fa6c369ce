// The YAML form of a cluster spec: parsing with file:line:col diagnostics,
// and canonical writing.
//
// The mapping is generic over the proto (protobuf reflection), so a field
// added to proto/cluster_spec.proto is readable and writable with no change
// here: YAML keys are proto field names, nested messages are maps, repeated
// fields are sequences, map<string, string> fields are maps, Duration
// fields are duration strings ("500ms", "2s", or a plain number of seconds),
// enums are their lower-case value names without the enum's prefix
// (AUTH_METHOD_SHA256 -> `sha256`, AUTO_FAILBACK_ON -> `on`), and bools are
// true/false (yes/no and on/off are accepted on input). Unknown keys,
// duplicate keys, wrong types, out-of-range numbers and two members of one
// oneof are errors naming the key and its place in the file. After 100
// unknown keys the file is not read further (an error says where), and
// "did you mean" suggestions stop after config::SuggestionBudget's limit.
//
// SpecToYaml writes the canonical form: fields in proto field order, unset
// fields left out, map entries sorted by key, durations in their shortest
// exact form. ParseSpecYaml(SpecToYaml(s)).spec equals s for every spec
// whose durations are whole non-negative milliseconds and whose strings are
// valid UTF-8, and canonical YAML survives YAML -> spec -> YAML unchanged.
//
// Thread-safety: pure functions (LoadSpecFile reads the file system).
#ifndef HACLUSTER_AGENT_CONFIG_YAML_CODEC_H_
#define HACLUSTER_AGENT_CONFIG_YAML_CODEC_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/config/diagnostics.h"
#include "agent/config/validate.h"
#include "proto/cluster_spec.pb.h"

namespace hacluster::config {

// The result of reading a spec: the spec itself (whatever could be read of
// it), where each of its fields was written, and every problem found.
struct ParsedSpec {
  spec::v1::ClusterSpec spec;
  SourceMap source_map;
  std::vector<Diagnostic> diagnostics;
};

// The largest spec file LoadSpecFile reads (4 MiB); anything larger is
// refused as not a spec.
inline constexpr size_t kMaxSpecBytes = 4 << 20;

// The most values (scalars, maps and lists, keys included) a spec may hold;
// reading stops at the next one with an error. The largest real specs hold
// a few thousand; a file within kMaxSpecBytes can hold a million, which
// would take the YAML library seconds to read.
inline constexpr size_t kMaxSpecValues = 100000;

// Parses YAML text; never throws. Problems go to diagnostics, located as
// FILE:LINE:COL with `filename` as FILE. Does not run ValidateSpec.
ParsedSpec ParseSpecYaml(absl::string_view text, const std::string& filename);

// Canonical YAML of a spec, starting with a one-line comment header.
std::string SpecToYaml(const spec::v1::ClusterSpec& spec);

// Reads the file at `path`, parses it, then runs ValidateSpec with base_dir
// set to the file's directory (unless options.base_dir is set); the
// diagnostics of both steps together. An unreadable file gives one error
// naming the file and the OS reason.
ParsedSpec LoadSpecFile(const std::string& path, const ValidateOptions& options = {});

// The directory of `path` ("." for a bare name): where relative paths in a
// spec file are resolved.
std::string DirName(const std::string& path);

// Parses `text` and runs ValidateSpec on it, as LoadSpecFile does for a
// file's text; `filename` locates the diagnostics, and relative paths are
// checked against options.base_dir.
ParsedSpec LoadSpecText(absl::string_view text, const std::string& filename,
                        const ValidateOptions& options);

}  // namespace hacluster::config

#endif  // HACLUSTER_AGENT_CONFIG_YAML_CODEC_H_
