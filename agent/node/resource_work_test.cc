// RunResourceOp's probe: a monitor with interval 0 (as Pacemaker runs
// probes), its "may be running" verdict for each outcome; against a small
// OCF agent the test writes, which answers as real ones do.
#include "agent/node/resource_work.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace hacluster::agent {
namespace {

// An OCF agent whose monitor says NOT_RUNNING (7) for a probe (interval 0)
// and, like agents whose state directory does not exist yet, a generic
// error (1) for a recurring monitor; `state` is the file that says it runs.
constexpr char kAgent[] = R"(#!/bin/sh
case "$1" in
  monitor)
    if [ -e "$OCF_RESKEY_state" ]; then exit 0; fi
    if [ "$OCF_RESKEY_CRM_meta_interval" = 0 ]; then exit 7; fi
    exit 1 ;;
  *) exit 3 ;;
esac
)";

class ResourceWorkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/hac-resource-work-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    const std::string agents = dir_ + "/ocf/resource.d/test";
    std::filesystem::create_directories(agents);
    {
      std::ofstream f(agents + "/Probed");
      f << kAgent;
    }
    ASSERT_EQ(chmod((agents + "/Probed").c_str(), 0755), 0);
    paths_.ocf_root = dir_ + "/ocf";
    r_.mutable_ocf()->set_provider("test");
    r_.mutable_ocf()->set_type("Probed");
    (*r_.mutable_ocf()->mutable_params())["state"] = dir_ + "/running";
    r_.mutable_monitor_interval()->set_seconds(10);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  WorkResult Run(v1::ResourceOp op) { return RunResourceOp(r_, op, std::nullopt, paths_, nullptr); }

  std::string dir_;
  exec::ScriptPaths paths_;
  spec::v1::Resource r_;
};

TEST_F(ResourceWorkTest, ProbeIsAMonitorWithIntervalZeroAndSaysNotRunningCleanly) {
  WorkResult probe = Run(v1::RESOURCE_OP_PROBE);
  EXPECT_FALSE(probe.ok) << probe.message;
  EXPECT_FALSE(probe.may_be_running) << probe.message;
  // The recurring monitor of the same resource is in doubt.
  WorkResult monitor = Run(v1::RESOURCE_OP_MONITOR);
  EXPECT_FALSE(monitor.ok);
  EXPECT_TRUE(monitor.may_be_running) << monitor.message;
}

TEST_F(ResourceWorkTest, ProbeFindsARunningResource) {
  std::ofstream(dir_ + "/running") << "1";
  WorkResult probe = Run(v1::RESOURCE_OP_PROBE);
  EXPECT_TRUE(probe.ok) << probe.message;
  EXPECT_TRUE(probe.may_be_running);
}

TEST_F(ResourceWorkTest, ProbeOfAMissingAgentIsInDoubt) {
  r_.mutable_ocf()->set_type("Missing");
  WorkResult probe = Run(v1::RESOURCE_OP_PROBE);
  EXPECT_FALSE(probe.ok);
  EXPECT_TRUE(probe.may_be_running) << probe.message;
}

}  // namespace
}  // namespace hacluster::agent
