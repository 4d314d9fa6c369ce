// Every seed document's legacy configuration converts to a spec that
// config::ValidateSpec accepts, and the warnings it raises come out at the
// legacy FILE:LINE through the converter's SourceMap.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "agent/config/validate.h"
#include "gtest/gtest.h"
#include "migrate/migrate.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

namespace fs = std::filesystem;
using config::Severity;

// Converts and validates; returns converter and validator diagnostics.
std::vector<config::Diagnostic> ConvertAndValidate(const std::string& dir,
                                                   const MigrateOptions& options = {}) {
  MigrateResult r = MigrateFromDir(dir, options);
  EXPECT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  std::vector<config::Diagnostic> all = r.diagnostics;
  config::ValidateOptions vo;
  vo.check_files = false;
  for (config::Diagnostic& d : config::ValidateSpec(r.spec, r.source_map, vo)) {
    all.push_back(std::move(d));
  }
  return all;
}

TEST(SeedsTest, EveryConvertibleSeedValidates) {
  for (const char* name : {"seed000_mor", "seed001_linuxha", "seed002_arch",
                           "seed003_asterisk_nocrm", "seed004_mysql_drbd"}) {
    SCOPED_TRACE(name);
    std::vector<config::Diagnostic> ds = ConvertAndValidate(Fixture(name));
    EXPECT_EQ(CountSeverity(ds, Severity::kError), 0) << config::FormatDiagnostics(ds);
  }
}

TEST(SeedsTest, PeerSeedValidates) {
  std::string dir = Fixture("seed000_mor");
  MigrateOptions o;
  o.peer_dir = dir + "/node02";
  std::vector<config::Diagnostic> ds = ConvertAndValidate(dir + "/node01", o);
  EXPECT_EQ(CountSeverity(ds, Severity::kError), 0) << config::FormatDiagnostics(ds);
}

TEST(SeedsTest, ArchWarntimeAboveDeadtimeWarnsAtHaCfLine) {
  std::string dir = Fixture("seed002_arch");
  std::vector<config::Diagnostic> ds = ConvertAndValidate(dir);
  // ha.cf: "deadtime 5" (line 1), "warntime 10" (line 2).
  EXPECT_TRUE(HasDiagnostic(ds, Severity::kWarning, dir + "/ha.cf", 2,
                            "warntime 10s is longer than deadtime 5s"))
      << config::FormatDiagnostics(ds);
}

// Suspicious but legal settings found by ValidateSpec name the legacy lines.
TEST(SeedsTest, ValidatorWarningsPointAtLegacyLines) {
  LegacyText t;
  t.ha_cf = "node node01 node02\nkeepalive 2\n# close to keepalive:\ndeadtime 3\nbcast eth0\n";
  t.haresources = "node01 203.0.113.4 asterisk\n";
  t.authkeys = "# private cable?\nauth 1\n1 crc\n";
  MigrateResult r = ConvertLegacy(t, {});
  ASSERT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  config::ValidateOptions vo;
  vo.check_files = false;
  std::vector<config::Diagnostic> ds = config::ValidateSpec(r.spec, r.source_map, vo);
  EXPECT_EQ(CountSeverity(ds, Severity::kError), 0) << config::FormatDiagnostics(ds);
  EXPECT_TRUE(HasDiagnostic(ds, Severity::kWarning, "ha.cf", 4,
                            "deadtime 3s is less than twice keepalive 2s"))
      << config::FormatDiagnostics(ds);
  EXPECT_TRUE(HasDiagnostic(ds, Severity::kWarning, "authkeys", 3, "uses crc"))
      << config::FormatDiagnostics(ds);
}

// respawn and watchdog are acted on by the agent: neither the converter
// nor the validator says otherwise, and the spec keeps the watchdog.
TEST(SeedsTest, RespawnAndWatchdogConvertWithoutWarningsThatTheyAreIgnored) {
  std::string dir = Fixture("seed001_linuxha");
  MigrateResult r = MigrateFromDir(dir, {});
  ASSERT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
  config::ValidateOptions vo;
  vo.check_files = false;
  std::vector<config::Diagnostic> all = config::ValidateSpec(r.spec, r.source_map, vo);
  all.insert(all.end(), r.diagnostics.begin(), r.diagnostics.end());
  for (const config::Diagnostic& d : all) {
    EXPECT_EQ(d.message.find("not acted on"), std::string::npos) << config::FormatDiagnostic(d);
  }
  EXPECT_EQ(r.spec.watchdog_device(), "/dev/watchdog");
}

// --rolling: the seeds of two-node pairs on UDP convert to wire: heartbeat3
// and pass its rules; their keys keep Heartbeat's method.
TEST(SeedsTest, RollingPairSeedsPassTheHeartbeat3Rules) {
  MigrateOptions rolling;
  rolling.rolling = true;
  std::string mor = Fixture("seed000_mor", "_rolling");
  MigrateOptions pair = rolling;
  pair.peer_dir = mor + "/node02";
  struct Case {
    std::string dir;
    MigrateOptions options;
  };
  for (const Case& c : {Case{mor, rolling}, Case{mor + "/node01", pair},
                        Case{Fixture("seed002_arch", "_rolling"), rolling}}) {
    SCOPED_TRACE(c.dir);
    MigrateResult r = MigrateFromDir(c.dir, c.options);
    ASSERT_TRUE(r.ok()) << config::FormatDiagnostics(r.diagnostics);
    EXPECT_EQ(r.spec.wire(), spec::v1::WIRE_FORMAT_HEARTBEAT3);
    ASSERT_GT(r.spec.auth().keys_size(), 0);
    EXPECT_NE(r.spec.auth().keys(0).method(), spec::v1::AUTH_METHOD_SHA256);
    config::ValidateOptions vo;
    vo.check_files = false;
    std::vector<config::Diagnostic> ds = config::ValidateSpec(r.spec, r.source_map, vo);
    EXPECT_EQ(CountSeverity(ds, Severity::kError), 0) << config::FormatDiagnostics(ds);
  }
}

// --rolling refuses the seeds' serial, ping and ping_group lines, each at its
// line of the fixture's ha.cf.
TEST(SeedsTest, RollingRefusesWhatHeartbeatsWireCannotCarryAtItsLine) {
  MigrateOptions rolling;
  rolling.rolling = true;
  std::string linuxha = Fixture("seed001_linuxha", "_rolling");
  MigrateResult r = MigrateFromDir(linuxha, rolling);
  const std::string all = config::FormatDiagnostics(r.diagnostics);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, linuxha + "/ha.cf", 2,
                            "serial /dev/ttyS0 cannot be converted with --rolling"))
      << all;
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, linuxha + "/ha.cf", 16,
                            "ping ping1.linux-ha.org ping2.linux-ha.org cannot be converted "
                            "with --rolling"))
      << all;
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, linuxha + "/ha.cf", 17,
                            "ping_group group1 ping1.linux-ha.org ping2.linux-ha.org cannot be "
                            "converted with --rolling"))
      << all;
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 3) << all;
  std::string drbd = Fixture("seed004_mysql_drbd", "_rolling");
  r = MigrateFromDir(drbd, rolling);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, drbd + "/ha.cf", 11,
                            "ping 10.0.0.1 cannot be converted with --rolling"))
      << config::FormatDiagnostics(r.diagnostics);
}

}  // namespace
}  // namespace hacluster::migrate
