// Rules about driver versions: which release a driver belongs to, whether a vGPU manager and a
// guest driver may be combined, and whether a guest driver can run a CUDA toolkit.

#include <algorithm>

#include "common/strings.h"
#include "core/compat_rules.h"

namespace gpufleet::core::internal {
namespace {

std::string AllowanceText(HostGuestAllowance a) {
  switch (a) {
    case HostGuestAllowance::kSameRelease:
      return "the same release";
    case HostGuestAllowance::kSameBranch:
      return "any release of the same branch";
    case HostGuestAllowance::kPreviousBranch:
      return "a guest from the previous branch";
    case HostGuestAllowance::kPreviousLtsBranch:
      return "a guest from the previous LTS branch";
  }
  return "?";
}

bool Allows(const std::vector<HostGuestAllowance>& policy, HostGuestAllowance a) {
  return std::find(policy.begin(), policy.end(), a) != policy.end();
}

// The documented policy that governs a manager branch: its own, or else the nearest older
// branch's (an inference, flagged as such).
const ReleaseBranch* PolicyBranch(const Catalog& catalog, int branch, bool* inferred) {
  *inferred = false;
  const ReleaseBranch* best = nullptr;
  for (const ReleaseBranch& b : catalog.releases()) {
    if (b.branch <= branch && b.host_guest_policy && (!best || b.branch > best->branch)) best = &b;
  }
  if (best != nullptr && best->branch != branch) *inferred = true;
  return best;
}

// The greatest LTS branch older than `branch`, or 0.
int PreviousLtsBranch(const Catalog& catalog, int branch) {
  int prev = 0;
  for (const ReleaseBranch& b : catalog.releases()) {
    if (b.branch < branch && b.lts.value_or(false)) prev = std::max(prev, b.branch);
  }
  return prev;
}

}  // namespace

std::vector<std::string> RuleSourceIds() {
  return {kSrcLifecycle,     kSrcCudaMvc, kSrcCudaToolkits, kSrcCudaVgpu,
          kSrcLicensing,     kSrcGridd,   kSrcUnlicensed,   kSrcPlacement,
          kSrcRhelMigration, kSrcVmotion, kSrcAieMigration};
}

ResolvedDriver ResolveHostDriver(const Catalog& catalog, const DriverVersion& v) {
  return ResolvedDriver{v, catalog.FindByHostDriver(v), false};
}

ResolvedDriver ResolveGuestDriver(const Catalog& catalog, const DriverVersion& v,
                                  std::optional<GuestOs> os) {
  bool windows = false;
  DriverMatch m = catalog.FindByGuestDriver(v, &windows);
  if (os) windows = *os == GuestOs::kWindows;
  return ResolvedDriver{v, m, windows};
}

std::string ResolvedDriver::Describe() const {
  std::string out = version.ToString();
  if (match.row != nullptr && match.row->version) {
    StrAppend(&out, " (", match.row->version->ToString(), ", ", match.branch->driver_branch, ")");
  } else if (match.branch != nullptr) {
    StrAppend(&out, " (", match.branch->branch, ".x, ", match.branch->driver_branch, ")");
  }
  return out;
}

Finding JudgeHostGuest(const Catalog& catalog, const ResolvedDriver& host,
                       const ResolvedDriver& guest) {
  Finding f;
  f.rule = "host-guest";
  f.subject = StrCat("manager ", host.Describe(), " + guest ", guest.Describe());
  if (host.match.branch == nullptr || guest.match.branch == nullptr) {
    f.verdict = Verdict::kUnknown;
    f.reason = StrCat(host.match.branch == nullptr ? "the vGPU manager " : "the guest driver ",
                      "version is not in the catalog's release tables, so its branch is "
                      "unknown; check the versions or pass --catalog with a newer catalog");
    return f;
  }
  const int h = host.match.branch->branch;
  const int g = guest.match.branch->branch;
  bool inferred = false;
  const ReleaseBranch* pb = PolicyBranch(catalog, h, &inferred);
  if (pb == nullptr) {
    f.verdict = Verdict::kUnknown;
    f.reason = StrCat("no host/guest policy is documented for branch ", h,
                      ".x or any older branch in the catalog");
    return f;
  }
  const std::vector<HostGuestAllowance>& policy = *pb->host_guest_policy;
  f.sources = pb->host_guest_policy_sources;
  f.inferred = inferred;
  std::vector<std::string> allowed;
  for (HostGuestAllowance a : policy) allowed.push_back(AllowanceText(a));
  const std::string policy_text = StrCat(
      inferred ? StrCat("the policy documented for ", pb->branch, ".x, assumed for ", h, ".x,")
               : StrCat("the ", h, ".x policy"),
      " allows ", StrJoin(allowed, ", "));

  const bool same_row =
      host.match.row != nullptr && guest.match.row != nullptr && host.match.row == guest.match.row;
  if (g > h) {
    f.verdict = Verdict::kFail;
    f.reason = StrCat("the guest driver's branch ", g, ".x is newer than the vGPU manager's ", h,
                      ".x; a guest driver newer than the manager does not load (the vGPU "
                      "fails to initialise at boot). Upgrade the host or install a ",
                      h, ".x guest driver");
  } else if (g == h && (same_row || Allows(policy, HostGuestAllowance::kSameBranch))) {
    f.verdict = Verdict::kOk;
    f.reason = same_row ? "manager and guest driver come from the same release"
                        : StrCat("both drivers are from branch ", h, ".x, and ", policy_text);
    if (same_row && !Allows(policy, HostGuestAllowance::kSameRelease) &&
        !Allows(policy, HostGuestAllowance::kSameBranch)) {
      f.verdict = Verdict::kWarn;
      f.reason = StrCat("same release, but ", policy_text);
    }
  } else if (g == h) {
    f.verdict = Verdict::kWarn;
    f.reason = StrCat("different releases of branch ", h, ".x: ", policy_text,
                      "; mixing releases within the branch is not listed, so use the guest "
                      "driver of the manager's own release");
  } else if (g == h - 1 && Allows(policy, HostGuestAllowance::kPreviousBranch)) {
    f.verdict = Verdict::kOk;
    f.reason = StrCat("a ", h, ".x manager runs guests of the previous branch ", g, ".x (",
                      policy_text, "); the guest only gets ", g, ".x features");
  } else if (g == PreviousLtsBranch(catalog, h) && host.match.branch->lts.value_or(false) &&
             Allows(policy, HostGuestAllowance::kPreviousLtsBranch)) {
    f.verdict = Verdict::kOk;
    f.reason = StrCat("a ", h, ".x LTS manager runs guests of the previous LTS branch ", g, ".x (",
                      policy_text, ")");
  } else {
    f.verdict = Verdict::kFail;
    f.reason = StrCat("a ", g, ".x guest driver is not supported by a ", h,
                      ".x manager: ", policy_text, ". Install a guest driver from ", h, ".x");
  }
  return f;
}

}  // namespace gpufleet::core::internal
