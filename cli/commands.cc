#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/config/diagnostics.h"
#include "agent/config/validate.h"
#include "agent/config/yaml_codec.h"
#include "cli/hacli_output.pb.h"
#include "cli/new_files.h"
#include "migrate/atomic_file.h"
#include "migrate/migrate.h"

namespace hacluster::cli {
namespace {

using config::Diagnostic;
using config::FormatDiagnostics;
using config::HasErrors;

int CountOf(const std::vector<Diagnostic>& ds, config::Severity s) {
  int n = 0;
  for (const Diagnostic& d : ds) n += d.severity == s;
  return n;
}

std::string Summary(const std::vector<Diagnostic>& ds) {
  return absl::StrCat(CountOf(ds, config::Severity::kError), " error(s), ",
                      CountOf(ds, config::Severity::kWarning), " warning(s)");
}

// The diagnostics and their counts, as -o json prints them.
template <typename Output>
void SetDiagnostics(const std::vector<Diagnostic>& ds, Output& output) {
  for (const Diagnostic& d : ds) {
    hacli::v1::Diagnostic* j = output.add_diagnostics();
    j->set_file(d.location.file);
    j->set_line(d.location.line);
    j->set_column(d.location.column);
    j->set_severity(d.severity == config::Severity::kError ? "error" : "warning");
    j->set_message(d.message);
  }
  output.set_errors(CountOf(ds, config::Severity::kError));
  output.set_warnings(CountOf(ds, config::Severity::kWarning));
}

// The end of a migrate: with --format json its outcome on `out`.
int FinishMigrate(hacli::v1::MigrateOutput& output, const std::vector<Diagnostic>& ds, int code,
                  OutputFormat format, std::ostream& out) {
  output.set_valid(code == kExitOk);
  SetDiagnostics(ds, output);
  if (format == OutputFormat::kJson) {
    out << ApiJson(output, /*pretty=*/true, /*with_defaults=*/true) << "\n";
  }
  return code;
}

// The first line of a secret file (relative paths from `base_dir`).
absl::StatusOr<std::string> ReadSecretFile(const std::string& file, const std::string& base_dir) {
  std::filesystem::path path(file);
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read secret file ", path.string(), ": ",
                                            std::strerror(errno)));
  }
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret file ", path.string(), " has no secret on its first line"));
  }
  return line;
}

// The agent's own method is sha256 (HMAC-SHA256); Heartbeat's authkeys has
// none, so the converted keys keep theirs: a warning at each key suggests
// the change (with wire: heartbeat3, only after the switch to native).
void Sha256Advice(const spec::v1::ClusterSpec& spec, const config::SourceMap& map,
                  std::vector<Diagnostic>* diagnostics) {
  for (int i = 0; i < spec.auth().keys_size(); ++i) {
    const spec::v1::AuthKey& k = spec.auth().keys(i);
    std::string what;
    switch (k.method()) {
      case spec::v1::AUTH_METHOD_CRC:
        what = "crc, which authenticates nothing (anyone on the network can forge "
               "heartbeats)";
        break;
      case spec::v1::AUTH_METHOD_MD5:
        what = "md5 (a keyed MD5 digest)";
        break;
      case spec::v1::AUTH_METHOD_SHA1:
        what = "sha1 (HMAC-SHA1)";
        break;
      default:
        continue;
    }
    const std::string when =
        spec.wire() == spec::v1::WIRE_FORMAT_HEARTBEAT3
            ? "keep it while the spec has wire: heartbeat3 (Heartbeat's peer knows no "
              "sha256); once both nodes run the agent on wire: native and none will go back "
              "to Heartbeat"
            : "once no node will go back to Heartbeat (whose authkeys has no sha256)";
    diagnostics->push_back(
        {config::Severity::kWarning, map.Find(absl::StrCat("auth.keys[", i, "].method")),
         absl::StrCat("key ", k.id(), " uses ", what, "; the agent's own method is sha256 "
                      "(HMAC-SHA256): ", when, ", set the key's method to sha256",
                      k.method() == spec::v1::AUTH_METHOD_CRC ? " and give it a secret" : "",
                      ", on every node at once")});
  }
}

