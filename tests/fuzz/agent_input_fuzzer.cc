// Fuzzes what the agent reads from outside: its state file (DecodeAgentState, which also decodes
// the controller's desired-state answer), and the simulator's scenario files
// (ParseScenarioYaml). Rejections must be InvalidArgument with a message; an accepted state must
// survive EncodeAgentState -> DecodeAgentState unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "agent/state.h"
#include "backends/sim/scenario_yaml.h"
#include "core/catalog.h"
#include "fuzz_check.h"

namespace gpufleet {
namespace {

using fuzz::Check;

void FuzzState(std::string_view text) {
  absl::StatusOr<agent::AgentState> state = agent::DecodeAgentState(text, "state");
  if (!state.ok()) {
    Check(state.status().code() == absl::StatusCode::kInvalidArgument,
          "state rejections are InvalidArgument", text);
    Check(!state.status().message().empty(), "state rejections carry a message", text);
    return;
  }
  std::string encoded = agent::EncodeAgentState(*state);
  absl::StatusOr<agent::AgentState> again = agent::DecodeAgentState(encoded, "state");
  Check(again.ok(), "an encoded state decodes", encoded);
  Check(*again == *state, "an encoded state decodes to itself", encoded);
}

void FuzzScenario(std::string_view text) {
  absl::StatusOr<backends::sim::Scenario> scenario =
      backends::sim::ParseScenarioYaml(text, "scenario.yaml", core::Catalog::Embedded());
  if (!scenario.ok()) {
    Check(scenario.status().code() == absl::StatusCode::kInvalidArgument,
          "scenario rejections are InvalidArgument", text);
    Check(!scenario.status().message().empty(), "scenario rejections carry a message", text);
  }
}

}  // namespace
}  // namespace gpufleet

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gpufleet::fuzz::kMaxFuzzInput) return 0;
  std::string_view text = gpufleet::fuzz::AsText(data, size);
  // The first byte picks the parser, so one corpus serves both.
  if (text.empty()) return 0;
  if (text.front() == '{') {
    gpufleet::FuzzState(text);
  } else {
    gpufleet::FuzzScenario(text);
  }
  return 0;
}
