#ifndef GPUFLEET_CONTROLLER_CREATABLE_H_
#define GPUFLEET_CONTROLLER_CREATABLE_H_

// What each GPU's driver says it can create now, as the host's agent reports it with its
// instances (`creatable` in PUT /api/v1/hosts/{host}/instances): the driver's view, shown beside
// the planner's in GET /api/v1/hosts/{host}/instances. Kept in memory only; agents report it
// again at least once per resync period.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"

namespace gpufleet::controller {

struct GpuCreatable {
  std::string gpu;                                 // a PCI address comes back canonical
  std::vector<std::pair<std::string, int>> types;  // canonical type name, instances available
  bool operator==(const GpuCreatable&) const = default;
};

// Decodes `creatable`: [{"gpu": ID, "types": [{"type": TYPE, "available": 0..1024}, ...]}, ...],
// at most 64 GPUs and 128 types each, no GPU or type twice, types the catalog resolves (in any
// spelling). Errors are InvalidArgument naming the field ("creatable[1].types[0].type").
absl::StatusOr<std::vector<GpuCreatable>> DecodeCreatable(const nlohmann::json& list,
                                                          const core::Catalog& catalog);
[[nodiscard]] nlohmann::json CreatableJson(const std::vector<GpuCreatable>& creatable);
// Every GPU is one of the host's (`board_of`: id -> board) and every type one of its board's.
absl::Status CheckCreatable(const std::vector<GpuCreatable>& creatable, const std::string& host,
                            const std::map<std::string, std::string, std::less<>>& board_of,
                            const core::Catalog& catalog);

// The last report of each host. Thread-safe.
class CreatableByHost {
 public:
  void Set(const std::string& host, std::vector<GpuCreatable> creatable);
  [[nodiscard]] std::vector<GpuCreatable> Get(const std::string& host) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<GpuCreatable>, std::less<>> hosts_;  // guarded by mu_
};

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_CREATABLE_H_
