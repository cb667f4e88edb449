// Construction, time, faults and lookups of the simulated cluster. The backends' calls live in
// sim_instances.cc (vGPU instances), sim_vms.cc (VMs, licenses, migration) and sim_telemetry.cc
// (thermal model, telemetry, BMC).

#include "backends/sim/sim_cluster.h"

#include <algorithm>
#include <set>

#include "backends/sim/geometry.h"
#include "backends/sim/sim_backends.h"
#include "backends/sim/sim_persist.h"
#include "backends/sim/thermal.h"
#include "common/strings.h"
#include "os/durable_file.h"
#include "os/file_system.h"

namespace gpufleet::backends::sim {
namespace {

absl::Status Invalid(std::string_view path, std::string_view why) {
  return absl::InvalidArgumentError(StrCat(path, ": ", why));
}

std::string Path(std::string_view list, std::size_t i, std::string_view field) {
  return StrCat(list, "[", i, "].", field);
}

// FNV-1a, twice with different offsets, for 16 stable bytes.
uint64_t Fnv(std::string_view s, uint64_t h) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

Uuid DerivedUuid(std::string_view vm) {
  std::array<uint8_t, 16> bytes{};
  const uint64_t a = Fnv(vm, 14695981039346656037ULL);
  const uint64_t b = Fnv(vm, a ^ 0x9e3779b97f4a7c15ULL);
  for (int i = 0; i < 8; ++i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<uint8_t>(a >> (8 * i));
    bytes[static_cast<std::size_t>(8 + i)] = static_cast<uint8_t>(b >> (8 * i));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x50);  // version 5 layout: name-based
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);
  return Uuid(bytes);
}

SimCluster::SimCluster(const Scenario& scenario, os::Clock& clock, SimOptions options,
                       const core::Catalog& catalog)
    : clock_(clock),
      catalog_(catalog),
      options_(std::move(options)),
      mixed_size_(scenario.mixed_size),
      params_(scenario.sim),
      synced_(clock.Now()),
      license_(scenario.license_server),
      rng_(scenario.sim.seed) {
  if (!options_.sleep) options_.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  if (!options_.write_file) {
    options_.write_file = [](const std::string& path, std::string_view text) {
      return os::WriteFileDurably(path, text, 0600);
    };
  }
  license_.set_up(!scenario.faults.license_server_down);  // before the guests first ask
}

SimCluster::~SimCluster() = default;

absl::StatusOr<std::unique_ptr<SimCluster>> SimCluster::Create(const Scenario& scenario,
                                                               os::Clock& clock,
                                                               SimOptions options) {
  const core::Catalog& catalog =
      options.catalog != nullptr ? *options.catalog : core::Catalog::Embedded();
  std::unique_ptr<SimCluster> cluster(new SimCluster(scenario, clock, std::move(options), catalog));
  std::lock_guard lock(cluster->mu_);
  if (absl::Status s = cluster->Populate(scenario); !s.ok()) return s;
  if (absl::Status s = cluster->LoadStateLocked(); !s.ok()) return s;
  if (absl::Status s = cluster->ApplyFaults(scenario.faults); !s.ok()) return s;
  // Written at once, so that an unwritable path stops the start, not the first change.
  if (absl::Status s = cluster->SaveLocked(); !s.ok()) return s;
  return cluster;
}

absl::Status SimCluster::Populate(const Scenario& scenario) {
  for (std::size_t h = 0; h < scenario.hosts.size(); ++h) {
    const HostSpec& spec = scenario.hosts[h];
    if (spec.name.empty()) return Invalid(Path("hosts", h, "name"), "required field is missing");
    if (FindHost(spec.name) != nullptr) {
      return Invalid(Path("hosts", h, "name"), StrCat("duplicate host name \"", spec.name, "\""));
    }
    SimHost host;
    host.name = spec.name;
    host.hypervisor = spec.hypervisor;
    host.vgpu_manager = spec.vgpu_manager;
    host.hotmigrate = spec.hotmigrate;
    host.link_gbps = spec.link_gbps;
    host.bmc = spec.bmc;
    host.inlet_c = spec.bmc.inlet_c.value_or(params_.ambient_c);
    for (std::size_t g = 0; g < spec.gpus.size(); ++g) {
      const GpuSpec& gs = spec.gpus[g];
      const std::string path = StrCat(Path("hosts", h, "gpus"), "[", g, "]");
      if (gs.board == nullptr) return Invalid(StrCat(path, ".board"), "required field is missing");
      if (gs.mode == GpuMode::kMig && !gs.board->mig) {
        return Invalid(StrCat(path, ".mode"), StrCat(gs.board->name, " has no MIG"));
      }
      if (gs.mode == GpuMode::kMixedSize && gs.board->mixed_size == false) {
        return Invalid(StrCat(path, ".mode"),
                       StrCat(gs.board->name, " does not support mixed-size vGPU"));
      }
      if (gs.carved != nullptr && gs.carved->board_prefix != gs.board->prefix) {
        return Invalid(StrCat(path, ".carved"),
                       StrCat(gs.carved->name, " is not a type of ", gs.board->name));
      }
      for (const SimGpu& other : host.gpus) {
        if (other.id == gs.id) return Invalid(StrCat(path, ".id"), "duplicate GPU id");
      }
      SimGpu gpu;
      gpu.id = gs.id;
      gpu.board = gs.board;
      gpu.mode = gs.mode;
      gpu.ecc = gs.ecc;
      gpu.carved = gs.carved;
      gpu.tdp_w = gs.tdp_w.value_or(DefaultTdpW(gs.board->prefix));
      gpu.fixed_utilisation = gs.utilisation_pct;
      gpu.temperature_c = host.inlet_c;
      host.gpus.push_back(std::move(gpu));
    }
    hosts_.push_back(std::move(host));
  }
  std::set<Uuid> uuids;
  for (std::size_t v = 0; v < scenario.vms.size(); ++v) {
    const VmSpec& spec = scenario.vms[v];
    if (spec.name.empty()) return Invalid(Path("vms", v, "name"), "required field is missing");
    if (FindVm(spec.name) != nullptr) {
      return Invalid(Path("vms", v, "name"), StrCat("duplicate VM name \"", spec.name, "\""));
    }
    SimHost* host = FindHost(spec.host);
    if (host == nullptr) {
      return Invalid(Path("vms", v, "host"), StrCat("unknown host \"", spec.host, "\""));
    }
    SimVm vm{spec.name, spec.host, false, spec.license, spec.load_pct, spec.guest_driver, {}};
    if (spec.type != nullptr) {
      absl::StatusOr<SimGpu*> gpu = GpuLocked(*host, spec.gpu);
      if (!gpu.ok()) return Invalid(Path("vms", v, "gpu"), ToStd(gpu.status().message()));
      if ((*gpu)->carved != nullptr && (*gpu)->carved != spec.type) {
        return Invalid(Path("vms", v, "type"),
                       StrCat("GPU ", spec.gpu, " is carved for ", (*gpu)->carved->name));
      }
      absl::StatusOr<int> fit =
          internal::FitInstance(**gpu, *spec.type, spec.placement, GeometryOf(*(*gpu)->board));
      if (!fit.ok()) return Invalid(Path("vms", v, "type"), ToStd(fit.status().message()));
      const Uuid uuid = spec.uuid.value_or(DerivedUuid(spec.name));
      if (!uuids.insert(uuid).second) {
        return Invalid(Path("vms", v, "uuid"), StrCat("duplicate UUID ", uuid.ToString()));
      }
      internal::AddInstance(
          **gpu, internal::SimInstance{uuid, spec.type, *fit, spec.name, false, std::nullopt});
      if (vm.edition.empty()) {
        const core::Edition* edition = catalog_.EditionForSeries(spec.type->series);
        if (edition != nullptr) vm.edition = edition->id;
      }
    }
    vms_.push_back(std::move(vm));
    if (spec.running) {
      SimVm& added = vms_.back();
      added.running = true;
      for (SimGpu& gpu : host->gpus) {
        for (internal::SimInstance& i : gpu.instances) i.active |= i.vm == added.name;
      }
      StartLicense(added, clock_.Now());
    }
  }
  return absl::OkStatus();
}

absl::Status SimCluster::ApplyFaults(const FaultSpec& faults) {
  for (std::size_t i = 0; i < faults.lost_gpus.size(); ++i) {
    SimHost* host = FindHost(faults.lost_gpus[i].host);
    if (host == nullptr) return Invalid(Path("faults.lost_gpus", i, "host"), "unknown host");
    absl::StatusOr<SimGpu*> gpu = GpuLocked(*host, faults.lost_gpus[i].gpu);
    if (!gpu.ok())
      return Invalid(Path("faults.lost_gpus", i, "gpu"), ToStd(gpu.status().message()));
    (*gpu)->lost = true;
  }
  for (std::size_t i = 0; i < faults.bmc_unreachable.size(); ++i) {
    SimHost* host = FindHost(faults.bmc_unreachable[i]);
    if (host == nullptr) return Invalid(StrCat("faults.bmc_unreachable[", i, "]"), "unknown host");
    host->bmc_unreachable = true;
  }
  for (std::size_t i = 0; i < faults.sysfs.size(); ++i) {
    SimHost* host = FindHost(faults.sysfs[i].host);
    if (host == nullptr) return Invalid(Path("faults.sysfs", i, "host"), "unknown host");
    host->sysfs_failure_probability = faults.sysfs[i].failure_probability;
    host->sysfs_delay = faults.sysfs[i].delay;
  }
  for (std::size_t i = 0; i < faults.crashed_hosts.size(); ++i) {
    SimHost* host = FindHost(faults.crashed_hosts[i]);
    if (host == nullptr) return Invalid(StrCat("faults.crashed_hosts[", i, "]"), "unknown host");
    host->crashed = true;
    for (SimVm& vm : vms_) {
      if (vm.host == host->name && vm.running) StopVmLocked(vm, /*clean=*/false);
    }
  }
  return absl::OkStatus();
}

template <typename Backend, typename Interface>
static absl::StatusOr<std::unique_ptr<Interface>> NewBackend(
    SimCluster& cluster, std::string_view host, const std::vector<std::string>& names) {
  if (std::find(names.begin(), names.end(), host) == names.end()) {
    return absl::NotFoundError(StrCat("no simulated host \"", host, "\""));
  }
  return std::make_unique<Backend>(cluster, std::string(host));
}

absl::StatusOr<std::unique_ptr<VgpuHost>> SimCluster::NewVgpuHost(std::string_view host) {
  return NewBackend<SimVgpuHost, VgpuHost>(*this, host, HostNames());
}
absl::StatusOr<std::unique_ptr<GpuTelemetry>> SimCluster::NewTelemetry(std::string_view host) {
  return NewBackend<SimTelemetry, GpuTelemetry>(*this, host, HostNames());
}
absl::StatusOr<std::unique_ptr<Bmc>> SimCluster::NewBmc(std::string_view host) {
  return NewBackend<SimBmc, Bmc>(*this, host, HostNames());
}
absl::StatusOr<std::unique_ptr<Hypervisor>> SimCluster::NewHypervisor(std::string_view host) {
  return NewBackend<SimHypervisor, Hypervisor>(*this, host, HostNames());
}

std::vector<std::string> SimCluster::HostNames() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  for (const SimHost& h : hosts_) names.push_back(h.name);
  return names;
}

