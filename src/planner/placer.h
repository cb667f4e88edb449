#ifndef GPUFLEET_PLANNER_PLACER_H_
#define GPUFLEET_PLANNER_PLACER_H_

// Internal to src/planner: the placement engine behind Place and Plan. It keeps per-host usage
// (CPU, memory, anti-affinity groups) and license seat counts up to date as assignments are
// committed, so planning n VMs does not rescan the cluster n times.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "planner/planner.h"

namespace gpufleet::planner::internal {

class Placer {
 public:
  // `use_index` false forces the full scan for every decision (tests compare the two paths).
  Placer(const Cluster& cluster, const PlaceOptions& options, bool use_index = true);

  // The best assignment for cluster.vms[vm] on the cluster given at construction plus every
  // Commit since, or an explanation of why there is none.
  [[nodiscard]] Decision Decide(const Cluster& cluster, int vm) const;
  // Hosts the caller rules out for the next decisions (a destination the compatibility engine
  // refused); they are skipped silently, the caller explains them.
  void Exclude(int host) { excluded_.insert(host); }
  void ClearExclusions() { excluded_.clear(); }
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
  // Why a host cannot take the VM at all (state, labels, anti-affinity, CPU/memory), or "".
  [[nodiscard]] std::string HostBlocker(const Host& host, const HostUsage& usage,
                                        const Vm& vm) const;
  [[nodiscard]] bool SeatsLeft(const Cluster& cluster, const std::string& edition) const;

  // The index behind the fast path: the common decision (one vGPU of an exact time-sliced type,
  // default policy) is answered from two ordered sets instead of a scan of every GPU, with the
  // same result as the scan (a test checks this on random clusters).
  [[nodiscard]] std::optional<Decision> FastDecide(const Cluster& cluster, int vm) const;
  void IndexGpu(const Cluster& cluster, int host, int gpu, bool add);
  void IndexHost(const Cluster& cluster, int host, bool add);

  const core::Catalog* catalog_;
  PlaceOptions options_;
  std::vector<HostUsage> hosts_;
  std::map<std::string, int> seats_used_;
  MixedSizeGeometry default_geometry_;
  bool use_index_ = true;
  std::set<int> excluded_;
  // Equal-size GPUs partly filled with a type: (free instances, host, gpu).
  std::map<const core::VgpuType*, std::set<std::tuple<int, int, int>>> partial_;
  // Empty GPUs an equal-size carving may take: (tier, host, gpu); tier 1 when the host runs VMs.
  std::map<const core::Board*, std::set<std::tuple<int, int, int>>> empty_;
  // Boards with a mixed-size GPU somewhere: decisions for them take the full scan.
  std::set<const core::Board*> mixed_boards_;
};

}  // namespace gpufleet::planner::internal

#endif  // GPUFLEET_PLANNER_PLACER_H_
