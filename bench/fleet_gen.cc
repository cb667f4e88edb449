#include "bench/fleet_gen.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>

#include "common/strings.h"
#include "core/catalog.h"
#include "planner/capacity.h"
#include "planner/planner.h"

namespace gpufleet::bench {
namespace {

using planner::Cluster;

// A BoardMix resolved against the catalog.
struct Resolved {
  const core::Board* board = nullptr;
  bool mig = false;
  std::vector<const core::VgpuType*> types;
  std::vector<double> weights;
  std::vector<const core::VgpuType*> whole_gpu;  // max_instances == 1, for two-vGPU VMs
  double mean_fb_mib = 0;
};

// The mixes are written in this file or by a benchmark's author: a name the catalog lacks is a
// programmer error, so it stops the run with the name.
[[noreturn]] void Die(std::string_view what) {
  std::cerr << "planner_bench: " << what << "\n";
  std::abort();
}

std::vector<Resolved> Resolve(const std::vector<BoardMix>& mix) {
  const core::Catalog& catalog = core::Catalog::Embedded();
  std::vector<Resolved> out;
  for (const BoardMix& m : mix) {
    Resolved r;
    r.board = catalog.FindBoard(m.board);
    if (r.board == nullptr) Die(StrCat("unknown board ", m.board, " in the fleet mix"));
    r.mig = m.mig;
    double total = 0;
    for (const auto& [name, weight] : m.types) {
      const core::VgpuType* t = catalog.FindTypeByName(name);
      if (t == nullptr || !EqualsIgnoreCase(t->board_prefix, r.board->prefix)) {
        Die(StrCat("type ", name, " is not a type of ", m.board));
      }
      r.types.push_back(t);
      r.weights.push_back(weight);
      if (t->max_instances == 1) r.whole_gpu.push_back(t);
      r.mean_fb_mib += weight * t->framebuffer_mib;
      total += weight;
    }
    if (r.types.empty() || total <= 0) Die(StrCat("empty profile mix for ", m.board));
    r.mean_fb_mib /= total;
    out.push_back(std::move(r));
  }
  return out;
}

const Resolved* ForBoard(const std::vector<Resolved>& mix, const core::Board* board) {
  for (const Resolved& r : mix) {
    if (r.board == board) return &r;
  }
  return nullptr;
}

// GPUs per resolved board in the fleet.
std::vector<long long> GpusPerBoard(const Cluster& cluster, const std::vector<Resolved>& mix) {
  std::vector<long long> n(mix.size(), 0);
  for (const planner::Host& h : cluster.hosts) {
    for (const planner::Gpu& g : h.gpus) {
      for (std::size_t i = 0; i < mix.size(); ++i) n[i] += mix[i].board == g.board;
    }
  }
  return n;
}

// Draws VMs like the fleet's capacity: a board in proportion to the VMs its framebuffer holds,
// then a type from the board's mix.
class VmDrawer {
 public:
  VmDrawer(const Cluster& cluster, const std::vector<BoardMix>& mix, double two_vgpu_share)
      : mix_(Resolve(mix)), two_vgpu_share_(two_vgpu_share) {
    const std::vector<long long> gpus = GpusPerBoard(cluster, mix_);
    std::vector<double> board_weights;
    double fb_sum = 0, vm_sum = 0;
    for (std::size_t i = 0; i < mix_.size(); ++i) {
      const double fb = static_cast<double>(gpus[i]) * mix_[i].board->framebuffer_mib;
      const double vms = fb / mix_[i].mean_fb_mib;
      board_weights.push_back(vms);
      fb_sum += fb;
      vm_sum += vms;
      type_dists_.emplace_back(mix_[i].weights.begin(), mix_[i].weights.end());
    }
    if (vm_sum <= 0) Die("the fleet has no GPU of any board in the mix");
    board_dist_ =
        std::discrete_distribution<std::size_t>(board_weights.begin(), board_weights.end());
    mean_vm_fb_mib_ = fb_sum / vm_sum;
  }

  planner::Vm Draw(std::mt19937_64& rng, int index) {
    const std::size_t b = board_dist_(rng);
    const Resolved& r = mix_[b];
    planner::Vm vm;
    vm.name = StrCat("vm", index);
    vm.need.type = r.types[type_dists_[b](rng)];
    if (!r.whole_gpu.empty() && unit_(rng) < two_vgpu_share_) {
      vm.need.type = r.whole_gpu[static_cast<std::size_t>(rng() % r.whole_gpu.size())];
      vm.vgpus = 2;
    }
    return vm;
  }

  // Mean framebuffer per VM of the draw (two-vGPU VMs ignored: they are a small share).
  [[nodiscard]] double mean_vm_fb_mib() const { return mean_vm_fb_mib_; }

