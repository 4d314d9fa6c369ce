#include "agent/hb3wire/peer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hacluster::hb3wire {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1796560000);

// node02 runs ha-agent; node01 is the peer. "web" prefers node01, "db"
// prefers node02.
class PeerSessionTest : public ::testing::Test {
 protected:
  // The peer's next message (its seq follows the last one unless given).
  Received From(std::vector<std::pair<std::string, std::string>> fields, uint64_t gen = 100,
                uint64_t seq = 0) {
    Received r;
    for (const auto& [n, v] : fields) r.message.Add(n, v);
    r.type = std::string(r.message.GetOr("t"));
    r.node = "node01";
    r.generation = gen;
    r.seq = seq != 0 ? seq : ++seq_;
    if (seq != 0) seq_ = std::max(seq_, seq);
    return r;
  }
  void Send(std::vector<std::pair<std::string, std::string>> fields, uint64_t gen = 100) {
    p_.OnMessage(From(std::move(fields), gen), now_, &out_);
  }
  void Tick(std::set<std::string> claimed, bool busy = false, std::set<std::string> moving = {},
            std::set<std::string> awaiting = {}) {
    p_.Tick({std::move(claimed), busy, std::move(moving), std::move(awaiting), now_}, &out_);
  }
  // What went out since the last call.
  std::vector<std::string> Said() {
    std::vector<std::string> s;
    for (const Outgoing& o : out_) s.push_back(o.body.DebugString());
    out_.clear();
    return s;
  }
  std::set<std::string> Claims(wire::v1::GroupClaim::Phase phase = wire::v1::GroupClaim::PHASE_HELD) {
    wire::v1::Heartbeat hb;
    p_.FillHeartbeat(&hb);
    std::set<std::string> c;
    for (const auto& g : hb.groups()) {
      if (g.phase() == phase) c.insert(g.name());
    }
    return c;
  }
  // The peer holds `hold`, both sides stable, as after the start-up.
  void Settled(const std::string& hold, std::set<std::string> ours) {
    Send({{"t", "status"}, {"st", "active"}, {"protocol", "1"}});
    Send({{"t", "resource"}, {"rsc_hold", hold}, {"rtype", "full"}, {"isstable", "1"}});
    Tick(std::move(ours));
    Said();
  }

  PeerSession p_{"node02", "node01", {"db"}, {"web"}};
  std::vector<Outgoing> out_;
  absl::Time now_ = kT0;
  uint64_t seq_ = 0;
};

TEST_F(PeerSessionTest, HoldsReadFromEitherSide) {
  EXPECT_EQ(p_.GroupsOf(kHoldLocal, false), std::set<std::string>{"web"});
  EXPECT_EQ(p_.GroupsOf(kHoldForeign, false), std::set<std::string>{"db"});
  EXPECT_EQ(p_.GroupsOf(kHoldLocal, true), std::set<std::string>{"db"});
  EXPECT_EQ(p_.HoldOf({"web", "db"}, true), kHoldAll);
  EXPECT_EQ(p_.HoldOf({"web"}, true), kHoldForeign);
  EXPECT_EQ(HoldName(kHoldForeign), "foreign");
  EXPECT_EQ(ParseHold("all"), kHoldAll);
  EXPECT_FALSE(ParseHold("most").has_value());
}

// Until the peer says what it holds, it may hold anything: every group is
// claimed PROBING, so nothing starts here (a Heartbeat that took our group
// while we were down answers our `starting` only a keepalive later).
TEST_F(PeerSessionTest, UntilItSaysWhatItHoldsItClaimsEveryGroupProbing) {
  Send({{"t", "status"}, {"st", "active"}, {"protocol", "1"}});
  EXPECT_TRUE(p_.heard());
  EXPECT_EQ(p_.software(), "Heartbeat 3 (protocol 1)");
  EXPECT_EQ(Claims(wire::v1::GroupClaim::PHASE_PROBING), (std::set<std::string>{"db", "web"}));
  Send({{"t", "resource"}, {"rsc_hold", "local"}, {"rtype", "full"}, {"isstable", "1"}});
  EXPECT_TRUE(Claims(wire::v1::GroupClaim::PHASE_PROBING).empty());
  EXPECT_EQ(Claims(), std::set<std::string>{"web"});
  // mach_down's message has no rtype: it adds to what the peer holds.
  Send({{"t", "resource"}, {"rsc_hold", "foreign"}, {"info", "mach_down"}});
  EXPECT_EQ(Claims(), (std::set<std::string>{"db", "web"}));
  Send({{"t", "resource"}, {"rsc_hold", "none"}, {"rtype", "full"}, {"isstable", "1"}});
  EXPECT_TRUE(Claims().empty());
  p_.OnPeerDead();
  EXPECT_TRUE(Claims(wire::v1::GroupClaim::PHASE_PROBING).empty());
}

