// Evacuation and failure what-ifs on a live placement engine: each VM is taken off its host,
// placed elsewhere through the index, and (for a what-if) put back exactly where it was, so one
// engine answers many questions without copying or rescanning the cluster.

#include <algorithm>
#include <tuple>

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

void EvacuateHost(Cluster& work, Placer& placer, int host, const EvacuateOptions& options,
                  bool keep, EvacuationResult& result) {
  const std::vector<HostVm> vms = VmsOnHost(work, placer, host, VmOrder::kEvacuation);
  const bool was_excluded = placer.excluded(host);
  if (!was_excluded) placer.Exclude(host, "in maintenance");
  const Host& from = work.hosts[static_cast<std::size_t>(host)];
  std::vector<const HostVm*> moved;
  for (const HostVm& v : vms) {
    placer.Remove(work, v.vm);
    MoveOutcome m =
        MoveVm(work, placer, v.vm, host, v.types, {true, v.ecc, options.stun_budget_seconds});
    if (!m.assignment) {
      result.stuck.push_back({v.vm, m.reason});
      placer.Commit(work, v.was);  // it stays where it was
      continue;
    }
    const int link =
        std::min(from.link_gbps.value_or(10),
                 work.hosts[static_cast<std::size_t>(m.assignment->host)].link_gbps.value_or(10));
    result.moves.push_back(
        {v.vm, host, *m.assignment,
         EstimateStunSeconds(v.types.empty() ? 0 : FramebufferOf(v.types), link)});
    moved.push_back(&v);
  }
  if (!keep) {
    for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
      placer.Remove(work, (*it)->vm);
      placer.Commit(work, (*it)->was);
    }
  }
  if (!was_excluded) placer.Include(host);
}

HostFailure SimulateFailure(Cluster& work, Placer& placer, int host) {
  HostFailure failure;
  failure.host = host;
  const std::vector<HostVm> vms = VmsOnHost(work, placer, host, VmOrder::kRestart);
  failure.vms = static_cast<int>(vms.size());
  const bool was_excluded = placer.excluded(host);
  if (!was_excluded) placer.Exclude(host, "down");
  // The host is gone: all its VMs leave it before any restarts.
  for (const HostVm& v : vms) placer.Remove(work, v.vm);
  std::vector<int> restarted;
  for (const HostVm& v : vms) {
    MoveOutcome m = MoveVm(work, placer, v.vm, host, v.types, {false, v.ecc, std::nullopt});
    if (m.assignment) {
      restarted.push_back(v.vm);
      continue;
    }
    failure.cannot_restart.push_back({v.vm, m.reason});
    if (v.types.empty()) {
      ++failure.missing_by_type["pass-through GPU"];
    } else {
      for (const core::VgpuType* t : v.types) ++failure.missing_by_type[t->name];
    }
  }
  for (auto it = restarted.rbegin(); it != restarted.rend(); ++it) placer.Remove(work, *it);
  for (auto it = vms.rbegin(); it != vms.rend(); ++it) placer.Commit(work, it->was);
  if (!was_excluded) placer.Include(host);
  return failure;
}

}  // namespace gpufleet::planner::internal
