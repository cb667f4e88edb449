#ifndef GPUFLEET_BENCH_ITEMS_H_
#define GPUFLEET_BENCH_ITEMS_H_

// The measured items of planner_bench. Each appends its rows (gpufleet, every baseline, target,
// verdict) to a Report. Sizes come from BenchOptions; an item whose full size would run longer
// than its budget is measured on halved sizes and extrapolated, and its note says so.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/online.h"
#include "bench/report.h"
#include "os/file_system.h"

namespace gpufleet::bench {

struct BenchOptions {
  int hosts = 10'000;
  int gpus_per_host = 8;
  int vms = 320'000;
  int seed = 1;
  double budget_s = 3;        // per timed online measurement
  double plan_budget_s = 15;  // the largest run of a size ladder, per placer
  int stream_hosts = 100;     // fleet of the arrival/departure replays
  int accept_seeds = 1;       // acceptance: > 1 adds the lead on each seed from `seed` on
  bool smoke = false;
};

// Peak resident memory (VmHWM of /proc/self/status), which ResetPeak lowers to the current
// resident size through /proc/self/clear_refs (Linux >= 4.0).
class Memory {
 public:
  explicit Memory(const os::FileSystem& fs) : fs_(fs) {}
  // Returns false when the kernel refuses the reset (the peak is then the process's so far).
  bool ResetPeak();
  [[nodiscard]] std::optional<double> PeakMib() const;

 private:
  const os::FileSystem& fs_;
};

[[nodiscard]] std::vector<std::string> BaselineNames();
// Baseline i of BaselineNames(); FGD scores against `expected` (TypeShares of the demand).
using TypeShareList = std::vector<std::pair<const core::VgpuType*, double>>;
[[nodiscard]] std::unique_ptr<OnlinePlacer> NewBaseline(std::size_t i,
                                                        const TypeShareList& expected,
                                                        const BenchOptions& o);
[[nodiscard]] std::uint64_t Seed(const BenchOptions& o, int salt);
// A fleet as it runs (seeded by `salt`): 30% of GPUs empty, the rest carved and partly filled.
// `running`, when given, receives the number of VMs placed.
[[nodiscard]] planner::Cluster RunningFleet(const BenchOptions& o, int hosts, int salt,
                                            int* running = nullptr);
[[nodiscard]] std::string Gpus(int hosts, const BenchOptions& o);  // "80,000 GPUs"
[[nodiscard]] Verdict AtMost(double v, double target);
[[nodiscard]] Verdict AtLeast(double v, double target);

// One measurement at one size.
struct Step {
  int hosts = 0;
  int vms = 0;
  double seconds = 0;
  std::optional<double> peak_mib;
  int rejected = 0;
  int gap = 0;  // GPUs used minus the lower bound
};

// Measurements at doubling sizes (hosts, with VMs in proportion), smallest first, up to the full
// size or until the next size is predicted to take longer than the budget.
struct Ladder {
  std::vector<Step> steps;
  bool full = false;
  double exponent = 2;  // of time in size, fitted on the last steps (2 until there are two)
};
[[nodiscard]] Ladder RunLadder(const BenchOptions& o, int full_vms, double budget_s,
                               const std::function<Step(int hosts, int vms)>& run);
// Seconds and peak memory at the full size: measured, or extrapolated (time by the exponent,
// memory linearly from the last two steps).
[[nodiscard]] double FullSeconds(const Ladder& l, const BenchOptions& o);
[[nodiscard]] std::optional<double> FullPeakMib(const Ladder& l, const BenchOptions& o);
// "" when the full size was measured, else what the extrapolation rests on.
[[nodiscard]] std::string LadderNote(const Ladder& l, const BenchOptions& o, std::string_view who);

void OnlineRows(const BenchOptions& o, Report& report);
void AcceptanceRows(const BenchOptions& o, Report& report);
void EvacuationRows(const BenchOptions& o, Report& report);
void PlanRows(const BenchOptions& o, Memory& memory, Report& report);
void GapRows(const BenchOptions& o, Memory& memory, Report& report);
void HaRows(const BenchOptions& o, Report& report);

}  // namespace gpufleet::bench

#endif  // GPUFLEET_BENCH_ITEMS_H_
