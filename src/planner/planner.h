#ifndef GPUFLEET_PLANNER_PLANNER_H_
#define GPUFLEET_PLANNER_PLANNER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "planner/capacity.h"
#include "planner/model.h"

namespace gpufleet::planner {

// The planner's operations. All are pure and deterministic: the same cluster and request give the
// same answer, byte for byte. None mutates its input; Apply() is the only mutation.

enum class Policy {
  kFragmentationAware,  // default: keep whole GPUs and large slots free for future demand
  kSpread,              // vSphere "spread VMs across GPUs": least-loaded GPU first
  kConsolidate,         // vSphere "group VMs on GPU until full": fullest GPU first
};
[[nodiscard]] std::string_view PolicyName(Policy p);
// "fragmentation" (or PolicyName's "fragmentation-aware"), "spread", "consolidate", any case.
[[nodiscard]] std::optional<Policy> PolicyFromName(std::string_view name);

struct PlaceOptions {
  Policy policy = Policy::kFragmentationAware;
  CapacityOptions capacity;
};

// A decision for one VM: the host, and per vGPU the GPU, type and placement.
struct Assignment {
  int vm = -1;
  int host = -1;
  std::vector<int> gpus;
  std::vector<const core::VgpuType*> types;
  std::vector<Fit> fits;
};

// The answer to "where does this VM go?": an assignment, or why not, naming the binding
// constraint ("no P40 GPU with a free 8Q slot; 2 unconfigured P40s are on hosts in maintenance").
struct Decision {
  std::optional<Assignment> assignment;
  std::string explanation;
};

// Places cluster.vms[vm] (which must not be placed yet) on the cluster as it is.
[[nodiscard]] Decision Place(const Cluster& cluster, int vm, const PlaceOptions& options = {});

// Records an assignment: instances on the GPUs, carving/mode changes. The assignment must come
// from Place on this cluster state.
void Apply(Cluster& cluster, const Assignment& assignment);
// Removes a VM's instances (and passthrough) from wherever it runs; the VM stays in cluster.vms.
void Unplace(Cluster& cluster, int vm);

// The types a requirement can use on a board, smallest first (exact type: just that one).
[[nodiscard]] std::vector<const core::VgpuType*> CandidateTypes(const Requirement& need,
                                                                const core::Board& board,
                                                                bool mig_gpu);

// Lower bounds on the GPUs a demand needs, per board: for equal-size,
// sum over types of ceil(n_type / max_instances_type); for MIG, ceil(total compute slices / 7)
// and ceil(total memory slices / 8), whichever is larger; for instances on mixed-size GPUs,
// ceil(their slots / a GPU's slots) (or a type's ceil(n / max per GPU), if larger). The parts
// add up: a GPU is in one mode at a time.
struct BoardBound {
  std::string board;  // prefix
  int gpus_needed = 0;
  int gpus_used = 0;  // by the plan it is compared with
};

// What is left unusable: per GPU, framebuffer that no instance of the GPU's carving can use.
struct Stranded {
  int host = -1;
  int gpu = -1;
  int free_instances = 0;  // of the carved type
  // Framebuffer that other types cannot have while the GPU keeps its carving: the free instances'
  // framebuffer plus what no instance of the carved type can ever use.
  int stranded_mib = 0;
};

struct PlanOptions {
  PlaceOptions place;
  // true: ignore the cluster's current instances and carvings (a plan on empty GPUs); false:
  // place the demand on top of what runs.
  bool from_scratch = false;
};

struct Rejection {
  int vm = -1;
  std::string reason;
};

struct PlanResult {
  Cluster cluster;  // the cluster after the plan
  std::vector<Assignment> placed;
  std::vector<Rejection> rejected;
  int gpus_used = 0;
  int hosts_used = 0;
  std::vector<BoardBound> bounds;
  std::vector<Stranded> stranded;
  // Per type name: free instances left on GPUs carved for it.
  std::map<std::string, int> free_by_type;
};

// Carves and places the VMs `demand` (indexes into cluster.vms, not yet placed), minimising GPUs
// used, then hosts; honours anti-affinity, license seats and host capacity.
[[nodiscard]] PlanResult Plan(const Cluster& cluster, const std::vector<int>& demand,
                              const PlanOptions& options = {});
// The same on a cluster the caller gives up: it becomes the result's cluster without a copy (a
// plan of 320,000 VMs spent a tenth of its time copying them).
[[nodiscard]] PlanResult Plan(Cluster&& cluster, const std::vector<int>& demand,
                              const PlanOptions& options = {});

// Bounds for the given VMs: placed VMs count with the types they run; unplaced VMs that name an
// exact type (or pass-through on one board) count too, so a rejected demand shows its true need.
[[nodiscard]] std::vector<BoardBound> LowerBounds(const Cluster& cluster,
                                                  const std::vector<int>& vms);

// ---- Evacuation (maintenance) ----

// Estimated stun time of a live migration: interpolated on the published vSphere figures for a
// V100 with 32 GB on 10 GbE (about 2 s at 1 GB of used framebuffer up to 39 s at 32 GB) and scaled
// by 10 / link speed. The framebuffer a VM really uses is unknown here, so the whole profile is
// assumed (worst case).
[[nodiscard]] double EstimateStunSeconds(int framebuffer_mib, int link_gbps);

struct Move {
  int vm = -1;
  int from_host = -1;
  Assignment to;
  double stun_seconds = 0;
};

struct Stuck {
  int vm = -1;
  std::string reason;
};

// Where one VM could move: a move, or the reason there is none.
struct MovePlan {
  std::optional<Move> move;
  std::string reason;
};

struct EvacuateOptions {
  PlaceOptions place;
  std::optional<double> stun_budget_seconds;  // per VM; moves over budget are refused
};

struct EvacuationResult {
  std::vector<Move> moves;
  std::vector<Stuck> stuck;
  Cluster cluster;  // after the moves; the host is in maintenance
};

// The migrations that empty `host` for maintenance: every VM keeps its vGPU type(s), each move is
// checked by the compatibility engine (same type, manager/guest drivers, ECC, hotmigrate), VMs that
// cannot move are listed with the reason. Moves are the VMs of the host, nothing else moves.
[[nodiscard]] EvacuationResult Evacuate(const Cluster& cluster, int host,
                                        const EvacuateOptions& options = {});

// ---- HA (N+1) ----

struct HostFailure {
  int host = -1;
  int vms = 0;
  std::vector<Stuck> cannot_restart;
  std::map<std::string, int> missing_by_type;  // type name -> instances short
};

struct Reservation {
  std::string type;
  int instances = 0;
  // Where to keep it: ready hosts with an empty GPU of the type's board that a VM left homeless
  // could restart on (guest driver, labels, anti-affinity), best first; at most five.
  std::vector<std::string> hosts;
  std::string note;  // when `hosts` is empty: why no host qualifies
};

struct HaResult {
  std::vector<HostFailure> failures;  // one per ready host that runs vGPU VMs
  bool n_plus_one = true;             // every single-host failure can be absorbed
  std::vector<Reservation> reserve;   // spare capacity per type that N+1 still lacks
};

// For every single-host failure: can all its vGPU VMs restart elsewhere (cold restart: same type,
// guest driver compatible with the destination manager)?
[[nodiscard]] HaResult CheckHa(const Cluster& cluster, const PlaceOptions& options = {});

// ---- Defragmentation ----

struct Recarve {
  int host = -1;
  int gpu = -1;
  const core::VgpuType* from = nullptr;  // nullptr: unconfigured
  const core::VgpuType* to = nullptr;
};

struct DefragResult {
  bool satisfied = false;
  int free_before = 0;  // instances of the target that fit before
  int free_after = 0;
  std::vector<Move> moves;
  std::vector<Recarve> recarves;
  // The fewest VMs any plan moves (-1: not computed: too many GPUs for the exact search): from
  // the cheapest way to gain `count` instances, each GPU giving up all its instances or, on a MIG
  // or mixed-size GPU, some of them; not computed either when a VM with several vGPUs is among
  // those that could move. `minimal`: the plan moves no more VMs than that.
  int moves_lower_bound = -1;
  bool minimal = false;
  std::string explanation;
  Cluster cluster;
};

// Migrations and re-carvings that make room for `count` instances of `target`. A knapsack over
// the target board's GPUs picks the fewest VMs to move (then the fewest GPUs touched): emptying
// a GPU carved for another type, or on MIG and mixed-size GPUs also moving only the instances
// that block the target. The chosen VMs then move (checked like an evacuation), preferably to
// GPUs without room for the target; an emptied GPU is re-carved for it. A GPU whose VMs cannot
// all move is set aside and the rest planned again. When the room cannot be made, nothing is
// proposed and the explanation says how far it could get.
[[nodiscard]] DefragResult Defrag(const Cluster& cluster, const core::VgpuType& target, int count,
                                  const EvacuateOptions& options = {});

// The hard constraints every cluster state must satisfy; an empty list means valid. Used by the
// property tests and as a safety net after every plan: one type per equal-size GPU, max instances,
// MIG geometry, mixed-size slots, anti-affinity, one GPU per vGPU of a VM, host capacity,
// license seats.
[[nodiscard]] std::vector<std::string> Violations(const Cluster& cluster);

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_PLANNER_H_
