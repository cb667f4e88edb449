// The Hypervisor side of the simulated cluster: VMs, their licenses, and live migration.

#include <algorithm>

#include "backends/sim/geometry.h"
#include "backends/sim/sim_cluster.h"
#include "common/strings.h"
#include "core/type_name.h"
#include "core/version.h"
#include "planner/planner.h"

namespace gpufleet::backends::sim {
namespace {

using internal::SimGpu;
using internal::SimInstance;

absl::Status Refuse(const std::string& why) { return absl::FailedPreconditionError(why); }

// How the hypervisor names a type in its messages: the vSphere profile, or NVIDIA's name.
std::string Profile(const core::VgpuType& type, bool vsphere) {
  if (!vsphere) return type.name;
  absl::StatusOr<core::TypeName> name = core::ParseTypeName(type.name);
  return name.ok() ? name->VmwareProfile() : type.name;
}

// The refusal when the managers cannot exchange vGPU VMs, or OK (unknown versions pass).
absl::Status CheckManagers(const std::string& src, const std::string& dst, bool vsphere) {
  absl::StatusOr<core::DriverVersion> a = core::DriverVersion::Parse(src);
  absl::StatusOr<core::DriverVersion> b = core::DriverVersion::Parse(dst);
  if (!a.ok() || !b.ok()) return absl::OkStatus();
  if (a->branch() != b->branch()) {
    return Refuse(StrCat("vGPU manager driver branch differs: source R", a->branch(), " (", src,
                         "), destination R", b->branch(), " (", dst,
                         "); vGPU migration needs compatible vGPU managers"));
  }
  if (!vsphere && *a != *b) {
    return Refuse(StrCat("vGPU manager versions differ: source ", src, ", destination ", dst,
                         "; on KVM vGPU migration needs identical vGPU manager versions"));
  }
  return absl::OkStatus();
}

}  // namespace

void SimCluster::StartLicense(SimVm& vm, absl::Time now) {
  if (vm.edition.empty()) return;
  (void)license_.Acquire(vm.name, vm.edition, now);
  vm.next_license_attempt = now + license_.spec().renewal;
}

void SimCluster::AdvanceLicenses(absl::Time now) {
  const absl::Duration renewal = license_.spec().renewal;
  for (SimVm& vm : vms_) {
    if (!vm.running || !vm.next_license_attempt || *vm.next_license_attempt > now) continue;
    // The server's state has been the same since the last sync, so of the attempts due only the
    // last one matters: it renews (or acquires) if the server is up, and none did otherwise.
    absl::Duration rest;
    const int64_t missed = renewal > absl::ZeroDuration()
                               ? absl::IDivDuration(now - *vm.next_license_attempt, renewal, &rest)
                               : 0;
    const absl::Time last = *vm.next_license_attempt + renewal * missed;
    (void)license_.Acquire(vm.name, vm.edition, last);
    vm.next_license_attempt = last + std::max(renewal, absl::Seconds(1));
  }
}

void SimCluster::StopVmLocked(SimVm& vm, bool clean) {
  vm.running = false;
  vm.next_license_attempt.reset();
  // A clean shutdown returns the lease; a crash leaves it held until it expires.
  if (clean) license_.Release(vm.name);
  if (SimHost* host = FindHost(vm.host)) {
    for (SimGpu& gpu : host->gpus) {
      for (SimInstance& i : gpu.instances) {
        if (i.vm == vm.name) i.active = false;
      }
    }
  }
}

absl::StatusOr<std::vector<GuestVm>> SimCluster::ListVms(std::string_view host) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  const absl::Time now = clock_.Now();
  std::vector<GuestVm> out;
  for (const SimVm& vm : vms_) {
    if (vm.host != host) continue;
    GuestVm guest{vm.name, vm.running, {}, std::nullopt};
    for (const SimGpu& gpu : (*h)->gpus) {
      for (const SimInstance& i : gpu.instances) {
        if (i.vm == vm.name) guest.vgpus.push_back(i.uuid);
      }
    }
    if (!vm.edition.empty()) {
      std::optional<absl::Time> expiry = license_.ExpiryOf(vm.name, now);
      guest.license = GuestLicense{vm.edition, vm.running && expiry.has_value(), expiry};
    }
    out.push_back(std::move(guest));
  }
  return out;
}

