#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <queue>
#include <span>
#include <tuple>

#include "common/strings.h"
#include "planner/placer.h"

namespace gpufleet::planner {

std::string_view PolicyName(Policy p) {
  switch (p) {
    case Policy::kFragmentationAware:
      return "fragmentation-aware";
    case Policy::kSpread:
      return "spread";
    case Policy::kConsolidate:
      return "consolidate";
  }
  return "?";
}

std::optional<Policy> PolicyFromName(std::string_view name) {
  const std::string n = AsciiLower(name);
  if (n == "fragmentation" || n == "fragmentation-aware") return Policy::kFragmentationAware;
  if (n == "spread") return Policy::kSpread;
  if (n == "consolidate") return Policy::kConsolidate;
  return std::nullopt;
}

std::vector<const core::VgpuType*> CandidateTypes(const Requirement& need, const core::Board& board,
                                                  bool mig_gpu) {
  std::vector<const core::VgpuType*> out;
  if (!need.boards.empty() &&
      std::find(need.boards.begin(), need.boards.end(), &board) == need.boards.end()) {
    return out;
  }
  if (need.type != nullptr) {
    if (EqualsIgnoreCase(need.type->board_prefix, board.prefix)) out.push_back(need.type);
    return out;
  }
  for (const core::VgpuType& t : board.types) {
    if (t.framebuffer_mib < need.min_framebuffer_mib) continue;
    if (need.cuda && !t.cuda) continue;
    if (need.series && t.series != *need.series) continue;
    if (need.mig && !t.mig_backed) continue;
    if (!need.mig && t.mig_backed && !mig_gpu) continue;
    // The B4 and ME variants are chosen by name only: a requirement means the plain type.
    if (t.name.ends_with("B4") || t.name.ends_with("ME") || t.name.ends_with("NOME")) continue;
    out.push_back(&t);
  }
  std::stable_sort(out.begin(), out.end(), [](const core::VgpuType* a, const core::VgpuType* b) {
    return a->framebuffer_mib < b->framebuffer_mib;
  });
  return out;
}

void Apply(Cluster& cluster, const Assignment& a) {
  Host& host = cluster.hosts[static_cast<std::size_t>(a.host)];
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    Gpu& gpu = host.gpus[static_cast<std::size_t>(a.gpus[i])];
    if (a.types[i] == nullptr) {
      gpu.mode = GpuMode::kPassthrough;
      gpu.passthrough_vm = a.vm;
      continue;
    }
    gpu.mode = a.fits[i].mode;
    if (gpu.mode == GpuMode::kEqualSize) gpu.carved = a.types[i];
    // One allocation for the GPU's lifetime of instances instead of one per doubling.
    if (gpu.instances.capacity() == 0) {
      gpu.instances.reserve(static_cast<std::size_t>(std::clamp(a.types[i]->max_instances, 1, 32)));
    }
    gpu.instances.push_back(Instance{a.vm, a.types[i], a.fits[i].placement});
  }
}

void Unplace(Cluster& cluster, int vm) {
  for (Host& host : cluster.hosts) {
    for (Gpu& gpu : host.gpus) {
      if (gpu.passthrough_vm == vm) gpu.passthrough_vm = -1;
      std::erase_if(gpu.instances, [vm](const Instance& i) { return i.vm == vm; });
    }
  }
}

Decision Place(const Cluster& cluster, int vm, const PlaceOptions& options) {
  internal::Placer placer(cluster, options);
  placer.set_reserve(true);  // one VM arriving: online placement
  return placer.Decide(cluster, vm);
}

