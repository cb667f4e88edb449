#ifndef GPUFLEET_API_RATE_LIMITER_H_
#define GPUFLEET_API_RATE_LIMITER_H_

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "os/clock.h"

namespace gpufleet::api {

// Limits failed authentications per client address with a token bucket: each address may fail
// `burst` times in a row, then once per `refill_interval`. While its bucket is empty, every
// request of that address needing authentication is refused with 429 -- even with a valid token,
// so that guessing cannot continue. Memory is bounded by `max_addresses`: full buckets are
// forgotten first, then the fullest. Thread-safe.
class AuthRateLimiter {
 public:
  struct Options {
    int burst = 10;
    absl::Duration refill_interval = absl::Seconds(6);
    std::size_t max_addresses = 10000;
  };

  // `clock` is not owned and must outlive the limiter.
  AuthRateLimiter(Options options, const os::Clock* clock);

  struct Decision {
    // Zero when `address` may attempt to authenticate now, else how long until it may.
    absl::Duration retry_after;
    // True for the first refusal since the address ran out of attempts, so that a client
    // hammering the server while locked out is audited once, not once per request.
    bool first_refusal = false;
  };
  [[nodiscard]] Decision Check(std::string_view address);
  [[nodiscard]] absl::Duration RetryAfter(std::string_view address) {
    return Check(address).retry_after;
  }
  // Takes one token from the bucket of `address`.
  void RecordFailure(std::string_view address);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
    bool refusal_reported = false;
  };
  // Refills `b` up to now.
  void Refill(Bucket* b, absl::Time now) const;
  void EvictLocked(absl::Time now);

  const Options options_;
  const os::Clock* clock_;
  std::mutex mu_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_RATE_LIMITER_H_
