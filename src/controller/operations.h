#ifndef GPUFLEET_CONTROLLER_OPERATIONS_H_
#define GPUFLEET_CONTROLLER_OPERATIONS_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "api/metrics.h"
#include "api/router.h"
#include "controller/context.h"
#include "controller/operation_runner.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

// Durable operations: migrate, evacuate (maintenance), ha-restart, recarve, defrag. Each is an
// operation row and step rows in the store, driven by an OperationRunner; see
// docs/operations.md. Thread-safe.
//
// Routes:
//   POST /api/v1/operations              operator: {"kind": ..., ...} (operation_request.h).
//                                        dry_run: 200 with the plan and nothing written;
//                                        otherwise 202 + Location, or 409 naming why it cannot
//                                        run now (stuck VMs, a busy GPU, the same target busy)
//   GET  /api/v1/operations?state=&kind=&target=&limit=   viewer; newest first, with progress
//   GET  /api/v1/operations/{id}         viewer; with its steps; ETag
//   POST /api/v1/operations/{id}/cancel  operator: stops before the next step and undoes what
//                                        can be undone; 202, or 409 when it has ended
class Operations {
 public:
  explicit Operations(Context context);
  ~Operations();

  absl::Status AddRoutes(api::Router& router);
  // Metrics: operations by kind and state (from the store), durations by kind.
  absl::Status RegisterMetrics(api::MetricsRegistry& metrics);

  // Starts the runner (resuming every unfinished operation); Stop() waits for the current step.
  absl::Status Start();
  void Stop();

  // Plans and records an operation as `actor` would through the API (the controller uses it to
  // start an HA restart when a host goes down). Returns the operation.
  absl::StatusOr<store::Operation> Submit(const nlohmann::json& body, const std::string& actor);

  [[nodiscard]] OperationRunner& runner() { return *runner_; }

 private:
  api::Response Create(const api::Request& request);
  api::Response List(const api::Request& request);
  api::Response Get(const api::Request& request);
  api::Response Cancel(const api::Request& request);
  void Finished(const store::Operation& op);
  void CollectMetrics();

  Context context_;
  std::unique_ptr<OperationRunner> runner_;
  api::GaugeFamily* by_state_ = nullptr;
  api::HistogramFamily* durations_ = nullptr;
};

// {id, kind, state, target, params, actor, error, cancel_requested, version, created_at,
//  updated_at, progress: {done, total}, steps?: [{index, kind, state, detail}]}
[[nodiscard]] nlohmann::json OperationJson(const store::Operation& op,
                                           const std::vector<store::OperationStep>& steps,
                                           bool with_steps);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_OPERATIONS_H_