namespace internal {
namespace {

using Score = std::array<long long, 5>;

std::string Describe(const Requirement& need, int vgpus) {
  std::string what;
  if (need.type != nullptr) {
    what = need.type->name;
  } else if (need.passthrough) {
    what = "a whole GPU (pass-through)";
  } else {
    std::vector<std::string> parts;
    if (need.min_framebuffer_mib > 0) {
      parts.push_back(StrCat(">= ", need.min_framebuffer_mib / 1024, " GB"));
    }
    if (need.cuda) parts.push_back("CUDA");
    if (need.series)
      parts.push_back(StrCat(std::string(1, core::SeriesLetter(*need.series)), "-series"));
    if (need.mig) parts.push_back("MIG-backed");
    what = StrCat("a vGPU", parts.empty() ? "" : StrCat(" with ", StrJoin(parts, ", ")));
  }
  if (!need.boards.empty()) {
    std::vector<std::string> b;
    for (const core::Board* board : need.boards) b.push_back(board->prefix);
    what += StrCat(" on ", StrJoin(b, "/"));
  }
  if (vgpus > 1) what = StrCat(vgpus, " x ", what, " (each on its own GPU of one host)");
  return what;
}

// Counts reasons, then prints the most frequent first: "3 GPUs carved for P40-3Q, 1 full".
class Reasons {
 public:
  void Add(const std::string& why) { ++counts_[why]; }
  [[nodiscard]] bool empty() const { return counts_.empty(); }
  [[nodiscard]] std::string Join(std::string_view unit) const {
    std::vector<std::pair<int, std::string>> v;
    for (const auto& [why, n] : counts_) v.emplace_back(-n, why);
    std::sort(v.begin(), v.end());
    std::vector<std::string> parts;
    for (const auto& [n, why] : v) {
      parts.push_back(StrCat(-n, " ", unit, -n == 1 ? "" : "s", ": ", why));
    }
    return StrJoin(parts, "; ");
  }

