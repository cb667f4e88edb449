#ifndef GPUFLEET_CONTROLLER_OPERATION_PLAN_H_
#define GPUFLEET_CONTROLLER_OPERATION_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/operation_request.h"
#include "controller/placement.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

// One step as the runner will carry it out (stored as an OperationStep row).
struct StepSpec {
  std::string kind;
  nlohmann::json detail;
};

// Step kinds (operation_steps.cc carries them out):
//   maintenance       the host takes no new VMs (undone if the operation fails or is cancelled)
//   exit-maintenance  the host takes new VMs again
//   plan-evacuation   plans the moves off the host and appends one `move` step per VM
//   plan-restart      appends one `restart` step per VM of a down host
//   move              live-migrates a VM (to the planned host, or anywhere when not required)
//   restart           cold-restarts a VM of a down host elsewhere (best effort: the others go on)
//   hold              keeps GPUs out of placement (undone on failure or cancel)
//   recarve           sets an empty GPU's mode and carving
//   release           lets held GPUs take placements again

// What a request would do now: its target ("vm/web-1", "host/r730-1", "gpu/r730-1/0000:03:00.0",
// "type/P40-8Q"), its first steps, and the preview a dry run answers with. `blocked` says why it
// cannot run now ("" when it can); a dry run still shows the preview.
struct PlannedOperation {
  std::string target;
  std::vector<StepSpec> steps;
  nlohmann::json preview;
  std::string blocked;
};

// Plans `request` on the fleet as it is; call under the placement lock. NotFound (with the field)
// for a VM, host or GPU the fleet does not have; InvalidArgument for a carving the board cannot
// take.
absl::StatusOr<PlannedOperation> PlanOperation(const OperationRequest& request, FleetState& state,
                                               const core::Catalog& catalog);

// Why a GPU of `board` on `host` cannot run in `mode` (with `type` for equal-size), or "" when it
// can: MIG needs a MIG board, mixed-size a board and a manager of vGPU 17 or later.
[[nodiscard]] std::string CarvingProblem(const core::Catalog& catalog, const planner::Host& host,
                                         const core::Board& board, std::string_view mode,
                                         const core::VgpuType* type);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATION_PLAN_H_
