#ifndef GPUFLEET_BACKENDS_SIM_SCENARIO_YAML_H_
#define GPUFLEET_BACKENDS_SIM_SCENARIO_YAML_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "backends/sim/scenario.h"
#include "core/catalog.h"

namespace gpufleet::backends::sim {

// Decodes a scenario file (docs/simulator.md; close to the planner's cluster file). Pure: text
// in, Scenario out; the caller reads the file and bounds its size. Every error is InvalidArgument
// naming the file, line, column and field:
//   "scenario.yaml:7:16: hosts[1].gpus[0].board: unknown board 'P41'; did you mean P40? ..."
// Unknown keys, wrong types, unknown boards/types/editions/hosts/GPUs and malformed durations are
// errors. Capacity (whether the VMs fit their GPUs) is checked by SimCluster::Create.
// The returned scenario points into `catalog`, which must outlive it.
absl::StatusOr<Scenario> ParseScenarioYaml(std::string_view text, std::string_view file_name,
                                           const core::Catalog& catalog);

}  // namespace gpufleet::backends::sim

#endif  // GPUFLEET_BACKENDS_SIM_SCENARIO_YAML_H_
