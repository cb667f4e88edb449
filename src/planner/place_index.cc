// The index's side of a decision (placer.h): the ordered streams of (GPU, type) candidates a
// request can take, built from the index's sets and merged by Placer::FastDecide (place.cc).

#include <algorithm>
#include <span>

#include "common/strings.h"
#include "planner/place_internal.h"

namespace gpufleet::planner::internal {

void Placer::AddMixedSize(const Cluster& cluster, const core::Board& board,
                          const core::VgpuType& type, long long in_use_tier,
                          std::vector<Stream>& out) const {
  const MixedSizeGeometry& geo = GeometryFor(cluster, board);
  const long long board_mib = board.framebuffer_mib;
  auto add = [&](const std::set<Key>& set, Fit fit, Stream::Order order, long long tier,
                 long long waste, long long used) {
    if (set.empty()) return;
    out.push_back(Stream{&set, set.begin(), &type, fit, order, tier, waste, options_.policy,
                         board_mib, used});
  };
  // Empty ones: a tier like other empty GPUs, no waste (HostCandidates counts waste for
  // equal-size carvings only).
  if (auto it = empty_mixed_.find(&board); it != empty_mixed_.end()) {
    Gpu empty;
    empty.board = &board;
    empty.mode = GpuMode::kMixedSize;
    if (std::optional<Fit> fit = FitOn(empty, type, geo, options_.capacity))
      add(it->second, *fit, Stream::Order::kTier, 0, 0, 0);
  }
  auto groups = mixed_.find(&board);
  if (groups == mixed_.end()) return;
  for (auto& entry : groups->second) {
    const MigLayout& layout = entry.first;
    const MigGroup& group = entry.second;
    auto [cached, fresh] = group.fits.try_emplace(&type);
    if (fresh) {
      cached->second =
          FitOn(LayoutGpu(&board, layout, GpuMode::kMixedSize), type, geo, options_.capacity);
    }
    if (!cached->second) continue;
    const Fit fit = *cached->second;
    if (!group.used_mib) {
      group.used_mib = UsedFramebufferMib(LayoutGpu(&board, layout, GpuMode::kMixedSize));
    }
    // The default policy's waste: the type's free instances once this one is placed.
    auto [after_free, computed] = group.free_after.try_emplace({&type, &type});
    if (computed) {
      Gpu after = LayoutGpu(&board, layout, GpuMode::kMixedSize);
      after.instances.push_back({-1, &type, fit.placement});
      after_free->second = FreeCount(after, type, geo);
    }
    add(group.gpus, fit, Stream::Order::kFixed, in_use_tier, after_free->second, *group.used_mib);
  }
}

bool Placer::StreamsFor(const Cluster& cluster, const Vm& vm, Outlook& outlook,
                        std::vector<Stream>& out) const {
  const Policy policy = options_.policy;
  const bool default_policy = policy == Policy::kFragmentationAware;
  auto add = [&](const std::set<Key>& set, const core::VgpuType* type, Fit fit, Stream::Order order,
                 long long tier, long long waste, long long board_mib = 1, long long used = 0) {
    if (set.empty()) return;
    out.push_back(
        Stream{&set, set.begin(), type, fit, order, tier, waste, policy, board_mib, used});
  };
  if (vm.need.passthrough) {
    // Every policy scores a free GPU alike (HostCandidates): hosts running VMs first, then host
    // and GPU order; spread's empty-GPU keys carry the host's VMs instead of that tier, so under
    // spread every free GPU is also in passthrough_free_ (placer.h).
    for (const core::Board* board : boards_) {
      if (!vm.need.boards.empty() &&
          std::find(vm.need.boards.begin(), vm.need.boards.end(), board) == vm.need.boards.end()) {
        continue;
      }
      if (policy == Policy::kSpread) {
        if (auto it = passthrough_free_.find(board); it != passthrough_free_.end()) {
          add(it->second, nullptr, Fit{GpuMode::kPassthrough, -1}, Stream::Order::kPassthrough, 0,
              0);
        }
        continue;
      }
      if (auto it = empty_mixed_.find(board); it != empty_mixed_.end()) {  // free too
        add(it->second, nullptr, Fit{GpuMode::kPassthrough, -1}, Stream::Order::kPassthrough, 0, 0);
      }
      for (bool mig : {false, true}) {
        if (auto it = empty_.find({board, mig}); it != empty_.end()) {
          add(it->second, nullptr, Fit{GpuMode::kPassthrough, -1}, Stream::Order::kPassthrough, 0,
              0);
        }
      }
      if (auto it = passthrough_free_.find(board); it != passthrough_free_.end()) {
        add(it->second, nullptr, Fit{GpuMode::kPassthrough, -1}, Stream::Order::kPassthrough, 0, 0);
      }
    }
    return true;
  }
  for (const core::Board* board : boards_) {
    if (!vm.need.boards.empty() &&
        std::find(vm.need.boards.begin(), vm.need.boards.end(), board) == vm.need.boards.end()) {
      continue;
    }
    // An exact type needs no candidate lists (the common case: no allocation per decision).
    std::vector<const core::VgpuType*> plain_list, mig_list;
    const core::VgpuType* const exact[1] = {vm.need.type};
    std::span<const core::VgpuType*const> plain, on_mig;
    if (vm.need.type != nullptr) {
      if (!EqualsIgnoreCase(vm.need.type->board_prefix, board->prefix)) continue;
      plain = on_mig = exact;
    } else {
      plain_list = CandidateTypes(vm.need, *board, false);
      mig_list = CandidateTypes(vm.need, *board, true);
      plain = plain_list;
      on_mig = mig_list;
    }
    if (plain.empty() && on_mig.empty()) continue;
    const long long board_mib = board->framebuffer_mib;
    const MixedSizeGeometry& geo = GeometryFor(cluster, *board);
    Gpu blank;
    blank.board = board;
    auto empty_set = [&](bool mig) -> const std::set<Key>* {
      auto it = empty_.find({board, mig});
      return it == empty_.end() ? nullptr : &it->second;
    };
    const bool one_list = plain.data() == on_mig.data();
    for (int pass = 0; pass < (one_list ? 1 : 2); ++pass) {
      for (const core::VgpuType* type : pass == 0 ? plain : on_mig) {
        // A type in both lists is handled once, in the first pass.
        if (pass == 1 && std::find(plain.begin(), plain.end(), type) != plain.end()) continue;
        if (!cluster.license_seats.empty() && !SeatsLeft(cluster, EditionOf(vm, type))) continue;
        const bool on_plain = std::find(plain.begin(), plain.end(), type) != plain.end();
        const bool on_mig_gpu = std::find(on_mig.begin(), on_mig.end(), type) != on_mig.end();
        std::optional<Fit> fresh = FitOn(blank, *type, geo, options_.capacity);
        if (!fresh) continue;
        // Spread and consolidate order by framebuffer in per mille of the board: one more
        // instance must move that number, or the keys' order is not the scores'.
        if (!default_policy && static_cast<long long>(type->framebuffer_mib) * 1000 < board_mib)
          return false;
        const long long empty_waste =
            fresh->mode == GpuMode::kEqualSize
                ? board->framebuffer_mib -
                      static_cast<long long>(type->max_instances) * type->framebuffer_mib
                : 0;
        if (on_plain) {
          if (const auto* set = empty_set(false))
            add(*set, type, *fresh, Stream::Order::kTier, 0, empty_waste, board_mib);
        }
        if (on_mig_gpu) {
          if (const auto* set = empty_set(true))
            add(*set, type, *fresh, Stream::Order::kTier, 0, empty_waste, board_mib);
        }
        // Partly filled GPUs: tier 0, or 3 under the reserve (after the empty GPUs' 1 and 2).
        const long long in_use_tier = default_policy && outlook.Reserve(*board, *type) ? 3 : 0;
        if (on_plain) AddMixedSize(cluster, *board, *type, in_use_tier, out);
        if (!type->mig_backed) {
          if (auto it = partial_.find(type); it != partial_.end())
            add(it->second, type, Fit{GpuMode::kEqualSize, -1}, Stream::Order::kFree, in_use_tier,
                0, board_mib);
          continue;
        }
        if (!on_mig_gpu) continue;
        auto groups = mig_.find(board);
        if (groups == mig_.end()) continue;
        const std::map<const core::VgpuType*, int>& mix = outlook.MigMix(*board);
        for (auto& entry : groups->second) {
          // Named references, not structured bindings: clang 14 (the fuzz preset) cannot
          // capture those in the lambdas below.
          const auto& layout = entry.first;
          auto& group = entry.second;
          // A layout's answers never change: computed once, kept with the group.
          auto [cached, fresh_entry] = group.fits.try_emplace(type);
          if (fresh_entry)
            cached->second = FitOn(LayoutGpu(board, layout), *type, geo, options_.capacity);
          if (!cached->second) continue;
          const Fit fit = *cached->second;
          if (!default_policy) {
            if (!group.used_mib) group.used_mib = UsedFramebufferMib(LayoutGpu(board, layout));
            add(group.gpus, type, fit, Stream::Order::kFixed, 0, 0, board_mib, *group.used_mib);
            continue;
          }
          auto free_before = [&](const core::VgpuType& t) {
            auto [it, computed] = group.free.try_emplace(&t);
            if (computed) it->second = FreeCount(LayoutGpu(board, layout), t, geo);
            return it->second;
          };
          auto free_after = [&](const core::VgpuType& t) {
            auto [it, computed] = group.free_after.try_emplace({type, &t});
            if (computed) {
              Gpu after = LayoutGpu(board, layout);
              after.instances.push_back({-1, type, fit.placement});
              it->second = FreeCount(after, t, geo);
            }
            return it->second;
          };
          add(group.gpus, type, fit, Stream::Order::kFixed, in_use_tier,
              MixLoss(mix, free_before, free_after), board_mib);
        }
      }
    }
  }
  return true;
}

}  // namespace gpufleet::planner::internal