absl::Status SimCluster::StartVm(std::string_view host, const std::string& vm,
                                 const std::vector<Uuid>& vgpus) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  SimVm* v = FindVm(vm);
  if (v != nullptr && v->running) {
    if (v->host == host) return absl::OkStatus();
    return Refuse(StrCat("domain '", vm, "' is already running on host ", v->host));
  }
  std::vector<SimInstance*> attach;
  for (const Uuid& uuid : vgpus) {
    SimInstance* found = nullptr;
    for (SimGpu& gpu : (*h)->gpus) {
      for (SimInstance& i : gpu.instances) {
        if (i.uuid == uuid) found = &i;
      }
      if (found != nullptr && gpu.lost) {
        return absl::UnavailableError(StrCat("GPU ", gpu.id, " has fallen off the bus (Xid 79)"));
      }
    }
    if (found == nullptr) {
      return absl::NotFoundError(StrCat("mediated device ", uuid.ToString(), " not found"));
    }
    if (found->gone_at || (found->active && found->vm != vm)) {
      return Refuse(StrCat("mediated device ", uuid.ToString(), " is in use by another domain"));
    }
    attach.push_back(found);
  }
  if (v == nullptr) {
    vms_.push_back(SimVm{vm, std::string(host), false, "", 0, "", std::nullopt});
    v = &vms_.back();
  }
  v->host = std::string(host);
  for (SimInstance* i : attach) {
    i->vm = vm;
    i->active = true;
    if (v->edition.empty()) {
      const core::Edition* edition = catalog_.EditionForSeries(i->type->series);
      if (edition != nullptr) v->edition = edition->id;
    }
  }
  v->running = true;
  StartLicense(*v, clock_.Now());
  return absl::OkStatus();
}

absl::Status SimCluster::StopVm(std::string_view host, const std::string& vm) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  SimVm* v = FindVm(vm);
  if (v == nullptr || v->host != host) {
    return absl::NotFoundError(StrCat("domain '", vm, "' not found on host ", host));
  }
  if (v->running) StopVmLocked(*v, /*clean=*/true);
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> SimCluster::MigrateVm(std::string_view host, const std::string& vm,
                                                     const std::string& destination) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  SimHost& src = **h;
  SimVm* v = FindVm(vm);
  if (v == nullptr || v->host != host) {
    return absl::NotFoundError(StrCat("domain '", vm, "' not found on host ", host));
  }
  if (!v->running) return Refuse("Requested operation is not valid: domain is not running");
  absl::StatusOr<SimHost*> d = HostLocked(destination, true);
  if (!d.ok()) return d.status();
  SimHost& dst = **d;
  if (&dst == &src) return absl::InvalidArgumentError("the destination is the VM's own host");
  const bool vsphere = src.hypervisor == "vsphere";
  if (src.hypervisor != dst.hypervisor) {
    return Refuse(StrCat("hosts ", src.name, " (", src.hypervisor, ") and ", dst.name, " (",
                         dst.hypervisor, ") run different hypervisors"));
  }
  if (!src.hotmigrate || !dst.hotmigrate) {
    const std::string& off = src.hotmigrate ? dst.name : src.name;
    if (vsphere) {
      return Refuse(StrCat("vMotion of vGPU VMs is disabled (host ", off,
                           "): vgpu.hotmigrate.enabled is false"));
    }
    return Refuse(
        StrCat("Requested operation is not valid: domain has assigned non-USB host "
               "devices (vGPU migration is disabled on host ",
               off, ")"));
  }
  if (absl::Status s = CheckManagers(src.vgpu_manager, dst.vgpu_manager, vsphere); !s.ok()) {
    return s;
  }

  // The KVM way: the destination's agent created the VM's mediated devices (same UUIDs) before
  // the migration; the VM moves onto them. When none exist there, the simulator places them
  // itself, as vMotion does.
  std::vector<std::pair<const SimGpu*, const SimInstance*>> mine;
  for (const SimGpu& from : src.gpus) {
    for (const SimInstance& i : from.instances) {
      if (i.vm == vm && !i.gone_at) mine.emplace_back(&from, &i);
    }
  }
  std::vector<std::pair<SimGpu*, SimInstance*>> ready;
  for (const auto& [from, i] : mine) {
    for (SimGpu& g : dst.gpus) {
      for (SimInstance& j : g.instances) {
        if (j.uuid != i->uuid) continue;
        if (j.gone_at || (j.active && j.vm != vm)) {
          return Refuse(StrCat("mediated device ", j.uuid.ToString(), " on host ", dst.name,
                               " is in use by another domain"));
        }
        if (g.lost) {
          return absl::UnavailableError(
              StrCat("GPU ", g.id, " of host ", dst.name, " has fallen off the bus (Xid 79)"));
        }
        if (j.type != i->type || g.board != from->board) {
          return Refuse(StrCat("mediated device ", j.uuid.ToString(), " on host ", dst.name,
                               " is a ", j.type->name, ", not the ", i->type->name,
                               " the domain uses"));
        }
        if (g.ecc != from->ecc) {
          return Refuse(StrCat("ECC differs: source GPU ", from->id, " has ECC ",
                               from->ecc ? "enabled" : "disabled", ", GPU ", g.id, " of host ",
                               dst.name, " does not"));
        }
        ready.emplace_back(&g, &j);
      }
    }
  }
  if (!ready.empty()) {
    if (ready.size() != mine.size()) {
      return absl::UnavailableError(StrCat("host ", dst.name, " has ", ready.size(), " of the ",
                                           mine.size(), " mediated devices of domain '", vm,
                                           "'; retry once all exist"));
    }
    int framebuffer_mib = 0;
    for (auto& [g, j] : ready) {
      j->vm = vm;
      j->active = true;
      framebuffer_mib += j->type->framebuffer_mib;
    }
    for (SimGpu& from : src.gpus) {
      std::erase_if(from.instances, [&](const SimInstance& i) { return i.vm == vm && !i.gone_at; });
      internal::ForgetCarving(from);
    }
    v->host = dst.name;
    return absl::Seconds(
        planner::EstimateStunSeconds(framebuffer_mib, std::min(src.link_gbps, dst.link_gbps)));
  }

  // Place the VM's vGPUs on a copy of the destination's GPUs; commit only if all fit.
  std::vector<SimGpu> trial = dst.gpus;
  std::vector<std::pair<SimGpu*, Uuid>> moved;
  int framebuffer_mib = 0;
  for (SimGpu& from : src.gpus) {
    for (const SimInstance& i : from.instances) {
      if (i.vm != vm || i.gone_at) continue;
      framebuffer_mib += i.type->framebuffer_mib;
      const std::string profile = Profile(*i.type, vsphere);
      bool board = false, ecc = false;
      std::string why;
      SimGpu* to = nullptr;
      for (SimGpu& g : trial) {
        if (g.lost || g.board != from.board) continue;
        board = true;
        if (g.ecc != from.ecc) continue;
        ecc = true;
        const bool taken =
            std::any_of(moved.begin(), moved.end(), [&](const auto& m) { return m.first == &g; });
        absl::StatusOr<int> fit = taken
                                      ? absl::ResourceExhaustedError("holds another vGPU")
                                      : internal::FitInstance(g, *i.type, -1, GeometryOf(*g.board));
        if (fit.ok()) {
          internal::AddInstance(g, SimInstance{i.uuid, i.type, *fit, vm, true, std::nullopt});
          to = &g;
          break;
        }
        why = std::string(ToStd(fit.status().message()));
      }
      if (!board) {
        return Refuse(
            StrCat("host ", dst.name, " has no ", from.board->name, " GPU for vGPU ", profile));
      }
      if (!ecc) {
        return Refuse(StrCat("ECC differs: source GPU ", from.id, " has ECC ",
                             from.ecc ? "enabled" : "disabled", ", no ", from.board->name,
                             " on host ", dst.name, " has the same setting"));
      }
      if (to == nullptr) {
        return Refuse(StrCat("host ", dst.name, " has no compatible free slot for vGPU ", profile,
                             ": ", why));
      }
      moved.emplace_back(to, i.uuid);
    }
  }
  dst.gpus = std::move(trial);
  for (SimGpu& from : src.gpus) {
    std::erase_if(from.instances, [&](const SimInstance& i) { return i.vm == vm && !i.gone_at; });
    internal::ForgetCarving(from);
  }
  v->host = dst.name;
  const double stun =
      planner::EstimateStunSeconds(framebuffer_mib, std::min(src.link_gbps, dst.link_gbps));
  return absl::Seconds(stun);
}

