// The web dashboard of ha-controller in a real browser: Debian's Chromium,
// headless, in the lab's client namespace, with a client certificate made
// by `hacli cert issue --p12` and imported into the browser's own NSS
// store (pk12util), against two real agents that hold a VIP.
// dashboard_check.py drives the page over the DevTools protocol and checks
// that the nodes, the VIP's holder and live events appear, that the VIP's
// row needs no scrolling on a phone-sized screen, that a reader sees no
// write buttons and an admin does, and that a spec edited by hand on one
// node shows as a live config-drift event and badge. The screenshots go to
// the test's undeclared outputs.
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/failover_fixture.h"
#include "tests/cluster/test_cluster.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

constexpr char kClient[] = "192.0.2.100";
constexpr int kHttpsPort = 8443;

class DashboardTest : public FailoverTest {
 protected:
  void SetUp() override {
    FailoverTest::SetUp();
    if (IsSkipped()) return;
    // server.crt serves the agents and the controller (on the client's
    // address): its SANs are all of them.
    certs_ = WriteCerts(2, {{"controller", {kClient}}});
  }

  std::string Url() const { return absl::StrCat("https://", kClient, ":", kHttpsPort, "/"); }

  // A browser profile whose NSS store holds NAME.p12 and trusts the CA.
  std::string BrowserHome(const std::string& name) {
    const std::string home = dir_.File("home-" + name);
    const std::string nssdb = home + "/.pki/nssdb";
    struct stat st;
    if (stat(nssdb.c_str(), &st) == 0) return home;  // made by an earlier check
    EXPECT_EQ(std::system(absl::StrCat("mkdir -p ", nssdb).c_str()), 0);
    const std::string db = "sql:" + nssdb;
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"certutil", "-N", "-d", db, "--empty-password"},
             {"pk12util", "-i", absl::StrCat(certs_, "/", name, ".p12"), "-d", db, "-W", ""},
             {"certutil", "-A", "-n", "test cluster CA", "-t", "C,,", "-i", certs_ + "/ca.crt",
              "-d", db},
         }) {
      auto r = harness::RunProcess(argv, absl::Seconds(30));
      EXPECT_TRUE(r.ok() && r->status.ok())
          << argv[0] << ": " << (r.ok() ? r->output : r.status().ToString());
    }
    return home;
  }

  // /etc/chromium as the browser sees it: the package's file plus the
  // policy that picks the client certificate for the dashboard.
  std::string PolicyDir() {
    const std::string dir = dir_.File("etc-chromium");
    struct stat st;
    if (stat(dir.c_str(), &st) == 0) return dir;
    EXPECT_EQ(std::system(absl::StrCat("mkdir -p ", dir, "/policies/managed && cp -a "
                                       "/etc/chromium/. ",
                                       dir, "/ 2>/dev/null; true")
                              .c_str()),
              0);
    std::ofstream(dir + "/policies/managed/client-certificate.json")
        << "{\"AutoSelectCertificateForUrls\": [\"{\\\"pattern\\\": \\\"https://" << kClient
        << ":" << kHttpsPort << "\\\", \\\"filter\\\": {}}\"]}\n";
    return dir;
  }

  std::string OutputDir() {
    const char* d = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    return d != nullptr ? d : dir_.File("");
  }

  // dashboard_check.py in the client's namespace; its output.
  harness::RunResult Check(const std::string& role, int width, int height,
                           const std::string& screenshot, const std::string& trigger = "",
                           const std::string& kind = "") {
    std::vector<std::string> argv = {
        "/usr/bin/python3", RunfilePath("tests/cluster/dashboard_check.py"),
        "--url", Url(), "--home", BrowserHome("browser-" + role), "--policy-dir", PolicyDir(),
        "--role", role, "--nodes", "node01,node02", "--vip", kVip, "--holder", "node01",
        "--width", absl::StrCat(width), "--height", absl::StrCat(height),
        "--screenshot", absl::StrCat(OutputDir(), "/", screenshot)};
    if (!trigger.empty()) {
      argv.insert(argv.end(), {"--trigger", trigger, "--expect-kind", kind});
    }
    auto r = lab().Run("client", argv, absl::Seconds(120));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  }

  std::string certs_;
};

TEST_F(DashboardTest, NodesHolderAndLiveEventsShowInChromiumWithButtonsForAdminsOnly) {
  BuildLab("dash");
  ClusterSetup setup = GroupSetup(VipAndServiceResources());
  setup.extra_yaml = ApiYaml({":7443"}, certs_);
  StartCluster(setup);
  if (HasFatalFailure()) return;
  ExpectRunningOn("node01");
  for (const char* role : {"admin", "reader"}) {
    auto r = harness::RunProcess({HacliPath(), "cert", "issue", "--dir", certs_, "--role", role,
                                  "--name", absl::StrCat("browser-", role), "--p12"});
    ASSERT_TRUE(r.ok() && r->status.ok()) << (r.ok() ? r->output : r.status().ToString());
  }
  auto controller = lab().Spawn(
      "client", {RunfilePath("controller/ha-controller"), "--spec", spec_, "--listen",
                 absl::StrCat(kClient, ":", kHttpsPort), "--tls-cert", certs_ + "/server.crt",
                 "--tls-key", certs_ + "/server.key", "--tls-client-ca", certs_ + "/ca.crt",
                 "--poll-interval", "200ms"});
  ASSERT_TRUE(controller.ok()) << controller.status();

  harness::RunResult reader = Check("reader", 1280, 800, "dashboard-reader.png");
  EXPECT_TRUE(reader.status.ok()) << reader.output << "\ncontroller log:\n"
                                  << ReadFile(controller->log_path());

  // The admin, on a phone-sized screen; node01's spec edited by hand and
  // reloaded while the page is open: a live config-drift event.
  const std::string trigger =
      absl::StrCat("sed -i 's/^config_version: 1$/config_version: 2/' ", spec_, " && kill -HUP ",
                   agents_.at("node01").pid());
  harness::RunResult admin = Check("admin", 390, 844, "dashboard-admin-phone.png", trigger,
                                   "config-drift");
  EXPECT_TRUE(admin.status.ok()) << admin.output << "\ncontroller log:\n"
                                 << ReadFile(controller->log_path());
  harness::RunResult desktop = Check("admin", 1280, 800, "dashboard-admin.png");
  EXPECT_TRUE(desktop.status.ok()) << desktop.output;
  std::cout << reader.output << admin.output << desktop.output;
  (void)controller->Kill(SIGTERM);
  (void)controller->Wait(absl::Seconds(10));
}

}  // namespace
}  // namespace hacluster::testing
