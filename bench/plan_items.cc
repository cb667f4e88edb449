// Whole-cluster items: the full plan, the gap to the lower bound, the HA check.

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <set>

#include "bench/fleet_gen.h"
#include "bench/items.h"
#include "common/strings.h"
#include "planner/planner.h"

namespace gpufleet::bench {
namespace {

using planner::Cluster;
using Clock = BenchClock;

int SumBound(const std::vector<planner::BoardBound>& bounds) {
  int n = 0;
  for (const planner::BoardBound& b : bounds) n += b.gpus_needed;
  return n;
}

int GpusUsed(const Cluster& c) {
  int n = 0;
  for (const planner::Host& h : c.hosts) {
    for (const planner::Gpu& g : h.gpus) n += !g.instances.empty() || g.passthrough_vm >= 0;
  }
  return n;
}

// Plans the demand with planner::Plan (placer < 0), or places it in arrival order with baseline
// `placer`. The peak memory covers generating the input and planning it.
Step PlanOnce(const BenchOptions& o, Memory& memory, int placer, int hosts, int vms,
              bool equal_size) {
  memory.ResetPeak();
  const std::vector<BoardMix> mix = DefaultMix(equal_size);
  Cluster c = MakeFleet({hosts, o.gpus_per_host, Seed(o, 1), mix});
  const std::vector<int> demand = equal_size ? AddFittingEqualSizeDemand(c, mix, 0.95, Seed(o, 2))
                                             : AddDemand(c, mix, {vms, Seed(o, 2), 0.02});
  Step s;
  s.hosts = hosts;
  s.vms = static_cast<int>(demand.size());
  if (placer < 0) {
    const Clock::time_point start = Clock::now();
    // The cluster is handed over (as the baselines place into `c` itself): no copy is timed.
    const planner::PlanResult r = planner::Plan(std::move(c), demand);
    s.seconds = SecondsSince(start);
    s.rejected = static_cast<int>(r.rejected.size());
    s.gap = r.gpus_used - SumBound(r.bounds);
  } else {
    std::unique_ptr<OnlinePlacer> p =
        NewBaseline(static_cast<std::size_t>(placer), TypeShares(c, demand), o);
    std::vector<int> placed;
    const Clock::time_point start = Clock::now();
    for (int vm : demand) {
      if (p->Place(c, vm)) {
        placed.push_back(vm);
      } else {
        ++s.rejected;
      }
    }
    s.seconds = SecondsSince(start);
    s.gap = GpusUsed(c) - SumBound(planner::LowerBounds(c, placed));
  }
  s.peak_mib = memory.PeakMib();
  return s;
}

std::string OnGpus(const Step& s, const BenchOptions& o) {
  return StrCat(FormatNumber(s.vms), " VMs on ", Gpus(s.hosts, o));
}

// The VMs on a host, removed from it; the host then takes no placements.
std::vector<int> TakeDown(Cluster& c, int host, planner::HostState state) {
  planner::Host& h = c.hosts[static_cast<std::size_t>(host)];
  std::set<int> vms;
  for (planner::Gpu& g : h.gpus) {
    for (const planner::Instance& i : g.instances) vms.insert(i.vm);
    g.instances.clear();
  }
  h.state = state;
  return {vms.begin(), vms.end()};
}

// A baseline's HA check: for every ready host with VMs, a copy of the cluster without it, and its
// VMs placed elsewhere one by one. Returns the failures that leave a VM without a place.
int BaselineHa(const Cluster& cluster, const std::function<std::unique_ptr<OnlinePlacer>()>& make) {
  int failing = 0;
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    if (cluster.hosts[h].state != planner::HostState::kReady) continue;
    Cluster work = cluster;
    const std::vector<int> vms = TakeDown(work, static_cast<int>(h), planner::HostState::kDown);
    if (vms.empty()) continue;
    std::unique_ptr<OnlinePlacer> p = make();
    p->Prepare(work);
    bool ok = true;
    for (int vm : vms) ok = p->Place(work, vm) && ok;
    failing += !ok;
  }
  return failing;
}

}  // namespace

