#include "bench/baselines.h"

#include <algorithm>
#include <optional>
#include <random>
#include <unordered_map>

#include "common/strings.h"
#include "planner/capacity.h"

namespace gpufleet::bench {
namespace {

using planner::Cluster;
using planner::Fit;
using planner::Gpu;

// One GPU of a host that can take one vGPU of the VM.
struct Option {
  double score = 0;
  int gpu = -1;
  const core::VgpuType* type = nullptr;
  Fit fit;
};

// The shared scan; subclasses only score a feasible (GPU, type, fit).
class ScanPlacer : public OnlinePlacer {
 public:
  bool Place(Cluster& cluster, int vm_index) override {
    const planner::Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
    if (vm.need.passthrough) return false;
    candidates_.clear();
    std::optional<planner::Assignment> best;
    double best_score = 0;
    std::vector<Option> options;
    for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
      const planner::Host& host = cluster.hosts[h];
      if (host.state != planner::HostState::kReady || !LabelsMatch(host, vm)) continue;
      options.clear();
      for (std::size_t g = 0; g < host.gpus.size(); ++g) {
        const Gpu& gpu = host.gpus[g];
        if (gpu.board == nullptr) continue;
        for (const core::VgpuType* type : CandidatesFor(vm, gpu)) {
          std::optional<Fit> fit = planner::FitOn(gpu, *type, geometry_, capacity_);
          if (!fit) continue;
          options.push_back({Score(gpu, *type, *fit), static_cast<int>(g), type, *fit});
          break;
        }
      }
      const auto k = static_cast<std::size_t>(vm.vgpus);
      if (options.size() < k) continue;
      std::partial_sort(options.begin(), options.begin() + static_cast<std::ptrdiff_t>(k),
                        options.end(), [](const Option& a, const Option& b) {
                          return a.score != b.score ? a.score < b.score : a.gpu < b.gpu;
                        });
      double total = 0;
      for (std::size_t i = 0; i < k; ++i) total += options[i].score;
      if (best && total >= best_score) continue;
      best.emplace();
      best->vm = vm_index;
      best->host = static_cast<int>(h);
      for (std::size_t i = 0; i < k; ++i) {
        best->gpus.push_back(options[i].gpu);
        best->types.push_back(options[i].type);
        best->fits.push_back(options[i].fit);
      }
      best_score = total;
      if (first_host_wins()) break;
    }
    if (!best) return false;
    planner::Apply(cluster, *best);
    return true;
  }

  void Remove(Cluster& cluster, int vm) override { planner::Unplace(cluster, vm); }

 protected:
  // Lower is better.
  virtual double Score(const Gpu& gpu, const core::VgpuType& type, const Fit& fit) = 0;
  [[nodiscard]] virtual bool first_host_wins() const { return false; }

  const planner::MixedSizeGeometry geometry_{};
  const planner::CapacityOptions capacity_{};

 private:
  static bool LabelsMatch(const planner::Host& host, const planner::Vm& vm) {
    for (const auto& [k, v] : vm.host_labels) {
      auto it = host.labels.find(k);
      if (it == host.labels.end() || it->second != v) return false;
    }
    return true;
  }

  // CandidateTypes per board, computed once per decision: a fleet has few boards.
  const std::vector<const core::VgpuType*>& CandidatesFor(const planner::Vm& vm, const Gpu& gpu) {
    const bool mig = gpu.mode == planner::GpuMode::kMig;
    for (const auto& [board, is_mig, types] : candidates_) {
      if (board == gpu.board && is_mig == mig) return types;
    }
    candidates_.push_back({gpu.board, mig, planner::CandidateTypes(vm.need, *gpu.board, mig)});
    return candidates_.back().types;
  }

  struct Candidates {
    const core::Board* board;
    bool mig;
    std::vector<const core::VgpuType*> types;
  };
  std::vector<Candidates> candidates_;
};

class FirstFit final : public ScanPlacer {
 public:
  std::string name() const override { return "first-fit"; }

 protected:
  double Score(const Gpu&, const core::VgpuType&, const Fit&) override { return 0; }
  bool first_host_wins() const override { return true; }
};

class BestFit final : public ScanPlacer {
 public:
  std::string name() const override { return "best-fit"; }

