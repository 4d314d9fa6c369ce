#include "tests/harness/heartbeat_node.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/harness/wait.h"

namespace hacluster::harness {
namespace {

namespace fs = std::filesystem;

// The installed trees the node's private ones stand in for.
constexpr char kEtcHaD[] = "/etc/ha.d";
constexpr char kVarLibHeartbeat[] = "/var/lib/heartbeat";
constexpr char kPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// The files of etc/ha.d the node writes itself; every other entry of the
// installed /etc/ha.d is bind-mounted.
const std::set<std::string>& OwnConfigFiles() {
  static const auto* files =
      new std::set<std::string>{"ha.cf", "haresources", "authkeys"};
  return *files;
}

std::string ErrnoText(int err) { return std::strerror(err); }

bool ValidNodeName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

// One configuration line: not empty, no line break, no '#' (ha.cf would
// cut the line there).
absl::Status CheckLine(absl::string_view field, absl::string_view line) {
  if (absl::StripAsciiWhitespace(line).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": empty line"));
  }
  if (line.find_first_of("\n\r#") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", line, "\" holds a line break or a '#'"));
  }
  return absl::OkStatus();
}

// "200ms": a positive whole number of milliseconds.
absl::StatusOr<std::string> Millis(absl::string_view field, absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms <= 0 || absl::Milliseconds(ms) != d) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", absl::FormatDuration(d),
                     " is not a positive whole number of milliseconds"));
  }
  return absl::StrCat(ms, "ms");
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status WriteFile(const std::string& path, const std::string& content,
                       mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      mode);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", ErrnoText(errno)));
  }
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      close(fd);
      return absl::InternalError(
          absl::StrCat("cannot write ", path, ": ", ErrnoText(err)));
    }
    done += static_cast<size_t>(n);
  }
  // open() applies the umask; the mode must be exact (authkeys: 0600).
  if (fchmod(fd, mode) != 0 || close(fd) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot finish ", path, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

// mkdir with an exact mode and owner.
absl::Status MakeDir(const std::string& path, mode_t mode, uid_t uid,
                     gid_t gid) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", ErrnoText(errno)));
  }
  if (chmod(path.c_str(), mode) != 0 || chown(path.c_str(), uid, gid) != 0) {
    return absl::InternalError(absl::StrCat("cannot set mode/owner of ", path,
                                            ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

std::string ShellQuote(absl::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string Tail(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  return absl::StrCat("[...]", s.substr(s.size() - max_bytes));
}

// The (device, inode) of /proc/PID/ns/mnt; false when the process is gone
// or a zombie (its namespaces are released).
bool MountNsOf(pid_t pid, dev_t* dev, ino_t* ino) {
  struct stat st;
  if (stat(absl::StrCat("/proc/", pid, "/ns/mnt").c_str(), &st) != 0) {
    return false;
  }
  *dev = st.st_dev;
  *ino = st.st_ino;
  return true;
}

// "ip -o -4 addr show" lines: the (ifname, "a.b.c.d/len") of `address`.
std::optional<std::pair<std::string, std::string>> FindAddress(
    absl::string_view ip_output, absl::string_view address) {
  for (absl::string_view line : absl::StrSplit(ip_output, '\n')) {
    std::vector<absl::string_view> tokens =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      if (tokens[i] != "inet" || tokens.size() < 2) continue;
      absl::string_view cidr = tokens[i + 1];
      absl::string_view ip = cidr.substr(0, cidr.find('/'));
      if (ip != address) continue;
      absl::string_view ifname = tokens[1];
      ifname = ifname.substr(0, ifname.find('@'));
      if (absl::EndsWith(ifname, ":")) ifname.remove_suffix(1);
      return std::make_pair(std::string(ifname), std::string(cidr));
    }
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<HeartbeatFiles> RenderHeartbeatFiles(
    const HeartbeatConfig& config, absl::string_view log_path) {
  if (!ValidNodeName(config.node_name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node_name: \"", config.node_name,
        "\" is not 1 to 64 characters of [a-z0-9._-]"));
  }
  if (config.nodes.empty()) {
    return absl::InvalidArgumentError("nodes: empty");
  }
  std::set<std::string> nodes;
  for (const std::string& n : config.nodes) {
    if (!ValidNodeName(n)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "nodes: \"", n, "\" is not 1 to 64 characters of [a-z0-9._-]"));
    }
    if (!nodes.insert(n).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("nodes: \"", n, "\" listed twice"));
    }
  }
  if (nodes.count(config.node_name) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node_name: \"", config.node_name, "\" is not one of nodes"));
  }
  if (config.media.empty()) {
    return absl::InvalidArgumentError("media: no heartbeat medium");
  }
  for (const std::string& m : config.media) {
    if (absl::Status s = CheckLine("media", m); !s.ok()) return s;
  }
  if (config.udpport < 1 || config.udpport > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("udpport: ", config.udpport, " is not in 1..65535"));
  }
  absl::StatusOr<std::string> keepalive =
      Millis("keepalive", config.keepalive);
  if (!keepalive.ok()) return keepalive.status();
  absl::StatusOr<std::string> deadtime = Millis("deadtime", config.deadtime);
  if (!deadtime.ok()) return deadtime.status();
  if (config.deadtime <= config.keepalive) {
    return absl::InvalidArgumentError(
        "deadtime: must be longer than keepalive");
  }
  std::string warntime;
  if (config.warntime != absl::ZeroDuration()) {
    absl::StatusOr<std::string> w = Millis("warntime", config.warntime);
    if (!w.ok()) return w.status();
    if (config.warntime >= config.deadtime ||
        config.warntime <= config.keepalive) {
      return absl::InvalidArgumentError(
          "warntime: must lie between keepalive and deadtime");
    }
    warntime = *w;
  }
  std::string initdead;
  if (config.initdead != absl::ZeroDuration()) {
    absl::StatusOr<std::string> i = Millis("initdead", config.initdead);
    if (!i.ok()) return i.status();
    if (config.initdead < config.deadtime) {
      return absl::InvalidArgumentError(
          "initdead: must not be shorter than deadtime");
    }
    initdead = *i;
  }
  if (config.auth_index < 1 || config.auth_index > 15) {
    return absl::InvalidArgumentError(absl::StrCat(
        "auth_index: ", config.auth_index, " is not in 1..15"));
  }
  std::string method;
  switch (config.auth_method) {
    case AuthMethod::kCrc:
      method = "crc";
      if (!config.auth_key.empty()) {
        return absl::InvalidArgumentError(
            "auth_key: crc takes no key (leave auth_key empty)");
      }
      break;
    case AuthMethod::kMd5:
      method = "md5";
      break;
    case AuthMethod::kSha1:
      method = "sha1";
      break;
  }
  if (config.auth_method != AuthMethod::kCrc) {
    if (config.auth_key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("auth_key: ", method, " needs a key"));
    }
    for (char c : config.auth_key) {
      if (!absl::ascii_isgraph(c) || c == '#') {
        return absl::InvalidArgumentError(
            "auth_key: only printable characters, no blank and no '#'");
      }
    }
  }
  for (const std::string& line : config.haresources) {
    if (absl::Status s = CheckLine("haresources", line); !s.ok()) return s;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (nodes.count(std::string(words[0])) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("haresources: \"", line, "\": \"", words[0],
                       "\" is not one of nodes"));
    }
  }
  for (const std::string& line : config.extra_ha_cf) {
    if (absl::Status s = CheckLine("extra_ha_cf", line); !s.ok()) return s;
  }
  if (log_path.empty() || log_path.find_first_of("\n\r# \t") !=
                              absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("log path \"", log_path, "\" is empty or has a blank"));
  }

  HeartbeatFiles files;
  std::string& cf = files.ha_cf;
  absl::StrAppend(&cf, "# ha.cf of ", config.node_name,
                  " (tests/harness HeartbeatNode).\n");
  // Logging first: it takes effect where it is read.
  absl::StrAppend(&cf, "logfile ", log_path, "\n");
  absl::StrAppend(&cf, "logfacility none\n");
  absl::StrAppend(&cf, "use_logd no\n");
  absl::StrAppend(&cf, "keepalive ", *keepalive, "\n");
  absl::StrAppend(&cf, "deadtime ", *deadtime, "\n");
  if (!warntime.empty()) absl::StrAppend(&cf, "warntime ", warntime, "\n");
  if (!initdead.empty()) absl::StrAppend(&cf, "initdead ", initdead, "\n");
  // udpport before the media, which read it when they are parsed.
  absl::StrAppend(&cf, "udpport ", config.udpport, "\n");
  for (const std::string& m : config.media) absl::StrAppend(&cf, m, "\n");
  switch (config.auto_failback) {
    case AutoFailback::kOn:
      absl::StrAppend(&cf, "auto_failback on\n");
      break;
    case AutoFailback::kOff:
      absl::StrAppend(&cf, "auto_failback off\n");
      break;
    case AutoFailback::kLegacy:
      absl::StrAppend(&cf, "auto_failback legacy\n");
      break;
  }
  absl::StrAppend(&cf, "realtime ", config.realtime ? "on" : "off", "\n");
  for (const std::string& n : config.nodes) {
    absl::StrAppend(&cf, "node ", n, "\n");
  }
  for (const std::string& line : config.extra_ha_cf) {
    absl::StrAppend(&cf, line, "\n");
  }

  for (const std::string& line : config.haresources) {
    absl::StrAppend(&files.haresources, line, "\n");
  }

  absl::StrAppend(&files.authkeys, "auth ", config.auth_index, "\n",
                  config.auth_index, " ", method);
  if (!config.auth_key.empty()) absl::StrAppend(&files.authkeys, " ",
                                                config.auth_key);
  absl::StrAppend(&files.authkeys, "\n");
  return files;
}

