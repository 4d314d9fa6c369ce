#include "agent/exec/command.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hacluster::exec {
namespace {

using spec::v1::Resource;
using ::testing::HasSubstr;

std::map<std::string, std::string> EnvMap(const std::vector<std::string>& env) {
  std::map<std::string, std::string> m;
  for (const std::string& e : env) {
    const size_t eq = e.find('=');
    EXPECT_NE(eq, std::string::npos) << e;
    EXPECT_TRUE(m.emplace(e.substr(0, eq), e.substr(eq + 1)).second)
        << "duplicate " << e;
  }
  return m;
}

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(tmp != nullptr ? tmp : "/tmp",
                                     "/command_test.XXXXXX");
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    root_ = templ;
    paths_.init_d = root_ + "/init.d";
    paths_.resource_d = root_ + "/ha.d/resource.d";
    paths_.ocf_root = root_ + "/ocf";
    for (const std::string& d :
         {paths_.init_d, root_ + "/ha.d", paths_.resource_d, paths_.ocf_root,
          paths_.ocf_root + "/resource.d",
          paths_.ocf_root + "/resource.d/heartbeat",
          paths_.ocf_root + "/resource.d/acme"}) {
      ASSERT_EQ(mkdir(d.c_str(), 0755), 0) << d;
    }
  }

  void WriteScript(const std::string& path, mode_t mode = 0755) {
    std::ofstream(path) << "#!/bin/sh\nexit 0\n";
    ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
  }

  std::string root_;
  ScriptPaths paths_;
};

TEST_F(CommandTest, LsbRunsInitScriptWithStartStopStatus) {
  WriteScript(paths_.init_d + "/apache2");
  Resource r;
  r.mutable_lsb()->set_name("apache2");
  const std::string path = paths_.init_d + "/apache2";
  for (auto [op, verb] : {std::pair{Op::kStart, "start"},
                          std::pair{Op::kStop, "stop"},
                          std::pair{Op::kMonitor, "status"}}) {
    absl::StatusOr<Command> c = CommandFor(r, op, paths_);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->argv, (std::vector<std::string>{path, verb}));
    EXPECT_EQ(c->env, (std::vector<std::string>{
                          absl::StrCat("PATH=", kScriptPath)}));
    EXPECT_EQ(c->timeout, absl::Seconds(20));
  }
}

TEST_F(CommandTest, TimeoutsComeFromTheSpecPerOperation) {
  WriteScript(paths_.init_d + "/svc");
  Resource r;
  r.mutable_lsb()->set_name("svc");
  r.mutable_start_timeout()->set_seconds(90);
  r.mutable_stop_timeout()->set_nanos(500000000);
  r.mutable_monitor_timeout()->set_seconds(3);
  EXPECT_EQ(CommandFor(r, Op::kStart, paths_)->timeout, absl::Seconds(90));
  EXPECT_EQ(CommandFor(r, Op::kStop, paths_)->timeout,
            absl::Milliseconds(500));
  EXPECT_EQ(CommandFor(r, Op::kMonitor, paths_)->timeout, absl::Seconds(3));
  r.clear_monitor_timeout();
  EXPECT_EQ(OpTimeout(r, Op::kMonitor), absl::Seconds(20));
}

TEST_F(CommandTest, MissingLsbScriptIsNotFoundNamingThePath) {
  Resource r;
  r.mutable_lsb()->set_name("nosuch");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(paths_.init_d + "/nosuch"));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("No such file or directory"));
}

TEST_F(CommandTest, NonExecutableScriptIsFailedPreconditionNamingThePath) {
  WriteScript(paths_.init_d + "/plain", 0644);
  Resource r;
  r.mutable_lsb()->set_name("plain");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(paths_.init_d + "/plain is not executable"));

  ASSERT_EQ(mkdir((paths_.init_d + "/dir").c_str(), 0755), 0);
  r.mutable_lsb()->set_name("dir");
  c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("is not a regular file"));
}

