// The placement engine's state: usage per host, where each VM runs, license seats, and the GPU
// index, kept in step with the cluster by Commit and Remove.

#include <algorithm>

#include "planner/placer.h"

namespace gpufleet::planner::internal {

Placer::Placer(const Cluster& cluster, const PlaceOptions& options, bool use_index)
    : catalog_(cluster.catalog ? cluster.catalog : &core::Catalog::Embedded()),
      options_(options),
      use_index_(use_index) {
  hosts_.resize(cluster.hosts.size());
  where_.resize(cluster.vms.size());
  auto note = [&](int vm, int h, int g) {
    if (vm < 0 || static_cast<std::size_t>(vm) >= where_.size()) return;
    Location& loc = where_[static_cast<std::size_t>(vm)];
    if (loc.host < 0) loc.host = h;
    if (loc.host == h && std::find(loc.gpus.begin(), loc.gpus.end(), g) == loc.gpus.end()) {
      loc.gpus.push_back(g);
    }
  };
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    const Host& host = cluster.hosts[h];
    for (std::size_t g = 0; g < host.gpus.size(); ++g) {
      const Gpu& gpu = host.gpus[g];
      if (gpu.board != nullptr) ++board_gpus_[gpu.board];
      if (gpu.passthrough_vm >= 0)
        note(gpu.passthrough_vm, static_cast<int>(h), static_cast<int>(g));
      for (const Instance& i : gpu.instances) note(i.vm, static_cast<int>(h), static_cast<int>(g));
    }
  }
  for (std::size_t vm = 0; vm < where_.size(); ++vm) {
    const Location& loc = where_[vm];
    if (loc.host < 0) continue;
    Track(static_cast<int>(vm), cluster, loc, +1);
    const Gpu& gpu = cluster.hosts[static_cast<std::size_t>(loc.host)]
                         .gpus[static_cast<std::size_t>(loc.gpus.front())];
    const core::VgpuType* type = nullptr;
    for (const Instance& i : gpu.instances) {
      if (i.vm == static_cast<int>(vm)) type = i.type;
    }
    ++seats_used_[EditionOf(cluster.vms[vm], type)];
  }
  if (use_index_) {
    for (std::size_t h = 0; h < cluster.hosts.size(); ++h)
      IndexHost(cluster, static_cast<int>(h), true);
  }
}

void Placer::Track(int vm_index, const Cluster& cluster, const Location& loc, int sign) {
  const Vm& vm = cluster.vms[static_cast<std::size_t>(vm_index)];
  HostUsage& u = hosts_[static_cast<std::size_t>(loc.host)];
  u.cpus += sign * vm.cpus;
  u.memory_gib += sign * vm.memory_gib;
  u.vms += sign;
  if (!vm.anti_affinity.empty()) {
    int& n = u.groups[vm.anti_affinity];
    n += sign;
    if (n <= 0) u.groups.erase(vm.anti_affinity);
  }
}

const Location& Placer::LocationOf(int vm) const {
  static const Location kNowhere;
  const auto i = static_cast<std::size_t>(vm);
  return i < where_.size() ? where_[i] : kNowhere;
}

Assignment Placer::CurrentAssignment(const Cluster& cluster, int vm) const {
  const Location& loc = LocationOf(vm);
  Assignment a;
  a.vm = vm;
  a.host = loc.host;
  if (loc.host < 0) return a;
  const Host& host = cluster.hosts[static_cast<std::size_t>(loc.host)];
  for (int g : loc.gpus) {
    const Gpu& gpu = host.gpus[static_cast<std::size_t>(g)];
    if (gpu.passthrough_vm == vm) {
      a.gpus.push_back(g);
      a.types.push_back(nullptr);
      a.fits.push_back(Fit{GpuMode::kPassthrough, -1});
      continue;
    }
    for (const Instance& i : gpu.instances) {
      if (i.vm != vm) continue;
      a.gpus.push_back(g);
      a.types.push_back(i.type);
      a.fits.push_back(Fit{gpu.mode, i.placement});
    }
  }
  return a;
}

void Placer::Remove(Cluster& cluster, int vm, const std::optional<Location>& location,
                    bool what_if) {
  const Location loc = location ? *location : LocationOf(vm);
  if (loc.host < 0 || loc.gpus.empty()) return;
  HostUsage& u = hosts_[static_cast<std::size_t>(loc.host)];
  // The host's last VM moves its empty GPUs from tier 1 back to tier 2 (under spread, every VM
  // moves the host's keys).
  const bool last_vm = KeysFollowHost(u, false);
  if (use_index_) {
    if (last_vm) {
      IndexHost(cluster, loc.host, false);
    } else {
      for (int g : loc.gpus) IndexGpu(cluster, loc.host, g, false);
    }
  }
  const core::VgpuType* type = nullptr;
  Host& host = cluster.hosts[static_cast<std::size_t>(loc.host)];
  for (int g : loc.gpus) {
    Gpu& gpu = host.gpus[static_cast<std::size_t>(g)];
    if (gpu.passthrough_vm == vm) gpu.passthrough_vm = -1;
    for (const Instance& i : gpu.instances) {
      if (i.vm == vm && type == nullptr) type = i.type;
    }
    std::erase_if(gpu.instances, [vm](const Instance& i) { return i.vm == vm; });
  }
  Track(vm, cluster, loc, -1);
  if (!what_if) {
    int& seats = seats_used_[EditionOf(cluster.vms[static_cast<std::size_t>(vm)], type)];
    seats = std::max(0, seats - 1);
    if (static_cast<std::size_t>(vm) < where_.size() &&
        where_[static_cast<std::size_t>(vm)].host == loc.host) {
      where_[static_cast<std::size_t>(vm)] = Location{};
    }
  }
  if (use_index_) {
    if (last_vm) {
      IndexHost(cluster, loc.host, true);
    } else {
      for (int g : loc.gpus) IndexGpu(cluster, loc.host, g, true);
    }
  }
}

