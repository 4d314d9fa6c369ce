#include "agent/node/status_publisher.h"

#include <utility>

#include "google/protobuf/util/time_util.h"

namespace hacluster::agent {

using google::protobuf::util::TimeUtil;

LogLevel LevelOf(const v1::Event& e) {
  switch (e.kind()) {
    case v1::EVENT_KIND_GROUP_FAILED:
    case v1::EVENT_KIND_STOP_FAILED:
    case v1::EVENT_KIND_SPLIT_BRAIN:
      return LogLevel::kError;
    case v1::EVENT_KIND_FENCING:
      return e.ok() ? LogLevel::kWarning : LogLevel::kError;
    case v1::EVENT_KIND_NODE_DEAD:
    case v1::EVENT_KIND_LINK_DEAD:
    case v1::EVENT_KIND_PING_DEAD:
    case v1::EVENT_KIND_HEARTBEAT_LATE:
    case v1::EVENT_KIND_CONFIG_REJECTED:
    case v1::EVENT_KIND_AUTH_FAILURE:
    case v1::EVENT_KIND_QUORUM_LOST:
      return LogLevel::kWarning;
    case v1::EVENT_KIND_CONFIG_DRIFT:
      // ok: the nodes agree again.
      return e.ok() ? LogLevel::kInfo : LogLevel::kWarning;
    case v1::EVENT_KIND_RESOURCE_OP:
    case v1::EVENT_KIND_API_CALL:
      return e.ok() ? LogLevel::kInfo : LogLevel::kWarning;
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

absl::string_view SourceAddress(absl::string_view source) {
  if (!source.empty() && source.front() == '[') {
    const size_t close = source.find(']');
    return close == absl::string_view::npos ? source : source.substr(1, close - 1);
  }
  const size_t colon = source.find(':');
  if (colon != absl::string_view::npos && source.find(':', colon + 1) == absl::string_view::npos) {
    return source.substr(0, colon);
  }
  return source;
}

void StatusPublisher::Emit(std::vector<v1::Event>* events) {
  for (v1::Event& e : *events) {
    const MonoTime at = absl::Nanoseconds(e.monotonic_ns());
    *e.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(WallTimeOf(at)));
    e.set_local_generation(generation_);
    if (e.kind() == v1::EVENT_KIND_HEARTBEAT_LATE) ++late_heartbeats_;
    if (e.kind() == v1::EVENT_KIND_NODE_DEAD) ++node_deaths_;
    logger_.Log(LevelOf(e), e.reason(),
                {.node = e.node(), .group = e.group(), .link = e.link(), .resource = e.resource()});
    hub_.Emit(std::move(e));
  }
  events->clear();
}

void StatusPublisher::Publish(const spec::v1::ClusterSpec& spec, v1::GetStatusResponse status,
                              MonoTime now) {
  AddSpecFacts(spec, &status);
  v1::AgentCounters* c = status.mutable_counters();
  c->set_late_heartbeats(late_heartbeats_);
  c->set_node_deaths(node_deaths_);
  for (const auto& [source, n] : refused_by_source_) {
    (*c->mutable_auth_failures_by_source())[source] = n;
  }
  hub_.PublishStatus(std::move(status), now);
}

void StatusPublisher::CountRefusedPacket(absl::string_view source) {
  source = SourceAddress(source);
  auto it = refused_by_source_.find(std::string(source));
  if (it == refused_by_source_.end()) {
    // "other" takes the overflow; it is itself one of the entries.
    it = refused_by_source_.size() + 1 < kMaxSources
             ? refused_by_source_.emplace(std::string(source), 0).first
             : refused_by_source_.emplace("other", 0).first;
  }
  ++it->second;
}

}  // namespace hacluster::agent
