#ifndef GPUFLEET_PLANNER_FLEET_H_
#define GPUFLEET_PLANNER_FLEET_H_

#include <cstdint>
#include <memory>

#include "planner/planner.h"

namespace gpufleet::planner {

namespace internal {
class Placer;
}

// A cluster with its placement engine kept alive between questions: what a long-running caller
// (the controller) uses instead of the one-shot functions of planner.h, which build the engine on
// every call. Placements, departures and what-ifs (evacuation, host failure, N+1) update the
// engine's indexes incrementally; a what-if leaves the fleet exactly as it found it.
//
// Answers are those of the one-shot functions on the same cluster. Not thread-safe: the caller
// serialises access (one Fleet per controller, behind its lock).
class Fleet {
 public:
  explicit Fleet(Cluster cluster, const PlaceOptions& options = {});
  ~Fleet();
  Fleet(Fleet&&) noexcept;
  Fleet& operator=(Fleet&&) noexcept;

  [[nodiscard]] const Cluster& cluster() const { return cluster_; }
  [[nodiscard]] const PlaceOptions& options() const { return options_; }
  // Changes with every change of the fleet (AddVm, Commit, Remove, SetHostState, ApplyMove) and
  // differs between any two fleets of one process: a caller may keep answers computed at one
  // generation until it changes. What-ifs leave it as it is.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

  // Appends a VM (not placed) and returns its index.
  int AddVm(Vm vm);
  // Where cluster().vms[vm] would go now; see planner::Place (online placement: the reserve of
  // empty GPUs on large boards near full is on, as there; the what-ifs below turn it off).
  [[nodiscard]] Decision Place(int vm) const;
  // Where `vm`, which is not in the fleet, would go now: Place without adding it (a dry run). The
  // assignment's `vm` is cluster().vms.size(), an index that does not exist afterwards.
  [[nodiscard]] Decision PlaceWhatIf(Vm vm);
  // Records an assignment from Place (the VM must not be placed).
  void Commit(const Assignment& assignment);
  // The VM leaves its GPUs (stays in cluster().vms).
  void Remove(int vm);
  // The host the VM runs on, or -1.
  [[nodiscard]] int HostOf(int vm) const;
  // Sets a host's state (maintenance, down, ready); its VMs stay where they are.
  void SetHostState(int host, HostState state);

  // The moves that would empty `host`, as planner::Evacuate computes them, without doing them:
  // the result's `cluster` is left empty. `options.place` is ignored (the fleet's policy holds).
  [[nodiscard]] EvacuationResult PlanEvacuation(int host, const EvacuateOptions& options = {});
  // Where placed VM `vm` could go off the host it runs on, with its vGPU types unchanged: a live
  // migration (`live`) or a cold restart, every destination checked by the compatibility engine
  // like an evacuation's; `to_host` >= 0 admits that host only. A what-if: the fleet is left as
  // it was. No move: the reason names the binding constraint.
  [[nodiscard]] MovePlan PlanMove(int vm, int to_host = -1, bool live = true);
  // Carries out a move from PlanMove (or PlanEvacuation) on the fleet as it still is: the VM
  // leaves its GPUs and takes move.to.
  void ApplyMove(const Move& move);

  // Whether every VM of `host` could restart elsewhere if it failed.
  [[nodiscard]] HostFailure SimulateFailure(int host);
  // planner::CheckHa on the fleet as it is.
  [[nodiscard]] HaResult CheckHa();

 private:
  Cluster cluster_;
  PlaceOptions options_;
  std::unique_ptr<internal::Placer> placer_;
  std::uint64_t generation_ = 0;
};

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_FLEET_H_
