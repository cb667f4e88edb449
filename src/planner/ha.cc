#include <algorithm>
#include <set>

#include "common/strings.h"
#include "planner/fleet.h"
#include "planner/moves.h"
#include "planner/placer.h"

namespace gpufleet::planner {

HaResult CheckHa(const Cluster& cluster, const PlaceOptions& options) {
  return Fleet(cluster, options).CheckHa();
}

HaResult Fleet::CheckHa() {
  const Cluster& cluster = cluster_;
  HaResult result;
  std::map<std::string, int> worst;  // per type: the most instances one failure leaves homeless
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    if (cluster.hosts[h].state != HostState::kReady) continue;
    const Host& host = cluster.hosts[h];
    const bool runs_vms = std::any_of(host.gpus.begin(), host.gpus.end(), [](const Gpu& g) {
      return !g.instances.empty() || g.passthrough_vm >= 0;
    });
    if (!runs_vms) continue;
    HostFailure failure = internal::SimulateFailure(cluster_, *placer_, static_cast<int>(h));
    for (const auto& [type, n] : failure.missing_by_type) worst[type] = std::max(worst[type], n);
    if (!failure.cannot_restart.empty()) result.n_plus_one = false;
    result.failures.push_back(std::move(failure));
  }
  // Where spare capacity for a type can be kept: hosts with an empty GPU of its board (it can be
  // carved for the type and left free), most empty GPUs first.
  const core::Catalog& catalog = cluster.catalog ? *cluster.catalog : core::Catalog::Embedded();
  for (const auto& [type_name, n] : worst) {
    Reservation r{type_name, n, {}};
    const core::VgpuType* type = catalog.FindTypeByName(type_name);
    std::vector<std::pair<int, std::string>> spare;
    for (const Host& host : cluster.hosts) {
      if (host.state != HostState::kReady || type == nullptr) continue;
      int empty = 0;
      for (const Gpu& gpu : host.gpus) {
        const bool free =
            gpu.instances.empty() && gpu.passthrough_vm < 0 && gpu.mode != GpuMode::kPassthrough;
        if (free && gpu.board && EqualsIgnoreCase(gpu.board->prefix, type->board_prefix)) ++empty;
      }
      if (empty > 0) spare.emplace_back(-empty, host.name);
    }
    std::sort(spare.begin(), spare.end());
    for (std::size_t i = 0; i < spare.size() && i < 5; ++i) r.hosts.push_back(spare[i].second);
    result.reserve.push_back(std::move(r));
  }
  return result;
}

}  // namespace gpufleet::planner