TEST_F(CommandTest, NamesThatAreNotPlainFileNamesAreRejected) {
  Resource r;
  for (const char* name : {"", "..", "../../bin/sh", "a/b"}) {
    r.mutable_lsb()->set_name(name);
    absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
    ASSERT_FALSE(c.ok()) << name;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST_F(CommandTest, HeartbeatScriptGetsItsArgsInOrderThenTheVerb) {
  WriteScript(paths_.resource_d + "/Filesystem");
  Resource r;
  r.mutable_heartbeat()->set_name("Filesystem");
  r.mutable_heartbeat()->add_args("/dev/sda1");
  r.mutable_heartbeat()->add_args("/data");
  r.mutable_heartbeat()->add_args("ext4");
  const std::string path = paths_.resource_d + "/Filesystem";
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv, (std::vector<std::string>{path, "/dev/sda1", "/data",
                                               "ext4", "start"}));
  EXPECT_EQ(CommandFor(r, Op::kMonitor, paths_)->argv.back(), "status");
  EXPECT_EQ(CommandFor(r, Op::kStop, paths_)->argv.back(), "stop");

  const std::map<std::string, std::string> env = EnvMap(c->env);
  const std::string ha_dir = root_ + "/ha.d";
  EXPECT_EQ(env, (std::map<std::string, std::string>{
                     {"PATH", std::string(kScriptPath)},
                     {"HA_DIR", ha_dir},
                     {"HA_FUNCS", ha_dir + "/shellfuncs"},
                     {"HA_RESOURCEDIR", paths_.resource_d},
                     {"OCF_ROOT", paths_.ocf_root},
                     {"HA_LOGFACILITY", "none"},
                     {"HA_DEBUGLOG", "/dev/null"},
                 }));
}

TEST_F(CommandTest, DefaultPathsGiveHeartbeatItsOwnDirectories) {
  ScriptPaths defaults;
  WriteScript(paths_.resource_d + "/x");
  ScriptPaths p = paths_;
  p.resource_d = defaults.resource_d;
  p.init_d = paths_.resource_d;  // found through the fallback
  Resource r;
  r.mutable_heartbeat()->set_name("x");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, p);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::map<std::string, std::string> env = EnvMap(c->env);
  EXPECT_EQ(env.at("HA_DIR"), "/etc/ha.d");
  EXPECT_EQ(env.at("HA_FUNCS"), "/etc/ha.d/shellfuncs");
  EXPECT_EQ(env.at("HA_RESOURCEDIR"), "/etc/ha.d/resource.d");
}

TEST_F(CommandTest, HeartbeatScriptFallsBackToInitD) {
  WriteScript(paths_.init_d + "/httpd");
  Resource r;
  r.mutable_heartbeat()->set_name("httpd");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv,
            (std::vector<std::string>{paths_.init_d + "/httpd", "start"}));

  // A resource.d entry that is not executable is passed over too, as
  // ResourceManager's [ -f ... -a -x ... ] does.
  WriteScript(paths_.resource_d + "/httpd", 0644);
  c = CommandFor(r, Op::kStop, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv,
            (std::vector<std::string>{paths_.init_d + "/httpd", "stop"}));

  // And resource.d wins once it is.
  ASSERT_EQ(chmod((paths_.resource_d + "/httpd").c_str(), 0755), 0);
  c = CommandFor(r, Op::kStop, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv[0], paths_.resource_d + "/httpd");
}

TEST_F(CommandTest, MissingHeartbeatScriptNamesBothPlaces) {
  Resource r;
  r.mutable_heartbeat()->set_name("Nothing");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(paths_.resource_d + "/Nothing"));
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(paths_.init_d + "/Nothing"));

  WriteScript(paths_.init_d + "/Nothing", 0600);
  c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CommandTest, OcfAgentGetsTheOcfEnvironment) {
  WriteScript(paths_.ocf_root + "/resource.d/heartbeat/Filesystem");
  Resource r;
  r.set_name("data");
  r.mutable_ocf()->set_type("Filesystem");
  (*r.mutable_ocf()->mutable_params())["device"] = "/dev/sdb1";
  (*r.mutable_ocf()->mutable_params())["directory"] = "/srv/data";
  (*r.mutable_ocf()->mutable_params())["options"] = "noatime,a=b c";
  r.mutable_start_timeout()->set_seconds(60);
  const std::string path =
      paths_.ocf_root + "/resource.d/heartbeat/Filesystem";

  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv, (std::vector<std::string>{path, "start"}));
  EXPECT_EQ(c->timeout, absl::Seconds(60));
  EXPECT_EQ(EnvMap(c->env),
            (std::map<std::string, std::string>{
                {"PATH", std::string(kScriptPath)},
                {"OCF_ROOT", paths_.ocf_root},
                {"OCF_RA_VERSION_MAJOR", "1"},
                {"OCF_RA_VERSION_MINOR", "0"},
                {"OCF_RESOURCE_INSTANCE", "data"},
                {"OCF_RESOURCE_TYPE", "Filesystem"},
                {"OCF_RESOURCE_PROVIDER", "heartbeat"},
                {"OCF_RESKEY_device", "/dev/sdb1"},
                {"OCF_RESKEY_directory", "/srv/data"},
                {"OCF_RESKEY_options", "noatime,a=b c"},
                {"OCF_RESKEY_CRM_meta_timeout", "60000"},
                {"OCF_RESKEY_CRM_meta_interval", "0"},
            }));

  c = CommandFor(r, Op::kMonitor, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv, (std::vector<std::string>{path, "monitor"}));
  EXPECT_EQ(EnvMap(c->env).at("OCF_RESKEY_CRM_meta_timeout"), "20000");
}

