#ifndef GPUFLEET_CMD_GPUFLEETD_AGENT_RUN_H_
#define GPUFLEET_CMD_GPUFLEETD_AGENT_RUN_H_

#include <string>

namespace gpufleet::gpufleetd {

struct AgentFlags {
  std::string server{};
  std::string host{};
  std::string enrol_token{};
  std::string enrol_token_file{};
  std::string state_dir = "/var/lib/gpufleet/agent";
  std::string backend = "sim";
  std::string scenario = "seed";
  std::string sim_state{};  // sim: the simulated hosts' vGPU state survives restarts here
  std::string resync_interval = "60s";
  std::string telemetry_interval = "10s";
  bool manage_vms = false;
};

// `gpufleetd agent`: one host's agent until SIGINT/SIGTERM. Returns the exit code.
int RunAgent(const AgentFlags& flags);

}  // namespace gpufleet::gpufleetd

#endif  // GPUFLEET_CMD_GPUFLEETD_AGENT_RUN_H_