void Placer::IndexHost(const Cluster& cluster, int host, bool add) {
  const Host& h = cluster.hosts[static_cast<std::size_t>(host)];
  for (std::size_t g = 0; g < h.gpus.size(); ++g) IndexGpu(cluster, host, static_cast<int>(g), add);
}

void Placer::IndexGpu(const Cluster& cluster, int host, int gpu_index, bool add) {
  const Gpu& gpu =
      cluster.hosts[static_cast<std::size_t>(host)].gpus[static_cast<std::size_t>(gpu_index)];
  if (gpu.board == nullptr || gpu.held) return;
  boards_.insert(gpu.board);
  auto update = [add](std::set<Key>& set, const Key& key) {
    add ? (void)set.insert(key) : (void)set.erase(key);
  };
  const int n = static_cast<int>(gpu.instances.size());
  // The policy's parts of the keys (placer.h, Key); the host's as of now, so a caller that
  // changes the host's VM count takes the GPUs out first (KeysFollowHost).
  const int vms = std::min(hosts_[static_cast<std::size_t>(host)].vms, kSpan - 1);
  const int tier = vms > 0 ? 1 : 2;
  int partial_order = 0, mig_order = 0, empty_order = tier;
  switch (options_.policy) {
    case Policy::kFragmentationAware:
      break;
    case Policy::kConsolidate:
      mig_order = tier - 1;
      partial_order = tier - 1;  // plus the free instances below
      break;
    case Policy::kSpread:
      mig_order = empty_order = vms;
      partial_order = std::min(n, 2047) * kSpan + vms;
      break;
  }
  // In-use MIG and mixed-size GPUs: in the group of their exact layout.
  auto group = [&](std::map<MigLayout, MigGroup>& groups) {
    MigLayout layout;
    for (const Instance& i : gpu.instances) layout.emplace_back(i.type, i.placement);
    std::sort(layout.begin(), layout.end());
    auto it = groups.try_emplace(std::move(layout)).first;
    update(it->second.gpus, {mig_order, host, gpu_index});
    if (it->second.gpus.empty()) groups.erase(it);
  };
  if (gpu.mode == GpuMode::kMixedSize) {
    if (n > 0) {
      group(mixed_[gpu.board]);
    } else if (gpu.passthrough_vm < 0) {
      update(empty_mixed_[gpu.board], {empty_order, host, gpu_index});
      if (options_.policy == Policy::kSpread)
        update(passthrough_free_[gpu.board], {tier, host, gpu_index});
    }
    return;
  }
  if (gpu.mode == GpuMode::kEqualSize && gpu.carved != nullptr && n > 0 &&
      n < gpu.carved->max_instances) {
    const int free = gpu.carved->max_instances - n;
    if (options_.policy == Policy::kFragmentationAware) partial_order = free;
    if (options_.policy == Policy::kConsolidate) partial_order += free * kSpan;
    update(partial_[gpu.carved], {partial_order, host, gpu_index});
    partial_free_[gpu.carved] += (add ? 1 : -1) * free;
  }
  if (gpu.mode == GpuMode::kMig && n > 0) {
    auto& mix = mig_mix_[gpu.board];
    for (const Instance& i : gpu.instances) {
      if ((mix[i.type] += add ? 1 : -1) == 0) mix.erase(i.type);
    }
    group(mig_[gpu.board]);
  }
  if (n == 0 && gpu.passthrough_vm < 0) {
    if (gpu.mode == GpuMode::kPassthrough) {
      update(passthrough_free_[gpu.board], {tier, host, gpu_index});
    } else {
      update(empty_[{gpu.board, gpu.mode == GpuMode::kMig}], {empty_order, host, gpu_index});
      if (options_.policy == Policy::kSpread)
        update(passthrough_free_[gpu.board], {tier, host, gpu_index});
    }
  }
}

void Placer::Commit(Cluster& cluster, const Assignment& a, bool what_if) {
  HostUsage& u = hosts_[static_cast<std::size_t>(a.host)];
  // Out of the index before the change, back in after; a host's first VM moves its empty GPUs
  // from tier 2 to tier 1 (under spread, every VM moves the host's keys).
  const bool first_vm = KeysFollowHost(u, true);
  if (use_index_) {
    if (first_vm) {
      IndexHost(cluster, a.host, false);
    } else {
      for (int g : a.gpus) IndexGpu(cluster, a.host, g, false);
    }
  }
  Apply(cluster, a);
  const std::size_t vm = static_cast<std::size_t>(a.vm);
  Track(a.vm, cluster, Location{a.host, a.gpus}, +1);
  if (!what_if) {
    if (where_.size() <= vm) where_.resize(vm + 1);
    where_[vm] = Location{a.host, a.gpus};
    ++seats_used_[EditionOf(cluster.vms[vm], a.types.front())];
  }
  if (use_index_) {
    if (first_vm) {
      IndexHost(cluster, a.host, true);
    } else {
      for (int g : a.gpus) IndexGpu(cluster, a.host, g, true);
    }
  }
}

bool Placer::KeysFollowHost(const HostUsage& usage, bool adding) const {
  return options_.policy == Policy::kSpread || usage.vms == (adding ? 0 : 1);
}

}  // namespace gpufleet::planner::internal
