#include "common/uuid.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet {
namespace {

TEST(UuidTest, RoundTripsLowerCase) {
  auto u = Uuid::Parse("C0FFEE00-1234-4abc-8def-0123456789AB");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->ToString(), "c0ffee00-1234-4abc-8def-0123456789ab");
  EXPECT_FALSE(u->is_nil());
  EXPECT_TRUE(Uuid().is_nil());
}

TEST(UuidTest, RejectsMalformed) {
  EXPECT_THAT(Uuid::Parse("c0ffee00-1234-4abc-8def-0123456789a").status().message(),
              ::testing::HasSubstr("length 35"));
  EXPECT_THAT(Uuid::Parse("c0ffee00_1234-4abc-8def-0123456789ab").status().message(),
              ::testing::HasSubstr("expected '-' at position 9"));
  EXPECT_FALSE(Uuid::Parse("g0ffee00-1234-4abc-8def-0123456789ab").ok());
}

}  // namespace
}  // namespace gpufleet