 private:
  std::vector<Resolved> mix_;
  double two_vgpu_share_;
  std::discrete_distribution<std::size_t> board_dist_;
  std::vector<std::discrete_distribution<std::size_t>> type_dists_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  double mean_vm_fb_mib_ = 0;
};

int AppendVm(Cluster& cluster, planner::Vm vm) {
  cluster.vms.push_back(std::move(vm));
  return static_cast<int>(cluster.vms.size()) - 1;
}

}  // namespace

std::vector<BoardMix> DefaultMix(bool equal_size_only) {
  // Host shares and profile weights: VDI boards (P40, A16) carry many small desktops, compute
  // boards fewer, larger VMs. On average the fleet holds about 5 VMs per GPU by framebuffer, so
  // the 4 VMs per GPU (320,000 on 80,000) fill about 80% of it.
  std::vector<BoardMix> mix = {
      {"P40", 15, false, {{"P40-3Q", 40}, {"P40-8Q", 10}, {"P40-2B", 30}, {"P40-1A", 20}}},
      {"T4", 25, false, {{"T4-2Q", 45}, {"T4-4Q", 30}, {"T4-8C", 15}, {"T4-16Q", 10}}},
      {"A16", 20, false, {{"A16-1B", 45}, {"A16-2Q", 35}, {"A16-4Q", 20}}},
      {"A40", 15, false, {{"A40-8Q", 50}, {"A40-12Q", 25}, {"A40-24Q", 20}, {"A40-48Q", 5}}},
      {"L40S", 15, false, {{"L40S-8Q", 45}, {"L40S-12Q", 25}, {"L40S-24Q", 20}, {"L40S-48Q", 10}}},
  };
  if (equal_size_only) {
    mix.push_back({"A100D",
                   10,
                   false,
                   {{"A100D-8C", 40}, {"A100D-10C", 30}, {"A100D-20C", 20}, {"A100D-40C", 10}}});
  } else {
    mix.push_back(
        {"A100D",
         10,
         true,
         {{"A100D-1-10C", 50}, {"A100D-2-20C", 25}, {"A100D-3-40C", 20}, {"A100D-7-80C", 5}}});
  }
  return mix;
}

planner::Cluster MakeFleet(const FleetOptions& options) {
  const std::vector<Resolved> mix = Resolve(options.mix);
  std::vector<double> shares;
  for (const BoardMix& m : options.mix) shares.push_back(m.host_share);
  std::discrete_distribution<std::size_t> pick(shares.begin(), shares.end());
  std::mt19937_64 rng(options.seed);
  Cluster c;
  c.hosts.reserve(static_cast<std::size_t>(options.hosts));
  for (int h = 0; h < options.hosts; ++h) {
    const Resolved& r = mix[pick(rng)];
    planner::Host host;
    const std::string number = std::to_string(h);
    host.name = StrCat("h", std::string(number.size() < 5 ? 5 - number.size() : 0, '0'), number);
    host.gpus.resize(static_cast<std::size_t>(options.gpus_per_host));
    for (std::size_t g = 0; g < host.gpus.size(); ++g) {
      host.gpus[g].id = StrCat("gpu", g);
      host.gpus[g].board = r.board;
      host.gpus[g].mode = r.mig ? planner::GpuMode::kMig : planner::GpuMode::kUnconfigured;
    }
    c.hosts.push_back(std::move(host));
  }
  return c;
}

std::vector<int> AddDemand(Cluster& cluster, const std::vector<BoardMix>& mix,
                           const DemandOptions& options) {
  VmDrawer draw(cluster, mix, options.two_vgpu_share);
  std::mt19937_64 rng(options.seed);
  std::vector<int> out;
  out.reserve(static_cast<std::size_t>(options.vms));
  cluster.vms.reserve(cluster.vms.size() + static_cast<std::size_t>(options.vms));
  for (int i = 0; i < options.vms; ++i) {
    out.push_back(AppendVm(cluster, draw.Draw(rng, static_cast<int>(cluster.vms.size()))));
  }
  return out;
}

std::vector<int> AddFittingEqualSizeDemand(Cluster& cluster, const std::vector<BoardMix>& mix,
                                           double fill, std::uint64_t seed) {
  const std::vector<Resolved> resolved = Resolve(mix);
  const std::vector<long long> gpus = GpusPerBoard(cluster, resolved);
  std::mt19937_64 rng(seed);
  std::vector<const core::VgpuType*> drawn;
  for (std::size_t b = 0; b < resolved.size(); ++b) {
    const Resolved& r = resolved[b];
    std::discrete_distribution<std::size_t> pick(r.weights.begin(), r.weights.end());
    const auto budget = static_cast<long long>(fill * static_cast<double>(gpus[b]));
    std::map<const core::VgpuType*, long long> count;
    long long bound = 0;
    while (true) {
      const core::VgpuType* t = r.types[pick(rng)];
      const long long n = count[t];
      // Adding one instance raises ceil(n / max) by one exactly when n is a multiple of max.
      const long long next = bound + (n % t->max_instances == 0 ? 1 : 0);
      if (next > budget) break;
      bound = next;
      ++count[t];
      drawn.push_back(t);
    }
  }
  std::shuffle(drawn.begin(), drawn.end(), rng);
  std::vector<int> out;
  for (const core::VgpuType* t : drawn) {
    planner::Vm vm;
    vm.name = StrCat("vm", cluster.vms.size());
    vm.need.type = t;
    out.push_back(AppendVm(cluster, std::move(vm)));
  }
  return out;
}

int Occupy(Cluster& cluster, const std::vector<BoardMix>& mix, double empty_share,
           std::uint64_t seed) {
  const std::vector<Resolved> resolved = Resolve(mix);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const planner::MixedSizeGeometry geometry;
  const planner::CapacityOptions capacity;
  int added = 0;
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    for (std::size_t g = 0; g < cluster.hosts[h].gpus.size(); ++g) {
      const planner::Gpu& gpu = cluster.hosts[h].gpus[g];
      const Resolved* r = ForBoard(resolved, gpu.board);
      if (r == nullptr || unit(rng) < empty_share) continue;
      std::discrete_distribution<std::size_t> pick(r->weights.begin(), r->weights.end());
      const core::VgpuType* type = r->types[pick(rng)];
      const int target =
          r->mig ? r->board->mig->compute_slices
                 : 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(type->max_instances));
      for (int n = 0; n < target; ++n) {
        if (r->mig) type = r->types[pick(rng)];
        std::optional<planner::Fit> fit = planner::FitOn(gpu, *type, geometry, capacity);
        if (!fit) break;
        planner::Vm vm;
        vm.name = StrCat("vm", cluster.vms.size());
        vm.need.type = type;
        const int index = AppendVm(cluster, std::move(vm));
        planner::Apply(
            cluster,
            planner::Assignment{index, static_cast<int>(h), {static_cast<int>(g)}, {type}, {*fit}});
        ++added;
      }
    }
  }
  return added;
}

