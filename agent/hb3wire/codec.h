// Heartbeat 3 messages on the wire, for one node of a mixed pair: the
// envelope every message carries and the check every received datagram
// passes, the same check (authentication, replay window) as the native
// wire's (agent/wire/packet_check.h).
//
// Envelope. After its own fields, every message Heartbeat 3.0.6 sends ends
// with, in this order: src (the node name), (1)srcuuid (16 bytes), seq
// (lowercase hex, +1 per message; acknowledgements carry none), hg (the
// generation, hex), ts (wall-clock seconds, hex), ld (the load average
// line; not on acknowledgements), ttl ("3"), auth (the key index and the
// token over the fields above in the classic "name=value\n" form, binary
// values in base64), and then the outer auth netstring over the netstring
// form (ha_msg.h, auth.h). Heartbeat checks the outer one.
//
// Check(). A datagram is dropped, with the native wire's reasons, when it
// does not parse (malformed), names a key index the keyring lacks
// (unknown-key), has a wrong token (bad-mac), comes from a node that is not
// in the spec (wrong-cluster: Heartbeat has no cluster name, the node list
// is the cluster), or repeats a (generation, seq) already seen or too old
// (replay, PacketCheck's window per node and link). Acknowledgements
// (NS_ackmsg, no seq) pass the authentication and node checks and carry
// no state.
//
// Thread-safety: not thread-safe; the event loop owns it. The keyring is
// not owned and must outlive the codec (or be replaced first).
#ifndef HACLUSTER_AGENT_HB3WIRE_CODEC_H_
#define HACLUSTER_AGENT_HB3WIRE_CODEC_H_

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/hb3wire/auth.h"
#include "agent/hb3wire/ha_msg.h"
#include "agent/wire/keyring.h"
#include "agent/wire/packet_check.h"

namespace hacluster::hb3wire {

// Who the local node is on this wire.
struct Identity {
  std::string node;
  std::string uuid;         // 16 bytes, stable across restarts
  uint64_t generation = 0;  // "hg": higher at every start
};

// Cluster-glue's base64 of binary fields in the classic form.
std::string Base64(absl::string_view bytes);

// The classic NOHEAD form the inner auth field covers: every field but
// "auth" as "[(T)]name=value\n", binary values in base64.
std::string ClassicForm(const HaMessage& m);

// A received message that passed the check.
struct Received {
  HaMessage message;
  std::string type;  // the "t" field
  std::string node;  // the "src" field
  uint64_t generation = 0;
  uint64_t seq = 0;  // 0: an unsequenced message (acknowledgement)
};

class Codec {
 public:
  // Messages kept for retransmission requests (Heartbeat keeps 200).
  static constexpr size_t kHistory = 200;

  Codec(Identity local, std::vector<std::string> nodes, const wire::Keyring* keyring);
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  void SetKeyring(const wire::Keyring* keyring);
  const Identity& local() const { return local_; }

  // Adds the envelope to `body` (its own fields), signs it and returns the
  // datagram. Sequenced messages take the next seq and are kept for
  // retransmission. `wall` gives ts, `load` the ld field.
  absl::StatusOr<std::string> Encode(HaMessage body, bool sequenced, absl::Time wall,
                                     absl::string_view load);
  // The seq of the last sequenced message sent (0: none yet).
  uint64_t last_seq() const { return seq_; }
  void set_last_seq_for_test(uint64_t seq) { seq_ = seq; }
  // The datagrams of sequenced messages first..last still in the history,
  // as first sent (a retransmission is the same datagram).
  std::vector<std::string> History(uint64_t first, uint64_t last) const;

  // Checks a datagram received on link `link` (see above). On success
  // fills *out.
  wire::PacketCheck::Result Check(absl::string_view datagram, int link, Received* out);

  // The replay state, to persist like the native wire's.
  wire::PacketCheck& replay() { return replay_; }

 private:
  Identity local_;
  std::vector<std::string> nodes_;
  Authenticator auth_;
  wire::PacketCheck replay_;
  uint64_t seq_ = 0;
  std::deque<std::pair<uint64_t, std::string>> history_;
};

// Parses lowercase or uppercase hex of at most 16 digits.
bool ParseHex(absl::string_view s, uint64_t* out);

}  // namespace hacluster::hb3wire

#endif  // HACLUSTER_AGENT_HB3WIRE_CODEC_H_
