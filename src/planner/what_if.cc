// Evacuation and failure what-ifs on a live placement engine: each VM is taken off its host,
// placed elsewhere through the index, and (for a what-if) put back exactly where it was, so one
// engine answers many questions without copying or rescanning the cluster.

#include <algorithm>
#include <tuple>

#include "common/strings.h"
#include "planner/moves.h"

namespace gpufleet::planner::internal {
namespace {

int FramebufferOf(const std::vector<const core::VgpuType*>& types) {
  int sum = 0;
  for (const core::VgpuType* t : types) sum += t->framebuffer_mib;
  return sum;
}

}  // namespace

std::vector<HostVm> VmsOnHost(const Cluster& cluster, const Placer& placer, int host,
                              VmOrder order) {
  std::vector<HostVm> vms;
  const Host& h = cluster.hosts[static_cast<std::size_t>(host)];
  auto add = [&](int vm) {
    if (std::any_of(vms.begin(), vms.end(), [vm](const HostVm& x) { return x.vm == vm; })) return;
    HostVm v;
    v.vm = vm;
    v.was = placer.CurrentAssignment(cluster, vm);
    for (const core::VgpuType* t : v.was.types) {
      if (t != nullptr) v.types.push_back(t);
    }
    if (!v.was.gpus.empty()) v.ecc = h.gpus[static_cast<std::size_t>(v.was.gpus.front())].ecc;
    vms.push_back(std::move(v));
  };
  for (const Gpu& gpu : h.gpus) {
    if (gpu.passthrough_vm >= 0) add(gpu.passthrough_vm);
    for (const Instance& i : gpu.instances) add(i.vm);
  }
  auto key = [order](const HostVm& v) {
    const bool pt = v.types.empty();
    const int n = static_cast<int>(v.types.size());
    if (order == VmOrder::kEvacuation) {
      return std::make_tuple(-n, -(pt ? 1 << 30 : FramebufferOf(v.types)), v.vm);
    }
    return std::make_tuple(-(pt ? 1 << 20 : n), -(pt ? 1 << 30 : FramebufferOf(v.types)), v.vm);
  };
  std::sort(vms.begin(), vms.end(),
            [&](const HostVm& a, const HostVm& b) { return key(a) < key(b); });
  return vms;
}

// Explanations of successful placements are not needed inside a what-if; restored on exit.
class QuietPlacements {
 public:
  explicit QuietPlacements(Placer& placer) : placer_(placer), was_(placer.explain_placements()) {
    placer_.set_explain_placements(false);
  }
  ~QuietPlacements() { placer_.set_explain_placements(was_); }
  QuietPlacements(const QuietPlacements&) = delete;
  QuietPlacements& operator=(const QuietPlacements&) = delete;

 private:
  Placer& placer_;
  bool was_;
};

// The reserve (Placer::set_reserve) is for VMs arriving one at a time; a what-if moves a known
// set of VMs, which the reserve would only spread over more GPUs. Restored on exit.
class NoReserve {
 public:
  explicit NoReserve(Placer& placer) : placer_(placer), was_(placer.reserve()) {
    placer_.set_reserve(false);
  }
  ~NoReserve() { placer_.set_reserve(was_); }
  NoReserve(const NoReserve&) = delete;
  NoReserve& operator=(const NoReserve&) = delete;

