#include "backends/sim/sim_backends.h"

namespace gpufleet::backends::sim {

absl::StatusOr<HostFacts> SimVgpuHost::Facts() { return cluster_.Facts(host_); }

absl::StatusOr<std::vector<VgpuInstance>> SimVgpuHost::ListInstances() {
  return cluster_.ListInstances(host_);
}

absl::StatusOr<std::vector<CreatableType>> SimVgpuHost::Creatable(const std::string& gpu) {
  return cluster_.Creatable(host_, gpu);
}

absl::Status SimVgpuHost::CreateInstance(const VgpuInstance& instance) {
  cluster_.SysfsDelay(host_);
  return cluster_.CreateInstance(host_, instance);
}

absl::Status SimVgpuHost::RemoveInstance(const Uuid& uuid) {
  cluster_.SysfsDelay(host_);
  return cluster_.RemoveInstance(host_, uuid);
}

absl::StatusOr<std::vector<GpuSample>> SimTelemetry::Sample() { return cluster_.Sample(host_); }

absl::StatusOr<BmcReading> SimBmc::Read() { return cluster_.ReadBmc(host_); }

absl::Status SimBmc::SetManualDuty(int duty_pct) {
  if (duty_pct < 0 || duty_pct > 100) {
    return absl::InvalidArgumentError("fan duty must be within 0..100 %");
  }
  return cluster_.SetDuty(host_, duty_pct);
}

absl::Status SimBmc::SetAutomatic() { return cluster_.SetDuty(host_, std::nullopt); }

absl::StatusOr<std::vector<GuestVm>> SimHypervisor::ListVms() { return cluster_.ListVms(host_); }

// A VM's use of its instances is part of the state file; each change is written after the call.
absl::Status SimHypervisor::StartVm(const std::string& vm, const std::vector<Uuid>& vgpus) {
  absl::Status s = cluster_.StartVm(host_, vm, vgpus);
  return s.ok() ? cluster_.Save() : s;
}

absl::Status SimHypervisor::StopVm(const std::string& vm) {
  absl::Status s = cluster_.StopVm(host_, vm);
  return s.ok() ? cluster_.Save() : s;
}

absl::StatusOr<absl::Duration> SimHypervisor::MigrateVm(const std::string& vm,
                                                        const std::string& destination) {
  absl::StatusOr<absl::Duration> stun = cluster_.MigrateVm(host_, vm, destination);
  if (!stun.ok()) return stun;
  if (absl::Status s = cluster_.Save(); !s.ok()) return s;
  return stun;
}

}  // namespace gpufleet::backends::sim
