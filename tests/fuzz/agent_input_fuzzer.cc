// Fuzzes what the agent reads from outside: its state file (DecodeAgentState, which also decodes
// the controller's desired-state answer), and the simulator's scenario files
// (ParseScenarioYaml). Rejections must be InvalidArgument with a message; an accepted state must
// survive EncodeAgentState -> DecodeAgentState unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "agent/state.h"
#include "backends/sim/scenario_yaml.h"
#include "backends/sim/sim_persist.h"
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

// The simulated hosts' state file (gpufleetd agent --sim-state), laid over one host with an
// unconfigured P40, a MIG A100 and a mixed-size L40S: a refusal is InvalidArgument with a message
// and leaves the hosts as they were; an accepted file re-encodes to a fixed point.
std::vector<backends::sim::internal::SimHost> FuzzHosts() {
  const core::Catalog& catalog = core::Catalog::Embedded();
  backends::sim::internal::SimHost host;
  host.name = "h1";
  auto add = [&](std::string id, std::string_view board, planner::GpuMode mode) {
    backends::sim::internal::SimGpu gpu;
    gpu.id = std::move(id);
    gpu.board = catalog.FindBoard(board);
    gpu.mode = mode;
    if (gpu.board != nullptr) host.gpus.push_back(std::move(gpu));
  };
  add("0000:3b:00.0", "P40", planner::GpuMode::kUnconfigured);
  add("0000:5e:00.0", "A100", planner::GpuMode::kMig);
  add("0000:86:00.0", "L40S", planner::GpuMode::kMixedSize);
  return {host};
}

void FuzzSimState(std::string_view text) {
  static const backends::sim::MixedSizeSpec kGeometry;
  const backends::sim::internal::GeometryFn geometry =
      [](const core::Board&) -> const backends::sim::MixedSizeSpec& { return kGeometry; };
  const core::Catalog& catalog = core::Catalog::Embedded();
  std::vector<backends::sim::internal::SimHost> hosts = FuzzHosts();
  const std::string initial = backends::sim::internal::EncodeSimState(hosts);
  absl::Status applied =
      backends::sim::internal::ApplySimState(text, "sim-state", catalog, geometry, hosts);
  const std::string encoded = backends::sim::internal::EncodeSimState(hosts);
  if (!applied.ok()) {
    Check(applied.code() == absl::StatusCode::kInvalidArgument,
          "sim-state rejections are InvalidArgument", text);
    Check(!applied.message().empty(), "sim-state rejections carry a message", text);
    Check(encoded == initial, "a refused sim-state file changes nothing", text);
    return;
  }
  std::vector<backends::sim::internal::SimHost> again = FuzzHosts();
  Check(backends::sim::internal::ApplySimState(encoded, "sim-state", catalog, geometry, again).ok(),
        "an encoded sim-state decodes", encoded);
  Check(backends::sim::internal::EncodeSimState(again) == encoded,
        "an encoded sim-state is a fixed point", encoded);
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
    gpufleet::FuzzSimState(text);
  } else {
    gpufleet::FuzzScenario(text);
  }
  return 0;
}
