#ifndef GPUFLEET_CONTROLLER_START_HOLDS_H_
#define GPUFLEET_CONTROLLER_START_HOLDS_H_

// Which VMs desired on a host its agent must not start yet, because the VM may still run
// somewhere else. A moved VM's new host creates its vGPUs at once, and its agent starts the VM
// as soon as they exist; the old host's agent stops its copy only when it next looks. Two
// running copies of one VM on shared storage corrupt its disks, so the desired document of the
// new host lists the VM under `holds` until:
// - a live migration to this host is over (its desired instances no longer `migrate_from`
//   another host: the source reported the migration, or its failure, after which the VM moves
//   cold) or its source is down or deleted, and
// - no host other than this one, unless it is down, still reports one of the VM's vGPUs (the
//   observation of a UUID on another host, or a leftover copy there: leftover_instances).
// A VM that already runs here (one of its vGPUs reported active here) is never held.
//
// Down hosts do not hold a VM: an HA restart must go on while its old host is silent. A host
// that was only cut off and comes back still runs its copy until its agent stops it (it is no
// longer desired there); fencing such a host (BMC power-off) is not done here.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace gpufleet::controller {

// [{vm, reason}] sorted by VM, for the desired instances of `host` (all of them). The reason
// names the other host: "live-migrating from r730-1", "still on r730-1".
absl::StatusOr<nlohmann::json> StartHolds(store::ReadTx& tx, const std::string& host,
                                          const std::vector<store::DesiredInstance>& instances);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_START_HOLDS_H_
