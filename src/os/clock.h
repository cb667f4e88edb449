#ifndef GPUFLEET_OS_CLOCK_H_
#define GPUFLEET_OS_CLOCK_H_

#include <memory>

#include "absl/time/time.h"

namespace gpufleet::os {

// The only source of "now" in gpufleet. Pure modules (core, planner) take dates as arguments;
// whoever calls them asks a Clock. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

std::unique_ptr<Clock> NewRealClock();

// A clock that only moves when told to; for hermetic tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }
  void Set(absl::Time now) { now_ = now; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_;
};

}  // namespace gpufleet::os

#endif  // GPUFLEET_OS_CLOCK_H_
