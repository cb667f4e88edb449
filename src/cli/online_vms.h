#ifndef GPUFLEET_CLI_ONLINE_VMS_H_
#define GPUFLEET_CLI_ONLINE_VMS_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/context.h"

namespace gpufleet::cli {

// `gpufleet vms`: every VM with its vGPUs (type, host, GPU, mdev UUID), one row per vGPU; pages
// through GET /api/v1/vms. JSON/YAML give {"items": [...]} as the API writes each VM.
absl::Status RunVms(Context& ctx, std::ostream& out);

// Raw flag values of `gpufleet vm create`; RunVmCreate validates them so errors name the flag.
struct VmCreateOptions {
  std::string name;
  std::optional<std::string> type;             // --type P40-8Q
  std::optional<std::string> min_framebuffer;  // --min-framebuffer 8G
  bool cuda = false;
  std::optional<std::string> series;
  std::vector<std::string> boards;
  std::optional<int> vgpus;
  std::optional<std::string> anti_affinity;
  std::optional<std::string> license;
};

// `gpufleet vm create`: POST /api/v1/vms, then prints where the vGPUs went. A refusal (no place,
// name taken) is FailedPrecondition/AlreadyExists with the controller's explanation.
absl::Status RunVmCreate(Context& ctx, const VmCreateOptions& options, std::ostream& out);

struct VmDeleteOptions {
  std::string name;
  // Delete only at this version (the VM's "version"); otherwise the current ETag is fetched.
  std::optional<int> if_version;
};

// `gpufleet vm delete`: GET for the ETag, then DELETE with If-Match; a change in between is
// Aborted (412).
absl::Status RunVmDelete(Context& ctx, const VmDeleteOptions& options, std::ostream& out);

// "8G", "8GB", "8GiB", "8" (GB) or "8192M" as whole GB; errors name --min-framebuffer.
absl::StatusOr<int> ParseFramebufferGb(std::string_view text);

}  // namespace gpufleet::cli

#endif  // GPUFLEET_CLI_ONLINE_VMS_H_
