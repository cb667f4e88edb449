#ifndef GPUFLEET_PLANNER_CAPACITY_H_
#define GPUFLEET_PLANNER_CAPACITY_H_

#include <optional>
#include <string>

#include "planner/model.h"

namespace gpufleet::planner {

// The capacity rules of one physical GPU, for every mode. Pure functions of the GPU's state.

// Where an instance of a type can go on a GPU, and the mode the GPU is in afterwards.
struct Fit {
  GpuMode mode = GpuMode::kEqualSize;
  int placement = -1;  // mixed-size placement id or MIG start slice; -1 otherwise
};

struct CapacityOptions {
  // The planner never switches a GPU into mixed-size mode itself: an operator configures it (the
  // cluster file's `mode: mixed-size`), because it needs vGPU >= 17 and board support.
  // Allow re-carving an empty equal-size GPU to another type.
  bool allow_recarve = true;
};

// Whether one more instance of `type` fits on `gpu`; nullopt with `why` set when it does not.
std::optional<Fit> FitOn(const Gpu& gpu, const core::VgpuType& type,
                         const MixedSizeGeometry& geometry, const CapacityOptions& options,
                         std::string* why = nullptr);

// How many more instances of `type` the GPU could take, in its current mode (an unconfigured or
// empty GPU counts as carved for `type`).
[[nodiscard]] int FreeCount(const Gpu& gpu, const core::VgpuType& type,
                            const MixedSizeGeometry& geometry);

// Framebuffer in use and total, for utilisation and stranded-capacity reports.
[[nodiscard]] int UsedFramebufferMib(const Gpu& gpu);

// MIG geometry: a MIG-backed type takes `mig_slices` compute slices and a span of memory slices
// (its framebuffer over an eighth of the GPU's, rounded), starting at a multiple of the span such
// that the compute slices fit (start + slices <= compute slices). This reproduces NVIDIA's
// placements (1g: 0-6, 2g: 0/2/4, 3g: 0/4, 4g and 7g: 0) and the catalog's maximum counts.
[[nodiscard]] int MigMemorySpan(const core::Board& board, const core::VgpuType& type);
[[nodiscard]] std::vector<int> MigStarts(const core::Board& board, const core::VgpuType& type);

// The slots a mixed-size type occupies, from the geometry.
[[nodiscard]] int MixedSizeSlots(const core::VgpuType& type, const MixedSizeGeometry& geometry);
[[nodiscard]] int MixedSizeTotalSlots(const core::Board& board, const MixedSizeGeometry& geometry);

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_CAPACITY_H_
