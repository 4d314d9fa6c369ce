#include "migrate/converter.h"

#include <map>
#include <set>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/config/duration.h"
#include "migrate/authkeys_parser.h"
#include "migrate/hacf_parser.h"
#include "migrate/haresources_parser.h"
#include "migrate/legacy_lines.h"

namespace hacluster::migrate {

namespace {

using config::Diagnostic;
using config::Location;
using config::Severity;
using spec::v1::ClusterSpec;
using spec::v1::Medium;

constexpr uint32_t kHeartbeatPort = 694;

// A ucast line of ha.cf.
struct UcastLine {
  std::string interface;
  std::string address;
  int line = 0;
};

// Everything ConvertOne learns, for ConvertLegacyPair's cross-checks.
struct Converted {
  MigrateResult result;
  HaCfParse hacf;
  HaresourcesParse haresources;
  AuthkeysParse authkeys;
  std::vector<UcastLine> ucast_lines;
  std::vector<std::string> node_names;
};

// Heartbeat's boolean words (cl_str_to_boolean).
std::optional<bool> ParseBool(absl::string_view s) {
  std::string v = absl::AsciiStrToLower(s);
  if (v == "on" || v == "yes" || v == "true" || v == "y" || v == "1") return true;
  if (v == "off" || v == "no" || v == "false" || v == "n" || v == "0") return false;
  return std::nullopt;
}

std::optional<uint32_t> ParseUint(absl::string_view s, uint32_t min, uint32_t max) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
  }
  uint32_t v = 0;
  if (!absl::SimpleAtoi(s, &v) || v < min || v > max) return std::nullopt;
  return v;
}

