#ifndef GPUFLEET_BENCH_BASELINES_H_
#define GPUFLEET_BENCH_BASELINES_H_

// In-tree baseline placers, so that every figure of the benchmark is a ratio measured in one run
// on the same inputs. They are built only on the public capacity rules (planner::FitOn,
// FreeCount, CandidateTypes) and planner::Apply / Unplace: a baseline differs from gpufleet only
// in which feasible GPU it picks.
//
// Every baseline scans the hosts in order and, on each ready host with the VM's required labels,
// takes for every GPU the smallest candidate type that fits, scores the GPU, and keeps the host
// whose best `vgpus` distinct GPUs have the lowest total score (ties: lower host, lower GPU).
// Scope: the generated workloads carry no anti-affinity, host CPU/memory or license limits and
// no pass-through VMs, so the baselines do not model them (a pass-through VM is rejected).

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "bench/online.h"

namespace gpufleet::bench {

// The first host, in index order, with enough fitting GPUs; the first of them.
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewFirstFit();
// The GPU left with the least free framebuffer after the placement.
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewBestFit();
// A GPU drawn uniformly among those that fit (seeded).
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewRandomFit(std::uint64_t seed);

// The fragmentation-gradient score of "Beware of Fragmentation: Scheduling GPU-Sharing Workloads
// with Fragmentation Gradient Descent" (Weng et al., USENIX ATC'23), adapted to vGPU: the
// fragmentation of a GPU is the framebuffer that the expected next VM could not use, averaged
// over the expected distribution of VM types; the placer picks the GPU whose fragmentation grows
// least (or shrinks most) by the placement. `expected` gives each type's share of the demand;
// a GPU is measured against the shares of its board's types, renormalised.
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewFragmentationGradient(
    std::vector<std::pair<const core::VgpuType*, double>> expected);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_BASELINES_H_
