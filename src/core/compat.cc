#include "core/compat.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "common/strings.h"
#include "core/compat_rules.h"

namespace gpufleet::core {

using internal::ResolvedDriver;

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kWarn:
      return "warn";
    case Verdict::kFail:
      return "fail";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "?";
}

Verdict CompatReport::Overall() const {
  Verdict worst = Verdict::kOk;
  for (const Finding& f : findings) {
    if (f.verdict == Verdict::kFail) return Verdict::kFail;
    if (f.verdict == Verdict::kWarn) worst = Verdict::kWarn;
  }
  return worst;
}

namespace {

const char* const kMonths[] = {"January",   "February", "March",    "April",
                               "May",       "June",     "July",     "August",
                               "September", "October",  "November", "December"};

std::string MonthText(const YearMonth& ym) { return StrCat(kMonths[ym.month - 1], " ", ym.year); }

int MonthsBetween(const YearMonth& from, const CivilDate& to) {
  return (to.year - from.year) * 12 + (to.month - from.month);
}

Finding Missing(std::string rule, std::string subject, std::string what) {
  return Finding{std::move(rule),
                 std::move(subject),
                 Verdict::kUnknown,
                 StrCat("not checked: needs ", what),
                 {},
                 false};
}

class Checker {
 public:
  Checker(const Catalog& catalog, const CompatQuery& q) : catalog_(catalog), q_(q) {}

  absl::StatusOr<CompatReport> Run() {
    if (absl::Status s = Resolve(); !s.ok()) return s;
    CheckRelease();
    CheckHostGuest();
    CheckGuestCuda();
    CheckCudaOnVgpu();
    CheckBoardRelease();
    for (const VgpuType* t : profiles_) CheckProfile(*t);
    CheckProfileMix();
    CheckFeatureType();
    CheckSupport();
    return std::move(report_);
  }

 private:
  absl::Status Resolve() {
    if (q_.board) {
      absl::StatusOr<const Board*> b = catalog_.ResolveBoard(*q_.board);
      if (!b.ok()) return b.status();
      board_ = *b;
    }
    for (const std::string& p : q_.profiles) {
      // A sysfs description names no board, so --board narrows it; names are resolved alone so
      // that a type of another board becomes a failing profile-board rule, not an error.
      absl::StatusOr<const VgpuType*> t =
          catalog_.ResolveType(p, LooksLikeMdevDescription(p) ? board_ : nullptr);
      if (!t.ok()) return t.status();
      if (std::find(profiles_.begin(), profiles_.end(), *t) == profiles_.end()) {
        profiles_.push_back(*t);
      }
    }
    if (q_.license) {
      edition_ = catalog_.FindEdition(*q_.license);
      if (edition_ == nullptr) {
        std::vector<std::string> ids;
        for (const Edition& e : catalog_.editions()) ids.push_back(e.id);
        return absl::InvalidArgumentError(StrCat("license edition ", QuoteForMessage(*q_.license),
                                                 " is not one of ", StrJoin(ids, ", ")));
      }
    }
    if (q_.host_driver) host_ = internal::ResolveHostDriver(catalog_, *q_.host_driver);
    if (q_.guest_driver) {
      guest_ = internal::ResolveGuestDriver(catalog_, *q_.guest_driver, q_.guest_os);
    }
    // The release that the setup runs: the one asked about, else the manager's, else the guest's.
    if (q_.release) {
      release_ = catalog_.FindRelease(*q_.release);
    } else if (host_ && host_->match.branch) {
      release_ = host_->match;
    } else if (guest_ && guest_->match.branch) {
      release_ = guest_->match;
    }
    // Without --board, the board is the one the profiles belong to (if they agree).
    if (board_ == nullptr && !profiles_.empty()) {
      const Board* b = catalog_.BoardOf(*profiles_.front());
      bool same = std::all_of(profiles_.begin(), profiles_.end(),
                              [&](const VgpuType* t) { return catalog_.BoardOf(*t) == b; });
      if (same) board_ = b;
    }
    return absl::OkStatus();
  }

