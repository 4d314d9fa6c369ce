// AnswerLog: what vip_client (examples/vip_client.cc) makes of the answers
// of the service behind a virtual IP: which node answered, when another node
// started answering, and the longest time without any answer, with the nodes
// that answered just before and just after it. Pure: the caller gives the
// times (since the client started, non-decreasing), so it is tested without
// a network or a clock.
//
//   AnswerLog log;
//   log.Add(absl::Milliseconds(2), "node01");    // a Change: the first answer
//   log.Add(absl::Milliseconds(4), "node01");    // nullopt: nothing changed
//   log.Add(absl::Milliseconds(45), "node02");   // a Change after 41 ms
//   log.Summary(30, absl::Milliseconds(60));
//   // "answers 3 of 30 probes, longest gap 41.0 ms from node01 to node02,
//   //  last answer from node02"
//
// Thread-safety: none; one thread records and reads.
#ifndef HACLUSTER_EXAMPLES_ANSWER_LOG_H_
#define HACLUSTER_EXAMPLES_ANSWER_LOG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace hacluster::examples {

class AnswerLog {
 public:
  // Another node answers than the one before (or the first answer came).
  struct Change {
    absl::Duration at;       // when the answer came
    std::string node;        // who answers now
    std::string previous;    // who answered before; empty for the first answer
    absl::Duration silence;  // since the answer before (the first: since 0)
  };

  // Records an answer from `node` received at `at`. A Change when `node` is
  // not the node of the previous answer, else nullopt.
  std::optional<Change> Add(absl::Duration at, const std::string& node);

  uint64_t answers() const { return answers_; }
  // The node of the latest answer; empty before the first.
  const std::string& last_node() const { return last_node_; }

  // One line: answers of `probes` sent, the longest time between two
  // consecutive answers with who answered around it, the node of the last
  // answer, and the silence up to `stopped_at` when it is longer than that
  // gap (the service was gone at the end). "no answer" when none came.
  std::string Summary(uint64_t probes, absl::Duration stopped_at) const;

  // "38.2 ms".
  static std::string Ms(absl::Duration d);

 private:
  uint64_t answers_ = 0;
  absl::Duration last_at_;
  std::string last_node_;
  // The longest stretch between two answers, and who answered at its ends.
  absl::Duration longest_;
  std::string longest_before_;
  std::string longest_after_;
};

}  // namespace hacluster::examples

#endif  // HACLUSTER_EXAMPLES_ANSWER_LOG_H_
