#include "controller/cluster_catalog.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace hacluster::controller {
namespace {

// A valid two-node spec of cluster `name` with VIP `vip` and api.listen.
std::string Spec(const std::string& name, const std::string& vip, const std::string& listen,
                 int base) {
  return absl::StrCat(R"(cluster_name: )", name, R"(
config_version: 3
nodes:
  - {name: a, addresses: [192.0.2.)", base, R"(]}
  - {name: b, addresses: [192.0.2.)", base + 1, R"(]}
media:
  - ucast: {interface: lo}
auth:
  active_key: 1
  keys: [{id: 1, method: sha256, secret_file: authkey}]
groups:
  - name: web
    preferred_node: a
    resources:
      - ip: {address: )", vip, R"(, prefix_length: 24}
api:
  listen: [")", listen, R"("]
  tls_cert: node.crt
  tls_key: node.key
  tls_client_ca: ca.crt
)");
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hac-catalog-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Write("authkey", "0123456789abcdef0123456789abcdef\n");
    chmod((dir_ + "/authkey").c_str(), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
};

TEST_F(CatalogTest, ADirectoryOfSpecsGivesEveryNodesEndpointsAndVips) {
  Write("pair1.yaml", Spec("pair1", "192.0.2.100", ":7443", 11));
  Write("pair2.yml", Spec("pair2", "192.0.2.101", "127.0.0.1:7500", 21));
  Write("notes.txt", "not a spec");
  absl::StatusOr<Catalog> c = LoadCatalog(dir_);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->clusters.size(), 2u);
  EXPECT_EQ(c->clusters[0].name, "pair1");
  ASSERT_EQ(c->clusters[0].nodes.size(), 2u);
  EXPECT_EQ(c->clusters[0].nodes[1].name, "b");
  ASSERT_EQ(c->clusters[0].nodes[1].endpoints.size(), 1u);
  EXPECT_EQ(c->clusters[0].nodes[1].endpoints[0], "192.0.2.12:7443");  // ":PORT": its own address
  EXPECT_EQ(c->clusters[1].nodes[0].endpoints[0], "127.0.0.1:7500");
  EXPECT_EQ(c->by_address.at("192.0.2.101").first, 1u);
  EXPECT_EQ(c->by_address.at("192.0.2.101").second, "web");
  EXPECT_NE(c->Find("pair2"), nullptr);
  EXPECT_EQ(c->Find("nope"), nullptr);
}

TEST_F(CatalogTest, OneFileIsOneCluster) {
  Write("one.yaml", Spec("one", "192.0.2.100", ":7443", 11));
  absl::StatusOr<Catalog> c = LoadCatalog(dir_ + "/one.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->clusters.size(), 1u);
}

TEST_F(CatalogTest, RefusalsNameTheFiles) {
  Write("a.yaml", Spec("same", "192.0.2.100", ":7443", 11));
  Write("b.yaml", Spec("same", "192.0.2.101", ":7443", 21));
  absl::StatusOr<Catalog> c = LoadCatalog(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "cluster same is in both")) << c.status();

  std::filesystem::remove(dir_ + "/b.yaml");
  Write("b.yaml", Spec("other", "192.0.2.100", ":7443", 21));
  c = LoadCatalog(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "virtual IP 192.0.2.100 is in cluster"))
      << c.status();

  std::filesystem::remove(dir_ + "/b.yaml");
  Write("b.yaml", "cluster_name: broken\nnodes: 7\n");
  c = LoadCatalog(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), dir_ + "/b.yaml")) << c.status();

  std::filesystem::remove(dir_ + "/a.yaml");
  std::filesystem::remove(dir_ + "/b.yaml");
  c = LoadCatalog(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "no *.yaml")) << c.status();
}

TEST_F(CatalogTest, ASpecWithoutApiListenIsRefused) {
  std::string spec = Spec("quiet", "192.0.2.100", ":7443", 11);
  spec = spec.substr(0, spec.find("api:"));
  Write("quiet.yaml", spec);
  absl::StatusOr<Catalog> c = LoadCatalog(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "api.listen is empty")) << c.status();
}

}  // namespace
}  // namespace hacluster::controller
