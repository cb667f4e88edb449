#ifndef GPUFLEET_PLANNER_PLACE_INTERNAL_H_
#define GPUFLEET_PLANNER_PLACE_INTERNAL_H_

// Internal to src/planner: what the placement engine's scan (place.cc) and its index streams
// (place_index.cc) share: the per-decision type cache, the fleet-wide signals of one decision
// (Placer::Outlook) and the index's ordered streams (Placer::Stream).

#include <array>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "planner/capacity.h"
#include "planner/placer.h"

namespace gpufleet::planner::internal {

using Score = std::array<long long, 5>;

// The candidate types of a request depend only on the board and whether the GPU is in MIG
// mode: computed once per decision, not once per GPU.
class TypeCache {
 public:
  explicit TypeCache(const Requirement& need) : need_(need) {}
  const std::vector<const core::VgpuType*>& For(const core::Board& board, bool mig) {
    for (const auto& [b, is_mig, types] : cache_) {
      if (b == &board && is_mig == mig) return types;
    }
    cache_.emplace_back(&board, mig, CandidateTypes(need_, board, mig));
    return std::get<2>(cache_.back());
  }

 private:
  const Requirement& need_;
  std::deque<std::tuple<const core::Board*, bool, std::vector<const core::VgpuType*>>> cache_;
};

// A GPU in MIG (or mixed-size) mode holding exactly `layout`, standing for every GPU of an
// index group.
inline Gpu LayoutGpu(const core::Board* board,
                     const std::vector<std::pair<const core::VgpuType*, int>>& layout,
                     GpuMode mode = GpuMode::kMig) {
  Gpu gpu;
  gpu.board = board;
  gpu.mode = mode;
  for (const auto& [type, placement] : layout) gpu.instances.push_back({-1, type, placement});
  return gpu;
}

// The reserve (see Placer::Outlook::Reserve): on a board with at least kReserveMinGpus GPUs, at
// most kReserveEmpty of them empty.
inline constexpr int kReserveMinGpus = 32;
inline constexpr int kReserveEmpty = 4;

// The fleet-wide signals of one decision (placer.h): read from the index's counters when there is
// an index, else counted on the cluster, which gives the same numbers; memoised, since a decision
// asks about few boards and types.
class Placer::Outlook {
 public:
  Outlook(const Placer& placer, const Cluster& cluster) : placer_(placer), cluster_(cluster) {}

  // Whether `type` takes an empty GPU before a partly filled one. Under overload a board's empty
  // GPUs are claimed by whichever request needs one first, and whole-GPU requests always do; a
  // GPU carved for a type of n instances per GPU serves n VMs where a whole-GPU type serves one.
  // So once a large board is down to its last few empty GPUs, a type of several instances per
  // GPU with less than one GPU's worth of free instances left takes its next GPU now, before the
  // last ones go, rather than when its free instances run out.
  bool Reserve(const core::Board& board, const core::VgpuType& type) {
    if (!placer_.reserve_ || type.max_instances <= 1) return false;
    for (const auto& [t, on] : reserve_) {
      if (t == &type) return on;
    }
    const auto gpus = placer_.board_gpus_.find(&board);
    const bool on = gpus != placer_.board_gpus_.end() && gpus->second >= kReserveMinGpus &&
                    EmptyGpus(board) <= kReserveEmpty &&
                    FreeInstances(board, type) < type.max_instances;
    reserve_.emplace_back(&type, on);
    return on;
  }

  // Instances per MIG-backed type on the board's in-use MIG GPUs: the mix a MIG placement's
  // fragmentation is measured against.
  const std::map<const core::VgpuType*, int>& MigMix(const core::Board& board) {
    if (placer_.use_index_) {
      static const std::map<const core::VgpuType*, int> kNone;
      auto it = placer_.mig_mix_.find(&board);
      return it == placer_.mig_mix_.end() ? kNone : it->second;
    }
    for (const auto& [b, mix] : mix_) {
      if (b == &board) return mix;
    }
    std::map<const core::VgpuType*, int> mix;
    ForEachGpu(board, [&](const Gpu& gpu) {
      if (gpu.mode != GpuMode::kMig) return;
      for (const Instance& i : gpu.instances) ++mix[i.type];
    });
    mix_.emplace_back(&board, std::move(mix));
    return mix_.back().second;
  }

 private:
  // Every GPU of the board the index would hold (not held, not mixed-size).
  template <typename F>
  void ForEachGpu(const core::Board& board, F f) const {
    for (const Host& host : cluster_.hosts) {
      for (const Gpu& gpu : host.gpus) {
        if (gpu.board == &board && !gpu.held && gpu.mode != GpuMode::kMixedSize) f(gpu);
      }
    }
  }

  int EmptyGpus(const core::Board& board) {
    for (const auto& [b, n] : empty_) {
      if (b == &board) return n;
    }
    int n = 0;
    if (placer_.use_index_) {
      for (bool mig : {false, true}) {
        auto it = placer_.empty_.find({&board, mig});
        if (it != placer_.empty_.end()) n += static_cast<int>(it->second.size());
      }
    } else {
      ForEachGpu(board, [&](const Gpu& gpu) {
        n += gpu.instances.empty() && gpu.passthrough_vm < 0 && gpu.mode != GpuMode::kPassthrough;
      });
    }
    empty_.emplace_back(&board, n);
    return n;
  }

