// hacli validate and hacli migrate, run in-process on files in a scratch
// directory: what they print about keys the agent does not act on yet.
#include "cli/commands.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/hacli_output.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace hacluster::cli {
namespace {

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) {
    ++n;
  }
  return n;
}

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::string(getenv("TEST_TMPDIR")) + "/cmd-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  // An ha.d whose ha.cf names `nodes` nodes (n1000000, n1000001, ...; 100
  // a line), migrated with -o: the migration must fail. Returns the output
  // path.
  std::string MigrateNodesExpectingFailure(int nodes, std::ostringstream& out,
                                           std::ostringstream& err) {
    std::string legacy = dir_ + "/ha.d";
    EXPECT_EQ(mkdir(legacy.c_str(), 0755), 0);
    std::string ha_cf = "bcast eth0\n";
    for (int line = 0; line * 100 < nodes; ++line) {
      ha_cf += "node";
      for (int i = 0; i < 100; ++i) absl::StrAppend(&ha_cf, " n", line * 100 + i + 1000000);
      ha_cf += "\n";
    }
    Write("ha.d/ha.cf", ha_cf);
    Write("ha.d/haresources", "n1000000 192.0.2.100 httpd\n");
    Write("ha.d/authkeys", "auth 1\n1 sha1 3c6e0b8a9c15224a8228b9a98ca1531d\n", 0600);
    MigrateArgs args;
    args.from = legacy;
    args.output = dir_ + "/cluster.yaml";
    EXPECT_EQ(RunMigrate(args, out, err), kExitFailed) << err.str();
    return args.output;
  }
  static void ExpectNothingWritten(const std::string& output, const std::ostringstream& out) {
    struct stat st;
    EXPECT_NE(stat(output.c_str(), &st), 0);
    EXPECT_EQ(out.str(), "");
  }
  std::string Write(const std::string& name, const std::string& contents, mode_t mode = 0644) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

constexpr char kSpec[] = R"yaml(cluster_name: c
nodes:
  - {name: node01, addresses: [192.0.2.11]}
  - {name: node02, addresses: [192.0.2.12]}
media:
  - ucast: {}
auth:
  keys:
    - {id: 1, method: sha256, secret_file: authkey}
)yaml";

TEST_F(CommandsTest, ValidateOfASpecWithoutSuchKeysHasNoWarnings) {
  Write("authkey", "s3cret\n", 0600);
  std::string spec = Write("spec.yaml", kSpec);
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(spec, out, err), kExitOk) << err.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "(0 error(s), 0 warning(s))")) << out.str();
  EXPECT_EQ(err.str(), "");
}

TEST_F(CommandsTest, ValidateTakesRespawnAndWatchdogWithoutWarnings) {
  Write("authkey", "s3cret\n", 0600);
  std::string spec = Write("spec.yaml", absl::StrCat(kSpec, R"yaml(respawn:
  - {user: hacluster, argv: [/usr/lib/heartbeat/ipfail]}
watchdog_device: /dev/watchdog
)yaml"));
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(spec, out, err), kExitOk) << err.str();
  EXPECT_TRUE(absl::StrContains(out.str(), ": valid: cluster c")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "(0 error(s), 0 warning(s))")) << out.str();
  EXPECT_EQ(err.str(), "");
}

TEST_F(CommandsTest, MigrateKeepsRespawnAndWatchdogWithoutWarnings) {
  std::string legacy = dir_ + "/ha.d";
  ASSERT_EQ(mkdir(legacy.c_str(), 0755), 0);
  Write("ha.d/ha.cf",
        "keepalive 1\n"
        "deadtime 10\n"
        "bcast eth0\n"
        "watchdog /dev/watchdog\n"
        "respawn hacluster /usr/local/sbin/mond\n"
        "node node01 node02\n");
  Write("ha.d/haresources", "node01 192.0.2.100 httpd\n");
  Write("ha.d/authkeys", "auth 1\n1 sha1 3c6e0b8a9c15224a8228b9a98ca1531d\n", 0600);
  MigrateArgs args;
  args.from = legacy;
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  const std::string e = err.str();
  EXPECT_FALSE(absl::StrContains(e, "ha.cf:4:")) << e;
  EXPECT_FALSE(absl::StrContains(e, "ha.cf:5:")) << e;
  EXPECT_FALSE(absl::StrContains(e, "not acted on")) << e;
  EXPECT_TRUE(absl::StrContains(out.str(), "watchdog_device: /dev/watchdog")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "/usr/local/sbin/mond")) << out.str();
}

