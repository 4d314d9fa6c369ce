// Remote control of real agents in network namespaces, from a client's
// namespace, as a maintenance script or a billing GUI does it: hacli over
// mutual TLS (roles, refusals and their exit codes), a scripted remote
// standby that returns only once the group moved, several servers of which
// the first is down, the server list before and after a failover, the
// Unix socket's reader by uid, certificates rotated with SIGHUP.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/agent.pb.h"
#include "tests/cluster/api_certs.h"
#include "tests/cluster/failover_fixture.h"
#include "tests/cluster/test_cluster.h"
#include "tests/cluster/vip_probe.h"
#include "tests/harness/netlab.h"
#include "tests/harness/wait.h"

namespace hacluster::testing {
namespace {

constexpr char kPort[] = "7443";
const std::string kA = absl::StrCat("192.0.2.11:", kPort);
const std::string kB = absl::StrCat("192.0.2.12:", kPort);

class RemoteTest : public FailoverTest {
 protected:
  void SetUp() override {
    FailoverTest::SetUp();
    if (IsSkipped()) return;
    certs_ = WriteCerts(2);
  }

  // Both agents serving the API on ":7443", the group on node01.
  void StartRemoteCluster(const std::string& more_api = "") {
    BuildLab("remote");
    ASSERT_NE(StartSampler(), nullptr);
    ClusterSetup setup = GroupSetup(VipAndServiceResources());
    setup.extra_yaml = absl::StrCat(ApiYaml({absl::StrCat(":", kPort)}, certs_), more_api);
    StartCluster(setup);
    if (HasFatalFailure()) return;
    ExpectRunningOn("node01");
  }

