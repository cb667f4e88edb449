#ifndef GPUFLEET_CMD_GPUFLEETD_SIM_CONTROL_H_
#define GPUFLEET_CMD_GPUFLEETD_SIM_CONTROL_H_

// The demo's fault and load controls (docs/simulator.md, "The demo's controls"): routes under
// /api/v1/sim on the demo's own server, admin only, acting on its SimCluster. They exist only in
// `gpufleetd demo`; the controller's API (docs/api/openapi.yaml) does not have them.

#include "absl/status/status.h"
#include "api/router.h"
#include "backends/sim/sim_cluster.h"

namespace gpufleet::gpufleetd {

// `cluster` must outlive the server the router is served by.
absl::Status AddSimControlRoutes(api::Router& router, backends::sim::SimCluster& cluster);

}  // namespace gpufleet::gpufleetd

#endif  // GPUFLEET_CMD_GPUFLEETD_SIM_CONTROL_H_