absl::StatusOr<GuestCapabilities> SimCluster::Guest(std::string_view vm) {
  std::lock_guard lock(mu_);
  SyncLocked();
  SimVm* v = FindVm(vm);
  if (v == nullptr) return absl::NotFoundError(StrCat("no simulated VM \"", vm, "\""));
  const core::VgpuType* type = nullptr;
  if (SimHost* host = FindHost(v->host)) {
    for (const SimGpu& gpu : host->gpus) {
      for (const SimInstance& i : gpu.instances) {
        if (i.vm == v->name) type = i.type;
      }
    }
  }
  GuestCapabilities caps;
  caps.edition = v->edition;
  caps.licensed = v->running && license_.ExpiryOf(v->name, clock_.Now()).has_value();
  const core::Edition* edition = catalog_.FindEdition(v->edition);
  if (caps.licensed) {
    caps.frame_rate_limit_fps = type != nullptr ? type->frame_rate_limit_fps : std::nullopt;
    caps.cuda = type != nullptr && type->cuda && (edition == nullptr || edition->cuda);
  } else {
    caps.frame_rate_limit_fps = catalog_.unlicensed().frame_rate_fps;
    caps.cuda = type != nullptr && type->cuda && catalog_.unlicensed().cuda;
  }
  return caps;
}

std::map<std::string, PoolUsage> SimCluster::LicenseUsage() {
  std::lock_guard lock(mu_);
  SyncLocked();
  return license_.Usage(clock_.Now());
}

}  // namespace gpufleet::backends::sim
