#include <thread>

#include "backends/sim/sim_testing.h"
#include "gmock/gmock.h"

namespace gpufleet::backends::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::kGpu;
using ::testing::SizeIs;
using testing::U;

class VgpuHostTest : public testing::SimTest {
 protected:
  void SetUp() override {
    Build(testing::Example("examples/seed/scenario.yaml"));
    host_ = VgpuHostOf("r730-1");
  }
  absl::Status Create(int uuid, std::string type, int placement = -1) {
    return host_->CreateInstance(
        VgpuInstance{U(uuid), kGpu, std::move(type), placement, "", false});
  }
  std::unique_ptr<VgpuHost> host_;
};

TEST_F(VgpuHostTest, FactsOfTheSeedHost) {
  absl::StatusOr<HostFacts> facts = host_->Facts();
  ASSERT_TRUE(facts.ok()) << facts.status();
  EXPECT_EQ(facts->hypervisor, "kvm");
  EXPECT_EQ(facts->manager_version, "525.105.14");
  EXPECT_TRUE(facts->hotmigrate);
  ASSERT_THAT(facts->gpus, SizeIs(1));
  EXPECT_EQ(facts->gpus[0], (PhysicalGpu{kGpu, "Tesla P40", "unconfigured", "", false}));
}

TEST_F(VgpuHostTest, EmptyGpuOffersEveryTypeAtItsMaximum) {
  absl::StatusOr<std::vector<CreatableType>> types = host_->Creatable(kGpu);
  ASSERT_TRUE(types.ok()) << types.status();
  EXPECT_EQ(types->size(), testing::Board("P40")->types.size());
  for (const CreatableType& c : *types) {
    EXPECT_EQ(c.available, testing::Type(c.type)->max_instances) << c.type;
    EXPECT_THAT(c.placements, IsEmpty());
  }
}

TEST_F(VgpuHostTest, EqualSizeGpuRefusesASecondType) {
  ASSERT_TRUE(Create(1, "P40-4Q").ok());
  absl::Status s = Create(2, "P40-8Q");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("available_instances is 0"));
  EXPECT_THAT(s.message(), HasSubstr("one type per physical GPU"));
  absl::StatusOr<std::vector<CreatableType>> types = host_->Creatable(kGpu);
  ASSERT_TRUE(types.ok());
  EXPECT_EQ(*types, (std::vector<CreatableType>{{"P40-4Q", 5, {}}}));
  absl::StatusOr<HostFacts> facts = host_->Facts();
  EXPECT_EQ(facts->gpus[0].mode, "equal-size");
  EXPECT_EQ(facts->gpus[0].carved_type, "P40-4Q");
}

TEST_F(VgpuHostTest, MaxInstancesIsEnforced) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Create(i, "P40-8Q").ok());
  EXPECT_EQ(Create(9, "P40-8Q").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(*host_->Creatable(kGpu), IsEmpty());
}

TEST_F(VgpuHostTest, CreateIsIdempotentAndUuidsAreUnique) {
  ASSERT_TRUE(Create(1, "P40-8Q").ok());
  EXPECT_TRUE(Create(1, "P40-8Q").ok());
  EXPECT_TRUE(Create(1, "grid_p40-8q").ok());  // any spelling of the same type
  EXPECT_EQ(Create(1, "P40-12Q").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(*host_->ListInstances(), SizeIs(1));
}

TEST_F(VgpuHostTest, WrongTypeOrGpu) {
  EXPECT_EQ(Create(1, "T4-4Q").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      host_->CreateInstance(VgpuInstance{U(1), "0000:00:00.0", "P40-8Q", -1, "", false}).code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(Create(1, "P40-8Q", 0).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(VgpuHostTest, RemovalTakesTheTeardownDelayAndBlocksRecarving) {
  ASSERT_TRUE(Create(1, "P40-4Q").ok());
  absl::Status s = host_->RemoveInstance(U(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("busy, retry"));
  EXPECT_THAT(*host_->ListInstances(), SizeIs(1));  // still there, tearing down
  EXPECT_EQ(Create(2, "P40-8Q").code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(host_->RemoveInstance(U(1)).code(), absl::StatusCode::kUnavailable);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(host_->RemoveInstance(U(1)).ok());
  EXPECT_THAT(*host_->ListInstances(), IsEmpty());
  EXPECT_TRUE(Create(2, "P40-8Q").ok());  // empty again: free to re-carve
}

TEST_F(VgpuHostTest, TornDownInstanceDisappearsWithoutAnotherRemove) {
  ASSERT_TRUE(Create(1, "P40-4Q").ok());
  (void)host_->RemoveInstance(U(1));
  clock_.Advance(absl::Seconds(3));
  EXPECT_THAT(*host_->ListInstances(), IsEmpty());
  EXPECT_TRUE(host_->RemoveInstance(U(1)).ok());  // removing what is gone is success
}

TEST_F(VgpuHostTest, ActiveInstanceCannotBeRemoved) {
  ASSERT_TRUE(Create(1, "P40-8Q").ok());
  std::unique_ptr<Hypervisor> hv = HypervisorOf("r730-1");
  ASSERT_TRUE(hv->StartVm("ws-1", {U(1)}).ok());
  std::vector<VgpuInstance> list = *host_->ListInstances();
  ASSERT_THAT(list, SizeIs(1));
  EXPECT_TRUE(list[0].active);
  EXPECT_EQ(list[0].vm, "ws-1");
  EXPECT_EQ(host_->RemoveInstance(U(1)).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(hv->StopVm("ws-1").ok());
  EXPECT_EQ(host_->RemoveInstance(U(1)).code(), absl::StatusCode::kUnavailable);  // tearing down
}

}  // namespace
}  // namespace gpufleet::backends::sim

namespace gpufleet::backends::sim {
namespace {

// Agents on several threads drive their hosts at once (run under ASan in the dev preset).
TEST(SimClusterThreads, AgentsOnSeveralThreads) {
  os::FakeClock clock(testing::T0());
  Scenario s = testing::Example("examples/seed/scenario.yaml");
  s.sim.teardown_delay = absl::ZeroDuration();
  std::unique_ptr<SimCluster> cluster = std::move(SimCluster::Create(s, clock)).value();
  std::vector<std::thread> agents;
  for (const std::string& name : cluster->HostNames()) {
    agents.emplace_back([&cluster, name] {
      std::unique_ptr<VgpuHost> host = std::move(cluster->NewVgpuHost(name)).value();
      std::unique_ptr<GpuTelemetry> telemetry = std::move(cluster->NewTelemetry(name)).value();
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(
            host->CreateInstance({testing::U(i), testing::kGpu, "P40-1Q", -1, "", false}).ok());
        EXPECT_TRUE(telemetry->Sample().ok());
        EXPECT_TRUE(host->RemoveInstance(testing::U(i)).ok());
      }
    });
  }
  for (std::thread& t : agents) t.join();
  EXPECT_EQ(cluster->LicenseUsage()["vWS"].leased, 0);
}

}  // namespace
}  // namespace gpufleet::backends::sim
