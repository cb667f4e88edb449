#ifndef GPUFLEET_CLI_ONLINE_INVENTORY_H_
#define GPUFLEET_CLI_ONLINE_INVENTORY_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

// `gpufleet hosts`: every host the controller knows with its state, GPUs, vGPU manager, agent
// and last heartbeat (GET /api/v1/hosts). JSON/YAML give the API's document unchanged.
absl::Status RunHosts(Context& ctx, std::ostream& out);

struct GpusOptions {
  std::optional<std::string> host;
  std::optional<std::string> board;  // any spelling the controller's catalog resolves
};

// `gpufleet gpus`: the GPUs, optionally of one host or board (GET /api/v1/gpus).
absl::Status RunGpus(Context& ctx, const GpusOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_INVENTORY_H_
