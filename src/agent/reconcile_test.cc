#include "agent/reconcile.h"

#include "agent/testing.h"
#include "gtest/gtest.h"

namespace gpufleet::agent {
namespace {

using testing::FakeVgpuHost;
using testing::TestUuid;
using testing::Want;

backends::VgpuInstance Have(int n, std::string type = "P40-8Q", bool active = false) {
  return {.uuid = TestUuid(n), .gpu = "0000:82:00.0", .type = std::move(type), .active = active};
}

TEST(PlanReconcileTest, CreatesMissingAndLeavesMatchingAlone) {
  ReconcilePlan plan = PlanReconcile({Want(1, "a"), Want(2, "b")}, {Have(1)}, {});
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].uuid, TestUuid(2));
  EXPECT_TRUE(plan.removes.empty());
  EXPECT_TRUE(plan.conflicts.empty());
}

TEST(PlanReconcileTest, RemovesOwnedButNeverForeign) {
  ReconcilePlan plan = PlanReconcile({}, {Have(1), Have(2)}, {TestUuid(1)});
  ASSERT_EQ(plan.removes.size(), 1u);
  EXPECT_EQ(plan.removes[0].uuid, TestUuid(1));
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_EQ(plan.conflicts[0].uuid, TestUuid(2));
  EXPECT_NE(plan.conflicts[0].reason.find("foreign"), std::string::npos);
}

TEST(PlanReconcileTest, WrongTypeIsRecreatedUnlessInUse) {
  ReconcilePlan plan = PlanReconcile({Want(1, "a")}, {Have(1, "P40-3Q")}, {TestUuid(1)});
  EXPECT_EQ(plan.removes.size(), 1u);
  EXPECT_EQ(plan.creates.size(), 1u);
  plan = PlanReconcile({Want(1, "a")}, {Have(1, "P40-3Q", /*active=*/true)}, {TestUuid(1)});
  EXPECT_TRUE(plan.removes.empty());
  EXPECT_TRUE(plan.creates.empty());
  ASSERT_EQ(plan.conflicts.size(), 1u);
  EXPECT_NE(plan.conflicts[0].reason.find("in use"), std::string::npos);
}

TEST(PlanReconcileTest, PlacementMattersOnlyWhenChosen) {
  DesiredInstance w = Want(1, "a");
  backends::VgpuInstance h = Have(1);
  h.placement = 4;
  EXPECT_TRUE(PlanReconcile({w}, {h}, {}).creates.empty());
  w.placement = 0;
  EXPECT_EQ(PlanReconcile({w}, {h}, {}).creates.size(), 1u);
}

class ReconcilerTest : public ::testing::Test {
 protected:
  FakeVgpuHost host_;
  os::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  Reconciler reconciler_{host_, clock_};
};

TEST_F(ReconcilerTest, ConvergesAndIsIdempotent) {
  std::vector<DesiredInstance> want = {Want(1, "a"), Want(2, "b")};
  ReconcileOutcome out = reconciler_.Run(want, {});
  EXPECT_EQ(out.created, 2);
  EXPECT_TRUE(out.converged());
  EXPECT_EQ(out.observed.size(), 2u);
  int creates = host_.creates;
  out = reconciler_.Run(want, {});
  EXPECT_EQ(out.created, 0);
  EXPECT_EQ(host_.creates, creates);
  EXPECT_TRUE(out.converged());
}

TEST_F(ReconcilerTest, MultiVgpuVmIsRolledBackWhenOneFails) {
  host_.fail_create.insert(TestUuid(2));
  ReconcileOutcome out = reconciler_.Run({Want(1, "big", 0), Want(2, "big", 1)}, {});
  EXPECT_EQ(out.created, 0);
  EXPECT_EQ(out.rolled_back, 1);
  EXPECT_TRUE(host_.instances.empty());
  EXPECT_FALSE(out.converged());
  ASSERT_FALSE(out.failures.empty());
  EXPECT_EQ(out.failures[0].action, "create");
}

TEST_F(ReconcilerTest, FailedActionsBackOffExponentiallyThenSucceed) {
  host_.fail_create.insert(TestUuid(1));
  std::vector<DesiredInstance> want = {Want(1, "a")};
  reconciler_.Run(want, {});
  absl::Time first = reconciler_.next_retry();
  EXPECT_GE(first - clock_.Now(), absl::Seconds(1));
  EXPECT_LE(first - clock_.Now(), absl::Seconds(1.5));
  ReconcileOutcome out = reconciler_.Run(want, {});  // not due yet
  EXPECT_EQ(out.deferred, 1);
  EXPECT_EQ(host_.creates, 1);
  clock_.Set(first);
  reconciler_.Run(want, {});
  EXPECT_EQ(host_.creates, 2);
  EXPECT_GE(reconciler_.next_retry() - clock_.Now(), absl::Seconds(2));
  host_.fail_create.clear();
  clock_.Set(reconciler_.next_retry());
  out = reconciler_.Run(want, {});
  EXPECT_EQ(out.created, 1);
  EXPECT_TRUE(out.converged());
  EXPECT_EQ(reconciler_.next_retry(), absl::InfiniteFuture());
}

TEST_F(ReconcilerTest, BackoffIsCappedAtTheMaximum) {
  host_.fail_create.insert(TestUuid(1));
  for (int i = 0; i < 12; ++i) {
    reconciler_.Run({Want(1, "a")}, {});
    clock_.Set(reconciler_.next_retry());
  }
  reconciler_.Run({Want(1, "a")}, {});
  EXPECT_LE(reconciler_.next_retry() - clock_.Now(), absl::Seconds(90));
}

TEST_F(ReconcilerTest, ActiveInstanceOfAVmMovedAwayWaitsForTheVm) {
  host_.instances[TestUuid(1)] = Have(1, "P40-8Q", /*active=*/true);
  ReconcileOutcome out = reconciler_.Run({}, {TestUuid(1)});
  EXPECT_EQ(out.removed, 0);
  ASSERT_EQ(out.failures.size(), 1u);
  EXPECT_EQ(out.failures[0].status.code(), absl::StatusCode::kFailedPrecondition);
  host_.instances[TestUuid(1)].active = false;
  clock_.Set(reconciler_.next_retry());
  out = reconciler_.Run({}, {TestUuid(1)});
  EXPECT_EQ(out.removed, 1);
  EXPECT_TRUE(host_.instances.empty());
}

TEST_F(ReconcilerTest, TeardownInProgressIsRetriedSoonWithoutFailing) {
  host_.instances[TestUuid(1)] = Have(1);
  host_.busy_removes[TestUuid(1)] = 2;
  ReconcileOutcome out = reconciler_.Run({}, {TestUuid(1)});
  EXPECT_TRUE(out.failures.empty());
  EXPECT_EQ(out.deferred, 1);
  EXPECT_EQ(reconciler_.next_retry() - clock_.Now(), absl::Seconds(1));
  clock_.Set(reconciler_.next_retry());
  reconciler_.Run({}, {TestUuid(1)});
  clock_.Set(reconciler_.next_retry());
  out = reconciler_.Run({}, {TestUuid(1)});
  EXPECT_EQ(out.removed, 1);
  EXPECT_TRUE(out.converged());
}

TEST_F(ReconcilerTest, HostThatCannotListIsNotTouched) {
  host_.down = true;
  ReconcileOutcome out = reconciler_.Run({Want(1, "a")}, {});
  EXPECT_FALSE(out.listed);
  EXPECT_EQ(host_.creates, 0);
}

}  // namespace
}  // namespace gpufleet::agent
