#ifndef GPUFLEET_PLANNER_PLACER_H_
#define GPUFLEET_PLANNER_PLACER_H_

// Internal to src/planner: the placement engine behind Place and Plan. It keeps per-host usage
// (CPU, memory, anti-affinity groups) and license seat counts up to date as assignments are
// committed, so planning n VMs does not rescan the cluster n times.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "planner/planner.h"

namespace gpufleet::planner::internal {

class Placer {
 public:
  Placer(const Cluster& cluster, const PlaceOptions& options);

  // The best assignment for cluster.vms[vm] on the cluster given at construction plus every
  // Commit since, or an explanation of why there is none.
  [[nodiscard]] Decision Decide(const Cluster& cluster, int vm) const;
  // Applies the assignment to `cluster` and updates the usage indexes.
  void Commit(Cluster& cluster, const Assignment& assignment);

 private:
  struct HostUsage {
    int cpus = 0;
    int memory_gib = 0;
    std::set<std::string> groups;
    int vms = 0;
  };
  [[nodiscard]] const MixedSizeGeometry& GeometryFor(const Cluster& cluster,
                                                     const core::Board& board) const;
  [[nodiscard]] std::string EditionOf(const Vm& vm, const core::VgpuType* type) const;

  const core::Catalog* catalog_;
  PlaceOptions options_;
  std::vector<HostUsage> hosts_;
  std::map<std::string, int> seats_used_;
  MixedSizeGeometry default_geometry_;
};

}  // namespace gpufleet::planner::internal

#endif  // GPUFLEET_PLANNER_PLACER_H_
