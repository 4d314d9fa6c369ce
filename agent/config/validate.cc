#include "agent/config/validate.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/duration.h"
#include "agent/config/ucast_peers.h"

namespace hacluster::config {

namespace {

using spec::v1::AuthKey;
using spec::v1::AuthMethod;
using spec::v1::ClusterSpec;
using spec::v1::Medium;
using spec::v1::Resource;

constexpr int64_t kDefaultKeepaliveMs = 1000;
constexpr int64_t kDefaultDeadtimeMs = 30000;

// An address in binary form, comparable across spellings ("::1" == "0::1").
struct IpAddr {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
  bool operator<(const IpAddr& o) const {
    return family != o.family ? family < o.family : std::memcmp(bytes, o.bytes, 16) < 0;
  }
};

std::optional<IpAddr> ParseIp(const std::string& text) {
  IpAddr a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return std::nullopt;
}

bool IsMulticast(const IpAddr& a) {
  return a.family == AF_INET ? (a.bytes[0] & 0xF0) == 0xE0 : a.bytes[0] == 0xFF;
}

bool AllOf(const std::string& s, absl::string_view extra) {
  return std::all_of(s.begin(), s.end(), [extra](char c) {
    return absl::ascii_isalnum(c) || extra.find(c) != absl::string_view::npos;
  });
}

// Letters, digits, '.', '_' and '-': names of the cluster and of groups.
bool IsName(const std::string& s) { return !s.empty() && AllOf(s, "._-"); }

// Host names as `uname -n` prints them (underscores tolerated, as some
// legacy clusters have them).
bool IsHostname(const std::string& s) {
  return !s.empty() && s.size() <= 253 && AllOf(s, "._-") && s[0] != '-' && s[0] != '.';
}

std::string Quoted(const std::string& s) { return absl::StrCat("'", s, "'"); }

std::string MethodName(AuthMethod m) {
  switch (m) {
    case spec::v1::AUTH_METHOD_SHA1:
      return "sha1";
    case spec::v1::AUTH_METHOD_MD5:
      return "md5";
    case spec::v1::AUTH_METHOD_CRC:
      return "crc";
    default:
      return "sha256";
  }
}

// Runs the rules over one spec, reporting into a sink.
class Validator {
 public:
  Validator(const ClusterSpec& spec, const SourceMap& map, const ValidateOptions& options)
      : spec_(spec), map_(map), options_(options), sink_(map) {
    for (const auto& n : spec_.nodes()) node_names_.push_back(n.name());
    sorted_node_names_ = node_names_;
    std::sort(sorted_node_names_.begin(), sorted_node_names_.end());
  }

  std::vector<Diagnostic> Run() {
    CheckClusterName();
    CheckNodes();
    CheckTiming();
    CheckPort("udp_port", spec_.udp_port());
    CheckMedia();
    CheckAuth();
    CheckGroups();
    CheckConnectivity();
    CheckProcesses();
    CheckLogging();
    CheckApi();
    CheckWire();
    return sink_.Take();
  }

 private:
  int LineOf(const std::string& path) const { return map_.Find(path).line; }
  std::string AtLine(const std::string& path) const {
    int line = LineOf(path);
    return line > 0 ? absl::StrCat(" (line ", line, ")") : "";
  }

  void CheckPort(const std::string& path, uint32_t port) {
    if (port > 65535) {
      sink_.Error(path, absl::StrCat(path, " ", port, " is not a port number: use 1 to 65535"));
    }
  }
  void CheckPositive(const std::string& path, bool has, const google::protobuf::Duration& d) {
    if (has && ToMs(d) <= 0) {
      sink_.Error(path, absl::StrCat(path, " is ", FormatDurationMs(std::max<int64_t>(0, ToMs(d))),
                                     ": it must be longer than 0"));
    }
  }

  void CheckClusterName();
  void CheckNodes();
  void CheckNodeAddresses(int i);
  void CheckTiming();
  void CheckMedia();
  void CheckMedium(int i, const Medium& m);
  void CheckUcastPairing(int i);
  void CheckInterface(const std::string& path, const std::string& name);
  void CheckAuth();
  void CheckKey(int i, const AuthKey& key, std::map<uint32_t, int>* ids);
  void CheckSecretFile(const std::string& path, const std::string& file);
  void CheckActiveKey();
  void CheckGroups();
  void CheckGroup(int g, std::map<IpAddr, std::string>* vips);
  void CheckResource(const std::string& path, const std::string& group, const Resource& r,
                     std::map<IpAddr, std::string>* vips);
  void CheckIp(const std::string& path, const std::string& group,
               const spec::v1::IpAddress& ip, std::map<IpAddr, std::string>* vips);
  void CheckConnectivity();
  void CheckProcesses();
  void CheckLogging();
  void CheckApi();
  void CheckWire();

