#include <algorithm>
#include <array>
#include <deque>
#include <limits>
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
  return internal::Placer(cluster, options).Decide(cluster, vm);
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

struct Candidate {
  int gpu = -1;
  const core::VgpuType* type = nullptr;  // nullptr: pass-through
  Fit fit;
  Score score{};
};

}  // namespace

Placer::Placer(const Cluster& cluster, const PlaceOptions& options, bool use_index)
    : catalog_(cluster.catalog ? cluster.catalog : &core::Catalog::Embedded()),
      options_(options),
      use_index_(use_index) {
  hosts_.resize(cluster.hosts.size());
  for (const auto& [vm_index, loc] : Locate(cluster)) {
    const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
    HostUsage& u = hosts_[static_cast<std::size_t>(loc.host)];
    u.cpus += vm.cpus;
    u.memory_gib += vm.memory_gib;
    if (!vm.anti_affinity.empty()) u.groups.insert(vm.anti_affinity);
    ++u.vms;
    const Gpu& gpu = cluster.hosts[static_cast<std::size_t>(loc.host)]
                         .gpus[static_cast<std::size_t>(loc.gpus.front())];
    const core::VgpuType* type = nullptr;
    for (const Instance& i : gpu.instances) {
      if (i.vm == vm_index) type = i.type;
    }
    ++seats_used_[EditionOf(vm, type)];
  }
  if (use_index_) {
    for (std::size_t h = 0; h < cluster.hosts.size(); ++h)
      IndexHost(cluster, static_cast<int>(h), true);
  }
}

void Placer::IndexHost(const Cluster& cluster, int host, bool add) {
  const Host& h = cluster.hosts[static_cast<std::size_t>(host)];
  for (std::size_t g = 0; g < h.gpus.size(); ++g) IndexGpu(cluster, host, static_cast<int>(g), add);
}

void Placer::IndexGpu(const Cluster& cluster, int host, int gpu_index, bool add) {
  const Gpu& gpu =
      cluster.hosts[static_cast<std::size_t>(host)].gpus[static_cast<std::size_t>(gpu_index)];
  if (gpu.board == nullptr || gpu.held) return;
  if (gpu.mode == GpuMode::kMixedSize) {
    mixed_boards_.insert(gpu.board);  // never removed: conservative
    return;
  }
  const int n = static_cast<int>(gpu.instances.size());
  if (gpu.mode == GpuMode::kEqualSize && gpu.carved != nullptr && n > 0 &&
      n < gpu.carved->max_instances) {
    auto key = std::make_tuple(gpu.carved->max_instances - n, host, gpu_index);
    add ? (void)partial_[gpu.carved].insert(key) : (void)partial_[gpu.carved].erase(key);
  }
  if (n == 0 && gpu.passthrough_vm < 0 && gpu.mode != GpuMode::kPassthrough) {
    const int tier = hosts_[static_cast<std::size_t>(host)].vms > 0 ? 1 : 2;
    auto key = std::make_tuple(tier, host, gpu_index);
    add ? (void)empty_[gpu.board].insert(key) : (void)empty_[gpu.board].erase(key);
  }
}

std::string Placer::HostBlocker(const Host& host, const HostUsage& usage, const Vm& vm) const {
  if (host.state != HostState::kReady) {
    return host.state == HostState::kMaintenance ? "in maintenance" : "down";
  }
  for (const auto& [k, v] : vm.host_labels) {
    auto it = host.labels.find(k);
    if (it == host.labels.end() || it->second != v) return "without the required labels";
  }
  if (!vm.anti_affinity.empty() && usage.groups.contains(vm.anti_affinity)) {
    return StrCat("already running a VM of anti-affinity group ", vm.anti_affinity);
  }
  if ((host.cpus && usage.cpus + vm.cpus > *host.cpus) ||
      (host.memory_gib && usage.memory_gib + vm.memory_gib > *host.memory_gib)) {
    return "without enough free CPU or memory";
  }
  return "";
}

bool Placer::SeatsLeft(const Cluster& cluster, const std::string& edition) const {
  auto seats = cluster.license_seats.find(edition);
  if (seats == cluster.license_seats.end()) return true;
  auto used = seats_used_.find(edition);
  return (used == seats_used_.end() ? 0 : used->second) < seats->second;
}

