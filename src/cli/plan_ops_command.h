#ifndef GPUFLEET_CLI_PLAN_OPS_COMMAND_H_
#define GPUFLEET_CLI_PLAN_OPS_COMMAND_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

// Raw flag values of `gpufleet plan evacuate|ha|defrag`; the Run functions validate them.
struct PlanOpsOptions {
  std::string cluster;
  std::string policy = "fragmentation";
  std::string host;                   // evacuate
  std::optional<double> stun_budget;  // evacuate, defrag: seconds per VM
  std::string target;                 // defrag: the type to make room for
  int count = 1;                      // defrag
};

// `gpufleet plan evacuate`: the live migrations that empty a host for maintenance, each checked by
// the compatibility engine, with stun-time estimates; VMs that cannot move, with reasons. Exit 1
// when a VM is stuck.
absl::Status RunEvacuate(Context& ctx, const PlanOpsOptions& options, std::ostream& out);
// `gpufleet plan ha`: for every single-host failure, can its vGPU VMs restart elsewhere; the
// spare capacity per type that N+1 lacks and where to keep it. Exit 1 when not N+1.
absl::Status RunHa(Context& ctx, const PlanOpsOptions& options, std::ostream& out);
// `gpufleet plan defrag`: the fewest migrations and re-carvings that make room for N instances of
// a type. Exit 1 when it cannot be done.
absl::Status RunDefrag(Context& ctx, const PlanOpsOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_PLAN_OPS_COMMAND_H_
