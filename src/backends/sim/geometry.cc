#include "backends/sim/geometry.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "common/strings.h"

namespace gpufleet::backends::sim::internal {
namespace {

int CountOf(const SimGpu& gpu, const core::VgpuType& type) {
  return static_cast<int>(std::count_if(gpu.instances.begin(), gpu.instances.end(),
                                        [&](const SimInstance& i) { return i.type == &type; }));
}

// Occupancy of a GPU's units (mixed-size slots or MIG memory slices): one flag per unit.
std::vector<bool> Occupancy(const SimGpu& gpu, int units,
                            int (*span)(const SimGpu&, const SimInstance&, const MixedSizeSpec&),
                            const MixedSizeSpec& geometry) {
  std::vector<bool> used(static_cast<std::size_t>(std::max(units, 0)), false);
  for (const SimInstance& i : gpu.instances) {
    for (int u = i.placement; u >= 0 && u < i.placement + span(gpu, i, geometry) && u < units;
         ++u) {
      used[static_cast<std::size_t>(u)] = true;
    }
  }
  return used;
}

bool RunFree(const std::vector<bool>& used, int start, int span) {
  for (int u = start; u < start + span; ++u) {
    if (used[static_cast<std::size_t>(u)]) return false;
  }
  return true;
}

int MixedSpanOf(const SimGpu&, const SimInstance& i, const MixedSizeSpec& geometry) {
  return MixedSlots(*i.type, geometry);
}
int MigSpanOf(const SimGpu& gpu, const SimInstance& i, const MixedSizeSpec&) {
  return MigSpan(*gpu.board, *i.type);
}

// The aligned starts a type may use on a GPU in mixed-size or MIG mode, free or not.
std::vector<int> Starts(const SimGpu& gpu, const core::VgpuType& type,
                        const MixedSizeSpec& geometry) {
  std::vector<int> starts;
  if (gpu.mode == GpuMode::kMig) {
    const int span = MigSpan(*gpu.board, type);
    for (int s = 0; s + span <= gpu.board->mig->memory_slices; s += span) {
      if (s + type.mig_slices.value_or(0) <= gpu.board->mig->compute_slices) starts.push_back(s);
    }
  } else {
    const int span = MixedSlots(type, geometry);
    for (int s = 0; s + span <= MixedTotalSlots(*gpu.board, geometry); s += span) {
      starts.push_back(s);
    }
  }
  return starts;
}

std::vector<int> FreeStarts(const SimGpu& gpu, const core::VgpuType& type,
                            const MixedSizeSpec& geometry) {
  const bool mig = gpu.mode == GpuMode::kMig;
  const std::vector<bool> used =
      mig ? Occupancy(gpu, gpu.board->mig->memory_slices, MigSpanOf, geometry)
          : Occupancy(gpu, MixedTotalSlots(*gpu.board, geometry), MixedSpanOf, geometry);
  const int span = mig ? MigSpan(*gpu.board, type) : MixedSlots(type, geometry);
  std::vector<int> free;
  for (int s : Starts(gpu, type, geometry)) {
    if (RunFree(used, s, span)) free.push_back(s);
  }
  return free;
}

std::string Where(const SimGpu& gpu, const core::VgpuType& type) {
  return StrCat("cannot create ", type.name, " on ", gpu.id, ": ");
}

absl::Status CheckMode(const SimGpu& gpu, const core::VgpuType& type) {
  if (type.board_prefix != gpu.board->prefix) {
    return absl::InvalidArgumentError(StrCat(Where(gpu, type), type.name, " is a type of board ",
                                             type.board_prefix, ", the GPU is a ",
                                             gpu.board->name));
  }
  if (gpu.mode == GpuMode::kPassthrough) {
    return absl::FailedPreconditionError(
        StrCat(Where(gpu, type), "the GPU is passed through to a VM whole"));
  }
  if (gpu.mode == GpuMode::kMig && !type.mig_backed) {
    return absl::FailedPreconditionError(
        StrCat(Where(gpu, type), "MIG mode is enabled; only MIG-backed types can be created"));
  }
  if (gpu.mode != GpuMode::kMig && type.mig_backed) {
    return absl::FailedPreconditionError(
        StrCat(Where(gpu, type), "MIG mode is disabled; ", type.name, " needs a GPU in MIG mode"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> FitEqualSize(const SimGpu& gpu, const core::VgpuType& type) {
  if (!gpu.instances.empty() && gpu.carved != nullptr && gpu.carved != &type) {
    return absl::ResourceExhaustedError(
        StrCat(Where(gpu, type), "available_instances is 0: the GPU runs ", gpu.carved->name,
               " vGPUs and equal-size vGPU allows one type per physical GPU"));
  }
  if (static_cast<int>(gpu.instances.size()) >= type.max_instances) {
    return absl::ResourceExhaustedError(StrCat(Where(gpu, type),
                                               "available_instances is 0: ", type.max_instances,
                                               " of ", type.max_instances, " instances exist"));
  }
  return -1;
}

absl::StatusOr<int> FitPlaced(const SimGpu& gpu, const core::VgpuType& type, int requested,
                              const MixedSizeSpec& geometry) {
  if (CountOf(gpu, type) >= type.max_instances) {
    return absl::ResourceExhaustedError(
        StrCat(Where(gpu, type), "already ", type.max_instances, " x ", type.name, " (the most)"));
  }
  if (gpu.mode == GpuMode::kMig) {
    int compute = 0;
    for (const SimInstance& i : gpu.instances) compute += i.type->mig_slices.value_or(0);
    if (compute + type.mig_slices.value_or(0) > gpu.board->mig->compute_slices) {
      return absl::ResourceExhaustedError(StrCat(Where(gpu, type),
                                                 "insufficient compute slices: ", compute, " of ",
                                                 gpu.board->mig->compute_slices, " in use"));
    }
  }
  const std::vector<int> free = FreeStarts(gpu, type, geometry);
  if (requested < 0) {
    if (free.empty()) {
      return absl::ResourceExhaustedError(
          StrCat(Where(gpu, type), "no free placement (all aligned ranges overlap instances)"));
    }
    return free.front();
  }
  const std::vector<int> all = Starts(gpu, type, geometry);
  if (std::find(all.begin(), all.end(), requested) == all.end()) {
    return absl::InvalidArgumentError(
        StrCat(Where(gpu, type), "placement ", requested, " is not a placement of the type"));
  }
  if (std::find(free.begin(), free.end(), requested) == free.end()) {
    return absl::ResourceExhaustedError(
        StrCat(Where(gpu, type), "placement ", requested, " overlaps an instance"));
  }
  return requested;
}

}  // namespace

int MigSpan(const core::Board& board, const core::VgpuType& type) {
  const int slices = board.mig ? board.mig->memory_slices : 8;
  const long span = std::lround(static_cast<double>(type.framebuffer_mib) * slices /
                                static_cast<double>(board.framebuffer_mib));
  return std::clamp(static_cast<int>(span), 1, slices);
}

int MixedSlots(const core::VgpuType& type, const MixedSizeSpec& geometry) {
  return std::max(1, (type.framebuffer_mib + geometry.slot_mib - 1) / geometry.slot_mib);
}

int MixedTotalSlots(const core::Board& board, const MixedSizeSpec& geometry) {
  const int slots = geometry.slots > 0 ? geometry.slots : board.framebuffer_mib / geometry.slot_mib;
  return std::max(0, slots - geometry.reserved_slots);
}

void AddInstance(SimGpu& gpu, SimInstance instance) {
  if (gpu.mode == GpuMode::kUnconfigured) gpu.mode = GpuMode::kEqualSize;
  if (gpu.mode == GpuMode::kEqualSize) gpu.carved = instance.type;
  gpu.instances.push_back(std::move(instance));
}

void ForgetCarving(SimGpu& gpu) {
  if (gpu.instances.empty() && gpu.mode == GpuMode::kEqualSize) gpu.carved = nullptr;
}

absl::StatusOr<int> FitInstance(const SimGpu& gpu, const core::VgpuType& type, int requested,
                                const MixedSizeSpec& geometry) {
  if (absl::Status s = CheckMode(gpu, type); !s.ok()) return s;
  if (gpu.mode == GpuMode::kMixedSize || gpu.mode == GpuMode::kMig) {
    return FitPlaced(gpu, type, requested, geometry);
  }
  if (requested >= 0) {
    return absl::InvalidArgumentError(StrCat(Where(gpu, type), "placement ", requested,
                                             " given, but the GPU is in ", GpuModeName(gpu.mode),
                                             " mode"));
  }
  return FitEqualSize(gpu, type);
}

std::vector<CreatableType> CreatableTypes(const SimGpu& gpu, const MixedSizeSpec& geometry) {
  std::vector<CreatableType> out;
  for (const core::VgpuType& type : gpu.board->types) {
    if (!CheckMode(gpu, type).ok()) continue;
    CreatableType c{type.name, 0, {}};
    SimGpu probe = gpu;
    while (true) {
      absl::StatusOr<int> fit = FitInstance(probe, type, -1, geometry);
      if (!fit.ok()) break;
      if (c.available == 0 && *fit >= 0) c.placements = FreeStarts(gpu, type, geometry);
      probe.instances.push_back(SimInstance{Uuid(), &type, *fit, "", false, std::nullopt});
      probe.carved = &type;
      ++c.available;
    }
    if (c.available > 0) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace gpufleet::backends::sim::internal
