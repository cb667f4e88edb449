#ifndef GPUFLEET_AGENT_RECONCILE_H_
#define GPUFLEET_AGENT_RECONCILE_H_

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/controller_api.h"
#include "backends/vgpu_host.h"
#include "common/uuid.h"
#include "os/clock.h"

namespace gpufleet::agent {

// An instance the agent found and will not touch, with why.
struct Conflict {
  Uuid uuid{};
  std::string gpu{};
  std::string reason{};
  bool operator==(const Conflict&) const = default;
};

// What one pass must do to turn `observed` into `desired`. Removals come first (they free room:
// an equal-size GPU takes another type only once it is empty).
struct ReconcilePlan {
  std::vector<backends::VgpuInstance> removes{};
  std::vector<DesiredInstance> creates{};  // sorted by (vm, index)
  std::vector<Conflict> conflicts{};
};

// The rules, pure:
//  - desired and observed alike (same GPU, type, and placement where the controller chose one):
//    nothing to do;
//  - desired, not observed: create;
//  - desired, observed with other parameters: remove and create, unless the instance is active
//    (a running VM holds it): then a conflict, retried when the VM stops;
//  - observed, not desired: remove when `owned` (the controller asked for it once), else a
//    conflict: a foreign device is never deleted silently.
[[nodiscard]] ReconcilePlan PlanReconcile(const std::vector<DesiredInstance>& desired,
                                          const std::vector<backends::VgpuInstance>& observed,
                                          const std::set<Uuid>& owned);

struct ReconcileFailure {
  Uuid uuid{};
  std::string action{};  // "create", "remove", "rollback"
  absl::Status status{};
};

struct ReconcileOutcome {
  int created = 0;
  int removed = 0;
  int rolled_back = 0;
  int deferred = 0;  // actions skipped because their retry time has not come
  std::vector<Conflict> conflicts{};
  std::vector<ReconcileFailure> failures{};
  std::vector<backends::VgpuInstance> observed{};  // the host after the pass
  bool listed = false;  // false: the backend could not even list its instances
  [[nodiscard]] bool converged() const {
    return listed && failures.empty() && deferred == 0 && conflicts.empty();
  }
};

struct ReconcilerOptions {
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(60);
  uint64_t seed = 1;  // jitter
};

// Applies plans to one host, level-triggered: each Run lists the host, plans, and acts. A VM's
// vGPUs are created all or none: when one of them fails, the ones this pass created are removed
// again (rolled back). A failed action waits an exponential, jittered backoff before it is tried
// again; success clears it. Not thread-safe: one reconciler per host, driven by the agent.
class Reconciler {
 public:
  Reconciler(backends::VgpuHost& host, const os::Clock& clock, ReconcilerOptions options = {});

  ReconcileOutcome Run(const std::vector<DesiredInstance>& desired, const std::set<Uuid>& owned);

  // The earliest time a deferred action may be retried; InfiniteFuture when none waits.
  [[nodiscard]] absl::Time next_retry() const;

 private:
  struct Backoff {
    int failures = 0;
    absl::Time next_try{};
  };
  bool Due(const Uuid& uuid, absl::Time now) const;
  void Failed(const Uuid& uuid, absl::Time now);
  void CreateVm(const std::vector<DesiredInstance>& vm_instances, absl::Time now,
                ReconcileOutcome& out);

  backends::VgpuHost& host_;
  const os::Clock& clock_;
  ReconcilerOptions options_;
  std::mt19937_64 rng_;
  std::map<Uuid, Backoff> backoff_;
};

}  // namespace gpufleet::agent

#endif  // GPUFLEET_AGENT_RECONCILE_H_
