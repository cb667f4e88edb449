#include "planner/model.h"

#include <vector>

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

std::vector<Location> LocateByVm(const Cluster& cluster) {
  std::vector<Location> by_vm(cluster.vms.size());
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    const Host& host = cluster.hosts[h];
    for (std::size_t g = 0; g < host.gpus.size(); ++g) {
      const Gpu& gpu = host.gpus[g];
      auto note = [&](int vm) {
        if (vm < 0) return;
        if (by_vm.size() <= static_cast<std::size_t>(vm)) {
          by_vm.resize(static_cast<std::size_t>(vm) + 1);
        }
        Location& loc = by_vm[static_cast<std::size_t>(vm)];
        loc.host = static_cast<int>(h);
        loc.gpus.push_back(static_cast<int>(g));
      };
      if (gpu.mode == GpuMode::kPassthrough && gpu.passthrough_vm >= 0) note(gpu.passthrough_vm);
      for (const Instance& i : gpu.instances) note(i.vm);
    }
  }
  return by_vm;
}

std::map<int, Location> Locate(const Cluster& cluster) {
  // Inserted in key order with a hint: linear, where inserting each instance into the map cost a
  // tree search.
  std::vector<Location> by_vm = LocateByVm(cluster);
  std::map<int, Location> out;
  for (std::size_t vm = 0; vm < by_vm.size(); ++vm) {
    if (by_vm[vm].host >= 0) {
      out.emplace_hint(out.end(), static_cast<int>(vm), std::move(by_vm[vm]));
    }
  }
  return out;
}

}  // namespace gpufleet::planner