void SimCluster::SyncLocked() {
  const absl::Time now = clock_.Now();
  if (now > synced_) {
    for (SimHost& host : hosts_) AdvanceThermal(host, now - synced_);
    synced_ = now;
  }
  FinishTeardowns(now);
  AdvanceLicenses(now);
}

SimCluster::SimHost* SimCluster::FindHost(std::string_view host) {
  for (SimHost& h : hosts_) {
    if (h.name == host) return &h;
  }
  return nullptr;
}

absl::StatusOr<SimCluster::SimHost*> SimCluster::HostLocked(std::string_view host, bool answering) {
  SimHost* h = FindHost(host);
  if (h == nullptr) return absl::NotFoundError(StrCat("no simulated host \"", host, "\""));
  if (answering && h->crashed) {
    return absl::UnavailableError(StrCat("host ", host, " does not answer (crashed)"));
  }
  return h;
}

absl::StatusOr<SimCluster::SimGpu*> SimCluster::GpuLocked(SimHost& host, std::string_view gpu) {
  for (SimGpu& g : host.gpus) {
    if (g.id == gpu) return &g;
  }
  return absl::NotFoundError(StrCat("host ", host.name, " has no GPU \"", gpu, "\""));
}

SimCluster::SimVm* SimCluster::FindVm(std::string_view vm) {
  for (SimVm& v : vms_) {
    if (v.name == vm) return &v;
  }
  return nullptr;
}

