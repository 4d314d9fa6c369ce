#include "migrate/legacy_writer.h"

#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/duration.h"
#include "agent/config/ucast_peers.h"
#include "migrate/converter.h"
#include "migrate/ip_text.h"

namespace hacluster::migrate {

namespace {

using spec::v1::ClusterSpec;
using spec::v1::Resource;

constexpr uint32_t kHeartbeatPort = 694;

absl::Status Bad(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// A value written as one word of a legacy file: non-empty, no blanks, no
// '#' (a comment in Heartbeat's files), no '\'.
absl::Status CheckWord(absl::string_view value, absl::string_view what) {
  if (value.empty()) return Bad(absl::StrCat(what, " is empty"));
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f || c == '#' || c == '\\') {
      return Bad(absl::StrCat(what, " '", value,
                              "' contains a blank, '#' or '\\', which Heartbeat's files "
                              "cannot hold"));
    }
  }
  return absl::OkStatus();
}

// A part of a NAME::ARG1::ARG2 token: a word without "::" (empty allowed).
absl::Status CheckScriptPart(absl::string_view value, absl::string_view what) {
  if (value.empty()) return absl::OkStatus();
  if (absl::StrContains(value, "::")) {
    return Bad(absl::StrCat(what, " '", value, "' contains '::', the argument separator"));
  }
  return CheckWord(value, what);
}

std::string LegacyDuration(const google::protobuf::Duration& d) {
  int64_t ms = config::ToMs(d);
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000);
  return absl::StrCat(ms, "ms");
}

absl::StatusOr<std::string> IpToken(const spec::v1::IpAddress& ip, const std::string& path) {
  bool v6 = IsIpv6(ip.address());
  if (!v6 && !IsIpv4(ip.address())) {
    return Bad(absl::StrCat(path, ".address '", ip.address(), "' is not an IP address"));
  }
  if (!ip.interface().empty()) {
    absl::Status s = CheckWord(ip.interface(), path + ".interface");
    if (!s.ok()) return s;
    // An interface spelled like an address would read back as a broadcast.
    if (absl::StrContains(ip.interface(), "/") || absl::StrContains(ip.interface(), ":") ||
        IsIpv4(ip.interface())) {
      return Bad(absl::StrCat(path, ".interface '", ip.interface(),
                              "' cannot be written in haresources"));
    }
  }
  std::string prefix = ip.prefix_length() != 0 ? absl::StrCat(ip.prefix_length()) : "";
  if (v6) {
    if (!ip.broadcast().empty()) {
      return Bad(absl::StrCat(path, ".broadcast is set on an IPv6 address"));
    }
    std::string out = absl::StrCat("IPv6addr::", ip.address());
    if (!prefix.empty() || !ip.interface().empty()) absl::StrAppend(&out, "/", prefix);
    if (!ip.interface().empty()) absl::StrAppend(&out, "/", ip.interface());
    return out;
  }
  if (!ip.broadcast().empty() && !IsIpv4(ip.broadcast())) {
    return Bad(absl::StrCat(path, ".broadcast '", ip.broadcast(),
                            "' is not an IPv4 address"));
  }
  std::string out = ip.address();
  if (!prefix.empty() || !ip.interface().empty() || !ip.broadcast().empty()) {
    absl::StrAppend(&out, "/", prefix);
  }
  if (!ip.interface().empty()) absl::StrAppend(&out, "/", ip.interface());
  if (!ip.broadcast().empty()) absl::StrAppend(&out, "/", ip.broadcast());
  return out;
}

