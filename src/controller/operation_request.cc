#include "controller/operation_request.h"

#include <array>
#include <utility>

#include "common/json.h"
#include "common/pci_address.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/context.h"

namespace gpufleet::controller {
namespace {

constexpr std::array<std::pair<OperationKind, std::string_view>, 6> kKinds = {{
    {OperationKind::kMigrate, "migrate"},
    {OperationKind::kEvacuate, "evacuate"},
    {OperationKind::kExitMaintenance, "exit-maintenance"},
    {OperationKind::kHaRestart, "ha-restart"},
    {OperationKind::kRecarve, "recarve"},
    {OperationKind::kDefrag, "defrag"},
}};

constexpr std::array<std::string_view, 5> kModes = {"unconfigured", "equal-size", "mixed-size",
                                                    "mig", "passthrough"};

absl::Status Invalid(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

absl::StatusOr<std::string> CanonicalType(const std::string& spelling,
                                          const core::Catalog& catalog) {
  absl::StatusOr<const core::VgpuType*> t = catalog.ResolveType(spelling);
  if (!t.ok()) return Invalid("type", ToStd(t.status().message()));
  return (*t)->name;
}

}  // namespace

std::string_view OperationKindName(OperationKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "unknown";
}

absl::StatusOr<OperationKind> ParseOperationKind(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
    names.emplace_back(n);
  }
  return Invalid("kind", StrCat(QuoteForMessage(name), " is not one of ", StrJoin(names, ", ")));
}

nlohmann::json OperationRequest::ToJson() const {
  nlohmann::json j = {{"kind", OperationKindName(kind)}};
  switch (kind) {
    case OperationKind::kMigrate:
      j["vm"] = vm;
      if (!to.empty()) j["to"] = to;
      break;
    case OperationKind::kEvacuate:
    case OperationKind::kExitMaintenance:
    case OperationKind::kHaRestart:
      j["host"] = host;
      break;
    case OperationKind::kRecarve:
      j["host"] = host;
      j["gpu"] = gpu;
      j["mode"] = mode;
      if (!type.empty()) j["type"] = type;
      break;
    case OperationKind::kDefrag:
      j["type"] = type;
      j["count"] = count;
      break;
  }
  if (stun_budget_seconds.has_value()) j["stun_budget_seconds"] = *stun_budget_seconds;
  return j;
}

absl::StatusOr<OperationRequest> DecodeOperationRequest(const nlohmann::json& body,
                                                        const core::Catalog& catalog) {
  if (!body.is_object()) return Invalid("body", "expected a JSON object");
  JsonReader r(body, "");
  OperationRequest req;
  const std::string kind = r.String("kind");
  req.dry_run = r.OptBool("dry_run").value_or(false);
  if (!r.ok()) return r.Finish();
  GPUFLEET_ASSIGN_OR_RETURN(req.kind, ParseOperationKind(kind));
  std::string type;
  switch (req.kind) {
    case OperationKind::kMigrate:
      req.vm = r.String("vm");
      req.to = r.OptString("to").value_or("");
      req.stun_budget_seconds = r.OptInt("stun_budget_seconds", 1, 3600);
      break;
    case OperationKind::kEvacuate:
      req.host = r.String("host");
      req.stun_budget_seconds = r.OptInt("stun_budget_seconds", 1, 3600);
      break;
    case OperationKind::kExitMaintenance:
    case OperationKind::kHaRestart:
      req.host = r.String("host");
      break;
    case OperationKind::kRecarve:
      req.host = r.String("host");
      req.gpu = r.String("gpu");
      req.mode = r.String("mode");
      type = r.OptString("type").value_or("");
      break;
    case OperationKind::kDefrag:
      type = r.String("type");
      req.count = r.OptInt("count", 1, 64).value_or(1);
      break;
  }
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  if (!req.vm.empty() || req.kind == OperationKind::kMigrate) {
    GPUFLEET_RETURN_IF_ERROR(CheckName(req.vm, "vm"));
  }
  if (!req.to.empty()) GPUFLEET_RETURN_IF_ERROR(CheckName(req.to, "to"));
  if (!req.host.empty() || req.kind == OperationKind::kEvacuate ||
      req.kind == OperationKind::kExitMaintenance || req.kind == OperationKind::kHaRestart ||
      req.kind == OperationKind::kRecarve) {
    GPUFLEET_RETURN_IF_ERROR(CheckName(req.host, "host"));
  }
  if (req.kind == OperationKind::kRecarve) {
    absl::StatusOr<PciAddress> pci = PciAddress::Parse(req.gpu);
    if (!pci.ok()) return Invalid("gpu", ToStd(pci.status().message()));
    req.gpu = pci->ToString();
    bool known = false;
    for (std::string_view m : kModes) known = known || m == req.mode;
    if (!known) {
      return Invalid("mode",
                     StrCat(QuoteForMessage(req.mode), " is not one of ",
                            StrJoin(std::vector<std::string>(kModes.begin(), kModes.end()), ", ")));
    }
    if (req.mode == "equal-size" && type.empty()) {
      return Invalid("type", "equal-size carving needs the vGPU type, e.g. \"P40-8Q\"");
    }
    if (req.mode != "equal-size" && !type.empty()) {
      return Invalid("type", StrCat("only equal-size carving takes a type; mode ", req.mode,
                                    " decides its instances per VM"));
    }
  }
  if (!type.empty()) {
    GPUFLEET_ASSIGN_OR_RETURN(req.type, CanonicalType(type, catalog));
  }
  return req;
}

}  // namespace gpufleet::controller
