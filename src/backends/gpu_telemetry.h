#ifndef GPUFLEET_BACKENDS_GPU_TELEMETRY_H_
#define GPUFLEET_BACKENDS_GPU_TELEMETRY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/uuid.h"

namespace gpufleet::backends {

struct VgpuSample {
  Uuid uuid{};
  std::optional<double> utilisation_pct{};
  std::optional<int64_t> framebuffer_used_mib{};
  bool operator==(const VgpuSample&) const = default;
};

// One reading of one physical GPU. Optional fields are absent where the backend cannot tell.
struct GpuSample {
  std::string gpu{};  // PhysicalGpu::id
  std::optional<double> temperature_c{};
  std::optional<double> utilisation_pct{};
  std::optional<int64_t> framebuffer_used_mib{};
  std::optional<int64_t> framebuffer_total_mib{};
  std::optional<double> power_w{};
  std::optional<int> xid{};  // the last XID error seen, e.g. 79 (fallen off the bus)
  bool lost = false;         // the GPU no longer answers
  std::vector<VgpuSample> vgpus{};
  bool operator==(const GpuSample&) const = default;
};

// GPU telemetry of one host (NVML, nvidia-smi, the simulator). Unavailable when the source does
// not answer at all; a single lost GPU is reported as a sample with `lost`.
class GpuTelemetry {
 public:
  virtual ~GpuTelemetry() = default;
  virtual absl::StatusOr<std::vector<GpuSample>> Sample() = 0;
};

}  // namespace gpufleet::backends

#endif  // GPUFLEET_BACKENDS_GPU_TELEMETRY_H_
