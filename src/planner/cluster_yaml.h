#ifndef GPUFLEET_PLANNER_CLUSTER_YAML_H_
#define GPUFLEET_PLANNER_CLUSTER_YAML_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "planner/model.h"
#include "planner/yaml_tree.h"

namespace gpufleet::planner {

// The planner's input files, decoded strictly into the model (docs/planning.md describes every
// key). Pure: text in, model out; the caller reads the files and bounds their size.
//
// Every error is InvalidArgument and names the file, the 1-based line and column, and the field:
//   "cluster.yaml:12:9: hosts[0].gpus[0].board: unknown board 'P4O'; did you mean P40? ..."
// Unknown keys, wrong types, unknown boards, types and license editions, duplicate host, GPU and
// VM names, instances that name unknown VMs or types of another board, and states that no GPU
// mode allows (two types on an equal-size GPU, more instances than the type allows) are errors.
// The returned model points into `catalog`, which must outlive it.

// Size limits of the files (the file size itself is bounded by the caller).
inline constexpr int kMaxHosts = 100'000;
inline constexpr int kMaxGpusPerHost = 64;
inline constexpr int kMaxVms = 1'000'000;  // cluster and demand together
inline constexpr int kMaxDemandCount = 100'000;

// A cluster file: hosts with their GPUs and the instances on them, the VMs, license seats and
// mixed-size geometry.
absl::StatusOr<Cluster> ParseClusterYaml(std::string_view text, std::string_view file_name,
                                         const core::Catalog& catalog);

// The same, for a cluster map already parsed, e.g. embedded in a larger document (the scenario
// files of tests/scenarios): errors name `file_name` and the positions in `root`'s document. A
// null root reads as an empty map, which lacks the required hosts.
absl::StatusOr<Cluster> DecodeClusterNode(const YamlNode& root, std::string_view file_name,
                                          const core::Catalog& catalog);

// A demand file: VMs to place, each with an optional `count`. Appends them to cluster.vms (not
// placed) and returns their indexes. On error the cluster is left unchanged. Demand VM names must
// not clash with each other or with the cluster's VMs.
absl::StatusOr<std::vector<int>> AppendDemandYaml(std::string_view text, std::string_view file_name,
                                                  const core::Catalog& catalog, Cluster& cluster);
// The same, for a demand map already parsed (see DecodeClusterNode).
absl::StatusOr<std::vector<int>> AppendDemandNode(const YamlNode& root, std::string_view file_name,
                                                  const core::Catalog& catalog, Cluster& cluster);

}  // namespace gpufleet::planner

#endif  // GPUFLEET_PLANNER_CLUSTER_YAML_H_
