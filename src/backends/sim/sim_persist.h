#ifndef GPUFLEET_BACKENDS_SIM_SIM_PERSIST_H_
#define GPUFLEET_BACKENDS_SIM_SIM_PERSIST_H_

// The simulated hosts' vGPU state as a JSON file (`gpufleetd agent --sim-state FILE`), so that it
// outlives the process holding the SimCluster. The file stands for what the driver keeps in sysfs
// while the agent crashes and restarts: per GPU its mode, carving and instances (with their VM,
// whether that VM runs, and a teardown in progress). Host reboots are RestartHost's business, not
// this file's. Format (docs/simulator.md):
//   {"version": 1, "hosts": [{"name": "r730-1", "gpus": [{"id": "0000:82:00.0", "board": "P40",
//     "mode": "equal-size", "carved": "P40-8Q", "instances": [{"uuid": "...", "type": "P40-8Q",
//     "placement": -1, "vm": "", "active": false, "teardown_until": null}]}]}]}

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "backends/sim/scenario.h"
#include "backends/sim/sim_state.h"
#include "core/catalog.h"

namespace gpufleet::backends::sim::internal {

inline constexpr int kSimStateVersion = 1;

// The mixed-size geometry of a board, as the cluster configures it.
using GeometryFn = std::function<const MixedSizeSpec&(const core::Board&)>;

// The file's text for `hosts`: every host and GPU, in order, with canonical type names.
[[nodiscard]] std::string EncodeSimState(const std::vector<SimHost>& hosts);

// Decodes `text` (the file `what`, for messages) and lays it over `hosts`, which hold the
// scenario's initial state: each GPU's mode, carving and instances become the file's. Strict: the
// version must be kSimStateVersion; hosts, GPU ids and boards must be the scenario's, in its
// order; types must be catalog types of their GPU's board; the mode may only be the scenario's
// (or equal-size where the scenario left the GPU unconfigured); every instance must fit its GPU
// at its placement by the simulator's own capacity rules; UUIDs are unique per host; unknown
// keys are refused. Errors are InvalidArgument "<what>: hosts[0].gpus[1].instances[2].type: ...",
// and leave `hosts` unchanged (never a partial load).
absl::Status ApplySimState(std::string_view text, std::string_view what,
                           const core::Catalog& catalog, const GeometryFn& geometry,
                           std::vector<SimHost>& hosts);

}  // namespace gpufleet::backends::sim::internal

#endif  // GPUFLEET_BACKENDS_SIM_SIM_PERSIST_H_