Stream AddStream(Cluster& cluster, const std::vector<BoardMix>& mix, const StreamOptions& options) {
  VmDrawer draw(cluster, mix, options.two_vgpu_share);
  std::mt19937_64 rng(options.seed);
  const double rate = options.load * static_cast<double>(FleetFramebufferMib(cluster)) /
                      draw.mean_vm_fb_mib();  // arrivals per mean lifetime
  std::exponential_distribution<double> gap(rate), life(1.0);
  Stream s;
  for (double t = gap(rng); t < options.duration; t += gap(rng)) {
    const int vm = AppendVm(cluster, draw.Draw(rng, static_cast<int>(cluster.vms.size())));
    s.events.push_back({t, true, vm});
    s.events.push_back({t + life(rng), false, vm});
    ++s.arrivals;
  }
  // Departures after the end are dropped; ties keep arrival before departure of the same VM.
  std::erase_if(s.events,
                [&](const StreamEvent& e) { return !e.arrival && e.time >= options.duration; });
  std::stable_sort(s.events.begin(), s.events.end(),
                   [](const StreamEvent& a, const StreamEvent& b) { return a.time < b.time; });
  return s;
}

long long FleetFramebufferMib(const Cluster& cluster) {
  long long total = 0;
  for (const planner::Host& h : cluster.hosts) {
    for (const planner::Gpu& g : h.gpus) total += g.board ? g.board->framebuffer_mib : 0;
  }
  return total;
}

std::vector<std::pair<const core::VgpuType*, double>> TypeShares(const Cluster& cluster,
                                                                 const std::vector<int>& vms) {
  std::map<const core::VgpuType*, double> n;
  for (int i : vms) {
    const planner::Vm& vm = cluster.vms[static_cast<std::size_t>(i)];
    if (vm.need.type != nullptr) n[vm.need.type] += vm.vgpus;
  }
  double total = 0;
  for (const auto& [t, c] : n) total += c;
  std::vector<std::pair<const core::VgpuType*, double>> out;
  for (const auto& [t, c] : n) out.emplace_back(t, c / total);
  // By name, so the order does not depend on where the catalog's rows sit in memory.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first->name < b.first->name; });
  return out;
}

}  // namespace gpufleet::bench
