#include "agent/config/diagnostics.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hacluster::config {
namespace {

TEST(DiagnosticsTest, FormatLeavesOutUnknownParts) {
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"a.yaml", 3, 7}, "bad"}),
            "a.yaml:3:7: error: bad");
  EXPECT_EQ(FormatDiagnostic({Severity::kWarning, {"ha.cf", 12, 0}, "late"}),
            "ha.cf:12: warning: late");
  EXPECT_EQ(FormatDiagnostic({Severity::kError, {"authkeys", 0, 0}, "mode"}),
            "authkeys: error: mode");
  EXPECT_TRUE(HasErrors({{Severity::kWarning, {}, "w"}, {Severity::kError, {}, "e"}}));
  EXPECT_FALSE(HasErrors({{Severity::kWarning, {}, "w"}}));
}

TEST(SourceMapTest, FindFallsBackToNearestRecordedAncestor) {
  SourceMap map("spec.yaml");
  map.Set("groups[0]", {"spec.yaml", 10, 5});
  map.Set("groups[0].resources[1].ip.address", {"spec.yaml", 14, 20});
  EXPECT_EQ(map.Find("groups[0].resources[1].ip.address"), (Location{"spec.yaml", 14, 20}));
  EXPECT_EQ(map.Find("groups[0].resources[1].ip.prefix_length"), (Location{"spec.yaml", 10, 5}));
  EXPECT_EQ(map.Find("groups[0].resources[2]"), (Location{"spec.yaml", 10, 5}));
  EXPECT_EQ(map.Find("timing.deadtime"), (Location{"spec.yaml", 0, 0}));
  EXPECT_TRUE(map.Has("groups[0]"));
  EXPECT_FALSE(map.Has("groups"));
}

TEST(ClosestMatchTest, SuggestsTyposIncludingSwappedLetters) {
  std::vector<std::string> keys = {"name", "addresses", "labels"};
  EXPECT_EQ(ClosestMatch("nmae", keys), "name");
  EXPECT_EQ(ClosestMatch("adresses", keys), "addresses");
  EXPECT_EQ(ClosestMatch("LABELS", keys), "labels");
  EXPECT_EQ(ClosestMatch("keepalive", keys), "");
  EXPECT_EQ(ClosestMatch("x", {}), "");
}

TEST(ClosestMatchTest, SkipsCandidatesWhoseLengthAloneRulesThemOut) {
  std::vector<std::string> keys = {"node", "keepalive", "deadtime", "warntime", "initdead"};
  size_t computations = 0;
  // Distance at most 1 for a 3-letter word: only "node" (length 4) is close
  // enough in length to be compared.
  EXPECT_EQ(ClosestMatch("nod", keys, &computations), "node");
  EXPECT_EQ(computations, 1u);
  computations = 0;
  EXPECT_EQ(ClosestMatch(std::string(4000, 'x'), keys, &computations), "");
  EXPECT_EQ(computations, 0u);
  // "deadtim" (bound 2): "node" is 3 letters shorter, skipped; "keepalive"
  // has 7 letters that "deadtim" has not or the other way round (k, p, l, v,
  // d, t, m), so at least 4 edits: skipped; "deadtime" is at distance 1, and
  // after it a candidate one letter longer ("warntime", "initdead") cannot
  // be closer: skipped.
  computations = 0;
  EXPECT_EQ(ClosestMatch("deadtim", keys, &computations), "deadtime");
  EXPECT_EQ(computations, 1u);
  // Same length, same letters: computed.
  computations = 0;
  EXPECT_EQ(ClosestMatch("Daedtime", keys, &computations), "deadtime");
  EXPECT_EQ(computations, 1u);
  // Candidates longer than the stack rows are compared too.
  std::string long_name(100, 'a');
  std::string typo = long_name;
  typo[50] = 'b';
  EXPECT_EQ(ClosestMatch(typo, {long_name}), long_name);
}

