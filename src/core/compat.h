#ifndef GPUFLEET_CORE_COMPAT_H_
#define GPUFLEET_CORE_COMPAT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "core/version.h"

namespace gpufleet::core {

// The compatibility engine: rules over the catalog that say whether a host vGPU manager, guest
// driver, CUDA toolkit, board, vGPU type, license and release fit together, and whether a VM can
// live-migrate between two hosts. Every finding explains itself and names its sources. Pure: the
// date is an input.

enum class Verdict { kOk, kWarn, kFail, kUnknown };
[[nodiscard]] std::string_view VerdictName(Verdict v);  // "ok", "warn", "fail", "unknown"

struct Finding {
  std::string rule;     // stable id, e.g. "host-guest", "guest-cuda", "support"
  std::string subject;  // what was checked: "host 525.105.14 + guest 525.105.17"
  Verdict verdict = Verdict::kUnknown;
  std::string reason;                // one or two sentences an operator can act on
  std::vector<std::string> sources;  // catalog Source ids
  bool inferred = false;             // true when the verdict rests on an inferred fact
};

struct CompatReport {
  std::vector<Finding> findings;
  // kFail if any finding fails, else kWarn if any warns, else kOk (unknowns do not fail).
  [[nodiscard]] Verdict Overall() const;
};

enum class GuestOs { kLinux, kWindows };

// Any subset may be given; a rule whose inputs are partly given reports kUnknown and names what is
// missing; a rule with none of its inputs is skipped.
struct CompatQuery {
  std::optional<std::string> board;          // any board spelling
  std::optional<DriverVersion> host_driver;  // vGPU manager
  std::optional<DriverVersion> guest_driver;
  std::optional<GuestOs> guest_os;  // default: inferred from the guest driver
  std::optional<CudaVersion> cuda;
  std::vector<std::string> profiles;  // any type spellings
  std::optional<ReleaseVersion> release;
  std::optional<std::string> license;  // edition id: vWS, vCS, vPC, vApps
  std::optional<int> feature_type;     // gridd.conf FeatureType
  CivilDate today;
};

// Fails only on bad input (unknown board, type or edition; InvalidArgument / NotFound naming it).
absl::StatusOr<CompatReport> CheckCompatibility(const Catalog& catalog, const CompatQuery& query);

// Whether a release branch is still supported on a day. When the catalog has no end date for the
// branch, a newer LTS branch already past its end dates it too (an older branch never outlives a
// newer LTS branch: LTS branches live 3 years, production branches 1); that answer is inferred.
struct BranchSupport {
  enum class State { kSupported, kEnded, kUnknown };
  State state = State::kUnknown;
  std::optional<YearMonth> end;  // the branch's own end, or the newer LTS branch's (inferred)
  int dated_by_branch = 0;       // the newer LTS branch used for the inference, or 0
  bool inferred = false;
  std::vector<std::string> sources;
};
[[nodiscard]] BranchSupport SupportOf(const Catalog& catalog, const ReleaseBranch& branch,
                                      const CivilDate& today);

enum class Hypervisor { kKvm, kVsphere };

struct MigrationQuery {
  Hypervisor hypervisor = Hypervisor::kKvm;
  std::optional<DriverVersion> src_host_driver;
  std::optional<DriverVersion> dst_host_driver;
  std::optional<DriverVersion> guest_driver;
  std::optional<std::string> src_profile;
  std::optional<std::string> dst_profile;
  std::optional<bool> src_ecc;
  std::optional<bool> dst_ecc;
  std::optional<bool> hotmigrate;  // vSphere: vCenter's vgpu.hotmigrate.enabled
};

absl::StatusOr<CompatReport> CheckMigration(const Catalog& catalog, const MigrationQuery& query);

}  // namespace gpufleet::core

#endif  // GPUFLEET_CORE_COMPAT_H_
