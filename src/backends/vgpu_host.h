#ifndef GPUFLEET_BACKENDS_VGPU_HOST_H_
#define GPUFLEET_BACKENDS_VGPU_HOST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/uuid.h"

namespace gpufleet::backends {

// One physical GPU as the host's vGPU manager sees it.
struct PhysicalGpu {
  std::string id{};     // PCI address "0000:3b:00.0" (or a stable name where there is none)
  std::string board{};  // the catalog's board name, "Tesla P40"
  // "unconfigured", "equal-size", "mixed-size", "mig", "passthrough" (planner::GpuModeName).
  std::string mode{};
  std::string carved_type{};  // equal-size with instances: their type; "" otherwise
  bool ecc = false;
  bool operator==(const PhysicalGpu&) const = default;
};

// What a host is: the facts an agent reports in its inventory.
struct HostFacts {
  std::string hypervisor{};       // "kvm", "vsphere"
  std::string manager_version{};  // vGPU manager (host driver) version, "525.105.14"
  bool hotmigrate = false;        // live migration of vGPU VMs enabled
  std::vector<PhysicalGpu> gpus{};
  bool operator==(const HostFacts&) const = default;
};

// A vGPU instance (an mdev, a vendor-VFIO VF profile, a vSphere vGPU device).
struct VgpuInstance {
  Uuid uuid{};
  std::string gpu{};    // PhysicalGpu::id
  std::string type{};   // the catalog's type name, "P40-8Q"
  int placement = -1;   // mixed-size placement id or MIG start slice; -1 = none
  std::string vm{};     // the VM using it, where the backend can tell; "" otherwise
  bool active = false;  // open by a running VM (removal would fail)
  bool operator==(const VgpuInstance&) const = default;
};

// A type the GPU can create right now, with how many more instances of it fit.
struct CreatableType {
  std::string type{};
  int available = 0;
  std::vector<int> placements{};  // mixed-size / MIG: the free placement ids; empty otherwise
  bool operator==(const CreatableType&) const = default;
};

// The vGPU side of one hypervisor host. Implementations: sim::SimVgpuHost (here), sysfs mdev,
// vendor VFIO and vSphere (later). Errors follow absl codes so the agent can decide:
//   NotFound            unknown GPU or instance
//   AlreadyExists       an instance with this UUID exists with a different type/GPU/placement
//   ResourceExhausted   no room: max instances, equal-size GPU carved for another type,
//                       placement taken
//   FailedPrecondition  the instance is active, or the GPU is in the wrong mode
//   InvalidArgument     the type does not exist on this GPU's board
//   Unavailable         the host or the GPU does not answer (retry later)
// Calls are thread-compatible: one agent drives one host.
class VgpuHost {
 public:
  virtual ~VgpuHost() = default;

  virtual absl::StatusOr<HostFacts> Facts() = 0;
  virtual absl::StatusOr<std::vector<VgpuInstance>> ListInstances() = 0;
  virtual absl::StatusOr<std::vector<CreatableType>> Creatable(const std::string& gpu) = 0;

  // Creates `instance` (uuid, gpu, type, placement; vm/active are ignored). Creating an instance
  // that already exists identically is success.
  virtual absl::Status CreateInstance(const VgpuInstance& instance) = 0;
  // Removes an instance; removing one that does not exist is success. The real driver tears an
  // mdev down in seconds: an implementation may start the teardown and return Unavailable
  // ("busy, retry") until it is gone; the instance keeps its room meanwhile.
  virtual absl::Status RemoveInstance(const Uuid& uuid) = 0;
};

}  // namespace gpufleet::backends

#endif  // GPUFLEET_BACKENDS_VGPU_HOST_H_
