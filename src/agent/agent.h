#ifndef GPUFLEET_AGENT_AGENT_H_
#define GPUFLEET_AGENT_AGENT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/controller_api.h"
#include "agent/reconcile.h"
#include "agent/state.h"
#include "backends/bmc.h"
#include "backends/gpu_telemetry.h"
#include "backends/hypervisor.h"
#include "backends/vgpu_host.h"
#include "os/clock.h"

namespace gpufleet::agent {

struct AgentOptions {
  std::string host{};             // this host's name in the controller
  std::string enrolment_token{};  // used once, when the state file has no credential
  absl::Duration heartbeat_interval = absl::Seconds(10);  // until the controller says otherwise
  absl::Duration resync_interval = absl::Seconds(60);     // full reconcile even with no change
  absl::Duration telemetry_interval = absl::Seconds(10);
  absl::Duration license_interval = absl::Seconds(60);
  // Start a VM once all its vGPUs exist and stop a VM whose vGPUs are no longer wanted here.
  // For the simulator and the demo; real hosts leave VMs to their VM manager.
  bool manage_vms = false;
  // Live-migrate the VMs the controller lists under `departures` through the hypervisor, and
  // report the stun time. Only where the hypervisor can reach the destination (the demo's
  // simulated agents share one cluster); otherwise each departure is reported refused and the
  // VM moves cold (stopped here, started there).
  bool live_migration = false;
  ReconcilerOptions reconcile{};
  // Where the agent says what it did and what failed (one line each); null = silent.
  std::function<void(std::string_view)> log{};
};

// Whichever backends the host has; vgpu is required, the others may be null.
struct AgentBackends {
  backends::VgpuHost* vgpu = nullptr;
  backends::GpuTelemetry* telemetry = nullptr;
  backends::Bmc* bmc = nullptr;
  backends::Hypervisor* hypervisor = nullptr;
};

// Counters, for the CLI, tests and benchmarks.
struct AgentStats {
  int64_t heartbeats = 0;
  int64_t heartbeat_failures = 0;
  int64_t reconciles = 0;
  int64_t created = 0;
  int64_t removed = 0;
  int64_t rolled_back = 0;
  int64_t failures = 0;
  int64_t telemetry_posts = 0;
  int64_t conflicts = 0;   // in the last pass
  bool converged = false;  // the last pass left nothing to do
  bool controller_reachable = false;
  std::string last_error{};
};

// The agent of one host: level-triggered reconcile of the host's vGPU instances to the
// controller's desired state, heartbeats, telemetry, guest licence leases. It keeps working from
// its state file when the controller is away. Tick() does whatever is due now and returns when
// the next thing is due, so tests drive it with a FakeClock; Run() loops on a real clock.
// Thread-safety: Tick/Run on one thread; stats() from any.
class Agent {
 public:
  Agent(AgentOptions options, AgentBackends backends, ControllerApi& controller,
        const os::Clock& clock, const StateFile& state_file);

  // Loads the state file (an unreadable one is an error: it is never silently replaced),
  // enrols when there is no credential (and the controller answers), and reconciles once from
  // the saved desired state. Fails only on what a retry cannot fix.
  absl::Status Start();
  absl::Time Tick();
  void Run(std::stop_token stop);
  // Makes the next Tick reconcile and fetch the desired state at once.
  void Nudge();

  [[nodiscard]] AgentStats stats() const;
  [[nodiscard]] const AgentState& state() const { return state_; }

 private:
  absl::Status EnsureEnrolled();
  // Reports the host's facts when they changed; false when the host does not answer.
  bool Register();
  void HeartbeatAndFetch(absl::Time now);
  void Reconcile(absl::Time now);
  void MigrateDepartures(absl::Time now);
  // A migration the agent started and did not see end (state_.migrating found on start).
  void ResolveInterruptedMigration(const std::set<std::string>& running);
  // What each GPU of the reported facts can create now (GPUs whose driver does not answer are
  // left out).
  std::vector<GpuCreatable> Creatable();
  void StopUnwantedVms();
  void StartReadyVms(const std::vector<backends::VgpuInstance>& observed);
  void PostTelemetry();
  void ReportLeases();
  void Remember(const absl::Status& status);
  absl::Status Persist();

  AgentOptions options_;
  AgentBackends backends_;
  ControllerApi& controller_;
  const os::Clock& clock_;
  const StateFile& state_file_;
  Reconciler reconciler_;
  AgentState state_;

  bool enrolled_ = false;
  std::optional<backends::HostFacts> reported_facts_;
  std::vector<backends::VgpuInstance> reported_observed_;
  bool observed_reported_ = false;
  bool reconcile_wanted_ = true;
  absl::Duration heartbeat_interval_;
  absl::Time next_heartbeat_ = absl::InfinitePast();
  absl::Time next_resync_ = absl::InfinitePast();
  absl::Time next_observed_report_ = absl::InfinitePast();
  absl::Time vm_retry_at_ = absl::InfiniteFuture();  // manage_vms: a VM that failed to start
  absl::Time next_telemetry_ = absl::InfinitePast();
  absl::Time next_license_ = absl::InfinitePast();
  std::atomic<bool> nudged_{false};

  std::map<std::string, absl::Time> logged_;  // message -> when it was last logged
  // Problems since the last instances report that got through (at most kMaxReportedErrors
  // distinct ones, in the order met), and when problems alone may trigger the next report.
  std::vector<AgentError> unreported_errors_;
  absl::Time next_error_report_ = absl::InfinitePast();
  // After an instances report that failed (not one refused as invalid): no new attempt before
  // report_retry_at_; the wait doubles from 1 s to a minute and ends with a report that gets
  // through.
  absl::Time report_retry_at_ = absl::InfinitePast();
  absl::Duration report_backoff_ = absl::ZeroDuration();
  mutable std::mutex stats_mu_;
  AgentStats stats_;
};

}  // namespace gpufleet::agent

#endif  // GPUFLEET_AGENT_AGENT_H_
