#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace gpufleet::api {

AuthRateLimiter::AuthRateLimiter(Options options, const os::Clock* clock)
    : options_(options), clock_(clock) {}

void AuthRateLimiter::Refill(Bucket* b, absl::Time now) const {
  if (now <= b->updated) return;
  double gained = absl::FDivDuration(now - b->updated, options_.refill_interval);
  b->tokens = std::min(static_cast<double>(options_.burst), b->tokens + gained);
  b->updated = now;
}

AuthRateLimiter::Decision AuthRateLimiter::Check(std::string_view address) {
  absl::Time now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) return Decision{.retry_after = absl::ZeroDuration()};
  Bucket& b = it->second;
  Refill(&b, now);
  if (b.tokens >= 1) {
    b.refusal_reported = false;
    return Decision{.retry_after = absl::ZeroDuration()};
  }
  bool first = !b.refusal_reported;
  b.refusal_reported = true;
  return Decision{.retry_after = options_.refill_interval * (1 - b.tokens), .first_refusal = first};
}

void AuthRateLimiter::RecordFailure(std::string_view address) {
  absl::Time now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_addresses) EvictLocked(now);
    it = buckets_
             .emplace(std::string(address),
                      Bucket{.tokens = static_cast<double>(options_.burst), .updated = now})
             .first;
  }
  Refill(&it->second, now);
  it->second.tokens = std::max(0.0, it->second.tokens - 1);
}

void AuthRateLimiter::EvictLocked(absl::Time now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(&it->second, now);
    it = it->second.tokens >= options_.burst ? buckets_.erase(it) : std::next(it);
  }
  while (!buckets_.empty() && buckets_.size() >= options_.max_addresses) {
    // The fullest bucket is the one whose failures are least worth remembering.
    auto fullest = std::max_element(
        buckets_.begin(), buckets_.end(),
        [](const auto& a, const auto& b) { return a.second.tokens < b.second.tokens; });
    buckets_.erase(fullest);
  }
}

}  // namespace gpufleet::api
