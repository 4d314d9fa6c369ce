#include "agent/hb3wire/peer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hacluster::hb3wire {
namespace {

// node02 runs ha-agent; node01 runs Heartbeat. "web" prefers node01,
// "db" prefers node02.
PeerSession Session() { return PeerSession("node02", "node01", {"db"}, {"web"}); }

uint64_t next_seq = 1;

Received From(std::vector<std::pair<std::string, std::string>> fields, uint64_t gen = 100) {
  Received r;
  for (const auto& [n, v] : fields) r.message.Add(n, v);
  r.type = std::string(r.message.GetOr("t"));
  r.node = "node01";
  r.generation = gen;
  r.seq = next_seq++;
  return r;
}

std::vector<std::string> Summary(const std::vector<Outgoing>& out) {
  std::vector<std::string> s;
  for (const Outgoing& o : out) s.push_back(o.body.DebugString());
  return s;
}

std::set<std::string> Claims(const PeerSession& p) {
  wire::v1::Heartbeat hb;
  p.FillHeartbeat(&hb);
  std::set<std::string> out;
  for (const auto& c : hb.groups()) out.insert(c.name());
  return out;
}

TEST(PeerSessionTest, HoldsReadFromEitherSide) {
  PeerSession p = Session();
  EXPECT_EQ(p.GroupsOf(kHoldLocal, false), std::set<std::string>{"web"});
  EXPECT_EQ(p.GroupsOf(kHoldForeign, false), std::set<std::string>{"db"});
  EXPECT_EQ(p.GroupsOf(kHoldLocal, true), std::set<std::string>{"db"});
  EXPECT_EQ(p.HoldOf({"web", "db"}, true), kHoldAll);
  EXPECT_EQ(p.HoldOf({"web"}, true), kHoldForeign);
  EXPECT_EQ(HoldName(kHoldForeign), "foreign");
  EXPECT_EQ(ParseHold("all"), kHoldAll);
  EXPECT_FALSE(ParseHold("most").has_value());
}

TEST(PeerSessionTest, ClaimsWhatItsResourceMessageHolds) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  p.OnMessage(From({{"t", "status"}, {"st", "active"}}), absl::Now(), &out);
  EXPECT_TRUE(p.heard());
  EXPECT_EQ(p.status(), "active");
  EXPECT_TRUE(Claims(p).empty());
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "all"}, {"isstable", "1"}}), absl::Now(), &out);
  EXPECT_EQ(Claims(p), (std::set<std::string>{"db", "web"}));
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "local"}, {"isstable", "1"}}), absl::Now(),
              &out);
  EXPECT_EQ(Claims(p), std::set<std::string>{"web"});
  EXPECT_TRUE(out.empty()) << Summary(out)[0];
  p.OnPeerDead();
  EXPECT_TRUE(Claims(p).empty());
}

