#ifndef GPUFLEET_CMD_GPUFLEETD_SIM_AGENTS_H_
#define GPUFLEET_CMD_GPUFLEETD_SIM_AGENTS_H_

// Agents over simulated hosts: the backends of one SimCluster host wired to an agent::Agent
// talking HTTP to a controller. Used by `gpufleetd agent --backend sim` (one host) and by
// `gpufleetd demo` (every host, each on its own thread).

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/agent.h"
#include "agent/http_controller_api.h"
#include "agent/state.h"
#include "backends/sim/scenario.h"
#include "backends/sim/sim_cluster.h"
#include "os/clock.h"
#include "os/file_system.h"

namespace gpufleet::gpufleetd {

// Reads a scenario: "seed" and "mixed-kvm" name the examples compiled into the binary; anything
// else is a file path.
absl::StatusOr<backends::sim::Scenario> LoadScenario(const std::string& name_or_path,
                                                     const os::FileSystem& fs);

struct SimAgentOptions {
  std::string server{};           // the controller's URL
  std::string enrolment_token{};  // "" when the state directory already has a credential
  std::string state_dir{};        // this agent's own directory
  agent::AgentOptions agent{};    // host, intervals, manage_vms, log
};

// One host's backends and its agent. The cluster and the clock must outlive it.
class SimAgent {
 public:
  static absl::StatusOr<std::unique_ptr<SimAgent>> Create(backends::sim::SimCluster& cluster,
                                                          const os::Clock& clock,
                                                          const os::FileSystem& fs,
                                                          SimAgentOptions options);
  // Start() of the agent, then its loop on a thread of its own.
  absl::Status Launch();
  // Runs the loop on this thread until `stop`.
  absl::Status RunHere(std::stop_token stop);
  // Stops and joins the thread; idempotent.
  void Stop();
  ~SimAgent() { Stop(); }

  [[nodiscard]] agent::AgentStats stats() const { return agent_->stats(); }
  [[nodiscard]] const std::string& host() const { return host_; }

 private:
  SimAgent() = default;

  std::string host_{};
  std::unique_ptr<backends::VgpuHost> vgpu_;
  std::unique_ptr<backends::GpuTelemetry> telemetry_;
  std::unique_ptr<backends::Bmc> bmc_;
  std::unique_ptr<backends::Hypervisor> hypervisor_;
  std::unique_ptr<agent::ControllerApi> api_;
  std::unique_ptr<agent::StateFile> state_file_;
  std::unique_ptr<agent::Agent> agent_;
  std::jthread thread_;
};

}  // namespace gpufleet::gpufleetd

#endif  // GPUFLEET_CMD_GPUFLEETD_SIM_AGENTS_H_
