#include "tests/cluster/vip_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hacluster::testing {
namespace {

std::string Errno(int err) { return strerror(err); }

// An IPv4 or IPv6 address as its family and bytes.
struct RawAddress {
  int family = AF_UNSPEC;
  unsigned char bytes[16] = {};
  size_t size = 0;
};

absl::StatusOr<RawAddress> ParseAddress(const std::string& text) {
  RawAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET;
    a.size = 4;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), a.bytes) == 1) {
    a.family = AF_INET6;
    a.size = 16;
    return a;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not an IPv4 or IPv6 address (no prefix length)"));
}

// Owns one netlink socket (through libmnl) in some namespace.
class AddressLister {
 public:
  static absl::StatusOr<std::unique_ptr<AddressLister>> Open(const std::string& netns_path) {
    absl::StatusOr<int> fd =
        OpenSocketInNetns(netns_path, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (!fd.ok()) return fd.status();
    mnl_socket* nl = mnl_socket_fdopen(*fd);
    if (nl == nullptr) {
      int err = errno;
      close(*fd);
      return absl::InternalError(absl::StrCat("mnl_socket_fdopen: ", Errno(err)));
    }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      int err = errno;
      mnl_socket_close(nl);
      return absl::InternalError(
          absl::StrCat("binding a netlink socket in ", netns_path, ": ", Errno(err)));
    }
    return std::unique_ptr<AddressLister>(new AddressLister(nl, netns_path));
  }

  ~AddressLister() { mnl_socket_close(nl_); }
  AddressLister(const AddressLister&) = delete;
  AddressLister& operator=(const AddressLister&) = delete;

  // Whether `address` is on some interface: one RTM_GETADDR dump of its
  // family, read to the end.
  absl::StatusOr<bool> Has(const RawAddress& address) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<unsigned char>(address.family);
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
      return absl::InternalError(
          absl::StrCat("RTM_GETADDR to ", netns_path_, ": ", Errno(errno)));
    }
    Match match{&address, false};
    const unsigned int port = mnl_socket_get_portid(nl_);
    // A dump of a lab host's few addresses fits in a couple of buffers; the
    // bound guards against a kernel that never says NLMSG_DONE.
    for (int reads = 0; reads < 1000; ++reads) {
      ssize_t n = mnl_socket_recvfrom(nl_, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(
            absl::StrCat("reading the address dump of ", netns_path_, ": ", Errno(errno)));
      }
      int r = mnl_cb_run(buf, static_cast<size_t>(n), seq_, port, &AddressLister::OnAddress,
                         &match);
      if (r == MNL_CB_STOP) return match.found;
      if (r == MNL_CB_ERROR) {
        return absl::InternalError(
            absl::StrCat("address dump of ", netns_path_, ": ", Errno(errno)));
      }
    }
    return absl::DeadlineExceededError(
        absl::StrCat("address dump of ", netns_path_, " never ended"));
  }

 private:
  struct Match {
    const RawAddress* address;
    bool found;
  };

  AddressLister(mnl_socket* nl, std::string netns_path)
      : nl_(nl), netns_path_(std::move(netns_path)) {}

  static int OnAddress(const nlmsghdr* nlh, void* data) {
    auto* match = static_cast<Match*>(data);
    if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (ifa->ifa_family != match->address->family) return MNL_CB_OK;
    mnl_attr_parse(nlh, sizeof(*ifa), &AddressLister::OnAttribute, match);
    return MNL_CB_OK;
  }

  // IFA_LOCAL is the interface's own address (IPv4); IFA_ADDRESS is the
  // peer's on point-to-point links, else the same. IPv6 has IFA_ADDRESS.
  static int OnAttribute(const nlattr* attr, void* data) {
    auto* match = static_cast<Match*>(data);
    const uint16_t type = mnl_attr_get_type(attr);
    if (type != IFA_LOCAL && type != IFA_ADDRESS) return MNL_CB_OK;
    if (mnl_attr_get_payload_len(attr) != match->address->size) return MNL_CB_OK;
    if (memcmp(mnl_attr_get_payload(attr), match->address->bytes, match->address->size) == 0) {
      match->found = true;
    }
    return MNL_CB_OK;
  }

  mnl_socket* nl_;
  const std::string netns_path_;
  unsigned int seq_ = 0;
};

