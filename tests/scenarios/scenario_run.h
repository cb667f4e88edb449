#ifndef GPUFLEET_TESTS_SCENARIOS_SCENARIO_RUN_H_
#define GPUFLEET_TESTS_SCENARIOS_SCENARIO_RUN_H_

#include <string>
#include <vector>

#include "core/catalog.h"
#include "scenario.h"

namespace gpufleet::planner::scenario {

struct Outcome {
  // Scenario errors (a VM or host the scenario names does not exist): the file is wrong, whatever
  // the planner does. Always a test failure, known bug or not.
  std::vector<std::string> errors;
  // Expectations the planner's answer does not meet, and broken invariants: Violations() of the
  // resulting cluster, a plan below its lower bound, an answer that differs between two runs.
  std::vector<std::string> failures;
  // The planner's answer in a few lines, for failure messages.
  std::string summary;
};

// Decodes the scenario's cluster (and demand), runs its operation twice and checks the answer.
[[nodiscard]] Outcome RunScenario(const Scenario& scenario, const core::Catalog& catalog);

}  // namespace gpufleet::planner::scenario

#endif  // GPUFLEET_TESTS_SCENARIOS_SCENARIO_RUN_H_
