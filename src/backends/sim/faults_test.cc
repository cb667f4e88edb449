#include "backends/sim/sim_testing.h"
#include "gmock/gmock.h"

namespace gpufleet::backends::sim {
namespace {

using ::testing::HasSubstr;
using testing::kGpu;
using ::testing::SizeIs;
using testing::U;

class FaultsTest : public testing::SimTest {
 protected:
  void SetUp() override {
    Scenario s = testing::Example("examples/seed/scenario.yaml");
    s.vms = {testing::Vm("ws-1", "r730-1", "P40-8Q")};
    Build(s);
    host_ = VgpuHostOf("r730-1");
  }
  absl::Status Create(int uuid) {
    return host_->CreateInstance(VgpuInstance{U(uuid), kGpu, "P40-8Q", -1, "", false});
  }
  std::unique_ptr<VgpuHost> host_;
};

TEST_F(FaultsTest, CrashedHostAnswersNothingUntilItRestarts) {
  ASSERT_TRUE(cluster_->CrashHost("r730-1").ok());
  std::unique_ptr<Hypervisor> hv = HypervisorOf("r730-1");
  std::unique_ptr<GpuTelemetry> telemetry = std::move(cluster_->NewTelemetry("r730-1")).value();
  EXPECT_EQ(host_->Facts().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(host_->ListInstances().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Create(1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(hv->ListVms().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(telemetry->Sample().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(std::move(cluster_->NewBmc("r730-1")).value()->Read().ok());  // out of band

  ASSERT_TRUE(cluster_->RestartHost("r730-1").ok());
  std::vector<GuestVm> vms = *hv->ListVms();
  ASSERT_THAT(vms, SizeIs(1));
  EXPECT_FALSE(vms[0].running);  // stopped by the crash
  std::vector<VgpuInstance> list = *host_->ListInstances();
  ASSERT_THAT(list, SizeIs(1));  // recreated at boot
  EXPECT_FALSE(list[0].active);
  EXPECT_TRUE(hv->StartVm("ws-1", {list[0].uuid}).ok());
}

TEST_F(FaultsTest, RestartWithoutPersistentInstances) {
  ASSERT_TRUE(cluster_->CrashHost("r730-1").ok());
  ASSERT_TRUE(cluster_->RestartHost("r730-1", RestartOptions{false}).ok());
  EXPECT_THAT(*host_->ListInstances(), ::testing::IsEmpty());
  EXPECT_EQ(host_->Facts()->gpus[0].carved_type, "");
}

TEST_F(FaultsTest, GpuFallenOffTheBus) {
  ASSERT_TRUE(cluster_->LoseGpu("r730-1", kGpu).ok());
  std::unique_ptr<GpuTelemetry> telemetry = std::move(cluster_->NewTelemetry("r730-1")).value();
  std::vector<GpuSample> samples = *telemetry->Sample();
  ASSERT_THAT(samples, SizeIs(1));
  EXPECT_TRUE(samples[0].lost);
  EXPECT_EQ(samples[0].xid, 79);
  EXPECT_FALSE(samples[0].temperature_c.has_value());
  absl::Status s = Create(1);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("fallen off the bus"));
  EXPECT_EQ(host_->Creatable(kGpu).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(cluster_->RestartHost("r730-1").ok());
  EXPECT_FALSE((*telemetry->Sample())[0].lost);
}

TEST_F(FaultsTest, BmcUnreachable) {
  std::unique_ptr<Bmc> bmc = std::move(cluster_->NewBmc("r730-2")).value();
  ASSERT_TRUE(cluster_->SetBmcReachable("r730-2", false).ok());
  EXPECT_EQ(bmc->Read().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(bmc->SetAutomatic().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(cluster_->SetBmcReachable("r730-2", true).ok());
  EXPECT_TRUE(bmc->SetManualDuty(50).ok());
}

TEST_F(FaultsTest, FailingSysfsWritesAreSeeded) {
  ASSERT_TRUE(cluster_->SetSysfsFaults("r730-2", 1.0, absl::ZeroDuration()).ok());
  std::unique_ptr<VgpuHost> b = VgpuHostOf("r730-2");
  absl::Status s = b->CreateInstance(VgpuInstance{U(1), kGpu, "P40-1Q", -1, "", false});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("nvidia-"));
  EXPECT_THAT(s.message(), HasSubstr("Input/output error"));
  ASSERT_TRUE(cluster_->SetSysfsFaults("r730-2", 0.5, absl::ZeroDuration()).ok());
  int failed = 0;
  for (int i = 0; i < 24; ++i) {
    failed += !b->CreateInstance(VgpuInstance{U(i), kGpu, "P40-1Q", -1, "", false}).ok();
  }
  EXPECT_GT(failed, 3);
  EXPECT_LT(failed, 21);
  EXPECT_EQ(cluster_->SetSysfsFaults("r730-2", 2, absl::ZeroDuration()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FaultsTest, SlowSysfsWritesTakeTheirTime) {
  ASSERT_TRUE(cluster_->SetSysfsFaults("r730-1", 0, absl::Seconds(2)).ok());
  const absl::Time before = clock_.Now();
  ASSERT_TRUE(Create(1).ok());
  EXPECT_EQ(clock_.Now() - before, absl::Seconds(2));
}

TEST_F(FaultsTest, FaultsFromTheScenario) {
  Scenario s = testing::Example("examples/seed/scenario.yaml");
  s.vms = {testing::Vm("ws-1", "r730-1", "P40-8Q")};
  s.faults.crashed_hosts = {"r730-3"};
  s.faults.license_server_down = true;
  s.faults.lost_gpus = {{"r730-2", kGpu}};
  s.faults.bmc_unreachable = {"r730-2"};
  Build(s);
  EXPECT_EQ(VgpuHostOf("r730-3")->Facts().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(cluster_->Guest("ws-1")->licensed);
  EXPECT_TRUE((*std::move(cluster_->NewTelemetry("r730-2")).value()->Sample())[0].lost);
  EXPECT_FALSE(std::move(cluster_->NewBmc("r730-2")).value()->Read().ok());
  s.faults.crashed_hosts = {"r730-9"};
  os::FakeClock clock(testing::T0());
  EXPECT_EQ(SimCluster::Create(s, clock).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gpufleet::backends::sim
