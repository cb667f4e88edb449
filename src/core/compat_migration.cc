// Live-migration rules: can a running vGPU VM move from one host to another?

#include "common/strings.h"
#include "core/compat.h"
#include "core/compat_rules.h"

namespace gpufleet::core {
namespace {

using internal::ResolvedDriver;

std::string OnOff(bool b) { return b ? "on" : "off"; }

}  // namespace

absl::StatusOr<CompatReport> CheckMigration(const Catalog& catalog, const MigrationQuery& q) {
  CompatReport report;
  auto add = [&](Finding f) { report.findings.push_back(std::move(f)); };
  const bool kvm = q.hypervisor == Hypervisor::kKvm;

  const VgpuType* src = nullptr;
  const VgpuType* dst = nullptr;
  if (q.src_profile) {
    absl::StatusOr<const VgpuType*> t = catalog.ResolveType(*q.src_profile);
    if (!t.ok()) return t.status();
    src = *t;
  }
  if (q.dst_profile) {
    absl::StatusOr<const VgpuType*> t = catalog.ResolveType(*q.dst_profile);
    if (!t.ok()) return t.status();
    dst = *t;
  }
  if (src || dst) {
    Finding f{"migration-profile", "", Verdict::kUnknown, "", {internal::kSrcAieMigration}, false};
    if (!src || !dst) {
      f.subject = (src ? src : dst)->name;
      f.reason = StrCat("not checked: needs ", src ? "--dst-profile" : "--src-profile");
    } else {
      f.subject = StrCat(src->name, " -> ", dst->name);
      const Board* sb = catalog.BoardOf(*src);
      const Board* db = catalog.BoardOf(*dst);
      if (sb != db) {
        f.verdict = Verdict::kFail;
        f.reason = StrCat("the boards differ (", sb->name, " -> ", db->name,
                          "); vGPU VMs migrate only between GPUs of the same board (NVIDIA "
                          "excludes e.g. H100 <-> H200 and 80 GB PCIe <-> 94 GB NVL)");
      } else if (src != dst) {
        f.verdict = Verdict::kFail;
        f.inferred = true;
        f.reason =
            "the destination must offer the same vGPU type as the source; re-carving "
            "during a migration is not possible";
      } else {
        f.verdict = Verdict::kOk;
        f.inferred = true;
        f.reason = "same vGPU type on both hosts";
      }
    }
    add(std::move(f));
  }

  std::optional<ResolvedDriver> sh, dh, guest;
  if (q.src_host_driver) sh = internal::ResolveHostDriver(catalog, *q.src_host_driver);
  if (q.dst_host_driver) dh = internal::ResolveHostDriver(catalog, *q.dst_host_driver);
  if (q.guest_driver) guest = internal::ResolveGuestDriver(catalog, *q.guest_driver);
  if (sh || dh) {
    Finding f{"migration-driver", "", Verdict::kUnknown, "", {}, false};
    if (!sh || !dh) {
      f.subject = (sh ? *sh : *dh).Describe();
      f.reason = StrCat("not checked: needs ", sh ? "--dst-host-driver" : "--src-host-driver");
    } else {
      f.subject = StrCat(sh->Describe(), " -> ", dh->Describe());
      const bool same = sh->version == dh->version;
      if (kvm) {
        f.sources = {internal::kSrcRhelMigration};
        f.verdict = same ? Verdict::kOk : Verdict::kFail;
        f.reason = same ? "identical vGPU manager versions on both KVM hosts"
                        : "on KVM the migration fails when the vGPU manager versions differ; "
                          "upgrade both hosts to the same version first";
      } else {
        f.sources = {internal::kSrcVmotion};
        f.verdict = same ? Verdict::kOk : Verdict::kWarn;
        f.reason = same ? "identical vGPU manager versions on both hosts"
                        : "the managers differ; the guest driver must suit the destination "
                          "manager (see host-guest); keep hosts of a cluster on one version";
      }
    }
    add(std::move(f));
  }
  if (guest) {
    for (const auto& [host, label] : {std::pair{&sh, "source"}, std::pair{&dh, "destination"}}) {
      if (!*host) continue;
      Finding f = internal::JudgeHostGuest(catalog, **host, *guest);
      f.subject = StrCat(label, ": ", f.subject);
      add(std::move(f));
    }
  }
  if (q.src_ecc || q.dst_ecc) {
    Finding f{"migration-ecc", "", Verdict::kUnknown, "", {}, true};
    if (!q.src_ecc || !q.dst_ecc) {
      f.subject = "ECC";
      f.reason = StrCat("not checked: needs ", q.src_ecc ? "--dst-ecc" : "--src-ecc");
    } else {
      f.subject = StrCat("ECC ", OnOff(*q.src_ecc), " -> ", OnOff(*q.dst_ecc));
      f.verdict = *q.src_ecc == *q.dst_ecc ? Verdict::kOk : Verdict::kWarn;
      f.reason =
          *q.src_ecc == *q.dst_ecc
              ? "same ECC setting on both GPUs"
              : "ECC differs between the GPUs. No NVIDIA statement on ECC and live migration was "
                "found, so this is not known to fail; until it is tested on these hosts, keep "
                "ECC identical across hosts that exchange VMs";
    }
    add(std::move(f));
  }
  if (!kvm) {
    Finding f{"migration-hotmigrate",  "vgpu.hotmigrate.enabled",
              Verdict::kUnknown,       "",
              {internal::kSrcVmotion}, false};
    if (!q.hotmigrate) {
      f.reason = "not checked: needs --hotmigrate true|false (vCenter advanced setting)";
    } else if (*q.hotmigrate) {
      f.verdict = Verdict::kOk;
      f.reason = "vMotion of vGPU VMs is enabled in vCenter";
    } else {
      f.verdict = Verdict::kFail;
      f.reason =
          "vCenter refuses vMotion of vGPU VMs until the advanced setting "
          "vgpu.hotmigrate.enabled is true";
    }
    add(std::move(f));
  }
  return report;
}

}  // namespace gpufleet::core
