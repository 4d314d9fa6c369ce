// Watching a virtual IP from outside the agents, for failover tests and
// benchmarks:
//
// - VipProbe is a client of the service behind the VIP (probe_server.cc): it
//   sends a numbered UDP datagram to VIP:port at a fixed interval (2 ms by
//   default) from a socket that lives in a client's network namespace, and
//   records for each answer the node that answered, the source address and
//   the send and receive times. LongestGap, FirstAnswerAfter and
//   NodesAnswering read a recorded series: the longest time without an
//   answer, when a node first answered after some instant, who answered.
//
// - VipHolderSampler lists the address on several hosts' namespaces (an
//   rtnetlink address dump per host, one host after the other, round after
//   round, as fast as it can) and records every round that shows two hosts
//   holding the address at one instant, every change of each host's
//   holding, and when each host was seen holding it.
//
//   The listings of one round happen one after the other, and the sampling
//   thread may be preempted between them: a round that finds node01 holding
//   at t1 and node02 holding at t2 > t1 does not prove both held at once
//   (node01 may have let go in between). Each host's holding is therefore
//   kept as stretches [first listing found holding, last listing found
//   holding] with no listing in between finding it released; two hosts
//   certainly held the address together when their stretches intersect. A
//   round counts as an overlap when the stretches of two hosts it found
//   holding intersect; a round that found two holders without that proof
//   counts as ambiguous (the next rounds settle it).
//
// Sockets are opened inside a namespace by a short-lived thread that enters
// it (setns), and keep that namespace for their life; the threads that use
// them stay in the caller's namespace. Every loop is bounded in time and
// count (the options), and ends on Stop() or destruction.
//
// Times are MonotonicNow() (CLOCK_MONOTONIC), comparable with the agent's
// Event.monotonic_ns and with what the test reads itself.
//
// Thread-safety: VipProbe and VipHolderSampler record on a thread of their
// own; their const methods may be called from any thread at any time. Start,
// Stop and destruction belong to one thread. The free functions are
// reentrant.
#ifndef HACLUSTER_TESTS_CLUSTER_VIP_PROBE_H_
#define HACLUSTER_TESTS_CLUSTER_VIP_PROBE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"

namespace hacluster::testing {

using agent::MonoTime;

// A socket(domain, type, protocol) in the network namespace bound at
// `netns_path` ("/run/netns/NAME"; empty: the caller's). The caller owns the
// returned descriptor (close-on-exec). Errors name the path and the OS
// reason.
absl::StatusOr<int> OpenSocketInNetns(const std::string& netns_path, int domain, int type,
                                      int protocol);

// Whether `address` (IPv4 or IPv6, no prefix length) is assigned to an
// interface in the namespace at `netns_path`: one rtnetlink dump.
absl::StatusOr<bool> AddressPresentIn(const std::string& netns_path, const std::string& address);

// One answer of the service.
struct ProbeAnswer {
  uint64_t seq = 0;
  std::string node;  // the name the server put in its answer
  std::string from;  // the answer's source address
  MonoTime sent;     // when the probe with `seq` left
  MonoTime received;
};

struct VipProbeOptions {
  // The client's namespace; empty: the caller's.
  std::string netns_path;
  // IPv4 address and UDP port of the service.
  std::string address;
  int port = 0;
  // Time between two probes (more than 0).
  absl::Duration interval = absl::Milliseconds(2);
  // The probe stops by itself after this long or this many probes.
  absl::Duration max_duration = absl::Seconds(120);
  uint64_t max_probes = 200000;
  // SCHED_FIFO priority of the probing thread (1 to 99), so that what the
  // probe measures is the service and not the scheduling of a busy test
  // machine; 0 leaves the thread's policy alone.
  int realtime_priority = 0;
};

class VipProbe {
 public:
  // Opens the socket in the namespace and starts probing at once.
  // InvalidArgument for a bad address, port, interval or priority; the OS
  // error when the realtime priority cannot be set (PermissionDenied
  // without CAP_SYS_NICE).
  static absl::StatusOr<std::unique_ptr<VipProbe>> Start(const VipProbeOptions& options);
  // Stop().
  ~VipProbe();
  VipProbe(const VipProbe&) = delete;
  VipProbe& operator=(const VipProbe&) = delete;

  // Stops probing (answers already recorded stay). Idempotent.
  void Stop();
  // False once stopped, or once a bound was reached or the socket failed.
  bool running() const { return running_.load(); }
  // Probes sent, and sends the kernel refused (no route, no neighbour...).
  uint64_t sent() const { return sent_.load(); }
  uint64_t send_errors() const { return send_errors_.load(); }
  // OK, or why the probing thread stopped early (a receive error).
  absl::Status status() const;
  // Every answer so far, in the order received.
  std::vector<ProbeAnswer> Answers() const;
  // Bounded wait for an answer received after `after` (from `node` when not
  // empty); the answer, or nullopt when none came within `deadline`.
  std::optional<ProbeAnswer> WaitForAnswer(MonoTime after, absl::string_view node,
                                           absl::Duration deadline) const;

 private:
  VipProbe(const VipProbeOptions& options, int fd);
  void Loop();

