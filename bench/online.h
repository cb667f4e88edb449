#ifndef GPUFLEET_BENCH_ONLINE_H_
#define GPUFLEET_BENCH_ONLINE_H_

// The one interface every measured placer implements (gpufleet's and the baselines), and the
// drivers that time placements and replay arrival/departure streams through it.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/fleet_gen.h"
#include "planner/planner.h"

namespace gpufleet::bench {

// Places VMs one at a time. A placer may keep indexes between calls, so it must see every change
// of the cluster it works on: one placer per cluster, every mutation through Place and Remove.
// Not thread-safe.
class OnlinePlacer {
 public:
  virtual ~OnlinePlacer() = default;
  [[nodiscard]] virtual std::string name() const = 0;
  // Builds what the placer keeps between calls from the cluster as it is; not timed.
  virtual void Prepare(const planner::Cluster& cluster) { (void)cluster; }
  // Places cluster.vms[vm], which is not placed yet, and returns true; or returns false and
  // leaves the cluster unchanged.
  virtual bool Place(planner::Cluster& cluster, int vm) = 0;
  // Removes a VM placed by this placer.
  virtual void Remove(planner::Cluster& cluster, int vm) = 0;
};

// gpufleet's engine (internal::Placer): Decide + Commit, its indexes kept across calls as Plan
// keeps them; Remove takes a departing VM out of them (internal::Placer::Remove).
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewGpufleetEngine(planner::Policy policy);
// The public planner::Place + Apply, which builds the engine's indexes on every call.
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewGpufleetPlaceApi(planner::Policy policy);

// The CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): what a computation costs on one
// core, whatever else the machine runs meanwhile (the targets are "on one core"; this machine is
// often shared with builds).
struct BenchClock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<BenchClock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};
// Thread CPU seconds since `start`.
[[nodiscard]] double SecondsSince(BenchClock::time_point start);

struct LatencyStats {
  int decisions = 0;
  int accepted = 0;
  double seconds = 0;  // sum of the timed calls
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;  // nearest rank; with fewer than 100 decisions it is the maximum
  double max_us = 0;
  std::vector<double> call_us;  // every timed call, in the order of the VMs
};

// The nearest-rank quantile q (0 < q <= 1) of `us`; 0 when empty.
[[nodiscard]] double Quantile(std::vector<double> us, double q);

// Places `vms` in order, timing each Place call, until all are done or the timed calls have
// used `budget_s` seconds (and at least `min_decisions` were made).
LatencyStats TimePlacements(OnlinePlacer& placer, planner::Cluster& cluster,
                            const std::vector<int>& vms, double budget_s, int min_decisions);

struct ReplayResult {
  int arrivals = 0;  // counted: at or after the warm-up
  int accepted = 0;
  double offered_mib = 0;  // framebuffer of the counted arrivals (vGPUs x type framebuffer)
  double accepted_mib = 0;
  double seconds = 0;
  [[nodiscard]] double acceptance() const {
    return arrivals == 0 ? 0 : static_cast<double>(accepted) / arrivals;
  }
  // The share of the offered framebuffer accepted: a placer that rejects large VMs to keep room
  // for small ones accepts more VMs but less framebuffer.
  [[nodiscard]] double framebuffer_acceptance() const {
    return offered_mib == 0 ? 0 : accepted_mib / offered_mib;
  }
};

// Replays a stream on `cluster` (which holds the stream's VMs, unplaced): arrivals are placed or
// rejected, departures of placed VMs removed. Acceptance counts arrivals from `warmup` on.
ReplayResult Replay(OnlinePlacer& placer, planner::Cluster& cluster, const Stream& stream,
                    double warmup);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_ONLINE_H_
