#include "cli/heartbeat_dropins.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/time_util.h"

namespace hacluster::cli::heartbeat {
namespace {

namespace v1 = agent::v1;
using google::protobuf::util::TimeUtil;

// cl_status's help screen, as Heartbeat 3.0.6 prints it (typos included:
// scripts and people may grep for it).
constexpr char kClStatusUsage[] =
    "Usage: cl_status <sub-command> [<options>] [<parameters>]\n"
    "\n"
    "Sub-commands:\n"
    "clientstatus <node-name> <client-id> [<timeout>]\n"
    "\tShow the status of heartbeat clients.\n"
    "hblinkstatus <node-name> <link-name>\n"
    "\tShow the status of a heartbeat link\n"
    "hbstatus\n"
    "\tIndicate if heartbeat is running on the local system.\n"
    "\tOptions:\n"
    "\t\t-v\tverbose: also add \"listnodes -v\" output\n"
    "listnodes [<option>]\n"
    "\tList the nodes in the cluster.\n"
    "\tOptions:\n"
    "\t\t-p\tlist only 'ping' type nodes\n"
    "\t\t-n\tlist only 'normal' type nodes\n"
    "\t\t-v\tverbose: also list type and status,\n"
    "\t\t\tthen add \"listhblinks -v\" output\n"
    "listhblinks <node-name>\n"
    "\tList the network interfaces used as hearbeat links.\n"
    "\tOptions:\n"
    "\t\t-v\tverbose: list link status as well\n"
    "nodestatus <node-name>\n"
    "\tList the node status.\n"
    "nodeweight <node-name>\n"
    "\tList the node weight.\n"
    "nodesite <node-name>\n"
    "\tList the node site.\n"
    "nodetype <node-name>\n"
    "\tList the nodes of a given type.\n"
    "rscstatus\n"
    "\tShow the status of cluster resources.\n"
    "hbparameter -p <parameter-name>\n"
    "\tRetrieve the value of a cluster parameter.\n"
    "\tAs for the valid parameter names, please refer to the man page.\n";

// Heartbeat's reason when nothing listens on its API socket.
constexpr char kSignonReason[] = "hb_api_signon: Can't initiate connection to heartbeat";
// Every node's weight and site: the agent has neither, and these are
// Heartbeat's values for a node without hb_setweight / hb_setsite.
constexpr int kNodeWeight = 100;
constexpr char kNodeSite[] = "";

// ---- output helpers ----

// One line of cl_status's logger (cl_log) on stderr.
std::string LogLine(const LogStamp& s, absl::string_view message) {
  return absl::StrCat(s.time, " ", s.host, " cl_status: [", s.pid, "]: ERROR: ", message, "\n");
}

Output Result(int code, std::string out = "", std::string err = "") {
  return Output{std::move(out), std::move(err), code};
}

// ---- getopt ----

// One option as getopt(3) hands it over: its letter and value, or '?' with
// the message glibc prints.
struct OptionEvent {
  char letter = '?';
  std::string value;
  std::string message;
};

struct ParsedArgs {
  std::vector<OptionEvent> options;
  std::vector<std::string> operands;
  bool Has(char letter) const {
    return std::any_of(options.begin(), options.end(),
                       [&](const OptionEvent& e) { return e.letter == letter; });
  }
};

std::string GetOptMessage(const std::string& prog, absl::string_view what, char letter) {
  return absl::StrCat(prog, ": ", what, " -- '", std::string(1, letter), "'\n");
}

// The letters of one option word ("-mv", "-pdeadtime", "-p"), appended to
// `p`. `next` is the word after it, or null; returns true when it was taken
// as an option's value.
bool OptionWord(const std::string& prog, const std::string& word, const std::string* next,
                absl::string_view optstring, ParsedArgs& p) {
  for (size_t j = 1; j < word.size(); ++j) {
    const char c = word[j];
    const size_t at = c == ':' ? absl::string_view::npos : optstring.find(c);
    if (at == absl::string_view::npos) {
      p.options.push_back({'?', "", GetOptMessage(prog, "invalid option", c)});
    } else if (at + 1 >= optstring.size() || optstring[at + 1] != ':') {
      p.options.push_back({c, "", ""});
    } else if (j + 1 < word.size()) {
      p.options.push_back({c, word.substr(j + 1), ""});  // the rest of the word
      return false;
    } else if (next != nullptr) {
      p.options.push_back({c, *next, ""});
      return true;
    } else {
      p.options.push_back({'?', "", GetOptMessage(prog, "option requires an argument", c)});
    }
  }
  return false;
}

// glibc's getopt as cl_status calls it, on the arguments after the
// sub-command with the sub-command standing as argv[0]: options may come
// before or after the operands, "--" ends them, a letter followed by ':' in
// `optstring` takes a value (in the same word or the next).
ParsedArgs GetOpt(const std::vector<std::string>& args, absl::string_view optstring) {
  ParsedArgs p;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      p.operands.insert(p.operands.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (a.size() < 2 || a[0] != '-') {
      p.operands.push_back(a);
      continue;
    }
    const std::string* next = i + 1 < args.size() ? &args[i + 1] : nullptr;
    if (OptionWord(args[0], a, next, optstring, p)) ++i;
  }
  return p;
}

// The sub-commands stop at getopt's first '?' with one of two log lines
// (the words run together as in cl_status's source).
enum class OptionError { kWithCode, kPlain };

// The first bad option as the sub-command reports it, if any.
std::optional<Output> FirstBadOption(const ParsedArgs& p, OptionError style,
                                     const LogStamp& stamp) {
  for (const OptionEvent& e : p.options) {
    if (e.letter != '?') continue;
    const char* text = style == OptionError::kWithCode ? "Error: getopt returnedcharacter code ?."
                                                       : "Error: getopt returnedcharacter ?.";
    return Result(kClParameterError, "", absl::StrCat(e.message, LogLine(stamp, text)));
  }
  return std::nullopt;
}

// ---- the cluster in Heartbeat's words ----

std::string NodeWord(const v1::NodeStatus& n) {
  return n.local() || n.state() == v1::NODE_STATE_UP ? "active" : "dead";
}

std::string LinkWord(v1::LinkState s) { return s == v1::LINK_STATE_UP ? "up" : "dead"; }

// Every link name the peers report, in the order first seen.
std::vector<std::string> PeerLinkNames(const v1::GetStatusResponse& st) {
  std::vector<std::string> names;
  for (const v1::NodeStatus& n : st.nodes()) {
    if (n.local()) continue;
    for (const v1::LinkStatus& l : n.links()) {
      if (std::find(names.begin(), names.end(), l.name()) == names.end()) names.push_back(l.name());
    }
  }
  return names;
}

HbNode NormalNode(const v1::NodeStatus& n, const std::vector<std::string>& peer_links) {
  HbNode node{n.name(), "normal", NodeWord(n), {}, "", ""};
  if (n.wire() == "heartbeat3") {
    node.wire = n.wire();
    node.software = n.software();
  }
  if (n.local()) {
    for (const std::string& name : peer_links) node.links.push_back({name, "dead"});
  } else {
    for (const v1::LinkStatus& l : n.links()) node.links.push_back({l.name(), LinkWord(l.state())});
  }
  std::reverse(node.links.begin(), node.links.end());
  return node;
}

// One ping node per ping host and per ping group (up when any host answers),
// in the order the status first names them.
std::vector<HbNode> PingNodes(const v1::GetStatusResponse& st) {
  std::vector<HbNode> nodes;
  for (const v1::PingTargetStatus& p : st.ping_targets()) {
    const std::string& name = p.group().empty() ? p.host() : p.group();
    auto it =
        std::find_if(nodes.begin(), nodes.end(), [&](const HbNode& n) { return n.name == name; });
    if (it == nodes.end())
      it = nodes.insert(nodes.end(), HbNode{name, "ping", "dead", {{name, "dead"}}, "", ""});
    if (p.state() == v1::PING_STATE_UP) {
      it->status = "ping";
      it->links[0].status = "up";
    }
  }
  return nodes;
}

const HbNode* FindNode(const std::vector<HbNode>& nodes, const std::string& name) {
  for (const HbNode& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

// A group is where placement wants it and nothing is being done to it.
bool Settled(const v1::GroupStatus& g) {
  switch (g.state()) {
    case v1::GROUP_STATE_RUNNING:
      return !g.target().empty() && g.holder() == g.target();
    case v1::GROUP_STATE_STOPPED:
      return g.target().empty();
    default:  // starting, stopping, probing, blocked
      return false;
  }
}

// hbparameter's values the status carries, as ha.cf spells them.
std::optional<std::string> Parameter(const v1::GetStatusResponse& st, const std::string& name) {
  const std::map<std::string, const google::protobuf::Duration*> timing = {
      {"keepalive", &st.keepalive()},
      {"warntime", &st.warntime()},
      {"deadtime", &st.deadtime()},
      {"initdead", &st.initdead()}};
  auto it = timing.find(name);
  if (it == timing.end()) return std::nullopt;
  const int64_t ms = TimeUtil::DurationToMilliseconds(*it->second);
  if (ms == 0) return std::nullopt;
  return ms % 1000 == 0 ? absl::StrCat(ms / 1000) : absl::StrCat(ms, "ms");
}

// ---- the sub-commands ----

struct Invocation {
  const std::vector<std::string>& args;  // args[0] is the sub-command
  const v1::GetStatusResponse& status;
  const LogStamp& stamp;
};

std::string LinkListing(const HbNode& node, bool verbose, bool human) {
  std::string out = human ? "\tthis node has the following heartbeat links:\n" : "";
  for (const HbLink& l : node.links) {
    absl::StrAppend(&out, "\t", l.name, verbose ? absl::StrCat("\t", l.status) : "", "\n");
  }
  return out;
}

std::string NodeListing(const std::vector<HbNode>& nodes, bool normal_only, bool ping_only,
                        bool verbose, bool human) {
  if (normal_only && ping_only) normal_only = ping_only = false;  // both: every node
  std::string out = human ? "The nodes are as follow:\n" : "";
  for (const HbNode& n : nodes) {
    if ((normal_only && n.type != "normal") || (ping_only && n.type != "ping")) continue;
    if (!verbose) {
      absl::StrAppend(&out, n.name, "\n");
      continue;
    }
    absl::StrAppend(&out, "\n", n.name, "\t", n.status, "\t(nodetype: ", n.type,
                    n.wire.empty() ? "" : absl::StrCat(", wire: ", n.wire),
                    n.software.empty() ? "" : absl::StrCat(", software: ", n.software), ")\n",
                    LinkListing(n, /*verbose=*/true, human));
  }
  return out;
}

// Unknown options only draw getopt's message here: hbstatus goes on.
std::string OptionMessages(const ParsedArgs& p) {
  std::string err;
  for (const OptionEvent& e : p.options) err += e.message;
  return err;
}

Output HbStatus(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "mv");
  const bool human = p.Has('m');
  if (!p.Has('v'))
    return Result(kClOk, "Heartbeat is running on this machine.\n", OptionMessages(p));
  // The agent reports no software version; its config version stands in.
  const std::string version =
      absl::StrCat("ha-agent (config version ", inv.status.config_version(), ")");
  std::string out = human ? absl::StrCat("Heartbeat version ", version,
                                         "\nResources controlled by \"haresources\"\n")
                          : absl::StrCat("version:\t", version, "\nmanaged by:\t\"haresources\"\n");
  absl::StrAppend(&out, NodeListing(HeartbeatNodes(inv.status), false, false, true, human));
  return Result(kClOk, out, OptionMessages(p));
}

Output ListNodes(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "mpnv");
  if (auto bad = FirstBadOption(p, OptionError::kWithCode, inv.stamp)) return *bad;
  return Result(kClOk, NodeListing(HeartbeatNodes(inv.status), p.Has('n'), p.Has('p'), p.Has('v'),
                                   p.Has('m')));
}

// The node named by the first operand of a "m"-only sub-command, or the
// error it answers with.
struct NodeArg {
  const HbNode* node = nullptr;
  bool human = false;
  std::optional<Output> error;
};

struct NodeErrors {
  const char* missing;
  const char* unknown;
};
constexpr NodeErrors kStatusErrors = {"Not enough parameters.\n",
                                      "Error. May be due to incorrect node name\n"};
constexpr NodeErrors kWeightErrors = {"Not enough parameters.\n",
                                      "Error. Maybe due to incorrect node name.\n"};
constexpr NodeErrors kTypeErrors = {"No enough parameter.\n",
                                    "Error. May be due to incorrect node name\n"};

NodeArg OneNode(const Invocation& inv, const std::vector<HbNode>& nodes, const NodeErrors& errors) {
  NodeArg a;
  ParsedArgs p = GetOpt(inv.args, "m");
  a.human = p.Has('m');
  a.error = FirstBadOption(p, OptionError::kPlain, inv.stamp);
  if (a.error) return a;
  if (p.operands.empty()) {
    a.error = Result(kClParameterError, "", errors.missing);
    return a;
  }
  a.node = FindNode(nodes, p.operands[0]);
  if (a.node == nullptr) a.error = Result(kClParameterError, "", errors.unknown);
  return a;
}

Output NodeStatusCmd(const Invocation& inv) {
  const std::vector<HbNode> nodes = HeartbeatNodes(inv.status);
  NodeArg a = OneNode(inv, nodes, kStatusErrors);
  if (a.error) return *a.error;
  const std::string& s = a.node->status;
  const int code = s == "active" || s == "up" || s == "ping" ? kClOk : kClNormalFail;
  return Result(code, a.human ? absl::StrCat("The cluster node ", a.node->name, " is ", s, "\n")
                              : absl::StrCat(s, "\n"));
}

Output NodeWeight(const Invocation& inv) {
  const std::vector<HbNode> nodes = HeartbeatNodes(inv.status);
  NodeArg a = OneNode(inv, nodes, kWeightErrors);
  if (a.error) return *a.error;
  return Result(kClOk, a.human ? absl::StrCat("The weight of the cluster node ", a.node->name,
                                              " is ", kNodeWeight, "\n")
                               : absl::StrCat(kNodeWeight, "\n"));
}

Output NodeSite(const Invocation& inv) {
  const std::vector<HbNode> nodes = HeartbeatNodes(inv.status);
  NodeArg a = OneNode(inv, nodes, kStatusErrors);
  if (a.error) return *a.error;
  return Result(kClOk, a.human ? absl::StrCat("The site of the cluster node ", a.node->name, " is ",
                                              kNodeSite, "\n")
                               : absl::StrCat(kNodeSite, "\n"));
}

Output NodeType(const Invocation& inv) {
  const std::vector<HbNode> nodes = HeartbeatNodes(inv.status);
  NodeArg a = OneNode(inv, nodes, kTypeErrors);
  if (a.error) return *a.error;
  return Result(kClOk,
                a.human ? absl::StrCat("The node ", a.node->name, "'s type: ", a.node->type, "\n")
                        : absl::StrCat(a.node->type, "\n"));
}

Output ListHbLinks(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "mv");
  if (auto bad = FirstBadOption(p, OptionError::kWithCode, inv.stamp)) return *bad;
  if (p.operands.empty()) return Result(kClParameterError, "", "No enough parameter.\n");
  const std::vector<HbNode> nodes = HeartbeatNodes(inv.status);
  const HbNode* node = FindNode(nodes, p.operands[0]);
  if (node == nullptr) {
    return Result(kClUnknownError, "",
                  absl::StrCat(LogLine(inv.stamp, "Cannot start heartbeat link interface walk."),
                               LogLine(inv.stamp, "REASON: EINVAL")));
  }
  return Result(kClOk, LinkListing(*node, p.Has('v'), p.Has('m')));
}

Output HbLinkStatus(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "m");
  if (auto bad = FirstBadOption(p, OptionError::kPlain, inv.stamp)) return *bad;
  if (p.operands.size() < 2) return Result(kClParameterError, "", "No enough parameter.\n");
  const std::vector<HbNode> nodes = HeartbeatNodes(inv.status);
  const HbNode* node = FindNode(nodes, p.operands[0]);
  const HbLink* link = nullptr;
  for (size_t i = 0; node != nullptr && i < node->links.size(); ++i) {
    if (node->links[i].name == p.operands[1]) link = &node->links[i];
  }
  if (link == nullptr) {
    return Result(kClUnknownError, "",
                  absl::StrCat(LogLine(inv.stamp, "Cannot get heartbeat link status"),
                               LogLine(inv.stamp, "REASON: ")));
  }
  const int code = link->status == "up" ? kClOk : kClNormalFail;
  return Result(code, p.Has('m') ? absl::StrCat("The node ", node->name, "'s heartbeat link ",
                                                link->name, " is ", link->status, "\n")
                                 : absl::StrCat(link->status, "\n"));
}

