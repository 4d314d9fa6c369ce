// MakeMedia as a pure function of the spec: what it builds, names and
// refuses. No sockets are opened here.
#include <memory>
#include <string>
#include <vector>

#include "agent/media/medium.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace hacluster::media {
namespace {

spec::v1::ClusterSpec Spec(const std::string& text) {
  spec::v1::ClusterSpec spec;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << text;
  return spec;
}

const char kNodes[] = R"(
  cluster_name: "c"
  nodes { name: "a" addresses: "127.0.0.1" }
  nodes { name: "b" addresses: "127.0.0.2" }
)";

std::vector<std::string> LinkNames(const std::vector<std::unique_ptr<Medium>>& media) {
  std::vector<std::string> out;
  for (const auto& m : media) out.push_back(m->link_name());
  return out;
}

std::vector<std::string> Descriptions(const std::vector<std::unique_ptr<Medium>>& media) {
  std::vector<std::string> out;
  for (const auto& m : media) out.push_back(m->description());
  return out;
}

TEST(MakeMediaTest, BuildsEveryKindInSpecOrderUnopened) {
  auto media = MakeMedia(Spec(std::string(kNodes) + R"(
    udp_port: 1694
    media { bcast { interface: "eth1" } }
    media { ucast { interface: "eth2" } }
    media { mcast { interface: "eth3" group: "239.255.0.1" port: 695 } }
    media { serial { device: "/dev/ttyS0" } }
    media { mcast { interface: "eth4" group: "239.255.0.2" ttl: 4 loop: true } }
    media { serial { device: "/dev/ttyUSB1" baud: 115200 } }
  )"),
                         "a");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(LinkNames(*media),
            (std::vector<std::string>{"eth1", "eth2", "eth3", "ttyS0", "eth4", "ttyUSB1"}));
  EXPECT_EQ(Descriptions(*media), (std::vector<std::string>{
                                      "bcast eth1 port 1694",
                                      "ucast eth2 port 1694 -> 127.0.0.2",
                                      "mcast eth3 group 239.255.0.1 port 695 ttl 1 loop off",
                                      "serial /dev/ttyS0 19200 baud",
                                      "mcast eth4 group 239.255.0.2 port 1694 ttl 4 loop on",
                                      "serial /dev/ttyUSB1 115200 baud",
                                  }));
  for (const auto& m : *media) EXPECT_EQ(m->fd(), -1) << m->description();
}

TEST(MakeMediaTest, PortDefaultsTo694) {
  auto media = MakeMedia(Spec(std::string(kNodes) + R"(media { bcast { interface: "eth1" } })"),
                         "b");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ((*media)[0]->description(), "bcast eth1 port 694");
}

TEST(MakeMediaTest, SharedLinkNamesGetNumberSuffixes) {
  auto media = MakeMedia(Spec(std::string(kNodes) + R"(
    media { bcast { interface: "eth1" } }
    media { mcast { interface: "eth1" group: "239.255.0.1" } }
    media { ucast { interface: "eth1" } }
    media { bcast { interface: "eth1#2" port: 700 } }
    media { bcast { interface: "eth0" } }
  )"),
                         "a");
  ASSERT_TRUE(media.ok()) << media.status();
  // "eth1#2" is some medium's own interface name, so the second eth1 medium
  // skips to #3.
  EXPECT_EQ(LinkNames(*media),
            (std::vector<std::string>{"eth1", "eth1#3", "eth1#4", "eth1#2", "eth0"}));
}

TEST(MakeMediaTest, UcastWithoutInterfaceIsNamedByItsBindAddress) {
  auto media = MakeMedia(Spec(std::string(kNodes) + R"(media { ucast { } } media { ucast { } })"),
                         "b");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ(LinkNames(*media), (std::vector<std::string>{"127.0.0.2", "127.0.0.2#2"}));
  EXPECT_EQ((*media)[0]->description(), "ucast port 694 -> 127.0.0.1");
}

TEST(MakeMediaTest, UcastBindsTheOwnAddressPeersSendTo) {
  // Node a has two addresses; the peers list names only .9 for it.
  auto media = MakeMedia(Spec(R"(
    cluster_name: "c"
    nodes { name: "a" addresses: "127.0.0.1" addresses: "127.0.0.9" }
    nodes { name: "b" addresses: "127.0.0.2" }
    media { ucast { peers: "127.0.0.9" peers: "127.0.0.2" } }
  )"),
                         "a");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ((*media)[0]->link_name(), "127.0.0.9");
  EXPECT_EQ((*media)[0]->description(), "ucast port 694 -> 127.0.0.2");
}