bool HasInlineSecret(const spec::v1::ClusterSpec& spec) {
  for (const spec::v1::AuthKey& k : spec.auth().keys()) {
    if (!k.secret().empty()) return true;
  }
  return false;
}

// Each key's secret goes to a file beside the spec (`cluster.yaml` ->
// `cluster.authkey1`, mode 0600) that the key names by a path relative to
// the spec's directory; returns the files to write.
std::vector<NewFile> MoveSecretsToFiles(const std::string& spec_path,
                                        spec::v1::ClusterSpec* spec) {
  std::filesystem::path path(spec_path);
  std::string stem = path.stem().string();
  if (stem.empty()) stem = "cluster";
  std::vector<NewFile> files;
  for (spec::v1::AuthKey& k : *spec->mutable_auth()->mutable_keys()) {
    if (k.secret().empty()) continue;
    std::string name = absl::StrCat(stem, ".authkey", k.id());
    files.push_back({(path.parent_path() / name).string(), k.secret() + "\n", 0600});
    k.clear_secret();
    k.set_secret_file(name);
  }
  return files;
}

int MigrateToSpec(const MigrateArgs& args, std::ostream& out, std::ostream& err) {
  migrate::MigrateOptions options;
  options.peer_dir = args.peer;
  options.node = args.node;
  options.cluster_name = args.cluster_name;
  options.rolling = args.rolling;
  migrate::MigrateResult result = migrate::MigrateFromDir(args.from, options);
  std::vector<Diagnostic> diagnostics = std::move(result.diagnostics);
  config::ValidateOptions vopts;
  vopts.check_files = false;  // secrets are inline, or in files not written yet
  if (!HasErrors(diagnostics)) {
    // The converted spec passes the same rules as a hand-written one (with
    // --rolling, those of wire: heartbeat3 too), with problems reported at
    // the legacy line they came from.
    // What the converter already said in the same words at the same line
    // is shown once.
    const size_t converted = diagnostics.size();
    for (Diagnostic& d : config::ValidateSpec(result.spec, result.source_map, vopts)) {
      bool said = std::any_of(diagnostics.begin(), diagnostics.begin() + converted,
                              [&](const Diagnostic& c) {
                                return c.severity == d.severity && c.location == d.location &&
                                       c.message == d.message;
                              });
      if (!said) diagnostics.push_back(std::move(d));
    }
  }
  const bool to_file = !args.output.empty() && args.output != "-";
  std::vector<NewFile> secret_files;
  if (!HasErrors(diagnostics)) {
    Sha256Advice(result.spec, result.source_map, &diagnostics);
    if (to_file) {
      secret_files = MoveSecretsToFiles(args.output, &result.spec);
    } else if (HasInlineSecret(result.spec)) {
      diagnostics.push_back(
          {config::Severity::kWarning, result.source_map.Find("auth.keys"),
           "the key secrets stay inline in the spec written to stdout; with -o FILE each goes "
           "to a secret_file (mode 0600) beside the spec instead"});
    }
  }
  err << FormatDiagnostics(diagnostics);
  hacli::v1::MigrateOutput output;
  if (HasErrors(diagnostics)) {
    err << "hacli migrate: " << args.from << " not converted: " << Summary(diagnostics)
        << "\n";
    return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
  }
  std::string yaml = config::SpecToYaml(result.spec);
  // hacli validate and ha-agent refuse a spec file this large, or one that
  // does not read back (more values than a spec may hold): write none.
  std::string unreadable;
  if (yaml.size() > config::kMaxSpecBytes) {
    unreadable = absl::StrCat("the converted spec would be ", yaml.size(),
                              " bytes, more than the 4 MiB (", config::kMaxSpecBytes,
                              " bytes) that hacli validate and ha-agent read from a spec file");
  } else {
    config::ParsedSpec back = config::ParseSpecYaml(yaml, "the converted spec");
    for (const config::Diagnostic& d : back.diagnostics) {
      if (d.severity != config::Severity::kError) continue;
      unreadable = absl::StrCat("the converted spec would not read back (",
                                config::FormatDiagnostic(d), ")");
      break;
    }
    // The rules ran on the converted spec above; they run again on the spec
    // as it reads back (its wire among them, with --rolling), as hacli
    // validate and ha-agent will run them on the file: what the YAML would
    // lose cannot slip through.
    if (unreadable.empty()) {
      for (const config::Diagnostic& d : config::ValidateSpec(back.spec, back.source_map, vopts)) {
        if (d.severity != config::Severity::kError) continue;
        unreadable = absl::StrCat("the converted spec would not validate as written (",
                                  config::FormatDiagnostic(d), ")");
        break;
      }
    }
  }
  if (!unreadable.empty()) {
    diagnostics.push_back(
        {config::Severity::kError, config::Location{result.source_map.file(), 0, 0},
         absl::StrCat(unreadable, "; nothing is written (", result.spec.nodes_size(),
                      " nodes, ", result.spec.groups_size(),
                      " groups: is this a real cluster?)")});
    err << config::FormatDiagnostic(diagnostics.back()) << "\n";
    err << "hacli migrate: " << args.from << " not converted: " << Summary(diagnostics)
        << "\n";
    return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
  }
  if (args.output.empty() || args.output == "-") {
    if (args.format == OutputFormat::kText) out << yaml;
    output.set_yaml(yaml);
  } else {
    // The secret files first, then the spec that names them (owner-only, as
    // authkeys was; written through a symbolic link); when the spec cannot
    // be written, the secret files are removed again: all or nothing.
    absl::Status written = WriteNewFiles(secret_files, /*replace=*/true);
    if (written.ok()) {
      written = migrate::WriteFileAtomically(args.output, yaml, 0600);
      if (!written.ok()) {
        for (const NewFile& f : secret_files) unlink(f.path.c_str());
      }
    }
    if (!written.ok()) {
      err << args.output << ": error: " << written.message() << "\n";
      output.set_error(absl::StrCat(args.output, ": ", written.message()));
      return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
    }
    std::string names;
    for (const NewFile& f : secret_files) {
      output.add_written(f.path);
      absl::StrAppend(&names, f.path, ", ");
    }
    output.add_written(args.output);
    err << "hacli migrate: wrote " << names << args.output << " (" << Summary(diagnostics)
        << ")\n";
  }
  return FinishMigrate(output, diagnostics, kExitOk, args.format, out);
}

