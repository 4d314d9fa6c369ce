#include "agent/node/reload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/config/yaml_codec.h"
#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/hac-reload-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    {
      std::ofstream key(dir_ + "/authkey");
      key << "reload-test-secret\n";
    }
    ASSERT_EQ(chmod((dir_ + "/authkey").c_str(), 0600), 0);
    std::random_device rd;
    prefix_ = absl::StrCat("127.", 1 + rd() % 250, ".", 1 + rd() % 250, ".");
    port_ = static_cast<int>(20000 + rd() % 20000);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A two-node spec on loopback addresses; `extra` is appended.
  spec::v1::ClusterSpec Spec(int version, int port, const std::string& extra = "",
                             const std::string& name = "reloadtest") {
    const std::string text = absl::StrCat(
        "cluster_name: ", name, "\nconfig_version: ", version, "\nnodes:\n",
        "  - name: node01\n    addresses: [", prefix_, "1]\n",
        "  - name: node02\n    addresses: [", prefix_, "2]\n",
        "udp_port: ", port, "\nmedia:\n  - ucast: {interface: lo}\n",
        "auth:\n  active_key: 1\n  keys:\n    - id: 1\n      method: sha256\n"
        "      secret_file: authkey\n",
        extra);
    config::ParsedSpec parsed = config::ParseSpecYaml(text, dir_ + "/spec.yaml");
    for (const auto& d : parsed.diagnostics) ADD_FAILURE() << d.message;
    return parsed.spec;
  }

  Config Running(const spec::v1::ClusterSpec& spec) {
    auto c = BuildConfig(spec, "node01", dir_, /*make_media=*/true);
    EXPECT_TRUE(c.ok()) << c.status();
    for (auto& m : c->media) EXPECT_TRUE(m->Open().ok());
    return *std::move(c);
  }

  // The UDP port a medium's socket is bound to.
  static int BoundPort(const media::Medium& m) {
    sockaddr_in a{};
    socklen_t len = sizeof(a);
    if (getsockname(m.fd(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return -1;
    return ntohs(a.sin_port);
  }

  std::string dir_;
  std::string prefix_;
  int port_ = 0;
};

TEST_F(ReloadTest, DiffSaysWhatChanged) {
  const spec::v1::ClusterSpec a = Spec(1, port_);
  SpecDiff same = DiffSpecs(a, Spec(2, port_), dir_);
  EXPECT_EQ(same.old_version, 1u);
  EXPECT_EQ(same.new_version, 2u);
  EXPECT_FALSE(same.cluster_renamed);
  EXPECT_FALSE(same.media_changed);
  EXPECT_FALSE(same.needs_pinger);
  EXPECT_FALSE(same.socket_changed);

  EXPECT_TRUE(DiffSpecs(a, Spec(2, port_ + 1), dir_).media_changed);
  EXPECT_TRUE(DiffSpecs(a, Spec(2, port_, "", "other"), dir_).cluster_renamed);
  EXPECT_TRUE(DiffSpecs(a, Spec(2, port_, "connectivity:\n  ping_nodes: [192.0.2.1]\n"), dir_)
                  .needs_pinger);
  EXPECT_TRUE(
      DiffSpecs(a, Spec(2, port_, "api:\n  unix_socket: /run/other.sock\n"), dir_).socket_changed);
  EXPECT_TRUE(
      DiffSpecs(a, Spec(2, port_, "api:\n  unix_socket_group: adm\n"), dir_).socket_changed);
  // A node's address decides where a ucast medium binds.
  spec::v1::ClusterSpec moved = a;
  moved.mutable_nodes(1)->set_addresses(0, prefix_ + "3");
  EXPECT_TRUE(DiffSpecs(a, moved, dir_).media_changed);
}

TEST_F(ReloadTest, UnchangedMediaStayOpenAndTheNewConfigHasNone) {
  Config running = Running(Spec(1, port_));
  const int fd = running.media[0]->fd();
  bool closed = false;
  auto p = PrepareReload(Spec(2, port_), running, false, "node01", dir_, dir_, &closed);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->diff.media_changed);
  EXPECT_FALSE(closed);
  EXPECT_TRUE(p->config.media.empty());
  EXPECT_EQ(p->config.spec.config_version(), 2u);
  ASSERT_EQ(running.media.size(), 1u);
  EXPECT_EQ(running.media[0]->fd(), fd);
  EXPECT_EQ(p->pinger, nullptr);
}

TEST_F(ReloadTest, ChangedMediaAreOpenedInPlaceOfTheRunningOnesAndAbortReopensThem) {
  Config running = Running(Spec(1, port_));
  ASSERT_EQ(BoundPort(*running.media[0]), port_);
  bool closed = false;
  auto p = PrepareReload(Spec(2, port_ + 1), running, false, "node01", dir_, dir_, &closed);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->diff.media_changed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(running.media.empty());
  ASSERT_EQ(p->config.media.size(), 1u);
  EXPECT_EQ(BoundPort(*p->config.media[0]), port_ + 1);

  ASSERT_TRUE(AbortReload(*std::move(p), running, "node01").ok());
  ASSERT_EQ(running.media.size(), 1u);
  EXPECT_EQ(BoundPort(*running.media[0]), port_);
}

TEST_F(ReloadTest, TheNewMediaMayBindTheAddressAndPortOfTheRunningOnes) {
  Config running = Running(Spec(1, port_));
  // The peer moved: the medium changes, but binds this node's same address
  // and port, which only works when the running one closed first.
  spec::v1::ClusterSpec next = Spec(2, port_);
  next.mutable_nodes(1)->set_addresses(0, prefix_ + "3");
  bool closed = false;
  auto p = PrepareReload(next, running, false, "node01", dir_, dir_, &closed);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->diff.media_changed);
  ASSERT_EQ(p->config.media.size(), 1u);
  EXPECT_EQ(BoundPort(*p->config.media[0]), port_);
  EXPECT_TRUE(running.media.empty());
}

