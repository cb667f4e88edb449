#include "api/rate_limiter.h"

#include "gtest/gtest.h"

namespace gpufleet::api {
namespace {

TEST(AuthRateLimiterTest, BurstThenRefill) {
  os::FakeClock clock(absl::FromUnixSeconds(1000));
  AuthRateLimiter limiter({.burst = 3, .refill_interval = absl::Seconds(10), .max_addresses = 100},
                          &clock);
  EXPECT_EQ(limiter.RetryAfter("10.0.0.1"), absl::ZeroDuration());
  for (int i = 0; i < 3; ++i) limiter.RecordFailure("10.0.0.1");
  AuthRateLimiter::Decision first = limiter.Check("10.0.0.1");
  EXPECT_EQ(first.retry_after, absl::Seconds(10));
  EXPECT_TRUE(first.first_refusal);
  EXPECT_FALSE(limiter.Check("10.0.0.1").first_refusal);
  EXPECT_EQ(limiter.RetryAfter("10.0.0.2"), absl::ZeroDuration());
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(limiter.RetryAfter("10.0.0.1"), absl::Seconds(6));
  clock.Advance(absl::Seconds(6));
  EXPECT_EQ(limiter.RetryAfter("10.0.0.1"), absl::ZeroDuration());
  limiter.RecordFailure("10.0.0.1");
  EXPECT_TRUE(limiter.Check("10.0.0.1").first_refusal);  // a new lockout is reported again
}

TEST(AuthRateLimiterTest, MemoryIsBounded) {
  os::FakeClock clock(absl::FromUnixSeconds(1000));
  AuthRateLimiter limiter({.burst = 1, .refill_interval = absl::Hours(1), .max_addresses = 2},
                          &clock);
  limiter.RecordFailure("a");
  limiter.RecordFailure("b");
  limiter.RecordFailure("c");  // forgets one of a and b
  int blocked = 0;
  for (const char* addr : {"a", "b", "c"}) {
    if (limiter.RetryAfter(addr) > absl::ZeroDuration()) ++blocked;
  }
  EXPECT_EQ(blocked, 2);
  EXPECT_GT(limiter.RetryAfter("c"), absl::ZeroDuration());
}

}  // namespace
}  // namespace gpufleet::api
