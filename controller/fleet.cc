#include "controller/fleet.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "controller/cluster_view.h"

namespace hacluster::controller {

namespace av1 = ::hacluster::agent::v1;
using google::protobuf::util::TimeUtil;

struct Fleet::Node {
  std::string name;
  std::vector<std::string> endpoints;
  std::vector<std::unique_ptr<av1::Agent::Stub>> stubs;  // one per endpoint
  std::atomic<size_t> current{0};                         // the endpoint in use
  std::atomic<uint64_t> generation{0};                    // the agent's, from its status
  // Guarded by Fleet::mu_.
  v1::NodeView view;
  bool poke = false;  // an event came: poll now
  // The open WatchEvents call, for Stop to cancel; guarded by ctx_mu.
  std::mutex ctx_mu;
  grpc::ClientContext* stream = nullptr;
  std::condition_variable wake;  // with Fleet::mu_
};

std::shared_ptr<grpc::ChannelCredentials> AgentCredentials(const FleetOptions& options) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = options.ca_pem;
  tls.pem_cert_chain = options.cert_pem;
  tls.pem_private_key = options.key_pem;
  return grpc::SslCredentials(tls);
}

Fleet::Fleet(Catalog catalog, FleetOptions options)
    : catalog_(std::move(catalog)), options_(std::move(options)) {
  std::shared_ptr<grpc::ChannelCredentials> creds = AgentCredentials(options_);
  for (const CatalogCluster& c : catalog_.clusters) {
    std::vector<std::unique_ptr<Node>> nodes;
    std::vector<v1::NodeView> views;
    for (const CatalogNode& cn : c.nodes) {
      auto n = std::make_unique<Node>();
      n->name = cn.name;
      n->endpoints = cn.endpoints;
      for (const std::string& e : cn.endpoints) {
        grpc::ChannelArguments args;
        // Each node's channel is its own: no sharing of subchannels between
        // nodes that happen to have the same address in several specs.
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
        args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
        n->stubs.push_back(av1::Agent::NewStub(grpc::CreateCustomChannel(e, creds, args)));
      }
      n->view.set_node(cn.name);
      for (const std::string& e : cn.endpoints) n->view.add_endpoints(e);
      n->view.set_error("not polled yet");
      views.push_back(n->view);
      nodes.push_back(std::move(n));
    }
    statuses_.push_back(std::make_shared<const v1::ClusterStatus>(BuildClusterStatus(c, views)));
    nodes_.push_back(std::move(nodes));
    rebuild_mu_.push_back(std::make_unique<std::mutex>());
  }
}

Fleet::~Fleet() { Stop(); }

void Fleet::Start() {
  for (size_t c = 0; c < nodes_.size(); ++c) {
    for (size_t n = 0; n < nodes_[c].size(); ++n) {
      threads_.emplace_back([this, c, n] { Watch(c, n); });
      threads_.emplace_back([this, c, n] {
        Node& node = *nodes_[c][n];
        while (!stopping_) {
          Poll(c, n, *node.stubs[node.current % node.stubs.size()]);
          std::unique_lock<std::mutex> lock(mu_);
          node.wake.wait_for(lock, absl::ToChronoNanoseconds(options_.poll_interval),
                             [&] { return node.poke || stopping_; });
          node.poke = false;
        }
      });
    }
  }
}