  std::string ReleaseText() const {
    if (release_.row && release_.row->version) return release_.row->version->ToString();
    if (release_.branch) return StrCat(release_.branch->branch, ".x");
    return "?";
  }

  void Add(Finding f) {
    // Keep the first mention of each source, in order.
    std::vector<std::string> unique;
    for (std::string& id : f.sources) {
      if (std::find(unique.begin(), unique.end(), id) == unique.end())
        unique.push_back(std::move(id));
    }
    f.sources = std::move(unique);
    report_.findings.push_back(std::move(f));
  }

  void CheckRelease() {
    if (q_.release) {
      Finding f{"release", StrCat("release ", q_.release->ToString()), Verdict::kOk, "", {}, false};
      if (release_.branch == nullptr) {
        f.verdict = Verdict::kUnknown;
        f.reason = StrCat("branch ", q_.release->major(), ".x is not in the catalog");
      } else if (release_.row == nullptr && !q_.release->is_branch_only()) {
        f.verdict = Verdict::kUnknown;
        f.reason = StrCat("the catalog lists no release ", q_.release->ToString(), "; known ",
                          release_.branch->branch,
                          ".x releases are in "
                          "'gpufleet catalog releases'");
        f.sources = release_.branch->provenance.sources;
      } else {
        const ReleaseVersionRow* r = release_.row;
        f.reason = StrCat("branch ", release_.branch->driver_branch);
        if (r != nullptr) {
          StrAppend(&f.reason, "; KVM vGPU manager ",
                    r->vgpu_manager_kvm ? r->vgpu_manager_kvm->ToString() : "unknown",
                    ", Linux guest ", r->guest_linux ? r->guest_linux->ToString() : "unknown",
                    ", Windows guest ",
                    r->guest_windows ? r->guest_windows->ToString() : "unknown");
          f.sources = r->provenance.sources;
          f.inferred = r->provenance.IsInferred("version");
          if (f.inferred) StrAppend(&f.reason, " (release label inferred from the driver numbers)");
        }
      }
      Add(std::move(f));
    }
    for (const auto* d : {host_ ? &*host_ : nullptr, guest_ ? &*guest_ : nullptr}) {
      if (d == nullptr) continue;
      const bool is_host = d == &*host_;
      Finding f{
          "release",    StrCat(is_host ? "vGPU manager " : "guest driver ", d->version.ToString()),
          Verdict::kOk, "",
          {},           false};
      if (d->match.row != nullptr) {
        f.reason =
            StrCat("is the ",
                   is_host ? "KVM vGPU manager"
                           : (d->windows ? "Windows guest driver" : "Linux guest driver"),
                   " of release ", d->match.row->label, " (", d->match.branch->driver_branch, ")");
        f.sources = d->match.row->provenance.sources;
        f.inferred = d->match.row->provenance.IsInferred("version");
        if (is_host && q_.release && !q_.release->is_branch_only() && d->match.row->version &&
            !(*d->match.row->version == *q_.release)) {
          f.verdict = Verdict::kFail;
          f.reason = StrCat("belongs to release ", d->match.row->version->ToString(), ", not ",
                            q_.release->ToString(), " as given by --release");
        }
      } else if (d->match.branch != nullptr) {
        f.verdict = Verdict::kWarn;
        f.reason = StrCat("is not a build the catalog knows; its number puts it in branch ",
                          d->match.branch->driver_branch, " (", d->match.branch->branch,
                          ".x). Check the version with nvidia-smi");
        f.sources = d->match.branch->provenance.sources;
      } else {
        f.verdict = Verdict::kUnknown;
        f.reason = "matches no release or driver branch in the catalog";
      }
      if (is_host && f.verdict == Verdict::kOk && q_.release && q_.release->is_branch_only() &&
          d->match.branch->branch != q_.release->major()) {
        f.verdict = Verdict::kFail;
        f.reason = StrCat("belongs to branch ", d->match.branch->branch, ".x, not ",
                          q_.release->ToString());
      }
      Add(std::move(f));
    }
  }

