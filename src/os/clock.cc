#include "os/clock.h"

#include "absl/time/clock.h"

namespace gpufleet::os {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

std::unique_ptr<Clock> NewRealClock() { return std::make_unique<RealClock>(); }

}  // namespace gpufleet::os
