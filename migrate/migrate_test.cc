// Converts every fixture under migrate/testdata (the legacy configurations of
// the five seed documents) from a directory, checks its diagnostics, and
// round-trips it: legacy -> spec -> legacy -> spec.
#include "migrate/migrate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "migrate/testing.h"

namespace hacluster::migrate {
namespace {

namespace fs = std::filesystem;
using config::Location;
using config::Severity;

std::string All(const MigrateResult& r) { return config::FormatDiagnostics(r.diagnostics); }

struct Expected {
  std::string file;  // ha.cf, haresources or authkeys
  int line;
  std::string text;
};

struct FixtureCase {
  std::string dir;
  std::vector<Expected> warnings;
};

const std::vector<FixtureCase>& GoodFixtures() {
  static const auto* cases = new std::vector<FixtureCase>{
      {"seed000_mor",
       {{"haresources", 3, "interface 'eth0:0'"},
        {"haresources", 5, "'asterisk' is also in group1 (line 2): each group starts and "
                           "stops it"},
        {"authkeys", 2, "secret is '(stdin)=', the label `openssl md5` prints before the "
                        "digest"},
        {"ha.cf", 8, "the ucast lines name 1 address(es) for 2 nodes"}}},
      {"seed001_linuxha",
       {{"ha.cf", 9, "hopfudge is dropped"},
        {"authkeys", 2, "key 1's secret is 'key-for-sha1-any-text-you-want', the sample of "
                        "Heartbeat's documentation"},
        {"ha.cf", 15, "respawn of ipfail is not converted (nothing in the spec): the agent "
                      "does ipfail's job itself"}}},
      {"seed002_arch",
       {{"ha.cf", 8, "use_logd"},
        {"authkeys", 2, "the sample of Heartbeat's documentation"},
        // Debian's IPaddr (findif) makes 100.200.230.6 a /31: 32 minus its
        // trailing zero bits.
        {"haresources", 1, "'100.200.230.6' in 'IPaddr::100.200.230.1/100.200.230.6' is not "
                           "a netmask (its one bits are not contiguous): Debian's IPaddr "
                           "(resource-agents' findif) takes 32 minus its trailing zero bits, "
                           "/31 here"},
        {"haresources", 1, "'100.200.230.6' in 'IPaddr::100.200.230.0/100.200.230.6' is not "
                           "a netmask"}}},
      {"seed003_asterisk_nocrm",
       {{"ha.cf", 4, "use_logd"},
        {"authkeys", 2, "key 1's secret is 'key-for-md5-any-text-you-want', the sample"}}},
      {"seed004_mysql_drbd",
       {{"ha.cf", 12, "respawn of ipfail is not converted"},
        {"authkeys", 2, "the sample of Heartbeat's documentation"},
        {"ha.cf", 13, "apiauth ipfail is dropped"},
        {"ha.cf", 15, "respawn of dopd is not converted (nothing in the spec): dopd, the "
                      "DRBD outdate-peer daemon"},
        {"ha.cf", 16, "apiauth dopd is dropped"}}},
  };
  return *cases;
}

void ExpectOnly(const MigrateResult& r, const std::string& dir,
                const std::vector<Expected>& warnings) {
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 0) << All(r);
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kWarning),
            static_cast<int>(warnings.size()))
      << All(r);
  for (const Expected& w : warnings) {
    EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kWarning, dir + "/" + w.file, w.line,
                              w.text))
        << w.file << ":" << w.line << " " << w.text << "\n" << All(r);
  }
}

TEST(MigrateFromDirTest, EverySeedFixtureConverts) {
  for (const FixtureCase& c : GoodFixtures()) {
    SCOPED_TRACE(c.dir);
    std::string dir = Fixture(c.dir);
    MigrateResult r = MigrateFromDir(dir, {});
    ExpectOnly(r, dir, c.warnings);
    EXPECT_GE(r.spec.nodes_size(), 2);
    EXPECT_GE(r.spec.media_size(), 1);
    EXPECT_GE(r.spec.groups_size(), 1);
    EXPECT_EQ(r.source_map.file(), dir + "/ha.cf");
  }
}

