// jitter_queue: delay jitter on a path, for the fault matrix, where the
// kernel has no netem qdisc. It takes the packets an iptables NFQUEUE rule
// sends to its queue (in the network namespace it runs in), holds each for
// a delay drawn uniformly from [--min-delay-ms, --max-delay-ms], and then
// lets it go on (NF_ACCEPT). Delays are independent, so packets may be
// reordered, as with netem's jitter.
//
//   jitter_queue --queue N --min-delay-ms A --max-delay-ms B --seconds S
//                [--seed X]
//
// The rule should carry --queue-bypass, so that packets pass undelayed once
// this program is gone. It stops after S seconds, letting every packet it
// still holds go first (at most 100,000 are held; beyond that a packet goes
// on at once), and prints one line:
//
//   queued=1234 delayed=1234 max_held=5
//
// Exit status: 0 done, 1 could not start or a netlink error (the reason on
// stderr), 2 usage.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"

namespace {

constexpr size_t kMaxHeld = 100000;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

nlmsghdr* QueueHeader(char* buf, int type, uint16_t queue) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = htons(queue);
  return nlh;
}

class Queue {
 public:
  ~Queue() {
    if (nl_ != nullptr) mnl_socket_close(nl_);
  }

  bool Open(uint16_t queue) {
    queue_ = queue;
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (nl_ == nullptr || mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
      std::fprintf(stderr, "jitter_queue: netlink socket: %s\n", std::strerror(errno));
      return false;
    }
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = QueueHeader(buf, NFQNL_MSG_CONFIG, queue);
    nfqnl_msg_config_cmd cmd{};
    cmd.command = NFQNL_CFG_CMD_BIND;
    cmd.pf = htons(AF_INET);
    mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
    if (!SendChecked(nlh, "bind")) return false;
    nlh = QueueHeader(buf, NFQNL_MSG_CONFIG, queue);
    nfqnl_msg_config_params params{};
    params.copy_range = htonl(0);
    params.copy_mode = NFQNL_COPY_META;
    mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
    return SendChecked(nlh, "copy mode");
  }

  int fd() const { return mnl_socket_get_fd(nl_); }