TEST_F(PeerSessionTest, AnswersStartingWithWhatWeHoldAndSaysStartingOnce) {
  Send({{"t", "status"}, {"st", "up"}});
  Tick({"db", "web"});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1"});
  Send({{"t", "starting"}});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1"});
  EXPECT_TRUE(p_.TakeStarting(&out_));
  EXPECT_EQ(Said(), (std::vector<std::string>{"t=starting",
                                              "t=resource rsc_hold=all rtype=full isstable=1"}));
  EXPECT_FALSE(p_.TakeStarting(&out_));
}

// hb_standby on node01 (captured): me, other, the release announced, done,
// node02 takes, node02 says what it holds and done.
TEST_F(PeerSessionTest, StandbyOnTheHeartbeatNodeHandsItsGroupsHere) {
  Settled("all", {});
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=all info=other"});
  wire::v1::Heartbeat hb;
  p_.FillHeartbeat(&hb);
  ASSERT_EQ(hb.placements_size(), 2);
  for (const auto& pl : hb.placements()) EXPECT_EQ(pl.node(), "node02");
  // It announces the release before it stops: still claimed until done.
  Send({{"t", "resource"}, {"rsc_hold", "none"}, {"rtype", "full"}, {"isstable", "0"},
        {"info", "standby"}});
  EXPECT_EQ(Claims(), (std::set<std::string>{"db", "web"}));
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "done"}});
  EXPECT_TRUE(Claims().empty());
  Tick({"db", "web"}, /*busy=*/true);  // starting them
  EXPECT_EQ(Said(), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=0"});
  Tick({"db", "web"});  // running
  EXPECT_EQ(Said(), (std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=1",
                                              "t=resource rsc_hold=all rtype=full isstable=1",
                                              "t=ask_resources rsc_hold=all info=done"}));
}

// Heartbeat answers a hand-over only while both sides are stable and none
// runs; one it ignores must not be taken for real here.
TEST_F(PeerSessionTest, AMeIsIgnoredWhileEitherSideIsBusyOrOneRuns) {
  Settled("all", {});
  Tick({"db"}, /*busy=*/true);  // we announce isstable=0
  Said();
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}});
  EXPECT_TRUE(Said().empty());
  wire::v1::Heartbeat hb;
  p_.FillHeartbeat(&hb);
  EXPECT_EQ(hb.placements_size(), 0);
  Tick({});
  Said();
  Send({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "me"}});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=foreign info=other"});
  // A second one while that runs: ignored, as Heartbeat does.
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}});
  EXPECT_TRUE(Said().empty());
  // The done of another hold does not end the running one.
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "done"}});
  Send({{"t", "resource"}, {"rsc_hold", "local"}, {"rtype", "full"}, {"isstable", "0"},
        {"info", "standby"}});
  EXPECT_EQ(Claims(), (std::set<std::string>{"db", "web"}));
  Send({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "done"}});
  EXPECT_EQ(Claims(), std::set<std::string>{"web"});
}

// A `me` the peer never follows with its release was ignored by the peer
// itself: after kHandOverAnswer it no longer holds anything here.
TEST_F(PeerSessionTest, AHandOverThePeerDoesNotFollowUpExpires) {
  Settled("local", {});
  Send({{"t", "ask_resources"}, {"rsc_hold", "local"}, {"info", "me"}});
  Said();
  now_ += PeerSession::kHandOverAnswer - absl::Milliseconds(1);
  Tick({});
  Send({{"t", "ask_resources"}, {"rsc_hold", "local"}, {"info", "me"}});
  EXPECT_TRUE(Said().empty()) << "still running";
  now_ += absl::Milliseconds(1);
  Tick({});
  Send({{"t", "ask_resources"}, {"rsc_hold", "local"}, {"info", "me"}});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=local info=other"});
}

// The same message on a second medium (or a retransmission of one already
// used) is used once.
TEST_F(PeerSessionTest, ACopyOfAMessageIsUsedOnce) {
  Settled("all", {});
  Received me = From({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}});
  p_.OnMessage(me, now_, &out_);
  p_.OnMessage(me, now_, &out_);
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=all info=other"});
}

