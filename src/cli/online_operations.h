#ifndef GPUFLEET_CLI_ONLINE_OPERATIONS_H_
#define GPUFLEET_CLI_ONLINE_OPERATIONS_H_

// Durable operations from the CLI: start one (vm migrate, host maintenance, host recarve,
// ha restart, defrag), follow its progress, list, show and cancel (docs/operations.md).

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"
#include "nlohmann/json.hpp"

namespace gpufleet::cli {

struct OperationStartOptions {
  bool dry_run = false;
  bool no_wait = false;  // print the operation's id and return at once
  int poll_ms = 250;     // how often progress is read while waiting
};

// POST /api/v1/operations with `request` ({"kind": ..., ...}). A dry run prints the plan (moves
// with stun times, VMs that cannot move, re-carvings) and sets exit code 1 when it cannot run.
// Otherwise prints the operation's id, then (unless no_wait) each step as it ends, and the end
// state; exit code 1 when it failed or was cancelled. `what` names the command in messages.
absl::Status RunOperationStart(Context& ctx, nlohmann::json request,
                               const OperationStartOptions& options, const std::string& what,
                               std::ostream& out);

struct OperationsListOptions {
  std::string state;  // "" = any
  std::string kind;   // "" = any
  int limit = 50;
  bool watch = false;  // then follow every pending or running operation until all have ended
  int poll_ms = 500;
};

// `gpufleet operations`: newest first, with progress.
absl::Status RunOperationsList(Context& ctx, const OperationsListOptions& options,
                               std::ostream& out);

// `gpufleet operations show ID [--wait]`: the operation with every step.
absl::Status RunOperationShow(Context& ctx, const std::string& id, bool wait, std::ostream& out);

// `gpufleet operations cancel ID`.
absl::Status RunOperationCancel(Context& ctx, const std::string& id, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_OPERATIONS_H_
