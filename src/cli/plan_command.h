#ifndef GPUFLEET_CLI_PLAN_COMMAND_H_
#define GPUFLEET_CLI_PLAN_COMMAND_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"
#include "planner/planner.h"

namespace gpufleet::cli {

// Input files of the plan commands are bounded like the catalog.
inline constexpr std::size_t kMaxPlanFileBytes = 16 << 20;

// Raw flag values of `gpufleet plan`; RunPlan validates them so that errors name their flag.
struct PlanCommandOptions {
  std::string cluster;                // path of the cluster file (required)
  std::optional<std::string> demand;  // path of the demand file
  std::string policy = "fragmentation";
  bool from_scratch = false;
};

// `gpufleet plan`: reads the cluster (and demand) files through ctx.fs, carves and places the
// demand, and prints the GPUs with their carving and VMs, the rejected VMs with reasons, the lower
// bound per board with the plan's gap, and the stranded capacity. Sets ctx.exit_code to 1 when a
// VM could not be placed. Returns InvalidArgument/NotFound for bad flags or files (each file error
// names the file, line, column and field).
absl::Status RunPlan(Context& ctx, const PlanCommandOptions& options, std::ostream& out);

// Shared by the plan subcommands: reads and decodes a cluster file through ctx.fs and refuses a
// state that already breaks a planner rule. Errors name the flag or the file position.
absl::StatusOr<planner::Cluster> LoadClusterFile(const Context& ctx, const std::string& path);
// "fragmentation" (or "fragmentation-aware"), "spread", "consolidate"; errors name --policy.
absl::StatusOr<planner::Policy> ParsePolicyFlag(std::string_view text);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_PLAN_COMMAND_H_
