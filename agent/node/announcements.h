// When each virtual IP the node holds is announced (gratuitous ARP or
// unsolicited neighbour advertisement): as Heartbeat's send_arp does, 5
// times in all, 200 ms apart, the first with the start itself. Pure: timers
// on MonoTime, so the schedule is tested on a fake clock; the agent sends
// what TakeDue returns.
//
// Thread-safety: not synchronised; the loop thread owns it.
#ifndef HACLUSTER_AGENT_NODE_ANNOUNCEMENTS_H_
#define HACLUSTER_AGENT_NODE_ANNOUNCEMENTS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/core/clock.h"

namespace hacluster::agent {

class AnnouncementSchedule {
 public:
  static constexpr int kAnnouncements = 5;
  static constexpr absl::Duration kEvery = absl::Milliseconds(200);

  struct Due {
    std::string interface;
    std::string address;
  };

  // Schedules the announcements of `address` on `interface`: all of them
  // from `now`, or, when the start already sent the first (`first_sent`),
  // the others from now + kEvery.
  void Add(const std::string& interface, const std::string& address, MonoTime now,
           bool first_sent);
  // The earliest due time; InfiniteDuration when none is left.
  MonoTime Next() const;
  // The announcements due at `now`, each counted and scheduled kEvery later
  // (or retired after its last).
  std::vector<Due> TakeDue(MonoTime now);
  // Drops every announcement left of `address` (it is no longer here).
  void Forget(const std::string& address);
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    Due what;
    int left = 0;
    MonoTime next;
  };
  std::vector<Entry> entries_;
};

}  // namespace hacluster::agent

#endif  // HACLUSTER_AGENT_NODE_ANNOUNCEMENTS_H_
