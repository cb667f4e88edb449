#ifndef GPUFLEET_BACKENDS_SIM_GEOMETRY_H_
#define GPUFLEET_BACKENDS_SIM_GEOMETRY_H_

#include <vector>

#include "absl/status/statusor.h"
#include "backends/sim/scenario.h"
#include "backends/sim/sim_state.h"
#include "backends/vgpu_host.h"
#include "core/catalog_model.h"

namespace gpufleet::backends::sim::internal {

// The simulator's capacity rules of one physical GPU, written from the catalog's facts on their
// own (not with the planner's code) so that a simulated cluster cross-checks the planner.
// Instances that are tearing down still hold their room.
//   equal-size / unconfigured  one time-sliced type per GPU, at most VgpuType::max_instances
//   mixed-size                 time-sliced types of any size at aligned placements (MixedSizeSpec)
//   mig                        MIG-backed types: compute slices add up to the board's, memory
//                              slices (a span per type) start at a multiple of the span

// Where one more instance of `type` goes: its placement (-1 where the mode has none). With
// `requested` >= 0 that placement is checked instead of the first free one. Errors follow
// VgpuHost's codes: InvalidArgument (not a type of the board, misaligned placement),
// FailedPrecondition (wrong mode), ResourceExhausted (no room).
absl::StatusOr<int> FitInstance(const SimGpu& gpu, const core::VgpuType& type, int requested,
                                const MixedSizeSpec& geometry);

// The types with room on the GPU now, in catalog order, with their free count and placements.
[[nodiscard]] std::vector<CreatableType> CreatableTypes(const SimGpu& gpu,
                                                        const MixedSizeSpec& geometry);

// MIG: memory slices a type spans; mixed-size: slots a type takes and slots a GPU has.
[[nodiscard]] int MigSpan(const core::Board& board, const core::VgpuType& type);
[[nodiscard]] int MixedSlots(const core::VgpuType& type, const MixedSizeSpec& geometry);
[[nodiscard]] int MixedTotalSlots(const core::Board& board, const MixedSizeSpec& geometry);

// Puts an instance that FitInstance accepted on the GPU: an unconfigured GPU becomes equal-size,
// carved for the instance's type.
void AddInstance(SimGpu& gpu, SimInstance instance);
// After instances left: an empty equal-size GPU is free to be carved for another type.
void ForgetCarving(SimGpu& gpu);

}  // namespace gpufleet::backends::sim::internal

#endif  // GPUFLEET_BACKENDS_SIM_GEOMETRY_H_