// Parses "NODE SEQ".
bool ParseAnswer(absl::string_view text, std::string* node, uint64_t* seq) {
  size_t space = text.find(' ');
  if (space == absl::string_view::npos || space == 0) return false;
  if (!absl::SimpleAtoi(text.substr(space + 1), seq)) return false;
  node->assign(text.data(), space);
  return true;
}

}  // namespace

absl::StatusOr<int> OpenSocketInNetns(const std::string& netns_path, int domain, int type,
                                      int protocol) {
  if (netns_path.empty()) {
    int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", Errno(errno)));
    return fd;
  }
  // setns(CLONE_NEWNET) moves only the calling thread: a thread of our own
  // enters the namespace, opens the socket and ends.
  absl::Status status;
  int fd = -1;
  std::thread opener([&] {
    int ns = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      status = absl::NotFoundError(absl::StrCat("open ", netns_path, ": ", Errno(errno)));
      return;
    }
    if (setns(ns, CLONE_NEWNET) != 0) {
      status = absl::PermissionDeniedError(
          absl::StrCat("setns into ", netns_path, ": ", Errno(errno)));
      close(ns);
      return;
    }
    close(ns);
    fd = socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
      status = absl::InternalError(absl::StrCat("socket in ", netns_path, ": ", Errno(errno)));
    }
  });
  opener.join();
  if (!status.ok()) return status;
  return fd;
}

absl::StatusOr<bool> AddressPresentIn(const std::string& netns_path, const std::string& address) {
  absl::StatusOr<RawAddress> raw = ParseAddress(address);
  if (!raw.ok()) return raw.status();
  absl::StatusOr<std::unique_ptr<AddressLister>> lister = AddressLister::Open(netns_path);
  if (!lister.ok()) return lister.status();
  return (*lister)->Has(*raw);
}

// ---------------------------------------------------------------- VipProbe

absl::StatusOr<std::unique_ptr<VipProbe>> VipProbe::Start(const VipProbeOptions& options) {
  in_addr a;
  if (inet_pton(AF_INET, options.address.c_str(), &a) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("probe address \"", options.address, "\" is not an IPv4 address"));
  }
  if (options.port < 1 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("probe port ", options.port, " out of range"));
  }
  if (options.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("probe interval must be more than 0");
  }
  if (options.realtime_priority < 0 || options.realtime_priority > 99) {
    return absl::InvalidArgumentError(
        absl::StrCat("probe realtime priority ", options.realtime_priority, " not in 0..99"));
  }
  absl::StatusOr<int> fd =
      OpenSocketInNetns(options.netns_path, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<VipProbe> probe(new VipProbe(options, *fd));
  probe->thread_ = std::thread([p = probe.get()] { p->Loop(); });
  if (options.realtime_priority > 0) {
    sched_param param{};
    param.sched_priority = options.realtime_priority;
    int err = pthread_setschedparam(probe->thread_.native_handle(), SCHED_FIFO, &param);
    if (err != 0) {
      probe->Stop();
      return absl::Status(err == EPERM ? absl::StatusCode::kPermissionDenied
                                       : absl::StatusCode::kInternal,
                          absl::StrCat("SCHED_FIFO ", options.realtime_priority,
                                       " for the probing thread: ", Errno(err)));
    }
  }
  return probe;
}

VipProbe::VipProbe(const VipProbeOptions& options, int fd) : options_(options), fd_(fd) {}

VipProbe::~VipProbe() {
  Stop();
  close(fd_);
}

void VipProbe::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

absl::Status VipProbe::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::vector<ProbeAnswer> VipProbe::Answers() const {
  absl::MutexLock lock(&mu_);
  return answers_;
}

