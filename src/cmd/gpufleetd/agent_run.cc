#include "cmd/gpufleetd/agent_run.h"

#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <iostream>
#include <stop_token>
#include <thread>

#include "cmd/gpufleetd/controller_run.h"
#include "cmd/gpufleetd/sim_agents.h"
#include "common/strings.h"

namespace gpufleet::gpufleetd {
namespace {

absl::StatusOr<std::string> EnrolmentToken(const AgentFlags& flags, const os::FileSystem& fs) {
  if (!flags.enrol_token.empty()) return flags.enrol_token;
  if (!flags.enrol_token_file.empty()) {
    absl::StatusOr<std::string> text = fs.ReadFile(flags.enrol_token_file, 4096);
    if (!text.ok()) {
      return absl::InvalidArgumentError(StrCat("--enrol-token-file: ", text.status().message()));
    }
    return std::string(StripAsciiWhitespace(*text));
  }
  const char* env = ::getenv("GPUFLEET_ENROL_TOKEN");
  return env == nullptr ? std::string() : std::string(env);
}

}  // namespace

int RunAgent(const AgentFlags& flags) {
  sigset_t stop_signals = BlockStopSignals();
  std::unique_ptr<os::FileSystem> fs = os::NewPosixFileSystem("/");
  if (flags.backend != "sim") {
    std::cerr << "gpufleetd agent: --backend " << QuoteForMessage(flags.backend)
              << ": only 'sim' exists in this build (sysfs-mdev, vendor-vfio and vsphere come "
                 "later)\n";
    return 2;
  }
  absl::Duration resync;
  if (!absl::ParseDuration(flags.resync_interval, &resync) || resync < absl::Seconds(1)) {
    std::cerr << "gpufleetd agent: --resync-interval: " << QuoteForMessage(flags.resync_interval)
              << " is not a duration of at least 1s\n";
    return 2;
  }
  absl::Duration telemetry;
  if (!absl::ParseDuration(flags.telemetry_interval, &telemetry) ||
      telemetry < absl::Milliseconds(100)) {
    std::cerr << "gpufleetd agent: --telemetry-interval: "
              << QuoteForMessage(flags.telemetry_interval)
              << " is not a duration of at least 100ms\n";
    return 2;
  }
  absl::StatusOr<std::string> token = EnrolmentToken(flags, *fs);
  if (!token.ok()) {
    std::cerr << "gpufleetd agent: " << token.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<backends::sim::Scenario> scenario = LoadScenario(flags.scenario, *fs);
  if (!scenario.ok()) {
    std::cerr << "gpufleetd agent: " << scenario.status().message() << "\n";
    return 2;
  }
  std::unique_ptr<os::Clock> clock = os::NewRealClock();
  // With --sim-state the simulated host keeps its instances across restarts of this process, as
  // a real host's driver does when only the agent dies.
  backends::sim::SimOptions sim_options;
  sim_options.state_file = flags.sim_state;
  auto cluster = backends::sim::SimCluster::Create(*scenario, *clock, std::move(sim_options));
  if (!cluster.ok()) {
    std::cerr << "gpufleetd agent: " << cluster.status().message() << "\n";
    return 2;
  }
  SimAgentOptions options{
      .server = flags.server,
      .enrolment_token = *token,
      .state_dir = flags.state_dir,
      .agent = {.host = flags.host,
                .resync_interval = resync,
                .telemetry_interval = telemetry,
                .manage_vms = flags.manage_vms,
                .log = [](std::string_view line) { std::cerr << "gpufleetd " << line << "\n"; }}};
  auto agent = SimAgent::Create(**cluster, *clock, *fs, std::move(options));
  if (!agent.ok()) {
    std::cerr << "gpufleetd agent: " << agent.status().message() << "\n";
    return 2;
  }
  if (absl::Status s = (*agent)->Launch(); !s.ok()) {
    std::cerr << "gpufleetd agent: " << s.message() << "\n";
    return absl::IsFailedPrecondition(s) || absl::IsInvalidArgument(s) ? 2 : 1;
  }
  // Start-up decodes the catalog and the scenario; hand the freed heap back to the system so
  // that an agent idling on a host does not keep it.
  ::malloc_trim(0);
  std::cout << "gpufleetd agent: host " << flags.host << " (simulated) reporting to "
            << flags.server << std::endl;
  while (true) {
    int sig = sigwaitinfo(&stop_signals, nullptr);
    if (sig == SIGINT || sig == SIGTERM) break;
  }
  std::cerr << "gpufleetd agent: stopping\n";
  (*agent)->Stop();
  return 0;
}

}  // namespace gpufleet::gpufleetd
