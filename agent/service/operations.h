// Operations: the operator's write requests (standby, takeover, move, the
// steps of an apply) on
// their way from the API threads to the event loop and back.
//
// An API handler Submits a request and gets its id; the loop is woken
// through fd() (an eventfd in its epoll set), Takes the submitted requests,
// acts on them and Updates each operation's answer until it is finished
// (DONE, FAILED); the handler Waits for that, or for its own timeout
// (then the answer says TIMED_OUT: the move goes on). GetOperation looks an
// operation up later by id. Finished operations are kept (the last 256) so
// a --no-wait caller can still ask.
//
// Thread-safety: every method may be called from any thread.
#ifndef HACLUSTER_AGENT_SERVICE_OPERATIONS_H_
#define HACLUSTER_AGENT_SERVICE_OPERATIONS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "agent/core/pi_mutex.h"
#include "absl/time/time.h"
#include "proto/agent.pb.h"

namespace hacluster::agent {

struct OperationRequest {
  enum class Kind { kStandby, kTakeover, kMove, kPrepareApply, kCommitApply, kAbortApply };
  uint64_t id = 0;
  Kind kind = Kind::kStandby;
  v1::StandbyScope scope = v1::STANDBY_SCOPE_UNSPECIFIED;
  std::string group;  // move
  std::string node;   // move
  std::string spec_yaml;        // prepare apply
  uint64_t expect_version = 0;  // prepare apply: 0 for none
  absl::Duration hold = absl::ZeroDuration();  // prepare apply: 0 for the default
  uint64_t apply_id = 0;        // commit, abort apply
};

class Operations {
 public:
  Operations();
  ~Operations();
  Operations(const Operations&) = delete;
  Operations& operator=(const Operations&) = delete;

  // The eventfd that becomes readable when requests wait; -1 if it could
  // not be created (then Submit fails).
  int fd() const { return fd_; }

  // Queues `request` (its id is assigned) and wakes the loop; the id, or an
  // error when the agent is stopping.
  absl::StatusOr<uint64_t> Submit(OperationRequest request);
  // The requests submitted since the last call (the loop's side).
  std::vector<OperationRequest> Take();
  // Sets the answer of operation `id` (state, message, groups).
  void Update(uint64_t id, v1::OperationResponse response);
  // The answer of `id` once it is no longer PENDING, or when `timeout`
  // passes (then PENDING becomes TIMED_OUT in the copy returned); nullopt
  // for an unknown id.
  std::optional<v1::OperationResponse> Wait(uint64_t id, absl::Duration timeout);
  // Wakes every waiter with what is known, and refuses new requests.
  void Close();

 private:
  int fd_ = -1;
  // Priority inheritance: the loop never waits long behind a handler.
  mutable PiMutex mu_;
  PiCondVar changed_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<OperationRequest> submitted_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, v1::OperationResponse> answers_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> finished_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_SERVICE_OPERATIONS_H_
