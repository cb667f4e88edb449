#ifndef GPUFLEET_CLI_COMPAT_COMMAND_H_
#define GPUFLEET_CLI_COMPAT_COMMAND_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/context.h"

namespace gpufleet::cli {

// Raw flag values; RunCompat parses them so that every error names its flag.
struct CompatOptions {
  std::optional<std::string> board, host_driver, guest_driver, guest_os, cuda, release, license;
  std::vector<std::string> profiles;
  std::optional<int> feature_type;
};

struct MigrationOptions {
  std::string hypervisor = "kvm";
  std::optional<std::string> src_host_driver, dst_host_driver, guest_driver, src_profile,
      dst_profile, src_ecc, dst_ecc, hotmigrate;
};

// `gpufleet compat`: prints every rule checked with verdict, reason and sources. Sets
// ctx.exit_code to 1 when a rule fails; returns InvalidArgument/NotFound for bad flags.
absl::Status RunCompat(Context& ctx, const CompatOptions& options, std::ostream& out);
// `gpufleet compat migration`: can a VM with this vGPU move between the two hosts?
absl::Status RunCompatMigration(Context& ctx, const MigrationOptions& options, std::ostream& out);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_COMPAT_COMMAND_H_
