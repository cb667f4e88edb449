#include "bench/online.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "common/strings.h"
#include "planner/placer.h"

namespace gpufleet::bench {
namespace {

using Clock = BenchClock;

class GpufleetEngine final : public OnlinePlacer {
 public:
  explicit GpufleetEngine(planner::Policy policy) { options_.policy = policy; }

  std::string name() const override { return StrCat("gpufleet ", PolicyName(options_.policy)); }

  void Prepare(const planner::Cluster& cluster) override {
    placer_.emplace(cluster, options_);
    placer_->set_reserve(true);  // online placement, as planner::Place
  }

  bool Place(planner::Cluster& cluster, int vm) override {
    if (!placer_) Prepare(cluster);
    planner::Decision d = placer_->Decide(cluster, vm);
    if (!d.assignment) return false;
    placer_->Commit(cluster, *d.assignment);
    return true;
  }

  void Remove(planner::Cluster& cluster, int vm) override {
    if (placer_) {
      placer_->Remove(cluster, vm);
    } else {
      planner::Unplace(cluster, vm);
    }
  }

 private:
  planner::PlaceOptions options_;
  std::optional<planner::internal::Placer> placer_;
};

class GpufleetPlaceApi final : public OnlinePlacer {
 public:
  explicit GpufleetPlaceApi(planner::Policy policy) { options_.policy = policy; }

  std::string name() const override {
    return StrCat("gpufleet Place() ", PolicyName(options_.policy));
  }

  bool Place(planner::Cluster& cluster, int vm) override {
    planner::Decision d = planner::Place(cluster, vm, options_);
    if (!d.assignment) return false;
    planner::Apply(cluster, *d.assignment);
    return true;
  }

  void Remove(planner::Cluster& cluster, int vm) override { planner::Unplace(cluster, vm); }

 private:
  planner::PlaceOptions options_;
};

}  // namespace

BenchClock::time_point BenchClock::now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

double SecondsSince(BenchClock::time_point start) {
  return std::chrono::duration<double>(BenchClock::now() - start).count();
}

std::unique_ptr<OnlinePlacer> NewGpufleetEngine(planner::Policy policy) {
  return std::make_unique<GpufleetEngine>(policy);
}

std::unique_ptr<OnlinePlacer> NewGpufleetPlaceApi(planner::Policy policy) {
  return std::make_unique<GpufleetPlaceApi>(policy);
}

double Quantile(std::vector<double> us, double q) {
  if (us.empty()) return 0;
  std::sort(us.begin(), us.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(us.size())));
  return us[std::min(us.size() - 1, i == 0 ? 0 : i - 1)];
}

LatencyStats TimePlacements(OnlinePlacer& placer, planner::Cluster& cluster,
                            const std::vector<int>& vms, double budget_s, int min_decisions) {
  LatencyStats s;
  s.call_us.reserve(vms.size());
  for (int vm : vms) {
    if (s.seconds >= budget_s && s.decisions >= min_decisions) break;
    const Clock::time_point start = Clock::now();
    const bool ok = placer.Place(cluster, vm);
    const double took = SecondsSince(start);
    s.seconds += took;
    s.call_us.push_back(took * 1e6);
    ++s.decisions;
    s.accepted += ok;
  }
  if (s.call_us.empty()) return s;
  s.per_second = s.seconds > 0 ? s.decisions / s.seconds : 0;
  s.p50_us = Quantile(s.call_us, 0.50);
  s.p99_us = Quantile(s.call_us, 0.99);
  s.max_us = *std::max_element(s.call_us.begin(), s.call_us.end());
  return s;
}

ReplayResult Replay(OnlinePlacer& placer, planner::Cluster& cluster, const Stream& stream,
                    double warmup) {
  ReplayResult r;
  std::vector<bool> placed(cluster.vms.size(), false);
  const Clock::time_point start = Clock::now();
  for (const StreamEvent& e : stream.events) {
    const auto vm = static_cast<std::size_t>(e.vm);
    if (!e.arrival) {
      if (placed[vm]) placer.Remove(cluster, e.vm);
      placed[vm] = false;
      continue;
    }
    placed[vm] = placer.Place(cluster, e.vm);
    if (e.time >= warmup) {
      const planner::Vm& v = cluster.vms[vm];
      const double mib = v.need.type == nullptr
                             ? 0.0
                             : static_cast<double>(v.vgpus) * v.need.type->framebuffer_mib;
      ++r.arrivals;
      r.accepted += placed[vm];
      r.offered_mib += mib;
      if (placed[vm]) r.accepted_mib += mib;
    }
  }
  r.seconds = SecondsSince(start);
  return r;
}

}  // namespace gpufleet::bench