// The agent has no Heartbeat API clients (ipfail, ccm...): each is
// "offline", as Heartbeat answers for a client missing on the node asked.
// (Heartbeat asks a peer with a 500 ms timeout; a late answer there is
// "No timely response.", exit 13, seen once in captures, not repeated.)
Output ClientStatus(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "m");
  if (auto bad = FirstBadOption(p, OptionError::kPlain, inv.stamp)) return *bad;
  if (p.operands.size() < 2) return Result(kClParameterError, "", "No enough parameter.\n");
  return Result(kClNormalFail, "offline\n");
}

Output RscStatus(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "m");
  if (auto bad = FirstBadOption(p, OptionError::kPlain, inv.stamp)) return *bad;
  const std::string state = ResourceState(inv.status);
  return Result(kClOk, p.Has('m') ? absl::StrCat("This node is holding ", state, " resources.\n")
                                  : absl::StrCat(state, "\n"));
}

Output HbParameter(const Invocation& inv) {
  ParsedArgs p = GetOpt(inv.args, "mp:");
  if (auto bad = FirstBadOption(p, OptionError::kWithCode, inv.stamp)) return *bad;
  std::string name;
  for (const OptionEvent& e : p.options) {
    if (e.letter == 'p') name = e.value;
  }
  if (name.empty())
    return Result(kClParameterError, "", LogLine(inv.stamp, "parameter name required"));
  std::optional<std::string> value = Parameter(inv.status, name);
  if (!value) {
    return Result(
        kClNormalFail, "",
        absl::StrCat(LogLine(inv.stamp, absl::StrCat("Cannot get parameter ", name, "'s value")),
                     LogLine(inv.stamp, "REASON: ")));
  }
  return Result(kClOk, p.Has('m')
                           ? absl::StrCat("Heartbeat parameter ", name, "'s value: ", *value, "\n")
                           : absl::StrCat(*value, "\n"));
}