TEST(ClosestMatchTest, StopsEarlyGivesTheSameAnswerAsAFullComputation) {
  // Pairs whose distance is just inside or just outside the bound.
  std::vector<std::string> keys = {"auto_failback", "nice_failback", "ping_group"};
  EXPECT_EQ(ClosestMatch("auto_fialback", keys), "auto_failback");  // a swap: 1
  EXPECT_EQ(ClosestMatch("autofailbak", keys), "auto_failback");    // 2 edits
  EXPECT_EQ(ClosestMatch("xxxxx_failback", keys), "");               // 5 edits, bound 4
  EXPECT_EQ(ClosestMatch("pnig_gruop", keys), "ping_group");        // two swaps
}

// The plain computation the pruned one must agree with: full optimal
// string alignment distance, no bounds, no early exit.
size_t ReferenceDistance(const std::string& a, const std::string& b) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string ReferenceClosest(const std::string& word, const std::vector<std::string>& cs) {
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (const std::string& c : cs) {
    size_t d = ReferenceDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

TEST(ClosestMatchTest, PruningNeverChangesTheAnswer) {
  const std::vector<std::string> names = {
      "node",        "keepalive",  "deadtime",   "warntime",   "initdead",  "deadping",
      "udpport",     "ucast",      "bcast",      "mcast",      "mcast6",    "serial",
      "baud",        "auto_failback", "nice_failback", "ping", "ping_group", "respawn",
      "watchdog",    "logfile",    "debugfile",  "logfacility", "use_logd", "apiauth",
      "hopfudge",    "crm",        "pacemaker",  "stonith",    "stonith_host", "Node-01.Example"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(0, names.size() - 1);
  std::uniform_int_distribution<int> edits(0, 4);
  std::uniform_int_distribution<int> kind(0, 3);
  const std::string alphabet = "abcdeilnoprstuw_6-.AEN";
  std::uniform_int_distribution<size_t> letter(0, alphabet.size() - 1);
  int suggested = 0;
  for (int n = 0; n < 20000; ++n) {
    // A name with a few random edits: near misses, exact hits and far ones.
    std::string w = names[pick(rng)];
    for (int e = edits(rng); e > 0; --e) {
      size_t at = w.empty() ? 0 : rng() % w.size();
      switch (kind(rng)) {
        case 0: w.insert(w.begin() + at, alphabet[letter(rng)]); break;
        case 1: if (!w.empty()) w.erase(w.begin() + at); break;
        case 2: if (!w.empty()) w[at] = alphabet[letter(rng)]; break;
        default: if (at + 1 < w.size()) std::swap(w[at], w[at + 1]); break;
      }
    }
    std::string want = ReferenceClosest(w, names);
    ASSERT_EQ(ClosestMatch(w, names), want) << "word '" << w << "'";
    suggested += !want.empty();
  }
  EXPECT_GT(suggested, 5000);  // the words exercised both outcomes
  EXPECT_LT(suggested, 20000);
}

TEST(SuggestionBudgetTest, SearchesUpToItsLimitThenSaysSoOnce) {
  std::vector<std::string> keys = {"name", "addresses", "labels"};
  SuggestionBudget budget(3);
  EXPECT_EQ(budget.Closest("nmae", keys), "name");
  EXPECT_EQ(budget.RanOutNotice(), "");
  EXPECT_EQ(budget.Closest("lables", keys), "labels");
  EXPECT_EQ(budget.Closest("zzzz", keys), "");
  EXPECT_TRUE(!budget.has_searches_left());
  EXPECT_EQ(budget.RanOutNotice(), "");  // nothing refused yet
  size_t work = budget.computations();
  EXPECT_GT(work, 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(budget.Closest("nmae", keys), "");
  EXPECT_EQ(budget.searches(), 3);
  EXPECT_EQ(budget.computations(), work);  // refused searches cost nothing
  EXPECT_EQ(budget.RanOutNotice(),
            "more than 3 unknown names in this file: no more 'did you mean' suggestions for "
            "the rest of it");
  EXPECT_EQ(budget.RanOutNotice(), "");
}

}  // namespace
}  // namespace hacluster::config
