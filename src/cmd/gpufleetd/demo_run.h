#ifndef GPUFLEET_CMD_GPUFLEETD_DEMO_RUN_H_
#define GPUFLEET_CMD_GPUFLEETD_DEMO_RUN_H_

#include <string>

namespace gpufleet::gpufleetd {

struct DemoFlags {
  std::string scenario = "seed";  // "seed", "mixed-kvm" or a scenario file
  std::string data_dir{};         // "" = a fresh temporary directory, removed at exit
  std::string listen = "127.0.0.1:8470";
  std::string heartbeat_interval = "2s";
  bool no_vms = false;    // do not create the scenario's VMs
  std::string web_dir{};  // see ControllerFlags::web_dir
};

// `gpufleetd demo`: a controller on an embedded SQLite directory, a simulated cluster, one agent
// per simulated host (enrolled over the API like real ones), the scenario's license pools and
// VMs; prints the URL, an admin token and commands to try; stops on SIGINT/SIGTERM. Returns the
// exit code.
int RunDemo(const DemoFlags& flags);

}  // namespace gpufleet::gpufleetd

#endif  // GPUFLEET_CMD_GPUFLEETD_DEMO_RUN_H_