std::string Basename(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

std::string Dirname(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return "";
  return std::string(path.substr(0, slash));
}

// Builds the spec while walking ha.cf, haresources and authkeys.
class ConverterState {
 public:
  ConverterState(const LegacyText& text, const MigrateOptions& options, bool ucast_peers,
                 Converted* out)
      : text_(text), options_(options), ucast_peers_(ucast_peers), out_(out),
        spec_(out->result.spec), map_(out->result.source_map) {
    map_.set_file(text.ha_cf_name);
  }

  void Run() {
    out_->hacf = ParseHaCf(text_.ha_cf, text_.ha_cf_name);
    Append(out_->hacf.diagnostics);
    for (const HaCfDirective& d : out_->hacf.directives) Directive(d);
    FinishHaCf();
    out_->haresources =
        ParseHaresources(text_.haresources, text_.haresources_name, text_.local_scripts);
    Append(out_->haresources.diagnostics);
    Haresources();
    out_->authkeys = ParseAuthkeys(text_.authkeys, text_.authkeys_name);
    Append(out_->authkeys.diagnostics);
    Authkeys();
    // Keys need no check for --rolling: authkeys' methods (crc, md5, sha1)
    // are those of Heartbeat's wire too, and they are kept as they are.
    if (options_.rolling) spec_.set_wire(spec::v1::WIRE_FORMAT_HEARTBEAT3);
    if (!options_.cluster_name.empty()) {
      spec_.set_cluster_name(options_.cluster_name);
    } else {
      spec_.set_cluster_name(DeriveClusterName(out_->node_names));
    }
  }

 private:
  // Moves a parser's diagnostics into the result.
  void Append(std::vector<Diagnostic>& ds) {
    for (Diagnostic& d : ds) out_->result.diagnostics.push_back(std::move(d));
    ds.clear();
  }
  Location At(int line) const { return Location{text_.ha_cf_name, line, 0}; }
  void Error(int line, std::string message) {
    out_->result.diagnostics.push_back({Severity::kError, At(line), std::move(message)});
  }
  void Warning(int line, std::string message) {
    out_->result.diagnostics.push_back({Severity::kWarning, At(line), std::move(message)});
  }
  // Warns when a single-valued directive is given again; the last one wins,
  // as in Heartbeat.
  void Once(const HaCfDirective& d) {
    auto [it, inserted] = single_lines_.emplace(d.name, d.line);
    if (!inserted) {
      Warning(d.line, absl::StrCat(d.name, " is given again (first at line ", it->second,
                                   "); the last one wins"));
      it->second = d.line;
    }
  }

  void Duration(const HaCfDirective& d, google::protobuf::Duration* field,
                const std::string& path) {
    Once(d);
    absl::StatusOr<int64_t> ms = config::ParseDurationMs(d.args[0]);
    if (!ms.ok()) {
      Error(d.line, absl::StrCat(d.name, ": ", ms.status().message()));
      return;
    }
    *field = config::FromMs(*ms);
    map_.Set(path, At(d.line));
  }

  void Directive(const HaCfDirective& d) {
    const std::string& n = d.name;
    if (n == "node") {
      for (const std::string& name : d.args) {
        auto it = node_lines_.find(name);
        if (it != node_lines_.end()) {
          Error(d.line, absl::StrCat("node '", name, "' is declared twice (also at line ",
                                     it->second, "); remove one"));
          continue;
        }
        node_lines_[name] = d.line;
        int i = spec_.nodes_size();
        spec_.add_nodes()->set_name(name);
        out_->node_names.push_back(name);
        map_.Set(absl::StrCat("nodes[", i, "]"), At(d.line));
        map_.Set(absl::StrCat("nodes[", i, "].name"), At(d.line));
      }
    } else if (n == "keepalive") {
      Duration(d, spec_.mutable_timing()->mutable_keepalive(), "timing.keepalive");
    } else if (n == "deadtime") {
      Duration(d, spec_.mutable_timing()->mutable_deadtime(), "timing.deadtime");
    } else if (n == "warntime") {
      Duration(d, spec_.mutable_timing()->mutable_warntime(), "timing.warntime");
    } else if (n == "initdead") {
      Duration(d, spec_.mutable_timing()->mutable_initdead(), "timing.initdead");
    } else if (n == "deadping") {
      Duration(d, spec_.mutable_connectivity()->mutable_deadping(), "connectivity.deadping");
    } else if (n == "udpport") {
      Udpport(d);
    } else if (n == "ucast") {
      Ucast(d);
    } else if (n == "bcast") {
      for (const std::string& iface : d.args) {
        Medium m;
        m.mutable_bcast()->set_interface(iface);
        AddMedium(std::move(m), d, "bcast", /*udp=*/true);
      }
    } else if (n == "mcast" || n == "mcast6") {
      Mcast(d);
    } else if (n == "serial") {
      if (options_.rolling) {
        Error(d.line, absl::StrCat(
                          "serial ", absl::StrJoin(d.args, " "), " cannot be converted with "
                          "--rolling: the spec gets wire: heartbeat3, Heartbeat's protocol on "
                          "UDP only, which a serial line does not carry; convert a copy of "
                          "ha.cf without the serial (and baud) lines, keeping a ucast, bcast "
                          "or mcast line, and add the serial medium with hacli apply after "
                          "the switch to wire: native"));
        return;
      }
      for (const std::string& dev : d.args) {
        Medium m;
        m.mutable_serial()->set_device(dev);
        AddMedium(std::move(m), d, "serial", /*udp=*/false);
      }
    } else if (n == "baud") {
      Once(d);
      std::optional<uint32_t> baud = ParseUint(d.args[0], 1, 10000000);
      if (!baud) {
        Error(d.line, absl::StrCat("baud '", d.args[0],
                                   "' is not a line speed; write e.g. baud 19200"));
        return;
      }
      baud_ = *baud;
      baud_line_ = d.line;
    } else if (n == "auto_failback") {
      Once(d);
      std::string v = absl::AsciiStrToLower(d.args[0]);
      if (v == "legacy") {
        auto_failback_ = spec::v1::AUTO_FAILBACK_ON;
        Warning(d.line,
                "auto_failback legacy is converted to auto_failback on: Heartbeat's "
                "legacy mode (failback unless a node runs nice_failback) has no "
                "equivalent, and 'on' is what it does in a cluster of converted nodes");
      } else if (std::optional<bool> b = ParseBool(v)) {
        auto_failback_ =
            *b ? spec::v1::AUTO_FAILBACK_ON : spec::v1::AUTO_FAILBACK_OFF;
      } else {
        Error(d.line, absl::StrCat("auto_failback '", d.args[0],
                                   "' is not one of on, off, legacy"));
        return;
      }
      auto_failback_line_ = d.line;
    } else if (n == "nice_failback") {
      Once(d);
      std::optional<bool> b = ParseBool(d.args[0]);
      if (!b) {
        Error(d.line,
              absl::StrCat("nice_failback '", d.args[0], "' is not one of on, off"));
        return;
      }
      nice_failback_ = *b ? spec::v1::AUTO_FAILBACK_OFF : spec::v1::AUTO_FAILBACK_ON;
      nice_failback_line_ = d.line;
      Warning(d.line,
              absl::StrCat("nice_failback is obsolete; converted to auto_failback ",
                           *b ? "off" : "on", " (nice_failback ", *b ? "on" : "off",
                           " means the same)"));
    } else if ((n == "ping" || n == "ping_group") && options_.rolling) {
      Error(d.line,
            absl::StrCat(n, " ", absl::StrJoin(d.args, " "), " cannot be converted with "
                         "--rolling: the spec gets wire: heartbeat3, and the Heartbeat peer "
                         "shares no connectivity scores with the agent, so the spec can have "
                         "no connectivity; convert a copy of ha.cf without the ping and "
                         "ping_group lines, and add connectivity (ping_nodes, ping_groups) "
                         "with hacli apply after the switch to wire: native"));
    } else if (n == "ping") {
      for (const std::string& host : d.args) {
        int i = spec_.connectivity().ping_nodes_size();
        spec_.mutable_connectivity()->add_ping_nodes(host);
        map_.Set(absl::StrCat("connectivity.ping_nodes[", i, "]"), At(d.line));
      }
    } else if (n == "ping_group") {
      for (const auto& g : spec_.connectivity().ping_groups()) {
        if (g.name() == d.args[0]) {
          Error(d.line, absl::StrCat("ping_group '", d.args[0],
                                     "' is defined twice; give each group its own name"));
          return;
        }
      }
      int i = spec_.connectivity().ping_groups_size();
      auto* g = spec_.mutable_connectivity()->add_ping_groups();
      g->set_name(d.args[0]);
      for (size_t k = 1; k < d.args.size(); ++k) g->add_hosts(d.args[k]);
      map_.Set(absl::StrCat("connectivity.ping_groups[", i, "]"), At(d.line));
    } else if (n == "respawn") {
      std::string program = Basename(d.args[1]);
      if (program == "ipfail" || program == "ccm" || program == "dopd") {
        // Clients of Heartbeat's API: nothing in the spec, and a warning that
        // says what replaces each (ipfail's once the ping lines are known).
        if (program == "ipfail") {
          ipfail_lines_.push_back(d.line);
        } else {
          Warning(d.line, HeartbeatClientWarning(program));
        }
        return;
      }
      int i = spec_.respawn_size();
      auto* r = spec_.add_respawn();
      r->set_user(d.args[0]);
      for (size_t k = 1; k < d.args.size(); ++k) r->add_argv(d.args[k]);
      map_.Set(absl::StrCat("respawn[", i, "]"), At(d.line));
      // A program that is not an absolute path is an error of the spec's
      // validation, said at this line.
      for (size_t k = 2; k < d.args.size(); ++k) {
        if (d.args[k].find_first_of("\"'$`|&;<>*?") != std::string::npos) {
          Warning(d.line, absl::StrCat("respawn argument '", d.args[k], "' looks like shell "
                                       "syntax; the agent runs argv without a shell, so it "
                                       "is passed as is: wrap the command in a script if it "
                                       "needs a shell"));
          break;
        }
      }
    } else if (n == "autojoin") {
      Once(d);
      std::string v = absl::AsciiStrToLower(d.args[0]);
      if (v == "other" || v == "any") {
        Error(d.line, absl::StrCat("autojoin ", d.args[0], " lets nodes that ha.cf does not "
                                   "list join the cluster; the agent's nodes are exactly "
                                   "those listed with `node`: list every node and remove "
                                   "this line"));
      } else if (v != "none") {
        Error(d.line, absl::StrCat("autojoin '", d.args[0], "' is not one of none, other, "
                                   "any"));
      }
      // autojoin none: only the nodes listed with `node`, the agent's model.
    } else if (n == "watchdog") {
      Once(d);
      spec_.set_watchdog_device(d.args[0]);
      map_.Set("watchdog_device", At(d.line));
    } else if (n == "logfile") {
      Once(d);
      spec_.mutable_logging()->set_file(d.args[0]);
      map_.Set("logging.file", At(d.line));
    } else if (n == "debugfile") {
      Once(d);
      spec_.mutable_logging()->set_debug_file(d.args[0]);
      map_.Set("logging.debug_file", At(d.line));
    } else if (n == "logfacility") {
      Once(d);
      logfacility_ = absl::AsciiStrToLower(d.args[0]);
      logfacility_line_ = d.line;
    } else if (n == "use_logd") {
      Once(d);
      std::optional<bool> b = ParseBool(d.args[0]);
      if (!b) {
        Error(d.line, absl::StrCat("use_logd '", d.args[0], "' is not one of yes, no"));
        return;
      }
      use_logd_ = *b;
      use_logd_line_ = d.line;
    } else if (n == "apiauth") {
      Warning(d.line,
              absl::StrCat("apiauth ", d.args[0],
                           " is dropped: the agent has no Heartbeat client API for it to "
                           "authorize"));
    } else if (n == "hopfudge") {
      Warning(d.line,
              "hopfudge is dropped: it only matters for ring topologies, which the agent "
              "does not forward heartbeats over");
    } else if (n == "crm" || n == "pacemaker") {
      std::string v = absl::AsciiStrToLower(d.args[0]);
      std::optional<bool> b = ParseBool(v);
      if (b.has_value() && !*b) return;  // crm off: Heartbeat 1 style, as converted
      if (b.has_value() || v == "respawn") {
        Error(d.line,
              absl::StrCat(d.name, " ", d.args[0],
                           " means the resources are in a Heartbeat 2 CIB (cib.xml), which "
                           "this converter does not read; describe the resources in "
                           "haresources (one line per group) and set '", d.name,
                           " no', or write the spec's groups by hand"));
      } else {
        Error(d.line, absl::StrCat(d.name, " '", d.args[0], "' is not one of yes, no"));
      }
    }
  }

  void Udpport(const HaCfDirective& d) {
    std::optional<uint32_t> port = ParseUint(d.args[0], 1, 65535);
    if (!port) {
      Error(d.line, absl::StrCat("udpport '", d.args[0], "' is not a port (1 to 65535)"));
      return;
    }
    // Heartbeat's ucast and bcast plugins each read udpport once, at their
    // first line: a later udpport does not move media of a type already seen.
    for (const auto& [kind, first] : first_udp_line_) {
      uint32_t fixed = type_port_.at(kind);
      if (*port == fixed) continue;
      Warning(d.line,
              absl::StrCat("udpport ", *port, " comes after the first ", kind, " line (line ",
                           first, "); Heartbeat reads udpport once per medium type, at its "
                           "first line, so every ", kind, " medium keeps port ", fixed));
    }
    current_port_ = *port;
    udp_port_ = *port;
    udp_port_line_ = d.line;
  }

  void Ucast(const HaCfDirective& d) {
    const std::string& iface = d.args[0];
    out_->ucast_lines.push_back({iface, d.args[1], d.line});
    auto key = std::make_pair(iface, PortOf("ucast", d.line));
    auto it = ucast_index_.find(key);
    int index;
    if (it == ucast_index_.end()) {
      Medium m;
      m.mutable_ucast()->set_interface(iface);
      index = AddMedium(std::move(m), d, "ucast", /*udp=*/true);
      ucast_index_[key] = index;
    } else {
      index = it->second;
    }
    if (ucast_peers_) {
      auto* ucast = pending_[index].medium.mutable_ucast();
      int p = ucast->peers_size();
      ucast->add_peers(d.args[1]);
      map_.Set(absl::StrCat("media[", index, "].ucast.peers[", p, "]"), At(d.line));
    }
  }

  void Mcast(const HaCfDirective& d) {
    bool v6 = d.name == "mcast6";
    Medium m;
    auto* mc = m.mutable_mcast();
    mc->set_interface(d.args[0]);
    mc->set_group(d.args[1]);
    std::optional<uint32_t> port = ParseUint(d.args[2], 1, 65535);
    std::optional<uint32_t> ttl = ParseUint(d.args[3], 1, 255);
    std::optional<uint32_t> loop = ParseUint(d.args[4], 0, 1);
    if (!port) {
      Error(d.line, absl::StrCat(d.name, " port '", d.args[2], "' is not a port (1 to 65535)"));
      return;
    }
    if (!ttl) {
      Error(d.line, absl::StrCat(d.name, " ", v6 ? "hops" : "ttl", " '", d.args[3],
                                 "' is not a number from 1 to 255"));
      return;
    }
    if (!loop) {
      Error(d.line, absl::StrCat(d.name, " loop '", d.args[4], "' is not 0 or 1"));
      return;
    }
    bool group_v6 = d.args[1].find(':') != std::string::npos;
    if (v6 != group_v6) {
      Error(d.line, absl::StrCat(d.name, " group '", d.args[1], "' is not an IPv",
                                 v6 ? "6" : "4", " address; use ", v6 ? "mcast" : "mcast6",
                                 " for it"));
      return;
    }
    mc->set_port(*port);
    mc->set_ttl(*ttl);
    mc->set_loop(*loop == 1);
    AddMedium(std::move(m), d, "mcast", /*udp=*/false);
  }

  // Returns the index of the new medium in spec.media.
  // The port of ucast or bcast media: the udpport in effect at the first line
  // of that kind.
  uint32_t PortOf(const std::string& kind, int line) {
    if (first_udp_line_.emplace(kind, line).second) type_port_[kind] = current_port_;
    return type_port_[kind];
  }

  int AddMedium(Medium m, const HaCfDirective& d, const std::string& kind, bool udp) {
    int index = static_cast<int>(pending_.size());
    pending_.push_back({std::move(m), d.line, udp ? PortOf(kind, d.line) : 0, udp});
    map_.Set(absl::StrCat("media[", index, "]"), At(d.line));
    map_.Set(absl::StrCat("media[", index, "].", kind), At(d.line));
    return index;
  }

  // What replaces ccm and dopd, which `respawn` lines of Heartbeat start.
  static std::string HeartbeatClientWarning(const std::string& program) {
    if (program == "ccm") {
      return "respawn of ccm is not converted (nothing in the spec): ccm is Heartbeat's "
             "consensus membership for its CRM; the agent keeps its own membership "
             "(heartbeats on every medium, a node dead after deadtime, and with 3 or more "
             "nodes only a majority runs groups), so nothing needs to run instead";
    }
    return "respawn of dopd is not converted (nothing in the spec): dopd, the DRBD "
           "outdate-peer daemon, works through Heartbeat's messaging, which the agent does "
           "not offer, and the agent does not outdate a DRBD peer itself, so DRBD's "
           "drbd-peer-outdater handler will fail. Before the cutover configure DRBD's "
           "fencing otherwise (a fence-peer handler of your own, or no 'fencing "
           "resource-only' in drbd.conf), and set fencing.command in the spec to fence a "
           "dead node before its groups are taken over";
  }

  void FinishHaCf() {
    const bool pings = spec_.connectivity().ping_nodes_size() > 0 ||
                       spec_.connectivity().ping_groups_size() > 0;
    for (int line : ipfail_lines_) {
      Warning(line,
              absl::StrCat(
                  "respawn of ipfail is not converted (nothing in the spec): the agent does "
                  "ipfail's job itself: each node scores the ping nodes it reaches (ping and "
                  "ping_group, the spec's connectivity), and a node that reaches fewer than "
                  "its peer gives its groups up to it",
                  pings ? ""
                  : options_.rolling
                      ? "; with --rolling the spec has no connectivity (wire: heartbeat3 "
                        "cannot carry it), so nothing is scored until it is added (e.g. "
                        "ping_nodes: [ROUTER]) with hacli apply after the switch to wire: "
                        "native"
                      : "; this ha.cf has no ping or ping_group line, so there is nothing "
                        "to score: add one (e.g. ping ROUTER) to keep ipfail's protection"));
    }
    if (udp_port_ != 0) {
      spec_.set_udp_port(udp_port_);
      map_.Set("udp_port", At(udp_port_line_));
    }
    uint32_t cluster_port = udp_port_ != 0 ? udp_port_ : kHeartbeatPort;
    bool any_serial = false;
    for (size_t i = 0; i < pending_.size(); ++i) {
      Medium& m = pending_[i].medium;
      if (pending_[i].udp && pending_[i].port != cluster_port) {
        if (m.has_ucast()) m.mutable_ucast()->set_port(pending_[i].port);
        if (m.has_bcast()) m.mutable_bcast()->set_port(pending_[i].port);
      }
      if (m.has_serial()) {
        any_serial = true;
        if (baud_ != 0) {
          m.mutable_serial()->set_baud(baud_);
          map_.Set(absl::StrCat("media[", i, "].serial.baud"), At(baud_line_));
        }
      }
      *spec_.add_media() = std::move(m);
    }
    if (baud_ != 0 && !any_serial) {
      Warning(baud_line_, "baud has no effect: there is no serial line; it is dropped");
    }
    if (spec_.nodes_size() == 0) {
      Error(0, "ha.cf declares no node; add a line 'node NAME' for every machine of the "
               "cluster (its `uname -n`)");
    }
    if (options_.rolling && spec_.nodes_size() > 2) {
      const std::string& third = out_->node_names[2];
      Error(node_lines_.at(third),
            absl::StrCat("node '", third, "' is a third node (ha.cf declares ",
                         spec_.nodes_size(), "): --rolling joins a running Heartbeat pair "
                         "(wire: heartbeat3 needs exactly 2 nodes); convert a larger "
                         "cluster without --rolling and cut over with Heartbeat stopped"));
    } else if (options_.rolling && spec_.nodes_size() == 1) {
      const std::string& only = out_->node_names[0];
      Error(node_lines_.at(only),
            absl::StrCat("ha.cf declares only node '", only, "': --rolling joins a running "
                         "Heartbeat pair (wire: heartbeat3 needs exactly 2 nodes); declare "
                         "both nodes with `node`"));
    }
    if (!options_.node.empty() && node_lines_.count(options_.node) == 0) {
      Error(0, absl::StrCat("node '", options_.node, "' (--node) is not declared in ha.cf; "
                            "its nodes are ", absl::StrJoin(out_->node_names, ", ")));
    }
    // Failback: auto_failback wins over the obsolete nice_failback.
    if (auto_failback_line_ != 0) {
      spec_.set_auto_failback(auto_failback_);
      map_.Set("auto_failback", At(auto_failback_line_));
      if (nice_failback_line_ != 0) {
        Warning(nice_failback_line_,
                absl::StrCat("nice_failback is ignored: auto_failback at line ",
                             auto_failback_line_, " takes precedence"));
      }
    } else if (nice_failback_line_ != 0) {
      spec_.set_auto_failback(nice_failback_);
      map_.Set("auto_failback", At(nice_failback_line_));
    }
    // Logging.
    if (logfacility_line_ != 0 && logfacility_ != "none") {
      spec_.mutable_logging()->set_syslog_facility(logfacility_);
      map_.Set("logging.syslog_facility", At(logfacility_line_));
    }
    if (use_logd_) {
      if (logfacility_line_ == 0) {
        spec_.mutable_logging()->set_syslog_facility("daemon");
        map_.Set("logging.syslog_facility", At(use_logd_line_));
      }
      std::string facility = spec_.logging().syslog_facility();
      Warning(use_logd_line_,
              facility.empty()
                  ? std::string("use_logd: the agent has no logging daemon; with "
                                "logfacility none it does not log to syslog at all")
                  : absl::StrCat("use_logd: the agent has no logging daemon; it logs to "
                                 "syslog directly (facility ", facility, ")"));
    }
  }

  void Haresources() {
    const std::string& file = text_.haresources_name;
    // Heartbeat compares node names without regard to case. Lower-case name
    // -> the first declared node with that name, built once (a lookup per
    // line, not a scan of every node).
    std::map<std::string, std::string> by_lower;
    for (const std::string& declared : out_->node_names) {
      by_lower.emplace(absl::AsciiStrToLower(declared), declared);
    }
    config::SuggestionBudget suggestions;
    // The declared nodes as each error lists them: the first few only, so
    // that a long node list does not make every message that long.
    constexpr size_t kListed = 8;
    const std::vector<std::string>& names = out_->node_names;
    std::string declared_list =
        names.size() <= kListed
            ? absl::StrJoin(names, ", ")
            : absl::StrCat(absl::StrJoin(names.begin(), names.begin() + kListed, ", "),
                           ", ... (", names.size(), " in all)");
    int g = 0;
    // Script (kind, name, arguments) -> the group it was first in and where.
    std::map<std::string, std::pair<int, int>> script_groups;
    ErrorLimit limit(out_->result.diagnostics.size());
    for (const HaresourcesLine& line : out_->haresources.lines) {
      if (limit.Reached(&out_->result.diagnostics, file, line.line)) break;
      std::string node = line.node;
      if (node_lines_.count(node) == 0) {
        auto it = by_lower.find(absl::AsciiStrToLower(line.node));
        if (it != by_lower.end()) {
          const std::string& declared = it->second;
          node = declared;
          out_->result.diagnostics.push_back(
              {Severity::kWarning, Location{file, line.line, 0},
               absl::StrCat("node '", line.node, "' is written '", declared, "' in ",
                            text_.ha_cf_name, "; Heartbeat ignores the case of node names, "
                            "the spec uses '", declared, "'")});
        }
      }
      if (node_lines_.count(node) == 0) {
        std::string guess = suggestions.Closest(line.node, out_->node_names);
        if (std::string notice = suggestions.RanOutNotice(); !notice.empty()) {
          out_->result.diagnostics.push_back(
              {Severity::kWarning, Location{file, line.line, 0}, std::move(notice)});
        }
        out_->result.diagnostics.push_back(
            {Severity::kError, Location{file, line.line, 0},
             absl::StrCat("node '", line.node, "' is not declared in ", text_.ha_cf_name,
                          " (nodes: ", declared_list, ")",
                          guess.empty() ? "; add 'node " + line.node + "' there"
                                        : "; did you mean '" + guess + "'?")});
        // The conversion has failed: no group for the line (a file of junk
        // lines builds no spec).
        continue;
      }
      if (line.resources.empty()) continue;
      std::string path = absl::StrCat("groups[", g, "]");
      auto* group = spec_.add_groups();
      group->set_name(absl::StrCat("group", g + 1));
      group->set_preferred_node(node);
      Location loc{file, line.line, 0};
      map_.Set(path, loc);
      map_.Set(path + ".name", loc);
      map_.Set(path + ".preferred_node", loc);
      for (size_t r = 0; r < line.resources.size(); ++r) {
        *group->add_resources() = line.resources[r].resource;
        Location rloc{file, line.resources[r].line, 0};
        WarnIfInAnotherGroup(line.resources[r], g, rloc, &script_groups);
        std::string rpath = absl::StrCat(path, ".resources[", r, "]");
        map_.Set(rpath, rloc);
        const auto& res = line.resources[r].resource;
        if (res.has_ip()) map_.Set(rpath + ".ip.address", rloc);
      }
      ++g;
    }
  }

  // One init or resource.d script in two groups (the MOR setup: asterisk
  // after each of two VIPs): each group starts and stops its own copy.
  void WarnIfInAnotherGroup(const HaresourcesResource& res, int g, const Location& where,
                            std::map<std::string, std::pair<int, int>>* seen) {
    const spec::v1::Resource& r = res.resource;
    std::string key;
    if (r.has_lsb()) {
      key = "lsb " + r.lsb().name();
    } else if (r.has_heartbeat()) {
      key = absl::StrCat("heartbeat ", r.heartbeat().name(), " ",
                         absl::StrJoin(r.heartbeat().args(), "::"));
    } else {
      return;
    }
    auto [it, first] = seen->emplace(key, std::make_pair(g, where.line));
    if (first || it->second.first == g) return;
    out_->result.diagnostics.push_back(
        {Severity::kWarning, where,
         absl::StrCat("'", res.token, "' is also in group", it->second.first + 1,
                      " (line ", it->second.second, "): each group starts and stops it, so "
                      "when the two groups run on different nodes (one failed over or moved) "
                      "it runs on both nodes at once, and stopping one group stops it for "
                      "the other; put both addresses in one group with it, or keep it in "
                      "one group only")});
  }

  void Authkeys() {
    const AuthkeysParse& a = out_->authkeys;
    *spec_.mutable_auth() = a.auth;
    const std::string& file = text_.authkeys_name;
    if (a.auth_line != 0) {
      map_.Set("auth", Location{file, a.auth_line, 0});
      map_.Set("auth.active_key", Location{file, a.auth_line, 0});
    } else {
      map_.Set("auth", Location{file, 0, 0});
    }
    for (size_t i = 0; i < a.key_lines.size(); ++i) {
      Location loc{file, a.key_lines[i], 0};
      std::string path = absl::StrCat("auth.keys[", i, "]");
      map_.Set(path, loc);
      map_.Set(path + ".secret", loc);
      map_.Set(path + ".method", loc);
    }
  }

  struct Pending {
    Medium medium;
    int line;
    uint32_t port;  // ucast/bcast: the udpport at the first line of its kind
    bool udp;       // ucast or bcast: takes the udpport
  };

  const LegacyText& text_;
  const MigrateOptions& options_;
  const bool ucast_peers_;
  Converted* out_;
  ClusterSpec& spec_;
  config::SourceMap& map_;

  std::map<std::string, int> node_lines_;
  std::vector<int> ipfail_lines_;  // `respawn ... ipfail` lines
  std::map<std::string, int> single_lines_;
  std::vector<Pending> pending_;
  std::map<std::pair<std::string, uint32_t>, int> ucast_index_;
  std::map<std::string, int> first_udp_line_;  // "ucast"/"bcast" -> its first line
  std::map<std::string, uint32_t> type_port_;   // "ucast"/"bcast" -> its port
  uint32_t current_port_ = kHeartbeatPort;
  uint32_t udp_port_ = 0;
  int udp_port_line_ = 0;
  uint32_t baud_ = 0;
  int baud_line_ = 0;
  spec::v1::AutoFailback auto_failback_ = spec::v1::AUTO_FAILBACK_UNSPECIFIED;
  int auto_failback_line_ = 0;
  spec::v1::AutoFailback nice_failback_ = spec::v1::AUTO_FAILBACK_UNSPECIFIED;
  int nice_failback_line_ = 0;
  std::string logfacility_;
  int logfacility_line_ = 0;
  bool use_logd_ = false;
  int use_logd_line_ = 0;
};

void ConvertOne(const LegacyText& text, const MigrateOptions& options, bool ucast_peers,
                Converted* out) {
  ConverterState state(text, options, ucast_peers, out);
  state.Run();
}

Diagnostic ErrorAt(const std::string& file, int line, std::string message) {
  return Diagnostic{Severity::kError, Location{file, line, 0}, std::move(message)};
}

// Compares two files' significant lines; reports the first difference.
// `show` says whether line contents may be quoted (not for authkeys).
void CompareLines(const std::vector<std::pair<int, std::string>>& mine,
                  const std::string& mine_file,
                  const std::vector<std::pair<int, std::string>>& peer,
                  const std::string& peer_file, bool show, const std::string& why,
                  std::vector<Diagnostic>* out) {
  size_t n = std::min(mine.size(), peer.size());
  for (size_t i = 0; i < n; ++i) {
    if (mine[i].second == peer[i].second) continue;
    out->push_back(ErrorAt(
        mine_file, mine[i].first,
        absl::StrCat("differs from ", peer_file, ":", peer[i].first,
                     show ? absl::StrCat(" ('", mine[i].second, "' vs '", peer[i].second,
                                         "')")
                          : std::string(),
                     "; ", why)));
    return;
  }
  if (mine.size() > n) {
    out->push_back(ErrorAt(
        mine_file, mine[n].first,
        absl::StrCat("this line has no counterpart in ", peer_file, " (it ends at line ",
                     peer.empty() ? 0 : peer.back().first, "); ", why)));
  } else if (peer.size() > n) {
    out->push_back(ErrorAt(
        peer_file, peer[n].first,
        absl::StrCat("this line has no counterpart in ", mine_file, " (it ends at line ",
                     mine.empty() ? 0 : mine.back().first, "); ", why)));
  }
}

// haresources and authkeys must be the same on both nodes.
void CompareSharedFiles(const Converted& mine, const LegacyText& text, const Converted& theirs,
                        const LegacyText& peer, std::vector<Diagnostic>* diags) {
  std::vector<std::pair<int, std::string>> hr_mine, hr_peer;
  for (const HaresourcesLine& l : mine.haresources.lines) hr_mine.emplace_back(l.line, l.normalized);
  for (const HaresourcesLine& l : theirs.haresources.lines) hr_peer.emplace_back(l.line, l.normalized);
  CompareLines(hr_mine, text.haresources_name, hr_peer, peer.haresources_name, /*show=*/true,
               "haresources must be the same on both nodes", diags);
  CompareLines(mine.authkeys.lines, text.authkeys_name, theirs.authkeys.lines,
               peer.authkeys_name, /*show=*/false,
               "authkeys must be the same on both nodes (copy one over the other)", diags);
}

// One node's ucast lines hold only the other nodes' addresses, yet in the
// spec explicit peers are sent to by every node: a node whose own address
// is in the list skips it and so never reaches the node that wrote it.
void WarnOneSidedUcast(const Converted& c, const LegacyText& text, MigrateResult* result) {
  std::set<std::string> distinct;
  for (const UcastLine& u : c.ucast_lines) distinct.insert(u.address);
  if (c.ucast_lines.empty() || distinct.size() >= c.node_names.size()) return;
  result->diagnostics.push_back(Diagnostic{
      Severity::kWarning, Location{text.ha_cf_name, c.ucast_lines[0].line, 0},
      absl::StrCat("the ucast lines name ", distinct.size(), " address(es) for ",
                   c.node_names.size(), " nodes: one node's ha.cf names only the others, "
                   "but in the spec every node sends to these peers, so the node they "
                   "belong to would not reach this one. Convert with --peer DIR (the other "
                   "node's /etc/ha.d) to derive each node's address, or list every node's "
                   "address as a ucast peer")});
}

}  // namespace

