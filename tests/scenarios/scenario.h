#ifndef GPUFLEET_TESTS_SCENARIOS_SCENARIO_H_
#define GPUFLEET_TESTS_SCENARIOS_SCENARIO_H_

// One planner scenario file (tests/scenarios/*.yaml, format in tests/scenarios/README.md): a
// cluster, one operation with its parameters, and the expected outcome. Decoding is strict:
// unknown keys, keys of another operation and wrong types are errors naming file, line and field,
// so a typo in an expectation cannot silently pass.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "planner/planner.h"
#include "planner/yaml_tree.h"

namespace gpufleet::planner::scenario {

enum class Operation { kPlace, kPlan, kEvacuate, kHa, kDefrag };
[[nodiscard]] std::string_view OperationName(Operation op);

// A VM expected in a list of rejections (plan), stuck VMs (evacuate) or VMs that cannot restart
// (ha): every piece of `contains` must occur in its reason.
struct ExpectedReason {
  std::string vm;
  std::vector<std::string> contains;
};

// What the scenario expects. Absent optionals are not checked; the lists of rejected, stuck and
// missing things are checked exactly (absent means none).
struct Expectations {
  std::vector<std::string> error_contains;  // the cluster or demand must be rejected

  // place
  std::optional<std::string> host;
  std::optional<std::vector<std::string>> gpus;
  std::optional<std::string> type;
  std::optional<std::string> mode;
  std::optional<int> placement;
  std::vector<std::string> rejected_reason;  // non-empty: the VM must not be placed

  // plan
  std::optional<int> placed, gpus_used, hosts_used, gap, stranded_mib;
  std::vector<ExpectedReason> rejected;
  std::optional<std::map<std::string, int>> bound, free_by_type;
  std::map<std::string, std::string> on_host, on_gpu, type_of;
  std::map<std::string, int> placements;

  // evacuate and defrag
  std::optional<int> moves;
  std::vector<ExpectedReason> stuck;
  std::map<std::string, std::string> to;

  // ha
  std::optional<bool> n_plus_one;
  std::map<std::string, std::map<std::string, int>> missing;
  std::map<std::string, int> reserve;
  std::optional<std::vector<ExpectedReason>> cannot_restart;
  std::map<std::string, std::vector<std::string>> reserve_hosts;

  // defrag
  std::optional<bool> satisfied, minimal;
  std::optional<int> moves_lower_bound;
  std::optional<int> recarves, free_before, free_after;
  std::vector<std::string> explanation_contains;
};

struct Scenario {
  std::string file_name;
  std::string description;
  // Non-empty: the planner is known (suspected) to get this scenario wrong; the driver skips it
  // while some expectation fails and fails it once all pass, so the note is removed with the fix.
  std::string known_bug;
  Operation operation = Operation::kPlace;
  YamlNode cluster;                // decoded by the runner: its errors may be what is expected
  std::optional<YamlNode> demand;  // plan
  std::string vm;                  // place
  std::string host;                // evacuate
  const core::VgpuType* target = nullptr;  // defrag
  int count = 1;                           // defrag
  bool from_scratch = false;               // plan
  PlaceOptions place;                      // policy, allow_recarve
  std::optional<double> stun_budget_seconds;
  Expectations expect;
};

// Decodes a scenario file; InvalidArgument names the file, line, column and field.
absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view file_name,
                                       const core::Catalog& catalog);

}  // namespace gpufleet::planner::scenario

#endif  // GPUFLEET_TESTS_SCENARIOS_SCENARIO_H_
