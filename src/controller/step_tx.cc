#include "controller/step_tx.h"

#include <algorithm>

#include "common/json.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::controller::steps {

using store::OperationStep;
using store::StepState;
using store::WriteTx;

absl::StatusOr<nlohmann::json> DetailOf(const OperationStep& step) {
  GPUFLEET_ASSIGN_OR_RETURN(
      nlohmann::json d,
      ParseJson(step.detail_json, StrCat("operation ", step.operation, " step ", step.index)));
  if (!d.is_object()) {
    return absl::InternalError(
        StrCat("operation ", step.operation, " step ", step.index, ": detail is not an object"));
  }
  return d;
}

std::string Str(const nlohmann::json& j, std::string_view key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool Flag(const nlohmann::json& j, std::string_view key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// Inside a step's transaction: the operation, which must still want its steps done.
absl::StatusOr<store::Operation> StillWanted(WriteTx& tx, const std::string& op_id) {
  GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, tx.GetOperation(op_id));
  if (op.cancel_requested) {
    return absl::CancelledError(StrCat("operation ", op_id, " was cancelled"));
  }
  return op;
}

absl::Status MarkStep(WriteTx& tx, OperationStep step, StepState state, nlohmann::json detail,
                      nlohmann::json result) {
  detail["result"] = std::move(result);
  step.state = state;
  step.detail_json = detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return tx.UpdateStep(step);
}

// Appends steps after the last one of the operation.
absl::Status AppendSteps(WriteTx& tx, const std::string& op_id,
                         const std::vector<std::pair<std::string, nlohmann::json>>& steps) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<OperationStep> existing, tx.ListSteps(op_id));
  int next = 0;
  for (const OperationStep& s : existing) next = std::max(next, s.index + 1);
  for (const auto& [kind, detail] : steps) {
    OperationStep row;
    row.operation = op_id;
    row.index = next++;
    row.kind = kind;
    row.state = StepState::kPending;
    row.detail_json = detail.dump();
    GPUFLEET_RETURN_IF_ERROR(tx.CreateStep(row));
  }
  return absl::OkStatus();
}

}  // namespace gpufleet::controller::steps
