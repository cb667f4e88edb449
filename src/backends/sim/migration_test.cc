#include "backends/sim/sim_testing.h"
#include "gmock/gmock.h"
#include "planner/planner.h"

namespace gpufleet::backends::sim {
namespace {

using ::testing::HasSubstr;
using testing::Host;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using testing::Vm;

class MigrationTest : public testing::SimTest {
 protected:
  // ws-1 (P40-8Q) runs on "a"; "b" is an empty P40 host unless changed.
  void Start(HostSpec b, std::string hypervisor = "kvm", bool hotmigrate = true) {
    Scenario s;
    s.hosts = {Host("a"), std::move(b)};
    for (HostSpec& h : s.hosts) {
      h.hypervisor = hypervisor;
      h.hotmigrate &= hotmigrate;
    }
    s.vms = {Vm("ws-1", "a", "P40-8Q")};
    extra(s);
    Build(s);
  }
  absl::StatusOr<absl::Duration> Migrate() { return HypervisorOf("a")->MigrateVm("ws-1", "b"); }
  void ExpectRefused(std::string_view text) {
    absl::StatusOr<absl::Duration> r = Migrate();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(text));
    EXPECT_THAT(*VgpuHostOf("a")->ListInstances(), SizeIs(1));  // nothing moved
  }
  std::function<void(Scenario&)> extra = [](Scenario&) {};
};

TEST_F(MigrationTest, MovesTheVmAndItsVgpuWithAStunTime) {
  Start(Host("b"));
  const Uuid uuid = DerivedUuid("ws-1");
  absl::StatusOr<absl::Duration> stun = Migrate();
  ASSERT_TRUE(stun.ok()) << stun.status();
  EXPECT_EQ(*stun, absl::Seconds(planner::EstimateStunSeconds(8192, 10)));
  EXPECT_THAT(*VgpuHostOf("a")->ListInstances(), IsEmpty());
  EXPECT_THAT(*HypervisorOf("a")->ListVms(), IsEmpty());
  std::vector<VgpuInstance> there = *VgpuHostOf("b")->ListInstances();
  ASSERT_THAT(there, SizeIs(1));
  EXPECT_EQ(there[0], (VgpuInstance{uuid, testing::kGpu, "P40-8Q", -1, "ws-1", true}));
  std::vector<GuestVm> vms = *HypervisorOf("b")->ListVms();
  ASSERT_THAT(vms, SizeIs(1));
  EXPECT_TRUE(vms[0].running);
  EXPECT_EQ(vms[0].vgpus, std::vector<Uuid>{uuid});
  EXPECT_EQ(VgpuHostOf("a")->Facts()->gpus[0].carved_type, "");
}

// KVM: the destination's agent creates the VM's mediated device first; the VM moves onto it,
// on the GPU and at the placement the device was created with.
TEST_F(MigrationTest, MovesOntoTheDevicesTheDestinationCreated) {
  HostSpec b = Host("b");
  b.gpus.push_back(b.gpus.front());
  b.gpus.back().id = "0000:af:00.0";
  Start(std::move(b));
  const Uuid uuid = DerivedUuid("ws-1");
  ASSERT_TRUE(
      VgpuHostOf("b")->CreateInstance({uuid, "0000:af:00.0", "P40-8Q", -1, "", false}).ok());
  absl::StatusOr<absl::Duration> stun = Migrate();
  ASSERT_TRUE(stun.ok()) << stun.status();
  EXPECT_EQ(*stun, absl::Seconds(planner::EstimateStunSeconds(8192, 10)));
  EXPECT_THAT(*VgpuHostOf("a")->ListInstances(), IsEmpty());
  std::vector<VgpuInstance> there = *VgpuHostOf("b")->ListInstances();
  ASSERT_THAT(there, SizeIs(1));
  EXPECT_EQ(there[0], (VgpuInstance{uuid, "0000:af:00.0", "P40-8Q", -1, "ws-1", true}));
  std::vector<GuestVm> vms = *HypervisorOf("b")->ListVms();
  ASSERT_THAT(vms, SizeIs(1));
  EXPECT_TRUE(vms[0].running);
}

TEST_F(MigrationTest, APreCreatedDeviceOfAnotherTypeIsRefused) {
  Start(Host("b"));
  ASSERT_TRUE(VgpuHostOf("b")
                  ->CreateInstance({DerivedUuid("ws-1"), testing::kGpu, "P40-4Q", -1, "", false})
                  .ok());
  ExpectRefused("is a P40-4Q, not the P40-8Q the domain uses");
}

TEST_F(MigrationTest, StunTimeFollowsTheSlowerLink) {
  HostSpec b = Host("b");
  b.link_gbps = 25;
  Start(std::move(b));
  EXPECT_EQ(*Migrate(), absl::Seconds(planner::EstimateStunSeconds(8192, 10)));
}

TEST_F(MigrationTest, KvmWithMigrationDisabled) {
  Start(Host("b"), "kvm", /*hotmigrate=*/false);
  ExpectRefused("domain has assigned non-USB host devices");
}

TEST_F(MigrationTest, VsphereWithHotmigrateOff) {
  Start(Host("b"), "vsphere", /*hotmigrate=*/false);
  ExpectRefused("vgpu.hotmigrate.enabled is false");
}

TEST_F(MigrationTest, DifferentDriverBranch) {
  HostSpec b = Host("b");
  b.vgpu_manager = "535.54.06";
  Start(std::move(b), "vsphere");
  ExpectRefused("vGPU manager driver branch differs: source R525");
}

TEST_F(MigrationTest, KvmNeedsIdenticalManagers) {
  HostSpec b = Host("b");
  b.vgpu_manager = "525.147.01";
  Start(std::move(b));
  ExpectRefused("vGPU manager versions differ");
}

TEST_F(MigrationTest, EccDiffers) {
  Start(Host("b", "P40", /*ecc=*/true));
  ExpectRefused("ECC differs");
}

TEST_F(MigrationTest, DestinationCarvedForAnotherType) {
  extra = [](Scenario& s) { s.vms.push_back(Vm("vdi-1", "b", "P40-2Q")); };
  Start(Host("b"));
  ExpectRefused("no compatible free slot for vGPU P40-8Q");
}

TEST_F(MigrationTest, DestinationWithAnotherBoard) {
  Start(Host("b", "T4"));
  ExpectRefused("has no Tesla P40 GPU");
}

TEST_F(MigrationTest, VsphereNamesTheProfile) {
  extra = [](Scenario& s) { s.vms.push_back(Vm("vdi-1", "b", "P40-2Q")); };
  Start(Host("b"), "vsphere");
  ExpectRefused("grid_p40-8q");
}

TEST_F(MigrationTest, OnlyRunningVmsMove) {
  Start(Host("b"));
  ASSERT_TRUE(HypervisorOf("a")->StopVm("ws-1").ok());
  ExpectRefused("domain is not running");
  EXPECT_EQ(HypervisorOf("a")->MigrateVm("nope", "b").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(HypervisorOf("a")->StartVm("ws-1", {DerivedUuid("ws-1")}).ok());
  EXPECT_EQ(HypervisorOf("a")->MigrateVm("ws-1", "c").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gpufleet::backends::sim