std::optional<Decision> Placer::FastDecide(const Cluster& cluster, int vm_index) const {
  const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
  const core::VgpuType* type = vm.need.type;
  if (!use_index_ || type == nullptr || vm.vgpus != 1 || vm.need.passthrough || type->mig_backed ||
      options_.policy != Policy::kFragmentationAware || !options_.capacity.allow_recarve) {
    return std::nullopt;
  }
  if (!vm.need.boards.empty() || !SeatsLeft(cluster, EditionOf(vm, type))) return std::nullopt;
  const core::Board* board = catalog_->FindBoard(type->board_prefix);
  if (board == nullptr || mixed_boards_.contains(board)) return std::nullopt;
  auto decide = [&](int h, int g) {
    Assignment a;
    a.vm = vm_index;
    a.host = h;
    a.gpus = {g};
    a.types = {type};
    a.fits = {Fit{GpuMode::kEqualSize, -1}};
    const Host& host = cluster.hosts[static_cast<std::size_t>(h)];
    return Decision{std::move(a), StrCat(vm.name, " -> ", host.name, " ",
                                         host.gpus[static_cast<std::size_t>(g)].id, " as ",
                                         type->name, " (", PolicyName(options_.policy), ")")};
  };
  auto host_ok = [&](int h) {
    if (excluded_.contains(h)) return false;
    return HostBlocker(cluster.hosts[static_cast<std::size_t>(h)],
                       hosts_[static_cast<std::size_t>(h)], vm)
        .empty();
  };
  // Tier 0: fill the GPU carved for the type with the fewest free instances (best fit).
  if (auto it = partial_.find(type); it != partial_.end()) {
    for (const auto& [free, h, g] : it->second) {
      if (host_ok(h)) return decide(h, g);
    }
  }
  // Tiers 1 and 2: open an empty GPU, preferring hosts that already run VMs.
  if (auto it = empty_.find(board); it != empty_.end()) {
    for (const auto& [tier, h, g] : it->second) {
      if (host_ok(h)) return decide(h, g);
    }
  }
  return std::nullopt;  // the full scan explains the rejection
}

const MixedSizeGeometry& Placer::GeometryFor(const Cluster& cluster,
                                             const core::Board& board) const {
  auto it = cluster.mixed_size.find(board.prefix);
  return it == cluster.mixed_size.end() ? default_geometry_ : it->second;
}

std::string Placer::EditionOf(const Vm& vm, const core::VgpuType* type) const {
  if (!vm.license.empty()) return vm.license;
  if (type == nullptr) return "vWS";  // pass-through graphics is licensed as vWS
  const core::Edition* e = catalog_->EditionForSeries(type->series);
  return e ? e->id : "";
}

