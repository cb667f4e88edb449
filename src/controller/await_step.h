#ifndef GPUFLEET_CONTROLLER_AWAIT_STEP_H_
#define GPUFLEET_CONTROLLER_AWAIT_STEP_H_

#include <string>

#include "absl/status/statusor.h"
#include "controller/context.h"
#include "controller/operation_steps.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller::steps {

// An `await` step (detail: vm, host, deadline_unix): done when every desired vGPU of the VM is
// observed on `host` and, after a live migration, the source's agent has reported migrating it
// (result: observed_at), skipped when the VM was deleted or moved on since,
// waiting before the deadline, FailedPrecondition after it.
absl::StatusOr<StepOutcome> ActAwait(const Context& c, const std::string& op_id,
                                     const store::OperationStep& step, const nlohmann::json& d);

}  // namespace gpufleet::controller::steps

#endif  // GPUFLEET_CONTROLLER_AWAIT_STEP_H_
