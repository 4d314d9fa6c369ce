// HeartbeatNode: the files it renders and refuses (pure), and two real
// Heartbeat 3.0.6 daemons in one NetLab: they see each other, the VIP ends on
// its haresources owner, hb_standby moves it, a kill -9 of the holder (and
// the loss of its address) makes the other take it over, and the machine's
// own /etc/ha.d and /var/lib/heartbeat are left as they were.
#include "tests/harness/heartbeat_node.h"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/harness/netlab.h"
#include "tests/harness/wait.h"

namespace hacluster::harness {
namespace {

constexpr char kVip[] = "192.0.2.100";

HeartbeatConfig LabConfig(const std::string& self, const std::string& peer_ip) {
  HeartbeatConfig c;
  c.node_name = self;
  c.nodes = {"node01", "node02"};
  c.media = {absl::StrCat("ucast eth0 ", peer_ip)};
  c.keepalive = absl::Milliseconds(200);
  c.deadtime = absl::Seconds(2);
  c.warntime = absl::Seconds(1);
  c.initdead = absl::Seconds(4);
  c.auto_failback = AutoFailback::kOn;
  c.auth_method = AuthMethod::kSha1;
  c.auth_key = "netlab-test";
  c.haresources = {absl::StrCat("node01 IPaddr::", kVip, "/24/eth0")};
  return c;
}

TEST(RenderHeartbeatFilesTest, WritesMillisecondsMediaAfterUdpportAndKeys) {
  HeartbeatConfig c = LabConfig("node01", "192.0.2.12");
  c.udpport = 7694;
  c.extra_ha_cf = {"debug 1"};
  absl::StatusOr<HeartbeatFiles> f = RenderHeartbeatFiles(c, "/x/ha.log");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\nkeepalive 200ms\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\ndeadtime 2000ms\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\nwarntime 1000ms\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\ninitdead 4000ms\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\nlogfile /x/ha.log\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\nlogfacility none\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\nauto_failback on\n"));
  EXPECT_TRUE(absl::StrContains(f->ha_cf, "\nnode node01\nnode node02\n"));
  EXPECT_TRUE(absl::EndsWith(f->ha_cf, "\ndebug 1\n"));
  const size_t port = f->ha_cf.find("udpport 7694\n");
  const size_t medium = f->ha_cf.find("ucast eth0 192.0.2.12\n");
  ASSERT_NE(port, std::string::npos);
  ASSERT_NE(medium, std::string::npos);
  EXPECT_LT(port, medium);
  EXPECT_EQ(f->authkeys, "auth 1\n1 sha1 netlab-test\n");
  EXPECT_EQ(f->haresources, "node01 IPaddr::192.0.2.100/24/eth0\n");

  c.auth_method = AuthMethod::kCrc;
  c.auth_key = "";
  c.auth_index = 3;
  f = RenderHeartbeatFiles(c, "/x/ha.log");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->authkeys, "auth 3\n3 crc\n");
}

TEST(RenderHeartbeatFilesTest, RefusesWhatHeartbeatWouldMisreadNamingTheField) {
  struct Case {
    const char* field;
    void (*edit)(HeartbeatConfig&);
  };
  const Case cases[] = {
      {"node_name", [](HeartbeatConfig& c) { c.node_name = "Node01"; }},
      {"node_name", [](HeartbeatConfig& c) { c.node_name = "node03"; }},
      {"nodes", [](HeartbeatConfig& c) { c.nodes.push_back("node01"); }},
      {"media", [](HeartbeatConfig& c) { c.media.clear(); }},
      {"media",
       [](HeartbeatConfig& c) { c.media = {"ucast eth0 192.0.2.12\nnode x"}; }},
      {"udpport", [](HeartbeatConfig& c) { c.udpport = 0; }},
      {"keepalive",
       [](HeartbeatConfig& c) { c.keepalive = absl::Microseconds(1500); }},
      {"deadtime", [](HeartbeatConfig& c) { c.deadtime = c.keepalive; }},
      {"warntime", [](HeartbeatConfig& c) { c.warntime = c.deadtime; }},
      {"initdead",
       [](HeartbeatConfig& c) { c.initdead = absl::Milliseconds(1500); }},
      {"auth_key", [](HeartbeatConfig& c) { c.auth_key = ""; }},
      {"auth_key", [](HeartbeatConfig& c) { c.auth_key = "two words"; }},
      {"auth_key",
       [](HeartbeatConfig& c) { c.auth_method = AuthMethod::kCrc; }},
      {"auth_index", [](HeartbeatConfig& c) { c.auth_index = 16; }},
      {"haresources",
       [](HeartbeatConfig& c) { c.haresources = {"node09 IPaddr::x"}; }},
      {"extra_ha_cf",
       [](HeartbeatConfig& c) { c.extra_ha_cf = {"debug 1 # no"}; }},
  };
  for (const Case& k : cases) {
    HeartbeatConfig c = LabConfig("node01", "192.0.2.12");
    k.edit(c);
    absl::StatusOr<HeartbeatFiles> f = RenderHeartbeatFiles(c, "/x/ha.log");
    ASSERT_FALSE(f.ok()) << k.field;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(f.status().message(), k.field))
        << k.field << ": " << f.status();
  }
}