Decision Placer::Decide(const Cluster& cluster, int vm_index) const {
  if (std::optional<Decision> fast = FastDecide(cluster, vm_index)) return *std::move(fast);
  const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
  const std::string what = Describe(vm.need, vm.vgpus);
  Reasons gpu_reasons, host_reasons;
  int offered = 0;  // GPUs whose board offers a candidate type at all

  // The candidate types depend only on the board and whether the GPU is in MIG mode: compute
  // them once per decision, not once per GPU.
  std::deque<std::tuple<const core::Board*, bool, std::vector<const core::VgpuType*>>>
      type_cache;  // stable refs
  auto candidates_for = [&](const Gpu& gpu) -> const std::vector<const core::VgpuType*>& {
    const bool mig = gpu.mode == GpuMode::kMig;
    for (const auto& [board, is_mig, types] : type_cache) {
      if (board == gpu.board && is_mig == mig) return types;
    }
    type_cache.emplace_back(gpu.board, mig, CandidateTypes(vm.need, *gpu.board, mig));
    return std::get<2>(type_cache.back());
  };

  std::optional<Assignment> best;
  Score best_score{};
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    if (excluded_.contains(static_cast<int>(h))) continue;
    const Host& host = cluster.hosts[h];
    const HostUsage& usage = hosts_[h];
    int host_offered = 0;
    for (const Gpu& gpu : host.gpus) {
      if (gpu.board != nullptr &&
          (vm.need.passthrough
               ? (vm.need.boards.empty() || std::find(vm.need.boards.begin(), vm.need.boards.end(),
                                                      gpu.board) != vm.need.boards.end())
               : !candidates_for(gpu).empty())) {
        ++host_offered;
      }
    }
    offered += host_offered;
    if (host_offered == 0) continue;
    if (std::string blocker = HostBlocker(host, usage, vm); !blocker.empty()) {
      host_reasons.Add(blocker);
      continue;
    }
    // Every fitting (GPU, type) of this host, scored; then the best `vgpus` distinct GPUs.
    std::vector<Candidate> cands;
    for (std::size_t g = 0; g < host.gpus.size(); ++g) {
      const Gpu& gpu = host.gpus[g];
      if (gpu.board == nullptr || gpu.held) continue;  // held: being emptied by the caller
      if (vm.need.passthrough) {
        if (!vm.need.boards.empty() && std::find(vm.need.boards.begin(), vm.need.boards.end(),
                                                 gpu.board) == vm.need.boards.end()) {
          continue;
        }
        const bool free =
            !gpu.held && ((gpu.mode == GpuMode::kPassthrough && gpu.passthrough_vm < 0) ||
                          (gpu.mode != GpuMode::kPassthrough && gpu.instances.empty()));
        if (!free) {
          gpu_reasons.Add("in use");
          continue;
        }
        cands.push_back({static_cast<int>(g), nullptr, Fit{GpuMode::kPassthrough, -1},
                         Score{1, usage.vms > 0 ? 0 : 1, 0, static_cast<long long>(h),
                               static_cast<long long>(g)}});
        continue;
      }
      const MixedSizeGeometry& geo = GeometryFor(cluster, *gpu.board);
      std::optional<Candidate> best_here;
      for (const core::VgpuType* type : candidates_for(gpu)) {
        const std::string edition = EditionOf(vm, type);
        if (!SeatsLeft(cluster, edition)) {
          gpu_reasons.Add(StrCat("all ", cluster.license_seats.at(edition), " ", edition,
                                 " license seats in use"));
          continue;
        }
        std::string why;
        std::optional<Fit> fit = FitOn(gpu, *type, geo, options_.capacity, &why);
        if (!fit) {
          gpu_reasons.Add(why);
          continue;
        }
        const bool in_use = !gpu.instances.empty();
        const int total_fb = gpu.board->framebuffer_mib;
        const long long used_after = UsedFramebufferMib(gpu) + type->framebuffer_mib;
        Score s{};
        switch (options_.policy) {
          case Policy::kFragmentationAware: {
            // Fill GPUs already carved (fewest free instances left first), then open an empty GPU
            // on a host already in use, then one on an empty host; among empty GPUs, prefer the
            // type whose carving strands the least framebuffer.
            const long long tier = in_use ? 0 : (usage.vms > 0 ? 1 : 2);
            long long waste = 0;
            if (in_use) {
              Gpu after = gpu;
              after.mode = fit->mode;
              if (fit->mode == GpuMode::kEqualSize) after.carved = type;
              after.instances.push_back(Instance{-1, type, fit->placement});
              waste = FreeCount(after, *type, geo);
            } else if (fit->mode == GpuMode::kEqualSize) {
              waste =
                  total_fb - static_cast<long long>(type->max_instances) * type->framebuffer_mib;
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
      }
      if (best_here) cands.push_back(*best_here);
    }
    if (static_cast<int>(cands.size()) < vm.vgpus) {
      if (!cands.empty()) {
        host_reasons.Add(
            StrCat("with only ", cands.size(), " of the ", vm.vgpus, " GPUs the VM needs"));
      }
      continue;
    }
    std::sort(cands.begin(), cands.end(),
              [](const Candidate& a, const Candidate& b) { return a.score < b.score; });
    Assignment a;
    a.vm = vm_index;
    a.host = static_cast<int>(h);
    Score total = cands.front().score;
    for (int i = 0; i < vm.vgpus; ++i) {
      const Candidate& c = cands[static_cast<std::size_t>(i)];
      a.gpus.push_back(c.gpu);
      a.types.push_back(c.type);
      a.fits.push_back(c.fit);
    }
    if (!best || total < best_score) {
      best = std::move(a);
      best_score = total;
    }
  }
  if (best) {
    const Host& host = cluster.hosts[static_cast<std::size_t>(best->host)];
    std::vector<std::string> where;
    for (std::size_t i = 0; i < best->gpus.size(); ++i) {
      where.push_back(StrCat(host.gpus[static_cast<std::size_t>(best->gpus[i])].id, " as ",
                             best->types[i] ? best->types[i]->name : "pass-through"));
    }
    return Decision{std::move(best), StrCat(vm.name, " -> ", host.name, " ", StrJoin(where, ", "),
                                            " (", PolicyName(options_.policy), ")")};
  }
  // The VM's name is not part of the reason: callers list VMs beside reasons, and identical
  // reasons of many VMs can then be grouped.
  std::string why = StrCat("no place for ", what);
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

void Placer::Commit(Cluster& cluster, const Assignment& a) {
  HostUsage& u = hosts_[static_cast<std::size_t>(a.host)];
  // Out of the index before the change, back in after; a host's first VM moves its empty GPUs
  // from tier 2 to tier 1.
  const bool first_vm = u.vms == 0;
  if (use_index_) {
    if (first_vm) {
      IndexHost(cluster, a.host, false);
    } else {
      for (int g : a.gpus) IndexGpu(cluster, a.host, g, false);
    }
  }
  Apply(cluster, a);
  const Vm& vm = cluster.vms[static_cast<std::size_t>(a.vm)];
  u.cpus += vm.cpus;
  u.memory_gib += vm.memory_gib;
  if (!vm.anti_affinity.empty()) u.groups.insert(vm.anti_affinity);
  ++u.vms;
  ++seats_used_[EditionOf(vm, a.types.front())];
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
