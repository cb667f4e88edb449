#ifndef GPUFLEET_CONTROLLER_STEP_TX_H_
#define GPUFLEET_CONTROLLER_STEP_TX_H_

// The pieces every operation step's transaction is made of (operation_steps.cc, await_step.cc):
// reading a step's detail, re-checking that the operation still wants its steps, marking a step
// with its result, appending steps.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace gpufleet::controller::steps {

// The step's detail_json, which must be an object.
absl::StatusOr<nlohmann::json> DetailOf(const store::OperationStep& step);
// j[key] when it is a string (a bool), else "" (false).
[[nodiscard]] std::string Str(const nlohmann::json& j, std::string_view key);
[[nodiscard]] bool Flag(const nlohmann::json& j, std::string_view key);
// Inside a step's transaction: the operation, which must still want its steps done (Cancelled
// once a cancel was requested).
absl::StatusOr<store::Operation> StillWanted(store::WriteTx& tx, const std::string& op_id);
// Writes the step in `state` with `result` as detail["result"].
absl::Status MarkStep(store::WriteTx& tx, store::OperationStep step, store::StepState state,
                      nlohmann::json detail, nlohmann::json result);
// Appends steps (kind, detail) after the last one of the operation.
absl::Status AppendSteps(store::WriteTx& tx, const std::string& op_id,
                         const std::vector<std::pair<std::string, nlohmann::json>>& steps);

}  // namespace gpufleet::controller::steps

#endif  // GPUFLEET_CONTROLLER_STEP_TX_H_
