#include "agent/config/ucast_peers.h"

#include <algorithm>

namespace hacluster::config {
namespace {

int PeerlessUcastCount(const spec::v1::ClusterSpec& spec) {
  return static_cast<int>(std::count_if(spec.media().begin(), spec.media().end(),
                                        [](const spec::v1::Medium& m) {
                                          return m.has_ucast() && m.ucast().peers().empty();
                                        }));
}

void AddOnce(const std::string& address, std::vector<std::string>* out) {
  if (std::find(out->begin(), out->end(), address) == out->end()) out->push_back(address);
}

}  // namespace

bool UcastMediaPairByPosition(const spec::v1::ClusterSpec& spec) {
  int count = PeerlessUcastCount(spec);
  if (count == 0) return false;
  return std::all_of(spec.nodes().begin(), spec.nodes().end(),
                     [&](const spec::v1::Node& n) { return n.addresses_size() == count; });
}

std::vector<std::string> UcastDestinations(const spec::v1::ClusterSpec& spec,
                                           const std::string& node, int media_index) {
  std::vector<std::string> out;
  if (media_index < 0 || media_index >= spec.media_size() ||
      !spec.media(media_index).has_ucast()) {
    return out;
  }
  const spec::v1::UcastMedium& ucast = spec.media(media_index).ucast();
  if (!ucast.peers().empty()) {
    std::vector<std::string> own;
    for (const auto& n : spec.nodes()) {
      if (n.name() == node) own.assign(n.addresses().begin(), n.addresses().end());
    }
    for (const std::string& p : ucast.peers()) {
      if (std::find(own.begin(), own.end(), p) == own.end()) AddOnce(p, &out);
    }
    return out;
  }
  // Position of this medium among the peer-less ucast media.
  int position = 0;
  for (int i = 0; i < media_index; ++i) {
    const auto& m = spec.media(i);
    if (m.has_ucast() && m.ucast().peers().empty()) ++position;
  }
  bool by_position = UcastMediaPairByPosition(spec);
  for (const auto& n : spec.nodes()) {
    if (n.name() == node) continue;
    if (by_position) {
      AddOnce(n.addresses(position), &out);
    } else {
      for (const std::string& a : n.addresses()) AddOnce(a, &out);
    }
  }
  return out;
}

}  // namespace hacluster::config