// Messages after a gap wait for the missing ones (asked for at once and
// every kRexmitEvery), then are used in order; a gap that never fills is
// given up after kGapGiveUp. Only what came in order is acknowledged.
TEST_F(PeerSessionTest, AfterAGapMessagesWaitAndAreUsedInOrder) {
  Received status = From({{"t", "status"}, {"st", "up"}}, 100, 10);
  status.message.AddTyped(FieldType::kBinary, "srcuuid", std::string(16, 'u'));
  p_.OnMessage(status, now_, &out_);
  Tick({});
  Said();
  ASSERT_EQ(p_.TakeAck(), std::optional<uint64_t>(10));
  // seq 12 (a release) before seq 11 (what it holds).
  p_.OnMessage(From({{"t", "resource"}, {"rsc_hold", "none"}, {"rtype", "full"},
                     {"isstable", "1"}},
                    100, 12),
               now_, &out_);
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_FALSE(out_[0].sequenced);
  EXPECT_EQ(Said(), std::vector<std::string>{
                        "t=NS_rexmit firstseq=11 lastseq=11 dest=node01 destuuid=<16 bytes>"});
  EXPECT_EQ(p_.contiguous_seq(), 10u);
  EXPECT_FALSE(p_.TakeAck().has_value());
  EXPECT_EQ(Claims(wire::v1::GroupClaim::PHASE_PROBING), (std::set<std::string>{"db", "web"}));
  now_ += PeerSession::kRexmitEvery;
  Tick({});
  EXPECT_EQ(Said(), std::vector<std::string>{
                        "t=NS_rexmit firstseq=11 lastseq=11 dest=node01 destuuid=<16 bytes>"});
  p_.OnMessage(From({{"t", "resource"}, {"rsc_hold", "all"}, {"rtype", "full"}, {"isstable", "1"}},
                    100, 11),
               now_, &out_);
  EXPECT_EQ(p_.contiguous_seq(), 12u);
  EXPECT_TRUE(Claims().empty()) << "seq 12 (none) came after seq 11 (all)";
  EXPECT_EQ(p_.TakeAck(), std::optional<uint64_t>(12));
  // A gap that never fills.
  p_.OnMessage(From({{"t", "resource"}, {"rsc_hold", "local"}, {"rtype", "full"},
                     {"isstable", "1"}},
                    100, 20),
               now_, &out_);
  EXPECT_TRUE(Claims().empty());
  now_ += PeerSession::kGapGiveUp;
  Tick({});
  EXPECT_EQ(Claims(), std::set<std::string>{"web"});
  EXPECT_EQ(p_.contiguous_seq(), 20u);
}

// After our hand-over, the peer's taker `done` is not a hand-over of its
// own: a late copy of it does not end the peer's next one.
TEST_F(PeerSessionTest, AMoveToTheHeartbeatNodeRunsTheHandOverAsGiver) {
  Settled("none", {"db", "web"});
  Tick({"db", "web"}, false, {"web"});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=foreign info=me"});
  wire::v1::Heartbeat hb;
  p_.FillHeartbeat(&hb);
  EXPECT_EQ(hb.awaiting_size(), 0);
  Send({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "other"}});
  p_.FillHeartbeat(&hb);
  ASSERT_EQ(hb.awaiting_size(), 1);
  EXPECT_EQ(hb.awaiting(0), "web");
  Tick({"db", "web"}, /*busy=*/true, {"web"});  // stopping web
  EXPECT_EQ(Said(), std::vector<std::string>{"t=resource rsc_hold=all rtype=full isstable=0"});
  Tick({"db"});  // stopped
  EXPECT_EQ(Said(),
            (std::vector<std::string>{"t=resource rsc_hold=local rtype=full isstable=1 info=standby",
                                      "t=ask_resources rsc_hold=foreign info=done"}));
  // From our done to its own the peer is starting web: it claims it (an
  // operator's takeover here meanwhile must not start it twice).
  EXPECT_EQ(Claims(), std::set<std::string>{"web"});
  // The peer takes: its resource, its taker done.
  Send({{"t", "resource"}, {"rsc_hold", "local"}, {"rtype", "full"}, {"isstable", "1"}});
  Send({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "me"}});  // its own, later
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=foreign info=other"});
  // A late copy of its taker's done (retransmitted after its own `me`):
  // taken as that, not as the end of the new hand-over.
  Send({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "done"}});
  EXPECT_EQ(Claims(), (std::set<std::string>{"db", "web"}))
      << "the peer's own hand-over is not done by its taker's done";
  Send({{"t", "ask_resources"}, {"rsc_hold", "foreign"}, {"info", "done"}});
  EXPECT_EQ(Claims(), std::set<std::string>{"web"});
}

