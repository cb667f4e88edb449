#ifndef GPUFLEET_CONTROLLER_OPERATION_REQUEST_H_
#define GPUFLEET_CONTROLLER_OPERATION_REQUEST_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

// What a caller may ask the controller to do as a durable operation.
enum class OperationKind {
  kMigrate,          // live-migrate one VM (to a named host, or wherever the planner chooses)
  kEvacuate,         // maintenance: the host takes no new VMs, and every VM on it moves away
  kExitMaintenance,  // the host takes new VMs again
  kHaRestart,        // restart the VMs of a down host elsewhere (cold)
  kRecarve,          // change an empty GPU's mode or carving
  kDefrag,           // migrations and re-carvings that make room for `count` instances of a type
};

[[nodiscard]] std::string_view OperationKindName(OperationKind kind);  // "migrate", "ha-restart"
absl::StatusOr<OperationKind> ParseOperationKind(std::string_view name);

// The body of POST /api/v1/operations, decoded and checked for shape (names, ranges, a known
// type). Whether the objects exist and the action is possible is the planner's question.
struct OperationRequest {
  OperationKind kind = OperationKind::kMigrate;
  bool dry_run = false;
  std::string vm;    // migrate
  std::string host;  // evacuate, exit-maintenance, ha-restart, recarve
  std::string to;    // migrate: destination host; "" = the planner chooses
  std::string gpu;   // recarve: the GPU's PCI address on `host`
  std::string mode;  // recarve: unconfigured, equal-size, mig, mixed-size, passthrough
  std::string type;  // recarve (equal-size): the vGPU type; defrag: the type to make room for
  int count = 1;     // defrag: instances of `type`
  std::optional<int> stun_budget_seconds;  // migrate, evacuate: per VM, 1..3600

  // The canonical JSON form (what the operation row keeps as its parameters).
  [[nodiscard]] nlohmann::json ToJson() const;
};

// Decodes a request body:
//   {"kind": "migrate",    "vm": NAME, "to"?: HOST, "stun_budget_seconds"?: N, "dry_run"?: B}
//   {"kind": "evacuate",   "host": HOST, "stun_budget_seconds"?: N, "dry_run"?: B}
//   {"kind": "exit-maintenance", "host": HOST, "dry_run"?: B}
//   {"kind": "ha-restart", "host": HOST, "dry_run"?: B}
//   {"kind": "recarve",    "host": HOST, "gpu": PCI, "mode": MODE, "type"?: TYPE, "dry_run"?: B}
//   {"kind": "defrag",     "type": TYPE, "count"?: 1..64, "dry_run"?: B}
// Types may be given in any spelling the catalog resolves and come back canonical. Errors are
// InvalidArgument with the offending field attached (status_field.h).
absl::StatusOr<OperationRequest> DecodeOperationRequest(const nlohmann::json& body,
                                                        const core::Catalog& catalog);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATION_REQUEST_H_
