#include "controller/host_report.h"

#include <cstddef>
#include <set>
#include <string_view>
#include <utility>

#include "common/json.h"
#include "common/pci_address.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/placement.h"
#include "core/version.h"
#include "planner/model.h"

namespace gpufleet::controller {
namespace {

constexpr std::size_t kMaxGpus = 64;
constexpr std::size_t kMaxLabels = 64;
constexpr std::size_t kMaxLabelLength = 253;

absl::Status FieldError(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

absl::StatusOr<store::Gpu> DecodeGpu(const nlohmann::json& j, const std::string& path,
                                     const core::Catalog& catalog) {
  if (!j.is_object()) return FieldError(path, "expected an object");
  JsonReader r(j, path);
  store::Gpu gpu;
  std::string pci = r.String("pci");
  std::string board = r.String("board");
  gpu.mode = r.OptString("mode").value_or("unconfigured");
  std::string carved = r.OptString("carved_type").value_or("");
  gpu.ecc = r.OptBool("ecc").value_or(false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  absl::StatusOr<PciAddress> address = PciAddress::Parse(pci);
  if (!address.ok()) return FieldError(r.PathOf("pci"), ToStd(address.status().message()));
  gpu.id = address->ToString();
  absl::StatusOr<const core::Board*> b = catalog.ResolveBoard(board);
  if (!b.ok()) return FieldError(r.PathOf("board"), ToStd(b.status().message()));
  gpu.board = (*b)->prefix;
  bool known_mode = false;
  std::vector<std::string> modes;
  for (planner::GpuMode m :
       {planner::GpuMode::kUnconfigured, planner::GpuMode::kEqualSize, planner::GpuMode::kMixedSize,
        planner::GpuMode::kMig, planner::GpuMode::kPassthrough}) {
    modes.emplace_back(planner::GpuModeName(m));
    if (planner::GpuModeName(m) == gpu.mode) known_mode = true;
  }
  if (!known_mode) {
    return FieldError(r.PathOf("mode"),
                      StrCat(QuoteForMessage(gpu.mode), " is not one of ", StrJoin(modes, ", ")));
  }
  if (!carved.empty()) {
    absl::StatusOr<const core::VgpuType*> t = catalog.ResolveType(carved, *b);
    if (!t.ok()) return FieldError(r.PathOf("carved_type"), ToStd(t.status().message()));
    if ((*t)->board_prefix != gpu.board) {
      return FieldError(r.PathOf("carved_type"),
                        StrCat((*t)->name, " is not a type of board ", gpu.board));
    }
    gpu.carved_type = (*t)->name;
  }
  return gpu;
}

absl::Status DecodeLabels(const nlohmann::json& labels, HostReport& report) {
  if (labels.size() > kMaxLabels) return FieldError("labels", "more than 64 labels");
  for (const auto& [key, value] : labels.items()) {
    std::string path = StrCat("labels.", QuoteForMessage(key, 40));
    if (!value.is_string()) return FieldError(path, "expected a string");
    if (key.empty() || key.size() > kMaxLabelLength ||
        value.get<std::string>().size() > kMaxLabelLength) {
      return FieldError(path, "keys must be 1 to 253 characters, values at most 253");
    }
    if (key.starts_with("gpufleet.io/")) {
      return FieldError(path, "the gpufleet.io/ prefix is reserved");
    }
    report.labels[key] = value.get<std::string>();
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::json HostReport::ToJson() const {
  nlohmann::json out = {{"hypervisor", hypervisor}};
  if (state.has_value()) out["state"] = store::HostStateName(*state);
  if (!manager_version.empty()) out["manager_version"] = manager_version;
  if (hotmigrate.has_value()) out["hotmigrate"] = *hotmigrate;
  nlohmann::json given = nlohmann::json::object();
  for (const auto& [key, value] : labels) {
    if (key != kHotmigrateLabel) given[key] = value;
  }
  if (!given.empty()) out["labels"] = std::move(given);
  if (!gpus.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const store::Gpu& gpu : gpus) {
      list.push_back({{"pci", gpu.id},
                      {"board", gpu.board},
                      {"mode", gpu.mode},
                      {"carved_type", gpu.carved_type},
                      {"ecc", gpu.ecc}});
    }
    out["gpus"] = std::move(list);
  }
  return out;
}

absl::StatusOr<HostReport> DecodeHostReport(const nlohmann::json& body,
                                            const core::Catalog& catalog) {
  JsonReader r(body, "");
  HostReport report;
  report.hypervisor = r.OptString("hypervisor").value_or("kvm");
  std::optional<std::string> state = r.OptString("state");
  report.manager_version = r.OptString("manager_version").value_or("");
  report.hotmigrate = r.OptBool("hotmigrate");
  const nlohmann::json* labels = r.Object("labels", false);
  const nlohmann::json* gpus = r.Array("gpus", false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  if (report.hypervisor != "kvm" && report.hypervisor != "vsphere") {
    return FieldError("hypervisor",
                      StrCat(QuoteForMessage(report.hypervisor), " is not one of kvm, vsphere"));
  }
  if (state.has_value()) {
    if (*state != "ready" && *state != "maintenance") {
      return FieldError("state", StrCat(QuoteForMessage(*state),
                                        " is not one of ready, maintenance (down is decided by "
                                        "the controller)"));
    }
    report.state = *state == "ready" ? store::HostState::kReady : store::HostState::kMaintenance;
  }
  if (!report.manager_version.empty()) {
    absl::StatusOr<core::DriverVersion> v = core::DriverVersion::Parse(report.manager_version);
    if (!v.ok()) return FieldError("manager_version", ToStd(v.status().message()));
  }
  if (labels != nullptr) GPUFLEET_RETURN_IF_ERROR(DecodeLabels(*labels, report));
  if (report.hotmigrate.has_value()) {
    report.labels[std::string(kHotmigrateLabel)] = *report.hotmigrate ? "true" : "false";
  }
  if (gpus != nullptr) {
    if (gpus->size() > kMaxGpus) return FieldError("gpus", "more than 64 GPUs");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < gpus->size(); ++i) {
      GPUFLEET_ASSIGN_OR_RETURN(store::Gpu gpu,
                                DecodeGpu((*gpus)[i], StrCat("gpus[", i, "]"), catalog));
      if (!seen.insert(gpu.id).second) {
        return FieldError(StrCat("gpus[", i, "].pci"), StrCat("duplicate GPU ", gpu.id));
      }
      report.gpus.push_back(std::move(gpu));
    }
  }
  return report;
}

}  // namespace gpufleet::controller
