#ifndef GPUFLEET_AGENT_WIRE_H_
#define GPUFLEET_AGENT_WIRE_H_

// JSON forms of what the agent sends and receives (docs/agents.md, docs/api/openapi.yaml). The
// decoders are strict: every error names the field ("instances[2].uuid: not a UUID").

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/controller_api.h"
#include "backends/bmc.h"
#include "backends/gpu_telemetry.h"
#include "backends/vgpu_host.h"
#include "nlohmann/json.hpp"

namespace gpufleet::agent {

// At most this many desired instances are accepted from the controller or the state file.
inline constexpr int kMaxDesiredInstances = 4096;

// PUT /api/v1/hosts/{host}: the host report (no `state`: maintenance is the controller's).
[[nodiscard]] nlohmann::json HostReportJson(const backends::HostFacts& facts);
// PUT /api/v1/hosts/{host}/instances.
[[nodiscard]] nlohmann::json ObservedJson(const std::vector<backends::VgpuInstance>& observed,
                                          const std::vector<MigrationResult>& migrations = {},
                                          const std::vector<GpuCreatable>& creatable = {},
                                          const std::vector<AgentError>& errors = {});
// The `migrations` list of that body; the agent's state file keeps unreported ones in it.
[[nodiscard]] nlohmann::json MigrationsJson(const std::vector<MigrationResult>& migrations);
// `what` prefixes errors ("agent state file x: migrations").
absl::StatusOr<std::vector<MigrationResult>> DecodeMigrations(const nlohmann::json& list,
                                                              std::string_view what);
// POST /api/v1/hosts/{host}/telemetry.
[[nodiscard]] nlohmann::json TelemetryJson(const std::vector<backends::GpuSample>& gpus,
                                           const std::optional<backends::BmcReading>& bmc);

[[nodiscard]] nlohmann::json DesiredJson(const DesiredState& desired);
// `what` prefixes errors ("GET /api/v1/hosts/h1/desired", "agent state file x").
absl::StatusOr<DesiredState> DecodeDesired(const nlohmann::json& body, std::string_view what);

}  // namespace gpufleet::agent

#endif  // GPUFLEET_AGENT_WIRE_H_
