#ifndef GPUFLEET_CONTROLLER_HOST_REPORT_H_
#define GPUFLEET_CONTROLLER_HOST_REPORT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

// The body of PUT /api/v1/hosts/{host} (an agent's registration, or an admin's edit):
//   {"hypervisor"?: "kvm" | "vsphere", "state"?: "ready" | "maintenance",
//    "manager_version"?: DRIVER_VERSION, "hotmigrate"?: BOOL, "labels"?: {KEY: VALUE, ...},
//    "gpus"?: [{"pci": PCI, "board": BOARD, "mode"?: MODE, "carved_type"?: TYPE,
//               "ecc"?: BOOL}, ...]}
// at most 64 labels (keys 1 to 253 characters, values at most 253, no "gpufleet.io/" prefix) and
// 64 GPUs, no PCI address twice.
struct HostReport {
  std::string hypervisor = "kvm";
  std::optional<store::HostState> state;  // ready or maintenance; nullopt: leave it as it is
  std::string manager_version;            // "" or a driver version, as given
  std::optional<bool> hotmigrate;
  // The labels given, plus kHotmigrateLabel ("true"/"false") when `hotmigrate` is set.
  std::map<std::string, std::string> labels;
  // host, held, version and the times are left default: they are the store's.
  std::vector<store::Gpu> gpus;

  bool operator==(const HostReport&) const = default;

  // The canonical JSON form: PCI addresses, boards and types canonical, hotmigrate apart from
  // the labels, optional fields omitted when unset or empty.
  [[nodiscard]] nlohmann::json ToJson() const;
};

// Decodes and checks a report: the enums, the driver version's syntax, PCI addresses, boards and
// vGPU types the catalog resolves (in any spelling; they come back canonical), a carved type of
// the GPU's own board. Errors are InvalidArgument with the field attached (status_field.h), e.g.
// "gpus[2].carved_type" or "labels.\"rack\"".
absl::StatusOr<HostReport> DecodeHostReport(const nlohmann::json& body,
                                            const core::Catalog& catalog);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_HOST_REPORT_H_
