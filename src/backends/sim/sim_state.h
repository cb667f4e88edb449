#ifndef GPUFLEET_BACKENDS_SIM_SIM_STATE_H_
#define GPUFLEET_BACKENDS_SIM_SIM_STATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "backends/sim/scenario.h"
#include "common/uuid.h"
#include "core/catalog_model.h"

namespace gpufleet::backends::sim::internal {

// The mutable state of a simulated cluster; SimCluster owns it and guards it with its mutex.

struct SimInstance {
  Uuid uuid;
  const core::VgpuType* type = nullptr;
  int placement = -1;
  std::string vm;  // the VM it is attached to, "" when none
  bool active = false;
  std::optional<absl::Time> gone_at;  // tearing down: removed once the clock reaches it
};

struct SimGpu {
  std::string id;
  const core::Board* board = nullptr;
  GpuMode mode = GpuMode::kUnconfigured;
  bool ecc = false;
  const core::VgpuType* carved = nullptr;  // equal-size: the type of its instances
  double tdp_w = 250;
  std::optional<double> fixed_utilisation;
  bool lost = false;  // fallen off the bus
  double temperature_c = 0;
  std::vector<SimInstance> instances;
};

struct SimHost {
  std::string name;
  std::string hypervisor;
  std::string vgpu_manager;
  bool hotmigrate = true;
  int link_gbps = 10;
  BmcSpec bmc;
  double inlet_c = 22;
  std::optional<int> manual_duty;  // nullopt: automatic
  bool crashed = false;
  bool bmc_unreachable = false;
  double sysfs_failure_probability = 0;
  absl::Duration sysfs_delay = absl::ZeroDuration();
  std::vector<SimGpu> gpus;
};

struct SimVm {
  std::string name;
  std::string host;
  bool running = false;
  std::string edition;  // license edition; "" = none needed
  double load_pct = 0;
  std::string guest_driver;
  std::optional<absl::Time> next_license_attempt;  // running guests only
};

}  // namespace gpufleet::backends::sim::internal

#endif  // GPUFLEET_BACKENDS_SIM_SIM_STATE_H_
