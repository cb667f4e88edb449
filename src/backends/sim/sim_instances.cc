// The VgpuHost side of the simulated cluster: facts, instances, create and remove.

#include <algorithm>

#include "backends/sim/geometry.h"
#include "backends/sim/sim_cluster.h"
#include "common/strings.h"

namespace gpufleet::backends::sim {
namespace {

using internal::SimGpu;
using internal::SimInstance;

// The sysfs file a write goes to, for messages (the KVM layout; vSphere has none but the same
// failure).
std::string CreatePath(const SimGpu& gpu, const core::VgpuType& type) {
  return StrCat("/sys/bus/pci/devices/", gpu.id, "/mdev_supported_types/nvidia-",
                type.mdev_id.value_or(0), "/create");
}

std::string RemovePath(const Uuid& uuid) {
  return StrCat("/sys/bus/mdev/devices/", uuid.ToString(), "/remove");
}

absl::Status Lost(const SimGpu& gpu) {
  return absl::UnavailableError(
      StrCat("GPU ", gpu.id, " has fallen off the bus (Xid 79); reboot the host"));
}

}  // namespace

void SimCluster::FinishTeardowns(absl::Time now) {
  for (SimHost& host : hosts_) {
    for (SimGpu& gpu : host.gpus) {
      const std::size_t erased = std::erase_if(
          gpu.instances, [&](const SimInstance& i) { return i.gone_at && *i.gone_at <= now; });
      if (erased > 0) internal::ForgetCarving(gpu);
    }
  }
}

absl::StatusOr<HostFacts> SimCluster::Facts(std::string_view host) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  HostFacts facts{(*h)->hypervisor, (*h)->vgpu_manager, (*h)->hotmigrate, {}};
  for (const SimGpu& gpu : (*h)->gpus) {
    const bool carved = gpu.mode == GpuMode::kEqualSize && !gpu.instances.empty() && gpu.carved;
    facts.gpus.push_back(PhysicalGpu{gpu.id, gpu.board->name, std::string(GpuModeName(gpu.mode)),
                                     carved ? gpu.carved->name : "", gpu.ecc});
  }
  return facts;
}

absl::StatusOr<std::vector<VgpuInstance>> SimCluster::ListInstances(std::string_view host) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  std::vector<VgpuInstance> out;
  for (const SimGpu& gpu : (*h)->gpus) {
    for (const SimInstance& i : gpu.instances) {
      out.push_back(VgpuInstance{i.uuid, gpu.id, i.type->name, i.placement, i.vm, i.active});
    }
  }
  return out;
}

absl::StatusOr<std::vector<CreatableType>> SimCluster::Creatable(std::string_view host,
                                                                 std::string_view gpu) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  absl::StatusOr<SimGpu*> g = GpuLocked(**h, gpu);
  if (!g.ok()) return g.status();
  if ((*g)->lost) return Lost(**g);
  return internal::CreatableTypes(**g, GeometryOf(*(*g)->board));
}

absl::Status SimCluster::CreateInstance(std::string_view host, const VgpuInstance& instance) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  absl::StatusOr<SimGpu*> g = GpuLocked(**h, instance.gpu);
  if (!g.ok()) return g.status();
  SimGpu& gpu = **g;
  absl::StatusOr<const core::VgpuType*> type = catalog_.ResolveType(instance.type, gpu.board);
  if (!type.ok()) {
    return absl::InvalidArgumentError(StrCat("type \"", instance.type, "\" is not a type of ",
                                             gpu.board->name, ": ",
                                             ToStd(type.status().message())));
  }
  for (const SimGpu& other : (*h)->gpus) {
    for (const SimInstance& i : other.instances) {
      if (i.uuid != instance.uuid) continue;
      const bool same = &other == &gpu && i.type == *type &&
                        (instance.placement < 0 || instance.placement == i.placement);
      if (!same) {
        return absl::AlreadyExistsError(
            StrCat("instance ", i.uuid.ToString(), " exists as ", i.type->name, " on ", other.id,
                   i.placement >= 0 ? StrCat(" at placement ", i.placement) : ""));
      }
      if (i.gone_at) {
        return absl::UnavailableError(
            StrCat("instance ", i.uuid.ToString(), " is being torn down; busy, retry"));
      }
      return absl::OkStatus();
    }
  }
  if (gpu.lost) return Lost(gpu);
  absl::StatusOr<int> fit =
      internal::FitInstance(gpu, **type, instance.placement, GeometryOf(*gpu.board));
  if (!fit.ok()) return fit.status();
  if (absl::Status s = RollSysfs(**h, CreatePath(gpu, **type)); !s.ok()) return s;
  SimGpu before = gpu;
  internal::AddInstance(gpu, SimInstance{instance.uuid, *type, *fit, "", false, std::nullopt});
  return SaveOrRestoreLocked(gpu, std::move(before));
}

absl::Status SimCluster::RemoveInstance(std::string_view host, const Uuid& uuid) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  const absl::Time now = clock_.Now();
  for (SimGpu& gpu : (*h)->gpus) {
    auto it = std::find_if(gpu.instances.begin(), gpu.instances.end(),
                           [&](const SimInstance& i) { return i.uuid == uuid; });
    if (it == gpu.instances.end()) continue;
    if (it->gone_at) {
      return absl::UnavailableError(StrCat("instance ", uuid.ToString(), " is being torn down (",
                                           absl::FormatDuration(*it->gone_at - now),
                                           " left); busy, retry"));
    }
    if (it->active) {
      return absl::FailedPreconditionError(
          StrCat("instance ", uuid.ToString(), " is in use by running VM ", it->vm,
                 "; write to remove failed: Device or resource busy"));
    }
    if (gpu.lost) return Lost(gpu);
    if (absl::Status s = RollSysfs(**h, RemovePath(uuid)); !s.ok()) return s;
    SimGpu before = gpu;
    if (params_.teardown_delay <= absl::ZeroDuration()) {
      gpu.instances.erase(it);
      internal::ForgetCarving(gpu);
      return SaveOrRestoreLocked(gpu, std::move(before));
    }
    it->gone_at = now + params_.teardown_delay;
    if (absl::Status s = SaveOrRestoreLocked(gpu, std::move(before)); !s.ok()) return s;
    return absl::UnavailableError(StrCat("instance ", uuid.ToString(), " is tearing down (",
                                         absl::FormatDuration(params_.teardown_delay),
                                         "); busy, retry"));
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::backends::sim
