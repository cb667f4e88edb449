#ifndef GPUFLEET_CONTROLLER_OPERATION_STEPS_H_
#define GPUFLEET_CONTROLLER_OPERATION_STEPS_H_

#include "absl/status/status.h"
#include "controller/context.h"
#include "store/entities.h"

namespace gpufleet::controller {

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
absl::Status ActStep(const Context& context, const std::string& op_id, store::OperationStep step);

// Whether a done step of this kind has something to undo when its operation fails or is
// cancelled (maintenance, hold).
[[nodiscard]] bool StepUndoable(std::string_view kind);
// Restores what a done step changed (the host's previous state, GPUs held) and marks it
// rolled-back, in one transaction.
absl::Status UndoStep(const Context& context, const std::string& op_id, store::OperationStep step);

// Whether a failed step of this kind lets the operation go on (an HA restart tries every VM).
[[nodiscard]] bool StepBestEffort(std::string_view kind);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATION_STEPS_H_
