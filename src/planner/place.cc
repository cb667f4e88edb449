#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <queue>
#include <tuple>

#include "common/strings.h"
#include "planner/place_internal.h"

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

std::optional<Decision> Placer::FastDecide(const Cluster& cluster, int vm_index) const {
  const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
  if (!use_index_ || vm.vgpus < 1 || !options_.capacity.allow_recarve) {
    return std::nullopt;
  }
  std::vector<Stream> streams;
  streams.reserve(8);  // an exact type needs three: partly filled, empty, empty in MIG mode
  Outlook outlook(*this, cluster);
  if (!StreamsFor(cluster, vm, outlook, streams) || streams.empty()) return std::nullopt;
  // Merge the streams in score order: the first entry on a host that accepts the VM is the best
  // single GPU; for several vGPUs of one type, the first host met that has enough fitting GPUs
  // is the host the full scan picks (each host is first met at its best score).
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
  // Several vGPUs by requirement: a host offers the family (board, series) whose best GPU
  // scores best among those with enough GPUs (HostCandidates), which may not be the family of
  // the entry that brought the host up. Every host's offer scores at least as much as its first
  // entry, so the best offer so far wins once the entries reach its score.
  const bool by_family = vm.vgpus > 1 && vm.need.type == nullptr && !vm.need.passthrough;
  std::optional<Assignment> best;
  Score best_score{};
  while (!heads.empty()) {
    const auto [score, i] = heads.top();
    if (best && !(score < best_score)) break;
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
    if (best && !(cands.front().score < best_score)) continue;
    Assignment a;
    a.vm = vm_index;
    a.host = h;
    for (int k = 0; k < vm.vgpus; ++k) {
      const Candidate& c = cands[static_cast<std::size_t>(k)];
      a.gpus.push_back(c.gpu);
      a.types.push_back(c.type);
      a.fits.push_back(c.fit);
    }
    if (!by_family) return Explain(cluster, std::move(a));
    best = std::move(a);
    best_score = cands.front().score;
  }
  if (best) return Explain(cluster, *std::move(best));
  return std::nullopt;  // the full scan explains the rejection
}

}  // namespace internal
}  // namespace gpufleet::planner