TEST_F(ReloadTest, AMediumThatCannotOpenLeavesTheRunningOnesOpen) {
  Config running = Running(Spec(1, port_));
  // An address no interface has: the new medium cannot bind it.
  spec::v1::ClusterSpec next = Spec(2, port_ + 1);
  next.mutable_nodes(0)->set_addresses(0, "192.0.2.77");
  bool closed = false;
  auto p = PrepareReload(next, running, false, "node01", dir_, dir_, &closed);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(closed);  // and reopened
  EXPECT_NE(p.status().message().find("192.0.2.77"), std::string::npos) << p.status();
  ASSERT_EQ(running.media.size(), 1u);
  EXPECT_EQ(BoundPort(*running.media[0]), port_);
}

TEST_F(ReloadTest, AKeyFileThatCannotBeReadTouchesNothing) {
  Config running = Running(Spec(1, port_));
  const int fd = running.media[0]->fd();
  ASSERT_EQ(chmod((dir_ + "/authkey").c_str(), 0644), 0);
  bool closed = false;
  auto p = PrepareReload(Spec(2, port_ + 1), running, false, "node01", dir_, dir_, &closed);
  ASSERT_FALSE(p.ok());
  EXPECT_FALSE(closed);
  EXPECT_NE(p.status().message().find("authkey"), std::string::npos) << p.status();
  ASSERT_EQ(running.media.size(), 1u);
  EXPECT_EQ(running.media[0]->fd(), fd);
}

TEST_F(ReloadTest, EveryResourceScriptMustExistAndBeExecutableHere) {
  const std::string init_d = dir_ + "/init.d";
  std::filesystem::create_directory(init_d);
  {
    std::ofstream script(init_d + "/billing");
    script << "#!/bin/sh\nexit 0\n";
  }
  ASSERT_EQ(chmod((init_d + "/billing").c_str(), 0755), 0);
  {
    std::ofstream script(init_d + "/notexec");
    script << "#!/bin/sh\nexit 0\n";
  }
  exec::ScriptPaths paths;
  paths.init_d = init_d;
  paths.resource_d = dir_ + "/resource.d";
  paths.ocf_root = dir_ + "/ocf";
  const std::string group = absl::StrCat(
      "groups:\n  - name: web\n    resources:\n      - ip: {address: 192.0.2.50/24}\n"
      "      - lsb: {name: billing}\n");
  EXPECT_TRUE(CheckResourceScripts(Spec(1, port_, group), paths).ok());

  absl::Status s = CheckResourceScripts(
      Spec(1, port_, group + "      - lsb: {name: nosuch}\n      - lsb: {name: notexec}\n"),
      paths);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("group web resource lsb nosuch"), std::string::npos) << s;
  EXPECT_NE(s.message().find(init_d + "/nosuch"), std::string::npos) << s;
  EXPECT_NE(s.message().find(init_d + "/notexec"), std::string::npos) << s;
  EXPECT_EQ(s.message().find("billing"), std::string::npos) << s;
}

}  // namespace
}  // namespace hacluster::agent

namespace hacluster::agent {
namespace {

spec::v1::ClusterSpec GroupsSpec(spec::v1::WireFormat wire,
                                 std::vector<std::pair<std::string, std::string>> groups) {
  spec::v1::ClusterSpec s;
  s.set_wire(wire);
  for (const auto& [name, node] : groups) {
    auto* g = s.add_groups();
    g->set_name(name);
    g->set_preferred_node(node);
  }
  return s;
}

TEST(CheckHb3GroupsTest, OnHeartbeat3TheGroupsStayTheHaresourcesOnes) {
  using spec::v1::WIRE_FORMAT_HEARTBEAT3;
  using spec::v1::WIRE_FORMAT_NATIVE;
  const auto running = GroupsSpec(WIRE_FORMAT_HEARTBEAT3, {{"vip", "node01"}});
  EXPECT_TRUE(CheckHb3Groups(running, running).ok());
  absl::Status added =
      CheckHb3Groups(running, GroupsSpec(WIRE_FORMAT_HEARTBEAT3, {{"vip", "node01"}, {"db", "node02"}}));
  EXPECT_FALSE(added.ok());
  EXPECT_NE(added.message().find("group db added"), std::string::npos) << added;
  EXPECT_NE(added.message().find("wire: native first"), std::string::npos) << added;
  absl::Status moved = CheckHb3Groups(running, GroupsSpec(WIRE_FORMAT_HEARTBEAT3, {{"vip", "node02"}}));
  EXPECT_NE(moved.message().find("group vip moved from node01 to node02"), std::string::npos)
      << moved;
  absl::Status removed = CheckHb3Groups(running, GroupsSpec(WIRE_FORMAT_HEARTBEAT3, {}));
  EXPECT_NE(removed.message().find("group vip removed"), std::string::npos) << removed;
  // Switching to the native wire (or from it) may change them.
  EXPECT_TRUE(CheckHb3Groups(running, GroupsSpec(WIRE_FORMAT_NATIVE, {{"db", "node02"}})).ok());
  EXPECT_TRUE(CheckHb3Groups(GroupsSpec(WIRE_FORMAT_NATIVE, {}), running).ok());
}

}  // namespace
}  // namespace hacluster::agent
