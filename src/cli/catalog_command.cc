#include "cli/catalog_command.h"

#include <set>

#include "absl/status/status.h"
#include "common/strings.h"
#include "core/compat.h"
#include "core/series.h"

namespace gpufleet::cli {
namespace {

using core::Board;
using core::Provenance;
using core::VgpuType;
using nlohmann::json;

// A table cell that carries a '*' when the field is inferred.
std::string Mark(std::string value, const Provenance& p, std::string_view field) {
  return p.IsInferred(field) ? value + "*" : value;
}

template <typename T>
json Opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json ProvenanceJson(const Provenance& p) {
  json j = {{"source", p.sources}};
  if (p.inferred()) j["inferred"] = p.inferred_fields;
  if (!p.notes.empty()) j["notes"] = p.notes;
  return j;
}

std::string SupportText(const Board& b) {
  const core::VgpuSupport& s = b.support;
  std::string text;
  if (s.first_release && s.last_branch) {
    text = StrCat(s.first_release->ToString(), " to ", *s.last_branch, ".x");
  } else if (s.first_release) {
    text = StrCat("from ", s.first_release->ToString());
  } else if (s.last_branch) {
    text = StrCat("up to ", *s.last_branch, ".x");
  } else {
    text = "unknown";
  }
  return s.inferred ? text + "*" : text;
}

void PrintFootnote(std::ostream& out, bool any_inferred, const std::set<std::string>& sources,
                   const core::Catalog& catalog) {
  if (any_inferred) out << "\n* inferred: not stated directly by the source; see docs/catalog.md\n";
  if (sources.empty()) return;
  out << "\nSources:\n";
  for (const std::string& id : sources) {
    const core::Source* s = catalog.FindSource(id);
    out << "  " << id << ": "
        << Wrap(s ? s->citation : "?", 96 - id.size(), std::string(id.size() + 4, ' ')) << '\n';
  }
}

absl::Status Boards(Context& ctx, const CatalogOptions& o, std::ostream& out) {
  const core::Board* only = nullptr;
  if (o.board) {
    absl::StatusOr<const Board*> b = ctx.catalog->ResolveBoard(*o.board);
    if (!b.ok()) return b.status();
    only = *b;
  }
  json doc = json::array();
  Table table(
      {"BOARD", "PREFIX", "ARCHITECTURE", "GPUS", "FB/GPU", "TYPES", "MIG", "vGPU RELEASES"});
  bool inferred = false;
  for (const Board& b : ctx.catalog->boards()) {
    if (only && &b != only) continue;
    json j = {
        {"name", b.name},
        {"prefix", b.prefix},
        {"pci_device_ids", b.pci_device_ids},
        {"architecture", b.architecture},
        {"gpus_per_board", b.gpus_per_board},
        {"framebuffer_mib", b.framebuffer_mib},
        {"types", b.types.size()},
        {"mixed_size", Opt(b.mixed_size)},
        {"mig", b.mig ? json{{"compute_slices", b.mig->compute_slices},
                             {"memory_slices", b.mig->memory_slices}}
                      : json(nullptr)},
        {"vgpu_support",
         {{"first_release",
           b.support.first_release ? json(b.support.first_release->ToString()) : json(nullptr)},
          {"last_branch", Opt(b.support.last_branch)},
          {"inferred", b.support.inferred},
          {"source", b.support.sources}}}};
    j.update(ProvenanceJson(b.provenance));
    doc.push_back(std::move(j));
    inferred |= b.provenance.inferred() || b.support.inferred;
    table.AddRow({Mark(b.name, b.provenance, "name"), b.prefix, b.architecture,
                  StrCat(b.gpus_per_board), FormatMib(b.framebuffer_mib), StrCat(b.types.size()),
                  b.mig ? StrCat(b.mig->compute_slices, " slices") : "-", SupportText(b)});
  }
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  table.Print(out);
  if (inferred) out << "\n* inferred: not stated directly by the source; see docs/catalog.md\n";
  out << "\nList a board's vGPU types with: gpufleet catalog types --board <PREFIX>\n";
  return absl::OkStatus();
}

absl::Status Types(Context& ctx, const CatalogOptions& o, std::ostream& out) {
  const core::Board* only = nullptr;
  if (o.board) {
    absl::StatusOr<const Board*> b = ctx.catalog->ResolveBoard(*o.board);
    if (!b.ok()) return b.status();
    only = *b;
  }
  std::optional<core::Series> series;
  if (o.series) {
    if (o.series->size() != 1 || !core::SeriesFromLetter((*o.series)[0])) {
      return absl::InvalidArgumentError(
          StrCat("--series ", QuoteForMessage(*o.series), ": expected one of Q, C, B, A"));
    }
    series = core::SeriesFromLetter((*o.series)[0]);
  }
  json doc = json::array();
  Table table({"TYPE", "SERIES", "FB", "MAX/GPU", "MDEV", "HEADS", "MAX RES", "FPS", "CUDA",
               "LICENSE", "SOURCE"});
  bool inferred = false;
  std::set<std::string> cited;
  for (const Board& b : ctx.catalog->boards()) {
    if (only && &b != only) continue;
    for (const VgpuType& t : b.types) {
      if (series && t.series != *series) continue;
      if (o.mig_only && !t.mig_backed) continue;
      const core::Edition* e = ctx.catalog->EditionForSeries(t.series);
      json j = {{"name", t.name},
                {"board", b.name},
                {"series", std::string(1, core::SeriesLetter(t.series))},
                {"framebuffer_mib", t.framebuffer_mib},
                {"max_instances", t.max_instances},
                {"mig_backed", t.mig_backed},
                {"mig_slices", Opt(t.mig_slices)},
                {"mig_profile", Opt(t.mig_profile)},
                {"mdev_type", t.mdev_id ? json(StrCat("nvidia-", *t.mdev_id)) : json(nullptr)},
                {"display_heads", Opt(t.display_heads)},
                {"max_resolution", Opt(t.max_resolution)},
                {"frame_rate_limit_fps", Opt(t.frame_rate_limit_fps)},
                {"cuda", t.cuda},
                {"license", e ? json(e->id) : json(nullptr)},
                {"vmware_profile", StrCat("grid_", AsciiLower(t.name))}};
      j.update(ProvenanceJson(t.provenance));
      doc.push_back(std::move(j));
      inferred |= t.provenance.inferred();
      cited.insert(t.provenance.sources.begin(), t.provenance.sources.end());
      const Provenance& p = t.provenance;
      table.AddRow(
          {t.name, std::string(1, core::SeriesLetter(t.series)), FormatMib(t.framebuffer_mib),
           Mark(StrCat(t.max_instances), p, "max_instances"),
           t.mdev_id ? StrCat("nvidia-", *t.mdev_id) : "-",
           t.display_heads ? StrCat(*t.display_heads) : "-", t.max_resolution.value_or("-"),
           t.frame_rate_limit_fps ? StrCat(*t.frame_rate_limit_fps) : "-",
           Mark(t.cuda ? "yes" : "no", p, "cuda"), e ? e->id : "-", StrJoin(p.sources, ",")});
    }
  }
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  if (table.empty()) {
    out << "No vGPU types match.\n";
    return absl::OkStatus();
  }
  table.Print(out, 140);
  if (only && only->gpus_per_board > 1) {
    out << "\nMAX/GPU is per physical GPU; a " << only->name << " board has "
        << only->gpus_per_board << " GPUs.\n";
  }
  PrintFootnote(out, inferred, cited, *ctx.catalog);
  return absl::OkStatus();
}

absl::Status Releases(Context& ctx, const CatalogOptions& o, std::ostream& out) {
  std::optional<int> branch;
  if (o.branch) {
    absl::StatusOr<core::ReleaseVersion> r = core::ReleaseVersion::Parse(*o.branch);
    if (!r.ok())
      return absl::InvalidArgumentError(StrCat("--branch: ", ToStd(r.status().message())));
    branch = r->major();
  }
  json doc = json::array();
  Table branches({"BRANCH", "DRIVER", "LTS", "END OF SUPPORT", "CUDA", "HOST/GUEST POLICY"});
  Table versions({"RELEASE", "BRANCH", "KVM MANAGER", "LINUX GUEST", "WINDOWS GUEST", "SOURCE"});
  bool inferred = false;
  std::set<std::string> cited;
  auto driver = [](const std::optional<core::DriverVersion>& d) { return d ? d->ToString() : "-"; };
  auto djson = [](const std::optional<core::DriverVersion>& d) {
    return d ? json(d->ToString()) : json(nullptr);
  };
  for (const core::ReleaseBranch& b : ctx.catalog->releases()) {
    if (branch && b.branch != *branch) continue;
    std::vector<std::string> policy;
    if (b.host_guest_policy) {
      for (core::HostGuestAllowance a : *b.host_guest_policy) {
        switch (a) {
          case core::HostGuestAllowance::kSameRelease:
            policy.push_back("same_release");
            break;
          case core::HostGuestAllowance::kSameBranch:
            policy.push_back("same_branch");
            break;
          case core::HostGuestAllowance::kPreviousBranch:
            policy.push_back("previous_branch");
            break;
          case core::HostGuestAllowance::kPreviousLtsBranch:
            policy.push_back("previous_lts_branch");
            break;
        }
      }
    }
    json rows = json::array();
    for (const core::ReleaseVersionRow& v : b.versions) {
      json r = {{"version", v.version ? json(v.version->ToString()) : json(nullptr)},
                {"label", v.label},
                {"vgpu_manager_kvm", djson(v.vgpu_manager_kvm)},
                {"guest_linux", djson(v.guest_linux)},
                {"guest_windows", djson(v.guest_windows)}};
      r.update(ProvenanceJson(v.provenance));
      rows.push_back(std::move(r));
      inferred |= v.provenance.inferred();
      cited.insert(v.provenance.sources.begin(), v.provenance.sources.end());
      std::string label = v.version ? v.version->ToString() : v.label;
      if (v.provenance.inferred()) label += "*";
      versions.AddRow({label, b.driver_branch, driver(v.vgpu_manager_kvm), driver(v.guest_linux),
                       driver(v.guest_windows), StrJoin(v.provenance.sources, ",")});
    }
    const core::BranchSupport support = core::SupportOf(*ctx.catalog, b, ctx.today);
    json j = {
        {"branch", b.branch},
        {"driver_branch", b.driver_branch},
        {"lts", Opt(b.lts)},
        {"end_of_support", b.end_of_support ? json(b.end_of_support->ToString()) : json(nullptr)},
        {"support_as_of",
         {{"date", ctx.today.ToString()},
          {"state", support.state == core::BranchSupport::State::kSupported ? "supported"
                    : support.state == core::BranchSupport::State::kEnded   ? "ended"
                                                                            : "unknown"},
          {"inferred", support.inferred}}},
        {"cuda", b.cuda ? json(b.cuda->ToString()) : json(nullptr)},
        {"host_guest_policy", b.host_guest_policy ? json(policy) : json(nullptr)},
        {"hypervisors", b.hypervisors},
        {"versions", std::move(rows)}};
    j.update(ProvenanceJson(b.provenance));
    doc.push_back(std::move(j));
    std::string eos = "unknown";
    if (support.dated_by_branch != 0) {
      eos = StrCat("ended by ", support.end->ToString(), "*");
      inferred = true;
    } else if (support.end) {
      eos = support.end->ToString();
      if (support.state == core::BranchSupport::State::kEnded) eos += " (ended)";
    }
    branches.AddRow({StrCat(b.branch, ".x"), b.driver_branch,
                     b.lts ? Mark(*b.lts ? "yes" : "no", b.provenance, "lts") : "-", eos,
                     b.cuda ? Mark(b.cuda->ToString(), b.provenance, "cuda") : "-",
                     policy.empty() ? "not documented" : StrJoin(policy, ", ")});
  }
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  if (doc.empty()) {
    out << "No release branch matches.\n";
    return absl::OkStatus();
  }
  out << "Branches (as of " << ctx.today.ToString() << "):\n\n";
  branches.Print(out);
  out << "\nReleases:\n\n";
  versions.Print(out);
  PrintFootnote(out, inferred, cited, *ctx.catalog);
  return absl::OkStatus();
}

absl::Status Cuda(Context& ctx, std::ostream& out) {
  const core::CudaVgpuSupport& vs = ctx.catalog->cuda_vgpu_support();
  auto on_vgpu = [&](const core::CudaVersion& v) -> std::string {
    if (std::find(vs.supported.begin(), vs.supported.end(), v) != vs.supported.end())
      return "supported";
    if (std::find(vs.not_supported.begin(), vs.not_supported.end(), v) != vs.not_supported.end())
      return "not supported";
    return "not listed";
  };
  json toolkits = json::array();
  Table table({"CUDA", "LABEL", "LINUX DRIVER >=", "WINDOWS DRIVER >=", "ON vGPU"});
  for (const core::CudaToolkit& t : ctx.catalog->toolkits()) {
    json j = {{"cuda", t.version.ToString()},
              {"label", t.label},
              {"linux_min_driver",
               t.linux_min_driver ? json(t.linux_min_driver->ToString()) : json(nullptr)},
              {"windows_min_driver",
               t.windows_min_driver ? json(t.windows_min_driver->ToString()) : json(nullptr)},
              {"on_vgpu", on_vgpu(t.version)}};
    j.update(ProvenanceJson(t.provenance));
    toolkits.push_back(std::move(j));
    table.AddRow(
        {t.version.ToString(), t.label, t.linux_min_driver ? t.linux_min_driver->ToString() : "-",
         t.windows_min_driver ? t.windows_min_driver->ToString() : "-", on_vgpu(t.version)});
  }
  json mvc = json::array();
  Table compat({"CUDA", "LINUX DRIVER >=", "WINDOWS DRIVER >=", "DRIVERS BELOW"});
  for (const core::MinorVersionCompat& m : ctx.catalog->minor_version_compatibility()) {
    json j = {{"major", m.major},
              {"min_driver_linux", m.min_driver_linux.ToString()},
              {"min_driver_windows",
               m.min_driver_windows ? json(m.min_driver_windows->ToString()) : json(nullptr)},
              {"below_branch", Opt(m.below_branch)}};
    j.update(ProvenanceJson(m.provenance));
    mvc.push_back(std::move(j));
    compat.AddRow({StrCat(m.major, ".x"), m.min_driver_linux.ToString(),
                   m.min_driver_windows ? m.min_driver_windows->ToString() : "-",
                   m.below_branch ? StrCat("R", *m.below_branch) : "-"});
  }
  json doc = {{"toolkits", std::move(toolkits)}, {"minor_version_compatibility", std::move(mvc)}};
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  out << "Minimum driver per CUDA toolkit:\n\n";
  table.Print(out);
  out << "\nMinor-version compatibility (a toolkit runs, with fewer features, on any driver of its "
         "major family at or above):\n\n";
  compat.Print(out);
  out << "\n'ON vGPU' follows NVIDIA's CUDA-on-vGPU page as captured (toolkits up to 12.6).\n";
  PrintFootnote(out, false, {"CUDA-RN", "CUDA-MVC", "CUDA-VGPU"}, *ctx.catalog);
  return absl::OkStatus();
}

absl::Status Editions(Context& ctx, std::ostream& out) {
  json doc = json::array();
  Table table({"EDITION", "NAME", "SERIES", "CUDA", "DISPLAYS", "MAX RES", "FEATURETYPE"});
  std::set<std::string> cited;
  for (const core::Edition& e : ctx.catalog->editions()) {
    std::vector<std::string> series;
    for (core::Series s : e.licenses_series) series.emplace_back(1, core::SeriesLetter(s));
    json j = {{"id", e.id},
              {"name", e.name},
              {"former_names", e.former_names},
              {"primary_series", std::string(1, core::SeriesLetter(e.primary_series))},
              {"licenses_series", series},
              {"cuda", e.cuda},
              {"max_displays", e.max_displays},
              {"max_resolution", e.max_resolution},
              {"gridd_feature_type", e.gridd_feature_type}};
    j.update(ProvenanceJson(e.provenance));
    doc.push_back(std::move(j));
    cited.insert(e.provenance.sources.begin(), e.provenance.sources.end());
    table.AddRow({e.id, e.name, StrJoin(series, ","), e.cuda ? "yes" : "no", StrCat(e.max_displays),
                  e.max_resolution, StrCat(e.gridd_feature_type)});
  }
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  table.Print(out);
  const core::UnlicensedBehaviour& u = ctx.catalog->unlicensed();
  out << "\nA vGPU guest sets FeatureType=1 in /etc/nvidia/gridd.conf; the edition follows the "
         "vGPU type. FEATURETYPE above is for pass-through.\nUnlicensed: "
      << u.frame_rate_fps << " fps, CUDA " << (u.cuda ? "on" : "disabled") << ".\n";
  PrintFootnote(out, false, cited, *ctx.catalog);
  return absl::OkStatus();
}

absl::Status Sources(Context& ctx, std::ostream& out) {
  json doc = json::array();
  Table table({"ID", "CITATION"});
  for (const core::Source& s : ctx.catalog->sources()) {
    doc.push_back({{"id", s.id}, {"citation", s.citation}});
    table.AddRow({s.id, s.citation});
  }
  if (WriteStructured(ctx.format, doc, out)) return absl::OkStatus();
  table.Print(out);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCatalog(Context& ctx, const CatalogOptions& options, std::ostream& out) {
  switch (options.what) {
    case CatalogOptions::What::kBoards:
      return Boards(ctx, options, out);
    case CatalogOptions::What::kTypes:
      return Types(ctx, options, out);
    case CatalogOptions::What::kReleases:
      return Releases(ctx, options, out);
    case CatalogOptions::What::kCuda:
      return Cuda(ctx, out);
    case CatalogOptions::What::kEditions:
      return Editions(ctx, out);
    case CatalogOptions::What::kSources:
      return Sources(ctx, out);
  }
  return absl::InternalError("unknown catalog listing");
}

}  // namespace gpufleet::cli
