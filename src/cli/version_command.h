#ifndef GPUFLEET_CLI_VERSION_COMMAND_H_
#define GPUFLEET_CLI_VERSION_COMMAND_H_

#include <ostream>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

// `gpufleet version`: the program's version and a summary of the catalog in use (built-in or
// loaded with --catalog), so bug reports say which facts produced a verdict.
absl::Status RunVersion(Context& ctx, bool catalog_from_file, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_VERSION_COMMAND_H_
