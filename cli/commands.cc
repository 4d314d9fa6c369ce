#include "cli/commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/config/diagnostics.h"
#include "agent/config/validate.h"
#include "agent/config/yaml_codec.h"
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

int MigrateToSpec(const MigrateArgs& args, std::ostream& out, std::ostream& err) {
  migrate::MigrateOptions options;
  options.peer_dir = args.peer;
  options.node = args.node;
  options.cluster_name = args.cluster_name;
  migrate::MigrateResult result = migrate::MigrateFromDir(args.from, options);
  std::vector<Diagnostic> diagnostics = std::move(result.diagnostics);
  if (!HasErrors(diagnostics)) {
    // The converted spec passes the same rules as a hand-written one, with
    // problems reported at the legacy line they came from.
    config::ValidateOptions vopts;
    vopts.check_files = false;  // secrets are inline; nothing to stat
    // The converter already said some of it in the same words at the same
    // line (keys not acted on yet, config/not_acted_on.h): shown once.
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
  err << FormatDiagnostics(diagnostics);
  if (HasErrors(diagnostics)) {
    err << "hacli migrate: " << args.from << " not converted: " << Summary(diagnostics)
        << "\n";
    return kExitFailed;
  }
  std::string yaml = config::SpecToYaml(result.spec);
  if (args.output.empty() || args.output == "-") {
    out << yaml;
  } else {
    // The spec holds the shared secret: owner-only, as authkeys.
    absl::Status written = migrate::WriteFileAtomically(args.output, yaml, 0600);
    if (!written.ok()) {
      err << args.output << ": error: " << written.message() << "\n";
      return kExitFailed;
    }
    err << "hacli migrate: wrote " << args.output << " (" << Summary(diagnostics)
        << ")\n";
  }
  return kExitOk;
}

int MigrateToLegacy(const MigrateArgs& args, std::ostream& err) {
  config::ParsedSpec parsed = config::LoadSpecFile(args.to_legacy);
  err << FormatDiagnostics(parsed.diagnostics);
  if (HasErrors(parsed.diagnostics)) {
    err << "hacli migrate: " << args.to_legacy << " is not valid: "
        << Summary(parsed.diagnostics) << "\n";
    return kExitFailed;
  }
  // Heartbeat's authkeys holds secrets inline: read secret files here.
  std::string base_dir = std::filesystem::path(args.to_legacy).parent_path().string();
  for (int i = 0; i < parsed.spec.auth().keys_size(); ++i) {
    auto* key = parsed.spec.mutable_auth()->mutable_keys(i);
    if (key->secret_file().empty()) continue;
    std::string path = absl::StrCat("auth.keys[", i, "].secret_file");
    absl::StatusOr<std::string> secret = ReadSecretFile(key->secret_file(), base_dir);
    if (!secret.ok()) {
      err << config::FormatDiagnostic({config::Severity::kError, parsed.source_map.Find(path),
                                       std::string(secret.status().message())})
          << "\n";
      return kExitFailed;
    }
    key->set_secret(*secret);
    key->clear_secret_file();
  }
  absl::StatusOr<migrate::LegacyFiles> files =
      migrate::SpecToLegacy(parsed.spec, args.node);
  if (!files.ok()) {
    // The writer's messages start with the spec path they concern.
    std::string message(files.status().message());
    std::string path = message.substr(0, message.find_first_of(" :'"));
    err << config::FormatDiagnostic({config::Severity::kError, parsed.source_map.Find(path),
                                     message})
        << "\n";
    return kExitFailed;
  }
  // What Heartbeat's files cannot hold is said, at the spec line it is on.
  for (const std::string& item : files->dropped) {
    size_t colon = item.find(": ");
    std::string path = item.substr(0, colon);
    std::string reason = colon == std::string::npos ? "" : item.substr(colon + 2);
    err << config::FormatDiagnostic(
               {config::Severity::kWarning, parsed.source_map.Find(path),
                absl::StrCat(path, " is not written to the Heartbeat files: ", reason)})
        << "\n";
  }
  absl::Status written = migrate::WriteLegacyDir(*files, args.output);
  if (!written.ok()) {
    err << args.output << ": error: " << written.message() << "\n";
    return kExitFailed;
  }
  err << "hacli migrate: wrote ha.cf, haresources and authkeys (mode 0600) for node "
      << args.node << " to " << args.output << "\n";
  return kExitOk;
}

}  // namespace

int RunMigrate(const MigrateArgs& args, std::ostream& out, std::ostream& err) {
  if (args.from.empty() == args.to_legacy.empty()) {
    err << "hacli migrate: give exactly one of --from DIR or --to-legacy FILE "
           "(see hacli migrate --help)\n";
    return kExitUsage;
  }
  if (!args.to_legacy.empty()) {
    if (args.node.empty() || args.output.empty()) {
      err << "hacli migrate: --to-legacy needs --node NAME and -o DIR "
             "(see hacli migrate --help)\n";
      return kExitUsage;
    }
    if (!args.peer.empty() || !args.cluster_name.empty()) {
      err << "hacli migrate: --peer and --cluster-name go with --from, not "
             "--to-legacy\n";
      return kExitUsage;
    }
    return MigrateToLegacy(args, err);
  }
  return MigrateToSpec(args, out, err);
}

int RunValidate(const std::string& file, std::ostream& out, std::ostream& err) {
  config::ParsedSpec parsed = config::LoadSpecFile(file);
  err << FormatDiagnostics(parsed.diagnostics);
  if (HasErrors(parsed.diagnostics)) {
    out << file << ": invalid: " << Summary(parsed.diagnostics) << "\n";
    return kExitFailed;
  }
  out << file << ": valid: cluster " << parsed.spec.cluster_name() << ", "
      << parsed.spec.nodes_size() << " node(s), " << parsed.spec.groups_size()
      << " group(s), config version " << parsed.spec.config_version() << " ("
      << Summary(parsed.diagnostics) << ")\n";
  return kExitOk;
}

}  // namespace hacluster::cli
