#ifndef GPUFLEET_BACKENDS_SIM_SIM_CLUSTER_H_
#define GPUFLEET_BACKENDS_SIM_SIM_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backends/bmc.h"
#include "backends/gpu_telemetry.h"
#include "backends/hypervisor.h"
#include "backends/sim/license_server.h"
#include "backends/sim/scenario.h"
#include "backends/sim/sim_state.h"
#include "backends/vgpu_host.h"
#include "core/catalog.h"
#include "os/clock.h"

namespace gpufleet::backends::sim {

struct SimOptions {
  // The catalog the scenario's rows come from; nullptr = the embedded catalog.
  const core::Catalog* catalog = nullptr;
  // How an injected sysfs delay (SysfsFaultSpec::delay) is spent, outside the cluster's lock. The
  // default sleeps on the real clock; tests pass a function that advances their FakeClock.
  std::function<void(absl::Duration)> sleep;
  // Where the hosts' vGPU state outlives the process (sim_persist.h; `gpufleetd agent
  // --sim-state`), "" for memory only. Create loads it over the scenario's state when it exists
  // (a bad file fails Create) and writes it; every change of an instance, a carving or a VM's use
  // of an instance rewrites it before the call returns. A failed write fails the call:
  // CreateInstance and RemoveInstance then undo their change, as a failed sysfs write changes
  // nothing; the hypervisor's calls (StartVm, StopVm, MigrateVm) keep theirs, and the next write of
  // any call carries it.
  std::string state_file;
  // How the state file is written; default os::WriteFileDurably. Tests inject failures.
  std::function<absl::Status(const std::string& path, std::string_view text)> write_file;
};

// What a guest can do, by its license state (the catalog's unlicensed behaviour when it has none).
struct GuestCapabilities {
  bool licensed = false;
  std::string edition;
  std::optional<int> frame_rate_limit_fps;  // unlicensed: 3 fps
  bool cuda = false;                        // unlicensed: CUDA disabled
  bool operator==(const GuestCapabilities&) const = default;
};

struct RestartOptions {
  // true: the vGPU instances come back (mdevctl definitions recreate them at boot); false: they
  // are gone, as after a reboot without persistent definitions.
  bool keep_instances = true;
};

// A simulated vGPU cluster: hosts with catalog-faithful GPUs, VMs, a license server, a thermal
// model and faults on demand. It hands out per-host backends (SimVgpuHost, SimTelemetry, SimBmc,
// SimHypervisor in sim_backends.h) that implement the backend interfaces against it.
//
// Time: the cluster has no thread of its own. Every call first brings the state up to clock.Now()
// (teardowns that finished, lease renewals and expiries, temperatures), so it runs the same on a
// real clock (the demo) and on a FakeClock that tests move by hours in one step.
//
// Slow operations do not block: RemoveInstance with a teardown delay marks the instance as tearing
// down and returns Unavailable ("busy, retry"); the instance keeps its room until the clock passes
// the delay, and a later RemoveInstance (or any call) finds it gone. An agent's retry loop thus
// meets the real driver's seconds-long teardown; a test advances its FakeClock and calls again.
//
// Thread-safe: one mutex guards everything, so agents on several threads may drive their hosts'
// backends at once. The clock must outlive the cluster; the backends must not outlive it.
class SimCluster {
 public:
  // Validates cross-references (VM hosts and GPUs, fault targets) and the capacity rules of every
  // GPU; errors are InvalidArgument naming the field ("vms[2].gpu: host r730-1 has no GPU ...").
  static absl::StatusOr<std::unique_ptr<SimCluster>> Create(const Scenario& scenario,
                                                            os::Clock& clock,
                                                            SimOptions options = {});
  SimCluster(const SimCluster&) = delete;
  SimCluster& operator=(const SimCluster&) = delete;
  ~SimCluster();

  // Per-host backends; NotFound for an unknown host.
  absl::StatusOr<std::unique_ptr<VgpuHost>> NewVgpuHost(std::string_view host);
  absl::StatusOr<std::unique_ptr<GpuTelemetry>> NewTelemetry(std::string_view host);
  absl::StatusOr<std::unique_ptr<Bmc>> NewBmc(std::string_view host);
  absl::StatusOr<std::unique_ptr<Hypervisor>> NewHypervisor(std::string_view host);
  [[nodiscard]] std::vector<std::string> HostNames() const;

  // Load. A VM's load counts towards its GPU's utilisation while it runs; a GPU's fixed
  // utilisation (nullopt: back to the sum of its VMs) overrides that.
  absl::Status SetVmLoad(std::string_view vm, double load_pct);
  absl::Status SetGpuUtilisation(std::string_view host, std::string_view gpu,
                                 std::optional<double> utilisation_pct);

  // Faults. A crashed host answers nothing (Unavailable from its VgpuHost, GpuTelemetry and
  // Hypervisor; its BMC, being out of band, keeps answering) and its VMs stop without returning
  // their licenses. RestartHost brings it back with its VMs stopped and lost GPUs recovered.
  absl::Status CrashHost(std::string_view host);
  absl::Status RestartHost(std::string_view host, RestartOptions options = {});
  // XID 79: the GPU has fallen off the bus until the host restarts.
  absl::Status LoseGpu(std::string_view host, std::string_view gpu);
  absl::Status SetBmcReachable(std::string_view host, bool reachable);
  void SetLicenseServerUp(bool up);
  // Every Create/Remove write on the host fails with `failure_probability` (seeded) and takes
  // `delay` longer.
  absl::Status SetSysfsFaults(std::string_view host, double failure_probability,
                              absl::Duration delay);

