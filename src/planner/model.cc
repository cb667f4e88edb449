#include "planner/model.h"

namespace gpufleet::planner {

std::string_view HostStateName(HostState s) {
  switch (s) {
    case HostState::kReady:
      return "ready";
    case HostState::kMaintenance:
      return "maintenance";
    case HostState::kDown:
      return "down";
  }
  return "?";
}

std::string_view GpuModeName(GpuMode m) {
  switch (m) {
    case GpuMode::kUnconfigured:
      return "unconfigured";
    case GpuMode::kEqualSize:
      return "equal-size";
    case GpuMode::kMixedSize:
      return "mixed-size";
    case GpuMode::kMig:
      return "mig";
    case GpuMode::kPassthrough:
      return "passthrough";
  }
  return "?";
}

std::map<int, Location> Locate(const Cluster& cluster) {
  std::map<int, Location> out;
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    const Host& host = cluster.hosts[h];
    for (std::size_t g = 0; g < host.gpus.size(); ++g) {
      const Gpu& gpu = host.gpus[g];
      auto note = [&](int vm) {
        Location& loc = out[vm];
        loc.host = static_cast<int>(h);
        loc.gpus.push_back(static_cast<int>(g));
      };
      if (gpu.mode == GpuMode::kPassthrough && gpu.passthrough_vm >= 0) note(gpu.passthrough_vm);
      for (const Instance& i : gpu.instances) note(i.vm);
    }
  }
  return out;
}

}  // namespace gpufleet::planner
