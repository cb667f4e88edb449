#ifndef GPUFLEET_BACKENDS_HYPERVISOR_H_
#define GPUFLEET_BACKENDS_HYPERVISOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/uuid.h"

namespace gpufleet::backends {

// The vGPU license as the guest reports it (nvidia-smi -q in the guest, or the license server).
struct GuestLicense {
  std::string edition{};  // "vWS", "vCS", "vPC", "vApps"; "" when unknown
  bool licensed = false;  // false: the guest runs degraded (3 fps, CUDA disabled)
  std::optional<absl::Time> expires_at{};
  bool operator==(const GuestLicense&) const = default;
};

struct GuestVm {
  std::string name{};
  bool running = false;
  std::vector<Uuid> vgpus{};  // the vGPU instances attached
  std::optional<GuestLicense> license{};
  bool operator==(const GuestVm&) const = default;
};

// The VMs of one host (libvirt, vSphere, the simulator). Migration between hosts is the
// hypervisor's: `MigrateVm` moves a running VM and its vGPUs to `destination` (a host name
// of the same hypervisor) and fails with FailedPrecondition and the hypervisor's reason when
// the hosts are incompatible.
class Hypervisor {
 public:
  virtual ~Hypervisor() = default;
  virtual absl::StatusOr<std::vector<GuestVm>> ListVms() = 0;
  virtual absl::Status StartVm(const std::string& vm, const std::vector<Uuid>& vgpus) = 0;
  virtual absl::Status StopVm(const std::string& vm) = 0;
  // Returns the stun time (the VM paused) the move took.
  virtual absl::StatusOr<absl::Duration> MigrateVm(const std::string& vm,
                                                   const std::string& destination) = 0;
};

}  // namespace gpufleet::backends

#endif  // GPUFLEET_BACKENDS_HYPERVISOR_H_