  // Views that only the simulator has.
  absl::StatusOr<GuestCapabilities> Guest(std::string_view vm);
  [[nodiscard]] std::map<std::string, PoolUsage> LicenseUsage();
  [[nodiscard]] absl::Time Now() const { return clock_.Now(); }
  [[nodiscard]] const core::Catalog& catalog() const { return catalog_; }

 private:
  friend class SimVgpuHost;
  friend class SimTelemetry;
  friend class SimBmc;
  friend class SimHypervisor;
  using SimHost = internal::SimHost;
  using SimGpu = internal::SimGpu;
  using SimVm = internal::SimVm;

  SimCluster(const Scenario& scenario, os::Clock& clock, SimOptions options,
             const core::Catalog& catalog);
  absl::Status Populate(const Scenario& scenario);
  absl::Status ApplyFaults(const FaultSpec& faults);

  // Brings the state up to Now(); callers hold mu_.
  void SyncLocked();
  void AdvanceThermal(SimHost& host, absl::Duration dt);
  void AdvanceLicenses(absl::Time now);
  void FinishTeardowns(absl::Time now);

  // Lookups; callers hold mu_. The Status forms return NotFound, or Unavailable for a crashed
  // host when `answering` is asked for.
  SimHost* FindHost(std::string_view host);
  absl::StatusOr<SimHost*> HostLocked(std::string_view host, bool answering);
  absl::StatusOr<SimGpu*> GpuLocked(SimHost& host, std::string_view gpu);
  SimVm* FindVm(std::string_view vm);
  // Locks, syncs and applies `change` to a host (crashed or not) or one of its GPUs.
  absl::Status ChangeHost(std::string_view host, const std::function<void(SimHost&)>& change);
  absl::Status ChangeGpu(std::string_view host, std::string_view gpu,
                         const std::function<void(SimGpu&)>& change);
  [[nodiscard]] const MixedSizeSpec& GeometryOf(const core::Board& board) const;
  [[nodiscard]] double UtilisationOf(const SimHost& host, const SimGpu& gpu) const;
  [[nodiscard]] int DutyOf(const SimHost& host) const;
  void StopVmLocked(SimVm& vm, bool clean);
  void StartLicense(SimVm& vm, absl::Time now);
  // The state file (SimOptions::state_file). Load lays it over the scenario's state; Save writes
  // it (callers hold mu_, or Save takes it: after a hypervisor call). SaveOrRestoreLocked saves
  // after a change of `gpu` and, when that fails, puts `before` back.
  absl::Status LoadStateLocked();
  absl::Status SaveLocked();
  absl::Status Save();
  absl::Status SaveOrRestoreLocked(SimGpu& gpu, SimGpu before);
  // An injected sysfs failure, rolled with the seeded RNG; OK when none.
  absl::Status RollSysfs(const SimHost& host, std::string_view path);

  // The backends' calls, each for one host.
  absl::StatusOr<HostFacts> Facts(std::string_view host);
  absl::StatusOr<std::vector<VgpuInstance>> ListInstances(std::string_view host);
  absl::StatusOr<std::vector<CreatableType>> Creatable(std::string_view host, std::string_view gpu);
  absl::Status CreateInstance(std::string_view host, const VgpuInstance& instance);
  absl::Status RemoveInstance(std::string_view host, const Uuid& uuid);
  absl::StatusOr<std::vector<GpuSample>> Sample(std::string_view host);
  absl::StatusOr<BmcReading> ReadBmc(std::string_view host);
  absl::Status SetDuty(std::string_view host, std::optional<int> duty_pct);
  absl::StatusOr<std::vector<GuestVm>> ListVms(std::string_view host);
  absl::Status StartVm(std::string_view host, const std::string& vm,
                       const std::vector<Uuid>& vgpus);
  absl::Status StopVm(std::string_view host, const std::string& vm);
  absl::StatusOr<absl::Duration> MigrateVm(std::string_view host, const std::string& vm,
                                           const std::string& destination);
  // Sleeps the host's injected sysfs delay, outside the lock.
  void SysfsDelay(std::string_view host);

  os::Clock& clock_;
  const core::Catalog& catalog_;
  SimOptions options_;
  std::map<std::string, MixedSizeSpec> mixed_size_;
  SimParams params_;

  mutable std::mutex mu_;
  absl::Time synced_;
  std::vector<SimHost> hosts_;
  std::vector<SimVm> vms_;
  LicenseServer license_;
  std::mt19937_64 rng_;
};

// The UUID the simulator gives a VM's vGPU when the scenario names none: stable per VM name.
[[nodiscard]] Uuid DerivedUuid(std::string_view vm);

}  // namespace gpufleet::backends::sim

#endif  // GPUFLEET_BACKENDS_SIM_SIM_CLUSTER_H_
