#include "agent/node/agent.h"

#include "agent/node/agent_loop.h"

namespace hacluster::agent {

Agent::Agent(std::unique_ptr<AgentLoop> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options, Logger& logger) {
  static const SystemClock clock;
  auto impl = std::make_unique<AgentLoop>(options, logger, clock);
  absl::Status s = impl->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

int Agent::Run() { return impl_->Run(); }

}  // namespace hacluster::agent
