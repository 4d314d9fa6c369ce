// Catch-up: fetching the spec a peer runs, over the peers' mutual-TLS API
// (Agent.GetSpec), for a node that was down while the cluster moved to a
// newer config version. The fetch runs on a thread of its own (gRPC calls
// block); the loop starts it and takes the result when it is there, never
// waiting for it.
//
// Thread-safety: Start, Take and Running are called by the loop thread; the
// fetch thread only touches the result slot, under the lock.
#ifndef HACLUSTER_AGENT_NODE_SPEC_FETCHER_H_
#define HACLUSTER_AGENT_NODE_SPEC_FETCHER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace hacluster::agent {

class SpecFetcher {
 public:
  // A peer that runs the wanted version, and its API endpoints.
  struct Source {
    std::string node;
    std::vector<std::string> endpoints;  // "192.0.2.12:7443"
  };
  // PEM: the CA the peers' certificates chain to, and this node's own
  // certificate and key (a node certificate: it may call its peers).
  struct Credentials {
    std::string ca_pem;
    std::string cert_pem;
    std::string key_pem;
  };
  struct Result {
    bool ok = false;
    std::string spec_yaml;
    uint64_t version = 0;
    std::string hash;   // hex, as the peer reports it
    std::string from;   // the node it came from
    std::string error;  // why not, one line per endpoint tried
  };

  SpecFetcher() = default;
  // Cancels a fetch under way and waits for its thread.
  ~SpecFetcher();
  SpecFetcher(const SpecFetcher&) = delete;
  SpecFetcher& operator=(const SpecFetcher&) = delete;

  // Asks each source in turn (each endpoint with `timeout`) for its spec
  // until one answers with `want_version`. A fetch already running is left
  // to finish (returns false).
  bool Start(std::vector<Source> sources, Credentials credentials, uint64_t want_version,
             absl::Duration timeout);
  bool Running() const;
  // The result of the finished fetch, once.
  std::optional<Result> Take();

 private:
  void Run(std::vector<Source> sources, Credentials credentials, uint64_t want_version,
           absl::Duration timeout);

  std::thread thread_;
  mutable absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The call under way, cancelled by the destructor.
  void* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::optional<Result> result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_SPEC_FETCHER_H_