TEST(MakeMediaTest, UcastThatNobodySendsToBindsFirstOwnAddressOfTheFamily) {
  // b's peers list names nothing of a's, so a binds its first IPv4 address.
  auto media = MakeMedia(Spec(R"(
    cluster_name: "c"
    nodes { name: "a" addresses: "::1" addresses: "127.0.0.5" addresses: "127.0.0.6" }
    nodes { name: "b" addresses: "127.0.0.2" }
    media { ucast { peers: "127.0.0.2" } }
  )"),
                         "a");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ((*media)[0]->link_name(), "127.0.0.5");
}

TEST(MakeMediaTest, UcastReachedOnSeveralOwnAddressesBindsTheWildcard) {
  // Two addresses per node and one ucast medium: each node sends to every
  // address of the others, so a is reached on both of its own.
  auto media = MakeMedia(Spec(R"(
    cluster_name: "c"
    nodes { name: "a" addresses: "127.0.0.1" addresses: "127.0.0.11" }
    nodes { name: "b" addresses: "127.0.0.2" addresses: "127.0.0.12" }
    media { ucast { interface: "" } }
  )"),
                         "a");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ((*media)[0]->link_name(), "ucast");
  EXPECT_EQ((*media)[0]->description(), "ucast port 694 -> 127.0.0.2, 127.0.0.12");
}

TEST(MakeMediaTest, UcastToNobodyIsStillBuilt) {
  auto media = MakeMedia(Spec(R"(
    cluster_name: "c"
    nodes { name: "solo" addresses: "127.0.0.1" }
    media { ucast { interface: "lo" } }
  )"),
                         "solo");
  ASSERT_TRUE(media.ok()) << media.status();
  EXPECT_EQ((*media)[0]->description(), "ucast lo port 694 -> nobody");
}

TEST(MakeMediaTest, UnknownLocalNodeIsRefused) {
  auto media = MakeMedia(Spec(std::string(kNodes) + R"(media { bcast { interface: "eth1" } })"),
                         "c");
  EXPECT_EQ(media.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(media.status().message(), "node 'c' is not one of the spec's nodes");
}

struct BadCase {
  const char* media;
  const char* error;
};

class MakeMediaErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(MakeMediaErrorTest, NamesTheMediumAndTheProblem) {
  auto media = MakeMedia(Spec(std::string(kNodes) + R"(media { bcast { interface: "eth0" } })" +
                              GetParam().media),
                         "a");
  EXPECT_EQ(media.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(media.status().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Refusals, MakeMediaErrorTest,
    ::testing::Values(
        BadCase{"media { }", "media[1]: no kind set (ucast, bcast, mcast or serial)"},
        BadCase{R"(media { bcast { } })", "media[1] (bcast  port 694): a bcast medium needs an interface"},
        BadCase{R"(media { mcast { group: "239.255.0.1" } })",
                "media[1] (mcast  group 239.255.0.1 port 694 ttl 1 loop off): an mcast medium "
                "needs an interface"},
        BadCase{R"(media { mcast { interface: "eth1" group: "192.0.2.1" } })",
                "media[1] (mcast eth1 group 192.0.2.1 port 694 ttl 1 loop off): '192.0.2.1' is "
                "not a multicast address"},
        BadCase{R"(media { mcast { interface: "eth1" group: "all-nodes" } })",
                "media[1] (mcast eth1 group all-nodes port 694 ttl 1 loop off): 'all-nodes' is "
                "not a numeric IPv4 or IPv6 address"},
        BadCase{R"(media { mcast { interface: "eth1" group: "239.255.0.1" ttl: 300 } })",
                "media[1] (mcast eth1 group 239.255.0.1 port 694 ttl 300 loop off): multicast "
                "TTL 300 is out of range 1..255"},
        BadCase{R"(media { ucast { interface: "eth1" peers: "node2" } })",
                "media[1] (ucast eth1 port 694 -> node2): 'node2' is not a numeric IPv4 or IPv6 "
                "address"},
        BadCase{R"(media { ucast { port: 70000 } })", "media[1]: UDP port 70000 is out of range"},
        BadCase{R"(media { serial { device: "/dev/ttyS0" baud: 12345 } })",
                "media[1] (serial /dev/ttyS0 12345 baud): 12345 baud is not a rate termios "
                "supports"},
        BadCase{R"(media { serial { } })",
                "media[1] (serial  19200 baud): a serial medium needs a device"},
        BadCase{R"(media { serial { device: "/dev/" } })",
                "media[1] (serial /dev/ 19200 baud): the device path names no device"}));

TEST(MakeMediaTest, OwnAddressThatIsNotNumericIsNamed) {
  auto media = MakeMedia(Spec(R"(
    cluster_name: "c"
    nodes { name: "a" addresses: "alpha.example" }
    nodes { name: "b" addresses: "127.0.0.2" }
    media { ucast { } }
  )"),
                         "a");
  EXPECT_EQ(media.status().message(),
            "media[0] (ucast port 694 -> 127.0.0.2): node a: 'alpha.example' is not a numeric "
            "IPv4 or IPv6 address");
}

}  // namespace
}  // namespace hacluster::media