std::optional<ProbeAnswer> VipProbe::WaitForAnswer(MonoTime after, absl::string_view node,
                                                   absl::Duration deadline) const {
  const MonoTime end = agent::MonotonicNow() + deadline;
  size_t checked = 0;  // answers already looked at
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      for (; checked < answers_.size(); ++checked) {
        const ProbeAnswer& a = answers_[checked];
        if (a.received > after && (node.empty() || a.node == node)) return a;
      }
    }
    if (agent::MonotonicNow() >= end) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

void VipProbe::Loop() {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(options_.port));
  inet_pton(AF_INET, options_.address.c_str(), &to.sin_addr);

  const MonoTime start = agent::MonotonicNow();
  const MonoTime end = start + options_.max_duration;
  std::vector<MonoTime> sent_at;  // by sequence number - 1
  sent_at.reserve(std::min<uint64_t>(options_.max_probes, 1 << 16));
  MonoTime next_send = start;
  uint64_t seq = 0;
  char out[24];
  char in[256];
  std::string node;
  while (!stop_.load()) {
    MonoTime now = agent::MonotonicNow();
    if (now >= end) break;
    if (now >= next_send) {
      if (seq >= options_.max_probes) break;
      ++seq;
      int len = snprintf(out, sizeof(out), "%llu", static_cast<unsigned long long>(seq));
      sent_at.push_back(now);
      if (sendto(fd_, out, static_cast<size_t>(len), 0, reinterpret_cast<sockaddr*>(&to),
                 sizeof(to)) < 0) {
        ++send_errors_;
      }
      ++sent_;
      next_send += options_.interval;
      // Late by more than one interval (the thread was not scheduled): go on
      // from now rather than sending a burst.
      if (next_send <= now) next_send = now + options_.interval;
    }
    const absl::Duration wait = std::min(next_send, end) - agent::MonotonicNow();
    timespec ts = absl::ToTimespec(std::max(wait, absl::ZeroDuration()));
    pollfd pfd{fd_, POLLIN, 0};
    int n = ppoll(&pfd, 1, &ts, nullptr);
    if (n < 0 && errno != EINTR) {
      absl::MutexLock lock(&mu_);
      status_ = absl::InternalError(absl::StrCat("probe poll: ", Errno(errno)));
      break;
    }
    if (n <= 0) continue;
    // Read what is queued, a bounded batch.
    for (int i = 0; i < 64; ++i) {
      sockaddr_in from{};
      socklen_t from_len = sizeof(from);
      ssize_t got =
          recvfrom(fd_, in, sizeof(in), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      const MonoTime received = agent::MonotonicNow();
      if (got < 0) {
        // EAGAIN: nothing more. ICMP errors (ECONNREFUSED while no server
        // listens) mean no answer, which the gap already shows.
        break;
      }
      uint64_t answered = 0;
      if (!ParseAnswer(absl::string_view(in, static_cast<size_t>(got)), &node, &answered) ||
          answered == 0 || answered > sent_at.size()) {
        continue;
      }
      char from_text[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &from.sin_addr, from_text, sizeof(from_text));
      absl::MutexLock lock(&mu_);
      answers_.push_back(ProbeAnswer{answered, node, from_text, sent_at[answered - 1], received});
    }
  }
  running_ = false;
}

ProbeGap LongestGapIn(const std::vector<ProbeAnswer>& answers, MonoTime from, MonoTime to) {
  if (to <= from) return ProbeGap{from, from};
  ProbeGap longest{from, from};
  MonoTime last = from;
  for (const ProbeAnswer& a : answers) {
    if (a.received < from) continue;
    if (a.received > to) break;
    if (a.received - last > longest.length()) longest = ProbeGap{last, a.received};
    last = a.received;
  }
  if (to - last > longest.length()) longest = ProbeGap{last, to};
  return longest;
}

absl::Duration LongestGap(const std::vector<ProbeAnswer>& answers, MonoTime from, MonoTime to) {
  return LongestGapIn(answers, from, to).length();
}

std::optional<ProbeAnswer> FirstAnswerAfter(const std::vector<ProbeAnswer>& answers,
                                            MonoTime after, absl::string_view node) {
  for (const ProbeAnswer& a : answers) {
    if (a.received > after && (node.empty() || a.node == node)) return a;
  }
  return std::nullopt;
}

