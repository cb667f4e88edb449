#ifndef GPUFLEET_CONTROLLER_VMS_H_
#define GPUFLEET_CONTROLLER_VMS_H_

#include <vector>

#include "absl/status/status.h"
#include "api/router.h"
#include "controller/context.h"
#include "nlohmann/json.hpp"
#include "store/entities.h"

namespace gpufleet::controller {

// VMs and their desired vGPU instances, placed by the planner.
// Thread-safe.
//
// Routes:
//   POST   /api/v1/vms                 operator: place and record; 201 + Location + ETag, or 409
//                                      with the planner's explanation ("no place for P40-8Q: ...")
//   GET    /api/v1/vms?limit=&cursor=  viewer; next_cursor when there are more
//   GET    /api/v1/vms/{vm}            viewer; ETag
//   DELETE /api/v1/vms/{vm}            operator; If-Match honoured (412 on mismatch)
// (The dry-run plans are in plans.h.)
//
// A placement and its store write run under the Placement lock, so concurrent requests never
// double-book; the write also re-checks each GPU's capacity in its own transaction.
class Vms {
 public:
  explicit Vms(Context context) : context_(context) {}

  absl::Status AddRoutes(api::Router& router);

 private:
  api::Response Create(const api::Request& request);
  api::Response List(const api::Request& request);
  api::Response Get(const api::Request& request);
  api::Response Delete(const api::Request& request);

  Context context_;
};

[[nodiscard]] nlohmann::json VmJson(const store::Vm& vm,
                                    const std::vector<store::DesiredInstance>& instances);

// The second guard against double-booking, run inside the write that adds `added` (already
// created in `tx`): every GPU touched keeps one type and at most max_instances in equal-size
// (or unconfigured) mode, and within its framebuffer otherwise. Aborted naming the GPU if not.
absl::Status CheckGpuCapacity(store::WriteTx& tx, const core::Catalog& catalog,
                              const std::vector<store::DesiredInstance>& added);

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_VMS_H_
