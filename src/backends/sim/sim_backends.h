#ifndef GPUFLEET_BACKENDS_SIM_SIM_BACKENDS_H_
#define GPUFLEET_BACKENDS_SIM_SIM_BACKENDS_H_

#include <string>
#include <vector>

#include "backends/bmc.h"
#include "backends/gpu_telemetry.h"
#include "backends/hypervisor.h"
#include "backends/sim/sim_cluster.h"
#include "backends/vgpu_host.h"

namespace gpufleet::backends::sim {

// The backends of one simulated host: each forwards to its SimCluster (which must outlive it)
// under the host's name. SimCluster::New* hands them out; the contracts are the interfaces' and
// SimCluster's (time, teardown, faults).

class SimVgpuHost final : public VgpuHost {
 public:
  SimVgpuHost(SimCluster& cluster, std::string host) : cluster_(cluster), host_(std::move(host)) {}
  absl::StatusOr<HostFacts> Facts() override;
  absl::StatusOr<std::vector<VgpuInstance>> ListInstances() override;
  absl::StatusOr<std::vector<CreatableType>> Creatable(const std::string& gpu) override;
  absl::Status CreateInstance(const VgpuInstance& instance) override;
  // With a teardown delay: Unavailable until the delay has passed, then OK (see SimCluster).
  absl::Status RemoveInstance(const Uuid& uuid) override;

 private:
  SimCluster& cluster_;
  std::string host_;
};

class SimTelemetry final : public GpuTelemetry {
 public:
  SimTelemetry(SimCluster& cluster, std::string host) : cluster_(cluster), host_(std::move(host)) {}
  absl::StatusOr<std::vector<GpuSample>> Sample() override;

 private:
  SimCluster& cluster_;
  std::string host_;
};

class SimBmc final : public Bmc {
 public:
  SimBmc(SimCluster& cluster, std::string host) : cluster_(cluster), host_(std::move(host)) {}
  absl::StatusOr<BmcReading> Read() override;
  absl::Status SetManualDuty(int duty_pct) override;
  absl::Status SetAutomatic() override;

 private:
  SimCluster& cluster_;
  std::string host_;
};

class SimHypervisor final : public Hypervisor {
 public:
  SimHypervisor(SimCluster& cluster, std::string host)
      : cluster_(cluster), host_(std::move(host)) {}
  absl::StatusOr<std::vector<GuestVm>> ListVms() override;
  // Defines the VM on this host when it is not known (or stopped elsewhere) and starts it with
  // `vgpus`, instances of this host that no other running VM uses.
  absl::Status StartVm(const std::string& vm, const std::vector<Uuid>& vgpus) override;
  absl::Status StopVm(const std::string& vm) override;
  absl::StatusOr<absl::Duration> MigrateVm(const std::string& vm,
                                           const std::string& destination) override;

 private:
  SimCluster& cluster_;
  std::string host_;
};

}  // namespace gpufleet::backends::sim

#endif  // GPUFLEET_BACKENDS_SIM_SIM_BACKENDS_H_