std::string DeriveClusterName(const std::vector<std::string>& node_names) {
  if (node_names.empty()) return "cluster";
  std::string name = absl::StrJoin(node_names, "-");
  for (char& c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') c = '_';
  }
  if (name.size() > 63) name.resize(63);
  return name;
}

MigrateResult ConvertLegacy(const LegacyText& text, const MigrateOptions& options) {
  Converted c;
  ConvertOne(text, options, /*ucast_peers=*/true, &c);
  WarnOneSidedUcast(c, text, &c.result);
  return std::move(c.result);
}

MigrateResult ConvertLegacyPair(const LegacyText& text, const LegacyText& peer,
                                const MigrateOptions& options) {
  MigrateOptions no_node = options;
  no_node.node.clear();
  Converted mine;
  ConvertOne(text, no_node, /*ucast_peers=*/false, &mine);
  Converted theirs;
  ConvertOne(peer, no_node, /*ucast_peers=*/false, &theirs);
  MigrateResult& result = mine.result;
  std::vector<Diagnostic>& diags = result.diagnostics;
  // The peer's own problems; its warnings repeat ours when the files agree.
  for (const Diagnostic& d : theirs.result.diagnostics) {
    if (d.severity == Severity::kError) diags.push_back(d);
  }
  const std::vector<std::string>& nodes = mine.node_names;
  if (nodes.size() != 2) {
    diags.push_back(ErrorAt(
        text.ha_cf_name, 0,
        absl::StrCat("converting with the peer's directory needs a two-node cluster, but "
                     "ha.cf declares ", nodes.size(), " node(s); convert each directory on "
                     "its own instead")));
    return std::move(result);
  }
  // One ha.cf serving both nodes, its ucast lines naming every node
  // (Heartbeat skips a ucast to the node's own address): there is nothing to
  // derive, so the addresses stay explicit ucast peers.
  std::set<std::string> my_addresses;
  for (const UcastLine& u : mine.ucast_lines) my_addresses.insert(u.address);
  for (const UcastLine& u : theirs.ucast_lines) {
    if (my_addresses.count(u.address) == 0) continue;
    Converted same;
    ConvertOne(text, no_node, /*ucast_peers=*/true, &same);
    MigrateResult out = std::move(same.result);
    for (const Diagnostic& d : theirs.result.diagnostics) {
      if (d.severity == Severity::kError) out.diagnostics.push_back(d);
    }
    auto all_lines = [](const HaCfParse& p) {
      std::vector<std::pair<int, std::string>> v;
      for (const HaCfDirective& d : p.directives) v.emplace_back(d.line, d.Normalized());
      return v;
    };
    CompareLines(all_lines(mine.hacf), text.ha_cf_name, all_lines(theirs.hacf),
                 peer.ha_cf_name, /*show=*/true,
                 "both nodes' ucast lines name the same addresses, so their ha.cf must be "
                 "the same file",
                 &out.diagnostics);
    CompareSharedFiles(mine, text, theirs, peer, &out.diagnostics);
    out.diagnostics.push_back(Diagnostic{
        Severity::kWarning, Location{peer.ha_cf_name, u.line, 0},
        absl::StrCat("ucast address ", u.address, " is in both nodes' ha.cf (one file for "
                     "both nodes; Heartbeat skips a ucast to the node's own address): "
                     "the addresses stay explicit ucast peers, which every node sends to "
                     "except its own")});
    return out;
  }

  // Which node is `text`?
  auto is_node = [&](const std::string& name) {
    return name == nodes[0] || name == nodes[1];
  };
  auto dir_node = [&](const std::string& dir) -> std::string {
    if (dir.empty()) return "";
    std::string base = Basename(dir);
    if (is_node(base)) return base;
    std::string parent = Basename(Dirname(dir));
    if (is_node(parent)) return parent;
    return "";
  };
  std::string me;
  if (!options.node.empty()) {
    if (!is_node(options.node)) {
      diags.push_back(ErrorAt(text.ha_cf_name, 0,
                              absl::StrCat("node '", options.node,
                                           "' (--node) is not declared in ha.cf; its nodes "
                                           "are ", nodes[0], ", ", nodes[1])));
      return std::move(result);
    }
    me = options.node;
  } else {
    me = dir_node(text.dir);
    std::string peer_node = dir_node(peer.dir);
    if (me.empty() && !peer_node.empty()) me = peer_node == nodes[0] ? nodes[1] : nodes[0];
    if (me.empty() || me == peer_node) {
      diags.push_back(ErrorAt(
          text.ha_cf_name, 0,
          absl::StrCat("cannot tell which node '", text.dir.empty() ? text.ha_cf_name : text.dir,
                       "' belongs to (neither it nor the peer directory is named after a "
                       "node); pass --node ", nodes[0], " or --node ", nodes[1])));
      return std::move(result);
    }
  }
  const int my_index = me == nodes[0] ? 0 : 1;
  const int peer_index = 1 - my_index;

  // ha.cf: the same apart from ucast lines.
  auto non_ucast = [](const HaCfParse& p) {
    std::vector<std::pair<int, std::string>> v;
    for (const HaCfDirective& d : p.directives) {
      if (d.name != "ucast") v.emplace_back(d.line, d.Normalized());
    }
    return v;
  };
  auto ucast_ifaces = [](const std::vector<UcastLine>& lines) {
    std::vector<std::pair<int, std::string>> v;
    for (const UcastLine& u : lines) v.emplace_back(u.line, "ucast " + u.interface);
    return v;
  };
  CompareLines(non_ucast(mine.hacf), text.ha_cf_name, non_ucast(theirs.hacf), peer.ha_cf_name,
               /*show=*/true, "apart from ucast lines both nodes' ha.cf must be the same",
               &diags);
  CompareLines(ucast_ifaces(mine.ucast_lines), text.ha_cf_name,
               ucast_ifaces(theirs.ucast_lines), peer.ha_cf_name, /*show=*/true,
               "both nodes' ha.cf must have their ucast lines on the same interfaces, in "
               "the same order (only the addresses differ)",
               &diags);
  CompareSharedFiles(mine, text, theirs, peer, &diags);

  // Addresses: a node's ucast lines name the other node's addresses.
  auto set_addresses = [&](int node_index, const std::vector<UcastLine>& lines,
                           const std::string& file) {
    auto* node = result.spec.mutable_nodes(node_index);
    for (const UcastLine& u : lines) {
      bool dup = false;
      for (const std::string& a : node->addresses()) dup = dup || a == u.address;
      if (dup) continue;
      int j = node->addresses_size();
      node->add_addresses(u.address);
      result.source_map.Set(absl::StrCat("nodes[", node_index, "].addresses[", j, "]"),
                            Location{file, u.line, 0});
    }
  };
  set_addresses(my_index, theirs.ucast_lines, peer.ha_cf_name);
  set_addresses(peer_index, mine.ucast_lines, text.ha_cf_name);
  return std::move(result);
}

}  // namespace hacluster::migrate