// A spec larger than hacli validate reads (4 MiB) is not written: 250,000
// node names fit in a 2.3 MB ha.cf but not in a 4 MiB spec.
TEST_F(CommandsTest, MigrateRefusesASpecThatValidateWouldRefuseForItsSize) {
  std::ostringstream out, err;
  const std::string output = MigrateNodesExpectingFailure(250000, out, err);
  EXPECT_TRUE(absl::StrContains(err.str(), "bytes, more than the 4 MiB (4194304 bytes) that "
                                           "hacli validate and ha-agent read from a spec file; "
                                           "nothing is written (250000 nodes"))
      << err.str().substr(0, 2000);
  ExpectNothingWritten(output, out);
}

// Within 4 MiB but with more values than a spec may hold (40,000 nodes,
// three values each): hacli validate would stop reading it, so it is not
// written either.
TEST_F(CommandsTest, MigrateRefusesASpecThatWouldNotReadBack) {
  std::ostringstream out, err;
  const std::string output = MigrateNodesExpectingFailure(40000, out, err);
  EXPECT_TRUE(absl::StrContains(err.str(), "the converted spec would not read back (the converted "
                                           "spec:"))
      << err.str().substr(0, 2000);
  EXPECT_TRUE(absl::StrContains(err.str(), "error: more than 100000 values (keys, values, lists "
                                           "and maps): this is not a cluster spec; reading "
                                           "stopped here); nothing is written (40000 nodes"))
      << err.str().substr(0, 2000);
  ExpectNothingWritten(output, out);
}

// --- -o json: one object on stdout, the same exit status ---

template <typename Message>
Message Parse(const std::string& json) {
  Message m;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &m).ok()) << json;
  return m;
}

TEST_F(CommandsTest, ValidateJsonOfAValidSpecSaysWhatItHolds) {
  Write("authkey", "s3cret\n", 0600);
  std::string spec = Write("spec.yaml", kSpec);
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(spec, out, err, OutputFormat::kJson), kExitOk) << err.str();
  auto v = Parse<hacli::v1::ValidateOutput>(out.str());
  EXPECT_EQ(v.file(), spec);
  EXPECT_TRUE(v.valid());
  EXPECT_EQ(v.cluster_name(), "c");
  EXPECT_EQ(v.nodes(), 2);
  EXPECT_EQ(v.errors(), 0);
  // Every field is there, an empty list too.
  EXPECT_TRUE(absl::StrContains(out.str(), "\"diagnostics\": []")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "\"groups\": 0")) << out.str();
}

TEST_F(CommandsTest, ValidateJsonOfAnInvalidSpecListsEachProblemWithItsPlace) {
  Write("authkey", "s3cret\n", 0600);
  std::string spec = Write("spec.yaml", absl::StrCat(kSpec, "timming:\n  keepalive: 1s\n"));
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate(spec, out, err, OutputFormat::kJson), kExitFailed);
  auto v = Parse<hacli::v1::ValidateOutput>(out.str());
  EXPECT_FALSE(v.valid());
  EXPECT_EQ(v.cluster_name(), "");
  ASSERT_GE(v.diagnostics_size(), 1);
  EXPECT_EQ(v.errors(), v.diagnostics_size() - v.warnings());
  const hacli::v1::Diagnostic& d = v.diagnostics(0);
  EXPECT_EQ(d.file(), spec);
  EXPECT_EQ(d.line(), 10);
  EXPECT_EQ(d.column(), 1);
  EXPECT_EQ(d.severity(), "error");
  EXPECT_TRUE(absl::StrContains(d.message(), "timing")) << d.message();
  // stderr is as without -o json.
  EXPECT_TRUE(absl::StrContains(err.str(), spec + ":10:1: error:")) << err.str();
}

