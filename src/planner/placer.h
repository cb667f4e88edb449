#ifndef GPUFLEET_PLANNER_PLACER_H_
#define GPUFLEET_PLANNER_PLACER_H_

// Internal to src/planner: the placement engine behind Place, Plan, Evacuate, CheckHa and Defrag.
// It keeps per-host usage (CPU, memory, anti-affinity groups), license seat counts, where each VM
// runs, and an index of the GPUs by what they can still take, all up to date as VMs are committed
// and removed, so n decisions do not rescan the cluster n times.
//
// The default (fragmentation-aware) policy also reads two fleet-wide signals per decision, kept
// as counters beside the index (and counted on the cluster by the full scan, which must agree):
// the observed mix of MIG profiles per board, against which a MIG placement's fragmentation is
// measured, and whether a board is down to its last empty GPUs, when a time-sliced or MIG type
// with less than one GPU's worth of free instances takes an empty GPU before a partly filled one
// (the reserve, for online placement only: set_reserve; see place.cc).
//
// The index answers a decision under the default (fragmentation-aware) policy without looking at
// GPUs that cannot take the request: partly filled equal-size GPUs per type, in-use MIG and
// mixed-size GPUs per board grouped by their exact layout (a handful of layouts stand for
// thousands of GPUs), and empty GPUs per board, and unused pass-through GPUs per board. Spread and
// consolidate read the same sets with their own scores (the keys carry what their order needs). Its
// answer is the full scan's answer (tests compare them decision by decision on random clusters,
// under every policy); what it does not cover (no re-carving) and every rejection takes the
// full scan, which also explains.
//
// Not thread-safe; the Cluster passed to each call must be the one given at construction, changed
// only through Commit and Remove.

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "planner/planner.h"

namespace gpufleet::planner::internal {

class Placer {
 public:
  // `use_index` false forces the full scan for every decision (tests compare the two paths).
  Placer(const Cluster& cluster, const PlaceOptions& options, bool use_index = true);

  // The best assignment for cluster.vms[vm] (not placed) on the cluster given at construction
  // plus every Commit and Remove since, or an explanation of why there is none.
  [[nodiscard]] Decision Decide(const Cluster& cluster, int vm) const;
  // Hosts the caller rules out for the next decisions: a destination the compatibility engine
  // refused (skipped silently, the caller explains it), or the host a what-if empties, whose
  // `reason` ("down", "in maintenance") rejections then name like a host state.
  void Exclude(int host, std::string reason = "") { excluded_[host] = std::move(reason); }
  void Include(int host) { excluded_.erase(host); }
  [[nodiscard]] bool excluded(int host) const { return excluded_.contains(host); }
  void ClearExclusions() { excluded_.clear(); }
  // Applies the assignment to `cluster` and updates usage and indexes. The VM must not be placed
  // (a move first Removes it; undo is Remove + Commit of CurrentAssignment) unless `what_if`: a
  // second, provisional copy of a placed VM on another host (a restart or evacuation what-if,
  // the VM's own host excluded), which changes neither where the VM runs nor its license seat,
  // and is undone by Remove with that location and `what_if`.
  void Commit(Cluster& cluster, const Assignment& assignment, bool what_if = false);
  // Takes the VM's instances (or pass-through GPU) on `location` out of the cluster and the
  // indexes; the VM stays in cluster.vms. With no location: wherever the VM was last committed.
  void Remove(Cluster& cluster, int vm, const std::optional<Location>& location = std::nullopt,
              bool what_if = false);
  // Where the VM runs (host -1 when it does not), as of the last Commit or Remove.
  [[nodiscard]] const Location& LocationOf(int vm) const;
  // The assignment that would put the VM back exactly where it runs now (same GPUs, types and
  // placements), for undoing a what-if.
  [[nodiscard]] Assignment CurrentAssignment(const Cluster& cluster, int vm) const;
  // Whether a successful Decision carries its one-line explanation (rejections always do); a
  // whole plan does not need thousands of them.
  void set_explain_placements(bool on) { explain_placements_ = on; }
  [[nodiscard]] bool explain_placements() const { return explain_placements_; }
  // The reserve (place.cc, Outlook::Reserve): for online placement under churn, where VMs come
  // and go one at a time. Off by default: Plan, evacuation, HA and defrag must place every VM of
  // a known set, and a GPU opened early there only widens the gap to the lower bound.
  void set_reserve(bool on) { reserve_ = on; }
  [[nodiscard]] bool reserve() const { return reserve_; }
  // Decisions the index answered (the others took the full scan); for tests and benchmarks.
  [[nodiscard]] long long index_answers() const { return index_answers_; }

 private:
  using Score = std::array<long long, 5>;
  // (order, host, gpu). The order is the policy's: under the default policy a partly filled
  // GPU's free instances, an empty GPU's tier, 0 for in-use MIG GPUs; consolidate packs its
  // host part (0 when the host runs VMs, else 1) below kSpan; spread orders by instances
  // (times kSpan) and the host's VMs, which is why its keys change with every VM on the host.
  using Key = std::tuple<int, int, int>;
  static constexpr int kSpan = 1 << 20;
  using MigLayout = std::vector<std::pair<const core::VgpuType*, int>>;
  struct HostUsage {
    int cpus = 0;
    int memory_gib = 0;
    std::map<std::string, int> groups;  // anti-affinity group -> VMs
    int vms = 0;
  };
  struct Candidate;
  struct Stream;
  class Outlook;