struct Subcommand {
  const char* name;
  Output (*run)(const Invocation&);
};

// cl_status's table, without its undocumented "test".
constexpr Subcommand kSubcommands[] = {
    {"hbstatus", HbStatus},       {"listnodes", ListNodes},       {"nodestatus", NodeStatusCmd},
    {"nodeweight", NodeWeight},   {"nodesite", NodeSite},         {"nodetype", NodeType},
    {"listhblinks", ListHbLinks}, {"hblinkstatus", HbLinkStatus}, {"clientstatus", ClientStatus},
    {"rscstatus", RscStatus},     {"hbparameter", HbParameter},
};

// ---- no answer from the agent ----

// What stands for hb_api_signon's failure reason.
std::string SignonReason(const absl::Status& why) {
  if (why.code() != absl::StatusCode::kUnavailable) {
    return why.message().empty() ? "the agent refused the call" : std::string(why.message());
  }
  return why.message().empty() ? kSignonReason
                               : absl::StrCat(kSignonReason, " (", why.message(), ")");
}

// hbstatus when the agent does not answer: "stopped" (exit 1) when nothing
// listens, "apparently running" (exit 0) when it refused.
Output HbStatusWithoutAgent(const std::vector<std::string>& args, const absl::Status& why) {
  ParsedArgs p = GetOpt(args, "mv");
  const bool refused = why.code() != absl::StatusCode::kUnavailable;
  std::string out =
      refused ? "Heartbeat is apparently running on this machine, but refuses my connection\n"
              : "Heartbeat is stopped on this machine.\n";
  if (p.Has('v')) absl::StrAppend(&out, "(", SignonReason(why), ")\n");
  return Result(refused ? kClOk : kClNormalFail, out, OptionMessages(p));
}

