#include "backends/sim/sim_testing.h"
#include "common/strings.h"
#include "gmock/gmock.h"

namespace gpufleet::backends::sim {
namespace {

using testing::Host;
using testing::T0;
using testing::Vm;

class LicenseTest : public testing::SimTest {
 protected:
  void Start(int vws_seats, int vms) {
    Scenario s;
    s.hosts = {Host("a")};
    for (int i = 0; i < vms; ++i) s.vms.push_back(Vm(StrCat("ws-", i), "a", "P40-8Q"));
    s.license_server.lease = absl::Hours(1);
    s.license_server.renewal = absl::Minutes(10);
    s.license_server.pools = {{"vWS", vws_seats}};
    Build(s);
  }
  GuestLicense LicenseOf(std::string_view vm) {
    const std::vector<GuestVm> vms = *HypervisorOf("a")->ListVms();
    for (const GuestVm& g : vms) {
      if (g.name == vm) return g.license.value_or(GuestLicense{});
    }
    return {};
  }
  bool Licensed(std::string_view vm) { return cluster_->Guest(vm)->licensed; }
};

TEST_F(LicenseTest, RunningGuestLeasesASeat) {
  Start(16, 1);
  EXPECT_EQ(LicenseOf("ws-0"), (GuestLicense{"vWS", true, T0() + absl::Hours(1)}));
  EXPECT_EQ(*cluster_->Guest("ws-0"), (GuestCapabilities{true, "vWS", 60, true}));
  EXPECT_EQ(cluster_->LicenseUsage()["vWS"], (PoolUsage{16, 1}));
}

TEST_F(LicenseTest, RenewalKeepsTheLease) {
  Start(16, 1);
  clock_.Advance(absl::Hours(30) + absl::Minutes(5));
  EXPECT_TRUE(Licensed("ws-0"));
  EXPECT_EQ(LicenseOf("ws-0").expires_at, T0() + absl::Hours(31));  // renewed at 30:00
}

TEST_F(LicenseTest, OutageUnlicensesGuestsWhenTheirLeaseEnds) {
  Start(16, 1);
  clock_.Advance(absl::Minutes(5));
  cluster_->SetLicenseServerUp(false);
  clock_.Advance(absl::Minutes(54));
  EXPECT_TRUE(Licensed("ws-0"));  // the lease from 0:00 runs to 1:00
  clock_.Advance(absl::Minutes(2));
  const GuestCapabilities caps = *cluster_->Guest("ws-0");
  const core::UnlicensedBehaviour& unlicensed = core::Catalog::Embedded().unlicensed();
  EXPECT_FALSE(caps.licensed);
  EXPECT_EQ(caps.frame_rate_limit_fps, unlicensed.frame_rate_fps);
  EXPECT_EQ(caps.frame_rate_limit_fps, 3);
  EXPECT_FALSE(caps.cuda);
  EXPECT_EQ(LicenseOf("ws-0"), (GuestLicense{"vWS", false, std::nullopt}));
  cluster_->SetLicenseServerUp(true);
  clock_.Advance(absl::Minutes(10));  // the guest retries at its renewal interval
  EXPECT_TRUE(Licensed("ws-0"));
}

TEST_F(LicenseTest, EmptyPoolLeavesGuestsUnlicensed) {
  Start(1, 2);
  EXPECT_TRUE(Licensed("ws-0"));
  EXPECT_FALSE(Licensed("ws-1"));
  EXPECT_EQ(cluster_->LicenseUsage()["vWS"], (PoolUsage{1, 1}));
  ASSERT_TRUE(HypervisorOf("a")->StopVm("ws-0").ok());  // a clean shutdown returns the seat
  EXPECT_FALSE(Licensed("ws-0"));
  clock_.Advance(absl::Minutes(10));
  EXPECT_TRUE(Licensed("ws-1"));
}

TEST_F(LicenseTest, CrashedGuestHoldsItsSeatUntilTheLeaseEnds) {
  Start(1, 1);
  ASSERT_TRUE(cluster_->CrashHost("a").ok());
  EXPECT_EQ(cluster_->LicenseUsage()["vWS"], (PoolUsage{1, 1}));
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(cluster_->LicenseUsage()["vWS"], (PoolUsage{1, 0}));
}

}  // namespace
}  // namespace gpufleet::backends::sim
