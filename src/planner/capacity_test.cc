#include "planner/capacity.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/testing.h"

namespace gpufleet::planner {
namespace {

using testing::BoardNamed;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TypeNamed;

Gpu Empty(std::string_view board) {
  Gpu g;
  g.id = "gpu0";
  g.board = &BoardNamed(board);
  return g;
}

void Add(Gpu& gpu, const core::VgpuType& type, const Fit& fit) {
  gpu.mode = fit.mode;
  if (fit.mode == GpuMode::kEqualSize) gpu.carved = &type;
  gpu.instances.push_back(Instance{0, &type, fit.placement});
}

TEST(CapacityTest, EqualSizeHoldsOneTypeUpToItsMaximum) {
  Gpu gpu = Empty("P40");
  const core::VgpuType& q8 = TypeNamed("P40-8Q");
  const core::VgpuType& q3 = TypeNamed("P40-3Q");
  for (int i = 0; i < 3; ++i) {
    std::optional<Fit> fit = FitOn(gpu, q8, {}, {});
    ASSERT_TRUE(fit.has_value()) << i;
    Add(gpu, q8, *fit);
  }
  std::string why;
  EXPECT_FALSE(FitOn(gpu, q8, {}, {}, &why));
  EXPECT_THAT(why, HasSubstr("full: 3 x P40-8Q"));
  EXPECT_FALSE(FitOn(gpu, q3, {}, {}, &why));
  EXPECT_THAT(why, HasSubstr("carved for P40-8Q (equal-size: one type per GPU)"));
  EXPECT_EQ(FreeCount(gpu, q8, {}), 0);
  EXPECT_EQ(FreeCount(Empty("P40"), q3, {}), 8);
  EXPECT_FALSE(FitOn(gpu, TypeNamed("A40-8Q"), {}, {}, &why));
}

TEST(CapacityTest, EmptyEqualSizeGpuMayBeRecarvedOnlyWhenAllowed) {
  Gpu gpu = Empty("P40");
  gpu.mode = GpuMode::kEqualSize;
  gpu.carved = &TypeNamed("P40-8Q");
  EXPECT_TRUE(FitOn(gpu, TypeNamed("P40-3Q"), {}, {}));
  CapacityOptions no_recarve;
  no_recarve.allow_recarve = false;
  std::string why;
  EXPECT_FALSE(FitOn(gpu, TypeNamed("P40-3Q"), {}, no_recarve, &why));
  EXPECT_THAT(why, HasSubstr("re-carving is not allowed"));
}

TEST(CapacityTest, MigStartsFollowNvidiaPlacements) {
  const core::Board& a100 = BoardNamed("A100D");
  EXPECT_THAT(MigStarts(a100, TypeNamed("A100D-1-10C")), ElementsAre(0, 1, 2, 3, 4, 5, 6));
  EXPECT_THAT(MigStarts(a100, TypeNamed("A100D-1-20C")), ElementsAre(0, 2, 4, 6));
  EXPECT_THAT(MigStarts(a100, TypeNamed("A100D-2-20C")), ElementsAre(0, 2, 4));
  EXPECT_THAT(MigStarts(a100, TypeNamed("A100D-3-40C")), ElementsAre(0, 4));
  EXPECT_THAT(MigStarts(a100, TypeNamed("A100D-4-40C")), ElementsAre(0));
  EXPECT_THAT(MigStarts(a100, TypeNamed("A100D-7-80C")), ElementsAre(0));
}

// The geometry model reproduces the catalog's maximum count of every MIG-backed type.
TEST(CapacityTest, MigGeometryReproducesEveryCatalogMaximum) {
  int checked = 0;
  for (const core::Board& board : core::Catalog::Embedded().boards()) {
    if (!board.mig) continue;
    for (const core::VgpuType& type : board.types) {
      if (!type.mig_backed) continue;
      Gpu gpu;
      gpu.board = &board;
      EXPECT_EQ(FreeCount(gpu, type, {}), type.max_instances) << type.name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50);
}

TEST(CapacityTest, MigMixesSizesWithinTheSlices) {
  Gpu gpu = Empty("A100D");
  const core::VgpuType& big = TypeNamed("A100D-3-40C");
  const core::VgpuType& small = TypeNamed("A100D-2-20C");
  // A 3g at 4 leaves memory 0-3 whole, where a 4g (start 0 only) still fits; at 0 it would not.
  std::optional<Fit> f1 = FitOn(gpu, big, {}, {});
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->mode, GpuMode::kMig);
  EXPECT_EQ(f1->placement, 4);
  EXPECT_TRUE(FitOn(Gpu(gpu), TypeNamed("A100D-4-40C"), {}, {}));
  Add(gpu, big, *f1);
  EXPECT_TRUE(FitOn(gpu, TypeNamed("A100D-4-40C"), {}, {}));
  std::optional<Fit> f2 = FitOn(gpu, small, {}, {});
  ASSERT_TRUE(f2);
  EXPECT_EQ(f2->placement, 0);
  Add(gpu, small, *f2);
  std::optional<Fit> f3 = FitOn(gpu, small, {}, {});
  ASSERT_TRUE(f3);
  EXPECT_EQ(f3->placement, 2);
  Add(gpu, small, *f3);
  // 3 + 2 + 2 compute slices: nothing more fits.
  std::string why;
  EXPECT_FALSE(FitOn(gpu, TypeNamed("A100D-1-10C"), {}, {}, &why));
  EXPECT_THAT(why, HasSubstr("7 of 7 compute slices in use"));
  EXPECT_FALSE(FitOn(gpu, TypeNamed("A100D-8C"), {}, {}, &why));
  EXPECT_THAT(why, HasSubstr("not MIG-backed"));
}

// On a GPU whose 3g sits at 0 (as the driver may report it), a 1g goes to slice 6, not 4: at 4
// it would leave no aligned pair of memory slices with two compute slices for a 2g.
TEST(CapacityTest, MigSmallProfileKeepsLargerRunsFree) {
  Gpu gpu = Empty("A100D");
  gpu.mode = GpuMode::kMig;
  Add(gpu, TypeNamed("A100D-3-40C"), Fit{GpuMode::kMig, 0});
  std::optional<Fit> one = FitOn(gpu, TypeNamed("A100D-1-10C"), {}, {});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->placement, 6);
  Add(gpu, TypeNamed("A100D-1-10C"), *one);
  std::optional<Fit> two = FitOn(gpu, TypeNamed("A100D-2-20C"), {}, {});
  ASSERT_TRUE(two);
  EXPECT_EQ(two->placement, 4);
  // On an empty GPU a 1g takes the last start, keeping the 4g and 7g-sized runs at 0 whole.
  std::optional<Fit> first = FitOn(Empty("A100D"), TypeNamed("A100D-1-10C"), {}, {});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->placement, 6);
}