  void CheckHostGuest() {
    if (!host_ && !guest_) return;
    if (!host_ || !guest_) {
      Add(Missing("host-guest",
                  host_ ? "vGPU manager " + host_->version.ToString()
                        : "guest " + guest_->version.ToString(),
                  host_ ? "--guest-driver" : "--host-driver"));
      return;
    }
    Add(internal::JudgeHostGuest(catalog_, *host_, *guest_));
  }

  void CheckGuestCuda() {
    if (!q_.cuda && !guest_) return;
    if (!q_.cuda || !guest_) {
      Add(Missing("guest-cuda",
                  q_.cuda ? "CUDA " + q_.cuda->ToString() : "guest " + guest_->version.ToString(),
                  q_.cuda ? "--guest-driver" : "--cuda"));
      return;
    }
    Finding f{
        "guest-cuda", StrCat("guest ", guest_->version.ToString(), " + CUDA ", q_.cuda->ToString()),
        Verdict::kOk, "",
        {},           false};
    const CudaToolkit* tk = catalog_.FindToolkit(*q_.cuda);
    if (tk == nullptr) {
      f.verdict = Verdict::kUnknown;
      f.reason = StrCat("CUDA ", q_.cuda->ToString(), " is not in the catalog's toolkit table");
      Add(std::move(f));
      return;
    }
    f.sources = tk->provenance.sources;
    const char* os = guest_->windows ? "Windows" : "Linux";
    const std::optional<DriverVersion>& min =
        guest_->windows ? tk->windows_min_driver : tk->linux_min_driver;
    if (!min) {
      f.verdict = Verdict::kUnknown;
      f.reason = StrCat("NVIDIA publishes no ", os, " minimum driver for CUDA ", tk->label);
    } else if (guest_->version >= *min) {
      f.reason = StrCat("CUDA ", tk->label, " needs a ", os, " driver >= ", min->ToString(), "; ",
                        guest_->version.ToString(), " meets it");
    } else {
      const MinorVersionCompat* mvc = catalog_.FindMinorVersionCompat(q_.cuda->major());
      const std::optional<DriverVersion> family_min =
          mvc == nullptr
              ? std::nullopt
              : (guest_->windows ? mvc->min_driver_windows : std::optional(mvc->min_driver_linux));
      if (family_min && guest_->version >= *family_min) {
        f.verdict = Verdict::kWarn;
        f.reason = StrCat(
            "CUDA ", tk->label, " ships with driver ", min->ToString(), ", newer than ",
            guest_->version.ToString(), "; applications built with it still run through CUDA ",
            q_.cuda->major(), ".x minor-version compatibility (driver >= ", family_min->ToString(),
            "), without features that need the newer driver (e.g. JIT of newer PTX). Upgrade "
            "the guest driver for full support");
        f.sources.push_back(internal::kSrcCudaMvc);
      } else {
        f.verdict = Verdict::kFail;
        f.reason = StrCat(
            "CUDA ", tk->label, " needs a ", os, " driver >= ", min->ToString(), "; ",
            guest_->version.ToString(), " is older",
            family_min ? StrCat(" and below the ", q_.cuda->major(),
                                ".x minor-version compatibility floor ", family_min->ToString())
                       : std::string(),
            ". Use an older toolkit or a newer vGPU release");
        if (mvc) f.sources.push_back(internal::kSrcCudaMvc);
      }
    }
    Add(std::move(f));
  }

