#ifndef GPUFLEET_CONTROLLER_OPERATION_STEPS_H_
#define GPUFLEET_CONTROLLER_OPERATION_STEPS_H_

#include "absl/status/status.h"
#include "controller/context.h"
#include "store/entities.h"

namespace gpufleet::controller {

// What acting on a step did: its state changed (done, with its effect), or it waits for
// something outside the controller (an `await` step: the agent has not reported yet) and is to
// be acted on again later.
enum class StepOutcome { kActed, kWaiting };

// Carries out one step of operation `op_id` (kinds: operation_plan.h). The step's effect, its
// `done` mark (with what it did in detail_json's "result") and its events are one store
// transaction, so a step either happened and says so, or did not happen at all: a runner that
// dies in between finds it `running` and simply acts again. The transaction also re-reads the
// operation and refuses (Cancelled) once a cancel was requested. The placement engine is
// updated after the commit, under the same lock as the decision.
//
// `step` is the row as the runner last wrote it (its version is checked). Errors: Cancelled,
// FailedPrecondition (the step cannot be done now: the reason, for the operation's error),
// Unavailable (transient: try again), the store's others.
//
// A move or restart that changes where a VM runs appends an `await` step for it (after the
// operation's last step): done when every desired vGPU of the VM is observed on the host it
// was moved to, failed when Context::converge_timeout passes first. So an operation ends
// `succeeded` only when the hosts did what it asked.
absl::StatusOr<StepOutcome> ActStep(const Context& context, const std::string& op_id,
                                    store::OperationStep step);

// Whether a done step of this kind has something to undo when its operation fails or is
// cancelled (maintenance, hold).
[[nodiscard]] bool StepUndoable(std::string_view kind);
// Restores what a done step changed (the host's previous state, GPUs held) and marks it
// rolled-back, in one transaction.
absl::Status UndoStep(const Context& context, const std::string& op_id, store::OperationStep step);

// Whether a failed step of this kind lets the operation go on (an HA restart tries every VM;
// every moved VM is awaited).
[[nodiscard]] bool StepBestEffort(std::string_view kind);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATION_STEPS_H_