absl::StatusOr<std::unique_ptr<HeartbeatNode>> HeartbeatNode::Create(
    NetLab& lab, absl::string_view host, HeartbeatConfig config) {
  if (!lab.status().ok()) return lab.status();
  if (absl::StatusOr<std::string> ns = lab.NamespaceOf(host); !ns.ok()) {
    return ns.status();
  }
  for (const char* path :
       {kHeartbeatBinary, kClStatus, kEtcHaD, kVarLibHeartbeat}) {
    if (access(path, F_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is missing: install the heartbeat package"));
    }
  }
  // The log path is only known at Start(); render with a stand-in now so
  // that a bad config fails here.
  absl::StatusOr<HeartbeatFiles> files =
      RenderHeartbeatFiles(config, "/checked/at/create");
  if (!files.ok()) return files.status();
  return std::unique_ptr<HeartbeatNode>(new HeartbeatNode(
      lab, std::string(host), std::move(config), *std::move(files)));
}

HeartbeatNode::HeartbeatNode(NetLab& lab, std::string host,
                             HeartbeatConfig config, HeartbeatFiles files)
    : lab_(lab),
      host_(std::move(host)),
      config_(std::move(config)),
      files_(std::move(files)) {}

HeartbeatNode::~HeartbeatNode() {
  if (keeper_.pid() > 0) {
    absl::Status s = KillHard();
    if (!s.ok()) {
      std::cerr << "HeartbeatNode " << host_ << ": " << s << "\n";
    }
  }
  if (mnt_fd_ >= 0) close(mnt_fd_);
  // daemon_ and keeper_ kill their process groups and reap as they go.
}

absl::Status HeartbeatNode::WriteTree() {
  std::string templ =
      absl::StrCat(DefaultLogDir(), "/", lab_.prefix(), host_, ".hb.XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp ", templ, ": ", ErrnoText(errno)));
  }
  dir_ = templ;
  if (absl::Status s = MakeDir(dir_, 0755, 0, 0); !s.ok()) return s;
  for (const char* d : {"/etc", "/etc/ha.d", "/run", "/var", "/var/lib"}) {
    if (absl::Status s = MakeDir(dir_ + d, 0755, 0, 0); !s.ok()) return s;
  }
  absl::StatusOr<HeartbeatFiles> files =
      RenderHeartbeatFiles(config_, dir_ + "/ha.log");
  if (!files.ok()) return files.status();
  files_ = *std::move(files);
  const std::string etc = dir_ + "/etc/ha.d/";
  if (absl::Status s = WriteFile(etc + "ha.cf", files_.ha_cf, 0644); !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(etc + "haresources", files_.haresources, 0644);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(etc + "authkeys", files_.authkeys, 0600);
      !s.ok()) {
    return s;
  }
  // Mount points for the installed entries (bound by the keeper).
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(kEtcHaD, ec)) {
    const std::string name = e.path().filename();
    if (OwnConfigFiles().count(name) != 0) continue;
    const std::string target = etc + name;
    if (e.is_directory(ec)) {
      if (absl::Status s = MakeDir(target, 0755, 0, 0); !s.ok()) return s;
    } else if (e.is_regular_file(ec)) {
      if (absl::Status s = WriteFile(target, "", 0644); !s.ok()) return s;
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list ", kEtcHaD, ": ", ec.message()));
  }
  // var/lib/heartbeat: the installed directories with their modes and
  // owners (cores/<user> and the like), none of their files.
  const std::string varlib = dir_ + kVarLibHeartbeat;
  struct stat top;
  if (stat(kVarLibHeartbeat, &top) != 0) {
    return absl::InternalError(
        absl::StrCat("stat ", kVarLibHeartbeat, ": ", ErrnoText(errno)));
  }
  if (absl::Status s =
          MakeDir(varlib, top.st_mode & 07777, top.st_uid, top.st_gid);
      !s.ok()) {
    return s;
  }
  for (fs::recursive_directory_iterator it(kVarLibHeartbeat, ec), end;
       !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;
    const std::string rel =
        fs::relative(it->path(), kVarLibHeartbeat, ec).string();
    if (absl::Status s = MakeDir(absl::StrCat(varlib, "/", rel),
                                 st.st_mode & 07777, st.st_uid, st.st_gid);
        !s.ok()) {
      return s;
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list ", kVarLibHeartbeat, ": ", ec.message()));
  }
  for (const char* f : {"/ha.log", "/daemon.out", "/machine.log"}) {
    if (absl::Status s = WriteFile(dir_ + f, "", 0644); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status HeartbeatNode::ResetRunDir() {
  const std::string run = dir_ + "/run";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(run, ec)) {
    fs::remove_all(e.path(), ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot empty ", run, ": ", ec.message()));
    }
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list ", run, ": ", ec.message()));
  }
  // As the package's tmpfiles.d entry makes them at boot.
  uid_t hacluster = 0;
  gid_t haclient = 0;
  if (const struct passwd* pw = getpwnam("hacluster")) hacluster = pw->pw_uid;
  if (const struct group* gr = getgrnam("haclient")) haclient = gr->gr_gid;
  struct Entry {
    const char* path;
    mode_t mode;
    bool ha;
  };
  for (const Entry& e : {Entry{"/heartbeat", 0750, true},
                         Entry{"/heartbeat/ccm", 0750, true},
                         Entry{"/heartbeat/crm", 0750, true},
                         Entry{"/heartbeat/dopd", 0750, true},
                         Entry{"/crm", 0750, true},
                         Entry{"/resource-agents", 01755, false},
                         Entry{"/lock", 01777, false},
                         Entry{"/lock/subsys", 0755, false}}) {
    if (absl::Status s = MakeDir(run + e.path, e.mode, e.ha ? hacluster : 0,
                                 e.ha ? haclient : 0);
        !s.ok()) {
      return s;
    }
  }
  if (symlink("/dev/shm", (run + "/shm").c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("symlink ", run, "/shm: ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status HeartbeatNode::StartKeeper() {
  // The private /run first, so that whatever mount(8) keeps under
  // /run/mount goes there; -n: no mtab/utab entry either.
  std::vector<std::string> lines = {
      "set -e",
      absl::StrCat("mount -n --bind ", ShellQuote(dir_ + "/run"), " /run")};
  const std::string etc = dir_ + "/etc/ha.d";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(kEtcHaD, ec)) {
    const std::string name = e.path().filename();
    if (OwnConfigFiles().count(name) != 0) continue;
    if (!e.is_directory(ec) && !e.is_regular_file(ec)) continue;
    const std::string target = ShellQuote(absl::StrCat(etc, "/", name));
    lines.push_back(
        absl::StrCat("mount -n --bind ", ShellQuote(e.path().string()), " ",
                     target));
    lines.push_back(absl::StrCat("mount -n -o remount,bind,ro ", target));
  }
  // --rbind: the entries bound above come along.
  lines.push_back(absl::StrCat("mount -n --rbind ", ShellQuote(etc), " ",
                               kEtcHaD));
  lines.push_back(absl::StrCat("mount -n --bind ",
                               ShellQuote(dir_ + kVarLibHeartbeat), " ",
                               kVarLibHeartbeat));
  lines.push_back("mount -n -t tmpfs -o mode=1777,size=16m lab-shm /dev/shm");
  lines.push_back(absl::StrCat("hostname ", ShellQuote(config_.node_name)));
  lines.push_back("echo keeper-ready");
  lines.push_back("exec sleep infinity");
  const std::string script = absl::StrJoin(lines, "\n");

  SpawnOptions options;
  options.env = std::vector<std::string>{kPath, "LC_ALL=C"};
  absl::StatusOr<Process> keeper = lab_.Spawn(
      host_,
      {"unshare", "--mount", "--uts", "--ipc", "--propagation", "private",
       "--", "/bin/sh", "-c", script},
      dir_ + "/machine.log", options);
  if (!keeper.ok()) return keeper.status();
  keeper_ = *std::move(keeper);

  const std::string comm_path = absl::StrCat("/proc/", keeper_.pid(), "/comm");
  bool exited = false;
  const bool ready = WaitFor(
      [&] {
        if (keeper_.TryWait().has_value()) {
          exited = true;
          return true;
        }
        absl::StatusOr<std::string> comm = ReadFile(comm_path);
        absl::StatusOr<std::string> log = ReadFile(dir_ + "/machine.log");
        return comm.ok() && absl::StripAsciiWhitespace(*comm) == "sleep" &&
               log.ok() && absl::StrContains(*log, "keeper-ready");
      },
      absl::Seconds(10), absl::Milliseconds(5));
  if (!ready || exited) {
    absl::StatusOr<std::string> log = ReadFile(dir_ + "/machine.log");
    keeper_ = Process();
    return absl::InternalError(absl::StrCat(
        "the namespaces of ", host_, " could not be set up (",
        exited ? "the keeper exited" : "timed out", "): ",
        log.ok() ? *log : ""));
  }
  dev_t ours_dev;
  ino_t ours_ino;
  mnt_fd_ = open(absl::StrCat("/proc/", keeper_.pid(), "/ns/mnt").c_str(),
                 O_RDONLY | O_CLOEXEC);
  struct stat pinned;
  if (mnt_fd_ < 0 || fstat(mnt_fd_, &pinned) != 0) {
    if (mnt_fd_ >= 0) close(mnt_fd_);
    mnt_fd_ = -1;
    keeper_ = Process();
    return absl::InternalError(absl::StrCat(
        "cannot open the mount namespace of ", host_, "'s keeper: ",
        ErrnoText(errno)));
  }
  if (!MountNsOf(keeper_.pid(), &mnt_dev_, &mnt_ino_) ||
      pinned.st_dev != mnt_dev_ || pinned.st_ino != mnt_ino_ ||
      !MountNsOf(getpid(), &ours_dev, &ours_ino) ||
      (ours_dev == mnt_dev_ && ours_ino == mnt_ino_)) {
    close(mnt_fd_);
    mnt_fd_ = -1;
    keeper_ = Process();
    return absl::InternalError(absl::StrCat(
        "the keeper of ", host_, " has no mount namespace of its own"));
  }
  return absl::OkStatus();
}

absl::Status HeartbeatNode::CheckKeeper() {
  if (keeper_.pid() <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(host_, ": not started"));
  }
  if (std::optional<ExitStatus> e = keeper_.TryWait()) {
    return absl::FailedPreconditionError(absl::StrCat(
        host_, ": the keeper of its namespaces died (", e->ToString(), ")"));
  }
  return absl::OkStatus();
}

std::vector<std::string> HeartbeatNode::NsenterPrefix() const {
  return {"nsenter", "-t", absl::StrCat(keeper_.pid()), "-m", "-u", "-i", "-n",
          "--"};
}

std::vector<std::string> HeartbeatNode::Environment() const {
  return {kPath, "LC_ALL=C", "HOME=/root",
          absl::StrCat("HA_LOGFILE=", dir_, "/ha.log"), "HA_LOGFACILITY=none"};
}

absl::Status HeartbeatNode::Start(absl::Duration timeout) {
  if (DaemonRunning()) {
    return absl::FailedPreconditionError(
        absl::StrCat(host_, ": heartbeat runs already (pid ", daemon_.pid(),
                     ")"));
  }
  if (dir_.empty()) {
    if (absl::Status s = WriteTree(); !s.ok()) return s;
  }
  if (keeper_.pid() > 0) {
    if (absl::Status s = CheckKeeper(); !s.ok()) return s;
    // What a crash left (resource scripts, children of the old daemon).
    if (absl::Status s = KillHard(); !s.ok()) return s;
  }
  if (absl::Status s = ResetRunDir(); !s.ok()) return s;
  if (keeper_.pid() <= 0) {
    if (absl::Status s = StartKeeper(); !s.ok()) return s;
  }
  std::vector<std::string> argv = NsenterPrefix();
  argv.push_back(kHeartbeatBinary);
  argv.push_back("-f");  // stay in the foreground: no fork at start
  SpawnOptions options;
  options.env = std::vector<std::string>{kPath, "LC_ALL=C", "HOME=/root"};
  absl::StatusOr<Process> daemon =
      SpawnProcess(argv, dir_ + "/daemon.out", options);
  if (!daemon.ok()) return daemon.status();
  daemon_ = *std::move(daemon);

  // The daemon writes its pid file once its configuration is read and its
  // media are open. Its API (cl_status) answers later, once cluster
  // communication is up: after initdead at the latest.
  const std::string pidfile = dir_ + "/run/heartbeat.pid";
  std::optional<ExitStatus> exit;
  const bool up = WaitFor(
      [&] {
        exit = daemon_.TryWait();
        if (exit.has_value()) return true;
        absl::StatusOr<std::string> content = ReadFile(pidfile);
        int pid = 0;
        return content.ok() &&
               absl::SimpleAtoi(absl::StripAsciiWhitespace(*content), &pid) &&
               pid == daemon_.pid();
      },
      timeout, absl::Milliseconds(10));
  if (exit.has_value()) {
    return absl::InternalError(absl::StrCat(host_, ": heartbeat exited (",
                                            exit->ToString(), ") at start\n",
                                            LogTail()));
  }
  if (!up) {
    return absl::DeadlineExceededError(
        absl::StrCat(host_, ": heartbeat wrote no pid file within ",
                     absl::FormatDuration(timeout), "\n", LogTail()));
  }
  return absl::OkStatus();
}

bool HeartbeatNode::DaemonRunning() {
  return daemon_.pid() > 0 && !daemon_.TryWait().has_value();
}

absl::StatusOr<std::vector<pid_t>> HeartbeatNode::DaemonPids() const {
  std::vector<pid_t> pids;
  if (keeper_.pid() <= 0 || mnt_fd_ < 0) return pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) {
    return absl::InternalError(
        absl::StrCat("opendir /proc: ", ErrnoText(errno)));
  }
  while (struct dirent* e = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid) || pid <= 0) continue;
    if (pid == keeper_.pid()) continue;
    dev_t dev;
    ino_t ino;
    if (MountNsOf(pid, &dev, &ino) && dev == mnt_dev_ && ino == mnt_ino_) {
      pids.push_back(pid);
    }
  }
  closedir(proc);
  std::sort(pids.begin(), pids.end());
  return pids;
}

absl::Status HeartbeatNode::KillHard(absl::Duration timeout) {
  if (keeper_.pid() <= 0 || mnt_fd_ < 0) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<pid_t> left;
  // Each round: SIGKILL what is there (a process forked meanwhile is found
  // by the next round), then give the kernel a moment to tear them down.
  for (int round = 0; round < 200; ++round) {
    absl::StatusOr<std::vector<pid_t>> pids = DaemonPids();
    if (!pids.ok()) return pids.status();
    left = *pids;
    if (left.empty()) break;
    if (absl::Now() > deadline) break;
    for (pid_t pid : left) {
      // A pidfd pins the process: once it is checked to be the node's,
      // the signal cannot reach another process that got its pid.
      const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
      if (fd < 0) continue;  // gone already
      dev_t dev;
      ino_t ino;
      if (MountNsOf(pid, &dev, &ino) && dev == mnt_dev_ && ino == mnt_ino_) {
        syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0);
      }
      close(fd);
    }
    WaitFor(
        [&] {
          absl::StatusOr<std::vector<pid_t>> p = DaemonPids();
          return p.ok() && p->empty();
        },
        absl::Milliseconds(100), absl::Milliseconds(2));
  }
  if (daemon_.pid() > 0) daemon_.TryWait();
  if (!left.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat(host_, ": processes still alive after SIGKILL: ",
                     absl::StrJoin(left, " ")));
  }
  return absl::OkStatus();
}

