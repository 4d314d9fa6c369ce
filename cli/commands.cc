#include "cli/commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/config/diagnostics.h"
#include "agent/config/validate.h"
#include "agent/config/yaml_codec.h"
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

// Writes `text` to `target` through a temporary file and rename, so a reader
// never sees half a file. The file is created with `mode`. A symbolic link
// is written through (the file it points to is replaced, the link stays);
// anything but a regular file or a new path is refused.
bool WriteFileAtomically(const std::string& target, const std::string& text,
                         mode_t mode, std::ostream& err) {
  // Follow links (even to a file not made yet), at most 40 as the kernel does.
  std::filesystem::path p(target);
  std::error_code ec;
  for (int hops = 0; std::filesystem::is_symlink(p, ec); ++hops) {
    std::filesystem::path next = std::filesystem::read_symlink(p, ec);
    if (ec || hops == 40) {
      err << target << ": error: cannot follow the symbolic link"
          << (ec ? ": " + ec.message() : std::string(": too many levels")) << "\n";
      return false;
    }
    p = next.is_absolute() ? next : p.parent_path() / next;
  }
  std::string path = p.string();
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    err << target << ": error: not a regular file; give a file path, or no -o for stdout\n";
    return false;
  }
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    err << path << ": error: cannot write: " << std::strerror(errno) << "\n";
    return false;
  }
  fchmod(fd, mode);  // open's mode is filtered by the umask
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err << path << ": error: cannot write: " << std::strerror(errno) << "\n";
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    err << path << ": error: cannot write: " << std::strerror(errno) << "\n";
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

// The first line of a secret file (relative paths from `base_dir`).
absl::StatusOr<std::string> ReadSecretFile(const std::string& file, const std::string& base_dir) {
  std::filesystem::path path(file);
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return absl::NotFoundError(absl::StrCat("cannot read secret file ", path.string(), ": ",
                                            std::strerror(errno)));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
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
    for (Diagnostic& d : config::ValidateSpec(result.spec, result.source_map, vopts)) {
      diagnostics.push_back(std::move(d));
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
    if (!WriteFileAtomically(args.output, yaml, 0600, err)) return kExitFailed;
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