TEST(CapacityTest, MixedSizeUsesAlignedSlots) {
  Gpu gpu = Empty("L40S");
  gpu.mode = GpuMode::kMixedSize;
  MixedSizeGeometry geo;  // 1 GiB slots over 48 GB
  const core::VgpuType& q8 = TypeNamed("L40S-8Q");
  const core::VgpuType& q4 = TypeNamed("L40S-4Q");
  std::optional<Fit> a = FitOn(gpu, q4, geo, {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->placement, 0);
  Add(gpu, q4, *a);
  std::optional<Fit> b = FitOn(gpu, q8, geo, {});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->placement, 8);  // aligned to its size, not at 4
  Add(gpu, q8, *b);
  EXPECT_EQ(FreeCount(gpu, q8, geo), 4);  // 16..47 in 8-slot runs
  geo.reserved_slots = 16;
  EXPECT_EQ(FreeCount(gpu, q8, geo), 2);
  std::string why;
  EXPECT_FALSE(FitOn(gpu, TypeNamed("L40S-48Q"), geo, {}, &why));
  EXPECT_THAT(why, HasSubstr("no free aligned run of 48 slots"));
}

TEST(CapacityTest, PassthroughTakesNoVgpu) {
  Gpu gpu = Empty("T4");
  gpu.mode = GpuMode::kPassthrough;
  std::string why;
  EXPECT_FALSE(FitOn(gpu, TypeNamed("T4-4Q"), {}, {}, &why));
  EXPECT_THAT(why, HasSubstr("passed through"));
}

}  // namespace
}  // namespace gpufleet::planner