class MigrateJsonTest : public CommandsTest {
 protected:
  std::string LegacyDir() {
    std::string legacy = dir_ + "/ha.d";
    EXPECT_EQ(mkdir(legacy.c_str(), 0755), 0);
    Write("ha.d/ha.cf",
          "keepalive 1\n"
          "deadtime 10\n"
          "bcast eth0\n"
          "watchdog /dev/watchdog\n"
          "node node01 node02\n");
    Write("ha.d/haresources", "node01 192.0.2.100 httpd\n");
    Write("ha.d/authkeys", "auth 1\n1 sha1 s3cret\n", 0600);
    return legacy;
  }
};

TEST_F(MigrateJsonTest, ToStdoutTheYamlAndTheWarningsAreInTheObject) {
  MigrateArgs args;
  args.from = LegacyDir();
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  auto m = Parse<hacli::v1::MigrateOutput>(out.str());
  EXPECT_TRUE(m.valid());
  EXPECT_TRUE(absl::StrContains(m.yaml(), "watchdog_device: /dev/watchdog")) << m.yaml();
  EXPECT_TRUE(m.written().empty());
  ASSERT_GE(m.warnings(), 1);
  // The warnings (here: the weak secret at authkeys line 2) with their places.
  bool secret = false;
  for (const hacli::v1::Diagnostic& d : m.diagnostics()) {
    if (d.file() == args.from + "/authkeys" && d.line() == 2 && d.severity() == "warning") {
      secret = true;
    }
  }
  EXPECT_TRUE(secret) << out.str();
}

TEST_F(MigrateJsonTest, ToFilesTheObjectNamesEachFileWritten) {
  MigrateArgs args;
  args.from = LegacyDir();
  args.output = dir_ + "/cluster.yaml";
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  ASSERT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  auto m = Parse<hacli::v1::MigrateOutput>(out.str());
  EXPECT_EQ(m.yaml(), "");
  ASSERT_EQ(m.written_size(), 2);
  EXPECT_EQ(m.written(0), dir_ + "/cluster.authkey1");
  EXPECT_EQ(m.written(1), args.output);

  MigrateArgs back;
  back.to_legacy = args.output;
  back.node = "node02";
  back.output = dir_ + "/back";
  back.format = OutputFormat::kJson;
  std::ostringstream out2, err2;
  ASSERT_EQ(RunMigrate(back, out2, err2), kExitOk) << err2.str();
  m = Parse<hacli::v1::MigrateOutput>(out2.str());
  EXPECT_TRUE(m.valid());
  EXPECT_EQ(std::vector<std::string>(m.written().begin(), m.written().end()),
            (std::vector<std::string>{back.output + "/ha.cf", back.output + "/haresources",
                                      back.output + "/authkeys"}));
}