 private:
  Placer& placer_;
  bool was_;
};

void EvacuateHost(Cluster& work, Placer& placer, int host, const EvacuateOptions& options,
                  bool keep, EvacuationResult& result) {
  NoReserve no_reserve(placer);
  const std::vector<HostVm> vms = VmsOnHost(work, placer, host, VmOrder::kEvacuation);
  const bool was_excluded = placer.excluded(host);
  if (!was_excluded) placer.Exclude(host, "in maintenance");
  QuietPlacements quiet(placer);
  const Host& from = work.hosts[static_cast<std::size_t>(host)];
  // keep: each VM really moves (off the host, then on its new GPUs). A what-if leaves every VM on
  // the host (excluded, so its GPUs are never offered) and adds a provisional copy where it would
  // go, removed at the end.
  std::vector<Assignment> provisional;
  for (const HostVm& v : vms) {
    if (keep) placer.Remove(work, v.vm);
    MoveRules rules{true, v.ecc, options.stun_budget_seconds, !keep};
    MoveOutcome m = MoveVm(work, placer, v.vm, host, v.types, rules);
    if (!m.assignment) {
      result.stuck.push_back({v.vm, m.reason});
      if (keep) placer.Commit(work, v.was);  // it stays where it was
      continue;
    }
    const int link =
        std::min(from.link_gbps.value_or(10),
                 work.hosts[static_cast<std::size_t>(m.assignment->host)].link_gbps.value_or(10));
    result.moves.push_back(
        {v.vm, host, *m.assignment,
         EstimateStunSeconds(v.types.empty() ? 0 : FramebufferOf(v.types), link)});
    if (!keep) provisional.push_back(*m.assignment);
  }
  for (auto it = provisional.rbegin(); it != provisional.rend(); ++it) {
    placer.Remove(work, it->vm, Location{it->host, it->gpus}, /*what_if=*/true);
  }
  if (!was_excluded) placer.Include(host);
}

HostFailure SimulateFailure(Cluster& work, Placer& placer, int host) {
  NoReserve no_reserve(placer);
  HostFailure failure;
  failure.host = host;
  const std::vector<HostVm> vms = VmsOnHost(work, placer, host, VmOrder::kRestart);
  failure.vms = static_cast<int>(vms.size());
  const bool was_excluded = placer.excluded(host);
  if (!was_excluded) placer.Exclude(host, "down");
  QuietPlacements quiet(placer);
  // The VMs stay on the failed host (excluded: its GPUs are never offered); each restart is a
  // provisional copy elsewhere, removed at the end.
  std::vector<Assignment> provisional;
  for (const HostVm& v : vms) {
    MoveOutcome m = MoveVm(work, placer, v.vm, host, v.types, {false, v.ecc, std::nullopt, true});
    if (m.assignment) {
      provisional.push_back(*m.assignment);
      continue;
    }
    failure.cannot_restart.push_back({v.vm, m.reason});
    if (v.types.empty()) {
      ++failure.missing_by_type["pass-through GPU"];
    } else {
      for (const core::VgpuType* t : v.types) ++failure.missing_by_type[t->name];
    }
  }
  for (auto it = provisional.rbegin(); it != provisional.rend(); ++it) {
    placer.Remove(work, it->vm, Location{it->host, it->gpus}, /*what_if=*/true);
  }
  if (!was_excluded) placer.Include(host);
  return failure;
}

MovePlan PlanVmMove(Cluster& work, Placer& placer, int vm, int to_host, bool live) {
  MovePlan out;
  const int from = placer.LocationOf(vm).host;
  if (from < 0) {
    out.reason = "the VM is not placed";
    return out;
  }
  if (to_host == from) {
    out.reason = StrCat("the VM already runs on ", work.hosts[static_cast<std::size_t>(from)].name);
    return out;
  }
  const Assignment was = placer.CurrentAssignment(work, vm);
  std::vector<const core::VgpuType*> types;
  for (const core::VgpuType* t : was.types) {
    if (t != nullptr) types.push_back(t);
  }
  const Host& from_host = work.hosts[static_cast<std::size_t>(from)];
  const bool ecc =
      !was.gpus.empty() && from_host.gpus[static_cast<std::size_t>(was.gpus.front())].ecc;
  // The VM's own host, and with a destination every other host, are ruled out silently (the
  // what-if copy must land elsewhere); exclusions made here are lifted before returning.
  std::vector<int> excluded_here;
  auto exclude = [&](int h) {
    if (placer.excluded(h)) return;
    placer.Exclude(h);
    excluded_here.push_back(h);
  };
  exclude(from);
  if (to_host >= 0) {
    for (int h = 0; h < static_cast<int>(work.hosts.size()); ++h) {
      if (h != to_host) exclude(h);
    }
  }
  {
    QuietPlacements quiet(placer);
    NoReserve no_reserve(placer);
    MoveOutcome m = MoveVm(work, placer, vm, from, types, {live, ecc, std::nullopt, true});
    if (m.assignment) {
      const int link =
          std::min(from_host.link_gbps.value_or(10),
                   work.hosts[static_cast<std::size_t>(m.assignment->host)].link_gbps.value_or(10));
      out.move =
          Move{vm, from, *m.assignment,
               live ? EstimateStunSeconds(types.empty() ? 0 : FramebufferOf(types), link) : 0.0};
      placer.Remove(work, vm, Location{m.assignment->host, m.assignment->gpus}, /*what_if=*/true);
    } else {
      out.reason = m.reason;
    }
  }
  for (int h : excluded_here) placer.Include(h);
  return out;
}

}  // namespace gpufleet::planner::internal
