#include "cli/spec_plan.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/groups/group_runner.h"

namespace hacluster::cli {
namespace {

const spec::v1::ResourceGroup* Find(const spec::v1::ClusterSpec& s, const std::string& name) {
  for (const auto& g : s.groups()) {
    if (g.name() == name) return &g;
  }
  return nullptr;
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

}  // namespace

std::vector<std::string> PlanForNode(const spec::v1::ClusterSpec& running,
                                     const spec::v1::ClusterSpec& next, const std::string& node,
                                     const std::map<std::string, std::string>& holders) {
  std::vector<std::string> lines;
  auto holder_of = [&](const std::string& g) {
    auto it = holders.find(g);
    return it == holders.end() ? std::string() : it->second;
  };
  for (const auto& g : next.groups()) {
    const spec::v1::ResourceGroup* old = Find(running, g.name());
    const bool here = holder_of(g.name()) == node;
    if (old == nullptr) {
      lines.push_back(absl::StrCat(g.name(), ": new group (started where placement puts it",
                                   g.preferred_node() == node ? ": preferred here" : "", ")"));
      continue;
    }
    if (Same(*old, g)) continue;
    std::vector<std::string> parts;
    if (here) {
      std::map<std::string, const spec::v1::Resource*> incoming;
      for (const auto& r : g.resources()) incoming[agent::ResourceDisplayName(r)] = &r;
      std::set<std::string> outgoing;
      std::vector<std::string> stop, restart, start;
      for (const auto& r : old->resources()) {
        const std::string name = agent::ResourceDisplayName(r);
        outgoing.insert(name);
        auto it = incoming.find(name);
        if (it == incoming.end()) {
          stop.push_back(name);
        } else if (!Same(*it->second, r)) {
          restart.push_back(name);
        }
      }
      for (const auto& r : g.resources()) {
        if (outgoing.count(agent::ResourceDisplayName(r)) == 0) {
          start.push_back(agent::ResourceDisplayName(r));
        }
      }
      if (!stop.empty()) parts.push_back(absl::StrCat("stop ", absl::StrJoin(stop, ", ")));
      if (!restart.empty()) {
        parts.push_back(absl::StrCat("restart ", absl::StrJoin(restart, ", ")));
      }
      if (!start.empty()) parts.push_back(absl::StrCat("start ", absl::StrJoin(start, ", ")));
      if (parts.empty()) parts.push_back("no resource bounced");
    } else {
      parts.push_back("not running here: takes the new definition");
    }
    if (old->preferred_node() != g.preferred_node()) {
      const bool failback = next.auto_failback() == spec::v1::AUTO_FAILBACK_ON;
      const std::string holder = holder_of(g.name());
      if (failback && !holder.empty() && holder != g.preferred_node()) {
        parts.push_back(absl::StrCat("moves from ", holder, " to ", g.preferred_node(),
                                     " (new preferred node, auto_failback on)"));
      } else {
        parts.push_back(absl::StrCat("preferred node ", old->preferred_node(), " -> ",
                                     g.preferred_node(),
                                     failback ? "" : " (stays where it runs: auto_failback off)"));
      }
    }
    lines.push_back(absl::StrCat(g.name(), ": ", absl::StrJoin(parts, "; ")));
  }
  for (const auto& g : running.groups()) {
    if (Find(next, g.name()) != nullptr) continue;
    lines.push_back(absl::StrCat(g.name(), ": removed",
                                 holder_of(g.name()) == node ? " (stopped here)" : ""));
  }
  // Node-wide settings.
  spec::v1::ClusterSpec a = running, b = next;
  a.clear_groups();
  b.clear_groups();
  a.clear_config_version();
  b.clear_config_version();
  if (!Same(a, b)) {
    std::vector<std::string> what;
    bool media = running.media_size() != next.media_size() ||
                 running.udp_port() != next.udp_port() ||
                 running.nodes_size() != next.nodes_size();
    for (int i = 0; !media && i < running.media_size(); ++i) {
      media = !Same(running.media(i), next.media(i));
    }
    for (int i = 0; !media && i < running.nodes_size(); ++i) {
      media = !Same(running.nodes(i), next.nodes(i)) &&
              running.nodes(i).addresses_size() != next.nodes(i).addresses_size();
      for (int j = 0; !media && j < running.nodes(i).addresses_size(); ++j) {
        media = running.nodes(i).addresses(j) != next.nodes(i).addresses(j);
      }
    }
    if (media) what.push_back("media reopened");
    if (!Same(running.timing(), next.timing())) what.push_back("timing");
    if (!Same(running.auth(), next.auth())) what.push_back("keys");
    if (!Same(running.logging(), next.logging())) what.push_back("logging");
    if (!Same(running.connectivity(), next.connectivity())) what.push_back("ping targets");
    if (!Same(running.api(), next.api())) what.push_back("API settings");
    if (what.empty()) what.push_back("other settings");
    lines.push_back(absl::StrCat("node settings: ", absl::StrJoin(what, ", ")));
  }
  if (lines.empty()) lines.push_back("nothing changes");
  return lines;
}

}  // namespace hacluster::cli
