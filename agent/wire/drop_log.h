// Counts dropped packets and decides which drops are worth a log line.
//
// A forged or misconfigured peer can send hundreds of bad packets a second;
// the log must say so without flooding. The first drop from a source is
// logged at once; after that a source gets at most one line per interval
// (10 s by default), which says how many drops were not logged since its
// previous line. Flush() writes that summary for a source that went quiet.
//
// Pure: time comes in as an argument (MonoTime from the agent's Clock).
// At most `max_sources` sources are remembered; a new source past that
// evicts the one heard from least recently (its unlogged count is lost; the
// totals keep it).
//
// Thread-safety: not thread-safe; the event loop owns it.
#ifndef HACLUSTER_AGENT_WIRE_DROP_LOG_H_
#define HACLUSTER_AGENT_WIRE_DROP_LOG_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/core/clock.h"
#include "agent/wire/codec.h"

namespace hacluster::wire {

class DropLog {
 public:
  static constexpr size_t kDefaultMaxSources = 1024;

  explicit DropLog(absl::Duration interval = absl::Seconds(10),
                   size_t max_sources = kDefaultMaxSources);
  DropLog(const DropLog&) = delete;
  DropLog& operator=(const DropLog&) = delete;

  // Counts a drop of a packet from `source` (e.g. "192.0.2.21:694") for
  // `reason`, with `detail` from PacketCheck, at `now`. Returns the line to
  // log, or nothing when this source already had a line in the last
  // interval. E.g. "dropped packet from 192.0.2.21:694: failed
  // authentication (bad-mac, key 1); 41 more from this source in the last
  // 10 s". Allocates nothing when it returns nothing for a known source.
  std::optional<std::string> Record(absl::string_view source, DropReason reason,
                                    absl::string_view detail, agent::MonoTime now);

  // Lines for the sources that had drops not logged yet and no line for
  // the last interval, e.g. "dropped 41 more packets from 192.0.2.21:694 in
  // the last 10 s (bad-mac 40, replay 1)". Call it now and then (e.g. every
  // second) so that the last drops of a burst are reported.
  std::vector<std::string> Flush(agent::MonoTime now);

  // All drops so far by reason name ("bad-mac" -> 41), every reason listed.
  std::map<std::string, uint64_t> TotalsByReason() const;

  // Drops counted for `source` and `reason` while the source is remembered.
  uint64_t CountForSource(absl::string_view source, DropReason reason) const;

  size_t SourcesForTest() const { return sources_.size(); }

 private:
  static constexpr size_t kReasons = 6;

  struct Source {
    agent::MonoTime last_line;                   // when its latest line was given
    uint64_t unlogged = 0;                       // drops since that line
    std::array<uint64_t, kReasons> unlogged_by_reason{};
    std::array<uint64_t, kReasons> total_by_reason{};
    std::list<std::string>::iterator recency;    // its place in recency_
  };

  const absl::Duration interval_;
  const size_t max_sources_;
  absl::flat_hash_map<std::string, Source> sources_;
  std::list<std::string> recency_;  // source names, most recently heard first
  std::array<uint64_t, kReasons> totals_{};
};

}  // namespace hacluster::wire

#endif  // HACLUSTER_AGENT_WIRE_DROP_LOG_H_
