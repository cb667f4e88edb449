#ifndef GPUFLEET_CLI_CATALOG_COMMAND_H_
#define GPUFLEET_CLI_CATALOG_COMMAND_H_

#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

struct CatalogOptions {
  enum class What { kBoards, kTypes, kReleases, kCuda, kEditions, kSources };
  What what = What::kBoards;
  std::optional<std::string> board;   // any board spelling; filters types (and boards)
  std::optional<std::string> series;  // Q, C, B or A; filters types
  std::optional<std::string> branch;  // "15" or "15.x"; filters releases
  bool mig_only = false;              // types: only MIG-backed
};

// `gpufleet catalog boards|types|releases|cuda|editions|sources`: the built-in (or --catalog)
// facts, each row with its sources; inferred values are marked '*' in tables and listed under
// "inferred" in JSON/YAML.
absl::Status RunCatalog(Context& ctx, const CatalogOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_CATALOG_COMMAND_H_