// Our `me` that the peer does not answer is asked again after
// kHandOverAnswer (the hand-off here waits for the answer).
TEST_F(PeerSessionTest, AnUnansweredMeIsAskedAgain) {
  Settled("none", {"db", "web"});
  Tick({"db", "web"}, false, {"web"});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=foreign info=me"});
  now_ += PeerSession::kHandOverAnswer;
  Tick({"db", "web"}, false, {"web"});
  EXPECT_EQ(Said(), std::vector<std::string>{"t=ask_resources rsc_hold=foreign info=me"});
}

// A start that does not come does not keep the peer waiting for our done.
TEST_F(PeerSessionTest, TheTakersDoneGoesOutAlsoWhenAStartFails) {
  Settled("all", {});
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "me"}});
  Send({{"t", "resource"}, {"rsc_hold", "none"}, {"rtype", "full"}, {"isstable", "0"},
        {"info", "standby"}});
  Send({{"t", "ask_resources"}, {"rsc_hold", "all"}, {"info", "done"}});
  Said();
  Tick({"db"});  // web failed to start
  Said();
  now_ += PeerSession::kTakeWait;
  Tick({"db"});
  EXPECT_EQ(Said(), (std::vector<std::string>{"t=resource rsc_hold=local rtype=full isstable=1",
                                              "t=ask_resources rsc_hold=all info=done"}));
}

TEST_F(PeerSessionTest, TakeoverRequestBecomesPlacementsToThePeer) {
  Settled("none", {"db", "web"});
  Send({{"t", "hb_takeover"}, {"rsc_hold", "all"}});
  wire::v1::Heartbeat hb;
  p_.FillHeartbeat(&hb);
  ASSERT_EQ(hb.placements_size(), 2);
  for (const auto& pl : hb.placements()) {
    EXPECT_EQ(pl.node(), "node01");
    EXPECT_EQ(pl.requested_by(), "node01");
  }
}

TEST_F(PeerSessionTest, ReqnodesAddressedHereIsAnswered) {
  Send({{"t", "reqnodes"}, {"dest", "node02"}});
  std::vector<std::string> said = Said();
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0], "dest=node01 t=repnodes nodelist=node01 node02  delnodelist= ");
  Send({{"t", "reqnodes"}, {"dest", "node03"}});
  EXPECT_TRUE(Said().empty());
}

// A restarted Heartbeat takes only its own haresources lines: its old
// requests for ours are replaced by requests for here.
TEST_F(PeerSessionTest, ARestartedPeerStartsAfresh) {
  Settled("all", {});
  Send({{"t", "hb_takeover"}, {"rsc_hold", "all"}});
  EXPECT_TRUE(p_.TakeStarting(&out_));
  Send({{"t", "status"}, {"st", "init"}}, 200);
  EXPECT_EQ(Claims(wire::v1::GroupClaim::PHASE_PROBING), (std::set<std::string>{"db", "web"}));
  EXPECT_TRUE(p_.TakeStarting(&out_));
  wire::v1::Heartbeat hb;
  p_.FillHeartbeat(&hb);
  for (const auto& pl : hb.placements()) {
    EXPECT_EQ(pl.node(), pl.group() == "db" ? "node02" : "node01") << pl.group();
  }
  // A message of the old generation changes nothing.
  Send({{"t", "resource"}, {"rsc_hold", "all"}, {"rtype", "full"}, {"isstable", "1"}}, 100);
  EXPECT_TRUE(Claims().empty());
}

// Heard again after a death in the same generation (a healed partition):
// what it holds is unknown until it says so; both say starting again.
TEST_F(PeerSessionTest, AReturnAfterADeathStartsAfresh) {
  Settled("local", {"db"});
  EXPECT_TRUE(p_.TakeStarting(&out_));
  p_.OnPeerDead();
  EXPECT_FALSE(p_.TakeStarting(&out_)) << "not while it is dead";
  Send({{"t", "status"}, {"st", "active"}});
  EXPECT_EQ(Claims(wire::v1::GroupClaim::PHASE_PROBING), (std::set<std::string>{"db", "web"}));
  EXPECT_TRUE(p_.TakeStarting(&out_));
}

TEST_F(PeerSessionTest, ShutdoneLeavesHoldingNothing) {
  Settled("local", {"db"});
  Send({{"t", "shutdone"}});
  wire::v1::Heartbeat hb;
  p_.FillHeartbeat(&hb);
  EXPECT_TRUE(hb.standby());
  EXPECT_EQ(hb.groups_size(), 0);
}

}  // namespace
}  // namespace hacluster::hb3wire
