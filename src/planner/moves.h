#ifndef GPUFLEET_PLANNER_MOVES_H_
#define GPUFLEET_PLANNER_MOVES_H_

// Internal to src/planner: moving one VM, with its vGPU types unchanged, to another host.

#include <optional>
#include <string>
#include <vector>

#include "planner/placer.h"

namespace gpufleet::planner::internal {

struct MoveRules {
  bool live = true;       // live migration (evacuate, defrag) or cold restart (HA)
  bool from_ecc = false;  // ECC of the GPU the VM leaves
  std::optional<double> stun_budget_seconds;
};

struct MoveOutcome {
  std::optional<Assignment> assignment;
  std::string reason;  // why not, when there is no assignment
};

// The types a VM's instances have, in GPU order (empty for a pass-through VM).
std::vector<const core::VgpuType*> TypesOf(const Cluster& cluster, int vm);

// The ECC setting of the GPU(s) a VM runs on in `cluster`.
bool EccOf(const Cluster& cluster, int host, int vm);

// Why the compatibility engine refuses a move, or nullopt when it allows it.
std::optional<std::string> MoveBlocker(const Cluster& cluster, const Vm& vm, const Host& from,
                                       const Gpu& from_gpu, const Host& to, const Gpu& to_gpu,
                                       const core::VgpuType& type, bool live);

// Places an unplaced VM (whose instances were removed from `from_host`) elsewhere with the same
// types, skipping destinations the compatibility engine refuses; commits through `placer`.
MoveOutcome MoveVm(Cluster& work, Placer& placer, int vm, int from_host,
                   const std::vector<const core::VgpuType*>& types, const MoveRules& rules);

}  // namespace gpufleet::planner::internal

#endif  // GPUFLEET_PLANNER_MOVES_H_
