#include "tests/cluster/hb3_pair.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {

harness::HeartbeatConfig Hb3HeartbeatConfig(const std::string& node, const std::string& secret,
                                            bool auto_failback, bool second_group) {
  harness::HeartbeatConfig c;
  c.node_name = node;
  c.nodes = {"node01", "node02"};
  c.media = {absl::StrCat("ucast eth0 ", node == "node01" ? "192.0.2.12" : "192.0.2.11")};
  c.keepalive = absl::Milliseconds(200);
  c.deadtime = kHb3Deadtime;
  c.warntime = absl::Seconds(1);
  c.initdead = absl::Seconds(4);
  c.auto_failback = auto_failback ? harness::AutoFailback::kOn : harness::AutoFailback::kOff;
  c.auth_method = harness::AuthMethod::kSha1;
  c.auth_key = secret;
  c.auth_index = 1;
  c.haresources = {absl::StrCat("node01 IPaddr::", kHb3Vip, "/24/eth0")};
  if (second_group) c.haresources.push_back(absl::StrCat("node02 IPaddr::", kHb3Vip2, "/24/eth0"));
  return c;
}

std::string Hb3AgentSpec(int config_version, const std::string& wire, bool auto_failback,
                         const std::string& extra, bool second_group) {
  return absl::StrCat("cluster_name: mixed\nconfig_version: ", config_version, R"yaml(
nodes:
  - {name: node01, addresses: [192.0.2.11]}
  - {name: node02, addresses: [192.0.2.12]}
timing: {keepalive: 200ms, warntime: 1s, deadtime: 2s, initdead: 4s}
media:
  - ucast: {interface: eth0}
auth:
  keys:
    - {id: 1, method: sha1, secret_file: authkey}
wire: )yaml",
                      wire, "\nauto_failback: ", auto_failback ? "on" : "off", R"yaml(
groups:
  - name: vip
    preferred_node: node01
    resources:
      - ip: {address: )yaml",
                      kHb3Vip, ", prefix_length: 24, interface: eth0}\n",
                      second_group ? absl::StrCat("  - name: vip2\n    preferred_node: node02\n"
                                                  "    resources:\n      - ip: {address: ",
                                                  kHb3Vip2, ", prefix_length: 24, interface: eth0}\n")
                                   : "",
                      extra);
}

bool WaitSoleHolder(const VipHolderSampler& sampler, const std::string& host,
                    absl::Duration deadline) {
  return harness::WaitFor(
      [&] {
        std::vector<std::string> h = sampler.Holders();
        return h.size() == 1 && h[0] == host;
      },
      deadline);
}

bool WaitHeartbeatSeesActive(harness::HeartbeatNode& hb, const std::string& peer,
                             absl::Duration deadline) {
  return harness::WaitFor(
      [&] {
        auto s = hb.NodeStatus(peer);
        return s.ok() && *s == "active";
      },
      deadline, absl::Milliseconds(100));
}

bool WaitHeartbeatSettled(harness::HeartbeatNode& hb, absl::Duration deadline) {
  std::string last;
  absl::Time quiet_since = absl::Now();
  return harness::WaitFor(
      [&] {
        std::string now = hb.LogTail(4096);
        if (now != last) {
          last = now;
          quiet_since = absl::Now();
          return false;
        }
        return absl::Now() - quiet_since >= absl::Seconds(2);
      },
      deadline, absl::Milliseconds(100));
}

}  // namespace hacluster::testing