  // `PROGRAM ARGS...` in the client's namespace with `env` (NAME=VALUE).
  harness::RunResult InClient(const std::string& program, std::vector<std::string> args,
                              std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {"env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(program);
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = lab().Run("client", argv, absl::Seconds(60));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  }

  // hacli from the client, over TLS to `servers`, as `who` (admin, reader,
  // other-admin...; "" for no certificate).
  harness::RunResult Remote(const std::string& servers, const std::string& who,
                            std::vector<std::string> args) {
    std::vector<std::string> argv = {"--server", servers, "--ca", certs_ + "/ca.crt"};
    if (!who.empty()) {
      argv.insert(argv.end(), {"--cert", absl::StrCat(certs_, "/", who, ".crt"), "--key",
                               absl::StrCat(certs_, "/", who, ".key")});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return InClient(HacliPath(), argv);
  }

  std::vector<std::string> TlsEnv(const std::string& who) {
    return {absl::StrCat("HACLI_SERVER=", kA, ",", kB), absl::StrCat("HACLI_CA=", certs_, "/ca.crt"),
            absl::StrCat("HACLI_CERT=", certs_, "/", who, ".crt"),
            absl::StrCat("HACLI_KEY=", certs_, "/", who, ".key")};
  }

  static int Code(const harness::RunResult& r) { return r.status.exited() ? r.status.code : -1; }

  // The JSON object on the output of `hacli servers -o json`.
  v1::ListServersResponse Servers(const harness::RunResult& r) {
    v1::ListServersResponse out;
    const size_t at = r.output.find('{');
    EXPECT_NE(at, std::string::npos) << r.output;
    if (at == std::string::npos) return out;
    auto s = google::protobuf::util::JsonStringToMessage(r.output.substr(at), &out);
    EXPECT_TRUE(s.ok()) << s.ToString() << ": " << r.output;
    return out;
  }

  static const v1::Server* Find(const v1::ListServersResponse& r, const std::string& name) {
    for (const v1::Server& s : r.nodes()) {
      if (s.name() == name) return &s;
    }
    return nullptr;
  }

  std::string certs_;
};

TEST_F(RemoteTest, RolesAndRefusalsOverMutualTls) {
  StartRemoteCluster();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WriteForeignAdmin(certs_).ok());
  ASSERT_TRUE(WriteExtraCert(certs_, agent::tls::CertRole::kAdmin, "expired",
                             absl::Now() - absl::Hours(48), absl::Now() - absl::Hours(24))
                  .ok());
  // Refused with exit 4: no certificate, another CA's, an expired one, a
  // reader calling standby.
  for (const auto& [who, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"", {"status"}},
           {"other-admin", {"standby"}},
           {"expired", {"standby"}},
           {"reader", {"standby"}}}) {
    harness::RunResult r = Remote(kA, who, args);
    EXPECT_EQ(Code(r), 4) << (who.empty() ? "no certificate" : who) << ": " << r.output;
  }
  // Each refusal is audited on node01.
  EXPECT_TRUE(harness::WaitFor(
      [&] {
        int refused = 0;
        for (const v1::Event& e : Recorder("node01").Events()) {
          if (e.kind() == v1::EVENT_KIND_API_CALL && !e.ok()) ++refused;
        }
        return refused >= 4;
      },
      absl::Seconds(5)));
  // A plaintext gRPC client gets nothing: its HTTP/2 preface is answered
  // with a TLS alert or a closed connection, never an HTTP/2 frame.
  {
    auto fd = OpenSocketInNetns(Netns("client"), AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(fd.ok()) << fd.status();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(7443);
    inet_pton(AF_INET, "192.0.2.11", &to.sin_addr);
    ASSERT_EQ(connect(*fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0) << strerror(errno);
    const std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                                std::string("\0\0\0\x04\0\0\0\0\0", 9);
    ASSERT_EQ(send(*fd, preface.data(), preface.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(preface.size()));
    pollfd p{*fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1) << "the server neither answered nor closed";
    unsigned char reply[64];
    const ssize_t n = recv(*fd, reply, sizeof(reply), 0);
    close(*fd);
    EXPECT_TRUE(n <= 0 || reply[0] == 0x15) << "plaintext got " << n << " bytes, first "
                                             << static_cast<int>(reply[0]);
  }
  // A reader reads.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"status"}, {"where", kVip}, {"servers"}}) {
    harness::RunResult r = Remote(kA, "reader", args);
    EXPECT_EQ(Code(r), 0) << absl::StrJoin(args, " ") << ": " << r.output;
  }
  EXPECT_TRUE(absl::StrContains(Remote(kA, "reader", {"where", kVip}).output, "node01"));
  // An admin moves the group; nothing moved before.
  ExpectRunningOn("node01");
  harness::RunResult r = Remote(kA, "admin", {"standby"});
  EXPECT_EQ(Code(r), 0) << r.output;
  ExpectHolders({"node02"});
}

TEST_F(RemoteTest, ScriptedStandbyWithTheFirstServerDownAndEveryExitCode) {
  StartRemoteCluster();
  if (HasFatalFailure()) return;
  // A monitoring check's cl_status, remote, with a reader certificate.
  harness::RunResult node = InClient(RunfilePath("cli/cl_status"), {"nodestatus", "node02"},
                                     TlsEnv("reader"));
  EXPECT_EQ(Code(node), 0) << node.output;
  EXPECT_EQ(node.output, "active\n");
  // hb_standby, as a maintenance script calls it, with the environment.
  harness::RunResult hb = InClient(RunfilePath("cli/hb_standby"), {"all"}, TlsEnv("admin"));
  EXPECT_EQ(Code(hb), 0) << hb.output;
  // It returned once the group had moved.
  ExpectHolders({"node02"});
  EXPECT_TRUE(WaitHolder("node02", "node02", absl::ZeroDuration())) << Diagnose();

  // hacli with two servers, each its own --server; back to node01 from
  // node02's side, waiting for the move (the default, spelled out).
  harness::RunResult back = InClient(
      HacliPath(), {"--server", kB, "--server", kA, "--ca", certs_ + "/ca.crt", "--cert",
                    certs_ + "/admin.crt", "--key", certs_ + "/admin.key", "standby", "--wait"});
  EXPECT_EQ(Code(back), 0) << back.output;
  ExpectHolders({"node01"});
  // A move takes longer than 1 ms: the call times out (exit 5), the move
  // goes on.
  harness::RunResult timed_out = Remote(kA, "admin", {"standby", "--timeout", "1ms"});
  EXPECT_EQ(Code(timed_out), 5) << timed_out.output;
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();

  // node01's agent down (it holds nothing now): the first server does not
  // answer, the second does.
  ASSERT_TRUE(agents_["node01"].Kill(SIGKILL).ok());
  ASSERT_TRUE(agents_["node01"].Wait(absl::Seconds(5)).ok());
  harness::RunResult servers =
      Remote(absl::StrCat(kA, ",", kB), "reader", {"servers", "-o", "json"});
  ASSERT_EQ(Code(servers), 0) << servers.output;
  EXPECT_EQ(Servers(servers).answered_by(), "node02");

  // Exit codes: 2 usage (no CA), 3 nothing reachable, 1 failed, 5 timed out.
  harness::RunResult usage = InClient(HacliPath(), {"--server", kB, "status"});
  EXPECT_EQ(Code(usage), 2) << usage.output;
  harness::RunResult unreachable = Remote(kA, "reader", {"status"});
  EXPECT_EQ(Code(unreachable), 3) << unreachable.output;
  harness::RunResult failed = Remote(kB, "admin", {"move", kGroup, "node09"});
  EXPECT_EQ(Code(failed), 1) << failed.output;
  // With node01 dead, node02 cannot give the group away: refused (exit 1).
  harness::RunResult refused = Remote(kB, "admin", {"standby"});
  EXPECT_EQ(Code(refused), 1) << refused.output;
}

TEST_F(RemoteTest, ServerListFromEitherNodeBeforeAndAfterAFailover) {
  StartRemoteCluster();
  if (HasFatalFailure()) return;
  for (const std::string& server : {kA, kB}) {
    harness::RunResult r = Remote(server, "reader", {"servers", "-o", "json"});
    ASSERT_EQ(Code(r), 0) << r.output;
    v1::ListServersResponse list = Servers(r);
    ASSERT_EQ(list.nodes_size(), 2) << r.output;
    const v1::Server* n1 = Find(list, "node01");
    const v1::Server* n2 = Find(list, "node02");
    ASSERT_TRUE(n1 != nullptr && n2 != nullptr);
    EXPECT_EQ(n1->role(), "active") << r.output;
    EXPECT_EQ(n1->vips_size(), 1);
    if (n1->vips_size() == 1) EXPECT_EQ(n1->vips(0), kVip);
    EXPECT_EQ(n2->role(), "standby") << r.output;
    EXPECT_EQ(n2->state(), "up");
    EXPECT_EQ(n1->addresses(0), "192.0.2.11");
    EXPECT_EQ(n1->labels().at("gui_server_id"), "101") << r.output;
    EXPECT_EQ(n2->labels().at("gui_server_id"), "102") << r.output;
  }
  CrashNode("node01");
  ASSERT_TRUE(WaitHolder("node02", "node02", absl::Seconds(10))) << Diagnose();
  harness::RunResult r = Remote(kB, "reader", {"servers", "-o", "json"});
  ASSERT_EQ(Code(r), 0) << r.output;
  v1::ListServersResponse list = Servers(r);
  const v1::Server* n1 = Find(list, "node01");
  const v1::Server* n2 = Find(list, "node02");
  ASSERT_TRUE(n1 != nullptr && n2 != nullptr) << r.output;
  EXPECT_EQ(n1->role(), "down");
  EXPECT_EQ(n1->state(), "dead");
  EXPECT_EQ(n2->role(), "active");
  ASSERT_EQ(n2->vips_size(), 1) << r.output;
  EXPECT_EQ(n2->vips(0), kVip);
}

TEST_F(RemoteTest, NewCertificatesAndSighupWithoutRestartOrLostHeartbeat) {
  StartRemoteCluster();
  if (HasFatalFailure()) return;
  ASSERT_EQ(Code(Remote(kA, "admin", {"status"})), 0);
  const size_t before = Recorder("node01").Events().size();
  const uint64_t generation = Client("node02").GenerationOf("node01");
  // A new CA and new certificates in place of the old files.
  const std::string fresh = dir_.File("fresh");
  ASSERT_EQ(mkdir(fresh.c_str(), 0700), 0);
  ApiCertOptions o;
  o.nodes = {{"node01", {"192.0.2.11"}}, {"node02", {"192.0.2.12"}}};
  ASSERT_TRUE(WriteApiCerts(fresh, o).ok());
  const std::string old_admin = dir_.File("old-admin");
  ASSERT_EQ(mkdir(old_admin.c_str(), 0700), 0);
  for (const char* f : {"ca.crt", "admin.crt", "admin.key"}) {
    ASSERT_EQ(rename(absl::StrCat(certs_, "/", f).c_str(), absl::StrCat(old_admin, "/", f).c_str()), 0);
  }
  for (const char* f : {"ca.crt", "ca.key", "server.crt", "server.key", "admin.crt", "admin.key",
                        "reader.crt", "reader.key"}) {
    ASSERT_EQ(rename(absl::StrCat(fresh, "/", f).c_str(), absl::StrCat(certs_, "/", f).c_str()), 0);
  }
  ASSERT_TRUE(agents_["node01"].Kill(SIGHUP).ok());
  // The new certificates work on node01 (bounded wait: the reload runs off
  // the loop).
  EXPECT_TRUE(harness::WaitFor([&] { return Code(Remote(kA, "admin", {"status"})) == 0; },
                               absl::Seconds(10)));
  // The old admin certificate, trusting the old CA, no longer gets in.
  harness::RunResult old = InClient(
      HacliPath(), {"--server", kA, "--ca", certs_ + "/ca.crt", "--cert", old_admin + "/admin.crt",
                    "--key", old_admin + "/admin.key", "status"});
  EXPECT_EQ(Code(old), 4) << old.output;
  // No restart, no heartbeat lost.
  EXPECT_EQ(Client("node02").GenerationOf("node01"), generation);
  const std::vector<v1::Event> events = Recorder("node01").Events();
  for (size_t i = before; i < events.size(); ++i) {
    EXPECT_NE(events[i].kind(), v1::EVENT_KIND_NODE_DEAD) << events[i].reason();
    EXPECT_NE(events[i].kind(), v1::EVENT_KIND_LINK_DEAD) << events[i].reason();
    EXPECT_NE(events[i].kind(), v1::EVENT_KIND_HEARTBEAT_LATE) << events[i].reason();
  }
  for (const v1::Event& e : Recorder("node02").Events()) {
    EXPECT_NE(e.kind(), v1::EVENT_KIND_NODE_DEAD) << e.reason();
  }
}

TEST_F(RemoteTest, UnixSocketGroupMembersReadButMayNotWrite) {
  // The socket where a non-root user can reach it (directories they may
  // traverse, none they may write), in the group nogroup.
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  for (const char* node : {"node01", "node02"}) {
    ASSERT_EQ(mkdir(NodeDir(node).c_str(), 0755), 0);
    ASSERT_EQ(mkdir(StateDir(node).c_str(), 0755), 0);
  }
  StartRemoteCluster("  unix_socket_group: nogroup\n");
  if (HasFatalFailure()) return;
  const std::string socket = Socket("node01");
  struct stat st;
  ASSERT_EQ(stat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, 65534u);
  auto as_nobody = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                     HacliPath(), "--socket", socket};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = harness::RunProcess(argv, absl::Seconds(30));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : harness::RunResult{};
  };
  harness::RunResult status = as_nobody({"status"});
  EXPECT_EQ(Code(status), 0) << status.output;
  harness::RunResult standby = as_nobody({"standby"});
  EXPECT_EQ(Code(standby), 4) << standby.output;
  // A user outside the socket's group may not even connect: exit 4 too,
  // saying why.
  auto r = harness::RunProcess({"setpriv", "--reuid=65534", "--regid=12345", "--clear-groups",
                                HacliPath(), "--socket", socket, "status"},
                               absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Code(*r), 4) << r->output;
  EXPECT_TRUE(absl::StrContains(r->output, "no permission")) << r->output;
  ExpectHolders({"node01"});
  bool audited = false;
  for (const v1::Event& e : Recorder("node01").Events()) {
    audited = audited || (e.kind() == v1::EVENT_KIND_API_CALL && e.caller() == "uid 65534" &&
                          !e.ok());
  }
  EXPECT_TRUE(audited);
}

}  // namespace
}  // namespace hacluster::testing