// A listing of a tree: path, type, mode, owner, size and mtime of each
// entry, to see that nothing under it changed.
std::string Listing(const std::string& root) {
  std::string out;
  std::error_code ec;
  std::vector<std::string> paths = {root};
  for (std::filesystem::recursive_directory_iterator it(root, ec), end;
       !ec && it != end; it.increment(ec)) {
    paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());
  for (const std::string& p : paths) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      absl::StrAppend(&out, p, " (gone)\n");
      continue;
    }
    absl::StrAppend(&out, p, " ", st.st_mode, " ", st.st_uid, ":", st.st_gid,
                    " ", st.st_size, " ", st.st_mtim.tv_sec, ".",
                    st.st_mtim.tv_nsec, "\n");
  }
  if (ec) absl::StrAppend(&out, "error: ", ec.message(), "\n");
  return out;
}

class HeartbeatNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status pre = NetLab::CheckPrerequisites();
    if (!pre.ok()) GTEST_SKIP() << "no network namespaces here: " << pre;
  }

  std::string Logs() const {
    std::string out;
    for (const auto* n : {node01_.get(), node02_.get()}) {
      if (n != nullptr) out += n->LogTail();
    }
    return out;
  }

  // Whether `n` holds the VIP right now.
  bool VipOn(HeartbeatNode& n) {
    absl::StatusOr<bool> has = n.HasAddress(kVip);
    return has.ok() && *has;
  }

  // The lab first: the nodes go before it, also when a test fails midway.
  std::unique_ptr<NetLab> lab_;
  std::unique_ptr<HeartbeatNode> node01_;
  std::unique_ptr<HeartbeatNode> node02_;
};

TEST_F(HeartbeatNodeTest, CreateRefusesAnUnknownHost) {
  NetLab lab("hbunknown");
  ASSERT_TRUE(lab.status().ok()) << lab.status();
  absl::StatusOr<std::unique_ptr<HeartbeatNode>> n =
      HeartbeatNode::Create(lab, "node09", LabConfig("node01", "192.0.2.12"));
  EXPECT_EQ(n.status().code(), absl::StatusCode::kNotFound) << n.status();
}