// The secret goes to a file of its own beside the spec (mode 0600), named
// by the key, so the spec holds no secret; hacli validate accepts the pair,
// and the way back puts the secret into authkeys again.
TEST_F(MigrateJsonTest, TheSecretGoesToASecretFileBesideTheSpec) {
  MigrateArgs args;
  args.from = LegacyDir();
  args.output = dir_ + "/cluster.yaml";
  std::ostringstream out, err;
  ASSERT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  std::ifstream spec_in(args.output);
  std::string spec((std::istreambuf_iterator<char>(spec_in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(absl::StrContains(spec, "s3cret")) << spec;
  EXPECT_TRUE(absl::StrContains(spec, "secret_file: cluster.authkey1")) << spec;
  std::ifstream key_in(dir_ + "/cluster.authkey1");
  std::string key((std::istreambuf_iterator<char>(key_in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(key, "s3cret\n");
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/cluster.authkey1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(absl::StrContains(err.str(), "wrote " + dir_ + "/cluster.authkey1, " +
                                               args.output))
      << err.str();

  std::ostringstream vout, verr;
  EXPECT_EQ(RunValidate(args.output, vout, verr), kExitOk) << verr.str();

  MigrateArgs back;
  back.to_legacy = args.output;
  back.node = "node01";
  back.output = dir_ + "/back";
  std::ostringstream bout, berr;
  ASSERT_EQ(RunMigrate(back, bout, berr), kExitOk) << berr.str();
  std::ifstream authkeys_in(back.output + "/authkeys");
  std::string authkeys((std::istreambuf_iterator<char>(authkeys_in)),
                       std::istreambuf_iterator<char>());
  EXPECT_EQ(authkeys, "auth 1\n1 sha1 s3cret\n");
}

// A spec that cannot be written leaves no secret file behind either.
TEST_F(MigrateJsonTest, NoSecretFileIsLeftWhenTheSpecCannotBeWritten) {
  MigrateArgs args;
  args.from = LegacyDir();
  args.output = dir_ + "/adir";
  ASSERT_EQ(mkdir(args.output.c_str(), 0755), 0);
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitFailed) << err.str();
  EXPECT_TRUE(absl::StrContains(err.str(), "not a regular file")) << err.str();
  struct stat st;
  EXPECT_NE(stat((dir_ + "/adir.authkey1").c_str(), &st), 0);
}

// To stdout the secret stays inline, and says so; each key's method gets
// the advice to move to sha256; a weak secret is flagged.
TEST_F(MigrateJsonTest, ToStdoutTheSecretStaysInlineAndSha256IsSuggested) {
  MigrateArgs args;
  args.from = LegacyDir();
  std::ostringstream out, err;
  ASSERT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "secret: s3cret")) << out.str();
  EXPECT_TRUE(absl::StrContains(err.str(), "the key secrets stay inline in the spec written "
                                           "to stdout; with -o FILE each goes to a "
                                           "secret_file (mode 0600)"))
      << err.str();
  EXPECT_TRUE(absl::StrContains(err.str(),
                                args.from + "/authkeys:2: warning: key 1 uses sha1 (HMAC-SHA1); "
                                            "the agent's own method is sha256"))
      << err.str();
  EXPECT_TRUE(absl::StrContains(err.str(), args.from + "/authkeys:2: warning: key 1's secret "
                                                       "is only 6 characters long"))
      << err.str();
}

TEST_F(MigrateJsonTest, AnInvalidInputIsNotValidWithItsErrors) {
  MigrateArgs args;
  args.from = dir_ + "/nowhere";
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitFailed);
  auto m = Parse<hacli::v1::MigrateOutput>(out.str());
  EXPECT_FALSE(m.valid());
  EXPECT_GE(m.errors(), 1);
  EXPECT_EQ(m.yaml(), "");
}

TEST_F(MigrateJsonTest, AUsageErrorIsTheErrorObject) {
  MigrateArgs args;
  args.format = OutputFormat::kJson;
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitUsage);
  auto e = Parse<hacli::v1::ErrorOutput>(out.str());
  EXPECT_EQ(e.error().code(), kExitUsage);
  EXPECT_TRUE(absl::StartsWith(e.error().message(), "give exactly one of --from DIR"))
      << e.error().message();
}

TEST_F(MigrateJsonTest, TextOutputIsUnchangedWithoutJson) {
  MigrateArgs args;
  args.from = LegacyDir();
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  EXPECT_TRUE(absl::StartsWith(out.str(), "# Cluster spec")) << out.str();
  EXPECT_TRUE(absl::StrContains(out.str(), "\ncluster_name: ")) << out.str();
}

// --- --rolling: wire: heartbeat3, for a node that joins a Heartbeat peer ---

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The spec written has wire: heartbeat3, and hacli validate (which runs the
// heartbeat3 rules) accepts the file; the key keeps authkeys' sha1, and the
// sha256 advice waits for the switch to the native wire.
TEST_F(MigrateJsonTest, RollingWritesTheHeartbeat3WireAndTheFileValidates) {
  MigrateArgs args;
  args.from = LegacyDir();
  args.output = dir_ + "/cluster.yaml";
  args.rolling = true;
  std::ostringstream out, err;
  ASSERT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  const std::string yaml = ReadAll(args.output);
  EXPECT_TRUE(absl::StrContains(yaml, "\nwire: heartbeat3\n")) << yaml;
  EXPECT_TRUE(absl::StrContains(yaml, "method: sha1")) << yaml;
  EXPECT_TRUE(absl::StrContains(err.str(),
                                args.from + "/authkeys:2: warning: key 1 uses sha1 (HMAC-SHA1); "
                                            "the agent's own method is sha256 (HMAC-SHA256): "
                                            "keep it while the spec has wire: heartbeat3"))
      << err.str();
  std::ostringstream vout, verr;
  EXPECT_EQ(RunValidate(args.output, vout, verr), kExitOk) << verr.str();
  // The same spec with a serial medium added: hacli validate refuses it for
  // the wire, so the rules do run on what --rolling writes.
  std::string with_serial = yaml;
  size_t media = with_serial.find("\nmedia:\n");
  ASSERT_NE(media, std::string::npos) << yaml;
  with_serial.insert(media + 8, "  - serial: {device: /dev/ttyS0}\n");
  std::string bad = Write("serial.yaml", with_serial, 0600);
  std::ostringstream bout, berr;
  EXPECT_EQ(RunValidate(bad, bout, berr), kExitFailed) << berr.str();
  EXPECT_TRUE(absl::StrContains(berr.str(), "a serial medium cannot carry wire: heartbeat3"))
      << berr.str();
}

TEST_F(MigrateJsonTest, WithoutRollingTheSpecHasNoWireKey) {
  MigrateArgs args;
  args.from = LegacyDir();
  std::ostringstream out, err;
  ASSERT_EQ(RunMigrate(args, out, err), kExitOk) << err.str();
  EXPECT_FALSE(absl::StrContains(out.str(), "wire:")) << out.str();
  EXPECT_TRUE(absl::StrContains(err.str(), "once no node will go back to Heartbeat")) << err.str();
}

// What Heartbeat's wire cannot carry is refused at its ha.cf line, and
// nothing is written.
TEST_F(MigrateJsonTest, RollingRefusesEachProblemAtItsLegacyLine) {
  std::string legacy = dir_ + "/ha.d";
  ASSERT_EQ(mkdir(legacy.c_str(), 0755), 0);
  Write("ha.d/ha.cf",
        "bcast eth0\n"
        "node node01 node02\n"
        "ping 192.0.2.1\n"
        "ping_group routers 192.0.2.1 192.0.2.254\n"
        "serial /dev/ttyS0\n"
        "node node03\n");
  Write("ha.d/haresources", "node01 192.0.2.100 httpd\n");
  Write("ha.d/authkeys", "auth 1\n1 md5 3c6e0b8a9c15224a8228b9a98ca1531d\n", 0600);
  MigrateArgs args;
  args.from = legacy;
  args.output = dir_ + "/cluster.yaml";
  args.rolling = true;
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitFailed) << err.str();
  const std::string e = err.str();
  const std::string ha_cf = legacy + "/ha.cf:";
  EXPECT_TRUE(absl::StrContains(e, ha_cf + "3: error: ping 192.0.2.1 cannot be converted with "
                                           "--rolling"))
      << e;
  EXPECT_TRUE(absl::StrContains(e, ha_cf + "4: error: ping_group routers 192.0.2.1 192.0.2.254 "
                                           "cannot be converted with --rolling"))
      << e;
  EXPECT_TRUE(absl::StrContains(e, "after the switch to wire: native")) << e;
  EXPECT_TRUE(absl::StrContains(e, ha_cf + "5: error: serial /dev/ttyS0 cannot be converted "
                                           "with --rolling"))
      << e;
  EXPECT_TRUE(absl::StrContains(e, ha_cf + "6: error: node 'node03' is a third node (ha.cf "
                                           "declares 3)"))
      << e;
  EXPECT_TRUE(absl::StrContains(e, "not converted: 4 error(s)")) << e;
  ExpectNothingWritten(args.output, out);
  // Without --rolling the same directory converts.
  args.rolling = false;
  std::ostringstream out2, err2;
  EXPECT_EQ(RunMigrate(args, out2, err2), kExitOk) << err2.str();
}

TEST_F(MigrateJsonTest, RollingGoesWithFromOnly) {
  MigrateArgs args;
  args.to_legacy = dir_ + "/cluster.yaml";
  args.node = "node01";
  args.output = dir_ + "/back";
  args.rolling = true;
  std::ostringstream out, err;
  EXPECT_EQ(RunMigrate(args, out, err), kExitUsage);
  EXPECT_TRUE(absl::StrContains(err.str(), "--rolling go with --from, not --to-legacy"))
      << err.str();
}

}  // namespace
}  // namespace hacluster::cli