Output WithoutAgent(const std::vector<std::string>& args, const absl::Status& why,
                    const LogStamp& stamp) {
  if (why.code() == absl::StatusCode::kDeadlineExceeded) {
    // cl_status's alarm ends it silently; the one line says why.
    return Result(
        kClTimeout, "",
        LogLine(stamp, absl::StrCat("no answer within ", kClTimeoutSeconds, "s: ", why.message())));
  }
  if (args[0] == "hbstatus") return HbStatusWithoutAgent(args, why);
  return Result(kClNormalFail, "",
                absl::StrCat(LogLine(stamp, "Cannot signon with heartbeat"),
                             LogLine(stamp, absl::StrCat("REASON: ", SignonReason(why)))));
}

}  // namespace

std::vector<HbNode> HeartbeatNodes(const v1::GetStatusResponse& status) {
  const std::vector<std::string> peer_links = PeerLinkNames(status);
  std::vector<HbNode> nodes;
  for (const v1::NodeStatus& n : status.nodes()) nodes.push_back(NormalNode(n, peer_links));
  std::vector<HbNode> pings = PingNodes(status);
  nodes.insert(nodes.end(), pings.begin(), pings.end());
  // Heartbeat's client library hands the ha.cf order over last first.
  std::reverse(nodes.begin(), nodes.end());
  return nodes;
}