 private:
  std::map<std::string, int> counts_;
};

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

// A GPU in MIG mode holding exactly `layout`, standing for every GPU of an index group.
Gpu LayoutGpu(const core::Board* board,
              const std::vector<std::pair<const core::VgpuType*, int>>& layout) {
  Gpu gpu;
  gpu.board = board;
  gpu.mode = GpuMode::kMig;
  for (const auto& [type, placement] : layout) gpu.instances.push_back({-1, type, placement});
  return gpu;
}

// The reserve (see Placer::Outlook::Reserve): on a board with at least kReserveMinGpus GPUs, at
// most kReserveEmpty of them empty.
constexpr int kReserveMinGpus = 32;
constexpr int kReserveEmpty = 4;

}  // namespace

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

namespace {

// How much the observed MIG mix loses by a placement: over the mix's types, the framebuffer of
// the instances that fit before and no longer fit after, weighted by each type's instance count.
// This is the growth of the fragmentation-gradient measure (bench/baselines.h), up to a constant
// of the request; lower is better.
long long MixLoss(const std::map<const core::VgpuType*, int>& mix, const auto& free_before,
                  const auto& free_after) {
  long long loss = 0;
  for (const auto& [type, count] : mix) {
    loss += static_cast<long long>(count) * type->framebuffer_mib *
            (free_before(*type) - free_after(*type));
  }
  return loss;
}

}  // namespace

struct Placer::Candidate {
  int gpu = -1;
  const core::VgpuType* type = nullptr;  // nullptr: pass-through
  Fit fit;
  Score score{};
};

bool Placer::HostAccepts(const Host& host, const HostUsage& usage, const Vm& vm,
                         std::string* why) const {
  auto refuse = [&](auto&&... parts) {
    if (why) *why = StrCat(parts...);
    return false;
  };
  if (host.state != HostState::kReady) {
    return refuse(host.state == HostState::kMaintenance ? "in maintenance" : "down");
  }
  for (const auto& [k, v] : vm.host_labels) {
    auto it = host.labels.find(k);
    if (it == host.labels.end() || it->second != v) return refuse("without the required labels");
  }
  if (!vm.anti_affinity.empty() && usage.groups.contains(vm.anti_affinity)) {
    return refuse("already running a VM of anti-affinity group ", vm.anti_affinity);
  }
  if ((host.cpus && usage.cpus + vm.cpus > *host.cpus) ||
      (host.memory_gib && usage.memory_gib + vm.memory_gib > *host.memory_gib)) {
    return refuse("without enough free CPU or memory");
  }
  return true;
}

bool Placer::SeatsLeft(const Cluster& cluster, const std::string& edition) const {
  auto seats = cluster.license_seats.find(edition);
  if (seats == cluster.license_seats.end()) return true;
  auto used = seats_used_.find(edition);
  return (used == seats_used_.end() ? 0 : used->second) < seats->second;
}

const MixedSizeGeometry& Placer::GeometryFor(const Cluster& cluster,
                                             const core::Board& board) const {
  auto it = cluster.mixed_size.find(board.prefix);
  return it == cluster.mixed_size.end() ? default_geometry_ : it->second;
}

const std::string& Placer::EditionOf(const Vm& vm, const core::VgpuType* type) const {
  static const std::string kPassthrough = "vWS";  // pass-through graphics is licensed as vWS
  static const std::string kNone;
  if (!vm.license.empty()) return vm.license;
  if (type == nullptr) return kPassthrough;
  const core::Edition* e = catalog_->EditionForSeries(type->series);
  return e ? e->id : kNone;
}

Decision Placer::Decide(const Cluster& cluster, int vm_index) const {
  if (std::optional<Decision> fast = FastDecide(cluster, vm_index)) {
    ++index_answers_;
    return *std::move(fast);
  }
  return Scan(cluster, vm_index);
}

template <typename TypesFor, typename ReasonSink>
std::vector<Placer::Candidate> Placer::HostCandidates(const Cluster& cluster, std::size_t h,
                                                      const Vm& vm, TypesFor& types_for,
                                                      Outlook& outlook,
                                                      ReasonSink* gpu_reasons) const {
  const Host& host = cluster.hosts[h];
  const HostUsage& usage = hosts_[h];
  std::vector<Candidate> cands;
  // Several vGPUs by requirement: the types must come from one board and series.
  const bool one_family = vm.vgpus > 1 && vm.need.type == nullptr && !vm.need.passthrough;
  std::vector<std::pair<std::pair<const core::Board*, core::Series>, Candidate>> by_family;
  for (std::size_t g = 0; g < host.gpus.size(); ++g) {
    const Gpu& gpu = host.gpus[g];
    if (gpu.board == nullptr || gpu.held) continue;  // held: being emptied by the caller
    if (vm.need.passthrough) {
      if (!vm.need.boards.empty() && std::find(vm.need.boards.begin(), vm.need.boards.end(),
                                               gpu.board) == vm.need.boards.end()) {
        continue;
      }
      const bool free = (gpu.mode == GpuMode::kPassthrough && gpu.passthrough_vm < 0) ||
                        (gpu.mode != GpuMode::kPassthrough && gpu.instances.empty());
      if (!free) {
        if (gpu_reasons) gpu_reasons->Add("in use");
        continue;
      }
      cands.push_back({static_cast<int>(g), nullptr, Fit{GpuMode::kPassthrough, -1},
                       Score{1, usage.vms > 0 ? 0 : 1, 0, static_cast<long long>(h),
                             static_cast<long long>(g)}});
      continue;
    }
    const MixedSizeGeometry& geo = GeometryFor(cluster, *gpu.board);
    std::optional<Candidate> best_here;
    for (const core::VgpuType* type : types_for(gpu)) {
      const std::string& edition = EditionOf(vm, type);
      if (!SeatsLeft(cluster, edition)) {
        if (gpu_reasons) {
          gpu_reasons->Add(StrCat("all ", cluster.license_seats.at(edition), " ", edition,
                                  " license seats in use"));
        }
        continue;
      }
      std::string why;
      std::optional<Fit> fit =
          FitOn(gpu, *type, geo, options_.capacity, gpu_reasons ? &why : nullptr);
      if (!fit) {
        if (gpu_reasons) gpu_reasons->Add(why);
        continue;
      }
      const bool in_use = !gpu.instances.empty();
      const int total_fb = gpu.board->framebuffer_mib;
      const long long used_after = UsedFramebufferMib(gpu) + type->framebuffer_mib;
      Score s{};
      switch (options_.policy) {
        case Policy::kFragmentationAware: {
          // Fill GPUs already carved (fewest free instances left first; MIG GPUs by what the
          // placement costs the observed MIG mix), then open an empty GPU on a host already in
          // use, then one on an empty host; among empty GPUs, prefer the type whose carving
          // strands the least framebuffer. Under the reserve (Outlook::Reserve) the type opens
          // an empty GPU before filling a carved one.
          const long long tier =
              in_use ? (outlook.Reserve(*gpu.board, *type) ? 3 : 0) : (usage.vms > 0 ? 1 : 2);
          long long waste = 0;
          if (in_use) {
            Gpu after = gpu;
            after.mode = fit->mode;
            if (fit->mode == GpuMode::kEqualSize) after.carved = type;
            after.instances.push_back(Instance{-1, type, fit->placement});
            if (fit->mode == GpuMode::kMig) {
              waste = MixLoss(
                  outlook.MigMix(*gpu.board),
                  [&](const core::VgpuType& t) { return FreeCount(gpu, t, geo); },
                  [&](const core::VgpuType& t) { return FreeCount(after, t, geo); });
            } else {
              waste = FreeCount(after, *type, geo);
            }
          } else if (fit->mode == GpuMode::kEqualSize) {
            waste = total_fb - static_cast<long long>(type->max_instances) * type->framebuffer_mib;
          }
          s = {tier, type->framebuffer_mib, waste, static_cast<long long>(h),
               static_cast<long long>(g)};
          break;
        }
        case Policy::kSpread:
          s = {used_after * 1000 / total_fb, usage.vms, type->framebuffer_mib,
               static_cast<long long>(h), static_cast<long long>(g)};
          break;
        case Policy::kConsolidate:
          s = {in_use ? -(used_after * 1000 / total_fb) : 1000, usage.vms > 0 ? 0 : 1,
               type->framebuffer_mib, static_cast<long long>(h), static_cast<long long>(g)};
          break;
      }
      if (!best_here || s < best_here->score) {
        best_here = Candidate{static_cast<int>(g), type, *fit, s};
      }
      if (one_family)
        by_family.push_back(
            {{gpu.board, type->series}, Candidate{static_cast<int>(g), type, *fit, s}});
    }
    if (best_here) cands.push_back(*best_here);
  }
  auto by_score = [](const Candidate& a, const Candidate& b) { return a.score < b.score; };
  if (one_family) {
    // NVIDIA's multi-vGPU: one VM's vGPUs share a board and a series (sizes may differ). Per
    // family, the best type on each GPU; the host offers the family whose best GPU scores best
    // among those with enough GPUs (else the largest family, for the explanation).
    std::sort(by_family.begin(), by_family.end(), [&](const auto& a, const auto& b) {
      return std::tie(a.first, a.second.gpu) < std::tie(b.first, b.second.gpu) ||
             (std::tie(a.first, a.second.gpu) == std::tie(b.first, b.second.gpu) &&
              a.second.score < b.second.score);
    });
    std::vector<Candidate> best_family, family;
    for (std::size_t i = 0; i < by_family.size(); ++i) {
      const bool new_gpu = i == 0 || by_family[i].first != by_family[i - 1].first ||
                           by_family[i].second.gpu != by_family[i - 1].second.gpu;
      if (new_gpu) family.push_back(by_family[i].second);
      const bool family_ends =
          i + 1 == by_family.size() || by_family[i + 1].first != by_family[i].first;
      if (!family_ends) continue;
      std::sort(family.begin(), family.end(), by_score);
      const bool enough = static_cast<int>(family.size()) >= vm.vgpus;
      const bool best_enough = static_cast<int>(best_family.size()) >= vm.vgpus;
      if (best_family.empty() ||
          (enough && (!best_enough || family.front().score < best_family.front().score)) ||
          (!enough && !best_enough && family.size() > best_family.size())) {
        best_family = family;
      }
      family.clear();
    }
    return best_family;
  }
  std::sort(cands.begin(), cands.end(), by_score);
  return cands;
}

Decision Placer::Explain(const Cluster& cluster, Assignment a) const {
  if (!explain_placements_) return Decision{std::move(a), ""};
  const Vm& vm = cluster.vms[static_cast<std::size_t>(a.vm)];
  const Host& host = cluster.hosts[static_cast<std::size_t>(a.host)];
  std::vector<std::string> where;
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    where.push_back(StrCat(host.gpus[static_cast<std::size_t>(a.gpus[i])].id, " as ",
                           a.types[i] ? a.types[i]->name : "pass-through"));
  }
  std::string text = StrCat(vm.name, " -> ", host.name, " ", StrJoin(where, ", "), " (",
                            PolicyName(options_.policy), ")");
  return Decision{std::move(a), std::move(text)};
}