  void CheckCudaOnVgpu() {
    if (!q_.cuda) return;
    const CudaVgpuSupport& s = catalog_.cuda_vgpu_support();
    Finding f{"cuda-vgpu",       StrCat("CUDA ", q_.cuda->ToString(), " on vGPU"),
              Verdict::kUnknown, "",
              s.sources,         false};
    auto listed = [&](const std::vector<CudaVersion>& v) {
      return std::find(v.begin(), v.end(), *q_.cuda) != v.end();
    };
    if (listed(s.supported)) {
      f.verdict = Verdict::kOk;
      f.reason = StrCat("NVIDIA's CUDA-on-vGPU support list includes ", q_.cuda->ToString());
    } else if (listed(s.not_supported)) {
      f.verdict = Verdict::kWarn;
      f.reason = StrCat("NVIDIA lists CUDA ", q_.cuda->ToString(),
                        " as not supported on vGPU; it may run but NVIDIA will not support "
                        "it. Prefer a listed toolkit");
    } else {
      f.reason = StrCat("CUDA ", q_.cuda->ToString(),
                        " is in neither list of NVIDIA's CUDA-on-vGPU page as captured "
                        "(it covers toolkits up to 12.6)");
    }
    Add(std::move(f));
    if (release_.branch == nullptr) return;
    const ReleaseBranch& b = *release_.branch;
    Finding r{"release-cuda",
              StrCat("CUDA ", q_.cuda->ToString(), " on ", ReleaseText()),
              Verdict::kUnknown,
              "",
              {internal::kSrcCudaToolkits},
              b.provenance.IsInferred("cuda")};
    if (!b.cuda) {
      r.reason =
          StrCat("the catalog does not record which CUDA toolkit branch ", b.branch, ".x matches");
    } else if (CudaVersion(q_.cuda->major(), q_.cuda->minor(), 0) <= *b.cuda) {
      r.verdict = Verdict::kOk;
      r.reason = StrCat("the ", b.branch, ".x guest driver is the CUDA ", b.cuda->ToString(),
                        " driver generation, which runs CUDA ", q_.cuda->ToString());
    } else if (q_.cuda->major() == b.cuda->major()) {
      r.verdict = Verdict::kWarn;
      r.reason = StrCat("CUDA ", q_.cuda->ToString(), " is newer than the CUDA ",
                        b.cuda->ToString(), " generation of ", b.branch,
                        ".x drivers; it runs only through minor-version compatibility");
      r.sources.push_back(internal::kSrcCudaMvc);
    } else {
      r.verdict = Verdict::kFail;
      r.reason = StrCat("CUDA ", q_.cuda->ToString(), " needs a newer major driver than ", b.branch,
                        ".x provides (CUDA ", b.cuda->ToString(),
                        " generation); use a newer vGPU release");
    }
    if (r.inferred)
      StrAppend(&r.reason,
                " (the branch's CUDA generation is inferred from its guest driver number)");
    Add(std::move(r));
  }

  void CheckBoardRelease() {
    if (board_ == nullptr && release_.branch == nullptr) return;
    if (board_ == nullptr || release_.branch == nullptr) {
      if (board_ == nullptr && !q_.release && !host_) return;  // the guest alone says little
      Add(Missing("board-release", board_ ? board_->name : ReleaseText(),
                  board_ ? "--release or --host-driver" : "--board or --profile"));
      return;
    }
    const VgpuSupport& s = board_->support;
    const int branch = release_.branch->branch;
    Finding f{"board-release", StrCat(board_->name, " on ", ReleaseText()),
              Verdict::kOk,    "",
              s.sources,       s.inferred};
    const ReleaseVersion rel = release_.row && release_.row->version
                                   ? *release_.row->version
                                   : ReleaseVersion(branch, std::nullopt);
    if (s.last_branch && branch > *s.last_branch) {
      f.verdict = Verdict::kFail;
      f.reason =
          StrCat(board_->name, " (", board_->architecture, ") is supported up to ", *s.last_branch,
                 ".x; ", branch, ".x dropped it. Stay on ", *s.last_branch, ".x for this board");
    } else if (s.first_release && rel < *s.first_release) {
      f.verdict = Verdict::kFail;
      f.reason = StrCat(board_->name, " is supported from ", s.first_release->ToString(), " on; ",
                        ReleaseText(), " predates it");
    } else if (!s.first_release && !s.last_branch) {
      f.verdict = Verdict::kUnknown;
      f.reason = StrCat("the catalog does not record which releases support ", board_->name);
    } else {
      f.reason =
          StrCat(board_->name, " is supported by ", ReleaseText(), " (",
                 s.first_release ? "from " + s.first_release->ToString() : std::string(),
                 s.first_release && s.last_branch ? ", " : "",
                 s.last_branch ? StrCat("up to ", *s.last_branch, ".x") : std::string(), ")");
    }
    Add(std::move(f));
  }