const MixedSizeSpec& SimCluster::GeometryOf(const core::Board& board) const {
  static const MixedSizeSpec kDefault;
  auto it = mixed_size_.find(board.prefix);
  return it == mixed_size_.end() ? kDefault : it->second;
}

absl::Status SimCluster::SetVmLoad(std::string_view vm, double load_pct) {
  std::lock_guard lock(mu_);
  SyncLocked();
  SimVm* v = FindVm(vm);
  if (v == nullptr) return absl::NotFoundError(StrCat("no simulated VM \"", vm, "\""));
  v->load_pct = std::clamp(load_pct, 0.0, 100.0);
  return absl::OkStatus();
}

absl::Status SimCluster::ChangeHost(std::string_view host,
                                    const std::function<void(SimHost&)>& change) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, false);
  if (!h.ok()) return h.status();
  change(**h);
  return absl::OkStatus();
}

absl::Status SimCluster::ChangeGpu(std::string_view host, std::string_view gpu,
                                   const std::function<void(SimGpu&)>& change) {
  absl::Status found = absl::OkStatus();
  absl::Status s = ChangeHost(host, [&](SimHost& h) {
    absl::StatusOr<SimGpu*> g = GpuLocked(h, gpu);
    if (g.ok()) change(**g);
    found = g.status();
  });
  return s.ok() ? found : s;
}

