#include <algorithm>

#include "common/strings.h"
#include "planner/moves.h"

namespace gpufleet::planner {
namespace {

const MixedSizeGeometry& Geometry(const Cluster& cluster, const core::Board& board) {
  static const MixedSizeGeometry kDefault;
  auto it = cluster.mixed_size.find(board.prefix);
  return it == cluster.mixed_size.end() ? kDefault : it->second;
}

// Instances of `target` that fit now; GPUs held for the target (re-carved by this defrag) count.
int FreeFor(const Cluster& c, const core::VgpuType& target) {
  int free = 0;
  for (const Host& host : c.hosts) {
    if (host.state != HostState::kReady) continue;
    for (Gpu gpu : host.gpus) {
      gpu.held = false;
      if (gpu.board == nullptr || !EqualsIgnoreCase(gpu.board->prefix, target.board_prefix)) {
        continue;
      }
      if (gpu.mode == GpuMode::kEqualSize && !gpu.instances.empty() && gpu.carved != &target) {
        continue;
      }
      if (gpu.mode == GpuMode::kPassthrough) continue;
      free += FreeCount(gpu, target, Geometry(c, *gpu.board));
    }
  }
  return free;
}

}  // namespace

DefragResult Defrag(const Cluster& cluster, const core::VgpuType& target, int count,
                    const EvacuateOptions& options) {
  DefragResult result;
  result.cluster = cluster;
  Cluster& work = result.cluster;
  result.free_before = FreeFor(work, target);
  int free = result.free_before;
  // GPUs that could be re-carved for the target, cheapest (fewest instances to move) first.
  struct Candidate {
    int instances, host, gpu;
  };
  std::vector<Candidate> candidates;
  for (std::size_t h = 0; h < work.hosts.size(); ++h) {
    const Host& host = work.hosts[h];
    if (host.state != HostState::kReady) continue;
    for (std::size_t g = 0; g < host.gpus.size(); ++g) {
      const Gpu& gpu = host.gpus[g];
      if (gpu.board == nullptr || !EqualsIgnoreCase(gpu.board->prefix, target.board_prefix) ||
          gpu.instances.empty() || gpu.mode == GpuMode::kPassthrough || gpu.carved == &target) {
        continue;
      }
      candidates.push_back(
          {static_cast<int>(gpu.instances.size()), static_cast<int>(h), static_cast<int>(g)});
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.instances, a.host, a.gpu) < std::tie(b.instances, b.host, b.gpu);
  });
  std::vector<std::pair<int, int>> freed;
  std::vector<std::string> failures;
  for (const Candidate& c : candidates) {
    if (free >= count) break;
    Cluster trial = work;
    Gpu& gpu = trial.hosts[static_cast<std::size_t>(c.host)].gpus[static_cast<std::size_t>(c.gpu)];
    const core::VgpuType* from = gpu.carved;
    std::vector<std::pair<int, std::vector<const core::VgpuType*>>> vms;
    for (const Instance& i : gpu.instances) {
      if (std::none_of(vms.begin(), vms.end(), [&](const auto& v) { return v.first == i.vm; })) {
        vms.emplace_back(i.vm, internal::TypesOf(trial, i.vm));
      }
    }
    gpu.held = true;
    std::vector<bool> ecc;
    for (const auto& [vm, types] : vms) ecc.push_back(internal::EccOf(trial, c.host, vm));
    for (const auto& [vm, types] : vms) Unplace(trial, vm);
    internal::Placer placer(trial, options.place);
    std::vector<Move> moves;
    std::string failed;
    for (std::size_t i = 0; i < vms.size(); ++i) {
      internal::MoveRules rules{true, ecc[i], options.stun_budget_seconds};
      internal::MoveOutcome m =
          internal::MoveVm(trial, placer, vms[i].first, c.host, vms[i].second, rules);
      if (!m.assignment) {
        failed = StrCat(trial.vms[static_cast<std::size_t>(vms[i].first)].name, ": ", m.reason);
        break;
      }
      moves.push_back(
          {vms[i].first, c.host, *m.assignment,
           EstimateStunSeconds(vms[i].second.empty() ? 0 : vms[i].second.front()->framebuffer_mib,
                               10)});
    }
    if (!failed.empty()) {
      failures.push_back(StrCat(trial.hosts[static_cast<std::size_t>(c.host)].name, "/", gpu.id,
                                " cannot be emptied (", failed, ")"));
      continue;
    }
    // Re-carve the emptied GPU for the target; keep it held so later moves leave it alone.
    gpu.mode = target.mig_backed ? GpuMode::kMig : GpuMode::kEqualSize;
    gpu.carved = target.mig_backed ? nullptr : &target;
    work = std::move(trial);
    // Moved VMs may have filled GPUs that counted as free for the target: count again.
    free = FreeFor(work, target);
    freed.emplace_back(c.host, c.gpu);
    result.recarves.push_back({c.host, c.gpu, from, &target});
    // A VM moved twice (its new GPU was emptied later) is one move from its first host.
    for (Move& m : moves) {
      auto it = std::find_if(result.moves.begin(), result.moves.end(),
                             [&](const Move& x) { return x.vm == m.vm; });
      if (it == result.moves.end()) {
        result.moves.push_back(std::move(m));
      } else {
        it->to = m.to;
        it->stun_seconds = m.stun_seconds;
      }
    }
  }
  for (const auto& [h, g] : freed) {
    work.hosts[static_cast<std::size_t>(h)].gpus[static_cast<std::size_t>(g)].held = false;
  }
  result.free_after = FreeFor(work, target);
  result.satisfied = result.free_after >= count;
  if (!result.satisfied) {
    // A partial defragmentation moves VMs without making the room asked for: propose nothing,
    // and say how far it could get.
    result.moves.clear();
    result.recarves.clear();
    result.cluster = cluster;
  }
  if (result.free_before >= count) {
    result.explanation =
        StrCat(result.free_before, " x ", target.name, " fit already; nothing to move");
  } else if (result.satisfied) {
    auto n = [](std::size_t k, std::string_view what) {
      return StrCat(k, " ", what, k == 1 ? "" : "s");
    };
    result.explanation = StrCat(n(result.moves.size(), "migration"), " and ",
                                n(result.recarves.size(), "re-carving"), " make room for ", count,
                                " x ", target.name, " (", result.free_before, " fit before, ",
                                result.free_after, " after)");
  } else {
    result.explanation = StrCat("no plan: at most ", result.free_after, " x ", target.name,
                                " can be made to fit, ", count, " wanted");
    if (candidates.empty())
      StrAppend(&result.explanation, ": no ", target.board_prefix, " GPU to re-carve");
    if (!failures.empty()) StrAppend(&result.explanation, "; ", StrJoin(failures, "; "));
  }
  return result;
}

}  // namespace gpufleet::planner