TEST_F(CommandTest, OcfEnvironmentIsTheSameWhateverTheMapOrder) {
  WriteScript(paths_.ocf_root + "/resource.d/heartbeat/Dummy");
  Resource a;
  a.mutable_ocf()->set_type("Dummy");
  Resource b = a;
  for (int i = 0; i < 20; ++i) {
    (*a.mutable_ocf()->mutable_params())[absl::StrCat("p", i)] = "v";
    (*b.mutable_ocf()->mutable_params())[absl::StrCat("p", 19 - i)] = "v";
  }
  EXPECT_EQ(CommandFor(a, Op::kStart, paths_)->env,
            CommandFor(b, Op::kStart, paths_)->env);
}

TEST_F(CommandTest, OcfInstanceDefaultsToTypeAndProviderIsHonoured) {
  WriteScript(paths_.ocf_root + "/resource.d/acme/Widget");
  Resource r;
  r.mutable_ocf()->set_provider("acme");
  r.mutable_ocf()->set_type("Widget");
  r.mutable_monitor_interval()->set_seconds(10);
  absl::StatusOr<Command> c = CommandFor(r, Op::kMonitor, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->argv[0], paths_.ocf_root + "/resource.d/acme/Widget");
  const std::map<std::string, std::string> env = EnvMap(c->env);
  EXPECT_EQ(env.at("OCF_RESOURCE_INSTANCE"), "Widget");
  EXPECT_EQ(env.at("OCF_RESOURCE_PROVIDER"), "acme");
  EXPECT_EQ(env.at("OCF_RESKEY_CRM_meta_interval"), "10000");
  // The interval is a monitor's only.
  EXPECT_EQ(EnvMap(CommandFor(r, Op::kStart, paths_)->env)
                .at("OCF_RESKEY_CRM_meta_interval"),
            "0");
}

TEST_F(CommandTest, OcfParamOfAMetaNameWins) {
  WriteScript(paths_.ocf_root + "/resource.d/heartbeat/Dummy");
  Resource r;
  r.mutable_ocf()->set_type("Dummy");
  (*r.mutable_ocf()->mutable_params())["CRM_meta_timeout"] = "5";
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(EnvMap(c->env).at("OCF_RESKEY_CRM_meta_timeout"), "5");
}

TEST_F(CommandTest, OcfParamThatCannotBeAnEnvironmentNameIsRejected) {
  WriteScript(paths_.ocf_root + "/resource.d/heartbeat/Dummy");
  Resource r;
  r.mutable_ocf()->set_type("Dummy");
  (*r.mutable_ocf()->mutable_params())["bad-name"] = "x";
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("'bad-name'"));
}

TEST_F(CommandTest, MissingOcfAgentIsNotFoundNamingThePath) {
  Resource r;
  r.mutable_ocf()->set_type("IPaddr9");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(paths_.ocf_root + "/resource.d/heartbeat/IPaddr9"));

  r.mutable_ocf()->set_type("");
  EXPECT_EQ(CommandFor(r, Op::kStart, paths_).status().code(),
            absl::StatusCode::kInvalidArgument);
  r.mutable_ocf()->set_type("Dummy");
  r.mutable_ocf()->set_provider("../..");
  EXPECT_EQ(CommandFor(r, Op::kStart, paths_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CommandTest, IpAndKindlessResourcesHaveNoCommand) {
  Resource r;
  r.set_name("vip");
  r.mutable_ip()->set_address("192.0.2.10");
  absl::StatusOr<Command> c = CommandFor(r, Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("resource vip"));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("natively"));

  c = CommandFor(Resource(), Op::kStart, paths_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("no kind"));
}