void PlanRows(const BenchOptions& o, Memory& memory, Report& report) {
  std::vector<Ladder> ladders;  // [0] gpufleet, then the baselines
  for (int p = -1; p < static_cast<int>(report.baselines.size()); ++p) {
    ladders.push_back(RunLadder(o, o.vms, o.plan_budget_s,
                                [&](int h, int v) { return PlanOnce(o, memory, p, h, v, false); }));
  }
  const std::string size = StrCat(FormatNumber(o.vms), " VMs on ", Gpus(o.hosts, o));
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < ladders.size(); ++i) {
    std::string n = LadderNote(ladders[i], o, i == 0 ? "gpufleet" : report.baselines[i - 1]);
    if (!n.empty()) notes.push_back(n);
  }
  const double seconds = FullSeconds(ladders[0], o);
  Row time{"full plan",
           size,
           "seconds",
           Number(seconds, 2),
           {},
           "<= 1",
           AtMost(seconds, 1.0),
           StrCat("gpufleet: planner::Plan (largest VMs first, types grouped); baselines: the "
                  "same demand in arrival order",
                  notes.empty() ? "" : StrCat("; ", StrJoin(notes, "; ")))};
  Row rss{"full plan",
          size,
          "peak RSS (MiB)",
          NotAvailable(),
          {},
          "<= 1,024",
          Verdict::kNotAvailable,
          StrCat("VmHWM while the input is generated and planned",
                 notes.empty() ? "" : "; extrapolated sizes: linear in size")};
  for (std::size_t i = 1; i < ladders.size(); ++i) {
    time.baselines.push_back(Number(FullSeconds(ladders[i], o), 2));
    const std::optional<double> mib = FullPeakMib(ladders[i], o);
    rss.baselines.push_back(mib ? Number(*mib) : NotAvailable());
  }
  if (const std::optional<double> mib = FullPeakMib(ladders[0], o)) {
    rss.gpufleet = Number(*mib);
    rss.verdict = AtMost(*mib, 1024);
  }
  report.rows.push_back(std::move(time));
  report.rows.push_back(std::move(rss));
  // Every size some placer was measured at, below the full one; blank where it was not.
  std::map<int, Step> sizes;
  for (const Ladder& l : ladders) {
    for (const Step& s : l.steps) sizes.emplace(s.hosts, s);
  }
  auto at = [](const Ladder& l, int hosts) -> Value {
    for (const Step& s : l.steps) {
      if (s.hosts == hosts) return Number(s.seconds, 3);
    }
    return {};
  };
  for (const auto& [hosts, s] : sizes) {
    if (hosts == o.hosts) continue;
    Row scaling{"full plan (scaling)", OnGpus(s, o), "seconds", at(ladders[0], hosts)};
    for (std::size_t i = 1; i < ladders.size(); ++i)
      scaling.baselines.push_back(at(ladders[i], hosts));
    report.rows.push_back(std::move(scaling));
  }
  const Step& last = ladders[0].steps.back();
  Row gap{"plan gap, mixed demand with MIG", OnGpus(last, o), "GPUs over bound", Number(last.gap)};
  gap.note = StrCat("gpufleet rejected ", FormatNumber(last.rejected),
                    " VMs; the MIG bound (ceil of slices / 7 or 8) is not tight, so a gap here is "
                    "not necessarily waste");
  report.rows.push_back(std::move(gap));
}

