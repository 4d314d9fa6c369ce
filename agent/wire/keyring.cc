#include "agent/wire/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace hacluster::wire {

namespace {

using spec::v1::AuthMethod;

// A secret is one line; anything longer than this is not a key file.
constexpr off_t kMaxSecretFileSize = 4096;

bool IsKnownMethod(int m) {
  return m == spec::v1::AUTH_METHOD_UNSPECIFIED || m == spec::v1::AUTH_METHOD_SHA256 ||
         m == spec::v1::AUTH_METHOD_SHA1 || m == spec::v1::AUTH_METHOD_MD5 ||
         m == spec::v1::AUTH_METHOD_CRC;
}

AuthMethod Normalized(AuthMethod m) {
  return m == spec::v1::AUTH_METHOD_UNSPECIFIED ? spec::v1::AUTH_METHOD_SHA256 : m;
}

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { close(fd_); }

 private:
  int fd_;
};

absl::Status FileError(int error, const std::string& what) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(what, ": ", std::strerror(error)));
}

// The first line of the secret file `path` (already resolved), without its
// line end.
absl::StatusOr<std::string> ReadSecretFile(const std::string& label, const std::string& path) {
  // O_NONBLOCK: a FIFO put in place of the file must not hang the agent.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return FileError(errno, absl::StrCat(label, ": secret file ", path, " cannot be opened"));
  }
  FdCloser closer(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return FileError(errno, absl::StrCat(label, ": secret file ", path, " cannot be examined"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(label, ": secret file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(absl::StrCat(
        label, ": secret file ", path, " has mode ", mode,
        "; it must not be readable by group or others: chmod 600 ", path));
  }
  if (st.st_size == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": secret file ", path, " is empty: put the shared secret on its first line"));
  }
  if (st.st_size > kMaxSecretFileSize) {
    return absl::FailedPreconditionError(
        absl::StrCat(label, ": secret file ", path, " is ", st.st_size,
                     " bytes; a secret file holds one line of at most ", kMaxSecretFileSize));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = read(fd, &text[got], text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return FileError(errno, absl::StrCat(label, ": secret file ", path, " cannot be read"));
    }
    if (n == 0) break;  // shrank while we read: use what is there
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  size_t eol = text.find('\n');
  if (eol != std::string::npos) text.resize(eol);
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        label, ": secret file ", path, " has an empty first line: put the shared secret there"));
  }
  return text;
}

}  // namespace

absl::StatusOr<Keyring> Keyring::FromSpec(const spec::v1::Auth& auth,
                                          const std::string& base_dir) {
  Keyring ring;
  ring.slot_.fill(-1);
  if (auth.keys().empty()) {
    return absl::InvalidArgumentError("auth has no keys: heartbeats cannot be signed");
  }
  if (auth.keys_size() > static_cast<int>(kMaxKeyId)) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth has ", auth.keys_size(), " keys; at most ", kMaxKeyId));
  }
  for (const spec::v1::AuthKey& k : auth.keys()) {
    std::string label = absl::StrCat("auth key ", k.id());
    if (k.id() < kMinKeyId || k.id() > kMaxKeyId) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, ": key ids are ", kMinKeyId, " to ", kMaxKeyId));
    }
    if (ring.slot_[k.id()] >= 0) {
      return absl::InvalidArgumentError(absl::StrCat(label, " is configured twice"));
    }
    if (!IsKnownMethod(k.method())) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, " has unknown method ", static_cast<int>(k.method())));
    }
    Key key;
    key.id = k.id();
    key.method = Normalized(k.method());
    if (key.method != spec::v1::AUTH_METHOD_CRC) {
      if (!k.secret().empty() && !k.secret_file().empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " has both secret and secret_file: keep one of them"));
      }
      if (!k.secret().empty()) {
        key.secret = k.secret();
      } else if (!k.secret_file().empty()) {
        std::string path = k.secret_file();
        if (path[0] != '/' && !base_dir.empty()) path = absl::StrCat(base_dir, "/", path);
        absl::StatusOr<std::string> secret = ReadSecretFile(label, path);
        if (!secret.ok()) return secret.status();
        key.secret = *std::move(secret);
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(label, " has no secret: set secret or secret_file"));
      }
    }
    ring.slot_[key.id] = static_cast<int8_t>(ring.keys_.size());
    ring.keys_.push_back(std::move(key));
  }
  uint32_t active = auth.active_key();
  if (active == 0) {
    if (ring.keys_.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth has ", ring.keys_.size(), " keys but no active_key: set the key to send with"));
    }
    active = ring.keys_[0].id;
  } else if (ring.Find(active) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth active_key ", active, " is not one of the keys"));
  }
  ring.active_id_ = active;
  return ring;
}

Keyring::Keyring(std::vector<Key> keys, uint32_t active_id) : keys_(std::move(keys)) {
  slot_.fill(-1);
  for (size_t i = 0; i < keys_.size(); ++i) {
    Key& k = keys_[i];
    if (k.id < kMinKeyId || k.id > kMaxKeyId || slot_[k.id] >= 0 || !IsKnownMethod(k.method)) {
      std::fprintf(stderr, "Keyring: key %u is out of range, repeated or of an unknown method\n",
                   k.id);
      std::abort();
    }
    k.method = Normalized(k.method);
    if (k.method == spec::v1::AUTH_METHOD_CRC) {
      k.secret.clear();
    } else if (k.secret.empty()) {
      std::fprintf(stderr, "Keyring: key %u has no secret\n", k.id);
      std::abort();
    }
    slot_[k.id] = static_cast<int8_t>(i);
  }
  if (Find(active_id) == nullptr) {
    std::fprintf(stderr, "Keyring: active key %u is not one of the keys\n", active_id);
    std::abort();
  }
  active_id_ = active_id;
}

}  // namespace hacluster::wire