TEST(MigrateFromDirTest, Seed000MorDetails) {
  std::string dir = Fixture("seed000_mor");
  MigrateResult r = MigrateFromDir(dir, {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.cluster_name(), "node01-node02");
  EXPECT_EQ(r.spec.udp_port(), 496u);
  ASSERT_EQ(r.spec.media_size(), 2);
  EXPECT_EQ(r.spec.media(0).ucast().port(), 0u);
  EXPECT_EQ(r.spec.media(1).ucast().peers(0), "1.1.1.1");
  ASSERT_EQ(r.spec.groups_size(), 3);
  EXPECT_EQ(r.spec.groups(0).resources(0).ip().address(), "203.0.113.4");
  EXPECT_EQ(r.spec.groups(0).resources(1).lsb().name(), "asterisk");
  EXPECT_EQ(r.spec.groups(1).resources(0).ip().interface(), "eth0");
  EXPECT_EQ(r.spec.groups(2).resources(0).ip().prefix_length(), 27u);
  EXPECT_EQ(r.source_map.Find("groups[2].resources[1]"),
            (Location{dir + "/haresources", 5, 0}));
  EXPECT_EQ(r.source_map.Find("timing.deadtime"), (Location{dir + "/ha.cf", 5, 0}));
  EXPECT_EQ(r.spec.auth().keys(0).secret(), "(stdin)=");  // as Heartbeat reads it
}

TEST(MigrateFromDirTest, Seed004MysqlDrbdDetails) {
  std::string dir = Fixture("seed004_mysql_drbd");
  MigrateResult r = MigrateFromDir(dir, {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.timing().keepalive().nanos(), 500000000);
  EXPECT_EQ(r.spec.media(1).mcast().group(), "225.0.0.2");
  EXPECT_EQ(r.spec.auto_failback(), spec::v1::AUTO_FAILBACK_OFF);
  ASSERT_EQ(r.spec.groups_size(), 2);
  EXPECT_EQ(r.spec.groups(0).resources(1).ocf().type(), "Filesystem");
  EXPECT_EQ(r.spec.groups(1).resources(0).ocf().params().at("subject"), "DRBDFailure");
  EXPECT_EQ(r.spec.connectivity().deadping().seconds(), 5);
  // ipfail and dopd (Heartbeat API clients) become nothing in the spec.
  EXPECT_EQ(r.spec.respawn_size(), 0);
}

TEST(MigrateFromDirTest, Seed002ArchNetmaskIsWhatDebiansIPaddrMakesOfIt) {
  std::string dir = Fixture("seed002_arch");
  MigrateResult r = MigrateFromDir(dir, {});
  ASSERT_TRUE(r.ok()) << All(r);
  // 100.200.230.6 has one trailing zero bit: findif gives /31.
  EXPECT_EQ(r.spec.groups(0).resources(0).ip().prefix_length(), 31u);
  EXPECT_EQ(r.spec.groups(0).resources(1).ip().prefix_length(), 31u);
}

TEST(MigrateFromDirTest, Seed003CrmYesIsAnError) {
  std::string dir = Fixture("seed003_asterisk");
  MigrateResult r = MigrateFromDir(dir, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/ha.cf", 13,
                            "crm yes means the resources are in a Heartbeat 2 CIB (cib.xml)"))
      << All(r);
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 1) << All(r);
}

TEST(MigrateFromDirTest, Seed000AsteriskSuffixIsAnError) {
  std::string dir = Fixture("seed000_mor_asterisk_suffix");
  MigrateResult r = MigrateFromDir(dir, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/haresources", 2,
                            "resource 'asterisk/24/eth0' looks like a service name with an "
                            "address suffix; an address suffix belongs to the IP: write "
                            "'192.168.0.179/24/eth0 asterisk'"))
      << All(r);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/haresources", 3,
                            "write '192.168.0.180/24/eth1 asterisk'"));
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 2) << All(r);
}

TEST(MigrateFromDirTest, AuthkeysReadableByOthersIsRefused) {
  std::string dir = Fixture("seed000_mor", "_mode");
  ASSERT_EQ(chmod((dir + "/authkeys").c_str(), 0644), 0);
  MigrateResult r = MigrateFromDir(dir, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(config::FormatDiagnostic(r.diagnostics[0]),
            dir + "/authkeys: error: mode 0644 lets group or others read the key; Heartbeat "
                  "refuses it too: chmod 600 " + dir + "/authkeys");
}

TEST(MigrateFromDirTest, MissingFileIsAnErrorNamingIt) {
  std::string dir = Fixture("seed001_linuxha", "_missing");
  ASSERT_TRUE(fs::remove(dir + "/haresources"));
  MigrateResult r = MigrateFromDir(dir, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/haresources", 0,
                            "cannot read it: No such file or directory"))
      << All(r);
  MigrateResult none = MigrateFromDir(TestTmp() + "/does/not/exist", {});
  EXPECT_EQ(CountSeverity(none.diagnostics, Severity::kError), 3) << All(none);
}