absl::Status SimCluster::SetGpuUtilisation(std::string_view host, std::string_view gpu,
                                           std::optional<double> utilisation_pct) {
  return ChangeGpu(host, gpu, [&](SimGpu& g) { g.fixed_utilisation = utilisation_pct; });
}

absl::Status SimCluster::CrashHost(std::string_view host) {
  absl::Status s = ChangeHost(host, [&](SimHost& h) {
    h.crashed = true;
    for (SimVm& vm : vms_) {
      if (vm.host == host && vm.running) StopVmLocked(vm, /*clean=*/false);
    }
  });
  return s.ok() ? Save() : s;
}

absl::Status SimCluster::RestartHost(std::string_view host, RestartOptions options) {
  absl::Status s = ChangeHost(host, [&](SimHost& h) {
    for (SimVm& vm : vms_) {
      if (vm.host == host && vm.running) StopVmLocked(vm, /*clean=*/true);
    }
    h.crashed = false;
    for (SimGpu& gpu : h.gpus) {
      gpu.lost = false;
      std::erase_if(gpu.instances, [&](const internal::SimInstance& i) {
        return !options.keep_instances || i.gone_at.has_value();
      });
      internal::ForgetCarving(gpu);
    }
  });
  return s.ok() ? Save() : s;
}

absl::Status SimCluster::LoseGpu(std::string_view host, std::string_view gpu) {
  return ChangeGpu(host, gpu, [](SimGpu& g) { g.lost = true; });
}

absl::Status SimCluster::SetBmcReachable(std::string_view host, bool reachable) {
  return ChangeHost(host, [&](SimHost& h) { h.bmc_unreachable = !reachable; });
}

void SimCluster::SetLicenseServerUp(bool up) {
  std::lock_guard lock(mu_);
  SyncLocked();
  license_.set_up(up);
}