  void CheckProfile(const VgpuType& t) {
    const Board* tb = catalog_.BoardOf(t);
    Add({"profile", t.name, Verdict::kOk,
         StrCat(tb->name, ", ", std::string(1, SeriesLetter(t.series)), "-series (",
                SeriesDescription(t.series), "), ",
                t.mig_backed ? StrCat(*t.mig_slices, " of ", tb->mig ? tb->mig->compute_slices : 7,
                                      " MIG slices, ")
                             : std::string(),
                t.framebuffer_mib % 1024 == 0 ? StrCat(t.framebuffer_mib / 1024, " GB")
                                              : StrCat(t.framebuffer_mib, " MB"),
                ", up to ", t.max_instances, " per GPU",
                t.provenance.IsInferred("max_instances") ? " (count inferred)" : "",
                t.mdev_id ? StrCat(", mdev type nvidia-", *t.mdev_id) : std::string()),
         t.provenance.sources, t.provenance.inferred()});
    if (q_.board && board_ != nullptr && tb != board_) {
      Add({"profile-board", t.name, Verdict::kFail,
           StrCat(t.name, " is a ", tb->name, " type; it cannot run on ", board_->name, ". Pick a ",
                  board_->prefix, "-* type ('gpufleet catalog types --board ", board_->prefix,
                  "')"),
           t.provenance.sources, false});
    }
    const Edition* needed = catalog_.EditionForSeries(t.series);
    if (q_.cuda) {
      Finding f{"profile-cuda",
                StrCat(t.name, " + CUDA"),
                t.cuda ? Verdict::kOk : Verdict::kFail,
                "",
                t.provenance.sources,
                t.provenance.IsInferred("cuda")};
      f.reason = StrCat(std::string(1, SeriesLetter(t.series)), "-series vGPUs (",
                        SeriesDescription(t.series), ") ",
                        t.cuda ? "run CUDA" : "cannot run CUDA; use a Q- or C-series type");
      f.sources.push_back(internal::kSrcLicensing);
      Add(std::move(f));
    }
    Finding lic{"profile-license", t.name, Verdict::kOk, "", {internal::kSrcLicensing}, false};
    const int branch = release_.branch ? release_.branch->branch : 0;
    if (edition_ != nullptr) {
      const bool covers =
          std::find(edition_->licenses_series.begin(), edition_->licenses_series.end(), t.series) !=
          edition_->licenses_series.end();
      const bool c_under_vws = t.series == Series::kC && edition_->id == "vWS";
      if (!covers) {
        lic.verdict = Verdict::kFail;
        lic.reason =
            StrCat(edition_->id, " does not license ", std::string(1, SeriesLetter(t.series)),
                   "-series vGPUs; ", t.name, " needs ", needed ? needed->id : "?",
                   ". Unlicensed, the guest drops to ", catalog_.unlicensed().frame_rate_fps,
                   " fps and CUDA is disabled");
        lic.sources.push_back(internal::kSrcUnlicensed);
      } else if (c_under_vws && branch >= 16) {
        lic.verdict = Verdict::kWarn;
        lic.reason = StrCat(
            "vWS licensed C-series vGPUs in the 12.x-15.x guides; from 16.x "
            "C-series is licensed through NVIDIA AI Enterprise");
      } else if (c_under_vws && branch == 0) {
        lic.verdict = Verdict::kWarn;
        lic.reason =
            "vWS covers C-series only up to 15.x; from 16.x it needs NVIDIA AI Enterprise "
            "(give --release to decide)";
      } else {
        lic.reason = StrCat(edition_->id, " licenses ", std::string(1, SeriesLetter(t.series)),
                            "-series vGPUs");
      }
    } else if (needed != nullptr) {
      lic.reason = StrCat("needs a ", needed->id, " (", needed->name, ") license",
                          t.series == Series::kB ? " or vWS" : "",
                          t.series == Series::kC && branch >= 16
                              ? "; from 16.x C-series is licensed through NVIDIA AI Enterprise"
                              : "",
                          "; gridd.conf FeatureType=1 (the edition follows the vGPU type)");
      lic.sources.push_back(internal::kSrcGridd);
    }
    Add(std::move(lic));
  }

