#ifndef GPUFLEET_BACKENDS_BMC_H_
#define GPUFLEET_BACKENDS_BMC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gpufleet::backends {

struct TemperatureSensor {
  std::string name{};  // "Inlet Temp", "GPU1 Temp"
  double celsius = 0;
  bool operator==(const TemperatureSensor&) const = default;
};

struct Fan {
  std::string name{};  // "Fan1"
  int rpm = 0;
  bool operator==(const Fan&) const = default;
};

struct BmcReading {
  std::vector<TemperatureSensor> temperatures{};
  std::vector<Fan> fans{};
  bool automatic = true;  // fans under the BMC's own control
  int duty_pct = -1;      // the manual duty in force; -1 when automatic
  bool operator==(const BmcReading&) const = default;
};

// A baseboard management controller (IPMI, hwmon, the simulator). Unavailable when it does not
// answer. SetAutomatic is the fail-safe: callers use it on any doubt.
class Bmc {
 public:
  virtual ~Bmc() = default;
  virtual absl::StatusOr<BmcReading> Read() = 0;
  // Sets every fan to `duty_pct` (0..100, InvalidArgument otherwise) under manual control.
  virtual absl::Status SetManualDuty(int duty_pct) = 0;
  virtual absl::Status SetAutomatic() = 0;
};

}  // namespace gpufleet::backends

#endif  // GPUFLEET_BACKENDS_BMC_H_