std::string ResourceState(const v1::GetStatusResponse& status) {
  constexpr int kLocal = 1, kForeign = 2;  // Heartbeat's bits
  static constexpr const char* kWords[] = {"none", "local", "foreign", "all"};
  int held = 0;
  for (const v1::GroupStatus& g : status.groups()) {
    if (!Settled(g)) return "transition";
    if (g.holder().empty() || g.holder() != status.local_node()) continue;
    held |= g.preferred_node() == status.local_node() ? kLocal : kForeign;
  }
  return kWords[held];
}

Output ClStatus(const std::vector<std::string>& args, const StatusFetch& fetch,
                const LogStamp& stamp) {
  if (args.empty() || (args.size() == 1 && args[0] == "-h")) return Result(kClOk, kClStatusUsage);
  const Subcommand* cmd = nullptr;
  for (const Subcommand& s : kSubcommands) {
    if (args[0] == s.name) cmd = &s;
  }
  if (cmd == nullptr) {
    return Result(kClParameterError, "",
                  LogLine(stamp, absl::StrCat(args[0], ": invalid sub-command.")));
  }
  absl::StatusOr<v1::GetStatusResponse> status = fetch();
  if (!status.ok()) return WithoutAgent(args, status.status(), stamp);
  return cmd->run(Invocation{args, *status, stamp});
}