  // Free instances of `type` on the board's GPUs in use.
  long long FreeInstances(const core::Board& board, const core::VgpuType& type) const {
    const MixedSizeGeometry& geo = placer_.GeometryFor(cluster_, board);
    long long n = 0;
    if (placer_.use_index_) {
      if (!type.mig_backed) {
        auto it = placer_.partial_free_.find(&type);
        return it == placer_.partial_free_.end() ? 0 : it->second;
      }
      auto groups = placer_.mig_.find(&board);
      if (groups == placer_.mig_.end()) return 0;
      for (const auto& [layout, group] : groups->second) {
        auto [it, fresh] = group.free.try_emplace(&type);
        if (fresh) it->second = FreeCount(LayoutGpu(&board, layout), type, geo);
        n += static_cast<long long>(it->second) * static_cast<long long>(group.gpus.size());
      }
      return n;
    }
    ForEachGpu(board, [&](const Gpu& gpu) {
      const int used = static_cast<int>(gpu.instances.size());
      if (used == 0) return;
      if (gpu.mode == GpuMode::kEqualSize && gpu.carved == &type) {
        n += std::max(0, type.max_instances - used);
      } else if (gpu.mode == GpuMode::kMig && type.mig_backed) {
        n += FreeCount(gpu, type, geo);
      }
    });
    return n;
  }

  const Placer& placer_;
  const Cluster& cluster_;
  std::vector<std::pair<const core::VgpuType*, bool>> reserve_;
  std::vector<std::pair<const core::Board*, int>> empty_;
  std::deque<std::pair<const core::Board*, std::map<const core::VgpuType*, int>>> mix_;
};

// How much the observed MIG mix loses by a placement: over the mix's types, the framebuffer of
// the instances that fit before and no longer fit after, weighted by each type's instance count.
// This is the growth of the fragmentation-gradient measure (bench/baselines.h), up to a constant
// of the request; lower is better.
inline long long MixLoss(const std::map<const core::VgpuType*, int>& mix, const auto& free_before,
                         const auto& free_after) {
  long long loss = 0;
  for (const auto& [type, count] : mix) {
    loss += static_cast<long long>(count) * type->framebuffer_mib *
            (free_before(*type) - free_after(*type));
  }
  return loss;
}

// One ordered run of index entries whose scores follow the set's order: the GPUs of one index
// set that can take `type` (nullptr: pass-through). Under the default policy partly filled
// equal-size GPUs carry their waste in the key's first element (their tier is the stream's),
// empty GPUs their tier; spread and consolidate decode their keys as placer.h (Key) packs them.
struct Placer::Stream {
  enum class Order { kFree, kTier, kFixed, kPassthrough };
  const std::set<Key>* set = nullptr;
  std::set<Key>::const_iterator it;
  const core::VgpuType* type = nullptr;
  Fit fit;
  Order order = Order::kFixed;
  long long tier = 0;
  long long waste = 0;
  Policy policy = Policy::kFragmentationAware;
  long long board_mib = 1;  // the board's framebuffer
  long long used_mib = 0;   // kFixed: the MIG layout's framebuffer in use

  [[nodiscard]] Score ScoreOf(const Key& k) const {
    const auto& [first, h, g] = k;
    if (order == Order::kPassthrough) return {1, first == 1 ? 0 : 1, 0, h, g};
    const long long fb = type->framebuffer_mib;
    switch (policy) {
      case Policy::kFragmentationAware:
        break;
      case Policy::kSpread: {  // HostCandidates: used after, the host's VMs, size
        long long vms = first;
        long long used_after = used_mib + fb;  // an empty GPU's used_mib is 0
        if (order == Order::kFree) {
          vms = first % kSpan;
          used_after = (first / kSpan + 1) * fb;
        }
        return {used_after * 1000 / board_mib, vms, fb, h, g};
      }
      case Policy::kConsolidate: {  // fullest GPU in use first, then empty GPUs
        if (order == Order::kTier) return {1000, first == 1 ? 0 : 1, fb, h, g};
        long long host_part = first;
        long long used_after = used_mib + fb;
        if (order == Order::kFree) {
          host_part = first % kSpan;
          used_after = (type->max_instances - first / kSpan + 1) * fb;
        }
        return {-(used_after * 1000 / board_mib), host_part, fb, h, g};
      }
    }
    switch (order) {
      case Order::kFree:  // waste after one more instance
        return {tier, fb, first - 1, h, g};
      case Order::kTier:
        return {first, fb, waste, h, g};
      case Order::kFixed:
      case Order::kPassthrough:
        break;
    }
    return {tier, fb, waste, h, g};
  }
};

}  // namespace gpufleet::planner::internal

#endif  // GPUFLEET_PLANNER_PLACE_INTERNAL_H_