TEST(PeerSessionTest, AnswersStartingWithWhatWeHold) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  p.OnMessage(From({{"t", "status"}, {"st", "up"}}), absl::Now(), &out);
  p.Tick({{"db", "web"}, false, {}}, &out);
  ASSERT_EQ(Summary(out), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1"});
  out.clear();
  p.OnMessage(From({{"t", "starting"}}), absl::Now(), &out);
  EXPECT_EQ(Summary(out), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1"});
  out.clear();
  EXPECT_TRUE(p.TakeStarting(&out));
  EXPECT_EQ(Summary(out), (std::vector<std::string>{"t=starting",
                                                    "t=resource rsc_hold=all rtype=full isstable=1"}));
  EXPECT_FALSE(p.TakeStarting(&out));
}

// hb_standby on node01 (captured): me, other, node01's release, done,
// node02 takes, node02 says done.
TEST(PeerSessionTest, StandbyOnTheHeartbeatNodeHandsItsGroupsHere) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "all"}, {"isstable", "1"}}), absl::Now(), &out);
  p.Tick({{}, false, {}}, &out);
  out.clear();
  p.OnMessage(From({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}}), absl::Now(),
              &out);
  EXPECT_EQ(Summary(out), std::vector<std::string>{"t=ask_resources rsc_hold=all info=other"});
  wire::v1::Heartbeat hb;
  p.FillHeartbeat(&hb);
  ASSERT_EQ(hb.placements_size(), 2);
  for (const auto& pl : hb.placements()) EXPECT_EQ(pl.node(), "node02");
  // It announces the release before it stops: still claimed until done.
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "none"}, {"isstable", "0"}, {"info", "standby"}}),
              absl::Now(), &out);
  EXPECT_EQ(Claims(p), (std::set<std::string>{"db", "web"}));
  p.OnMessage(From({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "done"}}), absl::Now(),
              &out);
  EXPECT_TRUE(Claims(p).empty());
  out.clear();
  p.Tick({{"db", "web"}, true, {}}, &out);  // starting them
  EXPECT_EQ(Summary(out), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=0"});
  out.clear();
  p.Tick({{"db", "web"}, false, {}}, &out);  // running
  EXPECT_EQ(Summary(out), (std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1",
                                                    "t=resource rsc_hold=all rtype=full isstable=1",
                                                    "t=ask_resources rsc_hold=all info=done"}));
}

// hacli standby here, or failback to the returning Heartbeat node.
TEST(PeerSessionTest, AMoveToTheHeartbeatNodeRunsTheHandOverAsGiver) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "none"}, {"isstable", "1"}}), absl::Now(),
              &out);
  p.Tick({{"db", "web"}, false, {}}, &out);
  out.clear();
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "none"}, {"isstable", "1"}}), absl::Now(), &out);
  p.Tick({{"db", "web"}, false, {"web"}}, &out);
  EXPECT_EQ(Summary(out), std::vector<std::string>{"t=ask_resources rsc_hold=foreign info=me"});
  wire::v1::Heartbeat hb;
  p.FillHeartbeat(&hb);
  EXPECT_EQ(hb.awaiting_size(), 0);
  p.OnMessage(From({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "other"}}),
              absl::Now(), &out);
  p.FillHeartbeat(&hb);
  ASSERT_EQ(hb.awaiting_size(), 1);
  EXPECT_EQ(hb.awaiting(0), "web");
  out.clear();
  p.Tick({{"db", "web"}, true, {"web"}}, &out);  // stopping web
  EXPECT_EQ(Summary(out), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=0"});
  out.clear();
  p.Tick({{"db"}, false, {}}, &out);  // stopped
  EXPECT_EQ(Summary(out),
            (std::vector<std::string>{"t=resource rsc_hold=local rtype=full isstable=1 info=standby",
                                      "t=ask_resources rsc_hold=foreign info=done"}));
}

TEST(PeerSessionTest, TakeoverRequestBecomesPlacementsToThePeer) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  p.OnMessage(From({{"t", "hb_takeover"}, {"rsc_hold", "all"}}), absl::Now(), &out);
  wire::v1::Heartbeat hb;
  p.FillHeartbeat(&hb);
  ASSERT_EQ(hb.placements_size(), 2);
  for (const auto& pl : hb.placements()) {
    EXPECT_EQ(pl.node(), "node01");
    EXPECT_EQ(pl.requested_by(), "node01");
  }
}