std::variant<HbRequest, Output> ParseHbArgs(HbTool tool, const std::string& program,
                                            const std::vector<std::string>& args) {
  const std::string usage_err = absl::StrCat(program, " [all|foreign|local|failback]\n");
  auto usage = [&](std::string first) {
    return Result(kHbUsage, absl::StrCat(first, "usage:\n"), usage_err);
  };
  if (args.size() >= 2) return usage(absl::StrCat(program, ": too many arguments\n"));
  const std::string word = args.empty() ? "all" : args[0];
  if (word == "--help") return usage("");
  static const std::map<std::string, std::pair<v1::StandbyScope, v1::StandbyScope>> kScopes = {
      // word -> {hb_standby's scope, hb_takeover's scope}
      {"all", {v1::STANDBY_SCOPE_ALL, v1::STANDBY_SCOPE_ALL}},
      {"foreign", {v1::STANDBY_SCOPE_FOREIGN, v1::STANDBY_SCOPE_FOREIGN}},
      {"local", {v1::STANDBY_SCOPE_LOCAL, v1::STANDBY_SCOPE_LOCAL}},
      {"failback", {v1::STANDBY_SCOPE_FAILBACK, v1::STANDBY_SCOPE_ALL}},
  };
  auto it = kScopes.find(word);
  if (it == kScopes.end()) return usage(absl::StrCat(program, ": wrong resources(", word, ").\n"));
  HbRequest r;
  r.scope = tool == HbTool::kStandby ? it->second.first : it->second.second;
  r.word = word == "failback" ? "foreign" : word;
  return r;
}

std::string GoingStandbyLine(const HbRequest& request, const std::string& time) {
  return absl::StrCat(time, " Going standby [", request.word, "].\n");
}

}  // namespace hacluster::cli::heartbeat
