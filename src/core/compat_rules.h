#ifndef GPUFLEET_CORE_COMPAT_RULES_H_
#define GPUFLEET_CORE_COMPAT_RULES_H_

// Internal to src/core: the individual rules behind CheckCompatibility and CheckMigration, shared
// by both so that a migration re-uses exactly the host/guest judgement of a single host.

#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/compat.h"

namespace gpufleet::core::internal {

// Source ids the rules cite for facts that live in the rules rather than in a catalog row.
inline constexpr char kSrcLifecycle[] = "LIFECYCLE";
inline constexpr char kSrcCudaMvc[] = "CUDA-MVC";
inline constexpr char kSrcCudaToolkits[] = "CUDA-RN";
inline constexpr char kSrcCudaVgpu[] = "CUDA-VGPU";
inline constexpr char kSrcLicensing[] = "LICENSING-GUIDES";
inline constexpr char kSrcGridd[] = "GRIDD-TEMPLATE";
inline constexpr char kSrcUnlicensed[] = "NV-LICENSING-HELP";
inline constexpr char kSrcPlacement[] = "CITRIX-VGPU-PROFILE";
inline constexpr char kSrcRhelMigration[] = "RHEL-LIVEMIG";
inline constexpr char kSrcVmotion[] = "VSPHERE-VMOTION";
inline constexpr char kSrcAieMigration[] = "AIE8-LIVEMIG";
// Every id above; the catalog validation test checks that each one exists.
std::vector<std::string> RuleSourceIds();

// The release a driver resolves to, with how it was found, for explanations.
struct ResolvedDriver {
  DriverVersion version;
  DriverMatch match;
  bool windows = false;
  [[nodiscard]] std::string Describe() const;  // "525.105.14 (15.2, R525)"
};

ResolvedDriver ResolveHostDriver(const Catalog& catalog, const DriverVersion& v);
// The guest's OS is taken from the release table (a Windows build number) unless `os` says.
ResolvedDriver ResolveGuestDriver(const Catalog& catalog, const DriverVersion& v,
                                  std::optional<GuestOs> os = std::nullopt);

// Judges a vGPU manager + guest driver pair by the manager branch's documented policy (or the
// nearest older documented policy, marked inferred).
Finding JudgeHostGuest(const Catalog& catalog, const ResolvedDriver& host,
                       const ResolvedDriver& guest);

}  // namespace gpufleet::core::internal

#endif  // GPUFLEET_CORE_COMPAT_RULES_H_