Decision Placer::Scan(const Cluster& cluster, int vm_index) const {
  const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
  Reasons gpu_reasons, host_reasons;
  int offered = 0;  // GPUs whose board offers a candidate type at all
  TypeCache cache(vm.need);
  auto types_for = [&](const Gpu& gpu) -> const std::vector<const core::VgpuType*>& {
    return cache.For(*gpu.board, gpu.mode == GpuMode::kMig);
  };

  Outlook outlook(*this, cluster);
  std::optional<Assignment> best;
  Score best_score{};
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    const auto excluded = excluded_.find(static_cast<int>(h));
    if (excluded != excluded_.end() && excluded->second.empty()) continue;
    const Host& host = cluster.hosts[h];
    int host_offered = 0;
    for (const Gpu& gpu : host.gpus) {
      if (gpu.board != nullptr &&
          (vm.need.passthrough
               ? (vm.need.boards.empty() || std::find(vm.need.boards.begin(), vm.need.boards.end(),
                                                      gpu.board) != vm.need.boards.end())
               : !types_for(gpu).empty())) {
        ++host_offered;
      }
    }
    offered += host_offered;
    if (host_offered == 0) continue;
    if (excluded != excluded_.end()) {
      host_reasons.Add(excluded->second);
      continue;
    }
    if (std::string blocker; !HostAccepts(host, hosts_[h], vm, &blocker)) {
      host_reasons.Add(blocker);
      continue;
    }
    // Every fitting (GPU, type) of this host, scored; then the best `vgpus` distinct GPUs.
    std::vector<Candidate> cands = HostCandidates(cluster, h, vm, types_for, outlook, &gpu_reasons);
    if (static_cast<int>(cands.size()) < vm.vgpus) {
      if (!cands.empty()) {
        host_reasons.Add(
            StrCat("with only ", cands.size(), " of the ", vm.vgpus, " GPUs the VM needs"));
      }
      continue;
    }
    if (!best || cands.front().score < best_score) {
      Assignment a;
      a.vm = vm_index;
      a.host = static_cast<int>(h);
      for (int i = 0; i < vm.vgpus; ++i) {
        const Candidate& c = cands[static_cast<std::size_t>(i)];
        a.gpus.push_back(c.gpu);
        a.types.push_back(c.type);
        a.fits.push_back(c.fit);
      }
      best = std::move(a);
      best_score = cands.front().score;
    }
  }
  if (best) return Explain(cluster, *std::move(best));
  // The VM's name is not part of the reason: callers list VMs beside reasons, and identical
  // reasons of many VMs can then be grouped.
  std::string why = StrCat("no place for ", Describe(vm.need, vm.vgpus));
  if (offered == 0) {
    StrAppend(&why, ": no GPU in the cluster can offer it");
  } else {
    if (!gpu_reasons.empty()) StrAppend(&why, ": ", gpu_reasons.Join("GPU"));
    if (!host_reasons.empty()) {
      StrAppend(&why, gpu_reasons.empty() ? ": " : "; ", host_reasons.Join("host"));
    }
  }
  return Decision{std::nullopt, why};
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

