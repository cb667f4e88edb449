#ifndef GPUFLEET_PLANNER_FLEET_H_
#define GPUFLEET_PLANNER_FLEET_H_

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

  // Appends a VM (not placed) and returns its index.
  int AddVm(Vm vm);
  // Where cluster().vms[vm] would go now; see planner::Place.
  [[nodiscard]] Decision Place(int vm) const;
  // Records an assignment from Place (the VM must not be placed).
  void Commit(const Assignment& assignment);
  // The VM leaves its GPUs (stays in cluster().vms).
  void Remove(int vm);
  // Sets a host's state (maintenance, down, ready); its VMs stay where they are.
  void SetHostState(int host, HostState state);

  // The moves that would empty `host`, as planner::Evacuate computes them, without doing them:
  // the result's `cluster` is left empty. `options.place` is ignored (the fleet's policy holds).
  [[nodiscard]] EvacuationResult PlanEvacuation(int host, const EvacuateOptions& options = {});
  // Whether every VM of `host` could restart elsewhere if it failed.
  [[nodiscard]] HostFailure SimulateFailure(int host);
  // planner::CheckHa on the fleet as it is.
  [[nodiscard]] HaResult CheckHa();

 private:
  Cluster cluster_;
  PlaceOptions options_;
  std::unique_ptr<internal::Placer> placer_;
};

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_FLEET_H_