  // Reads what is pending; `on_packet(id)` for each queued packet.
  bool Read(const std::function<void(uint32_t)>& on_packet) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    const ssize_t n = mnl_socket_recvfrom(nl_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS) return true;
      std::fprintf(stderr, "jitter_queue: receive: %s\n", std::strerror(errno));
      return false;
    }
    on_packet_ = &on_packet;
    const int r = mnl_cb_run(buf, n, 0, 0, &Queue::OnMessage, this);
    on_packet_ = nullptr;
    if (r < 0) {
      std::fprintf(stderr, "jitter_queue: netlink message: %s\n", std::strerror(errno));
      return false;
    }
    return true;
  }

  bool Accept(uint32_t id) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = QueueHeader(buf, NFQNL_MSG_VERDICT, queue_);
    nfqnl_msg_verdict_hdr v{};
    v.verdict = htonl(NF_ACCEPT);
    v.id = htonl(id);
    mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(v), &v);
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
      std::fprintf(stderr, "jitter_queue: verdict: %s\n", std::strerror(errno));
      return false;
    }
    return true;
  }

 private:
  // Sends a config message with an acknowledgement asked for and reads it.
  bool SendChecked(nlmsghdr* nlh, const char* what) {
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0) {
      std::fprintf(stderr, "jitter_queue: %s: %s\n", what, std::strerror(errno));
      return false;
    }
    char buf[MNL_SOCKET_BUFFER_SIZE];
    const ssize_t n = mnl_socket_recvfrom(nl_, buf, sizeof(buf));
    if (n < 0 || mnl_cb_run(buf, n, seq_, mnl_socket_get_portid(nl_), nullptr, nullptr) < 0) {
      std::fprintf(stderr, "jitter_queue: %s of queue %u: %s\n", what, queue_,
                   std::strerror(errno));
      return false;
    }
    return true;
  }

  static int OnAttr(const nlattr* attr, void* data) {
    auto** tb = static_cast<const nlattr**>(data);
    const int type = mnl_attr_get_type(attr);
    if (mnl_attr_type_valid(attr, NFQA_MAX) < 0) return MNL_CB_OK;
    tb[type] = attr;
    return MNL_CB_OK;
  }

  static int OnMessage(const nlmsghdr* nlh, void* data) {
    auto* self = static_cast<Queue*>(data);
    const nlattr* tb[NFQA_MAX + 1] = {};
    if (mnl_attr_parse(nlh, sizeof(nfgenmsg), &Queue::OnAttr, tb) < 0) return MNL_CB_ERROR;
    if (tb[NFQA_PACKET_HDR] == nullptr ||
        mnl_attr_get_payload_len(tb[NFQA_PACKET_HDR]) < sizeof(nfqnl_msg_packet_hdr)) {
      return MNL_CB_OK;
    }
    const auto* ph =
        static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(tb[NFQA_PACKET_HDR]));
    (*self->on_packet_)(ntohl(ph->packet_id));
    return MNL_CB_OK;
  }

  mnl_socket* nl_ = nullptr;
  uint16_t queue_ = 0;
  uint32_t seq_ = 0;
  const std::function<void(uint32_t)>* on_packet_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Holds the packets of an NFQUEUE queue for a random delay (jitter)"};
  int queue = 0;
  double min_ms = 0;
  double max_ms = 0;
  double seconds = 0;
  uint64_t seed = 1;
  app.add_option("--queue", queue, "NFQUEUE queue number")->required()->check(CLI::Range(0, 65535));
  app.add_option("--min-delay-ms", min_ms, "Shortest delay")->check(CLI::Range(0.0, 10000.0));
  app.add_option("--max-delay-ms", max_ms, "Longest delay")
      ->required()
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--seconds", seconds, "Run this long")->required()->check(CLI::Range(0.001, 3600.0));
  app.add_option("--seed", seed, "Random seed");
  CLI11_PARSE(app, argc, argv);
  if (min_ms > max_ms) {
    std::fprintf(stderr, "jitter_queue: --min-delay-ms %g is above --max-delay-ms %g\n", min_ms,
                 max_ms);
    return 2;
  }

  Queue q;
  if (!q.Open(static_cast<uint16_t>(queue))) return 1;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> delay_ms(min_ms, max_ms);
  using Held = std::pair<int64_t, uint32_t>;  // (due, packet id)
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
  uint64_t queued = 0;
  uint64_t delayed = 0;
  size_t max_held = 0;
  bool ok = true;
  const int64_t end = NowNs() + static_cast<int64_t>(seconds * 1e9);
  auto on_packet = [&](uint32_t id) {
    ++queued;
    if (held.size() >= kMaxHeld) {
      ok = ok && q.Accept(id);
      return;
    }
    held.emplace(NowNs() + static_cast<int64_t>(delay_ms(rng) * 1e6), id);
    max_held = std::max(max_held, held.size());
  };
  while (ok) {
    const int64_t now = NowNs();
    while (!held.empty() && held.top().first <= now) {
      ok = ok && q.Accept(held.top().second);
      held.pop();
      ++delayed;
    }
    if (now >= end) break;
    int64_t wake = end;
    if (!held.empty()) wake = std::min(wake, held.top().first);
    // Millisecond resolution of poll(2): round up, at least 1 ms.
    const int timeout = static_cast<int>(std::max<int64_t>(1, (wake - now + 999999) / 1000000));
    pollfd p{q.fd(), POLLIN, 0};
    const int r = poll(&p, 1, timeout);
    if (r < 0 && errno != EINTR) {
      std::fprintf(stderr, "jitter_queue: poll: %s\n", std::strerror(errno));
      ok = false;
    }
    if (r > 0) ok = q.Read(on_packet);
  }
  while (!held.empty()) {
    q.Accept(held.top().second);
    held.pop();
    ++delayed;
  }
  std::printf("queued=%llu delayed=%llu max_held=%zu\n", static_cast<unsigned long long>(queued),
              static_cast<unsigned long long>(delayed), max_held);
  return ok ? 0 : 1;
}
