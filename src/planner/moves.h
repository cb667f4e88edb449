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
  bool what_if = false;  // commit as a provisional copy (Placer::Commit's what_if)
};

struct MoveOutcome {
  std::optional<Assignment> assignment;
  std::string reason;  // why not, when there is no assignment
};

// The types a VM's instances have, in GPU order (empty for a pass-through VM). Scans the cluster.
std::vector<const core::VgpuType*> TypesOf(const Cluster& cluster, int vm);

// The ECC setting of the GPU(s) a VM runs on in `cluster`.
bool EccOf(const Cluster& cluster, int host, int vm);

// Why the compatibility engine refuses a move, or nullopt when it allows it.
std::optional<std::string> MoveBlocker(const Cluster& cluster, const Vm& vm, const Host& from,
                                       const Gpu& from_gpu, const Host& to, const Gpu& to_gpu,
                                       const core::VgpuType& type, bool live);

// A VM running on a host, as evacuation and restart checks see it.
struct HostVm {
  int vm = -1;
  Assignment was;                            // where it runs: undoes a what-if
  std::vector<const core::VgpuType*> types;  // empty: pass-through
  bool ecc = false;                          // of the GPU it runs on
};
enum class VmOrder {
  kEvacuation,  // more vGPUs, then more framebuffer first; pass-through last
  kRestart,     // pass-through first, then more vGPUs, then more framebuffer
};
// The VMs on `host`, hardest first in `order`, ties by VM index.
std::vector<HostVm> VmsOnHost(const Cluster& cluster, const Placer& placer, int host,
                              VmOrder order);

// Moves every VM off `host` (live, each checked by the compatibility engine), appending to
// result.moves and result.stuck; stuck VMs stay where they were. The host takes no VM meanwhile.
// keep false: a what-if, undone before returning (the cluster and placer are as before).
void EvacuateHost(Cluster& work, Placer& placer, int host, const EvacuateOptions& options,
                  bool keep, EvacuationResult& result);

// Whether every VM of `host` could restart elsewhere if the host failed (cold restart: same
// types, guest driver suits the destination's manager). Always undone before returning.
HostFailure SimulateFailure(Cluster& work, Placer& placer, int host);

// Where placed VM `vm` could move off its host (see Fleet::PlanMove); `to_host` >= 0 admits that
// host only. Leaves the cluster and placer as they were.
MovePlan PlanVmMove(Cluster& work, Placer& placer, int vm, int to_host, bool live);

// Places an unplaced VM (whose instances were removed from `from_host`) elsewhere with the same
// types, skipping destinations the compatibility engine refuses; commits through `placer`.
MoveOutcome MoveVm(Cluster& work, Placer& placer, int vm, int from_host,
                   const std::vector<const core::VgpuType*>& types, const MoveRules& rules);

}  // namespace gpufleet::planner::internal

#endif  // GPUFLEET_PLANNER_MOVES_H_
