#ifndef GPUFLEET_CLI_ONLINE_INVENTORY_H_
#define GPUFLEET_CLI_ONLINE_INVENTORY_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

// `gpufleet hosts`: every host the controller knows with its state, GPUs, vGPU manager, agent
// and last heartbeat (GET /api/v1/hosts). JSON/YAML give the API's document unchanged.
absl::Status RunHosts(Context& ctx, std::ostream& out);

// `gpufleet host delete HOST` (admin): removes a host that runs no VM, with its GPUs and its
// agent's credential (DELETE /api/v1/hosts/{host}); the controller's 409 names the VMs otherwise.
absl::Status RunHostDelete(Context& ctx, const std::string& host, std::ostream& out);

// `gpufleet host instances HOST`: what the host's agent last reported (each vGPU desired there
// or foreign, in use or idle), the desired vGPUs it has not reported, copies of VMs that moved
// away that it still holds, VMs it must not start yet (holds), VMs it is to live-migrate
// (departures), what each GPU's driver can still create, and the problems its agent reported
// in the last hour (GET .../instances and .../desired). JSON/YAML: the instances document with
// `holds` and `departures` added.
absl::Status RunHostInstances(Context& ctx, const std::string& host, std::ostream& out);

struct GpusOptions {
  std::optional<std::string> host;
  std::optional<std::string> board;  // any spelling the controller's catalog resolves
};

// `gpufleet gpus`: the GPUs, optionally of one host or board (GET /api/v1/gpus).
absl::Status RunGpus(Context& ctx, const GpusOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_INVENTORY_H_