absl::Status HeartbeatNode::Stop(absl::Duration timeout) {
  if (!DaemonRunning()) return KillHard();
  if (absl::Status s = daemon_.Kill(SIGTERM); !s.ok()) return s;
  const bool gone = WaitFor(
      [&] {
        if (!daemon_.TryWait().has_value()) return false;
        absl::StatusOr<std::vector<pid_t>> p = DaemonPids();
        return p.ok() && p->empty();
      },
      timeout, absl::Milliseconds(20));
  if (gone) return absl::OkStatus();
  const std::string log = LogTail();
  absl::Status killed = KillHard();
  return absl::DeadlineExceededError(absl::StrCat(
      host_, ": heartbeat did not stop within ", absl::FormatDuration(timeout),
      " after SIGTERM; killed (", killed.ToString(), ")\n", log));
}

absl::StatusOr<RunResult> HeartbeatNode::Exec(
    const std::vector<std::string>& argv, absl::Duration timeout) {
  if (absl::Status s = CheckKeeper(); !s.ok()) return s;
  if (argv.empty()) return absl::InvalidArgumentError("Exec: empty argv");
  std::vector<std::string> full = NsenterPrefix();
  full.insert(full.end(), argv.begin(), argv.end());
  SpawnOptions options;
  options.env = Environment();
  return RunProcess(full, timeout, options);
}