absl::Status SimCluster::SetSysfsFaults(std::string_view host, double failure_probability,
                                        absl::Duration delay) {
  if (failure_probability < 0 || failure_probability > 1 || delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("sysfs faults: probability within 0..1, delay >= 0");
  }
  return ChangeHost(host, [&](SimHost& h) {
    h.sysfs_failure_probability = failure_probability;
    h.sysfs_delay = delay;
  });
}

absl::Status SimCluster::RollSysfs(const SimHost& host, std::string_view path) {
  if (host.sysfs_failure_probability <= 0) return absl::OkStatus();
  const double roll = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  if (roll >= host.sysfs_failure_probability) return absl::OkStatus();
  return absl::UnavailableError(
      StrCat("write to ", path, " failed: Input/output error (injected sysfs fault)"));
}

void SimCluster::SysfsDelay(std::string_view host) {
  absl::Duration delay = absl::ZeroDuration();
  {
    std::lock_guard lock(mu_);
    if (const SimHost* h = FindHost(host)) delay = h->sysfs_delay;
  }
  if (delay > absl::ZeroDuration()) options_.sleep(delay);
}

absl::Status SimCluster::LoadStateLocked() {
  const std::string& path = options_.state_file;
  if (path.empty()) return absl::OkStatus();
  constexpr std::size_t kMaxStateBytes = 16 << 20;
  absl::StatusOr<std::string> text = os::NewPosixFileSystem("/")->ReadFile(path, kMaxStateBytes);
  if (absl::IsNotFound(text.status())) return absl::OkStatus();  // a first start
  if (!text.ok()) return text.status();
  std::set<std::string> had_vgpus;
  for (const SimHost& host : hosts_) {
    for (const SimGpu& gpu : host.gpus) {
      for (const internal::SimInstance& i : gpu.instances) had_vgpus.insert(i.vm);
    }
  }
  if (absl::Status s = internal::ApplySimState(
          *text, path, catalog_,
          [this](const core::Board& b) -> const MixedSizeSpec& { return GeometryOf(b); }, hosts_);
      !s.ok()) {
    return s;
  }
  // The VMs outlive the agent as the instances do: a VM that the file shows using an instance
  // runs on that instance's host; a scenario VM whose vGPUs are gone from the file is stopped.
  std::set<std::string> running;
  const absl::Time now = clock_.Now();
  for (const SimHost& host : hosts_) {
    for (const SimGpu& gpu : host.gpus) {
      for (const internal::SimInstance& i : gpu.instances) {
        if (!i.active) continue;
        SimVm* vm = FindVm(i.vm);
        if (vm == nullptr) {
          const core::Edition* edition = catalog_.EditionForSeries(i.type->series);
          vms_.push_back(SimVm{i.vm, host.name, false, edition != nullptr ? edition->id : "", 0, "",
                               std::nullopt});
          vm = &vms_.back();
        } else if (running.contains(i.vm) && vm->host != host.name) {
          return absl::InvalidArgumentError(StrCat(path, ": VM ", i.vm, " uses instances on hosts ",
                                                   vm->host, " and ", host.name));
        }
        vm->host = host.name;
        if (!vm->running) {
          vm->running = true;
          StartLicense(*vm, now);
        }
        running.insert(i.vm);
      }
    }
  }
  for (SimVm& vm : vms_) {
    if (vm.running && had_vgpus.contains(vm.name) && !running.contains(vm.name)) {
      StopVmLocked(vm, /*clean=*/true);
    }
  }
  return absl::OkStatus();
}

absl::Status SimCluster::SaveLocked() {
  if (options_.state_file.empty()) return absl::OkStatus();
  absl::Status s = options_.write_file(options_.state_file, internal::EncodeSimState(hosts_));
  if (s.ok()) return s;
  return absl::UnavailableError(
      StrCat("cannot save the simulated hosts' state to ", options_.state_file, ": ", s.message()));
}

absl::Status SimCluster::Save() {
  std::lock_guard lock(mu_);
  return SaveLocked();
}

absl::Status SimCluster::SaveOrRestoreLocked(SimGpu& gpu, SimGpu before) {
  absl::Status s = SaveLocked();
  if (!s.ok()) gpu = std::move(before);
  return s;
}

}  // namespace gpufleet::backends::sim
