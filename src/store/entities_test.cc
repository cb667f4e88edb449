#include "store/entities.h"

#include "gtest/gtest.h"

namespace gpufleet::store {
namespace {

TEST(EntitiesTest, EnumNamesRoundTrip) {
  for (HostState s : {HostState::kReady, HostState::kMaintenance, HostState::kDown}) {
    EXPECT_EQ(*ParseHostState(HostStateName(s)), s);
  }
  for (OperationState s :
       {OperationState::kPending, OperationState::kRunning, OperationState::kSucceeded,
        OperationState::kFailed, OperationState::kCancelled}) {
    EXPECT_EQ(*ParseOperationState(OperationStateName(s)), s);
  }
  for (StepState s : {StepState::kPending, StepState::kRunning, StepState::kDone,
                      StepState::kFailed, StepState::kRolledBack}) {
    EXPECT_EQ(*ParseStepState(StepStateName(s)), s);
  }
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    EXPECT_EQ(*ParseRole(RoleName(r)), r);
  }
}

TEST(EntitiesTest, ParseRejectsUnknownNamesListingTheKnownOnes) {
  absl::StatusOr<Role> r = ParseRole("root");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(r.status().message()),
            "unknown role 'root'; expected one of viewer, operator, admin");
}

TEST(EntitiesTest, Sha256Hex) {
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'a')));
  EXPECT_TRUE(IsSha256Hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));  // lower case only: one spelling per digest
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'g')));
  EXPECT_FALSE(IsSha256Hex(""));
}

}  // namespace
}  // namespace gpufleet::store