// ---- Interpret ----

RunResult Exited(int code, std::string output = "") {
  RunResult r;
  r.started = true;
  r.exit_status = code;
  r.output = std::move(output);
  return r;
}

Resource Ocf() {
  Resource r;
  r.mutable_ocf()->set_type("Dummy");
  return r;
}

Resource Lsb() {
  Resource r;
  r.mutable_lsb()->set_name("svc");
  return r;
}

Resource Heartbeat() {
  Resource r;
  r.mutable_heartbeat()->set_name("IPaddr");
  return r;
}

TEST(InterpretTest, OcfSuccessStartsStopsAndFindsRunning) {
  Outcome o = Interpret(Ocf(), Op::kStart, Exited(0));
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.running);
  EXPECT_EQ(o.message, "started");
  o = Interpret(Ocf(), Op::kStop, Exited(0));
  EXPECT_TRUE(o.ok);
  EXPECT_FALSE(o.running);
  EXPECT_EQ(o.message, "stopped");
  o = Interpret(Ocf(), Op::kMonitor, Exited(0));
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.running);
  EXPECT_EQ(o.message, "running");
}

TEST(InterpretTest, OcfErrorCodesFailStartWithTheirMeaning) {
  const std::vector<std::pair<int, std::string>> codes = {
      {1, "generic error"},    {2, "invalid arguments"},
      {3, "unimplemented"},    {4, "insufficient privileges"},
      {5, "not installed"},    {6, "not configured"},
      {7, "not running"},      {42, ""},
  };
  for (const auto& [code, meaning] : codes) {
    Outcome o = Interpret(Ocf(), Op::kStart, Exited(code, "a\nlast words\n\n"));
    EXPECT_FALSE(o.ok) << code;
    EXPECT_TRUE(o.running) << code;  // a failed start may have left something
    const std::string want =
        meaning.empty()
            ? absl::StrCat("exit status ", code, ": last words")
            : absl::StrCat("exit status ", code, " (", meaning,
                           "): last words");
    EXPECT_EQ(o.message, want);
  }
}

TEST(InterpretTest, OcfMonitorTellsRunningStoppedAndFailed) {
  Outcome o = Interpret(Ocf(), Op::kMonitor, Exited(7));
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(o.running);
  EXPECT_EQ(o.message, "not running");

  o = Interpret(Ocf(), Op::kMonitor, Exited(1, "oops\n"));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.running);
  EXPECT_EQ(o.message, "exit status 1 (generic error): oops");

  o = Interpret(Ocf(), Op::kMonitor, Exited(5));
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(o.running);
}

TEST(InterpretTest, OcfExitReasonIsPreferredToTheLastLine) {
  Outcome o = Interpret(
      Ocf(), Op::kMonitor,
      Exited(7, "ocf-exit-reason:first\nocf-exit-reason:No process state file "
                "found\nDummy(x)[12]: ERROR: No process state file found\n"));
  EXPECT_EQ(o.message, "not running: No process state file found");
  // Only at the start of a line.
  o = Interpret(Ocf(), Op::kStart, Exited(1, "see ocf-exit-reason:x\nend\n"));
  EXPECT_EQ(o.message, "exit status 1 (generic error): end");
}

TEST(InterpretTest, OcfStopOfAStoppedResourceSucceeds) {
  Outcome o = Interpret(Ocf(), Op::kStop, Exited(7));
  EXPECT_TRUE(o.ok);
  EXPECT_FALSE(o.running);
  o = Interpret(Ocf(), Op::kStop, Exited(1, "busy"));
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.running);
}

TEST(InterpretTest, LsbStatusCodes) {
  struct Case {
    int code;
    bool ok;
    bool running;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {0, true, true, "running"},
           {1, false, false, "not running (dead, pid file exists)"},
           {2, false, false, "not running (dead, lock file exists)"},
           {3, false, false, "not running (not running)"},
           {4, false, true, "exit status 4 (status unknown)"},
           {150, false, true, "exit status 150"},
       }) {
    Outcome o = Interpret(Lsb(), Op::kMonitor, Exited(c.code));
    EXPECT_EQ(o.ok, c.ok) << c.code;
    EXPECT_EQ(o.running, c.running) << c.code;
    EXPECT_EQ(o.message, c.message) << c.code;
  }
}