  void CheckProfileMix() {
    // Group the profiles by board: only types of one board can share a physical GPU.
    std::map<const Board*, std::vector<const VgpuType*>> by_board;
    for (const VgpuType* t : profiles_) by_board[catalog_.BoardOf(*t)].push_back(t);
    for (const auto& [board, types] : by_board) {
      if (types.size() < 2) continue;
      std::vector<std::string> names;
      bool same_size = true, same_series = true;
      for (const VgpuType* t : types) {
        names.push_back(t->name);
        same_size &= t->framebuffer_mib == types.front()->framebuffer_mib;
        same_series &= t->series == types.front()->series;
      }
      Finding f{"profile-mix", StrJoin(names, " + "), Verdict::kWarn, "", {internal::kSrcPlacement},
                false};
      const bool mig =
          std::any_of(types.begin(), types.end(), [](const VgpuType* t) { return t->mig_backed; });
      const int branch = release_.branch ? release_.branch->branch : 0;
      const bool board_dropped_before_17 =
          board->support.last_branch && *board->support.last_branch < 17;
      if (mig) {
        f.verdict = Verdict::kOk;
        f.reason =
            "MIG-backed types of different sizes share a GPU as separate GPU instances, "
            "within the GPU's slice geometry";
        f.sources = board->provenance.sources;
      } else if (same_size && same_series) {
        f.verdict = Verdict::kOk;
        f.reason = "same type size and series: they can share a GPU";
      } else if (board->mixed_size == false || board_dropped_before_17 ||
                 (branch != 0 && branch < 17)) {
        f.reason = StrCat(
            "these types cannot share one physical GPU: in equal-size mode every vGPU on a GPU has "
            "the same size",
            same_size ? " and series" : "", "; ",
            board->mixed_size == false ? StrCat(board->name, " does not support mixed-size mode")
            : board_dropped_before_17
                ? StrCat("mixed sizes need vGPU 17 or later, which no longer supports ",
                         board->name)
                : StrCat("mixed sizes need vGPU 17 or later, and this is ", branch, ".x"),
            ". Dedicate separate GPUs to each size");
      } else {
        f.reason =
            "from vGPU 17 these types can share a GPU only in mixed-size mode, where some "
            "types have lower maximum counts; otherwise dedicate a GPU to each size";
      }
      Add(std::move(f));
    }
  }

  void CheckFeatureType() {
    if (!q_.feature_type) return;
    const int v = *q_.feature_type;
    Finding f{"feature-type", StrCat("FeatureType=", v), Verdict::kOk, "", {internal::kSrcGridd},
              false};
    if (v == 0) {
      f.verdict = Verdict::kFail;
      f.reason = StrCat("0 leaves the guest unlicensed: ", catalog_.unlicensed().frame_rate_fps,
                        " fps and CUDA disabled. Set FeatureType=1 for a vGPU guest");
      f.sources.push_back(internal::kSrcUnlicensed);
    } else if (v == 1) {
      f.reason = "1 is right for a vGPU guest: the edition is taken from the vGPU type";
    } else if (v == 2 || v == 4) {
      f.verdict = Verdict::kWarn;
      f.reason = StrCat(v, " requests ", v == 2 ? "vWS" : "vCS",
                        " for a physical GPU (pass-through); a vGPU guest uses FeatureType=1");
    } else {
      f.verdict = Verdict::kFail;
      f.reason = StrCat(v, " is a reserved value; use 1 for a vGPU guest");
    }
    Add(std::move(f));
  }