  const VipProbeOptions options_;
  const int fd_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{true};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> send_errors_{0};
  mutable absl::Mutex mu_;
  std::vector<ProbeAnswer> answers_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// A stretch of time without answers.
struct ProbeGap {
  MonoTime from;
  MonoTime to;
  absl::Duration length() const { return to - from; }
};

// The longest stretch of [from, to] in which no answer was received: the
// largest difference between consecutive receive times, counting `from` and
// `to` as the ends (the earliest such stretch when several are as long).
// All of [from, to] when no answer falls inside; empty when to <= from.
// `answers` in the order received.
ProbeGap LongestGapIn(const std::vector<ProbeAnswer>& answers, MonoTime from, MonoTime to);
// Its length.
absl::Duration LongestGap(const std::vector<ProbeAnswer>& answers, MonoTime from, MonoTime to);

// The first answer received strictly after `after`, from `node` when not
// empty.
std::optional<ProbeAnswer> FirstAnswerAfter(const std::vector<ProbeAnswer>& answers,
                                            MonoTime after, absl::string_view node = "");

// The nodes that answered with a receive time in [from, to].
std::set<std::string> NodesAnswering(const std::vector<ProbeAnswer>& answers, MonoTime from,
                                     MonoTime to);

// A host whose namespace the sampler lists.
struct SampledHost {
  std::string name;
  std::string netns_path;
};

struct VipSamplerOptions {
  std::vector<SampledHost> hosts;
  // IPv4 or IPv6, no prefix length.
  std::string address;
  // Pause between rounds; zero: as fast as it can.
  absl::Duration pause = absl::ZeroDuration();
  // The sampler stops by itself after this long or this many rounds.
  absl::Duration max_duration = absl::Seconds(120);
  uint64_t max_rounds = 20000000;
};

// A round that proved two hosts or more held the address at one instant.
struct HolderOverlap {
  MonoTime at;  // when the round began
  std::vector<std::string> holders;  // the hosts whose stretches intersect
};

// A host's holding changed (the first round reports every host's state).
struct HolderChange {
  MonoTime at;  // when the host was listed
  std::string host;
  bool holds = false;
};

// The intervals in which `host` held the address by `changes`: [the first
// listing found holding, the first listing found it gone), in order; one
// still open ends at `now`.
std::vector<std::pair<MonoTime, MonoTime>> HoldingIntervals(
    const std::vector<HolderChange>& changes, const std::string& host, MonoTime now);

class VipHolderSampler {
 public:
  // Opens one netlink socket per host and starts sampling at once.
  // InvalidArgument for a bad address or no hosts.
  static absl::StatusOr<std::unique_ptr<VipHolderSampler>> Start(
      const VipSamplerOptions& options);
  // Stop().
  ~VipHolderSampler();
  VipHolderSampler(const VipHolderSampler&) = delete;
  VipHolderSampler& operator=(const VipHolderSampler&) = delete;

  // Stops sampling; what was recorded stays. Idempotent.
  void Stop();
  bool running() const { return running_.load(); }
  // OK, or why sampling stopped early (a netlink error).
  absl::Status status() const;
  // Complete rounds so far.
  uint64_t rounds() const { return rounds_.load(); }
  // Rounds that proved two holders or more: how many, and the first 64.
  uint64_t overlap_rounds() const { return overlap_rounds_.load(); }
  // Rounds that found two holders without proof that they held together.
  uint64_t ambiguous_rounds() const { return ambiguous_rounds_.load(); }
  std::vector<HolderOverlap> Overlaps() const;
  // Every change of holding, in order.
  std::vector<HolderChange> Changes() const;
  // The holders found by the latest complete round, in host order.
  std::vector<std::string> Holders() const;
  // The last time `host` was listed holding the address; nullopt if never.
  std::optional<MonoTime> LastSeenHolding(const std::string& host) const;
  // Whether `host` was listed holding the address at some instant in
  // [from, to].
  bool SeenHolding(const std::string& host, MonoTime from, MonoTime to) const;
  // The stretches in which `host` was listed holding the address: [first,
  // last] listing of each, in order (a stretch still open ends at the
  // latest listing).
  std::vector<std::pair<MonoTime, MonoTime>> HeldStretches(const std::string& host) const;
  // Waits (bounded) until a round that began at or after `t` is complete,
  // so Holders() describes a moment after `t`. False on timeout or when the
  // sampler stopped.
  bool WaitForRoundAfter(MonoTime t, absl::Duration deadline) const;
  // One line per change and overlap, for failure messages.
  std::string Describe() const;

 private:
  struct Host;
  VipHolderSampler(const VipSamplerOptions& options, std::vector<Host> hosts);
  void Loop();

  const VipSamplerOptions options_;
  std::vector<Host> hosts_;  // sockets; used by the sampling thread only
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{true};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<uint64_t> overlap_rounds_{0};
  std::atomic<uint64_t> ambiguous_rounds_{0};
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<HolderOverlap> overlaps_ ABSL_GUARDED_BY(mu_);
  std::vector<HolderChange> changes_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> holders_ ABSL_GUARDED_BY(mu_);
  // Per host, the stretches in which it was listed holding the address:
  // [first, last] listing of each.
  std::map<std::string, std::vector<std::pair<MonoTime, MonoTime>>> held_ ABSL_GUARDED_BY(mu_);
  MonoTime last_round_start_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  std::thread thread_;
};

}  // namespace hacluster::testing

#endif  // HACLUSTER_TESTS_CLUSTER_VIP_PROBE_H_
