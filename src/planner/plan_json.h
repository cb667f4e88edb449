#ifndef GPUFLEET_PLANNER_PLAN_JSON_H_
#define GPUFLEET_PLANNER_PLAN_JSON_H_

#include "nlohmann/json.hpp"
#include "planner/planner.h"

namespace gpufleet::planner {

// One GPU as plan reports print it: {id, board, mode, carved, instances: [{vm, type,
// placement?, span?}], framebuffer_used_mib, framebuffer_mib, max_instances? (equal-size),
// slots? (MIG: memory slices; mixed-size: usable framebuffer slots), reserved_slots?
// (mixed-size), passthrough_vm? (passthrough)}. An instance of a MIG or mixed-size GPU spans
// `span` slots from `placement`.
[[nodiscard]] nlohmann::json GpuJson(const Cluster& cluster, const Gpu& gpu);

// A plan's result as `gpufleet plan -o json` and POST /api/v1/plans/demand print it: summary,
// hosts (with GpuJson), placed, rejected (with reasons), bounds (with the gap), stranded and
// free_by_type. The caller adds what it knows of the inputs (file names, policy).
[[nodiscard]] nlohmann::json PlanResultJson(const PlanResult& result);

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_PLAN_JSON_H_