std::set<std::string> NodesAnswering(const std::vector<ProbeAnswer>& answers, MonoTime from,
                                     MonoTime to) {
  std::set<std::string> nodes;
  for (const ProbeAnswer& a : answers) {
    if (a.received >= from && a.received <= to) nodes.insert(a.node);
  }
  return nodes;
}

// -------------------------------------------------------- VipHolderSampler

struct VipHolderSampler::Host {
  std::string name;
  std::unique_ptr<AddressLister> lister;
  bool holds = false;
  bool known = false;  // listed at least once
};

absl::StatusOr<std::unique_ptr<VipHolderSampler>> VipHolderSampler::Start(
    const VipSamplerOptions& options) {
  if (options.hosts.empty()) return absl::InvalidArgumentError("sampler: no hosts to list");
  absl::StatusOr<RawAddress> raw = ParseAddress(options.address);
  if (!raw.ok()) return raw.status();
  std::vector<Host> hosts;
  for (const SampledHost& h : options.hosts) {
    absl::StatusOr<std::unique_ptr<AddressLister>> lister = AddressLister::Open(h.netns_path);
    if (!lister.ok()) {
      return absl::Status(lister.status().code(),
                          absl::StrCat("sampler, host ", h.name, ": ", lister.status().message()));
    }
    hosts.push_back(Host{h.name, *std::move(lister)});
  }
  std::unique_ptr<VipHolderSampler> sampler(new VipHolderSampler(options, std::move(hosts)));
  sampler->thread_ = std::thread([s = sampler.get()] { s->Loop(); });
  return sampler;
}

VipHolderSampler::VipHolderSampler(const VipSamplerOptions& options, std::vector<Host> hosts)
    : options_(options), hosts_(std::move(hosts)) {}

VipHolderSampler::~VipHolderSampler() { Stop(); }

void VipHolderSampler::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  running_ = false;
}

absl::Status VipHolderSampler::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

std::vector<HolderOverlap> VipHolderSampler::Overlaps() const {
  absl::MutexLock lock(&mu_);
  return overlaps_;
}

std::vector<std::pair<MonoTime, MonoTime>> HoldingIntervals(
    const std::vector<HolderChange>& changes, const std::string& host, MonoTime now) {
  std::vector<std::pair<MonoTime, MonoTime>> out;
  std::optional<MonoTime> open;
  for (const HolderChange& c : changes) {
    if (c.host != host) continue;
    if (c.holds && !open.has_value()) open = c.at;
    if (!c.holds && open.has_value()) {
      out.emplace_back(*open, c.at);
      open.reset();
    }
  }
  if (open.has_value()) out.emplace_back(*open, now);
  return out;
}

std::vector<HolderChange> VipHolderSampler::Changes() const {
  absl::MutexLock lock(&mu_);
  return changes_;
}

std::vector<std::pair<MonoTime, MonoTime>> VipHolderSampler::HeldStretches(
    const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(host);
  if (it == held_.end()) return {};
  return it->second;
}

std::vector<std::string> VipHolderSampler::Holders() const {
  absl::MutexLock lock(&mu_);
  return holders_;
}

std::optional<MonoTime> VipHolderSampler::LastSeenHolding(const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(host);
  if (it == held_.end() || it->second.empty()) return std::nullopt;
  return it->second.back().second;
}

bool VipHolderSampler::SeenHolding(const std::string& host, MonoTime from, MonoTime to) const {
  absl::MutexLock lock(&mu_);
  auto it = held_.find(host);
  if (it == held_.end()) return false;
  for (const auto& [first, last] : it->second) {
    if (first <= to && last >= from) return true;
  }
  return false;
}

bool VipHolderSampler::WaitForRoundAfter(MonoTime t, absl::Duration deadline) const {
  const MonoTime end = agent::MonotonicNow() + deadline;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (last_round_start_ >= t) return true;
    }
    if (!running_.load() || agent::MonotonicNow() >= end) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