TEST_F(HeartbeatNodeTest, TwoRealDaemonsFormStandbyAndFailOver) {
  const std::string etc_before = Listing("/etc/ha.d");
  const std::string varlib_before = Listing("/var/lib/heartbeat");
  const bool root_pidfile_before = std::filesystem::exists("/run/heartbeat.pid");
  {
    lab_ = std::make_unique<NetLab>("hb3");
    NetLab& lab = *lab_;
    ASSERT_TRUE(lab.status().ok()) << lab.status();
    ASSERT_TRUE(lab.AddNetwork("lan", "192.0.2.0/24").ok());
    ASSERT_TRUE(lab.AddHost("node01", {{"lan", "eth0", "192.0.2.11/24"}}).ok());
    ASSERT_TRUE(lab.AddHost("node02", {{"lan", "eth0", "192.0.2.12/24"}}).ok());
    absl::StatusOr<std::unique_ptr<HeartbeatNode>> n1 = HeartbeatNode::Create(
        lab, "node01", LabConfig("node01", "192.0.2.12"));
    ASSERT_TRUE(n1.ok()) << n1.status();
    absl::StatusOr<std::unique_ptr<HeartbeatNode>> n2 = HeartbeatNode::Create(
        lab, "node02", LabConfig("node02", "192.0.2.11"));
    ASSERT_TRUE(n2.ok()) << n2.status();
    node01_ = *std::move(n1);
    node02_ = *std::move(n2);

    const absl::Time t0 = absl::Now();
    absl::Status s = node01_->Start();
    ASSERT_TRUE(s.ok()) << s;
    s = node02_->Start();
    ASSERT_TRUE(s.ok()) << s;

    // The hostname of each node's namespaces is its node name.
    absl::StatusOr<RunResult> uname = node02_->Exec({"uname", "-n"});
    ASSERT_TRUE(uname.ok()) << uname.status();
    EXPECT_EQ(uname->output, "node02\n");

    // Master control process and its children, all known.
    absl::StatusOr<std::vector<pid_t>> pids = node01_->DaemonPids();
    ASSERT_TRUE(pids.ok()) << pids.status();
    EXPECT_GE(pids->size(), 3u);  // master, FIFO reader, ucast read+write
    EXPECT_NE(std::find(pids->begin(), pids->end(), node01_->MasterPid()),
              pids->end());

    ASSERT_TRUE(WaitFor(
        [&] {
          absl::StatusOr<std::string> a = node01_->NodeStatus("node02");
          absl::StatusOr<std::string> b = node02_->NodeStatus("node01");
          return a.ok() && *a == "active" && b.ok() && *b == "active";
        },
        absl::Seconds(30), absl::Milliseconds(100)))
        << "the nodes did not see each other active\n" << Logs();

    // The VIP ends on its haresources owner, node01, and only there; both
    // nodes end the resource hand-shake (`cl_status rscstatus` says which
    // resources a node holds by role: each holds its "local" ones).
    std::string rsc1, rsc2;
    ASSERT_TRUE(WaitFor(
        [&] {
          absl::StatusOr<std::string> r1 = node01_->RscStatus();
          absl::StatusOr<std::string> r2 = node02_->RscStatus();
          rsc1 = r1.ok() ? *r1 : r1.status().ToString();
          rsc2 = r2.ok() ? *r2 : r2.status().ToString();
          // Out of "transition", so that the standby below is not asked in the
    // middle of the start-up hand-shake.
          return VipOn(*node01_) && r1.ok() && *r1 != "transition" &&
                 r2.ok() && *r2 != "transition";
        },
        absl::Seconds(30), absl::Milliseconds(100)))
        << "node01 did not settle holding the VIP; rscstatus: node01 " << rsc1
        << ", node02 " << rsc2 << "\n" << Logs();
    EXPECT_FALSE(VipOn(*node02_)) << Logs();
    EXPECT_EQ(rsc1, "local");
    std::cout << "[ figure ] both up and the VIP on node01 after "
              << absl::FormatDuration(absl::Now() - t0) << "\n";

    // hb_standby on the owner hands the VIP to node02.
    absl::StatusOr<RunResult> standby = node01_->Exec({kHbStandby});
    ASSERT_TRUE(standby.ok()) << standby.status();
    ASSERT_TRUE(standby->status.ok())
        << standby->status.ToString() << ": " << standby->output;
    const absl::Time t1 = absl::Now();
    ASSERT_TRUE(WaitFor([&] { return VipOn(*node02_) && !VipOn(*node01_); },
                        absl::Seconds(30), absl::Milliseconds(100)))
        << "hb_standby did not move the VIP to node02\n" << Logs();
    std::cout << "[ figure ] hb_standby moved the VIP in "
              << absl::FormatDuration(absl::Now() - t1) << "\n";

    // kill -9 of the holder: the VIP stays on its NIC, as on a crash, until
    // the machine's death is simulated by removing it.
    s = node02_->KillHard();
    ASSERT_TRUE(s.ok()) << s;
    pids = node02_->DaemonPids();
    ASSERT_TRUE(pids.ok()) << pids.status();
    EXPECT_TRUE(pids->empty());
    EXPECT_FALSE(node02_->DaemonRunning());
    EXPECT_TRUE(VipOn(*node02_)) << "SIGKILL must not remove the VIP";
    s = node02_->RemoveAddress(kVip);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_FALSE(VipOn(*node02_));
    const absl::Time t2 = absl::Now();
    // deadtime + the time IPaddr takes, generously on a shared machine.
    ASSERT_TRUE(WaitFor([&] { return VipOn(*node01_); },
                        node01_->config().deadtime + absl::Seconds(20),
                        absl::Milliseconds(50)))
        << "node01 did not take the VIP over\n" << Logs();
    std::cout << "[ figure ] node01 held the VIP "
              << absl::FormatDuration(absl::Now() - t2)
              << " after the kill (deadtime "
              << absl::FormatDuration(node01_->config().deadtime) << ")\n";
    absl::StatusOr<std::string> dead = node01_->NodeStatus("node02");
    ASSERT_TRUE(dead.ok()) << dead.status();
    EXPECT_EQ(*dead, "dead");

    // A graceful stop releases the VIP and leaves no process.
    s = node01_->Stop();
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_FALSE(VipOn(*node01_)) << Logs();
    pids = node01_->DaemonPids();
    ASSERT_TRUE(pids.ok()) << pids.status();
    EXPECT_TRUE(pids->empty());

    node01_.reset();
    node02_.reset();
    lab_.reset();
  }
  EXPECT_EQ(Listing("/etc/ha.d"), etc_before);
  EXPECT_EQ(Listing("/var/lib/heartbeat"), varlib_before);
  EXPECT_EQ(std::filesystem::exists("/run/heartbeat.pid"), root_pidfile_before);
}

}  // namespace
}  // namespace hacluster::harness
