#include "migrate/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "migrate/atomic_file.h"

namespace hacluster::migrate {

namespace {

using config::Diagnostic;
using config::Location;
using config::Severity;

constexpr size_t kMaxFileSize = 4 << 20;  // legacy files are a few KB

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string Errno(int err) { return std::strerror(err); }

// "a directory", "a FIFO"...: what a non-regular file is, for messages.
std::string FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "a special file";
}

// Reads a regular file; on failure adds an error naming it.
std::optional<std::string> ReadFile(const std::string& path, bool check_private,
                                    std::vector<Diagnostic>* diags) {
  auto fail = [&](std::string message) {
    diags->push_back(Diagnostic{Severity::kError, Location{path, 0, 0}, std::move(message)});
    return std::nullopt;
  };
  // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer;
  // fstat then refuses anything but a regular file, where it has no effect.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return fail(absl::StrCat("cannot read it: ", Errno(errno),
                             "; every node's /etc/ha.d needs ha.cf, haresources and "
                             "authkeys"));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return fail(absl::StrCat("cannot stat it: ", Errno(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fail(absl::StrCat("is ", FileKind(st.st_mode),
                             ", not a regular file; Heartbeat's ha.cf, haresources and "
                             "authkeys are regular files: replace it with one"));
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileSize) {
    close(fd);
    return fail("is larger than 4 MiB; that is not a Heartbeat configuration file");
  }
  if (check_private && (st.st_mode & 077) != 0) {
    diags->push_back(Diagnostic{
        Severity::kError, Location{path, 0, 0},
        absl::StrCat("mode 0", (st.st_mode >> 6) & 7, (st.st_mode >> 3) & 7, st.st_mode & 7,
                     " lets group or others read the key; Heartbeat refuses it too: chmod "
                     "600 ",
                     path)});
  }
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return fail(absl::StrCat("cannot read it: ", Errno(err)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      close(fd);
      return fail("is larger than 4 MiB; that is not a Heartbeat configuration file");
    }
  }
  close(fd);
  return text;
}

// Names in DIR/resource.d (none when it does not exist).
std::set<std::string> ListScripts(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(JoinPath(dir, "resource.d").c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  closedir(d);
  return names;
}

// Reads one directory; false (with diagnostics) when a file is unusable.
bool ReadDir(const std::string& dir, LegacyText* text, std::vector<Diagnostic>* diags) {
  text->dir = dir;
  text->ha_cf_name = JoinPath(dir, "ha.cf");
  text->haresources_name = JoinPath(dir, "haresources");
  text->authkeys_name = JoinPath(dir, "authkeys");
  size_t before = diags->size();
  std::optional<std::string> ha_cf = ReadFile(text->ha_cf_name, false, diags);
  std::optional<std::string> haresources = ReadFile(text->haresources_name, false, diags);
  std::optional<std::string> authkeys = ReadFile(text->authkeys_name, true, diags);
  if (ha_cf) text->ha_cf = std::move(*ha_cf);
  if (haresources) text->haresources = std::move(*haresources);
  if (authkeys) text->authkeys = std::move(*authkeys);
  text->local_scripts = ListScripts(dir);
  return diags->size() == before;
}

}  // namespace

MigrateResult MigrateFromDir(const std::string& dir, const MigrateOptions& options) {
  std::vector<Diagnostic> io;
  LegacyText text;
  bool ok = ReadDir(dir, &text, &io);
  LegacyText peer;
  if (!options.peer_dir.empty()) ok = ReadDir(options.peer_dir, &peer, &io) && ok;
  MigrateResult result;
  if (!ok) {
    result.diagnostics = std::move(io);
    result.source_map.set_file(text.ha_cf_name);
    return result;
  }
  if (options.peer_dir.empty()) {
    result = ConvertLegacy(text, options);
  } else {
    result = ConvertLegacyPair(text, peer, options);
  }
  return result;
}

absl::Status WriteLegacyDir(const LegacyFiles& files, const std::string& dir) {
  // Create dir and its missing parents.
  std::string partial;
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    pos = slash + 1;
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("cannot create ", partial, ": ", Errno(errno)));
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InternalError(absl::StrCat(dir, " is not a directory"));
  }
  // Each file is replaced atomically (a crash leaves it old or new, never
  // truncated); the key is never readable by others, not even briefly.
  if (absl::Status s = WriteFileAtomically(JoinPath(dir, "ha.cf"), files.ha_cf, 0644);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          WriteFileAtomically(JoinPath(dir, "haresources"), files.haresources, 0644);
      !s.ok()) {
    return s;
  }
  return WriteFileAtomically(JoinPath(dir, "authkeys"), files.authkeys, 0600);
}

}  // namespace hacluster::migrate
