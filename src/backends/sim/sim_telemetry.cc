// The thermal model applied over time, GPU telemetry and the BMC of the simulated cluster.

#include <algorithm>
#include <cmath>

#include "backends/sim/sim_cluster.h"
#include "backends/sim/thermal.h"
#include "common/strings.h"

namespace gpufleet::backends::sim {
namespace {

// Steps of at most this much; the automatic fan curve closes a loop that one exponential step
// over hours would not follow.
constexpr absl::Duration kMaxStep = absl::Seconds(1);
constexpr int64_t kMaxSteps = 20'000;

}  // namespace

double SimCluster::UtilisationOf(const SimHost& host, const SimGpu& gpu) const {
  if (host.crashed || gpu.lost) return 0;
  if (gpu.fixed_utilisation) return std::clamp(*gpu.fixed_utilisation, 0.0, 100.0);
  double sum = 0;
  for (const internal::SimInstance& i : gpu.instances) {
    if (!i.active) continue;
    for (const SimVm& vm : vms_) {
      if (vm.name == i.vm && vm.running) sum += vm.load_pct;
    }
  }
  return std::min(sum, 100.0);
}

int SimCluster::DutyOf(const SimHost& host) const {
  if (host.manual_duty) return *host.manual_duty;
  double sensed = host.inlet_c;
  if (host.bmc.sees_gpu_temperature) {
    for (const SimGpu& gpu : host.gpus) {
      if (!gpu.lost) sensed = std::max(sensed, gpu.temperature_c);
    }
  }
  return AutomaticDuty(host.bmc, sensed);
}

void SimCluster::AdvanceThermal(SimHost& host, absl::Duration dt) {
  const int64_t steps = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(absl::FDivDuration(dt, kMaxStep))), 1, kMaxSteps);
  const absl::Duration step = dt / steps;
  for (int64_t s = 0; s < steps; ++s) {
    const int duty = DutyOf(host);
    for (SimGpu& gpu : host.gpus) {
      const bool powered = !host.crashed && !gpu.lost;
      const double steady =
          powered ? SteadyStateC(host.inlet_c, gpu.tdp_w, UtilisationOf(host, gpu), duty)
                  : host.inlet_c;
      gpu.temperature_c = Approach(gpu.temperature_c, steady, step, params_.thermal_time_constant);
    }
  }
}

absl::StatusOr<std::vector<GpuSample>> SimCluster::Sample(std::string_view host) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, true);
  if (!h.ok()) return h.status();
  std::vector<GpuSample> out;
  for (const SimGpu& gpu : (*h)->gpus) {
    GpuSample sample;
    sample.gpu = gpu.id;
    if (gpu.lost) {
      sample.lost = true;
      sample.xid = 79;
      out.push_back(std::move(sample));
      continue;
    }
    const double utilisation = UtilisationOf(**h, gpu);
    sample.temperature_c = std::round(gpu.temperature_c * 10) / 10;
    sample.utilisation_pct = utilisation;
    sample.power_w = std::round(PowerW(gpu.tdp_w, utilisation) * 10) / 10;
    sample.framebuffer_total_mib = gpu.board->framebuffer_mib;
    int64_t used = 0;
    for (const internal::SimInstance& i : gpu.instances) {
      used += i.type->framebuffer_mib;
      double load = 0;
      if (const SimVm* vm = FindVm(i.vm); vm != nullptr && vm->running && i.active) {
        load = vm->load_pct;
      }
      sample.vgpus.push_back(VgpuSample{i.uuid, load, i.active ? i.type->framebuffer_mib : 0});
    }
    sample.framebuffer_used_mib = used;
    out.push_back(std::move(sample));
  }
  return out;
}

absl::StatusOr<BmcReading> SimCluster::ReadBmc(std::string_view host) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, false);
  if (!h.ok()) return h.status();
  const SimHost& hst = **h;
  if (hst.bmc_unreachable) {
    return absl::UnavailableError(StrCat("BMC of host ", host, " does not answer"));
  }
  BmcReading reading;
  reading.temperatures.push_back(TemperatureSensor{"Inlet Temp", hst.inlet_c});
  if (hst.bmc.sees_gpu_temperature) {
    for (std::size_t i = 0; i < hst.gpus.size(); ++i) {
      if (hst.gpus[i].lost) continue;
      reading.temperatures.push_back(
          TemperatureSensor{StrCat("GPU", i + 1, " Temp"), std::round(hst.gpus[i].temperature_c)});
    }
  }
  const int duty = DutyOf(hst);
  for (int f = 0; f < hst.bmc.fans; ++f) {
    reading.fans.push_back(Fan{StrCat("Fan", f + 1), FanRpm(hst.bmc, duty)});
  }
  reading.automatic = !hst.manual_duty.has_value();
  reading.duty_pct = hst.manual_duty.value_or(-1);
  return reading;
}

absl::Status SimCluster::SetDuty(std::string_view host, std::optional<int> duty_pct) {
  std::lock_guard lock(mu_);
  SyncLocked();
  absl::StatusOr<SimHost*> h = HostLocked(host, false);
  if (!h.ok()) return h.status();
  if ((*h)->bmc_unreachable) {
    return absl::UnavailableError(StrCat("BMC of host ", host, " does not answer"));
  }
  (*h)->manual_duty = duty_pct;
  return absl::OkStatus();
}

}  // namespace gpufleet::backends::sim
