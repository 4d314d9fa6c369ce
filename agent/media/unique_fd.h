// Owns one file descriptor and closes it when it goes away.
//
// Thread-safety: none; a UniqueFd belongs to one owner (the event loop that
// polls it). Movable, not copyable.
#ifndef HACLUSTER_AGENT_MEDIA_UNIQUE_FD_H_
#define HACLUSTER_AGENT_MEDIA_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace hacluster::media {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

}  // namespace hacluster::media

#endif  // HACLUSTER_AGENT_MEDIA_UNIQUE_FD_H_