void Fleet::Stop() {
  if (stopping_.exchange(true)) {
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    for (auto& cluster : nodes_) {
      for (auto& n : cluster) n->wake.notify_all();
    }
  }
  events_changed_.notify_all();
  for (auto& cluster : nodes_) {
    for (auto& n : cluster) {
      std::lock_guard<std::mutex> lock(n->ctx_mu);
      if (n->stream != nullptr) n->stream->TryCancel();
    }
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Fleet::Poll(size_t c, size_t n, av1::Agent::Stub& stub) {
  Node& node = *nodes_[c][n];
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  av1::GetStatusResponse st;
  grpc::Status s = stub.GetStatus(&ctx, av1::GetStatusRequest(), &st);
  if (s.ok()) node.generation = st.local_generation();
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v1::NodeView& v = node.view;
    *v.mutable_polled_at() = TimeUtil::GetCurrentTime();
    if (s.ok()) {
      // The status' durations (since last heard) move on every poll; the
      // cluster view is rebuilt anyway, it is cheap.
      changed = true;
      v.set_reachable(true);
      v.clear_error();
      *v.mutable_status() = std::move(st);
    } else {
      changed = v.reachable() || v.error() != s.error_message();
      v.set_reachable(false);
      v.set_error(absl::StrCat(node.endpoints[node.current % node.endpoints.size()], ": ",
                               s.error_message()));
      v.clear_status();
    }
  }
  if (!s.ok() && node.stubs.size() > 1) ++node.current;  // try the next address next time
  if (changed) Rebuild(c);
}

void Fleet::Rebuild(size_t c) {
  // One rebuild of a cluster at a time, so an older snapshot never
  // replaces a newer one; readers only wait for mu_, held briefly.
  std::lock_guard<std::mutex> rebuilding(*rebuild_mu_[c]);
  std::vector<v1::NodeView> views;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& n : nodes_[c]) views.push_back(n->view);
  }
  auto status =
      std::make_shared<const v1::ClusterStatus>(BuildClusterStatus(catalog_.clusters[c], views));
  std::lock_guard<std::mutex> lock(mu_);
  statuses_[c] = std::move(status);
}

void Fleet::Watch(size_t c, size_t n) {
  Node& node = *nodes_[c][n];
  uint64_t after = 0;
  uint64_t after_generation = 0;
  while (!stopping_) {
    av1::Agent::Stub& stub = *node.stubs[node.current % node.stubs.size()];
    // A restarted agent numbers its events from 1 again: ask which run
    // answers before resuming after an id of the last one.
    if (after != 0) {
      grpc::ClientContext sctx;
      sctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
      av1::GetStatusResponse st;
      if (stub.GetStatus(&sctx, av1::GetStatusRequest(), &st).ok()) {
        node.generation = st.local_generation();
      }
    }
    if (node.generation != 0 && node.generation != after_generation) after = 0;
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> lock(node.ctx_mu);
      if (stopping_) break;
      node.stream = &ctx;
    }
    av1::WatchEventsRequest req;
    req.set_after_id(after);
    std::unique_ptr<grpc::ClientReader<av1::Event>> reader = stub.WatchEvents(&ctx, req);
    av1::Event e;
    while (reader->Read(&e)) {
      after = e.id();
      after_generation = e.local_generation();
      Publish(c, node.name, std::move(e));
      std::lock_guard<std::mutex> lock(mu_);
      node.poke = true;
      node.wake.notify_all();
    }
    reader->Finish();
    {
      std::lock_guard<std::mutex> lock(node.ctx_mu);
      node.stream = nullptr;
    }
    // Reconnect after a pause (the poller notes the agent unreachable).
    std::unique_lock<std::mutex> lock(mu_);
    events_changed_.wait_for(lock, absl::ToChronoNanoseconds(options_.poll_interval),
                             [&] { return stopped_; });
  }
}

void Fleet::Publish(size_t c, const std::string& node, av1::Event event) {
  std::lock_guard<std::mutex> lock(mu_);
  v1::ClusterEvent ce;
  ce.set_id(++last_event_id_);
  ce.set_cluster(catalog_.clusters[c].name);
  ce.set_reported_by(node);
  *ce.mutable_event() = std::move(event);
  events_.push_back(std::move(ce));
  while (events_.size() > options_.event_history) events_.pop_front();
  events_changed_.notify_all();
}

std::vector<std::shared_ptr<const v1::ClusterStatus>> Fleet::Statuses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return statuses_;
}

std::shared_ptr<const v1::ClusterStatus> Fleet::Status(const std::string& cluster) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < catalog_.clusters.size(); ++i) {
    if (catalog_.clusters[i].name == cluster) return statuses_[i];
  }
  return nullptr;
}

