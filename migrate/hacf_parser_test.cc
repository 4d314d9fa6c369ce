#include "migrate/hacf_parser.h"

#include "gtest/gtest.h"
#include "migrate/legacy_lines.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

using config::Severity;

TEST(HaCfParserTest, DirectivesWithLinesCommentsAndCase) {
  HaCfParse p = ParseHaCf(
      "# comment\n"
      "\n"
      "KeepAlive 2   # seconds\n"
      "node a b c\n"
      "   # indented comment\n"
      "ucast\teth0 10.0.0.2#glued comment\n",
      "ha.cf");
  ASSERT_TRUE(p.diagnostics.empty()) << config::FormatDiagnostics(p.diagnostics);
  ASSERT_EQ(p.directives.size(), 3u);
  EXPECT_EQ(p.directives[0].name, "keepalive");
  EXPECT_EQ(p.directives[0].args, std::vector<std::string>{"2"});
  EXPECT_EQ(p.directives[0].line, 3);
  EXPECT_EQ(p.directives[1].args, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(p.directives[1].line, 4);
  EXPECT_EQ(p.directives[2].Normalized(), "ucast eth0 10.0.0.2");
  EXPECT_EQ(p.directives[2].line, 6);
}

TEST(HaCfParserTest, ContinuationKeepsStartLine) {
  HaCfParse p = ParseHaCf("node a \\\n  b\nkeepalive 1\n", "ha.cf");
  ASSERT_TRUE(p.diagnostics.empty());
  ASSERT_EQ(p.directives.size(), 2u);
  EXPECT_EQ(p.directives[0].args, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.directives[0].line, 1);
  EXPECT_EQ(p.directives[1].line, 3);
}

TEST(HaCfParserTest, UnknownDirectiveSuggestsClosest) {
  HaCfParse p = ParseHaCf("keepalive 2\nkeepalvie 2\n", "/etc/ha.d/ha.cf");
  EXPECT_EQ(p.directives.size(), 1u);
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "/etc/ha.d/ha.cf", 2,
                            "unknown directive 'keepalvie'; did you mean 'keepalive'?"))
      << config::FormatDiagnostics(p.diagnostics);
}

// A file of junk costs at most SuggestionBudget::kDefaultLimit searches:
// every line is still an error, the first ones with their suggestion, and
// the file says once that suggestions stopped.
TEST(HaCfParserTest, SuggestionsStopAfterTheBudgetAndSaySoOnce) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "keepalvie 2\n";  // each a typo of keepalive
  HaCfParse p = ParseHaCf(text, "ha.cf");
  const int limit = config::SuggestionBudget::kDefaultLimit;
  int suggested = 0;
  int notices = 0;
  int errors = 0;
  for (const config::Diagnostic& d : p.diagnostics) {
    if (d.severity == Severity::kError) {
      ++errors;
      if (d.message.find("did you mean 'keepalive'?") != std::string::npos) {
        ++suggested;
        EXPECT_LE(d.location.line, limit);
      }
    } else if (d.message.find("no more 'did you mean' suggestions") != std::string::npos) {
      ++notices;
      EXPECT_EQ(d.location.line, limit + 1);
    }
  }
  EXPECT_EQ(errors, 500);
  EXPECT_EQ(suggested, limit);
  EXPECT_EQ(notices, 1);
}

// Once more than kMaxErrorsPerFile errors were found the parser stops
// reading: one last error at the first line it did not read.
TEST(HaCfParserTest, ReadingStopsAfterAThousandErrors) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "zzzz\n";
  text += "node a\n";
  HaCfParse p = ParseHaCf(text, "ha.cf");
  EXPECT_EQ(CountSeverity(p.diagnostics, Severity::kError), kMaxErrorsPerFile + 2);
  EXPECT_EQ(config::FormatDiagnostic(p.diagnostics.back()),
            "ha.cf:1002: error: more than 1000 errors: this is not a Heartbeat configuration "
            "file; reading stopped here");
  EXPECT_TRUE(p.directives.empty());  // the node line was not reached
}

TEST(HaCfParserTest, UnknownDirectiveWithoutCloseMatch) {
  HaCfParse p = ParseHaCf("frobnicate yes\n", "ha.cf");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 1,
                            "unknown directive 'frobnicate'; Heartbeat has no such"));
}

TEST(HaCfParserTest, StonithIsAnErrorPointingAtFencing) {
  HaCfParse p = ParseHaCf("node a\nstonith_host * baytech 10.0.0.3 mylogin mysecretpassword\n",
                          "ha.cf");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 2,
                            "directive 'stonith_host' cannot be converted"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 2,
                            "set fencing.command in the spec"));
}

// Tuning of Heartbeat's own process is dropped with a warning; what would
// change the cluster's behaviour (stonith, env) stops the conversion.
TEST(HaCfParserTest, HarmlessTuningIsDroppedOtherUnsupportedDirectivesAreErrors) {
  HaCfParse p = ParseHaCf("debug 1\nrealtime on\ncompression bz2\nenv A=b\n", "ha.cf");
  ASSERT_EQ(CountSeverity(p.diagnostics, Severity::kError), 1);
  ASSERT_EQ(CountSeverity(p.diagnostics, Severity::kWarning), 3);
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "ha.cf", 1,
                            "directive 'debug' is dropped: for debug output set "
                            "logging.debug_file"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "ha.cf", 2,
                            "directive 'realtime' is dropped: the agent sets its own "
                            "scheduling priority"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 4, "'env'"));
  EXPECT_TRUE(p.directives.empty());
}

TEST(HaCfParserTest, UdpIsTheOldNameOfBcast) {
  HaCfParse p = ParseHaCf("udp eth0\n", "ha.cf");
  ASSERT_EQ(p.directives.size(), 1u);
  EXPECT_EQ(p.directives[0].name, "bcast");
  EXPECT_EQ(p.directives[0].args, std::vector<std::string>{"eth0"});
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kWarning, "ha.cf", 1,
                            "'udp' is Heartbeat's old name for bcast"));
}

TEST(HaCfParserTest, WrongArgumentCountShowsUsage) {
  HaCfParse p = ParseHaCf("ucast eth0\nkeepalive\nmcast eth0 225.0.0.1 694 1\n", "ha.cf");
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 1,
                            "ucast takes 2 arguments, not 1; write: ucast INTERFACE ADDRESS"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 2,
                            "keepalive takes 1 argument, not 0"));
  EXPECT_TRUE(HasDiagnostic(p.diagnostics, Severity::kError, "ha.cf", 3,
                            "write: mcast INTERFACE GROUP PORT TTL LOOP"));
  EXPECT_TRUE(p.directives.empty());
}

TEST(HaCfParserTest, BinaryGarbageDoesNotCrash) {
  std::string text("node \0a\x01\xff\n\\\n\\", 13);
  HaCfParse p = ParseHaCf(text, "ha.cf");
  ASSERT_EQ(p.directives.size(), 1u);
  EXPECT_EQ(p.directives[0].name, "node");
}

}  // namespace
}  // namespace hacluster::migrate
