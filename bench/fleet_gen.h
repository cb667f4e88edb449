#ifndef GPUFLEET_BENCH_FLEET_GEN_H_
#define GPUFLEET_BENCH_FLEET_GEN_H_

// Seeded generators of synthetic fleets and workloads for the planner benchmark. Every generator
// is a pure function of its options: the same seed gives the same cluster, byte for byte (on one
// standard library). Types and boards come from the embedded catalog.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "planner/model.h"

namespace gpufleet::bench {

// One board of the fleet: its share of the hosts and the profile mix its VMs ask for.
struct BoardMix {
  std::string board;  // catalog prefix, "P40"
  double host_share;  // relative weight when drawing a host's board
  bool mig = false;   // GPUs start in MIG mode (the mix then holds MIG-backed types)
  std::vector<std::pair<std::string, double>> types;  // type name, relative weight
};

// P40, T4, A16, A40, L40S and A100D (MIG) with a typical profile mix each. With
// `equal_size_only`, the A100D runs time-sliced C types instead of MIG, so every GPU of the fleet
// is equal-size and the planner's equal-size lower bound is exact.
[[nodiscard]] std::vector<BoardMix> DefaultMix(bool equal_size_only = false);

struct FleetOptions {
  int hosts = 10'000;
  int gpus_per_host = 8;
  std::uint64_t seed = 1;
  std::vector<BoardMix> mix = DefaultMix();
};

// A ready KVM host per `hosts`, each with `gpus_per_host` empty GPUs of one board drawn by
// host_share. Hosts are named "h00042", GPUs "gpu0".."gpuN". No VMs.
[[nodiscard]] planner::Cluster MakeFleet(const FleetOptions& options);

struct DemandOptions {
  int vms = 0;
  std::uint64_t seed = 2;
  // Share of VMs that ask for two whole-GPU vGPUs (types with max_instances 1) on one host.
  double two_vgpu_share = 0.02;
};

// Appends `vms` VMs needing one exact type each, drawn from the mix of the boards present in the
// fleet; each board gets demand in proportion to the VMs its framebuffer can hold, so every board
// is loaded alike. VMs are named "vm<index>". Returns the new VMs' indexes, in arrival order.
std::vector<int> AddDemand(planner::Cluster& cluster, const std::vector<BoardMix>& mix,
                           const DemandOptions& options);

// Appends equal-size demand that is known to fit: per board, types are drawn until the
// equal-size lower bound (sum over types of ceil(n / max_instances)) would exceed `fill` times
// the board's GPUs. Single-vGPU VMs only, shuffled. Returns the new VMs' indexes.
std::vector<int> AddFittingEqualSizeDemand(planner::Cluster& cluster,
                                           const std::vector<BoardMix>& mix, double fill,
                                           std::uint64_t seed);

// Occupies the fleet as a running cluster would be: each GPU is left empty with probability
// `empty_share`, else carved for a type from its board's mix and given between 1 and
// max_instances instances (MIG GPUs: profiles drawn until one no longer fits). Adds one placed
// VM per instance. Returns the number of VMs added.
int Occupy(planner::Cluster& cluster, const std::vector<BoardMix>& mix, double empty_share,
           std::uint64_t seed);

// A replayable arrival/departure stream: Poisson arrivals of VMs from AddDemand's mix, each with
// an exponentially distributed lifetime (mean 1 time unit). The arrival rate is chosen so that
// the offered framebuffer (rate x mean lifetime x mean VM framebuffer) is `load` times the
// fleet's framebuffer.
struct StreamOptions {
  double load = 1.0;
  double duration = 4.0;  // in mean lifetimes
  std::uint64_t seed = 3;
  double two_vgpu_share = 0.02;
};

struct StreamEvent {
  double time = 0;
  bool arrival = true;
  int vm = -1;
};

struct Stream {
  std::vector<StreamEvent> events;  // by time; a VM's departure follows its arrival
  int arrivals = 0;
};

// Appends the stream's VMs to cluster.vms (unplaced) and returns the events.
Stream AddStream(planner::Cluster& cluster, const std::vector<BoardMix>& mix,
                 const StreamOptions& options);

// The total framebuffer of the fleet's GPUs, and the share of each type in a demand (for the
// fragmentation-gradient baseline, which scores against the expected demand).
[[nodiscard]] long long FleetFramebufferMib(const planner::Cluster& cluster);
[[nodiscard]] std::vector<std::pair<const core::VgpuType*, double>> TypeShares(
    const planner::Cluster& cluster, const std::vector<int>& vms);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_FLEET_GEN_H_