absl::StatusOr<std::string> HeartbeatNode::NodeStatus(absl::string_view peer) {
  absl::StatusOr<RunResult> r =
      Exec({kClStatus, "nodestatus", std::string(peer)});
  if (!r.ok()) return r.status();
  const absl::string_view word = absl::StripAsciiWhitespace(r->output);
  if (word.empty() || word.find_first_of(" \t\n") != absl::string_view::npos) {
    return absl::UnavailableError(absl::StrCat(
        host_, ": cl_status nodestatus ", peer, ": ", r->status.ToString(),
        ": ", r->output));
  }
  return std::string(word);
}

absl::StatusOr<std::string> HeartbeatNode::RscStatus() {
  absl::StatusOr<RunResult> r = Exec({kClStatus, "rscstatus"});
  if (!r.ok()) return r.status();
  const absl::string_view word = absl::StripAsciiWhitespace(r->output);
  if (!r->status.ok() || word.empty() ||
      word.find_first_of(" \t\n") != absl::string_view::npos) {
    return absl::UnavailableError(absl::StrCat(
        host_, ": cl_status rscstatus: ", r->status.ToString(), ": ",
        r->output));
  }
  return std::string(word);
}

absl::StatusOr<bool> HeartbeatNode::HasAddress(absl::string_view address) {
  absl::StatusOr<RunResult> r = Exec({"ip", "-o", "-4", "addr", "show"});
  if (!r.ok()) return r.status();
  if (!r->status.ok()) {
    return absl::InternalError(absl::StrCat(host_, ": ip -o -4 addr show: ",
                                            r->status.ToString(), ": ",
                                            r->output));
  }
  return FindAddress(r->output, address).has_value();
}

