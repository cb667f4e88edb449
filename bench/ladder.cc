// Shared pieces of the items: memory probe, baseline factory, size ladders.

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>

#include "bench/baselines.h"
#include "bench/fleet_gen.h"
#include "bench/items.h"
#include "common/strings.h"

namespace gpufleet::bench {

bool Memory::ResetPeak() {
  malloc_trim(0);  // hand freed heap back, so the previous item's garbage is not counted
  // os::FileSystem only reads; this write is the benchmark's one other access to the machine.
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::optional<double> Memory::PeakMib() const {
  absl::StatusOr<std::string> status = fs_.ReadFile("/proc/self/status", 1 << 20);
  if (!status.ok()) return std::nullopt;
  for (std::string_view line : StrSplit(*status, '\n')) {
    if (!line.starts_with("VmHWM:")) continue;
    line = StripAsciiWhitespace(line.substr(6));
    long long kib = 0;
    if (std::from_chars(line.data(), line.data() + line.size(), kib).ec != std::errc()) break;
    return static_cast<double>(kib) / 1024.0;
  }
  return std::nullopt;
}

std::vector<std::string> BaselineNames() { return {"first-fit", "best-fit", "random-fit", "FGD"}; }

std::unique_ptr<OnlinePlacer> NewBaseline(std::size_t i, const TypeShareList& expected,
                                          const BenchOptions& o) {
  switch (i) {
    case 0:
      return NewFirstFit();
    case 1:
      return NewBestFit();
    case 2:
      return NewRandomFit(Seed(o, 9));
    default:
      return NewFragmentationGradient(expected);
  }
}

std::uint64_t Seed(const BenchOptions& o, int salt) {
  return static_cast<std::uint64_t>(o.seed) * 1000 + static_cast<std::uint64_t>(salt);
}

planner::Cluster RunningFleet(const BenchOptions& o, int hosts, int salt, int* running) {
  const std::vector<BoardMix> mix = DefaultMix();
  planner::Cluster c = MakeFleet({hosts, o.gpus_per_host, Seed(o, salt), mix});
  const int n = Occupy(c, mix, 0.3, Seed(o, salt + 1));
  if (running != nullptr) *running = n;
  return c;
}

std::string Gpus(int hosts, const BenchOptions& o) {
  return StrCat(FormatNumber(static_cast<double>(hosts) * o.gpus_per_host), " GPUs");
}

Verdict AtMost(double v, double target) { return v <= target ? Verdict::kPass : Verdict::kFail; }
Verdict AtLeast(double v, double target) { return v >= target ? Verdict::kPass : Verdict::kFail; }

namespace {

// The least-squares slope of log(seconds) over log(size) on the last three steps that took
// long enough to time (two at least), clamped to [1, 3]: one noisy step moves it less than a
// two-point slope would.
std::optional<double> Exponent(const std::vector<Step>& steps) {
  std::vector<std::pair<double, double>> xy;
  for (auto it = steps.rbegin(); it != steps.rend() && xy.size() < 3; ++it) {
    if (it->seconds > 0.002) xy.emplace_back(std::log(it->hosts), std::log(it->seconds));
  }
  if (xy.size() < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (const auto& [x, y] : xy) {
    mx += x;
    my += y;
  }
  mx /= static_cast<double>(xy.size());
  my /= static_cast<double>(xy.size());
  double sxy = 0, sxx = 0;
  for (const auto& [x, y] : xy) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
  }
  if (sxx <= 0) return std::nullopt;
  return std::clamp(sxy / sxx, 1.0, 3.0);
}

}  // namespace

Ladder RunLadder(const BenchOptions& o, int full_vms, double budget_s,
                 const std::function<Step(int, int)>& run) {
  std::vector<int> sizes = {o.hosts};  // halving down to 8 hosts, then smallest first
  while (sizes.back() / 2 >= 8) sizes.push_back((sizes.back() + 1) / 2);
  std::reverse(sizes.begin(), sizes.end());
  Ladder l;
  for (int h : sizes) {
    if (!l.steps.empty()) {
      const Step& last = l.steps.back();
      const double predicted =
          last.seconds * std::pow(static_cast<double>(h) / last.hosts, l.exponent);
      if (predicted > budget_s && last.seconds > 0.01) break;
    }
    const auto vms = static_cast<int>(std::llround(static_cast<double>(full_vms) * h / o.hosts));
    l.steps.push_back(run(h, vms));
    l.full = h == o.hosts;
    if (std::optional<double> e = Exponent(l.steps)) l.exponent = *e;
  }
  return l;
}

double FullSeconds(const Ladder& l, const BenchOptions& o) {
  const Step& last = l.steps.back();
  return l.full ? last.seconds
                : last.seconds * std::pow(static_cast<double>(o.hosts) / last.hosts, l.exponent);
}

std::optional<double> FullPeakMib(const Ladder& l, const BenchOptions& o) {
  const Step& last = l.steps.back();
  if (!last.peak_mib) return std::nullopt;
  if (l.full || l.steps.size() < 2 || !l.steps[l.steps.size() - 2].peak_mib) return last.peak_mib;
  const Step& prev = l.steps[l.steps.size() - 2];
  const double slope = (*last.peak_mib - *prev.peak_mib) / (last.hosts - prev.hosts);
  return *last.peak_mib + slope * (o.hosts - last.hosts);
}

std::string LadderNote(const Ladder& l, const BenchOptions& o, std::string_view who) {
  if (l.full) return "";
  const Step& last = l.steps.back();
  return StrCat(who, " extrapolated from ", Gpus(last.hosts, o),
                last.vms > 0 ? StrCat(" / ", FormatNumber(last.vms), " VMs") : "", " (",
                FormatNumber(last.seconds, 2), " s) with time ~ size^", FormatNumber(l.exponent, 2),
                " (fit on the last steps)");
}

}  // namespace gpufleet::bench
