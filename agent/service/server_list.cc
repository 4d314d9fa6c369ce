#include "agent/service/server_list.h"

namespace hacluster::agent {
namespace {

const char* StateWord(v1::NodeState s) {
  switch (s) {
    case v1::NODE_STATE_UP:
      return "up";
    case v1::NODE_STATE_DEAD:
      return "dead";
    default:
      return "unknown";
  }
}

}  // namespace

v1::ListServersResponse ServerList(const v1::GetStatusResponse& status) {
  v1::ListServersResponse out;
  out.set_answered_by(status.local_node());
  for (const v1::NodeStatus& n : status.nodes()) {
    v1::Server* s = out.add_nodes();
    s->set_name(n.name());
    *s->mutable_addresses() = n.addresses();
    *s->mutable_labels() = n.labels();
    s->set_state(StateWord(n.state()));
    s->set_config_version(n.config_version());
    // A dead node's last claims are not holdings: its groups are free.
    const bool up = n.state() == v1::NODE_STATE_UP;
    for (const v1::GroupStatus& g : status.groups()) {
      if (!up || g.holder() != n.name()) continue;
      s->add_groups(g.name());
      for (const std::string& vip : g.addresses()) s->add_vips(vip);
    }
    s->set_role(!up ? "down" : s->groups().empty() ? "standby" : "active");
  }
  return out;
}

}  // namespace hacluster::agent
