#include "planner/capacity.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/strings.h"

namespace gpufleet::planner {
namespace {

int CountOf(const Gpu& gpu, const core::VgpuType& type) {
  int n = 0;
  for (const Instance& i : gpu.instances) n += i.type == &type;
  return n;
}

bool SpanFree(const Gpu& gpu, int start, int span, int (*span_of)(const Gpu&, const Instance&)) {
  for (const Instance& i : gpu.instances) {
    const int s = i.placement, e = i.placement + span_of(gpu, i);
    if (start < e && s < start + span) return false;
  }
  return true;
}

int MigSpanOf(const Gpu& gpu, const Instance& i) { return MigMemorySpan(*gpu.board, *i.type); }

// What a MIG GPU still offers once an instance takes memory slices [start, start + span): every
// aligned run of free memory slices (spans 1, 2, 4, 8, ...) counted by the compute slices a
// profile starting there could take (a run cannot reach past the last compute slice: on 7+8
// geometry a 4-slice run at 4 holds a 3g profile, a 2-slice run at 6 only a 1g one). Choosing the
// start that keeps most of it is what leaves 2g at 4 possible next to a 3g at 0 when a 1g comes
// (it goes to slice 6, not 4).
int MigRoomLeft(const Gpu& gpu, int start, int span) {
  const core::MigGeometry& mig = *gpu.board->mig;
  const int slices = std::min(mig.memory_slices, 31);
  auto run = [](int from, int length) {
    return ((std::uint32_t{1} << length) - 1U) << static_cast<unsigned>(from);
  };
  std::uint32_t used = run(start, std::min(span, slices - start));
  for (const Instance& i : gpu.instances) {
    if (i.placement < 0 || i.placement >= slices) continue;
    used |= run(i.placement, std::min(MigSpanOf(gpu, i), slices - i.placement));
  }
  int room = 0;
  for (int length = 1; length <= slices; length *= 2) {
    for (int from = 0; from + length <= slices; from += length) {
      const int compute = std::min(length, mig.compute_slices - from);
      if (compute > 0 && (used & run(from, length)) == 0) room += compute;
    }
  }
  return room;
}

std::optional<Fit> FitMig(const Gpu& gpu, const core::VgpuType& type, std::string* why) {
  const core::Board& board = *gpu.board;
  if (!type.mig_backed || !board.mig) {
    if (why) *why = StrCat(type.name, " is not MIG-backed; the GPU is in MIG mode");
    return std::nullopt;
  }
  int compute_used = 0;
  for (const Instance& i : gpu.instances) compute_used += i.type->mig_slices.value_or(0);
  if (compute_used + *type.mig_slices > board.mig->compute_slices) {
    if (why) {
      *why = StrCat(compute_used, " of ", board.mig->compute_slices, " compute slices in use; ",
                    type.name, " needs ", *type.mig_slices);
    }
    return std::nullopt;
  }
  if (CountOf(gpu, type) >= type.max_instances) {
    if (why) *why = StrCat("already ", type.max_instances, " x ", type.name, " (the maximum)");
    return std::nullopt;
  }
  const int span = MigMemorySpan(board, type);
  std::optional<Fit> best;
  int best_room = -1;
  for (int start : MigStarts(board, type)) {
    if (!SpanFree(gpu, start, span, MigSpanOf)) continue;
    const int room = MigRoomLeft(gpu, start, span);
    if (room > best_room) {
      best = Fit{GpuMode::kMig, start};
      best_room = room;
    }
  }
  if (best) return best;
  if (why) {
    *why = span == 1 ? StrCat("no free memory slice for ", type.name)
                     : StrCat("no free aligned run of ", span, " memory slices for ", type.name);
  }
  return std::nullopt;
}

// Mixed-size geometry is per board; the capacity functions get it from the caller because the
// defaults are assumptions the cluster file may override.
std::optional<Fit> FitMixed(const Gpu& gpu, const core::VgpuType& type,
                            const MixedSizeGeometry& geo, std::string* why) {
  if (type.mig_backed) {
    if (why) *why = StrCat(type.name, " is MIG-backed; the GPU is in mixed-size mode");
    return std::nullopt;
  }
  if (CountOf(gpu, type) >= type.max_instances) {
    if (why) *why = StrCat("already ", type.max_instances, " x ", type.name, " (the maximum)");
    return std::nullopt;
  }
  const int size = MixedSizeSlots(type, geo);
  const int total = MixedSizeTotalSlots(*gpu.board, geo);
  for (int start = 0; start + size <= total; start += size) {
    bool free = true;
    for (const Instance& i : gpu.instances) {
      const int s = i.placement, e = i.placement + MixedSizeSlots(*i.type, geo);
      if (start < e && s < start + size) {
        free = false;
        break;
      }
    }
    if (free) return Fit{GpuMode::kMixedSize, start};
  }
  if (why) {
    *why = size == 1 ? StrCat("no free slot for ", type.name)
                     : StrCat("no free aligned run of ", size, " slots for ", type.name);
  }
  return std::nullopt;
}

}  // namespace

int MigMemorySpan(const core::Board& board, const core::VgpuType& type) {
  const int slices = board.mig ? board.mig->memory_slices : 8;
  const double eighth = static_cast<double>(board.framebuffer_mib) / slices;
  const int span = static_cast<int>(std::lround(type.framebuffer_mib / eighth));
  return std::clamp(span, 1, slices);
}

std::vector<int> MigStarts(const core::Board& board, const core::VgpuType& type) {
  std::vector<int> starts;
  if (!board.mig || !type.mig_slices) return starts;
  const int span = MigMemorySpan(board, type);
  for (int start = 0; start + span <= board.mig->memory_slices; start += span) {
    if (start + *type.mig_slices <= board.mig->compute_slices) starts.push_back(start);
  }
  return starts;
}

int MixedSizeSlots(const core::VgpuType& type, const MixedSizeGeometry& geometry) {
  return std::max(1, (type.framebuffer_mib + geometry.slot_mib - 1) / geometry.slot_mib);
}

int MixedSizeTotalSlots(const core::Board& board, const MixedSizeGeometry& geometry) {
  const int slots = geometry.slots > 0 ? geometry.slots : board.framebuffer_mib / geometry.slot_mib;
  return std::max(0, slots - geometry.reserved_slots);
}

std::optional<Fit> FitOn(const Gpu& gpu, const core::VgpuType& type,
                         const MixedSizeGeometry& geometry, const CapacityOptions& options,
                         std::string* why) {
  if (gpu.board == nullptr || !EqualsIgnoreCase(type.board_prefix, gpu.board->prefix)) {
    if (why) *why = StrCat(type.name, " is not a type of this GPU's board");
    return std::nullopt;
  }
  if (gpu.held) {
    if (why) *why = "held empty for a re-carving";
    return std::nullopt;
  }
  auto fresh = [&]() -> std::optional<Fit> {
    if (!type.mig_backed) return Fit{GpuMode::kEqualSize, -1};
    Gpu empty;
    empty.board = gpu.board;
    return FitMig(empty, type, why);
  };
  switch (gpu.mode) {
    case GpuMode::kPassthrough:
      if (why) *why = "the GPU is passed through whole";
      return std::nullopt;
    case GpuMode::kUnconfigured:
      return fresh();
    case GpuMode::kEqualSize:
      if (gpu.instances.empty()) {
        if (gpu.carved == nullptr || gpu.carved == &type || options.allow_recarve) return fresh();
        if (why) *why = StrCat("carved for ", gpu.carved->name, " and re-carving is not allowed");
        return std::nullopt;
      }
      if (gpu.carved != &type) {
        if (why) {
          *why = StrCat("carved for ", gpu.carved ? gpu.carved->name : "another type",
                        " (equal-size: one type per GPU)");
        }
        return std::nullopt;
      }
      if (static_cast<int>(gpu.instances.size()) >= type.max_instances) {
        if (why) *why = StrCat("full: ", type.max_instances, " x ", type.name);
        return std::nullopt;
      }
      return Fit{GpuMode::kEqualSize, -1};
    case GpuMode::kMixedSize:
      return FitMixed(gpu, type, geometry, why);
    case GpuMode::kMig:
      if (gpu.instances.empty() && !type.mig_backed && options.allow_recarve) return fresh();
      return FitMig(gpu, type, why);
  }
  return std::nullopt;
}

int FreeCount(const Gpu& gpu, const core::VgpuType& type, const MixedSizeGeometry& geometry) {
  // Equal-size carvings are counted directly; every other case is probed instance by instance.
  if (!type.mig_backed && !gpu.held && gpu.board != nullptr &&
      EqualsIgnoreCase(type.board_prefix, gpu.board->prefix)) {
    const int n = static_cast<int>(gpu.instances.size());
    if (gpu.mode == GpuMode::kEqualSize && gpu.carved == &type && n > 0) {
      return std::max(0, type.max_instances - n);
    }
    if ((gpu.mode == GpuMode::kUnconfigured || gpu.mode == GpuMode::kEqualSize) && n == 0) {
      return type.max_instances;
    }
  }
  Gpu probe = gpu;
  CapacityOptions options;  // an empty GPU counts as carved for `type`
  int n = 0;
  while (n <= type.max_instances) {
    std::optional<Fit> fit = FitOn(probe, type, geometry, options);
    if (!fit) break;
    probe.mode = fit->mode;
    if (fit->mode == GpuMode::kEqualSize) probe.carved = &type;
    probe.instances.push_back(Instance{-1, &type, fit->placement});
    ++n;
  }
  return n;
}

int UsedFramebufferMib(const Gpu& gpu) {
  int used = 0;
  for (const Instance& i : gpu.instances) used += i.type->framebuffer_mib;
  if (gpu.mode == GpuMode::kPassthrough && gpu.passthrough_vm >= 0)
    used = gpu.board->framebuffer_mib;
  return used;
}

}  // namespace gpufleet::planner