// Heartbeat's authkeys holds secrets inline: the spec's secret files are
// read in (relative paths from the spec's directory). An error names the
// key's place in the spec.
std::optional<Diagnostic> InlineSecrets(const std::string& spec_file, config::ParsedSpec& parsed) {
  std::string base_dir = std::filesystem::path(spec_file).parent_path().string();
  for (int i = 0; i < parsed.spec.auth().keys_size(); ++i) {
    auto* key = parsed.spec.mutable_auth()->mutable_keys(i);
    if (key->secret_file().empty()) continue;
    std::string path = absl::StrCat("auth.keys[", i, "].secret_file");
    absl::StatusOr<std::string> secret = ReadSecretFile(key->secret_file(), base_dir);
    if (!secret.ok()) {
      return Diagnostic{config::Severity::kError, parsed.source_map.Find(path),
                        std::string(secret.status().message())};
    }
    key->set_secret(*secret);
    key->clear_secret_file();
  }
  return std::nullopt;
}

// What Heartbeat's files cannot hold, as a warning at the spec line it is on.
std::vector<Diagnostic> DroppedWarnings(const migrate::LegacyFiles& files,
                                        const config::SourceMap& source_map) {
  std::vector<Diagnostic> warnings;
  for (const std::string& item : files.dropped) {
    size_t colon = item.find(": ");
    std::string path = item.substr(0, colon);
    std::string reason = colon == std::string::npos ? "" : item.substr(colon + 2);
    warnings.push_back({config::Severity::kWarning, source_map.Find(path),
                        absl::StrCat(path, " is not written to the Heartbeat files: ", reason)});
  }
  return warnings;
}

