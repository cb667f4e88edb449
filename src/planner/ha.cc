#include <algorithm>
#include <set>
#include <tuple>

#include "common/strings.h"
#include "planner/fleet.h"
#include "planner/moves.h"
#include "planner/placer.h"

namespace gpufleet::planner {
namespace {

// Whether `vm` could restart on `host` if the host had room: its guest driver suits the host's
// manager (a cold restart's only driver rule), the host has the VM's required labels and runs no
// other VM of its anti-affinity group.
bool CouldRestartOn(const Cluster& cluster, int vm, int host, const core::VgpuType& type,
                    const Gpu& gpu) {
  const Vm& v = cluster.vms[static_cast<std::size_t>(vm)];
  const Host& to = cluster.hosts[static_cast<std::size_t>(host)];
  for (const auto& [key, value] : v.host_labels) {
    auto it = to.labels.find(key);
    if (it == to.labels.end() || it->second != value) return false;
  }
  if (!v.anti_affinity.empty()) {
    auto same_group = [&](int other) {
      return other >= 0 && other != vm &&
             cluster.vms[static_cast<std::size_t>(other)].anti_affinity == v.anti_affinity;
    };
    for (const Gpu& g : to.gpus) {
      if (same_group(g.passthrough_vm)) return false;
      for (const Instance& i : g.instances) {
        if (same_group(i.vm)) return false;
      }
    }
  }
  // A cold restart: the source host and GPU do not matter (the failed host is gone).
  return !internal::MoveBlocker(cluster, v, to, gpu, to, gpu, type, /*live=*/false).has_value();
}

}  // namespace

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
  // Where spare capacity for a type can be kept: ready hosts with an empty GPU the type fits on
  // (it can be carved for the type and left free) that at least one of the VMs left homeless
  // could restart on -- its guest driver suits the host's manager, the host has its required
  // labels and runs no other VM of its anti-affinity group. Most such VMs first, then most
  // empty GPUs, then name.
  const core::Catalog& catalog = cluster.catalog ? *cluster.catalog : core::Catalog::Embedded();
  for (const auto& [type_name, n] : worst) {
    Reservation r{type_name, n, {}, {}};
    const core::VgpuType* type = catalog.FindTypeByName(type_name);
    if (type == nullptr) {  // the pass-through entry: a whole GPU, not a carving
      result.reserve.push_back(std::move(r));
      continue;
    }
    std::vector<std::pair<int, int>> homeless;  // (failed host, vm) with an instance of `type`
    for (const HostFailure& f : result.failures) {
      for (const Stuck& st : f.cannot_restart) {
        const std::vector<const core::VgpuType*> types = internal::TypesOf(cluster, st.vm);
        if (std::find(types.begin(), types.end(), type) != types.end()) {
          homeless.emplace_back(f.host, st.vm);
        }
      }
    }
    std::vector<std::tuple<int, int, std::string>> spare;  // (-takers, -empty GPUs, name)
    bool any_empty = false;
    for (std::size_t h = 0; h < cluster.hosts.size(); ++h) {
      const Host& host = cluster.hosts[h];
      if (host.state != HostState::kReady) continue;
      int empty = 0;
      const Gpu* first_empty = nullptr;
      for (const Gpu& gpu : host.gpus) {
        if (!gpu.instances.empty() || gpu.passthrough_vm >= 0 ||
            gpu.mode == GpuMode::kPassthrough || gpu.board == nullptr ||
            !EqualsIgnoreCase(gpu.board->prefix, type->board_prefix)) {
          continue;
        }
        auto geometry = cluster.mixed_size.find(gpu.board->prefix);
        if (FitOn(gpu, *type,
                  geometry != cluster.mixed_size.end() ? geometry->second : MixedSizeGeometry{},
                  CapacityOptions{})) {
          ++empty;
          if (first_empty == nullptr) first_empty = &gpu;
        }
      }
      if (empty == 0) continue;
      any_empty = true;
      int takers = 0;
      for (const auto& [failed, vm] : homeless) {
        if (failed != static_cast<int>(h) &&
            CouldRestartOn(cluster, vm, static_cast<int>(h), *type, *first_empty)) {
          ++takers;
        }
      }
      if (takers > 0) spare.emplace_back(-takers, -empty, host.name);
    }
    std::sort(spare.begin(), spare.end());
    for (std::size_t i = 0; i < spare.size() && i < 5; ++i) {
      r.hosts.push_back(std::get<2>(spare[i]));
    }
    if (r.hosts.empty()) {
      r.note = any_empty
                   ? StrCat("the empty ", type->board_prefix,
                            " GPUs are on hosts the homeless VMs cannot restart on (guest driver, "
                            "labels, anti-affinity): add one where they can")
                   : StrCat("no empty ", type->board_prefix,
                            " GPU on a ready host: add one, or free one (plan defrag)");
    }
    result.reserve.push_back(std::move(r));
  }
  return result;
}

}  // namespace gpufleet::planner
