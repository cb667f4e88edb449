#ifndef GPUFLEET_CONTROLLER_PLANS_H_
#define GPUFLEET_CONTROLLER_PLANS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "api/router.h"
#include "controller/context.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

// Dry runs of the planner on the live fleet: they answer what would happen and change nothing.
// What the dashboard and `gpufleet plan ...` against a server ask before acting. Thread-safe.
//
// Routes (all viewer):
//   GET  /api/v1/plans/types            every vGPU type of the fleet's boards: fits now?, how many
//                                       more the carving leaves room for, the planner's reason
//   POST /api/v1/plans/place            a VM body as POST /api/v1/vms takes -> where it would go
//   GET  /api/v1/vms/{vm}/destinations  per other host: could the VM live-migrate there? (stun
//                                       estimate, or the compatibility engine's reason)
//   POST /api/v1/plans/demand           {demand_yaml, from_scratch?, policy?}: carve + place a
//                                       demand on the fleet as it is (the plan report)
//   POST /api/v1/plans/evacuate         {host} -> the moves that would empty it
//   POST /api/v1/plans/ha               can every host's VMs restart elsewhere (N+1)?
class Plans {
 public:
  explicit Plans(Context context) : context_(context) {}

  absl::Status AddRoutes(api::Router& router);

 private:
  api::Response Types(const api::Request& request);
  api::Response Place(const api::Request& request);
  api::Response Destinations(const api::Request& request);
  api::Response Demand(const api::Request& request);
  api::Response Evacuate(const api::Request& request);
  api::Response Ha(const api::Request& request);

  Context context_;
  // The last /plans/types answer and the fleet generation it was computed at: the dashboard polls
  // it, and a quiet fleet answers from here. Read and written under the placement lock only.
  std::uint64_t types_generation_ = 0;
  nlohmann::json types_items_;
};

// Demand text larger than this is refused (413 is the HTTP layer's at 1 MiB; this names the field).
inline constexpr std::size_t kMaxDemandYamlBytes = 512u << 10;

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_PLANS_H_
