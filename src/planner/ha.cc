#include <algorithm>
#include <set>

#include "common/strings.h"
#include "planner/moves.h"

namespace gpufleet::planner {
namespace {

// The VMs running on a host, hardest to place first, each with its vGPU types.
std::vector<std::pair<int, std::vector<const core::VgpuType*>>> VmsOn(const Cluster& c, int host) {
  std::vector<std::pair<int, std::vector<const core::VgpuType*>>> vms;
  std::set<int> seen;
  for (const Gpu& gpu : c.hosts[static_cast<std::size_t>(host)].gpus) {
    if (gpu.passthrough_vm >= 0 && seen.insert(gpu.passthrough_vm).second) {
      vms.emplace_back(gpu.passthrough_vm, std::vector<const core::VgpuType*>{});
    }
    for (const Instance& i : gpu.instances) {
      if (seen.insert(i.vm).second) vms.emplace_back(i.vm, internal::TypesOf(c, i.vm));
    }
  }
  auto weight = [](const std::vector<const core::VgpuType*>& t) {
    int sum = 0;
    for (const core::VgpuType* x : t) sum += x->framebuffer_mib;
    return std::make_pair(t.empty() ? 1 << 20 : static_cast<int>(t.size()),
                          t.empty() ? 1 << 30 : sum);
  };
  std::sort(vms.begin(), vms.end(), [&](const auto& a, const auto& b) {
    auto wa = weight(a.second), wb = weight(b.second);
    return std::make_tuple(-wa.first, -wa.second, a.first) <
           std::make_tuple(-wb.first, -wb.second, b.first);
  });
  return vms;
}

}  // namespace

HaResult CheckHa(const Cluster& cluster, const PlaceOptions& options) {
  HaResult result;
  std::map<std::string, int> worst;  // per type: the most instances one failure leaves homeless
  for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
    if (cluster.hosts[h].state != HostState::kReady) continue;
    const int host = static_cast<int>(h);
    auto vms = VmsOn(cluster, host);
    if (vms.empty()) continue;
    HostFailure failure;
    failure.host = host;
    failure.vms = static_cast<int>(vms.size());
    Cluster work = cluster;
    work.hosts[h].state = HostState::kDown;
    for (const auto& [vm, types] : vms) Unplace(work, vm);
    internal::Placer placer(work, options);
    for (const auto& [vm, types] : vms) {
      internal::MoveRules rules{false, internal::EccOf(cluster, host, vm), std::nullopt};
      internal::MoveOutcome m = internal::MoveVm(work, placer, vm, host, types, rules);
      if (m.assignment) continue;
      failure.cannot_restart.push_back({vm, m.reason});
      if (types.empty()) {
        ++failure.missing_by_type["pass-through GPU"];
      } else {
        for (const core::VgpuType* t : types) ++failure.missing_by_type[t->name];
      }
    }
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