absl::StatusOr<std::string> OcfToken(const spec::v1::OcfAgent& ocf, const std::string& path) {
  if (!ocf.provider().empty() && ocf.provider() != "heartbeat") {
    return Bad(absl::StrCat(path, ": OCF agent ", ocf.provider(), "/", ocf.type(),
                            " has no haresources form; Heartbeat 1 runs only "
                            "heartbeat/Filesystem and heartbeat/MailTo this way"));
  }
  const auto& params = ocf.params();
  auto get = [&](const std::string& key) {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  };
  std::set<std::string> allowed;
  std::vector<std::string> parts;
  if (ocf.type() == "Filesystem") {
    allowed = {"device", "directory", "fstype", "options"};
    if (get("device").empty() || get("directory").empty()) {
      return Bad(absl::StrCat(path, ": Filesystem needs params device and directory"));
    }
    parts = {"Filesystem", get("device"), get("directory")};
    if (!get("fstype").empty() || !get("options").empty()) parts.push_back(get("fstype"));
    if (!get("options").empty()) parts.push_back(get("options"));
  } else if (ocf.type() == "MailTo") {
    allowed = {"email", "subject"};
    if (get("email").empty()) return Bad(absl::StrCat(path, ": MailTo needs param email"));
    parts = {"MailTo", get("email")};
    if (!get("subject").empty()) parts.push_back(get("subject"));
  } else {
    return Bad(absl::StrCat(path, ": OCF agent heartbeat/", ocf.type(),
                            " has no haresources form; Heartbeat 1 runs only Filesystem "
                            "and MailTo this way"));
  }
  for (const auto& [key, value] : params) {
    if (allowed.count(key) == 0) {
      return Bad(absl::StrCat(path, ": ", ocf.type(), " param '", key,
                              "' has no place in the haresources form"));
    }
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::Status s = CheckScriptPart(parts[i], path + ".ocf.params");
    if (!s.ok()) return s;
  }
  return absl::StrJoin(parts, "::");
}

absl::StatusOr<std::string> ResourceToken(const Resource& r, const std::string& path,
                                          std::vector<std::string>* dropped) {
  if (!r.name().empty()) {
    dropped->push_back(path + ".name: haresources has no resource names");
  }
  if (r.has_start_timeout() || r.has_stop_timeout() || r.has_monitor_timeout()) {
    dropped->push_back(path + ": Heartbeat 1 has no per-resource timeouts");
  }
  if (r.has_monitor_interval()) {
    dropped->push_back(path + ".monitor_interval: Heartbeat 1 does not monitor resources");
  }
  switch (r.kind_case()) {
    case Resource::kIp:
      return IpToken(r.ip(), path + ".ip");
    case Resource::kLsb: {
      absl::Status s = CheckWord(r.lsb().name(), path + ".lsb.name");
      if (!s.ok()) return s;
      if (absl::StrContains(r.lsb().name(), "::") || absl::StrContains(r.lsb().name(), "/")) {
        return Bad(absl::StrCat(path, ".lsb.name '", r.lsb().name(),
                                "' cannot be written in haresources"));
      }
      return r.lsb().name();
    }
    case Resource::kHeartbeat: {
      const auto& hb = r.heartbeat();
      absl::Status s = CheckWord(hb.name(), path + ".heartbeat.name");
      if (!s.ok()) return s;
      s = CheckScriptPart(hb.name(), path + ".heartbeat.name");
      if (!s.ok()) return s;
      std::string out = hb.name();
      for (const std::string& a : hb.args()) {
        s = CheckScriptPart(a, path + ".heartbeat.args");
        if (!s.ok()) return s;
        absl::StrAppend(&out, "::", a);
      }
      return out;
    }
    case Resource::kOcf:
      return OcfToken(r.ocf(), path);
    default:
      return Bad(absl::StrCat(path, " has no kind"));
  }
}

const char* MethodName(spec::v1::AuthMethod m) {
  switch (m) {
    case spec::v1::AUTH_METHOD_CRC: return "crc";
    case spec::v1::AUTH_METHOD_MD5: return "md5";
    case spec::v1::AUTH_METHOD_SHA1: return "sha1";
    default: return nullptr;
  }
}

absl::StatusOr<std::string> WriteAuthkeys(const spec::v1::Auth& auth) {
  if (auth.keys().empty()) return Bad("auth.keys is empty; authkeys needs a key");
  uint32_t active = auth.active_key();
  if (active == 0) {
    if (auth.keys_size() != 1) {
      return Bad("auth.active_key is not set and there are several keys");
    }
    active = auth.keys(0).id();
  }
  bool found = false;
  std::string keys;
  for (int i = 0; i < auth.keys_size(); ++i) {
    const auto& k = auth.keys(i);
    std::string path = absl::StrCat("auth.keys[", i, "]");
    if (k.id() < 1 || k.id() > 15) return Bad(path + ".id must be 1 to 15");
    found = found || k.id() == active;
    const char* method = MethodName(k.method());
    if (method == nullptr) {
      return Bad(absl::StrCat(path, " uses sha256; Heartbeat's authkeys has no sha256 (only "
                              "crc, md5, sha1): add a sha1 key and make it active before "
                              "rolling back"));
    }
    if (!k.secret_file().empty()) {
      return Bad(absl::StrCat(path, " keeps its secret in a file (", k.secret_file(),
                              "); Heartbeat's authkeys needs it inline: set secret"));
    }
    absl::StrAppend(&keys, k.id(), " ", method);
    if (k.method() != spec::v1::AUTH_METHOD_CRC) {
      if (k.secret().empty()) return Bad(path + ".secret is empty");
      // Heartbeat reads the secret as one sscanf word: no blanks or control
      // characters ('#' is fine: only a line starting with '#' is a comment).
      for (char c : k.secret()) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u <= ' ' || u == 0x7f) {
          return Bad(absl::StrCat(path, ".secret contains a blank or control character; "
                                        "Heartbeat's authkeys reads the secret as one word, "
                                        "so it would use only part of it"));
        }
      }
      absl::StrAppend(&keys, " ", k.secret());
    }
    absl::StrAppend(&keys, "\n");
  }
  if (!found) return Bad(absl::StrCat("auth.active_key ", active, " is not among auth.keys"));
  return absl::StrCat("auth ", active, "\n", keys);
}

}  // namespace

