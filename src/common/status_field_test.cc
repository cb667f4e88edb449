#include "common/status_field.h"

#include "common/status_macros.h"
#include "gtest/gtest.h"

namespace gpufleet {
namespace {

TEST(StatusFieldTest, AttachesAndReadsTheField) {
  absl::Status s = WithField(absl::InvalidArgumentError("limit: must be <= 1000"), "limit");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "limit: must be <= 1000");
  EXPECT_EQ(FieldOf(s), "limit");
}

TEST(StatusFieldTest, NoFieldByDefault) {
  EXPECT_EQ(FieldOf(absl::NotFoundError("host h1")), std::nullopt);
  EXPECT_EQ(FieldOf(absl::OkStatus()), std::nullopt);
}

TEST(StatusFieldTest, OkStatusStaysOk) {
  absl::Status s = WithField(absl::OkStatus(), "limit");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(FieldOf(s), std::nullopt);
}

TEST(StatusFieldTest, LaterFieldReplacesEarlierOne) {
  absl::Status s = WithField(WithField(absl::InvalidArgumentError("x"), "a"), "spec.b");
  EXPECT_EQ(FieldOf(s), "spec.b");
}

absl::Status Fails() { return WithField(absl::InvalidArgumentError("bad"), "name"); }
absl::Status Propagates() {
  GPUFLEET_RETURN_IF_ERROR(Fails());
  return absl::OkStatus();
}

TEST(StatusFieldTest, SurvivesPropagation) { EXPECT_EQ(FieldOf(Propagates()), "name"); }

}  // namespace
}  // namespace gpufleet
