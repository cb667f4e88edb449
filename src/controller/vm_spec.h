#ifndef GPUFLEET_CONTROLLER_VM_SPEC_H_
#define GPUFLEET_CONTROLLER_VM_SPEC_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"
#include "planner/model.h"

namespace gpufleet::controller {

// A VM's vGPU request as POST /api/v1/vms accepts it, in canonical form (the catalog's type and
// board spellings), and as the store keeps it in Vm::spec_json.
struct RequirementSpec {
  int min_framebuffer_gb = 0;
  bool cuda = false;
  std::string series;               // "", "Q", "C", "B", "A"
  std::vector<std::string> boards;  // board prefixes; empty = any
};

struct VmSpec {
  std::string name;
  std::string type;  // canonical type name ("P40-8Q"); "" when `requirement` is set
  std::optional<RequirementSpec> requirement;
  int vgpus = 1;
  std::string anti_affinity;
  std::string license;  // edition id in the catalog's spelling; "" = the type's default
};

inline constexpr int kMaxVgpusPerVm = 16;

// Decodes and validates a request body: exactly one of "type" (any spelling ResolveType accepts)
// and "requirement"; unknown keys, boards, series and editions are InvalidArgument naming the
// field ("type: unknown vGPU type 'P40-9Q'; did you mean P40-8Q?"). Pure.
absl::StatusOr<VmSpec> DecodeVmSpec(const nlohmann::json& body, const core::Catalog& catalog);
[[nodiscard]] nlohmann::json EncodeVmSpec(const VmSpec& spec);

// The planner's VM for a spec (pointers into `catalog`). Fails only for a spec that no longer
// resolves (a stored spec read with another catalog).
absl::StatusOr<planner::Vm> ToPlannerVm(const VmSpec& spec, const core::Catalog& catalog);

// What a refusal names: "P40-8Q", "2 x P40-8Q", "a vGPU with >= 8 GB".
[[nodiscard]] std::string DescribeRequest(const VmSpec& spec);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_VM_SPEC_H_