absl::StatusOr<LegacyFiles> SpecToLegacy(const ClusterSpec& spec, const std::string& node) {
  LegacyFiles files;
  std::vector<std::string>& dropped = files.dropped;
  bool known = false;
  for (const auto& n : spec.nodes()) known = known || n.name() == node;
  if (!known) {
    std::vector<std::string> names;
    for (const auto& n : spec.nodes()) names.push_back(n.name());
    return Bad(absl::StrCat("node '", node, "' is not in the spec (nodes: ",
                            absl::StrJoin(names, ", "), ")"));
  }
  if (!spec.fencing().command().empty()) {
    return Bad("fencing.command has no ha.cf equivalent (Heartbeat's stonith directives "
               "take STONITH plugins, not commands); remove it before rolling back");
  }
  std::string& cf = files.ha_cf;
  absl::StrAppend(&cf, "# ha.cf of node ", node, ", written from cluster spec '",
                  spec.cluster_name(), "'\n");
  const auto& log = spec.logging();
  if (!log.file().empty()) {
    if (auto s = CheckWord(log.file(), "logging.file"); !s.ok()) return s;
    absl::StrAppend(&cf, "logfile ", log.file(), "\n");
  }
  if (!log.debug_file().empty()) {
    if (auto s = CheckWord(log.debug_file(), "logging.debug_file"); !s.ok()) return s;
    absl::StrAppend(&cf, "debugfile ", log.debug_file(), "\n");
  }
  if (!log.syslog_facility().empty()) {
    if (auto s = CheckWord(log.syslog_facility(), "logging.syslog_facility"); !s.ok()) return s;
    absl::StrAppend(&cf, "logfacility ", log.syslog_facility(), "\n");
  }
  const auto& t = spec.timing();
  if (t.has_keepalive()) absl::StrAppend(&cf, "keepalive ", LegacyDuration(t.keepalive()), "\n");
  if (t.has_deadtime()) absl::StrAppend(&cf, "deadtime ", LegacyDuration(t.deadtime()), "\n");
  if (t.has_warntime()) absl::StrAppend(&cf, "warntime ", LegacyDuration(t.warntime()), "\n");
  if (t.has_initdead()) absl::StrAppend(&cf, "initdead ", LegacyDuration(t.initdead()), "\n");
  if (!spec.watchdog_device().empty()) {
    if (auto s = CheckWord(spec.watchdog_device(), "watchdog_device"); !s.ok()) return s;
    absl::StrAppend(&cf, "watchdog ", spec.watchdog_device(), "\n");
  }

  // Media, with udpport lines placed so that each ucast/bcast medium gets its
  // port and the last udpport is the spec's udp_port.
  const uint32_t udp_port = spec.udp_port();
  const uint32_t cluster_port = udp_port != 0 ? udp_port : kHeartbeatPort;
  auto desired_port = [&](const spec::v1::Medium& m) -> uint32_t {
    uint32_t p = m.has_ucast() ? m.ucast().port() : m.bcast().port();
    return p != 0 ? p : cluster_port;
  };
  int first_udp = -1;
  std::map<std::string, int> first_of_kind;  // Heartbeat: one port per kind
  for (int i = 0; i < spec.media_size(); ++i) {
    const auto& m = spec.media(i);
    if (!m.has_ucast() && !m.has_bcast()) continue;
    if (first_udp < 0) first_udp = i;
    std::string kind = m.has_ucast() ? "ucast" : "bcast";
    auto [first, fresh] = first_of_kind.emplace(kind, i);
    if (!fresh && desired_port(spec.media(first->second)) != desired_port(m)) {
      return Bad(absl::StrCat("media[", i, "] is a ", kind, " on port ", desired_port(m),
                              " but media[", first->second, "] is one on port ",
                              desired_port(spec.media(first->second)),
                              "; Heartbeat reads udpport once per medium type, so all its ",
                              kind, " media share one port"));
    }
  }
  uint32_t current = kHeartbeatPort;
  uint32_t last_written = 0;
  if (udp_port != 0 &&
      (first_udp < 0 || desired_port(spec.media(first_udp)) == udp_port)) {
    absl::StrAppend(&cf, "udpport ", udp_port, "\n");
    current = last_written = udp_port;
  }
  std::set<uint32_t> bauds;
  bool any_serial = false;
  for (int i = 0; i < spec.media_size(); ++i) {
    const auto& m = spec.media(i);
    std::string path = absl::StrCat("media[", i, "]");
    if (m.has_ucast() || m.has_bcast()) {
      uint32_t p = desired_port(m);
      if (p != current) {
        absl::StrAppend(&cf, "udpport ", p, "\n");
        current = last_written = p;
      }
    }
    if (m.has_ucast()) {
      const auto& u = m.ucast();
      if (auto s = CheckWord(u.interface(), path + ".ucast.interface"); !s.ok()) {
        return Bad(absl::StrCat(s.message(), "; Heartbeat's ucast needs an interface"));
      }
      // Listed peers are written as they are (Heartbeat skips its own
      // address too); otherwise the other nodes' addresses, by the same rule
      // the agent follows (agent/config/ucast_peers.h).
      std::vector<std::string> addresses(u.peers().begin(), u.peers().end());
      if (addresses.empty()) addresses = config::UcastDestinations(spec, node, i);
      if (addresses.empty()) {
        return Bad(absl::StrCat(path, ".ucast has no peers and the other nodes have no "
                                      "addresses; Heartbeat's ucast needs an address to "
                                      "send to"));
      }
      for (const std::string& a : addresses) {
        if (auto s = CheckWord(a, path + ".ucast address"); !s.ok()) return s;
        absl::StrAppend(&cf, "ucast ", u.interface(), " ", a, "\n");
      }
    } else if (m.has_bcast()) {
      if (auto s = CheckWord(m.bcast().interface(), path + ".bcast.interface"); !s.ok()) return s;
      absl::StrAppend(&cf, "bcast ", m.bcast().interface(), "\n");
    } else if (m.has_mcast()) {
      const auto& mc = m.mcast();
      if (auto s = CheckWord(mc.interface(), path + ".mcast.interface"); !s.ok()) return s;
      if (auto s = CheckWord(mc.group(), path + ".mcast.group"); !s.ok()) return s;
      bool v6 = absl::StrContains(mc.group(), ":");
      absl::StrAppend(&cf, v6 ? "mcast6 " : "mcast ", mc.interface(), " ", mc.group(), " ",
                      mc.port() != 0 ? mc.port() : cluster_port, " ",
                      mc.ttl() != 0 ? mc.ttl() : 1, " ", mc.loop() ? 1 : 0, "\n");
    } else if (m.has_serial()) {
      if (auto s = CheckWord(m.serial().device(), path + ".serial.device"); !s.ok()) return s;
      absl::StrAppend(&cf, "serial ", m.serial().device(), "\n");
      any_serial = true;
      if (m.serial().baud() != 0) bauds.insert(m.serial().baud());
    } else {
      return Bad(path + " has no kind");
    }
  }
  if (udp_port != 0 && last_written != udp_port) {
    absl::StrAppend(&cf, "udpport ", udp_port, "\n");
  }
  if (any_serial && !bauds.empty()) {
    if (bauds.size() > 1) {
      return Bad("serial media have different baud rates; Heartbeat's baud applies to "
                 "every serial line");
    }
    absl::StrAppend(&cf, "baud ", *bauds.begin(), "\n");
  }
  if (spec.auto_failback() == spec::v1::AUTO_FAILBACK_ON) {
    absl::StrAppend(&cf, "auto_failback on\n");
  } else if (spec.auto_failback() == spec::v1::AUTO_FAILBACK_OFF) {
    absl::StrAppend(&cf, "auto_failback off\n");
  }
  for (int i = 0; i < spec.nodes_size(); ++i) {
    const auto& n = spec.nodes(i);
    if (auto s = CheckWord(n.name(), absl::StrCat("nodes[", i, "].name")); !s.ok()) return s;
    absl::StrAppend(&cf, "node ", n.name(), "\n");
    if (!n.labels().empty()) {
      dropped.push_back(absl::StrCat("nodes[", i, "].labels: ha.cf has no node labels"));
    }
  }
  const auto& c = spec.connectivity();
  if (!c.ping_nodes().empty()) {
    for (const std::string& h : c.ping_nodes()) {
      if (auto s = CheckWord(h, "connectivity.ping_nodes"); !s.ok()) return s;
    }
    absl::StrAppend(&cf, "ping ", absl::StrJoin(c.ping_nodes(), " "), "\n");
  }
  for (const auto& g : c.ping_groups()) {
    if (auto s = CheckWord(g.name(), "connectivity.ping_groups.name"); !s.ok()) return s;
    if (g.hosts().empty()) return Bad(absl::StrCat("ping group '", g.name(), "' has no hosts"));
    for (const std::string& h : g.hosts()) {
      if (auto s = CheckWord(h, "connectivity.ping_groups.hosts"); !s.ok()) return s;
    }
    absl::StrAppend(&cf, "ping_group ", g.name(), " ", absl::StrJoin(g.hosts(), " "), "\n");
  }
  if (c.has_deadping()) absl::StrAppend(&cf, "deadping ", LegacyDuration(c.deadping()), "\n");
  if (!c.ping_nodes().empty() || !c.ping_groups().empty()) {
    // The agent gives up groups on a node that reaches fewer ping nodes than
    // its peer; in Heartbeat 1 ipfail does that (at Debian's path). The
    // converter drops these lines again with a warning.
    absl::StrAppend(&cf, "respawn hacluster /usr/libexec/heartbeat/ipfail\n",
                    "apiauth ipfail gid=haclient uid=hacluster\n");
  }
  for (int i = 0; i < spec.respawn_size(); ++i) {
    const auto& r = spec.respawn(i);
    std::string path = absl::StrCat("respawn[", i, "]");
    if (auto s = CheckWord(r.user(), path + ".user"); !s.ok()) return s;
    if (r.argv().empty()) return Bad(path + ".argv is empty");
    for (const std::string& a : r.argv()) {
      if (auto s = CheckWord(a, path + ".argv"); !s.ok()) return s;
    }
    absl::StrAppend(&cf, "respawn ", r.user(), " ", absl::StrJoin(r.argv(), " "), "\n");
  }
  if (spec.has_api()) dropped.push_back("api: Heartbeat has no management API settings");
  if (spec.config_version() != 0) {
    dropped.push_back("config_version: Heartbeat's files carry no version");
  }
  std::vector<std::string> names;
  for (const auto& n : spec.nodes()) names.push_back(n.name());
  if (std::string derived = DeriveClusterName(names); spec.cluster_name() != derived) {
    dropped.push_back(absl::StrCat("cluster_name: Heartbeat's files carry no cluster name; "
                                   "converted back they give '", derived,
                                   "' unless hacli migrate is given --cluster-name ",
                                   spec.cluster_name()));
  }

  // haresources: one line per group.
  std::string& hr = files.haresources;
  absl::StrAppend(&hr, "# haresources written from cluster spec '", spec.cluster_name(),
                  "'; the same on every node\n");
  for (int g = 0; g < spec.groups_size(); ++g) {
    const auto& group = spec.groups(g);
    std::string path = absl::StrCat("groups[", g, "]");
    bool preferred_known = false;
    for (const auto& n : spec.nodes()) preferred_known |= n.name() == group.preferred_node();
    if (!preferred_known) {
      return Bad(absl::StrCat(path, ".preferred_node '", group.preferred_node(),
                              "' is not a node; every haresources line starts with one"));
    }
    if (group.resources().empty()) return Bad(path + " has no resources");
    if (group.name() != absl::StrCat("group", g + 1)) {
      dropped.push_back(absl::StrCat(path, ".name '", group.name(),
                                     "': haresources has no group names"));
    }
    std::string line = group.preferred_node();
    for (int r = 0; r < group.resources_size(); ++r) {
      absl::StatusOr<std::string> token = ResourceToken(
          group.resources(r), absl::StrCat(path, ".resources[", r, "]"), &dropped);
      if (!token.ok()) return token.status();
      absl::StrAppend(&line, " ", *token);
    }
    absl::StrAppend(&hr, line, "\n");
  }

  absl::StatusOr<std::string> keys = WriteAuthkeys(spec.auth());
  if (!keys.ok()) return keys.status();
  files.authkeys = *std::move(keys);
  return files;
}

}  // namespace hacluster::migrate
