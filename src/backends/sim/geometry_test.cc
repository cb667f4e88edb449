// MIG and mixed-size geometry, and a cross-check of the simulator's capacity rules against the
// planner's: both are written from the catalog on their own and must agree on empty GPUs.

#include "backends/sim/geometry.h"

#include "backends/sim/sim_testing.h"
#include "gmock/gmock.h"
#include "planner/capacity.h"

namespace gpufleet::backends::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::U;

constexpr char kMigGpu[] = "0000:17:00.0";
constexpr char kL40s[] = "0000:ca:00.0";

class GeometryTest : public testing::SimTest {
 protected:
  void SetUp() override {
    Scenario s = testing::Example("examples/mixed-kvm/scenario.yaml");
    s.vms.clear();
    s.faults = {};
    Build(s);
    a100_ = VgpuHostOf("kvm-a100");
    l40s_ = VgpuHostOf("kvm-l40s");
  }
  static const CreatableType* Find(const std::vector<CreatableType>& list, std::string_view t) {
    for (const CreatableType& c : list) {
      if (c.type == t) return &c;
    }
    return nullptr;
  }
  absl::Status On(VgpuHost& host, const char* gpu, int uuid, std::string type, int placement) {
    return host.CreateInstance(VgpuInstance{U(uuid), gpu, std::move(type), placement, "", false});
  }
  std::unique_ptr<VgpuHost> a100_;
  std::unique_ptr<VgpuHost> l40s_;
};

TEST_F(GeometryTest, MigPlacementsFollowNvidiasTable) {
  std::vector<CreatableType> types = *a100_->Creatable(kMigGpu);
  ASSERT_NE(Find(types, "A100-1-5C"), nullptr);
  EXPECT_THAT(Find(types, "A100-1-5C")->placements, ElementsAre(0, 1, 2, 3, 4, 5, 6));
  EXPECT_EQ(Find(types, "A100-1-5C")->available, 7);
  EXPECT_THAT(Find(types, "A100-2-10C")->placements, ElementsAre(0, 2, 4));
  EXPECT_THAT(Find(types, "A100-3-20C")->placements, ElementsAre(0, 4));
  EXPECT_THAT(Find(types, "A100-4-20C")->placements, ElementsAre(0));
  EXPECT_THAT(Find(types, "A100-7-40C")->placements, ElementsAre(0));
  EXPECT_EQ(Find(types, "A100-4C"), nullptr);  // time-sliced: not in MIG mode
  EXPECT_EQ(On(*a100_, kMigGpu, 9, "A100-4C", -1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(GeometryTest, MigSlicesFillUp) {
  ASSERT_TRUE(On(*a100_, kMigGpu, 1, "A100-3-20C", 0).ok());
  absl::Status s = On(*a100_, kMigGpu, 2, "A100-4-20C", -1);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(On(*a100_, kMigGpu, 2, "A100-3-20C", 0).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(On(*a100_, kMigGpu, 2, "A100-3-20C", 4).ok());
  s = On(*a100_, kMigGpu, 3, "A100-1-5C", -1);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(*a100_->Creatable(kMigGpu), ::testing::IsEmpty());
}

TEST_F(GeometryTest, MixedSizePlacementsAreAligned) {
  ASSERT_TRUE(On(*l40s_, kL40s, 1, "L40S-24Q", 0).ok());
  ASSERT_TRUE(On(*l40s_, kL40s, 2, "L40S-8Q", -1).ok());
  std::vector<VgpuInstance> list = *l40s_->ListInstances();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].placement, 24);
  absl::Status s = On(*l40s_, kL40s, 3, "L40S-8Q", 8);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("overlaps"));
  EXPECT_EQ(On(*l40s_, kL40s, 3, "L40S-8Q", 5).code(), absl::StatusCode::kInvalidArgument);
  std::vector<CreatableType> types = *l40s_->Creatable(kL40s);
  EXPECT_EQ(Find(types, "L40S-48Q"), nullptr);
  ASSERT_NE(Find(types, "L40S-8Q"), nullptr);
  EXPECT_THAT(Find(types, "L40S-8Q")->placements, ElementsAre(32, 40));
  EXPECT_EQ(Find(types, "L40S-1Q")->available, 16);
}

// On an empty GPU of every board, in each mode the board allows, the simulator offers as many
// instances of each type as the planner would place.
TEST(GeometryCrossCheck, AgreesWithThePlannerOnEmptyGpus) {
  const core::Catalog& catalog = core::Catalog::Embedded();
  for (const core::Board& board : catalog.boards()) {
    for (GpuMode mode : {GpuMode::kUnconfigured, GpuMode::kMig, GpuMode::kMixedSize}) {
      if (mode == GpuMode::kMig && !board.mig) continue;
      if (mode == GpuMode::kMixedSize && board.mixed_size == false) continue;
      internal::SimGpu gpu;
      gpu.id = "gpu0";
      gpu.board = &board;
      gpu.mode = mode;
      planner::Gpu pgpu;
      pgpu.board = &board;
      pgpu.mode = mode == GpuMode::kMig         ? planner::GpuMode::kMig
                  : mode == GpuMode::kMixedSize ? planner::GpuMode::kMixedSize
                                                : planner::GpuMode::kUnconfigured;
      for (const CreatableType& c : internal::CreatableTypes(gpu, MixedSizeSpec{})) {
        const core::VgpuType* type = catalog.FindTypeByName(c.type);
        EXPECT_EQ(c.available, planner::FreeCount(pgpu, *type, planner::MixedSizeGeometry{}))
            << board.name << " " << GpuModeName(mode) << " " << c.type;
      }
    }
  }
}

}  // namespace
}  // namespace gpufleet::backends::sim