std::optional<Decision> Placer::FastDecide(const Cluster& cluster, int vm_index) const {
  const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
  // Several vGPUs by requirement must share a board and series: the per-family choice is the
  // scan's (HostCandidates), and a host's best family is not met first in stream order.
  if (!use_index_ || vm.vgpus < 1 ||
      (vm.vgpus > 1 && vm.need.type == nullptr && !vm.need.passthrough) ||
      !options_.capacity.allow_recarve) {
    return std::nullopt;
  }
  std::vector<Stream> streams;
  streams.reserve(8);  // an exact type needs three: partly filled, empty, empty in MIG mode
  Outlook outlook(*this, cluster);
  if (!StreamsFor(cluster, vm, outlook, streams) || streams.empty()) return std::nullopt;
  // Merge the streams in score order: the first entry on a host that accepts the VM is the best
  // single GPU; for several vGPUs, the first host met that has enough fitting GPUs is the host
  // the full scan picks (each host is first met at its best score).
  using Head = std::pair<Score, std::size_t>;
  std::vector<Head> head_storage;
  head_storage.reserve(streams.size());
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads(std::greater<>(),
                                                                     std::move(head_storage));
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (streams[i].it != streams[i].set->end())
      heads.emplace(streams[i].ScoreOf(*streams[i].it), i);
  }
  std::vector<int> seen;  // hosts already judged, for several vGPUs
  while (!heads.empty()) {
    const auto [score, i] = heads.top();
    heads.pop();
    Stream& s = streams[i];
    const auto [first, h, g] = *s.it;
    if (++s.it != s.set->end()) heads.emplace(s.ScoreOf(*s.it), i);
    const auto hi = static_cast<std::size_t>(h);
    if (excluded_.contains(h) || !HostAccepts(cluster.hosts[hi], hosts_[hi], vm, nullptr)) continue;
    if (vm.vgpus == 1) {
      Assignment a;
      a.vm = vm_index;
      a.host = h;
      a.gpus = {g};
      a.types = {s.type};
      a.fits = {s.fit};
      return Explain(cluster, std::move(a));
    }
    if (std::find(seen.begin(), seen.end(), h) != seen.end()) continue;
    seen.push_back(h);
    TypeCache cache(vm.need);
    auto types_for = [&](const Gpu& gpu) -> const std::vector<const core::VgpuType*>& {
      return cache.For(*gpu.board, gpu.mode == GpuMode::kMig);
    };
    std::vector<Candidate> cands =
        HostCandidates(cluster, hi, vm, types_for, outlook, static_cast<Reasons*>(nullptr));
    if (static_cast<int>(cands.size()) < vm.vgpus) continue;
    Assignment a;
    a.vm = vm_index;
    a.host = h;
    for (int k = 0; k < vm.vgpus; ++k) {
      const Candidate& c = cands[static_cast<std::size_t>(k)];
      a.gpus.push_back(c.gpu);
      a.types.push_back(c.type);
      a.fits.push_back(c.fit);
    }
    return Explain(cluster, std::move(a));
  }
  return std::nullopt;  // the full scan explains the rejection
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
    // and GPU order; spread's empty-GPU keys carry the host's VMs instead of that tier.
    if (policy == Policy::kSpread) return false;
    for (const core::Board* board : boards_) {
      if (!vm.need.boards.empty() &&
          std::find(vm.need.boards.begin(), vm.need.boards.end(), board) == vm.need.boards.end()) {
        continue;
      }
      if (mixed_boards_.contains(board)) return false;  // an empty mixed-size GPU is free too
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
    if (mixed_boards_.contains(board)) return false;
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

void Placer::Commit(Cluster& cluster, const Assignment& a, bool what_if) {
  HostUsage& u = hosts_[static_cast<std::size_t>(a.host)];
  // Out of the index before the change, back in after; a host's first VM moves its empty GPUs
  // from tier 2 to tier 1 (under spread, every VM moves the host's keys).
  const bool first_vm = KeysFollowHost(u, true);
  if (use_index_) {
    if (first_vm) {
      IndexHost(cluster, a.host, false);
    } else {
      for (int g : a.gpus) IndexGpu(cluster, a.host, g, false);
    }
  }
  Apply(cluster, a);
  const std::size_t vm = static_cast<std::size_t>(a.vm);
  Track(a.vm, cluster, Location{a.host, a.gpus}, +1);
  if (!what_if) {
    if (where_.size() <= vm) where_.resize(vm + 1);
    where_[vm] = Location{a.host, a.gpus};
    ++seats_used_[EditionOf(cluster.vms[vm], a.types.front())];
  }
  if (use_index_) {
    if (first_vm) {
      IndexHost(cluster, a.host, true);
    } else {
      for (int g : a.gpus) IndexGpu(cluster, a.host, g, true);
    }
  }
}

}  // namespace internal
}  // namespace gpufleet::planner