 protected:
  double Score(const Gpu& gpu, const core::VgpuType& type, const Fit&) override {
    return gpu.board->framebuffer_mib - planner::UsedFramebufferMib(gpu) - type.framebuffer_mib;
  }
};

class RandomFit final : public ScanPlacer {
 public:
  explicit RandomFit(std::uint64_t seed) : rng_(seed) {}
  std::string name() const override { return "random-fit"; }

 protected:
  // A uniform score per feasible GPU makes the minimum a uniform choice among them.
  double Score(const Gpu&, const core::VgpuType&, const Fit&) override { return unit_(rng_); }

 private:
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
};

std::uint64_t Mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t Bits(const void* p) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
}

std::uint64_t InstanceHash(const core::VgpuType* type, int placement) {
  return Mix(Bits(type) ^ Mix(static_cast<std::uint64_t>(placement + 1)));
}

class FragmentationGradient final : public ScanPlacer {
 public:
  explicit FragmentationGradient(std::vector<std::pair<const core::VgpuType*, double>> expected)
      : expected_(std::move(expected)) {}
  std::string name() const override { return "FGD"; }

 protected:
  double Score(const Gpu& gpu, const core::VgpuType& type, const Fit& fit) override {
    std::uint64_t instances = 0;
    for (const planner::Instance& i : gpu.instances) instances += InstanceHash(i.type, i.placement);
    const std::uint64_t before =
        StateHash(gpu, gpu.mode, gpu.instances.empty() ? nullptr : gpu.carved, instances);
    const std::uint64_t after =
        StateHash(gpu, fit.mode, fit.mode == planner::GpuMode::kEqualSize ? &type : gpu.carved,
                  instances + InstanceHash(&type, fit.placement));
    auto it = memo_.find(after);
    if (it == memo_.end()) {
      Gpu next = gpu;
      next.mode = fit.mode;
      if (fit.mode == planner::GpuMode::kEqualSize) next.carved = &type;
      next.instances.push_back(planner::Instance{-1, &type, fit.placement});
      it = memo_.emplace(after, Fragmentation(next)).first;
    }
    const double f_after = it->second;
    it = memo_.find(before);
    if (it == memo_.end()) it = memo_.emplace(before, Fragmentation(gpu)).first;
    return f_after - it->second;
  }

 private:
  // Order-independent: the instances enter as a sum, so the same set hashes alike in any order.
  static std::uint64_t StateHash(const Gpu& gpu, planner::GpuMode mode,
                                 const core::VgpuType* carved, std::uint64_t instances) {
    return Mix(Bits(gpu.board) ^ Mix(static_cast<std::uint64_t>(mode) + 1) ^
               Mix(Bits(carved) + 7)) +
           instances;
  }

  // Expected framebuffer the next VM could not use on this GPU: for each type of the GPU's board,
  // the free framebuffer minus what further instances of that type would take (all of it when
  // none fits), weighted by the type's share of the demand on this board.
  double Fragmentation(const Gpu& gpu) const {
    const double free =
        gpu.board->framebuffer_mib - static_cast<double>(planner::UsedFramebufferMib(gpu));
    double weighted = 0, total = 0;
    for (const auto& [type, share] : expected_) {
      if (!EqualsIgnoreCase(type->board_prefix, gpu.board->prefix)) continue;
      const int n = planner::FreeCount(gpu, *type, geometry_);
      weighted += share * (free - static_cast<double>(n) * type->framebuffer_mib);
      total += share;
    }
    return total > 0 ? weighted / total : free;
  }

  std::vector<std::pair<const core::VgpuType*, double>> expected_;
  std::unordered_map<std::uint64_t, double> memo_;
};

}  // namespace

std::unique_ptr<OnlinePlacer> NewFirstFit() { return std::make_unique<FirstFit>(); }
std::unique_ptr<OnlinePlacer> NewBestFit() { return std::make_unique<BestFit>(); }
std::unique_ptr<OnlinePlacer> NewRandomFit(std::uint64_t seed) {
  return std::make_unique<RandomFit>(seed);
}
std::unique_ptr<OnlinePlacer> NewFragmentationGradient(
    std::vector<std::pair<const core::VgpuType*, double>> expected) {
  return std::make_unique<FragmentationGradient>(std::move(expected));
}

}  // namespace gpufleet::bench