absl::Status HeartbeatNode::RemoveAddress(absl::string_view address) {
  absl::StatusOr<RunResult> r = Exec({"ip", "-o", "-4", "addr", "show"});
  if (!r.ok()) return r.status();
  if (!r->status.ok()) {
    return absl::InternalError(absl::StrCat(host_, ": ip -o -4 addr show: ",
                                            r->status.ToString(), ": ",
                                            r->output));
  }
  std::optional<std::pair<std::string, std::string>> found =
      FindAddress(r->output, address);
  if (!found.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(host_, ": no interface holds ", address));
  }
  absl::StatusOr<RunResult> del =
      Exec({"ip", "addr", "del", found->second, "dev", found->first});
  if (!del.ok()) return del.status();
  if (!del->status.ok()) {
    return absl::InternalError(absl::StrCat(
        host_, ": ip addr del ", found->second, " dev ", found->first, ": ",
        del->status.ToString(), ": ", del->output));
  }
  return absl::OkStatus();
}

std::string HeartbeatNode::LogTail(size_t max_bytes) const {
  if (dir_.empty()) return absl::StrCat("--- ", host_, ": no log yet\n");
  std::string out;
  for (const char* f : {"/ha.log", "/daemon.out", "/machine.log"}) {
    absl::StatusOr<std::string> s = ReadFile(dir_ + f);
    absl::StrAppend(&out, "--- ", host_, " ", dir_, f, "\n",
                    s.ok() ? Tail(*s, max_bytes) : s.status().ToString(),
                    "\n");
  }
  return out;
}

}  // namespace hacluster::harness
