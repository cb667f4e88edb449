#include "backends/sim/thermal.h"

#include "backends/sim/sim_testing.h"
#include "gmock/gmock.h"

namespace gpufleet::backends::sim {
namespace {

using testing::kGpu;

TEST(ThermalModel, SteadyStatesOfAP40) {
  EXPECT_NEAR(SteadyStateC(22, 250, 100, 100), 22 + 250 / 5.6, 1e-9);
  EXPECT_NEAR(SteadyStateC(22, 250, 100, 20), 22 + 250 / 3.28, 1e-9);
  EXPECT_LT(SteadyStateC(22, 250, 0, 20), SteadyStateC(22, 250, 50, 20));
  EXPECT_NEAR(Approach(20, 80, absl::Minutes(2), absl::Minutes(2)), 80 - 60 * std::exp(-1.0), 1e-9);
  BmcSpec bmc;
  EXPECT_EQ(AutomaticDuty(bmc, 22), 20);
  EXPECT_EQ(AutomaticDuty(bmc, 40), 80);
  EXPECT_EQ(AutomaticDuty(bmc, 90), 100);
  EXPECT_EQ(FanRpm(bmc, 20), 3000);
}

class ThermalTest : public testing::SimTest {
 protected:
  void SetUp() override {
    Build(testing::Example("examples/seed/scenario.yaml"));
    bmc_ = std::move(cluster_->NewBmc("r730-1")).value();
    telemetry_ = std::move(cluster_->NewTelemetry("r730-1")).value();
  }
  double Temperature() { return *(*telemetry_->Sample())[0].temperature_c; }
  std::unique_ptr<Bmc> bmc_;
  std::unique_ptr<GpuTelemetry> telemetry_;
};

TEST_F(ThermalTest, TemperatureFollowsLoadAndFansWithATimeConstant) {
  EXPECT_NEAR(Temperature(), 22, 0.05);
  ASSERT_TRUE(cluster_->SetGpuUtilisation("r730-1", kGpu, 100).ok());
  ASSERT_TRUE(bmc_->SetManualDuty(100).ok());
  const double steady = SteadyStateC(22, 250, 100, 100);
  clock_.Advance(absl::Minutes(2));  // one time constant
  EXPECT_NEAR(Temperature(), steady - (steady - 22) * std::exp(-1.0), 0.1);
  clock_.Advance(absl::Hours(1));
  EXPECT_NEAR(Temperature(), steady, 0.1);
  ASSERT_TRUE(bmc_->SetAutomatic().ok());  // the BMC sees only the inlet: 20 %
  clock_.Advance(absl::Hours(1));
  EXPECT_NEAR(Temperature(), SteadyStateC(22, 250, 100, 20), 0.1);
  ASSERT_TRUE(cluster_->SetGpuUtilisation("r730-1", kGpu, std::nullopt).ok());
  clock_.Advance(absl::Hours(1));
  EXPECT_NEAR(Temperature(), SteadyStateC(22, 250, 0, 20), 0.1);
}

TEST_F(ThermalTest, BmcReportsFansAndTheDutyInForce) {
  BmcReading r = *bmc_->Read();
  EXPECT_TRUE(r.automatic);
  EXPECT_EQ(r.duty_pct, -1);
  ASSERT_EQ(r.fans.size(), 6u);
  EXPECT_EQ(r.fans[0], (Fan{"Fan1", 3000}));
  EXPECT_EQ(r.temperatures, (std::vector<TemperatureSensor>{{"Inlet Temp", 22}}));
  ASSERT_TRUE(bmc_->SetManualDuty(60).ok());
  r = *bmc_->Read();
  EXPECT_FALSE(r.automatic);
  EXPECT_EQ(r.duty_pct, 60);
  EXPECT_EQ(r.fans[5].rpm, 9000);
  EXPECT_EQ(bmc_->SetManualDuty(101).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ThermalTest, ABmcThatSeesTheGpuSpinsUp) {
  Scenario s = testing::Example("examples/seed/scenario.yaml");
  s.hosts[0].bmc.sees_gpu_temperature = true;
  Build(s);
  bmc_ = std::move(cluster_->NewBmc("r730-1")).value();
  telemetry_ = std::move(cluster_->NewTelemetry("r730-1")).value();
  ASSERT_TRUE(cluster_->SetGpuUtilisation("r730-1", kGpu, 100).ok());
  clock_.Advance(absl::Hours(1));
  const double t = Temperature();
  EXPECT_LT(t, SteadyStateC(22, 250, 100, 20) - 10);
  const BmcReading r = *bmc_->Read();
  ASSERT_EQ(r.temperatures.size(), 2u);
  EXPECT_EQ(r.temperatures[1].name, "GPU1 Temp");
  EXPECT_GT(r.fans[0].rpm, 3000);
}

TEST_F(ThermalTest, VmLoadDrivesUtilisation) {
  std::unique_ptr<VgpuHost> host = VgpuHostOf("r730-1");
  ASSERT_TRUE(host->CreateInstance({testing::U(1), kGpu, "P40-8Q", -1, "", false}).ok());
  ASSERT_TRUE(host->CreateInstance({testing::U(2), kGpu, "P40-8Q", -1, "", false}).ok());
  std::unique_ptr<Hypervisor> hv = HypervisorOf("r730-1");
  ASSERT_TRUE(hv->StartVm("a", {testing::U(1)}).ok());
  ASSERT_TRUE(hv->StartVm("b", {testing::U(2)}).ok());
  ASSERT_TRUE(cluster_->SetVmLoad("a", 30).ok());
  ASSERT_TRUE(cluster_->SetVmLoad("b", 25).ok());
  GpuSample s = (*telemetry_->Sample())[0];
  EXPECT_EQ(s.utilisation_pct, 55);
  EXPECT_EQ(s.framebuffer_used_mib, 16384);
  EXPECT_EQ(s.framebuffer_total_mib, 24576);
  EXPECT_EQ(s.power_w, PowerW(250, 55));
  ASSERT_EQ(s.vgpus.size(), 2u);
  EXPECT_EQ(s.vgpus[0].utilisation_pct, 30);
  ASSERT_TRUE(hv->StopVm("a").ok());
  EXPECT_EQ((*telemetry_->Sample())[0].utilisation_pct, 25);
}

}  // namespace
}  // namespace gpufleet::backends::sim
