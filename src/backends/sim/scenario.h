#ifndef GPUFLEET_BACKENDS_SIM_SCENARIO_H_
#define GPUFLEET_BACKENDS_SIM_SCENARIO_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/uuid.h"
#include "core/catalog_model.h"
#include "planner/model.h"

namespace gpufleet::backends::sim {

// What a simulated cluster starts as: plain data, written by hand in tests or decoded from a
// scenario YAML file (scenario_yaml.h, docs/simulator.md). Catalog rows are referenced by pointer
// and must outlive the SimCluster built from it (the embedded catalog lives for the program).

// The planner's GPU modes: "unconfigured", "equal-size", "mixed-size", "mig", "passthrough".
using planner::GpuMode;
using planner::GpuModeName;

struct BmcSpec {
  int fans = 6;
  int max_rpm = 15000;
  std::optional<double> inlet_c;  // the host's inlet air; default: SimParams::ambient_c
  // The automatic curve: duty = min_duty + (T - 25 C) * duty_per_c, within [min_duty, 100], where
  // T is the inlet temperature, or the hottest GPU when the BMC sees GPU temperatures (most BMCs
  // do not see passively cooled third-party cards, which is why the agent's fan controller exists).
  int min_duty = 20;
  double duty_per_c = 4;
  bool sees_gpu_temperature = false;
};

struct GpuSpec {
  std::string id;  // PCI address
  const core::Board* board = nullptr;
  GpuMode mode = GpuMode::kUnconfigured;
  bool ecc = false;
  const core::VgpuType* carved = nullptr;  // equal-size: the type its VMs must have
  std::optional<double> tdp_w;             // default: a per-board guess, else 250 W
  std::optional<double> utilisation_pct;   // fixed load; default: the sum of its VMs' loads
};

struct HostSpec {
  std::string name;
  std::string hypervisor = "kvm";  // "kvm" | "vsphere"
  std::string vgpu_manager;        // driver version, "525.105.14"
  bool hotmigrate = true;
  int link_gbps = 10;
  BmcSpec bmc;
  std::vector<GpuSpec> gpus;
};

// A VM and (when `type` is set) the one vGPU instance it uses on `host`/`gpu`.
struct VmSpec {
  std::string name;
  std::string host;
  const core::VgpuType* type = nullptr;  // nullptr: no vGPU
  std::string gpu;
  int placement = -1;        // mixed-size placement id / MIG start; -1: the first free
  std::optional<Uuid> uuid;  // default: derived from the VM name
  bool running = true;
  std::string guest_driver;  // informational
  std::string license;       // edition id; "" = the edition of the type's series
  double load_pct = 0;       // GPU utilisation the VM causes while running
};

struct LicenseServerSpec {
  absl::Duration lease = absl::Hours(24);
  absl::Duration renewal = absl::Hours(3);  // guests renew (or retry) this often
  std::map<std::string, int> pools;         // edition id -> seats; an absent edition has none
};

// Mixed-size placement geometry of a board (see planner::MixedSizeGeometry, whose assumption the
// simulator shares: NVIDIA publishes placements only through NVML).
struct MixedSizeSpec {
  int slot_mib = 1024;
  int slots = 0;  // 0 = board framebuffer / slot_mib
  int reserved_slots = 0;
};

struct SimParams {
  absl::Duration teardown_delay = absl::Seconds(3);
  absl::Duration thermal_time_constant = absl::Seconds(120);
  double ambient_c = 22;
  uint64_t seed = 1;
};

struct SysfsFaultSpec {
  std::string host;
  double failure_probability = 0;  // per Create/Remove write
  absl::Duration delay = absl::ZeroDuration();
};

struct GpuRef {
  std::string host;
  std::string gpu;
};

struct FaultSpec {
  std::vector<std::string> crashed_hosts;
  std::vector<GpuRef> lost_gpus;  // XID 79
  std::vector<std::string> bmc_unreachable;
  bool license_server_down = false;
  std::vector<SysfsFaultSpec> sysfs;
};

struct Scenario {
  std::vector<HostSpec> hosts;
  std::vector<VmSpec> vms;
  LicenseServerSpec license_server;
  std::map<std::string, MixedSizeSpec> mixed_size;  // per board prefix
  SimParams sim;
  FaultSpec faults;
};

}  // namespace gpufleet::backends::sim

#endif  // GPUFLEET_BACKENDS_SIM_SCENARIO_H_
