#ifndef GPUFLEET_AGENT_CONTROLLER_API_H_
#define GPUFLEET_AGENT_CONTROLLER_API_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "backends/bmc.h"
#include "backends/gpu_telemetry.h"
#include "backends/vgpu_host.h"
#include "common/uuid.h"

namespace gpufleet::agent {

// One vGPU instance the controller wants on this host (GET /api/v1/hosts/{host}/desired).
struct DesiredInstance {
  Uuid uuid{};
  std::string vm{};
  int index = 0;
  std::string gpu{};
  std::string type{};
  int placement = -1;
  bool operator==(const DesiredInstance&) const = default;
};

// A running VM the controller wants this host to live-migrate to `to`: once `ready` (its vGPUs
// exist there); until then it keeps running here.
struct Departure {
  std::string vm{};
  std::string to{};
  bool ready = true;
  bool operator==(const Departure&) const = default;
};

// A VM desired here that must not be started yet, because it may still run on another host (a
// live migration to here not over, or another host still reporting one of its vGPUs).
struct StartHold {
  std::string vm{};
  std::string reason{};  // "live-migrating from r730-1", "still on r730-1"
  bool operator==(const StartHold&) const = default;
};

struct DesiredState {
  std::string generation{};  // the controller's ETag of the list; "" = never fetched
  std::vector<DesiredInstance> instances{};
  std::vector<Departure> departures{};
  std::vector<StartHold> holds{};
  bool operator==(const DesiredState&) const = default;
};

// How a departure went: migrated with a stun time, or refused (error) and left to a cold move,
// or `unmeasured`: the VM left this host during a migration whose end the agent did not see (it
// was restarted meanwhile), so it migrated but its pause is unknown.
struct MigrationResult {
  std::string vm{};
  std::string to{};
  std::optional<absl::Duration> stun{};
  std::string error{};
  bool unmeasured = false;
  bool operator==(const MigrationResult&) const = default;
};

// A problem the agent ran into (a backend or controller call that failed), with how often since
// its last report: the controller records it as an event, so that operators see agent-side
// failures without reading the agent's log.
struct AgentError {
  std::string message{};
  int count = 1;
  bool operator==(const AgentError&) const = default;
};
// The distinct problems one report carries at most (the first ones since the last report).
inline constexpr std::size_t kMaxReportedErrors = 16;

// What one GPU's driver says it can create now (VgpuHost::Creatable), reported with the
// instances so that the controller can show the driver's view beside its own plan.
struct GpuCreatable {
  std::string gpu{};
  std::vector<backends::CreatableType> types{};
  bool operator==(const GpuCreatable&) const = default;
};

struct HeartbeatReply {
  std::string state{};  // "ready", "maintenance", "down"
  absl::Duration next_heartbeat = absl::Seconds(10);
};

// The controller as an agent sees it (docs/agents.md). Errors: Unauthenticated when the
// credential is refused, Unavailable when the controller cannot be reached or answers 5xx,
// InvalidArgument/FailedPrecondition with the controller's message for 4xx answers.
class ControllerApi {
 public:
  virtual ~ControllerApi() = default;

  // POST /api/v1/agents/enrol: returns the agent credential for the token's host.
  virtual absl::StatusOr<std::string> Enrol(const std::string& enrolment_token) = 0;
  // Sets the credential used by every later call.
  virtual void SetCredential(const std::string& credential) = 0;

  virtual absl::Status PutHost(const std::string& host, const backends::HostFacts& facts) = 0;
  virtual absl::StatusOr<HeartbeatReply> Heartbeat(const std::string& host) = 0;
  // nullopt when the controller's generation equals `known_generation` (304 Not Modified).
  virtual absl::StatusOr<std::optional<DesiredState>> GetDesired(
      const std::string& host, const std::string& known_generation) = 0;
  // The observed instances, the migrations done since the last report that succeeded, the
  // types each GPU can create now, and the problems since the last report.
  virtual absl::Status PutInstances(const std::string& host,
                                    const std::vector<backends::VgpuInstance>& observed,
                                    const std::vector<MigrationResult>& migrations,
                                    const std::vector<GpuCreatable>& creatable,
                                    const std::vector<AgentError>& errors) = 0;
  virtual absl::Status PostTelemetry(const std::string& host,
                                     const std::vector<backends::GpuSample>& gpus,
                                     const std::optional<backends::BmcReading>& bmc) = 0;
  // expires_in = 0: the guest holds no lease.
  virtual absl::Status PutLease(const std::string& host, const std::string& vm,
                                absl::Duration expires_in) = 0;
};

}  // namespace gpufleet::agent

#endif  // GPUFLEET_AGENT_CONTROLLER_API_H_