  [[nodiscard]] const MixedSizeGeometry& GeometryFor(const Cluster& cluster,
                                                     const core::Board& board) const;
  [[nodiscard]] const std::string& EditionOf(const Vm& vm, const core::VgpuType* type) const;
  // Whether a host can take the VM at all (state, labels, anti-affinity, CPU/memory); `why`
  // gets the reason when it cannot.
  [[nodiscard]] bool HostAccepts(const Host& host, const HostUsage& usage, const Vm& vm,
                                 std::string* why) const;
  [[nodiscard]] bool SeatsLeft(const Cluster& cluster, const std::string& edition) const;
  // Every GPU of host `h` that can take one of the VM's vGPUs, with its best type and score.
  // `gpu_reasons` (may be null) collects why the others cannot.
  template <typename TypesFor, typename ReasonSink>
  std::vector<Candidate> HostCandidates(const Cluster& cluster, std::size_t h, const Vm& vm,
                                        TypesFor& types_for, Outlook& outlook,
                                        ReasonSink* gpu_reasons) const;
  [[nodiscard]] Decision Scan(const Cluster& cluster, int vm) const;
  [[nodiscard]] Decision Explain(const Cluster& cluster, Assignment a) const;

  [[nodiscard]] std::optional<Decision> FastDecide(const Cluster& cluster, int vm) const;
  // The index's streams of (GPU, type) candidates for the VM, each in score order; false when
  // the index cannot answer this request.
  bool StreamsFor(const Cluster& cluster, const Vm& vm, Outlook& outlook,
                  std::vector<Stream>& out) const;
  // The streams of the board's mixed-size GPUs (empty, and in use by layout) for `type`.
  void AddMixedSize(const Cluster& cluster, const core::Board& board, const core::VgpuType& type,
                    long long in_use_tier, std::vector<Stream>& out) const;
  void IndexGpu(const Cluster& cluster, int host, int gpu, bool add);
  // Whether a change of the host's VM count moves the keys of all its GPUs: always under
  // spread, else only for its first VM and its last.
  [[nodiscard]] bool KeysFollowHost(const HostUsage& usage, bool adding) const;
  void IndexHost(const Cluster& cluster, int host, bool add);
  void Track(int vm, const Cluster& cluster, const Location& loc, int sign);

  const core::Catalog* catalog_;
  PlaceOptions options_;
  std::vector<HostUsage> hosts_;
  std::vector<Location> where_;  // per VM index; grows as VMs are added
  std::map<std::string, int> seats_used_;
  MixedSizeGeometry default_geometry_;
  bool use_index_ = true;
  bool explain_placements_ = true;
  bool reserve_ = false;
  mutable long long index_answers_ = 0;
  std::map<int, std::string> excluded_;  // host -> reason shown in rejections (may be empty)
  // Equal-size GPUs partly filled with a type: (free instances, host, gpu); and the sum of their
  // free instances.
  std::map<const core::VgpuType*, std::set<Key>> partial_;
  std::map<const core::VgpuType*, long long> partial_free_;
  // Empty GPUs a carving may take, per board and whether the GPU is in MIG mode:
  // (tier, host, gpu); tier 1 when the host runs VMs, 2 when it runs none (under spread: the
  // host's VMs instead of the tier).
  std::map<std::pair<const core::Board*, bool>, std::set<Key>> empty_;
  // GPUs in pass-through mode that no VM uses, per board: (tier, host, gpu). Under spread, whose
  // empty-GPU keys are the host's VMs, every free GPU is here too, in the pass-through order.
  std::map<const core::Board*, std::set<Key>> passthrough_free_;
  // In-use MIG GPUs per board, grouped by their exact layout: (0, host, gpu).
  struct MigGroup {
    std::set<Key> gpus;
    // Caches, since the layout fixes every answer: per type, where one more instance goes
    // (nullopt when it does not fit) and how many more fit; per (added, counted) type, how many
    // of the counted type fit after one more of the added.
    mutable std::map<const core::VgpuType*, std::optional<Fit>> fits;
    mutable std::map<const core::VgpuType*, int> free;
    mutable std::map<std::pair<const core::VgpuType*, const core::VgpuType*>, int> free_after;
    mutable std::optional<int> used_mib;  // the layout's framebuffer in use
  };
  std::map<const core::Board*, std::map<MigLayout, MigGroup>> mig_;
  // Instances per MIG-backed type on the in-use MIG GPUs of each board: the observed mix.
  std::map<const core::Board*, std::map<const core::VgpuType*, int>> mig_mix_;
  // GPUs per board in the cluster (every state): the reserve applies only to large boards.
  std::map<const core::Board*, int> board_gpus_;
  // Mixed-size GPUs (vGPU 17) per board: in use, grouped by their exact layout as MIG GPUs are
  // (the group's `fits` and `free_after` caches serve them too), and empty ones, which a
  // mixed-size fit takes from its first slot: (order, host, gpu) as for MIG and empty GPUs.
  std::map<const core::Board*, std::map<MigLayout, MigGroup>> mixed_;
  std::map<const core::Board*, std::set<Key>> empty_mixed_;
  std::set<const core::Board*> boards_;  // every board with an indexed GPU
};

}  // namespace gpufleet::planner::internal

#endif  // GPUFLEET_PLANNER_PLACER_H_
