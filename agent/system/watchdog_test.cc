// The watchdog against a stand-in device (a FIFO this test reads): errors
// at open name the device and the reason, keep-alives are writes, the
// magic close only comes from Disarm. (A real agent with a stand-in
// device: tests/cluster:agent_system_test.)
#include "agent/system/watchdog.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

class WatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/watchdog-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fifo_ = dir_ + "/watchdog";
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
  }
  void TearDown() override {
    if (reader_ >= 0) close(reader_);
    unlink(fifo_.c_str());
    rmdir(dir_.c_str());
  }
  void OpenReader() {
    reader_ = open(fifo_.c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader_, 0);
  }
  std::string Drain() {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = read(reader_, buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }

  std::string dir_, fifo_;
  int reader_ = -1;
};

TEST_F(WatchdogTest, AMissingDeviceIsAnErrorNamingItAndWhy) {
  auto w = Watchdog::Open(dir_ + "/nothing", absl::Seconds(2));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "watchdog_device " + dir_ + "/nothing: cannot open: No such file or directory (is "
            "the watchdog driver loaded? e.g. modprobe softdog)");
}

TEST_F(WatchdogTest, ADeviceNobodyServesIsAnError) {
  // A FIFO without a reader: ENXIO at once, not a hang.
  auto w = Watchdog::Open(fifo_, absl::Seconds(2));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(),
            "watchdog_device " + fifo_ + ": cannot open: No such device or address");
}

TEST_F(WatchdogTest, KeepAlivesAreWritesAndOnlyDisarmWritesTheMagicClose) {
  OpenReader();
  auto w = Watchdog::Open(fifo_, absl::Seconds(2));
  ASSERT_TRUE(w.ok()) << w.status();
  // A FIFO answers no watchdog ioctl: its timeout is unknown.
  EXPECT_EQ((*w)->timeout(), absl::ZeroDuration());
  EXPECT_EQ((*w)->KeepAliveInterval(), absl::Seconds(1));
  EXPECT_NE((*w)->identity().find("answers no watchdog ioctl"), std::string::npos);
  ASSERT_TRUE((*w)->KeepAlive().ok());
  ASSERT_TRUE((*w)->KeepAlive().ok());
  EXPECT_EQ(Drain(), "kk");
  ASSERT_TRUE((*w)->Disarm().ok());
  EXPECT_EQ(Drain(), "V");
  EXPECT_FALSE((*w)->KeepAlive().ok());
}

TEST_F(WatchdogTest, ClosingWithoutDisarmLeavesItArmed) {
  OpenReader();
  {
    auto w = Watchdog::Open(fifo_, absl::Seconds(2));
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->KeepAlive().ok());
  }
  // Closed (as at a crash): no 'V'.
  EXPECT_EQ(Drain(), "k");
}

}  // namespace
}  // namespace hacluster::agent
