#include "agent/node/status_publisher.h"

#include <utility>

#include "google/protobuf/util/time_util.h"

namespace hacluster::agent {

using google::protobuf::util::TimeUtil;

LogLevel LevelOf(v1::EventKind kind) {
  switch (kind) {
    case v1::EVENT_KIND_NODE_DEAD:
    case v1::EVENT_KIND_LINK_DEAD:
    case v1::EVENT_KIND_PING_DEAD:
    case v1::EVENT_KIND_HEARTBEAT_LATE:
    case v1::EVENT_KIND_CONFIG_REJECTED:
    case v1::EVENT_KIND_AUTH_FAILURE:
    case v1::EVENT_KIND_CONFIG_DRIFT:
      return LogLevel::kWarning;
    default:
      return LogLevel::kInfo;
  }
}

void AddSpecFacts(const spec::v1::ClusterSpec& spec, v1::GetStatusResponse* status) {
  for (auto& n : *status->mutable_nodes()) {
    if (n.local()) n.set_config_version(spec.config_version());
    for (const auto& sn : spec.nodes()) {
      if (sn.name() != n.name()) continue;
      n.mutable_addresses()->CopyFrom(sn.addresses());
      n.mutable_labels()->insert(sn.labels().begin(), sn.labels().end());
    }
  }
}

void StatusPublisher::Emit(std::vector<v1::Event>* events) {
  for (v1::Event& e : *events) {
    const MonoTime at = absl::Nanoseconds(e.monotonic_ns());
    *e.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(WallTimeOf(at)));
    e.set_local_generation(generation_);
    logger_.Log(LevelOf(e.kind()), e.reason());
    hub_.Emit(std::move(e));
  }
  events->clear();
}

void StatusPublisher::Publish(const spec::v1::ClusterSpec& spec, v1::GetStatusResponse status,
                              MonoTime now) {
  AddSpecFacts(spec, &status);
  hub_.PublishStatus(std::move(status), now);
}

}  // namespace hacluster::agent