v1::ListClustersResponse Fleet::ListClusters() const {
  std::vector<std::shared_ptr<const v1::ClusterStatus>> all = Statuses();
  v1::ListClustersResponse out;
  for (size_t i = 0; i < all.size(); ++i) {
    *out.add_clusters() = Summarize(catalog_.clusters[i], *all[i]);
  }
  return out;
}

absl::StatusOr<v1::WhereResponse> Fleet::Where(const std::string& target,
                                               const std::string& cluster) const {
  if (cluster.empty()) {
    auto it = catalog_.by_address.find(target);
    if (it != catalog_.by_address.end()) {
      std::shared_ptr<const v1::ClusterStatus> st;
      {
        std::lock_guard<std::mutex> lock(mu_);
        st = statuses_[it->second.first];
      }
      std::optional<v1::WhereResponse> w = WhereIn(catalog_.clusters[it->second.first], *st, target);
      if (w.has_value()) return *w;
    }
  }
  std::vector<std::shared_ptr<const v1::ClusterStatus>> all = Statuses();
  for (size_t i = 0; i < all.size(); ++i) {
    if (!cluster.empty() && catalog_.clusters[i].name != cluster) continue;
    std::optional<v1::WhereResponse> w = WhereIn(catalog_.clusters[i], *all[i], target);
    if (w.has_value()) return *w;
  }
  if (!cluster.empty() && catalog_.Find(cluster) == nullptr) {
    return absl::NotFoundError(absl::StrCat("no cluster ", cluster));
  }
  return absl::NotFoundError(absl::StrCat("no group or virtual IP ", target,
                                          cluster.empty() ? "" : " in cluster ", cluster));
}

absl::StatusOr<av1::Agent::Stub*> Fleet::StubOf(const std::string& cluster,
                                                 const std::string& node) const {
  for (size_t c = 0; c < catalog_.clusters.size(); ++c) {
    if (catalog_.clusters[c].name != cluster) continue;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& n : nodes_[c]) {
      if (node.empty() ? n->view.reachable() : n->name == node) {
        return n->stubs[n->current % n->stubs.size()].get();
      }
    }
    if (node.empty()) {
      return absl::UnavailableError(absl::StrCat("no agent of cluster ", cluster, " answers"));
    }
    return absl::NotFoundError(absl::StrCat("cluster ", cluster, " has no node ", node));
  }
  return absl::NotFoundError(absl::StrCat("no cluster ", cluster));
}

absl::StatusOr<v1::ClusterServersResponse> Fleet::ListServers(const std::string& cluster) const {
  absl::StatusOr<av1::Agent::Stub*> stub = StubOf(cluster, "");
  if (!stub.ok()) return stub.status();
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  av1::ListServersResponse resp;
  grpc::Status s = (*stub)->ListServers(&ctx, av1::ListServersRequest(), &resp);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  v1::ClusterServersResponse out;
  out.set_cluster(cluster);
  *out.mutable_nodes() = resp.nodes();
  out.set_answered_by(resp.answered_by());
  return out;
}

bool Fleet::NextEvents(uint64_t* cursor, const std::string& cluster, absl::Duration timeout,
                       std::vector<v1::ClusterEvent>* out, size_t max) const {
  std::unique_lock<std::mutex> lock(mu_);
  // An id from before this controller started (a watcher resuming after a
  // restart): from the start of what is held.
  if (*cursor > last_event_id_) *cursor = 0;
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  while (true) {
    if (stopped_) return false;
    size_t added = 0;
    for (const v1::ClusterEvent& e : events_) {
      if (e.id() <= *cursor) continue;
      *cursor = e.id();
      if (!cluster.empty() && e.cluster() != cluster) continue;
      out->push_back(e);
      if (++added >= max) break;
    }
    if (added > 0) return true;
    if (events_changed_.wait_until(lock, deadline) == std::cv_status::timeout) return true;
  }
}

uint64_t Fleet::LastEventId() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_event_id_;
}

}  // namespace hacluster::controller