// A FIFO would block open() forever waiting for a writer.
TEST(MigrateFromDirTest, FifoInsteadOfAFileIsRefusedWithoutHanging) {
  std::string dir = Fixture("seed001_linuxha", "_fifo");
  ASSERT_TRUE(fs::remove(dir + "/haresources"));
  ASSERT_EQ(mkfifo((dir + "/haresources").c_str(), 0644), 0);
  alarm(60);  // a regression kills the test instead of hanging it
  MigrateResult r = MigrateFromDir(dir, {});
  alarm(0);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/haresources", 0,
                            "is a FIFO, not a regular file"))
      << All(r);
  EXPECT_EQ(CountSeverity(r.diagnostics, Severity::kError), 1) << All(r);
}

TEST(MigrateFromDirTest, DirectoryInsteadOfAFileIsRefused) {
  std::string dir = Fixture("seed001_linuxha", "_dirfile");
  ASSERT_TRUE(fs::remove(dir + "/ha.cf"));
  fs::create_directories(dir + "/ha.cf");
  MigrateResult r = MigrateFromDir(dir, {});
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/ha.cf", 0,
                            "is a directory, not a regular file"))
      << All(r);
}

TEST(MigrateFromDirTest, ResourceDirScriptsAreHeartbeatScripts) {
  std::string dir = Fixture("seed001_linuxha", "_resource_d");
  fs::create_directories(dir + "/resource.d");
  std::ofstream(dir + "/resource.d/smb") << "#!/bin/sh\n";
  MigrateResult r = MigrateFromDir(dir, {});
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.spec.groups(0).resources(1).lsb().name(), "httpd");
  EXPECT_EQ(r.spec.groups(0).resources(2).heartbeat().name(), "smb");
}

TEST(MigrateFromDirTest, PeerDirectoriesDeriveAddresses) {
  std::string dir = Fixture("seed000_mor", "_peer");
  MigrateOptions o;
  o.peer_dir = dir + "/node02";
  MigrateResult r = MigrateFromDir(dir + "/node01", o);
  ASSERT_TRUE(r.ok()) << All(r);
  ASSERT_EQ(r.spec.nodes_size(), 2);
  ASSERT_EQ(r.spec.nodes(0).addresses_size(), 1);
  EXPECT_EQ(r.spec.nodes(0).addresses(0), "192.168.0.131");
  EXPECT_EQ(r.spec.nodes(1).addresses(0), "192.168.0.132");
  ASSERT_EQ(r.spec.media_size(), 1);
  EXPECT_EQ(r.spec.media(0).ucast().interface(), "eth0");
  EXPECT_EQ(r.spec.media(0).ucast().peers_size(), 0);
  EXPECT_EQ(r.source_map.Find("nodes[0].addresses[0]"),
            (Location{dir + "/node02/ha.cf", 8, 0}));
}

TEST(MigrateFromDirTest, PeerWithDifferentHaresourcesIsAnError) {
  std::string dir = Fixture("seed000_mor", "_peerdiff");
  std::ofstream(dir + "/node02/haresources") << "node01 203.0.113.4 asterisk httpd\n";
  MigrateOptions o;
  o.peer_dir = dir + "/node02";
  MigrateResult r = MigrateFromDir(dir + "/node01", o);
  EXPECT_TRUE(HasDiagnostic(r.diagnostics, Severity::kError, dir + "/node01/haresources", 1,
                            "differs from " + dir + "/node02/haresources:1"))
      << All(r);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ino_t Inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

LegacyFiles SomeFiles() {
  LegacyFiles files;
  files.ha_cf = "node a\nnode b\nbcast eth0\n";
  files.haresources = "a 10.0.0.1 httpd\n";
  files.authkeys = "auth 1\n1 sha1 k\n";
  return files;
}

// Existing files are replaced by renaming new ones over them (a crash
// leaves each old or new, never truncated), with the modes set.
TEST(WriteLegacyDirTest, ReplacesExistingFilesAtomically) {
  std::string dir = TestTmp() + "/wld_replace";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* name : {"ha.cf", "haresources", "authkeys"}) {
    std::ofstream(dir + "/" + name) << "old contents, longer than the new ones\n";
    ASSERT_EQ(chmod((dir + "/" + name).c_str(), 0644), 0);
  }
  ino_t old_authkeys = Inode(dir + "/authkeys");
  ino_t old_ha_cf = Inode(dir + "/ha.cf");
  ASSERT_TRUE(WriteLegacyDir(SomeFiles(), dir).ok());
  EXPECT_NE(Inode(dir + "/authkeys"), old_authkeys);
  EXPECT_NE(Inode(dir + "/ha.cf"), old_ha_cf);
  EXPECT_EQ(ReadAll(dir + "/ha.cf"), SomeFiles().ha_cf);
  EXPECT_EQ(ReadAll(dir + "/haresources"), SomeFiles().haresources);
  EXPECT_EQ(ReadAll(dir + "/authkeys"), SomeFiles().authkeys);
  struct stat st;
  ASSERT_EQ(stat((dir + "/authkeys").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir + "/haresources").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename());
  EXPECT_EQ(names, (std::set<std::string>{"authkeys", "ha.cf", "haresources"}));
}