TEST(InterpretTest, LsbStartAndStop) {
  // An LSB stop of a stopped service exits 0: fine.
  Outcome o = Interpret(Lsb(), Op::kStop, Exited(0, "svc not running\n"));
  EXPECT_TRUE(o.ok);
  EXPECT_FALSE(o.running);
  o = Interpret(Lsb(), Op::kStart, Exited(0));
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.running);
  o = Interpret(Lsb(), Op::kStart, Exited(6, "no config\n"));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.message, "exit status 6 (not configured): no config");
}

TEST(InterpretTest, HeartbeatStatusDecidesByOutputLikeResourceManager) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"httpd (pid 123) is running...\n", true},
      {"INFO:  Running OK\n", true},
      {"OK\n", true},
      {"httpd is stopped\n", false},
      {"httpd is not running\n", false},
      {"IPaddr NOT Running\n", false},
      {"Not  currently running", false},  // "not " then, later, running
      {"nothing running here", true},     // "not" without a blank after it
      {"ok\n", false},                    // OK is case-sensitive
      {"RUNNING\n", false},               // only [Rr]unning
      {"", false},
  };
  for (const auto& [output, running] : cases) {
    EXPECT_EQ(HeartbeatStatusSaysRunning(output), running) << output;
    // The exit code plays no part.
    for (int code : {0, 1, 3}) {
      Outcome o = Interpret(Heartbeat(), Op::kMonitor, Exited(code, output));
      EXPECT_EQ(o.ok, running) << output;
      EXPECT_EQ(o.running, running) << output;
    }
  }
  EXPECT_EQ(
      Interpret(Heartbeat(), Op::kMonitor, Exited(3, "httpd is stopped\n"))
          .message,
      "not running: httpd is stopped");
}

TEST(InterpretTest, HeartbeatStartAndStopGoByExitCode) {
  Outcome o = Interpret(Heartbeat(), Op::kStart, Exited(0));
  EXPECT_TRUE(o.ok);
  EXPECT_TRUE(o.running);
  o = Interpret(Heartbeat(), Op::kStop, Exited(0));
  EXPECT_TRUE(o.ok);
  EXPECT_FALSE(o.running);
  o = Interpret(Heartbeat(), Op::kStart, Exited(1, "ERROR: no such nic\n"));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.message, "exit status 1: ERROR: no such nic");
}

TEST(InterpretTest, TimeoutIsNeverOk) {
  Resource r = Ocf();
  RunResult result = Exited(0);  // it may have exited on SIGTERM
  result.timed_out = true;
  for (Op op : {Op::kStart, Op::kStop, Op::kMonitor}) {
    Outcome o = Interpret(r, op, result);
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.running);
    EXPECT_EQ(o.message, "timed out after 20s");
  }
  r.mutable_stop_timeout()->set_nanos(250000000);
  result.output = "waiting for umount\n";
  EXPECT_EQ(Interpret(r, Op::kStop, result).message,
            "timed out after 250ms: waiting for umount");
}

TEST(InterpretTest, DeathBySignalIsNeverOk) {
  RunResult result;
  result.started = true;
  result.signal = 9;
  for (const Resource& r : {Ocf(), Lsb(), Heartbeat()}) {
    Outcome o = Interpret(r, Op::kStop, result);
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.running);
    EXPECT_EQ(o.message, "killed by signal 9");
  }
  // Not even a status whose output said "running".
  result.output = "running";
  EXPECT_FALSE(Interpret(Heartbeat(), Op::kMonitor, result).ok);
}

TEST(InterpretTest, NotStartedCarriesTheSpawnError) {
  RunResult result;
  result.error = "spawn /etc/init.d/x: Exec format error";
  Outcome o = Interpret(Lsb(), Op::kStart, result);
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(o.running);  // nothing ran, so nothing was started
  EXPECT_EQ(o.message, result.error);
  o = Interpret(Lsb(), Op::kStop, result);
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.running);  // still as it was: in doubt
}

}  // namespace
}  // namespace hacluster::exec
