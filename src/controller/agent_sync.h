#ifndef GPUFLEET_CONTROLLER_AGENT_SYNC_H_
#define GPUFLEET_CONTROLLER_AGENT_SYNC_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/router.h"
#include "common/uuid.h"
#include "controller/agent_errors.h"
#include "controller/context.h"
#include "controller/creatable.h"
#include "controller/live_migration.h"
#include "controller/start_holds.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

// The most instances one PUT /api/v1/hosts/{host}/instances may report.
inline constexpr std::size_t kMaxReportedInstances = 4096;

// One vGPU instance as the agent found it on its host.
struct ReportedInstance {
  Uuid uuid;
  std::string gpu;   // as reported; a PCI address comes back canonical ("0000:3b:00.0")
  std::string type;  // the catalog's canonical name ("P40-8Q")
  int placement = -1;
  std::string vm;  // the hypervisor's name for it; "" when the agent cannot tell
  bool active = false;
};

// The body of PUT /api/v1/hosts/{host}/instances:
//   {"instances": [{"uuid": UUID, "gpu": PCI, "type": TYPE, "placement"?: -1..1023,
//                   "vm"?: NAME, "active"?: BOOL}, ...],    at most kMaxReportedInstances
//    "migrations"?: [{"vm": NAME, "to": HOST, "stun_ms"?: INT, "error"?: TEXT}, ...],
//    "creatable"?: [{"gpu": PCI, "types": [{"type": TYPE, "available": INT}, ...]}, ...],
//    "errors"?: [{"message": TEXT, "count": INT}, ...]}
struct InstancesReport {
  std::vector<ReportedInstance> instances;
  std::vector<MigrationReport> migrations;  // live_migration.h
  std::vector<GpuCreatable> creatable;      // creatable.h
  std::vector<AgentErrorReport> errors;     // agent_errors.h

  // The canonical JSON form: every field present, types canonical.
  [[nodiscard]] nlohmann::json ToJson() const;
};

// Decodes and checks the shape of a report (UUIDs, no duplicate UUID, a type the catalog
// resolves in any spelling, ranges). Whether each GPU exists on the host, and the type is one of
// its board, is the caller's question. Errors are InvalidArgument naming the field
// ("instances[3].uuid: not a UUID ...").
absl::StatusOr<InstancesReport> DecodeInstancesReport(const nlohmann::json& body,
                                                      const core::Catalog& catalog);

// The desired vGPU instances of one host, as its agent converges to them. `generation` is the
// first 16 bytes of the SHA-256 of the canonical JSON of the host and the list (32 lower-case
// hex digits): the same list gives the same generation on every controller and after restarts.
struct DesiredState {
  std::string host;
  std::string generation;
  nlohmann::json instances;   // [{uuid, vm, index, gpu, type, placement}], sorted by uuid
  nlohmann::json departures;  // [{vm, to}]: VMs to live-migrate away now (Departures)
  nlohmann::json holds;       // [{vm, reason}]: VMs not to start yet (StartHolds)
};

// `instances` may be in any order; `departures` as Departures returns them.
[[nodiscard]] DesiredState MakeDesiredState(const std::string& host,
                                            std::vector<store::DesiredInstance> instances,
                                            nlohmann::json departures = nlohmann::json::array(),
                                            nlohmann::json holds = nlohmann::json::array());

// The agent-facing half of reconciliation: desired state down, observed state up. Thread-safe.
//
// Routes:
//   GET /api/v1/hosts/{host}/desired     the agent of {host}, or viewer: {host, generation,
//                                        instances, departures}; ETag "<generation>";
//                                        If-None-Match equal to it: 304 with no body. 404 for an
//                                        unknown host.
//   GET /api/v1/hosts/{host}/instances   the agent of {host}, or viewer: what the host last
//                                        reported, each instance marked desired here or foreign,
//                                        and the desired ones it has not reported (missing).
//                                        404 for an unknown host.
//   PUT /api/v1/hosts/{host}/instances   the agent of {host}, or admin: an InstancesReport that
//                                        replaces the host's observed instances in one store
//                                        transaction -> {host, observed, missing, foreign,
//                                        migrations}; its migrations are recorded in the same
//                                        transaction (live_migration.h).
//
// Observed rows are written only when the report changes them (a steady-state report is a store
// read, no write); observed_at is the time of the report that last changed the row. A UUID
// observed on another host before moves to this one (the latest report wins). In the same
// transaction, on change only: events "instance.observed" (a desired instance of this host seen
// for the first time), "instance.lost" (one observed before, now gone), "instance.foreign" (an
// instance not desired on this host appeared); and the phase of each VM with desired instances
// here goes "placed" -> "running" once all of them are observed, "running" -> "placed" when one
// is missing (other phases are left alone). At most kMaxEventsPerKind events of each kind per
// report, then one that counts the rest.
// A VM seen running on two hosts at once (PlanSync): its vGPU UUID in use where it is desired
// and on another host.
struct DoubleRun {
  std::string vm;
  Uuid uuid;
  std::string desired_on;
  std::string also_on;
};

// When the last `vm.running-twice` event of each VM was recorded: one event when it is found,
// another only if it still runs twice kDoubleRunRealert later. Thread-safe.
class DoubleRunAlerts {
 public:
  static constexpr absl::Duration kDoubleRunRealert = absl::Minutes(10);
  // True (and noted) when `vm` had no alert within kDoubleRunRealert.
  bool ShouldAlert(const std::string& vm, absl::Time now) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(last_, [&](const auto& e) { return now - e.second >= kDoubleRunRealert; });
    return last_.try_emplace(vm, now).second;
  }
  void Forget(const std::string& vm) {
    std::lock_guard<std::mutex> lock(mu_);
    last_.erase(vm);
  }

 private:
  std::mutex mu_;
  std::map<std::string, absl::Time> last_;
};

class AgentSync {
 public:
  // `on_observed_change` (may be empty) runs after a report changed the observed rows.
  explicit AgentSync(Context context, std::function<void()> on_observed_change = {})
      : context_(context), on_observed_change_(std::move(on_observed_change)) {}

  absl::Status AddRoutes(api::Router& router);
  // Drops what is kept in memory of a deleted host (its last creatable types), so that a host
  // registered again under the name does not show them before its agent reports.
  void ForgetHost(const std::string& host) {
    creatable_.Set(host, {});
    errors_.Forget(host);
  }

  static constexpr int kMaxEventsPerKind = 32;

 private:
  api::Response GetDesired(const api::Request& request);
  api::Response GetInstances(const api::Request& request);
  api::Response PutInstances(const api::Request& request);

  Context context_;
  std::function<void()> on_observed_change_;
  CreatableByHost creatable_;
  AgentErrorsByHost errors_;
  DoubleRunAlerts double_runs_;
};

// True when the request's If-None-Match lists `etag` (a strong ETag with its quotes; W/ prefixes
// compare weakly) or is "*".
[[nodiscard]] bool IfNoneMatchHits(const api::Request& request, std::string_view etag);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_AGENT_SYNC_H_
