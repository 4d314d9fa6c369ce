#include "agent/node/announcements.h"

#include <algorithm>

namespace hacluster::agent {

void AnnouncementSchedule::Add(const std::string& interface, const std::string& address,
                               MonoTime now, bool first_sent) {
  Entry e;
  e.what.interface = interface;
  e.what.address = address;
  e.left = first_sent ? kAnnouncements - 1 : kAnnouncements;
  e.next = first_sent ? now + kEvery : now;
  if (e.left > 0) entries_.push_back(std::move(e));
}

MonoTime AnnouncementSchedule::Next() const {
  MonoTime next = absl::InfiniteDuration();
  for (const Entry& e : entries_) next = std::min(next, e.next);
  return next;
}

std::vector<AnnouncementSchedule::Due> AnnouncementSchedule::TakeDue(MonoTime now) {
  std::vector<Due> due;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->next > now) {
      ++it;
      continue;
    }
    due.push_back(it->what);
    if (--it->left <= 0) {
      it = entries_.erase(it);
    } else {
      it->next = now + kEvery;
      ++it;
    }
  }
  return due;
}

void AnnouncementSchedule::Forget(const std::string& address) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.what.address == address; }),
                 entries_.end());
}

}  // namespace hacluster::agent