std::string VipHolderSampler::Describe() const {
  absl::MutexLock lock(&mu_);
  std::string s = absl::StrCat("sampler of ", options_.address, ": ", rounds_.load(), " rounds, ",
                               overlap_rounds_.load(), " proving two holders or more, ",
                               ambiguous_rounds_.load(), " ambiguous\n");
  const MonoTime origin = changes_.empty() ? MonoTime() : changes_.front().at;
  for (const HolderChange& c : changes_) {
    absl::StrAppend(&s, "  +", absl::FormatDuration(c.at - origin), " ", c.host,
                    c.holds ? " holds it\n" : " released it\n");
  }
  for (size_t i = 0; i < overlaps_.size() && i < 3; ++i) {
    absl::StrAppend(&s, "  +", absl::FormatDuration(overlaps_[i].at - origin), " TWO HOLDERS: ",
                    absl::StrJoin(overlaps_[i].holders, ", "), "\n");
  }
  if (overlap_rounds_.load() > 3) {
    absl::StrAppend(&s, "  ... ", overlap_rounds_.load() - 3, " more rounds with two holders\n");
  }
  if (!status_.ok()) absl::StrAppend(&s, "  stopped: ", status_.ToString(), "\n");
  return s;
}

void VipHolderSampler::Loop() {
  // ParseAddress succeeded in Start.
  const RawAddress address = *ParseAddress(options_.address);
  const MonoTime end = agent::MonotonicNow() + options_.max_duration;
  // Per host of this round: whether it holds the address, when listed.
  std::vector<std::pair<bool, MonoTime>> listed(hosts_.size());
  // Per host: holds now and did not at its previous listing.
  std::vector<bool> newly_held(hosts_.size());
  std::vector<HolderChange> changes;
  for (uint64_t round = 0; round < options_.max_rounds && !stop_.load(); ++round) {
    const MonoTime begin = agent::MonotonicNow();
    if (begin >= end) break;
    changes.clear();
    absl::Status failed;
    for (size_t i = 0; i < hosts_.size(); ++i) {
      Host& h = hosts_[i];
      const MonoTime at = agent::MonotonicNow();
      absl::StatusOr<bool> has = h.lister->Has(address);
      if (!has.ok()) {
        failed = absl::Status(has.status().code(),
                              absl::StrCat("host ", h.name, ": ", has.status().message()));
        break;
      }
      listed[i] = {*has, at};
      newly_held[i] = *has && (!h.known || !h.holds);
      if (!h.known || h.holds != *has) changes.push_back(HolderChange{at, h.name, *has});
      h.known = true;
      h.holds = *has;
    }
    {
      absl::MutexLock lock(&mu_);
      if (!failed.ok()) {
        status_ = failed;
        break;
      }
      for (HolderChange& c : changes) changes_.push_back(std::move(c));
      holders_.clear();
      for (size_t i = 0; i < hosts_.size(); ++i) {
        const auto [holds, at] = listed[i];
        if (!holds) continue;
        holders_.push_back(hosts_[i].name);
        // A host that held at its previous listing extends its stretch.
        auto& stretches = held_[hosts_[i].name];
        if (!stretches.empty() && !newly_held[i]) {
          stretches.back().second = at;
        } else {
          stretches.emplace_back(at, at);
        }
      }
      if (holders_.size() >= 2) {
        // The hosts whose current stretch intersects another's.
        std::vector<std::string> together;
        for (const std::string& a : holders_) {
          const auto& sa = held_[a].back();
          for (const std::string& b : holders_) {
            if (a == b) continue;
            const auto& sb = held_[b].back();
            if (std::max(sa.first, sb.first) <= std::min(sa.second, sb.second)) {
              together.push_back(a);
              break;
            }
          }
        }
        if (together.size() >= 2) {
          ++overlap_rounds_;
          if (overlaps_.size() < 64) overlaps_.push_back(HolderOverlap{begin, together});
        } else {
          ++ambiguous_rounds_;
        }
      }
      last_round_start_ = begin;
      ++rounds_;
    }
    if (options_.pause > absl::ZeroDuration()) absl::SleepFor(options_.pause);
  }
  running_ = false;
}

}  // namespace hacluster::testing
