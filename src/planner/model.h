#ifndef GPUFLEET_PLANNER_MODEL_H_
#define GPUFLEET_PLANNER_MODEL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/compat.h"
#include "core/series.h"
#include "core/version.h"

namespace gpufleet::planner {

// The planner's view of a cluster: hosts, their physical GPUs with the vGPU instances on them, and
// the VMs. Plain data, copied freely; indexes (not pointers) link instances to VMs so a Cluster can
// be copied and mutated by a what-if without fix-ups. Catalog rows are referenced by pointer and
// must outlive the Cluster (the embedded catalog lives for the whole program).

enum class HostState { kReady, kMaintenance, kDown };

// How a physical GPU is carved.
//   kUnconfigured: no vGPU type chosen yet; the next instance decides (equal-size).
//   kEqualSize:    every instance has the same type (`carved`); the GPU can be re-carved only
//                  when it holds no instance.
//   kMixedSize:    time-sliced types of different sizes at aligned placement offsets (vGPU >= 17
//                  on boards that support it); see MixedSizeGeometry.
//   kMig:          MIG-backed types in GPU instances within the board's slice geometry.
//   kPassthrough:  the whole GPU belongs to one VM; no vGPU.
enum class GpuMode { kUnconfigured, kEqualSize, kMixedSize, kMig, kPassthrough };

[[nodiscard]] std::string_view HostStateName(HostState s);
[[nodiscard]] std::string_view GpuModeName(GpuMode m);

// One vGPU on a physical GPU.
struct Instance {
  int vm = -1;  // index into Cluster::vms
  const core::VgpuType* type = nullptr;
  // Mixed-size: the placement id (first slot); MIG: the first memory slice; otherwise -1.
  int placement = -1;
};

struct Gpu {
  std::string id;  // unique within its host: a PCI address or "gpu0"
  const core::Board* board = nullptr;
  GpuMode mode = GpuMode::kUnconfigured;
  bool ecc = false;
  // Equal-size: the type the GPU is carved for (kept while instances exist; a GPU in equal-size
  // mode with no instances may keep it as a preference but is free to re-carve).
  const core::VgpuType* carved = nullptr;
  int passthrough_vm = -1;  // kPassthrough: the VM that owns the GPU, or -1 when free
  bool held = false;        // excluded from placement while the planner empties it (defrag)
  std::vector<Instance> instances;
};

struct Host {
  std::string name;
  HostState state = HostState::kReady;
  std::optional<core::DriverVersion> manager;  // vGPU manager version
  core::Hypervisor hypervisor = core::Hypervisor::kKvm;
  bool hotmigrate = true;  // vSphere: vgpu.hotmigrate.enabled; KVM: live migration allowed
  std::map<std::string, std::string> labels;
  std::optional<int> cpus;        // capacity for VMs, when given
  std::optional<int> memory_gib;  // capacity for VMs, when given
  std::optional<int> link_gbps;   // migration network, for stun-time estimates
  std::vector<Gpu> gpus;
};

// What a VM needs from each of its vGPUs: an exact type, or a requirement the planner resolves to
// the smallest fitting type ("at least 8 GB, CUDA-capable").
struct Requirement {
  const core::VgpuType* type = nullptr;  // exact type; the fields below are then ignored
  int min_framebuffer_mib = 0;
  bool cuda = false;
  std::optional<core::Series> series;
  std::vector<const core::Board*> boards;  // allowed boards; empty = any
  bool passthrough = false;                // a whole GPU (of `boards`) instead of a vGPU
  bool mig = false;                        // only MIG-backed types
};

struct Vm {
  std::string name;
  Requirement need;
  int vgpus = 1;              // each on a different physical GPU of the same host
  std::string anti_affinity;  // VMs of one non-empty group run on different hosts
  std::optional<core::DriverVersion> guest_driver;
  std::string license;  // edition id; empty = the edition of the type's series
  bool live_migratable = true;
  int cpus = 0;
  int memory_gib = 0;
  std::map<std::string, std::string> host_labels;  // required host labels (all must match)
};

// Mixed-size placement geometry of a board: the GPU's framebuffer is divided into `slots` slots of
// `slot_mib`; a type occupies framebuffer_mib / slot_mib consecutive slots starting at a multiple
// of that size (its placement ids). NVIDIA publishes these numbers only through NVML at run time
// (nvmlDeviceGetVgpuTypeSupportedPlacements), so the catalog lacks them: the defaults are an
// assumption (1 GiB slots over the whole framebuffer) and every number can be set in the cluster
// file, per board.
struct MixedSizeGeometry {
  int slot_mib = 1024;
  int slots = 0;           // 0 = board framebuffer / slot_mib
  int reserved_slots = 0;  // slots at the end that no vGPU may use
};

struct Cluster {
  // The catalog the type and board pointers come from (license editions are looked up in it);
  // nullptr means the embedded catalog.
  const core::Catalog* catalog = nullptr;
  std::vector<Host> hosts;
  std::vector<Vm> vms;
  // Seats per license edition id ("vWS" -> 16); an edition absent here is not limited.
  std::map<std::string, int> license_seats;
  // Per board prefix; boards absent here use the defaults above.
  std::map<std::string, MixedSizeGeometry> mixed_size;
};

// Where a VM's vGPUs are: a host and one GPU per vGPU.
struct Location {
  int host = -1;
  std::vector<int> gpus;
};

// Finds where each VM runs (from the instances and passthrough GPUs); VMs not placed are absent.
[[nodiscard]] std::map<int, Location> Locate(const Cluster& cluster);
// The same, indexed by VM (host -1 for VMs not placed); one pass, no tree.
[[nodiscard]] std::vector<Location> LocateByVm(const Cluster& cluster);

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_MODEL_H_