int MigrateToLegacy(const MigrateArgs& args, std::ostream& out, std::ostream& err) {
  hacli::v1::MigrateOutput output;
  config::ParsedSpec parsed = config::LoadSpecFile(args.to_legacy);
  std::vector<Diagnostic> diagnostics = parsed.diagnostics;
  err << FormatDiagnostics(diagnostics);
  if (HasErrors(diagnostics)) {
    err << "hacli migrate: " << args.to_legacy << " is not valid: " << Summary(diagnostics)
        << "\n";
    return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
  }
  if (std::optional<Diagnostic> bad = InlineSecrets(args.to_legacy, parsed)) {
    err << config::FormatDiagnostic(*bad) << "\n";
    diagnostics.push_back(*std::move(bad));
    return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
  }
  absl::StatusOr<migrate::LegacyFiles> files = migrate::SpecToLegacy(parsed.spec, args.node);
  if (!files.ok()) {
    // The writer's messages start with the spec path they concern.
    std::string message(files.status().message());
    std::string path = message.substr(0, message.find_first_of(" :'"));
    diagnostics.push_back({config::Severity::kError, parsed.source_map.Find(path), message});
    err << config::FormatDiagnostic(diagnostics.back()) << "\n";
    return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
  }
  for (Diagnostic& warning : DroppedWarnings(*files, parsed.source_map)) {
    err << config::FormatDiagnostic(warning) << "\n";
    diagnostics.push_back(std::move(warning));
  }
  absl::Status written = migrate::WriteLegacyDir(*files, args.output);
  if (!written.ok()) {
    err << args.output << ": error: " << written.message() << "\n";
    output.set_error(absl::StrCat(args.output, ": ", written.message()));
    return FinishMigrate(output, diagnostics, kExitFailed, args.format, out);
  }
  for (const char* name : {"ha.cf", "haresources", "authkeys"}) {
    output.add_written((std::filesystem::path(args.output) / name).string());
  }
  err << "hacli migrate: wrote ha.cf, haresources and authkeys (mode 0600) for node "
      << args.node << " to " << args.output << "\n";
  return FinishMigrate(output, diagnostics, kExitOk, args.format, out);
}

}  // namespace

int RunMigrate(const MigrateArgs& args, std::ostream& out, std::ostream& err) {
  std::string usage;
  if (args.from.empty() == args.to_legacy.empty()) {
    usage = "give exactly one of --from DIR or --to-legacy FILE (see hacli migrate --help)";
  } else if (!args.to_legacy.empty() && (args.node.empty() || args.output.empty())) {
    usage = "--to-legacy needs --node NAME and -o DIR (see hacli migrate --help)";
  } else if (!args.to_legacy.empty() &&
             (!args.peer.empty() || !args.cluster_name.empty() || args.rolling)) {
    usage = "--peer, --cluster-name and --rolling go with --from, not --to-legacy";
  }
  if (!usage.empty()) {
    err << "hacli migrate: " << usage << "\n";
    if (args.format == OutputFormat::kJson) {
      out << ErrorJson(kExitUsage, usage, /*target=*/"", /*grpc_status=*/"", /*pretty=*/true)
          << "\n";
    }
    return kExitUsage;
  }
  if (!args.to_legacy.empty()) return MigrateToLegacy(args, out, err);
  return MigrateToSpec(args, out, err);
}

int RunValidate(const std::string& file, std::ostream& out, std::ostream& err,
                OutputFormat format) {
  config::ParsedSpec parsed = config::LoadSpecFile(file);
  err << FormatDiagnostics(parsed.diagnostics);
  const bool valid = !HasErrors(parsed.diagnostics);
  if (format == OutputFormat::kJson) {
    hacli::v1::ValidateOutput output;
    output.set_file(file);
    output.set_valid(valid);
    SetDiagnostics(parsed.diagnostics, output);
    if (valid) {
      output.set_cluster_name(parsed.spec.cluster_name());
      output.set_nodes(parsed.spec.nodes_size());
      output.set_groups(parsed.spec.groups_size());
      output.set_config_version(parsed.spec.config_version());
    }
    out << ApiJson(output, /*pretty=*/true, /*with_defaults=*/true) << "\n";
  } else if (!valid) {
    out << file << ": invalid: " << Summary(parsed.diagnostics) << "\n";
  } else {
    out << file << ": valid: cluster " << parsed.spec.cluster_name() << ", "
        << parsed.spec.nodes_size() << " node(s), " << parsed.spec.groups_size()
        << " group(s), config version " << parsed.spec.config_version() << " ("
        << Summary(parsed.diagnostics) << ")\n";
  }
  return valid ? kExitOk : kExitFailed;
}

}  // namespace hacluster::cli
