#ifndef GPUFLEET_CLI_ONLINE_PLANS_H_
#define GPUFLEET_CLI_ONLINE_PLANS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct HostMaintenanceOptions {
  std::string host;
  bool dry_run = false;
};

// `gpufleet host maintenance HOST --dry-run`: the controller's evacuation plan (POST
// /api/v1/plans/evacuate) - the live migrations that would empty the host and the VMs that cannot
// move, with reasons. Sets ctx.exit_code 1 when some VM cannot move. The maintenance itself is a
// durable operation (RunOperationStart with kind evacuate).
absl::Status RunHostMaintenance(Context& ctx, const HostMaintenanceOptions& options,
                                std::ostream& out);

// `gpufleet ha check`: can every host fail and its VMs restart elsewhere (POST /api/v1/plans/ha)?
// Sets ctx.exit_code 1 when not (N+1 is not met), with the spare instances per type it lacks.
absl::Status RunHaCheck(Context& ctx, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_PLANS_H_
