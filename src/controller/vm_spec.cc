#include "controller/vm_spec.h"

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/context.h"
#include "core/series.h"

namespace gpufleet::controller {
namespace {

absl::Status FieldError(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

}  // namespace

absl::StatusOr<VmSpec> DecodeVmSpec(const nlohmann::json& body, const core::Catalog& catalog) {
  JsonReader reader(body, "");
  VmSpec spec;
  spec.name = reader.String("name");
  std::optional<std::string> type = reader.OptString("type");
  const nlohmann::json* need = reader.Object("requirement", /*required=*/false);
  spec.vgpus = reader.OptInt("vgpus", 1, kMaxVgpusPerVm).value_or(1);
  spec.anti_affinity = reader.OptString("anti_affinity").value_or("");
  std::optional<std::string> license = reader.OptString("license");
  GPUFLEET_RETURN_IF_ERROR(reader.Finish());
  GPUFLEET_RETURN_IF_ERROR(CheckName(spec.name, "name"));
  if (type.has_value() == (need != nullptr)) {
    return FieldError("type", "give exactly one of \"type\" and \"requirement\"");
  }
  if (type.has_value()) {
    absl::StatusOr<const core::VgpuType*> resolved = catalog.ResolveType(*type);
    if (!resolved.ok()) return FieldError("type", ToStd(resolved.status().message()));
    spec.type = (*resolved)->name;
  } else {
    JsonReader r(*need, "requirement");
    RequirementSpec req;
    req.min_framebuffer_gb = r.OptInt("min_framebuffer_gb", 0, 1024).value_or(0);
    req.cuda = r.OptBool("cuda").value_or(false);
    std::string series = r.OptString("series").value_or("");
    std::vector<std::string> boards = r.StringList("boards");
    GPUFLEET_RETURN_IF_ERROR(r.Finish());
    if (!series.empty()) {
      std::optional<core::Series> s =
          series.size() == 1 ? core::SeriesFromLetter(series[0]) : std::nullopt;
      if (!s)
        return FieldError("requirement.series",
                          StrCat(QuoteForMessage(series), " is not one of Q, C, B, A"));
      req.series = std::string(1, core::SeriesLetter(*s));
    }
    for (std::size_t i = 0; i < boards.size(); ++i) {
      absl::StatusOr<const core::Board*> b = catalog.ResolveBoard(boards[i]);
      if (!b.ok()) {
        return FieldError(StrCat("requirement.boards[", i, "]"), ToStd(b.status().message()));
      }
      req.boards.push_back((*b)->prefix);
    }
    spec.requirement = std::move(req);
  }
  if (!spec.anti_affinity.empty()) {
    GPUFLEET_RETURN_IF_ERROR(CheckName(spec.anti_affinity, "anti_affinity"));
  }
  if (license.has_value() && !license->empty()) {
    const core::Edition* e = catalog.FindEdition(*license);
    if (e == nullptr) {
      return FieldError("license", StrCat("unknown license edition ", QuoteForMessage(*license)));
    }
    spec.license = e->id;
  }
  return spec;
}

nlohmann::json EncodeVmSpec(const VmSpec& spec) {
  nlohmann::json j = {{"name", spec.name}, {"vgpus", spec.vgpus}};
  if (spec.requirement.has_value()) {
    const RequirementSpec& r = *spec.requirement;
    nlohmann::json req = {{"min_framebuffer_gb", r.min_framebuffer_gb}, {"cuda", r.cuda}};
    if (!r.series.empty()) req["series"] = r.series;
    if (!r.boards.empty()) req["boards"] = r.boards;
    j["requirement"] = req;
  } else {
    j["type"] = spec.type;
  }
  if (!spec.anti_affinity.empty()) j["anti_affinity"] = spec.anti_affinity;
  if (!spec.license.empty()) j["license"] = spec.license;
  return j;
}

absl::StatusOr<planner::Vm> ToPlannerVm(const VmSpec& spec, const core::Catalog& catalog) {
  planner::Vm vm;
  vm.name = spec.name;
  vm.vgpus = spec.vgpus;
  vm.anti_affinity = spec.anti_affinity;
  vm.license = spec.license;
  if (!spec.requirement.has_value()) {
    vm.need.type = catalog.FindTypeByName(spec.type);
    if (vm.need.type == nullptr) {
      return absl::FailedPreconditionError(
          StrCat("vm ", QuoteForMessage(spec.name), ": type ", spec.type, " not in the catalog"));
    }
    return vm;
  }
  const RequirementSpec& r = *spec.requirement;
  vm.need.min_framebuffer_mib = r.min_framebuffer_gb * 1024;
  vm.need.cuda = r.cuda;
  if (!r.series.empty()) vm.need.series = core::SeriesFromLetter(r.series[0]);
  for (const std::string& b : r.boards) {
    const core::Board* board = catalog.FindBoard(b);
    if (board == nullptr) {
      return absl::FailedPreconditionError(
          StrCat("vm ", QuoteForMessage(spec.name), ": board ", b, " not in the catalog"));
    }
    vm.need.boards.push_back(board);
  }
  return vm;
}

std::string DescribeRequest(const VmSpec& spec) {
  std::string what;
  if (!spec.requirement.has_value()) {
    what = spec.type;
  } else {
    what = StrCat("a vGPU with >= ", spec.requirement->min_framebuffer_gb, " GB");
  }
  if (spec.vgpus > 1) return StrCat(spec.vgpus, " x ", what);
  return what;
}

}  // namespace gpufleet::controller