TEST(PeerSessionTest, AGapAsksForRetransmissionOnceAndReqnodesIsAnswered) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  Received a = From({{"t", "status"}, {"st", "up"}});
  a.seq = 10;
  a.message.AddTyped(FieldType::kBinary, "srcuuid", std::string(16, 'u'));
  p.OnMessage(a, absl::Now(), &out);
  Received b = From({{"t", "status"}, {"st", "up"}});
  b.seq = 14;
  p.OnMessage(b, absl::Now(), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].sequenced);
  EXPECT_EQ(out[0].body.DebugString(),
            "t=NS_rexmit firstseq=11 lastseq=13 dest=node01 destuuid=<16 bytes>");
  EXPECT_EQ(p.contiguous_seq(), 14u);
  out.clear();
  Received req = From({{"t", "reqnodes"}, {"dest", "node02"}});
  req.seq = 15;
  p.OnMessage(req, absl::Now(), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.GetOr("t"), "repnodes");
  EXPECT_EQ(out[0].body.GetOr("nodelist"), "node01 node02 ");
  out.clear();
  // Addressed to another node: not ours to answer.
  Received other = From({{"t", "reqnodes"}, {"dest", "node03"}});
  other.seq = 16;
  p.OnMessage(other, absl::Now(), &out);
  EXPECT_TRUE(out.empty());
}

TEST(PeerSessionTest, ARestartedPeerStartsAfresh) {
  PeerSession p = Session();
  std::vector<Outgoing> out;
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "all"}, {"isstable", "1"}}), absl::Now(), &out);
  EXPECT_TRUE(p.TakeStarting(&out));
  p.OnMessage(From({{"t", "status"}, {"st", "init"}}, 200), absl::Now(), &out);
  EXPECT_TRUE(Claims(p).empty());
  EXPECT_TRUE(p.TakeStarting(&out));
  // A message of the old generation changes nothing.
  p.OnMessage(From({{"t", "resource"}, {"rsc_hold", "all"}, {"isstable", "1"}}, 100), absl::Now(),
              &out);
  EXPECT_TRUE(Claims(p).empty());
}

}  // namespace
}  // namespace hacluster::hb3wire

namespace hacluster::hb3wire {
namespace {

// Heartbeat's auto-failback (foreign) and an hb_standby (all) back to
// back: the first `done` ends only the first hand-over, so what the second
// gives stays claimed until its own `done`.
TEST(PeerSessionInterleavedTest, EachDoneEndsItsOwnHandOver) {
  PeerSession p("node02", "node01", {"db"}, {"web"});
  std::vector<Outgoing> out;
  auto from = [](std::vector<std::pair<std::string, std::string>> fields, uint64_t seq) {
    Received r;
    for (const auto& [n, v] : fields) r.message.Add(n, v);
    r.type = std::string(r.message.GetOr("t"));
    r.node = "node01";
    r.generation = 7;
    r.seq = seq;
    return r;
  };
  auto claims = [&] {
    wire::v1::Heartbeat hb;
    p.FillHeartbeat(&hb);
    std::set<std::string> c;
    for (const auto& g : hb.groups()) c.insert(g.name());
    return c;
  };
  p.OnMessage(from({{"t", "resource"}, {"rsc_hold", "all"}, {"isstable", "1"}}, 1), absl::Now(), &out);
  p.OnMessage(from({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "me"}}, 2),
              absl::Now(), &out);
  p.OnMessage(from({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}}, 3), absl::Now(),
              &out);
  p.OnMessage(from({{"t", "resource"}, {"rsc_hold", "none"}, {"isstable", "0"}}, 4), absl::Now(),
              &out);
  p.OnMessage(from({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "done"}}, 5),
              absl::Now(), &out);
  EXPECT_EQ(claims(), (std::set<std::string>{"db", "web"}));
  p.OnMessage(from({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "done"}}, 6), absl::Now(),
              &out);
  EXPECT_TRUE(claims().empty());
  out.clear();
  p.Tick({{"db", "web"}, false, {}, {}, absl::Now()}, &out);
  std::vector<std::string> said;
  for (const Outgoing& o : out) said.push_back(o.body.DebugString());
  EXPECT_EQ(said, (std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1",
                                            "t=resource rsc_hold=all rtype=full isstable=1",
                                            "t=ask_resources rsc_hold=foreign info=done",
                                            "t=resource rsc_hold=all rtype=full isstable=1",
                                            "t=ask_resources rsc_hold=all info=done"}));
}

}  // namespace
}  // namespace hacluster::hb3wire