// /etc/ha.d/ha.cf is often a link into a configuration repository.
TEST(WriteLegacyDirTest, SymbolicLinkIsWrittenThrough) {
  std::string dir = TestTmp() + "/wld_link";
  fs::remove_all(dir);
  fs::create_directories(dir + "/ha.d");
  fs::create_directories(dir + "/repo");
  std::ofstream(dir + "/repo/ha.cf") << "old\n";
  fs::create_symlink("../repo/ha.cf", dir + "/ha.d/ha.cf");
  absl::Status s = WriteLegacyDir(SomeFiles(), dir + "/ha.d");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(fs::is_symlink(dir + "/ha.d/ha.cf"));
  EXPECT_EQ(ReadAll(dir + "/repo/ha.cf"), SomeFiles().ha_cf);
}

TEST(WriteLegacyDirTest, DirectoryInPlaceOfAFileIsAnErrorNamingIt) {
  std::string dir = TestTmp() + "/wld_dir";
  fs::remove_all(dir);
  fs::create_directories(dir + "/haresources");
  absl::Status s = WriteLegacyDir(SomeFiles(), dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), dir + "/haresources exists and is not a regular file; refusing to "
                               "replace it");
  EXPECT_FALSE(fs::exists(dir + "/authkeys"));
}

// legacy -> spec -> SpecToLegacy -> WriteLegacyDir -> MigrateFromDir -> same spec.
TEST(RoundTripTest, EveryFixtureSurvivesLegacySpecLegacySpec) {
  for (const FixtureCase& c : GoodFixtures()) {
    SCOPED_TRACE(c.dir);
    std::string dir = Fixture(c.dir, "_rt");
    MigrateResult first = MigrateFromDir(dir, {});
    ASSERT_TRUE(first.ok()) << All(first);
    for (const auto& node : first.spec.nodes()) {
      absl::StatusOr<LegacyFiles> files = SpecToLegacy(first.spec, node.name());
      ASSERT_TRUE(files.ok()) << files.status();
      std::string out = TestTmp() + "/rt/" + c.dir + "/" + node.name();
      ASSERT_TRUE(WriteLegacyDir(*files, out).ok());
      struct stat st;
      ASSERT_EQ(stat((out + "/authkeys").c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 0777, 0600u);
      MigrateResult second = MigrateFromDir(out, {});
      ASSERT_TRUE(second.ok()) << All(second) << files->ha_cf << files->haresources;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first.spec, second.spec))
          << first.spec.DebugString() << "\nvs\n" << second.spec.DebugString()
          << files->ha_cf << files->haresources;
    }
  }
}

TEST(RoundTripTest, PeerFixtureSurvivesBothNodesFiles) {
  std::string dir = Fixture("seed000_mor", "_rtpeer");
  MigrateOptions o;
  o.peer_dir = dir + "/node02";
  MigrateResult first = MigrateFromDir(dir + "/node01", o);
  ASSERT_TRUE(first.ok()) << All(first);
  std::string out = TestTmp() + "/rtpeer";
  for (const char* node : {"node01", "node02"}) {
    absl::StatusOr<LegacyFiles> files = SpecToLegacy(first.spec, node);
    ASSERT_TRUE(files.ok()) << files.status();
    ASSERT_TRUE(WriteLegacyDir(*files, out + "/" + node).ok());
  }
  std::ifstream in(out + "/node01/ha.cf");
  std::string ha_cf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(ha_cf, "udpport 496\nucast eth0 192.168.0.132\n")) << ha_cf;
  MigrateOptions again;
  again.peer_dir = out + "/node02";
  MigrateResult second = MigrateFromDir(out + "/node01", again);
  ASSERT_TRUE(second.ok()) << All(second);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first.spec, second.spec))
      << first.spec.DebugString() << "\nvs\n" << second.spec.DebugString();
  // Converted the other way round too.
  MigrateOptions reverse;
  reverse.peer_dir = out + "/node01";
  MigrateResult third = MigrateFromDir(out + "/node02", reverse);
  ASSERT_TRUE(third.ok()) << All(third);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first.spec, third.spec));
}

}  // namespace
}  // namespace hacluster::migrate
