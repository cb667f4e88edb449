#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <set>
#include <tuple>
#include <utility>

#include "common/strings.h"
#include "planner/moves.h"

namespace gpufleet::planner {
namespace {

const MixedSizeGeometry& Geometry(const Cluster& cluster, const core::Board& board) {
  static const MixedSizeGeometry kDefault;
  auto it = cluster.mixed_size.find(board.prefix);
  return it == cluster.mixed_size.end() ? kDefault : it->second;
}

bool OfBoard(const Gpu& gpu, const core::VgpuType& target) {
  return gpu.board != nullptr && EqualsIgnoreCase(gpu.board->prefix, target.board_prefix);
}

// Instances of `target` that one GPU takes now, as if it were not held.
int FreeOn(const Cluster& c, Gpu gpu, const core::VgpuType& target) {
  gpu.held = false;
  if (!OfBoard(gpu, target) || gpu.mode == GpuMode::kPassthrough) return 0;
  if (gpu.mode == GpuMode::kEqualSize && !gpu.instances.empty() && gpu.carved != &target) return 0;
  return FreeCount(gpu, target, Geometry(c, *gpu.board));
}

// Instances of `target` that fit now on ready hosts; GPUs held for the target count.
int FreeFor(const Cluster& c, const core::VgpuType& target) {
  int free = 0;
  for (const Host& host : c.hosts) {
    if (host.state != HostState::kReady) continue;
    for (const Gpu& gpu : host.gpus) free += FreeOn(c, gpu, target);
  }
  return free;
}

// One way to make room on one GPU: move the VMs of some of its instances elsewhere.
struct Option {
  int host = -1, gpu = -1;
  std::uint32_t removed = 0;  // bit i: gpu.instances[i] leaves
  int moves = 0;              // VMs that move (one instance each on this GPU)
  int gain = 0;               // more instances of the target that fit once they are gone
  bool empties = false;       // the GPU is left empty and re-carved for the target
};

// Instances on one GPU beyond which only emptying it whole is considered (2^n subsets).
constexpr int kMaxSubsetInstances = 12;
// Knapsack cells (GPUs x instances wanted) above which the candidates are cut to the cheapest.
constexpr std::size_t kMaxKnapsackCells = std::size_t{4} << 20;

Gpu Without(const Gpu& gpu, std::uint32_t removed) {
  Gpu out = gpu;
  out.held = false;
  out.instances.clear();
  for (std::size_t i = 0; i < gpu.instances.size(); ++i) {
    if ((removed >> i & 1U) == 0) out.instances.push_back(gpu.instances[i]);
  }
  if (out.instances.empty()) {  // an empty GPU may be re-carved for anything
    out.mode = GpuMode::kUnconfigured;
    out.carved = nullptr;
  }
  return out;
}

// The cheapest ways to gain room for `target` on one GPU, each gaining more than every cheaper
// one. Emptying is the only way on an equal-size GPU carved for another type or when the target
// needs another mode; MIG (for a MIG target) and mixed-size GPUs may also give up some instances.
std::vector<Option> OptionsFor(const Cluster& c, int h, int g, const core::VgpuType& target) {
  const Gpu& gpu = c.hosts[static_cast<std::size_t>(h)].gpus[static_cast<std::size_t>(g)];
  std::vector<Option> out;
  const int n = static_cast<int>(gpu.instances.size());
  if (n == 0 || !OfBoard(gpu, target) || gpu.mode == GpuMode::kPassthrough ||
      (gpu.mode == GpuMode::kEqualSize && gpu.carved == &target)) {
    return out;
  }
  const int now = FreeOn(c, gpu, target);
  const bool partial =
      n <= kMaxSubsetInstances && ((gpu.mode == GpuMode::kMig && target.mig_backed) ||
                                   (gpu.mode == GpuMode::kMixedSize && !target.mig_backed));
  const std::uint32_t all = (std::uint32_t{1} << n) - 1U;
  std::vector<Option> by_cost;  // the best gain for each number of moves
  for (std::uint32_t removed = partial ? 1U : all; removed <= all; ++removed) {
    bool moves_target = false;  // moving the target itself away makes no room for it
    for (int i = 0; i < n; ++i) {
      if ((removed >> i & 1U) != 0 && gpu.instances[static_cast<std::size_t>(i)].type == &target)
        moves_target = true;
    }
    if (moves_target) continue;
    const int gain = FreeOn(c, Without(gpu, removed), target) - now;
    if (gain <= 0) continue;
    const int moves = std::popcount(removed);
    if (static_cast<int>(by_cost.size()) < moves + 1)
      by_cost.resize(static_cast<std::size_t>(moves) + 1);
    Option& best = by_cost[static_cast<std::size_t>(moves)];
    if (gain > best.gain) best = Option{h, g, removed, moves, gain, removed == all};
  }
  int best_gain = 0;
  for (const Option& o : by_cost) {
    if (o.gain > best_gain) {
      out.push_back(o);
      best_gain = o.gain;
    }
  }
  return out;
}

struct Cost {
  int moves = std::numeric_limits<int>::max();
  int gpus = 0;
  bool operator<(const Cost& o) const { return std::tie(moves, gpus) < std::tie(o.moves, o.gpus); }
};

// The fewest moves (then GPUs touched) whose gains add up to `need`: a knapsack over the GPUs,
// one option each. Empty when no choice adds up. `bound` gets the optimum's moves.
std::vector<Option> Cheapest(const std::vector<std::vector<Option>>& gpus, int need, Cost* best) {
  const std::size_t levels = static_cast<std::size_t>(need) + 1;
  std::vector<Cost> dp(levels);
  dp[0] = Cost{0, 0};
  // choice[i][k]: the option of GPU i taken to reach level k at stage i (-1: none), from prev.
  std::vector<std::vector<std::int8_t>> choice(gpus.size(), std::vector<std::int8_t>(levels, -1));
  std::vector<std::vector<int>> prev(gpus.size(), std::vector<int>(levels, 0));
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    std::vector<Cost> next = dp;
    for (std::size_t j = 0; j < levels; ++j) {
      if (dp[j].moves == std::numeric_limits<int>::max()) continue;
      for (std::size_t o = 0; o < gpus[i].size(); ++o) {
        const std::size_t k = std::min(levels - 1, j + static_cast<std::size_t>(gpus[i][o].gain));
        const Cost c{dp[j].moves + gpus[i][o].moves, dp[j].gpus + 1};
        if (c < next[k]) {
          next[k] = c;
          choice[i][k] = static_cast<std::int8_t>(o);
          prev[i][k] = static_cast<int>(j);
        }
      }
    }
    dp = std::move(next);
  }
  *best = dp[levels - 1];
  std::vector<Option> out;
  if (best->moves == std::numeric_limits<int>::max()) return out;
  std::size_t k = levels - 1;
  for (std::size_t i = gpus.size(); i-- > 0;) {
    if (choice[i][k] < 0) continue;
    out.push_back(gpus[i][static_cast<std::size_t>(choice[i][k])]);
    k = static_cast<std::size_t>(prev[i][k]);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// Whether a VM with several vGPUs could move: it would count once per GPU it leaves, so the
// knapsack's optimum would not bound the moves.
bool MultiVgpuVmAmong(const Cluster& c, const std::vector<std::vector<Option>>& gpus) {
  for (const std::vector<Option>& options : gpus) {
    const Gpu& gpu = c.hosts[static_cast<std::size_t>(options.front().host)]
                         .gpus[static_cast<std::size_t>(options.front().gpu)];
    for (const Instance& i : gpu.instances) {
      if (i.vm >= 0 && c.vms[static_cast<std::size_t>(i.vm)].vgpus > 1) return true;
    }
  }
  return false;
}

std::string GpuName(const Cluster& c, int h, int g) {
  const Host& host = c.hosts[static_cast<std::size_t>(h)];
  return StrCat(host.name, "/", host.gpus[static_cast<std::size_t>(g)].id);
}

// Moves the VMs of `option` off its GPU in `work`; GPUs in `held` (and, when `keep_room`, every
// GPU with room for the target) take none of them. On success, re-carves an emptied GPU and
// returns the moves; on failure leaves `work` alone and says why.
bool Apply(Cluster& work, const Option& option, const std::set<std::pair<int, int>>& held,
           const core::VgpuType& target, bool keep_room, const EvacuateOptions& options,
           std::vector<Move>* moves, std::string* why) {
  Cluster trial = work;
  for (std::size_t h = 0; h < trial.hosts.size(); ++h) {
    for (std::size_t g = 0; g < trial.hosts[h].gpus.size(); ++g) {
      Gpu& gpu = trial.hosts[h].gpus[g];
      const std::pair<int, int> at{static_cast<int>(h), static_cast<int>(g)};
      gpu.held = held.count(at) > 0 || (at == std::pair{option.host, option.gpu}) ||
                 (keep_room && trial.hosts[h].state == HostState::kReady &&
                  FreeOn(trial, gpu, target) > 0);
    }
  }
  Gpu& gpu =
      trial.hosts[static_cast<std::size_t>(option.host)].gpus[static_cast<std::size_t>(option.gpu)];
  struct Leaving {
    int vm;
    std::vector<const core::VgpuType*> types;
    bool ecc;
  };
  std::vector<Leaving> leaving;
  for (std::size_t i = 0; i < gpu.instances.size(); ++i) {
    if ((option.removed >> i & 1U) == 0) continue;
    const int vm = gpu.instances[i].vm;
    leaving.push_back({vm, internal::TypesOf(trial, vm), internal::EccOf(trial, option.host, vm)});
  }
  for (const Leaving& l : leaving) Unplace(trial, l.vm);
  internal::Placer placer(trial, options.place);
  const int link = trial.hosts[static_cast<std::size_t>(option.host)].link_gbps.value_or(10);
  for (const Leaving& l : leaving) {
    internal::MoveRules rules{true, l.ecc, options.stun_budget_seconds};
    internal::MoveOutcome m = internal::MoveVm(trial, placer, l.vm, option.host, l.types, rules);
    if (!m.assignment) {
      *why = StrCat(trial.vms[static_cast<std::size_t>(l.vm)].name, ": ", m.reason);
      return false;
    }
    int fb = 0;
    for (const core::VgpuType* t : l.types) fb += t->framebuffer_mib;
    const int to_link =
        trial.hosts[static_cast<std::size_t>(m.assignment->host)].link_gbps.value_or(10);
    moves->push_back(
        {l.vm, option.host, *m.assignment, EstimateStunSeconds(fb, std::min(link, to_link))});
  }
  if (option.empties) {
    gpu.mode = target.mig_backed ? GpuMode::kMig : GpuMode::kEqualSize;
    gpu.carved = target.mig_backed ? nullptr : &target;
  }
  for (Host& host : trial.hosts) {
    for (Gpu& g : host.gpus) g.held = false;
  }
  work = std::move(trial);
  return true;
}

}  // namespace

DefragResult Defrag(const Cluster& cluster, const core::VgpuType& target, int count,
                    const EvacuateOptions& options) {
  DefragResult result;
  result.cluster = cluster;
  Cluster& work = result.cluster;
  for (Host& host : work.hosts) {
    for (Gpu& gpu : host.gpus) gpu.held = false;
  }
  result.free_before = FreeFor(work, target);
  int free = result.free_before;
  std::set<std::pair<int, int>> done;               // GPUs room was made on: left alone
  std::set<std::pair<int, std::uint32_t>> refused;  // (host * 65536 + gpu, removed) that failed
  std::vector<std::string> failures;
  bool any_candidate = false;
  bool exact = true;
  // Each round plans the cheapest room for what is still missing, then carries it out; an option
  // whose VMs cannot all move is refused and the next round plans around it. Moved VMs land
  // outside the room being made when they can; when one cannot, it may take some, and the next
  // round makes up for it.
  for (int round = 0; round < 64 && free < count; ++round) {
    const int need = count - free;
    std::vector<std::vector<Option>> gpus;
    for (std::size_t h = 0; h < work.hosts.size(); ++h) {
      if (work.hosts[h].state != HostState::kReady) continue;
      for (std::size_t g = 0; g < work.hosts[h].gpus.size(); ++g) {
        const int hi = static_cast<int>(h), gi = static_cast<int>(g);
        if (done.count({hi, gi}) > 0) continue;
        std::vector<Option> o = OptionsFor(work, hi, gi, target);
        std::erase_if(o, [&](const Option& x) {
          return refused.count({hi * 65536 + gi, x.removed}) > 0;
        });
        if (!o.empty()) gpus.push_back(std::move(o));
      }
    }
    any_candidate = any_candidate || !gpus.empty();
    // Too many GPUs for the knapsack: keep those that give room most cheaply.
    const std::size_t limit = std::max<std::size_t>(1, kMaxKnapsackCells / (std::size_t(need) + 1));
    if (gpus.size() > limit) {
      auto ratio = [](const std::vector<Option>& o) {
        double best = 1e18;
        for (const Option& x : o) best = std::min(best, double(x.moves) / x.gain);
        return best;
      };
      std::stable_sort(gpus.begin(), gpus.end(),
                       [&](const auto& a, const auto& b) { return ratio(a) < ratio(b); });
      gpus.resize(limit);
      exact = false;
    }
    Cost cost;
    std::vector<Option> plan = Cheapest(gpus, need, &cost);
    if (round == 0 && !plan.empty() && exact && !MultiVgpuVmAmong(work, gpus)) {
      result.moves_lower_bound = cost.moves;
    }
    if (plan.empty()) {
      int reachable = free;
      for (const std::vector<Option>& o : gpus) reachable += o.back().gain;
      if (!gpus.empty() && failures.empty()) {
        failures.push_back(StrCat("moving every VM that could make room would give ", reachable,
                                  " x ", target.name));
      }
      break;
    }
    // Cheapest first, so a refusal costs the least work.
    std::stable_sort(plan.begin(), plan.end(),
                     [](const Option& a, const Option& b) { return a.moves < b.moves; });
    std::set<std::pair<int, int>> held = done;  // the plan's GPUs take none of the moved VMs
    for (const Option& option : plan) held.insert({option.host, option.gpu});
    for (const Option& option : plan) {
      std::vector<Move> moves;
      std::string why;
      if (!Apply(work, option, held, target, true, options, &moves, &why) &&
          !Apply(work, option, held, target, false, options, &moves, &why)) {
        refused.insert({option.host * 65536 + option.gpu, option.removed});
        failures.push_back(StrCat(GpuName(work, option.host, option.gpu),
                                  option.empties ? " cannot be emptied (" : " cannot make room (",
                                  why, ")"));
        break;  // plan again without it
      }
      done.insert({option.host, option.gpu});
      if (option.empties) {
        const Gpu& gpu = cluster.hosts[static_cast<std::size_t>(option.host)]
                             .gpus[static_cast<std::size_t>(option.gpu)];
        result.recarves.push_back({option.host, option.gpu,
                                   gpu.mode == GpuMode::kEqualSize ? gpu.carved : nullptr,
                                   &target});
      }
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
    free = FreeFor(work, target);
  }
  result.free_after = FreeFor(work, target);
  result.satisfied = result.free_after >= count;
  result.minimal = result.satisfied && result.moves_lower_bound >= 0 &&
                   static_cast<int>(result.moves.size()) <= result.moves_lower_bound;
  if (!result.satisfied) {
    // A partial defragmentation moves VMs without making the room asked for: propose nothing,
    // and say how far it could get.
    result.moves.clear();
    result.recarves.clear();
    result.cluster = cluster;
  }
  auto n = [](std::size_t k, std::string_view what) {
    return StrCat(k, " ", what, k == 1 ? "" : "s");
  };
  if (result.free_before >= count) {
    result.explanation =
        StrCat(result.free_before, " x ", target.name, " fit already; nothing to move");
  } else if (result.satisfied) {
    result.explanation = StrCat(n(result.moves.size(), "migration"), " and ",
                                n(result.recarves.size(), "re-carving"), " make room for ", count,
                                " x ", target.name, " (", result.free_before, " fit before, ",
                                result.free_after, " after)");
    if (result.minimal) {
      StrAppend(&result.explanation, "; no plan moves fewer VMs");
    } else if (result.moves_lower_bound >= 0) {
      StrAppend(&result.explanation, "; a plan could move no fewer than ",
                n(static_cast<std::size_t>(result.moves_lower_bound), "VM"));
    }
  } else {
    result.explanation = StrCat("no plan: at most ", result.free_after, " x ", target.name,
                                " can be made to fit, ", count, " wanted");
    if (!any_candidate) {
      StrAppend(&result.explanation, ": no ", target.board_prefix, " GPU to re-carve");
    }
    if (!failures.empty()) StrAppend(&result.explanation, "; ", StrJoin(failures, "; "));
  }
  return result;
}

}  // namespace gpufleet::planner
