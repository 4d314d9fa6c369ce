// What the event loop publishes for the management API: the latest status
// snapshot and the feed of events (with a bounded history so a watcher can
// resume after an id).
//
// The loop is the only writer of the status (PublishStatus) and closes the
// feed; RPC handlers read (Status, Snapshot, Next) and append audit events
// (Emit). Handlers thus never touch the loop's state, and the lock is held
// only to swap or copy a pointer to the snapshot, so a burst of API calls
// cannot keep the loop waiting.
//
// Thread-safety: every method may be called from any thread.
#ifndef HACLUSTER_AGENT_SERVICE_EVENT_HUB_H_
#define HACLUSTER_AGENT_SERVICE_EVENT_HUB_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "agent/core/pi_mutex.h"
#include "proto/agent.pb.h"

namespace hacluster::agent {

class EventHub {
 public:
  // Keeps the last `history` events for watchers that resume or start late.
  explicit EventHub(size_t history = 4096);
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Replaces the snapshot. `at` is the loop's monotonic time when it was taken.
  void PublishStatus(v1::GetStatusResponse status, MonoTime at);

  // Appends an event, giving it the next id (1, 2, ...), and wakes watchers.
  // Returns the id.
  uint64_t Emit(v1::Event event);

  // Ends every watch (their Next returns kClosed once the feed is drained).
  void Close();

  // The latest snapshot, with since_last_heard advanced by the time passed
  // since it was taken (to `now`).
  v1::GetStatusResponse Status(MonoTime now) const;
  // The latest snapshot as published (no copy, times not advanced).
  std::shared_ptr<const v1::GetStatusResponse> Snapshot() const;

  // The running spec as GetSpec answers it (published at start and after
  // each reload or apply), and the latest published.
  void PublishSpec(v1::GetSpecResponse spec);
  std::shared_ptr<const v1::GetSpecResponse> Spec() const;

  // The id of the newest event (0 before the first).
  uint64_t LastId() const;

  enum class WaitResult { kEvents, kTimeout, kClosed };
  // Appends the held events with an id above *cursor (at most `max`) to
  // *out and moves *cursor to the last one; waits up to `timeout` for one to
  // come when there is none. Events older than the history are skipped.
  WaitResult Next(uint64_t* cursor, absl::Duration timeout, std::vector<v1::Event>* out,
                  size_t max = 256);

 private:
  const size_t history_;
  // Priority inheritance: the loop never waits long behind a handler.
  mutable PiMutex mu_;
  mutable PiCondVar changed_;
  std::shared_ptr<const v1::GetStatusResponse> status_ ABSL_GUARDED_BY(mu_);
  MonoTime status_at_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const v1::GetSpecResponse> spec_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::Event> events_ ABSL_GUARDED_BY(mu_);
  uint64_t last_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SERVICE_EVENT_HUB_H_