  const ClusterSpec& spec_;
  const SourceMap& map_;
  const ValidateOptions& options_;
  DiagnosticSink sink_;
  std::map<IpAddr, std::string> node_addresses_;  // address -> node name
  std::vector<std::string> node_names_;           // in spec order
  std::vector<std::string> sorted_node_names_;    // for lookups
  SuggestionBudget suggestions_;                  // "did you mean" for node names
};

void Validator::CheckClusterName() {
  const std::string& name = spec_.cluster_name();
  if (name.empty()) {
    sink_.Error("cluster_name",
                "cluster_name is missing: name the cluster (letters, digits, '.', '_', '-'); "
                "it is carried in every heartbeat");
  } else if (!IsName(name) || name.size() > 63) {
    sink_.Error("cluster_name", absl::StrCat("cluster_name ", Quoted(name),
                                             " is not valid: use 1 to 63 letters, digits, '.', "
                                             "'_' or '-'"));
  }
}

void Validator::CheckNodes() {
  if (spec_.nodes().empty()) {
    sink_.Error("nodes", "no nodes: list at least one node under nodes, each with its name");
    return;
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < spec_.nodes_size(); ++i) {
    const auto& node = spec_.nodes(i);
    std::string path = absl::StrCat("nodes[", i, "]");
    if (node.name().empty()) {
      sink_.Error(path, absl::StrCat(path, " has no name: set name to what `uname -n` prints on "
                                           "that machine"));
    } else if (!IsHostname(node.name())) {
      sink_.Error(path + ".name",
                  absl::StrCat("node name ", Quoted(node.name()),
                               " is not a host name: use letters, digits, '-', '.' and '_'"));
    } else if (auto [first, fresh] = seen.emplace(node.name(), i); !fresh) {
      std::string first_path = absl::StrCat("nodes[", first->second, "]");
      sink_.Error(path + ".name",
                  absl::StrCat("node name ", Quoted(node.name()), " is listed twice: ", path,
                               " repeats ", first_path, AtLine(first_path + ".name"),
                               "; node names must be unique"));
    }
    CheckNodeAddresses(i);
    for (const auto& [key, value] : node.labels()) {
      if (key.empty()) {
        sink_.Error(absl::StrCat(path, ".labels.", key),
                    absl::StrCat(path, ".labels has an empty key: give the label a name"));
      }
    }
  }
}

void Validator::CheckNodeAddresses(int i) {
  const auto& node = spec_.nodes(i);
  for (int k = 0; k < node.addresses_size(); ++k) {
    const std::string& text = node.addresses(k);
    std::string path = absl::StrCat("nodes[", i, "].addresses[", k, "]");
    std::optional<IpAddr> addr = ParseIp(text);
    if (!addr) {
      sink_.Error(path, absl::StrCat("address ", Quoted(text), " of node ", Quoted(node.name()),
                                     " is not an IPv4 or IPv6 address; the spec takes "
                                     "addresses, not host names: write the node's address"));
      continue;
    }
    auto [owner, fresh] = node_addresses_.emplace(*addr, node.name());
    if (!fresh) {
      sink_.Error(path, absl::StrCat("address ", text, " of node ", Quoted(node.name()),
                                     " is already an address of node ", Quoted(owner->second),
                                     ": each address belongs to one node"));
    }
  }
}

void Validator::CheckTiming() {
  const auto& t = spec_.timing();
  int64_t keepalive = t.has_keepalive() ? ToMs(t.keepalive()) : kDefaultKeepaliveMs;
  int64_t deadtime = t.has_deadtime() ? ToMs(t.deadtime()) : kDefaultDeadtimeMs;
  std::string ka = FormatDurationMs(std::max<int64_t>(0, keepalive));
  std::string dt = FormatDurationMs(std::max<int64_t>(0, deadtime));
  if (t.has_keepalive() && keepalive <= 0) {
    sink_.Error("timing.keepalive", "keepalive is 0: heartbeats need an interval longer than 0, "
                                    "e.g. 1s");
    return;
  }
  // Cross-field findings go to deadtime when it was written, else keepalive.
  std::string pair_path = t.has_deadtime() ? "timing.deadtime" : "timing.keepalive";
  if (deadtime <= keepalive) {
    sink_.Error(pair_path, absl::StrCat("deadtime ", dt, " must be longer than keepalive ", ka,
                                        ": otherwise nodes are declared dead between two "
                                        "heartbeats; make deadtime at least ",
                                        FormatDurationMs(2 * keepalive)));
    return;
  }
  if (deadtime < 2 * keepalive) {
    sink_.Warning(pair_path,
                  absl::StrCat("deadtime ", dt, " is less than twice keepalive ", ka,
                               ": one lost packet is enough to declare a node dead; make "
                               "deadtime at least ",
                               FormatDurationMs(2 * keepalive)));
  }
  if (t.has_warntime()) {
    int64_t warntime = ToMs(t.warntime());
    std::string wt = FormatDurationMs(std::max<int64_t>(0, warntime));
    if (warntime < keepalive) {
      sink_.Warning("timing.warntime",
                    absl::StrCat("warntime ", wt, " is shorter than keepalive ", ka,
                                 ": every heartbeat will be logged as late"));
    } else if (warntime > deadtime) {
      sink_.Warning("timing.warntime",
                    absl::StrCat("warntime ", wt, " is longer than deadtime ", dt,
                                 ": nodes are declared dead before any late-heartbeat warning"));
    }
  }
  if (t.has_initdead() && ToMs(t.initdead()) < 2 * deadtime) {
    sink_.Warning("timing.initdead",
                  absl::StrCat("initdead ", FormatDurationMs(std::max<int64_t>(0, ToMs(t.initdead()))),
                               " is less than twice deadtime ", dt,
                               ": at start-up, while the network settles, a peer may be declared "
                               "dead too early; make initdead at least ",
                               FormatDurationMs(2 * deadtime)));
  }
  const auto& c = spec_.connectivity();
  bool pings = c.ping_nodes_size() > 0 || c.ping_groups_size() > 0;
  if (c.has_deadping() && !pings) {
    sink_.Warning("connectivity.deadping",
                  "deadping has no effect: there are no ping_nodes or ping_groups");
  } else if (c.has_deadping() && ToMs(c.deadping()) >= deadtime) {
    sink_.Error("connectivity.deadping",
                absl::StrCat("deadping ", FormatDurationMs(std::max<int64_t>(0, ToMs(c.deadping()))),
                             " must be shorter than deadtime ", dt,
                             ": ping nodes must be found unreachable before a peer is "
                             "declared dead"));
  }
}

void Validator::CheckMedia() {
  if (spec_.media().empty()) {
    sink_.Error("media",
                "no heartbeat medium: add at least one under media (ucast, bcast, mcast or "
                "serial), e.g. `- ucast: {interface: eth1}`");
    return;
  }
  for (int i = 0; i < spec_.media_size(); ++i) CheckMedium(i, spec_.media(i));
}

// Several ucast media without peers pair with node addresses by position
// only when every node has one address per such medium (ucast_peers.h);
// said once, at the first such medium.
void Validator::CheckUcastPairing(int i) {
  int count = 0;
  int first = -1;
  for (int k = 0; k < spec_.media_size(); ++k) {
    if (spec_.media(k).has_ucast() && spec_.media(k).ucast().peers().empty()) {
      if (first < 0) first = k;
      ++count;
    }
  }
  if (count < 2 || i != first || UcastMediaPairByPosition(spec_)) return;
  for (const auto& node : spec_.nodes()) {
    if (node.addresses_size() == count) continue;
    sink_.Warning(absl::StrCat("media[", i, "].ucast"),
                  absl::StrCat(count, " ucast media share the node addresses by position, "
                               "but node ", Quoted(node.name()), " has ", node.addresses_size(),
                               " address(es): every address goes out on every ucast medium. "
                               "Give each node one address per ucast medium (in the same "
                               "order), or list peers on each medium"));
    return;
  }
}

// A Linux interface name: 1 to 15 characters, no '/', ':' or blanks (an
// alias label such as eth0:0 is not needed: addresses go on eth0 itself).
void Validator::CheckInterface(const std::string& path, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 15 && !ParseIp(name) &&
            std::none_of(name.begin(), name.end(), [](char c) {
              return c == '/' || c == ':' || static_cast<unsigned char>(c) <= ' ';
            });
  if (!ok && !name.empty()) {
    sink_.Error(path, absl::StrCat("interface ", Quoted(name),
                                   " is not a Linux interface name: at most 15 characters, "
                                   "no '/', ':' or blanks (write eth0, not eth0:0)"));
  }
}

void Validator::CheckMedium(int i, const Medium& m) {
  std::string path = absl::StrCat("media[", i, "]");
  switch (m.kind_case()) {
    case Medium::kUcast: {
      path += ".ucast";
      CheckPort(path + ".port", m.ucast().port());
      CheckInterface(path + ".interface", m.ucast().interface());
      for (int k = 0; k < m.ucast().peers_size(); ++k) {
        if (!ParseIp(m.ucast().peers(k))) {
          sink_.Error(absl::StrCat(path, ".peers[", k, "]"),
                      absl::StrCat("ucast peer ", Quoted(m.ucast().peers(k)),
                                   " is not an IPv4 or IPv6 address; the spec takes "
                                   "addresses, not host names (Heartbeat looked names up "
                                   "when it started): write the peer's address"));
        }
      }
      int with_addresses = 0;
      for (const auto& node : spec_.nodes()) with_addresses += node.addresses().empty() ? 0 : 1;
      if (m.ucast().peers().empty() && with_addresses < 2) {
        sink_.Error(path, absl::StrCat(
                              "ucast needs node addresses or peers: with no peers it sends to "
                              "the other nodes' addresses, but ",
                              with_addresses, " node(s) have addresses; add addresses to the "
                                              "nodes or list peers"));
      } else if (m.ucast().peers().empty()) {
        CheckUcastPairing(i);
      }
      break;
    }
    case Medium::kBcast:
      path += ".bcast";
      CheckPort(path + ".port", m.bcast().port());
      CheckInterface(path + ".interface", m.bcast().interface());
      if (m.bcast().interface().empty()) {
        sink_.Error(path, "bcast has no interface: name the interface to broadcast on, e.g. eth1");
      }
      break;
    case Medium::kMcast: {
      path += ".mcast";
      const auto& mc = m.mcast();
      CheckPort(path + ".port", mc.port());
      CheckInterface(path + ".interface", mc.interface());
      if (mc.interface().empty()) {
        sink_.Error(path, "mcast has no interface: name the interface to join the group on");
      }
      std::optional<IpAddr> group = ParseIp(mc.group());
      if (mc.group().empty()) {
        sink_.Error(path, "mcast has no group: set group to a multicast address, e.g. 239.0.0.1");
      } else if (!group || !IsMulticast(*group)) {
        sink_.Error(path + ".group",
                    absl::StrCat("mcast group ", Quoted(mc.group()),
                                 " is not a multicast address (224.0.0.0/4 or ff00::/8)"));
      }
      if (mc.ttl() > 255) {
        sink_.Error(path + ".ttl",
                    absl::StrCat("mcast ttl ", mc.ttl(), " is out of range: use 1 to 255"));
      }
      break;
    }
    case Medium::kSerial: {
      path += ".serial";
      static const std::set<uint32_t> kBauds = {0,     1200,  2400,  4800,   9600,
                                                19200, 38400, 57600, 115200, 230400};
      if (m.serial().device().empty()) {
        sink_.Error(path, "serial has no device: name the serial device, e.g. /dev/ttyS0");
      }
      if (kBauds.count(m.serial().baud()) == 0) {
        sink_.Error(path + ".baud",
                    absl::StrCat("serial baud ", m.serial().baud(),
                                 " is not a supported speed: use 1200, 2400, 4800, 9600, "
                                 "19200, 38400, 57600, 115200 or 230400"));
      }
      break;
    }
    case Medium::KIND_NOT_SET:
      sink_.Error(path, absl::StrCat(path, " has no kind: set one of ucast, bcast, mcast or "
                                           "serial"));
      break;
  }
}

void Validator::CheckAuth() {
  const auto& auth = spec_.auth();
  if (auth.keys().empty()) {
    sink_.Error("auth",
                "no authentication key: add one under auth.keys, e.g. "
                "`- {id: 1, method: sha256, secret_file: authkey}`");
    return;
  }
  std::map<uint32_t, int> ids;
  for (int i = 0; i < auth.keys_size(); ++i) CheckKey(i, auth.keys(i), &ids);
  CheckActiveKey();
}

void Validator::CheckKey(int i, const AuthKey& key, std::map<uint32_t, int>* ids) {
  std::string path = absl::StrCat("auth.keys[", i, "]");
  if (key.id() < 1 || key.id() > 15) {
    sink_.Error(key.id() == 0 ? path : path + ".id",
                absl::StrCat(path, " has id ", key.id(), ": key ids are 1 to 15"));
  } else if (auto [first, fresh] = ids->emplace(key.id(), i); !fresh) {
    std::string first_path = absl::StrCat("auth.keys[", first->second, "]");
    sink_.Error(path + ".id", absl::StrCat("key id ", key.id(), " is used twice: ", path,
                                           " repeats ", first_path, AtLine(first_path),
                                           "; key ids must be unique"));
  }
  std::string label = absl::StrCat("key ", key.id(), " (", MethodName(key.method()), ")");
  bool crc = key.method() == spec::v1::AUTH_METHOD_CRC;
  if (!key.secret().empty() && !key.secret_file().empty()) {
    sink_.Error(path + ".secret_file",
                absl::StrCat(label, " has both secret and secret_file: keep one of them"));
  } else if (!crc && key.secret().empty() && key.secret_file().empty()) {
    sink_.Error(path, absl::StrCat(label, " has no secret: set secret or secret_file"));
  }
  if (!key.secret_file().empty() && options_.check_files) {
    CheckSecretFile(path + ".secret_file", key.secret_file());
  }
}

void Validator::CheckSecretFile(const std::string& path, const std::string& file) {
  std::string full = file;
  if (file[0] != '/' && !options_.base_dir.empty()) {
    full = absl::StrCat(options_.base_dir, "/", file);
  }
  struct stat st;
  if (stat(full.c_str(), &st) != 0) {
    sink_.Error(path, absl::StrCat("secret file ", full, " cannot be read: ", std::strerror(errno)));
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    sink_.Error(path, absl::StrCat("secret file ", full, " is not a regular file"));
    return;
  }
  if (st.st_size == 0) {
    sink_.Error(path, absl::StrCat("secret file ", full, " is empty: put the shared secret "
                                   "on its first line"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    sink_.Error(path, absl::StrCat("secret file ", full, " has mode ", mode,
                                   "; it must not be readable by group or others: chmod 600 ",
                                   full));
  }
}

void Validator::CheckActiveKey() {
  const auto& auth = spec_.auth();
  int index = -1;  // of the active key in auth.keys
  if (auth.active_key() != 0) {
    std::vector<std::string> ids;
    for (int i = 0; i < auth.keys_size(); ++i) {
      ids.push_back(absl::StrCat(auth.keys(i).id()));
      if (auth.keys(i).id() == auth.active_key() && index < 0) index = i;
    }
    if (index < 0) {
      sink_.Error("auth.active_key",
                  absl::StrCat("active_key ", auth.active_key(),
                               " is not a configured key: the keys are ",
                               absl::StrJoin(ids, ", ")));
      return;
    }
  } else if (auth.keys_size() > 1) {
    sink_.Error("auth", absl::StrCat("auth has ", auth.keys_size(),
                                     " keys but no active_key: set active_key to the id "
                                     "heartbeats are sent with"));
    return;
  } else {
    index = 0;
  }
  const AuthKey& active = auth.keys(index);
  bool network = std::any_of(spec_.media().begin(), spec_.media().end(), [](const Medium& m) {
    return m.has_ucast() || m.has_bcast() || m.has_mcast();
  });
  if (active.method() == spec::v1::AUTH_METHOD_CRC && network) {
    sink_.Warning(absl::StrCat("auth.keys[", index, "].method"),
                  absl::StrCat("active key ", active.id(),
                               " uses crc: crc does not authenticate; on a shared network "
                               "anyone can inject heartbeats: use ",
                               spec_.wire() == spec::v1::WIRE_FORMAT_HEARTBEAT3 ? "sha1" : "sha256",
                               " or keep crc for a private cable"));
  }
}

void Validator::CheckGroups() {
  std::map<std::string, int> names;
  std::map<IpAddr, std::string> vips;  // address -> "group 'x'"
  for (int g = 0; g < spec_.groups_size(); ++g) {
    const std::string& name = spec_.groups(g).name();
    std::string path = absl::StrCat("groups[", g, "]");
    if (name.empty()) {
      sink_.Error(path, absl::StrCat(path, " has no name: name the group (letters, digits, '.', "
                                           "'_', '-')"));
    } else if (!IsName(name)) {
      sink_.Error(path + ".name", absl::StrCat("group name ", Quoted(name),
                                               " is not valid: use letters, digits, '.', '_' "
                                               "or '-'"));
    } else if (auto [first, fresh] = names.emplace(name, g); !fresh) {
      std::string first_path = absl::StrCat("groups[", first->second, "]");
      sink_.Error(path + ".name", absl::StrCat("group name ", Quoted(name), " is used twice: ",
                                               path, " repeats ", first_path,
                                               AtLine(first_path + ".name")));
    }
    CheckGroup(g, &vips);
  }
}

void Validator::CheckGroup(int g, std::map<IpAddr, std::string>* vips) {
  const auto& group = spec_.groups(g);
  std::string path = absl::StrCat("groups[", g, "]");
  std::string label = group.name().empty() ? path : absl::StrCat("group ", Quoted(group.name()));
  if (group.preferred_node().empty()) {
    sink_.Error(path, absl::StrCat(label, " has no preferred_node: name the node it runs on "
                                          "when it can"));
  } else {
    const std::vector<std::string>& nodes = node_names_;
    if (!std::binary_search(sorted_node_names_.begin(), sorted_node_names_.end(),
                            group.preferred_node())) {
      std::string message = absl::StrCat("preferred_node ", Quoted(group.preferred_node()),
                                         " of ", label, " is not a node of this cluster");
      std::string close = suggestions_.Closest(group.preferred_node(), nodes);
      if (!close.empty()) absl::StrAppend(&message, "; did you mean ", Quoted(close), "?");
      sink_.Error(path + ".preferred_node", std::move(message));
      if (std::string notice = suggestions_.RanOutNotice(); !notice.empty()) {
        sink_.Warning(path + ".preferred_node", std::move(notice));
      }
    }
  }
  if (group.resources().empty()) {
    sink_.Error(path, absl::StrCat(label, " has no resources: list at least one (ip, lsb, "
                                          "heartbeat or ocf)"));
  }
  for (int r = 0; r < group.resources_size(); ++r) {
    CheckResource(absl::StrCat(path, ".resources[", r, "]"), label, group.resources(r), vips);
  }
}

void Validator::CheckResource(const std::string& path, const std::string& group,
                              const Resource& r, std::map<IpAddr, std::string>* vips) {
  auto check_script_name = [&](const std::string& kind, const std::string& name) {
    if (name.empty()) {
      sink_.Error(path + "." + kind, absl::StrCat(path, ": ", kind, " resource has no name: "
                                                                    "name the script"));
    } else if (name.find('/') != std::string::npos) {
      sink_.Error(path + "." + kind + ".name",
                  absl::StrCat(kind, " name ", Quoted(name),
                               " contains '/': give the script's name, not a path"));
    }
  };
  switch (r.kind_case()) {
    case Resource::kIp:
      CheckIp(path + ".ip", group, r.ip(), vips);
      break;
    case Resource::kLsb:
      check_script_name("lsb", r.lsb().name());
      break;
    case Resource::kHeartbeat:
      check_script_name("heartbeat", r.heartbeat().name());
      break;
    case Resource::kOcf:
      if (r.ocf().type().empty()) {
        sink_.Error(path + ".ocf", absl::StrCat(path, ": ocf resource has no type: name the "
                                                      "agent, e.g. Filesystem or IPaddr2"));
      }
      for (const std::string* part : {&r.ocf().type(), &r.ocf().provider()}) {
        if (part->find('/') != std::string::npos) {
          sink_.Error(path + ".ocf", absl::StrCat("ocf provider and type must not contain '/': ",
                                                  Quoted(*part)));
        }
      }
      break;
    case Resource::KIND_NOT_SET:
      sink_.Error(path, absl::StrCat(path, " has no kind: set one of ip, lsb, heartbeat or ocf"));
      break;
  }
  CheckPositive(path + ".start_timeout", r.has_start_timeout(), r.start_timeout());
  CheckPositive(path + ".stop_timeout", r.has_stop_timeout(), r.stop_timeout());
  CheckPositive(path + ".monitor_interval", r.has_monitor_interval(), r.monitor_interval());
  CheckPositive(path + ".monitor_timeout", r.has_monitor_timeout(), r.monitor_timeout());
}

void Validator::CheckIp(const std::string& path, const std::string& group,
                        const spec::v1::IpAddress& ip, std::map<IpAddr, std::string>* vips) {
  std::optional<IpAddr> addr = ParseIp(ip.address());
  if (ip.address().empty()) {
    sink_.Error(path, absl::StrCat(path, ": ip resource has no address"));
    return;
  }
  if (!addr) {
    size_t slash = ip.address().find('/');
    std::string hint;
    if (slash != std::string::npos && ParseIp(ip.address().substr(0, slash))) {
      hint = absl::StrCat(": write the prefix separately, address: ",
                          ip.address().substr(0, slash), " and prefix_length: ",
                          ip.address().substr(slash + 1));
    }
    sink_.Error(path + ".address", absl::StrCat("VIP ", Quoted(ip.address()),
                                                " is not an IPv4 or IPv6 address", hint));
    return;
  }
  bool v4 = addr->family == AF_INET;
  uint32_t max_prefix = v4 ? 32 : 128;
  if (ip.prefix_length() > max_prefix) {
    sink_.Error(path + ".prefix_length",
                absl::StrCat("prefix_length ", ip.prefix_length(), " of VIP ", ip.address(),
                             " is out of range: use 1 to ", max_prefix));
  }
  CheckInterface(path + ".interface", ip.interface());
  if (!ip.broadcast().empty()) {
    std::optional<IpAddr> b = ParseIp(ip.broadcast());
    if (!v4) {
      sink_.Error(path + ".broadcast", absl::StrCat("VIP ", ip.address(),
                                                    " is IPv6, which has no broadcast: remove "
                                                    "broadcast"));
    } else if (!b || b->family != AF_INET) {
      sink_.Error(path + ".broadcast", absl::StrCat("broadcast ", Quoted(ip.broadcast()),
                                                    " is not an IPv4 address"));
    }
  }
  if (auto owner = node_addresses_.find(*addr); owner != node_addresses_.end()) {
    sink_.Error(path + ".address",
                absl::StrCat("VIP ", ip.address(), " is ", owner->second,
                             "'s own address: a VIP must be an address no node owns, or "
                             "failing over takes that node's address away"));
  }
  auto [first, fresh] = vips->emplace(*addr, group);
  if (!fresh) {
    sink_.Error(path + ".address", absl::StrCat("VIP ", ip.address(), " of ", group,
                                                " is already managed by ", first->second,
                                                ": a VIP can be in one group only"));
  }
}

void Validator::CheckConnectivity() {
  const auto& c = spec_.connectivity();
  auto is_host = [](const std::string& h) {
    return !h.empty() && std::none_of(h.begin(), h.end(), [](char ch) {
      return absl::ascii_isspace(ch) || absl::ascii_iscntrl(ch);
    });
  };
  for (int i = 0; i < c.ping_nodes_size(); ++i) {
    if (!is_host(c.ping_nodes(i))) {
      sink_.Error(absl::StrCat("connectivity.ping_nodes[", i, "]"),
                  absl::StrCat("ping node ", Quoted(c.ping_nodes(i)),
                               " is not a host name or address"));
    }
  }
  std::set<std::string> names;
  for (int g = 0; g < c.ping_groups_size(); ++g) {
    const auto& group = c.ping_groups(g);
    std::string path = absl::StrCat("connectivity.ping_groups[", g, "]");
    if (group.name().empty()) {
      sink_.Error(path, absl::StrCat(path, " has no name: name the ping group"));
    } else if (!names.insert(group.name()).second) {
      sink_.Error(path + ".name", absl::StrCat("ping group name ", Quoted(group.name()),
                                               " is used twice; ping group names must be "
                                               "unique"));
    }
    if (group.hosts().empty()) {
      sink_.Error(path, absl::StrCat("ping group ", Quoted(group.name()),
                                     " has no hosts: list at least one"));
    }
    for (int h = 0; h < group.hosts_size(); ++h) {
      if (!is_host(group.hosts(h))) {
        sink_.Error(absl::StrCat(path, ".hosts[", h, "]"),
                    absl::StrCat("ping group host ", Quoted(group.hosts(h)),
                                 " is not a host name or address"));
      }
    }
  }
}

void Validator::CheckProcesses() {
  for (int i = 0; i < spec_.respawn_size(); ++i) {
    const auto& r = spec_.respawn(i);
    std::string path = absl::StrCat("respawn[", i, "]");
    if (r.user().empty()) {
      sink_.Error(path, absl::StrCat(path, " has no user: name the user the program runs as"));
    }
    if (r.argv().empty() || r.argv(0).empty()) {
      sink_.Error(r.argv().empty() ? path : path + ".argv[0]",
                  absl::StrCat(path, " has no program: set argv to the program and its "
                                     "arguments"));
    } else if (r.argv(0)[0] != '/') {
      sink_.Error(path + ".argv[0]",
                  absl::StrCat(path, " program ", Quoted(r.argv(0)),
                               " is not an absolute path: it is run without a shell or PATH "
                               "search, e.g. /usr/lib/heartbeat/", r.argv(0)));
    }
  }
  if (!spec_.watchdog_device().empty() && spec_.watchdog_device()[0] != '/') {
    sink_.Error("watchdog_device",
                absl::StrCat("watchdog_device ", Quoted(spec_.watchdog_device()),
                             " is not an absolute path, e.g. /dev/watchdog"));
  }
  const auto& fencing = spec_.fencing();
  if (!fencing.command().empty() && fencing.command(0).empty()) {
    sink_.Error("fencing.command[0]",
                "fencing.command starts with an empty program name: set the fencing program "
                "first, then its arguments");
  }
  CheckPositive("fencing.timeout", fencing.has_timeout(), fencing.timeout());
}

void Validator::CheckLogging() {
  static const std::set<std::string> kFacilities = {
      "auth",   "authpriv", "cron",   "daemon", "kern",   "lpr",    "mail",   "news",
      "syslog", "user",     "uucp",   "local0", "local1", "local2", "local3", "local4",
      "local5", "local6",   "local7"};
  const std::string& facility = spec_.logging().syslog_facility();
  if (!facility.empty() && kFacilities.count(facility) == 0) {
    std::vector<std::string> names(kFacilities.begin(), kFacilities.end());
    std::string message = absl::StrCat("syslog_facility ", Quoted(facility),
                                       " is not a syslog facility (daemon, local0 ... local7, "
                                       "...)");
    std::string close = ClosestMatch(facility, names);
    if (!close.empty()) absl::StrAppend(&message, "; did you mean ", Quoted(close), "?");
    sink_.Error("logging.syslog_facility", std::move(message));
  }
}

// Checks "host:port" ("[v6]:port" for IPv6, ":port" for the node's own
// addresses); returns a problem or "".
std::string ListenProblem(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return "has no port: write host:port, e.g. 0.0.0.0:7443";
  std::string host = listen.substr(0, colon);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return "has no valid port: the port must be 1 to 65535";
  }
  if (host.empty()) return "";  // each of the node's own addresses
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::optional<IpAddr> a = ParseIp(host.substr(1, host.size() - 2));
    return a && a->family == AF_INET6 ? "" : "has no valid IPv6 address between [ and ]";
  }
  if (host.find(':') != std::string::npos) return "has an IPv6 address not in [ ]: write [::1]:7443";
  return IsHostname(host) ? "" : "has no valid host: write host:port, e.g. 0.0.0.0:7443";
}

void Validator::CheckApi() {
  const auto& api = spec_.api();
  for (int i = 0; i < api.listen_size(); ++i) {
    std::string problem = ListenProblem(api.listen(i));
    if (!problem.empty()) {
      sink_.Error(absl::StrCat("api.listen[", i, "]"),
                  absl::StrCat("api listen address ", Quoted(api.listen(i)), " ", problem));
      continue;
    }
    if (!absl::StartsWith(api.listen(i), ":")) continue;
    for (const auto& node : spec_.nodes()) {
      if (node.addresses_size() > 0) continue;
      sink_.Error(absl::StrCat("api.listen[", i, "]"),
                  absl::StrCat("api listen address ", Quoted(api.listen(i)),
                               " means each node's own addresses, and node ", node.name(),
                               " has none: give it addresses, or write host:port"));
      break;
    }
  }
  const std::pair<const char*, const std::string*> required[] = {
      {"tls_cert", &api.tls_cert()},
      {"tls_key", &api.tls_key()},
      {"tls_client_ca", &api.tls_client_ca()}};
  if (!api.metrics_listen().empty()) {
    std::string problem = ListenProblem(api.metrics_listen());
    if (!problem.empty()) {
      sink_.Error("api.metrics_listen", absl::StrCat("api metrics_listen address ",
                                                     Quoted(api.metrics_listen()), " ", problem));
    } else if (absl::StartsWith(api.metrics_listen(), ":")) {
      for (const auto& node : spec_.nodes()) {
        if (node.addresses_size() > 0) continue;
        sink_.Error("api.metrics_listen",
                    absl::StrCat("api metrics_listen address ", Quoted(api.metrics_listen()),
                                 " means each node's own addresses, and node ", node.name(),
                                 " has none: give it addresses, or write host:port"));
        break;
      }
    }
    // The same port as the API on the same address: one of them would not
    // listen.
    const std::string metrics_port =
        api.metrics_listen().substr(api.metrics_listen().rfind(':') + 1);
    for (int i = 0; i < api.listen_size(); ++i) {
      const std::string& l = api.listen(i);
      const bool both_own = absl::StartsWith(l, ":") && absl::StartsWith(api.metrics_listen(), ":");
      if (l.substr(l.rfind(':') + 1) == metrics_port && (both_own || l == api.metrics_listen())) {
        sink_.Error("api.metrics_listen",
                    absl::StrCat("api.metrics_listen ", Quoted(api.metrics_listen()),
                                 " takes the port of api.listen ", Quoted(l),
                                 ": give metrics another port"));
      }
    }
    for (const auto& [name, value] : required) {
      if (value->empty()) {
        sink_.Error("api.metrics_listen",
                    absl::StrCat("api.metrics_listen serves metrics over HTTPS, which needs TLS: "
                                 "set api.",
                                 name));
      }
    }
    if (api.listen().empty()) return;  // the TLS files are used: no warning below
  }
  if (api.listen().empty()) {
    for (const auto& [name, value] : required) {
      if (value->empty()) continue;
      sink_.Warning(absl::StrCat("api.", name),
                    absl::StrCat("api.", name,
                                 " is set but api.listen is empty: there is no TCP API for it "
                                 "to secure, so it is not used"));
    }
    return;
  }
  for (const auto& [name, value] : required) {
    if (value->empty()) {
      sink_.Error("api", absl::StrCat("api.listen serves the API over TCP, which needs TLS: set "
                                      "api.",
                                      name));
    }
  }
}

// A node on the heartbeat3 wire is a member of a Heartbeat 3 pair: what
// Heartbeat cannot say or do is refused here, by name.
void Validator::CheckWire() {
  if (spec_.wire() != spec::v1::WIRE_FORMAT_HEARTBEAT3) return;
  const std::string why = " (wire: heartbeat3 speaks Heartbeat 3.0.6's protocol";
  if (spec_.nodes_size() != 2) {
    sink_.Error("nodes", absl::StrCat("wire: heartbeat3 needs exactly 2 nodes, this spec has ",
                                      spec_.nodes_size(),
                                      ": Heartbeat's haresources mode runs pairs only"));
  }
  for (int i = 0; i < spec_.media_size(); ++i) {
    if (spec_.media(i).kind_case() == Medium::kSerial) {
      sink_.Error(absl::StrCat("media[", i, "].serial"),
                  absl::StrCat("a serial medium cannot carry wire: heartbeat3", why,
                               " on UDP only): use ucast, bcast or mcast"));
    }
  }
  for (int i = 0; i < spec_.auth().keys_size(); ++i) {
    const AuthMethod m = spec_.auth().keys(i).method();
    if (m == spec::v1::AUTH_METHOD_UNSPECIFIED || m == spec::v1::AUTH_METHOD_SHA256) {
      sink_.Error(absl::StrCat("auth.keys[", i, "].method"),
                  absl::StrCat("key ", spec_.auth().keys(i).id(), " uses sha256, which Heartbeat 3 "
                               "does not have", why, "): use sha1, md5 or crc, as authkeys does"));
    }
  }
  if (spec_.connectivity().ping_nodes_size() > 0 || spec_.connectivity().ping_groups_size() > 0) {
    sink_.Error("connectivity",
                absl::StrCat("connectivity cannot be used with wire: heartbeat3", why,
                             ", whose peers do not share connectivity scores): remove it until "
                             "both nodes run the native wire"));
  }
}

}  // namespace

std::vector<Diagnostic> ValidateSpec(const spec::v1::ClusterSpec& spec,
                                     const SourceMap& source_map,
                                     const ValidateOptions& options) {
  return Validator(spec, source_map, options).Run();
}

}  // namespace hacluster::config
