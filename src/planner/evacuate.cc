// Evacuation, HA restart checks and defragmentation: all three move VMs that keep their vGPU
// types to other GPUs, so they share one move routine.

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

#include "common/strings.h"
#include "core/compat.h"
#include "planner/moves.h"
#include "planner/placer.h"

namespace gpufleet::planner {

double EstimateStunSeconds(int framebuffer_mib, int link_gbps) {
  // (GB used, seconds) for a V100 32 GB profile over 10 GbE, vSphere 7.0 documentation.
  static constexpr std::array<std::pair<double, double>, 7> kPoints = {
      {{0, 0}, {1, 2}, {2, 4}, {4, 6}, {8, 12}, {16, 22}, {32, 39}}};
  const double gb = framebuffer_mib / 1024.0;
  double seconds = 0;
  if (gb >= kPoints.back().first) {
    // Beyond the table, continue the last segment's slope.
    const auto& [x0, y0] = kPoints[kPoints.size() - 2];
    const auto& [x1, y1] = kPoints.back();
    seconds = y1 + (gb - x1) * (y1 - y0) / (x1 - x0);
  } else {
    for (std::size_t i = 1; i < kPoints.size(); ++i) {
      const auto& [x0, y0] = kPoints[i - 1];
      const auto& [x1, y1] = kPoints[i];
      if (gb <= x1) {
        seconds = y0 + (gb - x0) * (y1 - y0) / (x1 - x0);
        break;
      }
    }
  }
  return seconds * 10.0 / std::max(1, link_gbps);
}

namespace internal {

std::vector<const core::VgpuType*> TypesOf(const Cluster& cluster, int vm) {
  std::vector<const core::VgpuType*> out;
  for (const Host& host : cluster.hosts) {
    for (const Gpu& gpu : host.gpus) {
      for (const Instance& i : gpu.instances) {
        if (i.vm == vm) out.push_back(i.type);
      }
    }
  }
  return out;
}

std::optional<std::string> MoveBlocker(const Cluster& cluster, const Vm& vm, const Host& from,
                                       const Gpu& from_gpu, const Host& to, const Gpu& to_gpu,
                                       const core::VgpuType& type, bool live) {
  const core::Catalog& catalog = cluster.catalog ? *cluster.catalog : core::Catalog::Embedded();
  if (!live) {
    // A cold restart only needs the guest driver to suit the destination's manager.
    if (!vm.guest_driver || !to.manager) return std::nullopt;
    core::CompatQuery q;
    q.host_driver = to.manager;
    q.guest_driver = vm.guest_driver;
    absl::StatusOr<core::CompatReport> r = core::CheckCompatibility(catalog, q);
    if (!r.ok()) return std::string(ToStd(r.status().message()));
    for (const core::Finding& f : r->findings) {
      if (f.rule == "host-guest" && f.verdict == core::Verdict::kFail) return f.reason;
    }
    return std::nullopt;
  }
  if (!vm.live_migratable) return "the VM is not live-migratable (power it off to move it)";
  core::MigrationQuery q;
  q.hypervisor = from.hypervisor;
  q.src_host_driver = from.manager;
  q.dst_host_driver = to.manager;
  q.guest_driver = vm.guest_driver;
  q.src_profile = type.name;
  q.dst_profile = type.name;
  q.src_ecc = from_gpu.ecc;
  q.dst_ecc = to_gpu.ecc;
  if (from.hypervisor == core::Hypervisor::kVsphere)
    q.hotmigrate = from.hotmigrate && to.hotmigrate;
  if (from.hypervisor != to.hypervisor) return "source and destination run different hypervisors";
  if (from.hypervisor == core::Hypervisor::kKvm && (!from.hotmigrate || !to.hotmigrate)) {
    return StrCat("live migration is disabled on ", !from.hotmigrate ? from.name : to.name);
  }
  absl::StatusOr<core::CompatReport> r = core::CheckMigration(catalog, q);
  if (!r.ok()) return std::string(ToStd(r.status().message()));
  for (const core::Finding& f : r->findings) {
    if (f.verdict == core::Verdict::kFail) return StrCat(f.rule, ": ", f.reason);
  }
  return std::nullopt;
}

bool EccOf(const Cluster& cluster, int host, int vm) {
  for (const Gpu& g : cluster.hosts[static_cast<std::size_t>(host)].gpus) {
    if (g.passthrough_vm == vm) return g.ecc;
    for (const Instance& i : g.instances) {
      if (i.vm == vm) return g.ecc;
    }
  }
  return false;
}

MoveOutcome MoveVm(Cluster& work, Placer& placer, int vm_index, int from_host,
                   const std::vector<const core::VgpuType*>& types, const MoveRules& rules) {
  MoveOutcome out;
  Vm& vm = work.vms[static_cast<std::size_t>(vm_index)];
  if (types.empty() && rules.live) {
    out.reason =
        "a pass-through GPU cannot be live-migrated; power the VM off and start it on "
        "another host";
    return out;
  }
  // The VM keeps its types: plan it as if it asked for exactly them (only its requirement is
  // swapped, and swapped back before returning).
  Requirement pinned;
  pinned.type = types.empty() ? nullptr : types.front();
  if (types.empty()) {
    pinned.passthrough = true;
    pinned.boards = vm.need.boards;
  }
  std::swap(vm.need, pinned);
  struct Restore {
    Vm& vm;
    Requirement& need;
    ~Restore() { std::swap(vm.need, need); }
  } restore{vm, pinned};
  const Vm& saved = vm;  // guest driver, live-migratable: unchanged by the swap
  const Host& from = work.hosts[static_cast<std::size_t>(from_host)];
  Gpu from_gpu;
  from_gpu.ecc = rules.from_ecc;
  std::vector<std::string> refusals;
  std::vector<int> refused_hosts;  // excluded here, included again before returning
  for (std::size_t attempt = 0; attempt <= work.hosts.size(); ++attempt) {
    Decision d = placer.Decide(work, vm_index);
    if (!d.assignment) {
      out.reason = refusals.empty() ? d.explanation
                                    : StrCat(d.explanation, "; refused: ", StrJoin(refusals, "; "));
      break;
    }
    const Host& to = work.hosts[static_cast<std::size_t>(d.assignment->host)];
    const Gpu& to_gpu = to.gpus[static_cast<std::size_t>(d.assignment->gpus.front())];
    std::optional<std::string> blocker =
        types.empty()
            ? std::nullopt
            : MoveBlocker(work, saved, from, from_gpu, to, to_gpu, *types.front(), rules.live);
    if (!blocker && rules.live && rules.stun_budget_seconds) {
      // Over budget on this link; a destination with a faster link may still be within it.
      int fb = 0;
      for (const core::VgpuType* t : types) fb += t->framebuffer_mib;
      const double stun =
          EstimateStunSeconds(fb, std::min(from.link_gbps.value_or(10), to.link_gbps.value_or(10)));
      if (stun > *rules.stun_budget_seconds) {
        blocker = StrCat("estimated stun time ", std::lround(stun), " s exceeds the budget of ",
                         std::lround(*rules.stun_budget_seconds), " s");
      }
    }
    if (!blocker) {
      placer.Commit(work, *d.assignment, rules.what_if);
      out.assignment = *d.assignment;
      break;
    }
    refusals.push_back(StrCat(to.name, ": ", *blocker));
    if (!placer.excluded(d.assignment->host)) {
      placer.Exclude(d.assignment->host);
      refused_hosts.push_back(d.assignment->host);
    }
  }
  for (int h : refused_hosts) placer.Include(h);
  return out;
}

}  // namespace internal

EvacuationResult Evacuate(const Cluster& cluster, int host_index, const EvacuateOptions& options) {
  EvacuationResult result;
  result.cluster = cluster;
  Cluster& work = result.cluster;
  work.hosts[static_cast<std::size_t>(host_index)].state = HostState::kMaintenance;
  internal::Placer placer(work, options.place);
  internal::EvacuateHost(work, placer, host_index, options, /*keep=*/true, result);
  return result;
}

}  // namespace gpufleet::planner