  void CheckSupport() {
    if (release_.branch == nullptr) return;
    const ReleaseBranch& b = *release_.branch;
    Finding f{"support",
              StrCat(ReleaseText(), " on ", q_.today.ToString()),
              Verdict::kOk,
              "",
              b.end_of_support_sources,
              false};
    const BranchSupport support = SupportOf(catalog_, b, q_.today);
    f.sources = support.sources;
    f.inferred = support.inferred;
    switch (support.state) {
      case BranchSupport::State::kSupported:
        f.reason = StrCat(b.branch, ".x is supported until ", MonthText(*support.end));
        break;
      case BranchSupport::State::kEnded:
        f.verdict = Verdict::kWarn;
        if (support.dated_by_branch == 0) {
          f.reason = StrCat(b.branch, ".x ", b.lts.value_or(false) ? "(LTS) " : "",
                            "reached end of support in ", MonthText(*support.end), ", ",
                            MonthsBetween(*support.end, q_.today),
                            " months ago: no security or bug fixes. Plan an upgrade");
        } else {
          f.reason = StrCat("no end-of-support date for ", b.branch,
                            ".x in the catalog, but the newer LTS branch ", support.dated_by_branch,
                            ".x ended in ", MonthText(*support.end), ", so ", b.branch,
                            ".x is out of support too. Plan an upgrade");
        }
        break;
      case BranchSupport::State::kUnknown:
        f.verdict = Verdict::kUnknown;
        f.reason = StrCat("the catalog has no end-of-support date for ", b.branch, ".x");
        break;
    }
    if (release_.row != nullptr && release_.row->version) {
      const ReleaseVersionRow* newest = nullptr;
      for (const ReleaseVersionRow& r : b.versions) {
        if (r.version && (!newest || *r.version > *newest->version)) newest = &r;
      }
      if (newest != nullptr && newest != release_.row) {
        StrAppend(&f.reason, ". The newest ", b.branch, ".x release in the catalog is ",
                  newest->version->ToString(),
                  newest->vgpu_manager_kvm
                      ? StrCat(" (manager ", newest->vgpu_manager_kvm->ToString(), ")")
                      : "");
      }
    }
    Add(std::move(f));
  }

  const Catalog& catalog_;
  const CompatQuery& q_;
  const Board* board_ = nullptr;
  std::vector<const VgpuType*> profiles_;
  const Edition* edition_ = nullptr;
  std::optional<ResolvedDriver> host_, guest_;
  DriverMatch release_;
  CompatReport report_;
};

}  // namespace

BranchSupport SupportOf(const Catalog& catalog, const ReleaseBranch& branch,
                        const CivilDate& today) {
  BranchSupport out;
  if (branch.end_of_support) {
    out.end = branch.end_of_support;
    out.sources = branch.end_of_support_sources;
    out.state =
        today.After(*out.end) ? BranchSupport::State::kEnded : BranchSupport::State::kSupported;
    return out;
  }
  for (const ReleaseBranch& n : catalog.releases()) {
    if (n.branch > branch.branch && n.lts.value_or(false) && n.end_of_support &&
        today.After(*n.end_of_support)) {
      out.state = BranchSupport::State::kEnded;
      out.end = n.end_of_support;
      out.dated_by_branch = n.branch;
      out.inferred = true;
      out.sources = n.end_of_support_sources;
      return out;
    }
  }
  return out;
}

absl::StatusOr<CompatReport> CheckCompatibility(const Catalog& catalog, const CompatQuery& query) {
  return Checker(catalog, query).Run();
}

}  // namespace gpufleet::core