void GapRows(const BenchOptions& o, Memory& memory, Report& report) {
  // Every placer gets its own ladder: the baselines scan every GPU per VM, so they cannot always
  // follow gpufleet to the full size. They are compared at the largest size all of them reached.
  std::vector<Ladder> ladders;  // [0] gpufleet, then the baselines
  for (int p = -1; p < static_cast<int>(report.baselines.size()); ++p) {
    ladders.push_back(RunLadder(o, 0, o.plan_budget_s,
                                [&](int h, int) { return PlanOnce(o, memory, p, h, 0, true); }));
  }
  int common = o.hosts;
  for (const Ladder& l : ladders) common = std::min(common, l.steps.back().hosts);
  auto at = [](const Ladder& l, int hosts) -> const Step& {
    return *std::find_if(l.steps.begin(), l.steps.end(),
                         [&](const Step& s) { return s.hosts == hosts; });
  };
  auto verdict = [](const Step& s) {
    return s.gap == 0 && s.rejected == 0 ? Verdict::kPass : Verdict::kFail;
  };
  const std::string workload = "gap to bound, equal-size demand";
  const Step& g = at(ladders[0], common);
  Row row{workload, OnGpus(g, o), "GPUs over bound", Number(g.gap), {}, "0", verdict(g), ""};
  std::vector<std::string> rejected;
  if (g.rejected > 0) rejected.push_back(StrCat("gpufleet rejected ", g.rejected));
  for (std::size_t i = 0; i < report.baselines.size(); ++i) {
    const Step& b = at(ladders[i + 1], common);
    row.baselines.push_back(Number(b.gap));
    if (b.rejected > 0) rejected.push_back(StrCat(report.baselines[i], " rejected ", b.rejected));
  }
  row.note = StrCat(
      "types drawn per board until the bound reaches 95% of its GPUs, so the demand fits; A100D "
      "time-sliced; baselines in arrival order",
      common == o.hosts ? "" : "; the largest size every placer planned within the budget",
      rejected.empty() ? "" : StrCat("; ", StrJoin(rejected, ", ")));
  report.rows.push_back(std::move(row));
  const Step& largest = ladders[0].steps.back();
  if (largest.hosts > common) {
    report.rows.push_back(
        {workload,
         OnGpus(largest, o),
         "GPUs over bound",
         Number(largest.gap),
         {},
         "0",
         verdict(largest),
         StrCat("gpufleet alone (", FormatNumber(largest.seconds, 2),
                " s); the baselines would exceed the budget at this size",
                largest.rejected > 0 ? StrCat("; gpufleet rejected ", largest.rejected) : "")});
  }
}

void HaRows(const BenchOptions& o, Report& report) {
  int failing = 0, hosts_with_vms = 0;
  const Ladder gf = RunLadder(o, 0, o.plan_budget_s, [&](int h, int) {
    const Cluster c = RunningFleet(o, h, 31);
    Step s;
    s.hosts = h;
    const Clock::time_point start = Clock::now();
    const planner::HaResult r = planner::CheckHa(c);
    s.seconds = SecondsSince(start);
    failing = 0;
    for (const planner::HostFailure& f : r.failures) failing += !f.cannot_restart.empty();
    hosts_with_vms = static_cast<int>(r.failures.size());
    return s;
  });
  const double seconds = FullSeconds(gf, o);
  const std::string size = StrCat(FormatNumber(o.hosts), " hosts");
  std::vector<std::string> notes = {
      StrCat("fleet 70% occupied; gpufleet: planner::CheckHa; baselines: per failed host, a copy "
             "of the cluster and its VMs re-placed one by one; at ",
             Gpus(gf.steps.back().hosts, o), " gpufleet found ", failing, " of ", hosts_with_vms,
             " failures not absorbed")};
  if (!gf.full) notes.push_back(LadderNote(gf, o, "gpufleet"));
  Row row{"HA check (N+1)",     size, "seconds", Number(seconds, 2), {}, "<= 1",
          AtMost(seconds, 1.0), ""};
  for (std::size_t i = 0; i < report.baselines.size(); ++i) {
    const Ladder b = RunLadder(o, 0, o.plan_budget_s, [&](int h, int) {
      const Cluster c = RunningFleet(o, h, 31);
      std::vector<int> running(c.vms.size());
      std::iota(running.begin(), running.end(), 0);
      const TypeShareList expected = TypeShares(c, running);
      Step s;
      s.hosts = h;
      const Clock::time_point start = Clock::now();
      (void)BaselineHa(c, [&] { return NewBaseline(i, expected, o); });
      s.seconds = SecondsSince(start);
      return s;
    });
    row.baselines.push_back(Number(FullSeconds(b, o), 2));
    if (!b.full) notes.push_back(LadderNote(b, o, report.baselines[i]));
  }
  row.note = StrJoin(notes, "; ");
  report.rows.push_back(std::move(row));
}

}  // namespace gpufleet::bench
