#ifndef GPUFLEET_CONTROLLER_PLACEMENT_H_
#define GPUFLEET_CONTROLLER_PLACEMENT_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/catalog.h"
#include "nlohmann/json.hpp"
#include "planner/fleet.h"
#include "store/store.h"

namespace gpufleet::controller {

// The planner's live view of the fleet, kept in step with the store.
struct FleetState {
  std::unique_ptr<planner::Fleet> fleet;
  std::map<std::string, int, std::less<>> hosts;  // host name -> index in cluster().hosts
  std::map<std::string, int, std::less<>> vms;    // placed VM name -> index in cluster().vms
  // VMs in cluster().vms that are gone (deleted or refused); a rebuild drops them.
  int dead_vms = 0;

  // The index of (host, gpu id) in the cluster, or {-1, -1}.
  [[nodiscard]] std::pair<int, int> FindGpu(std::string_view host, std::string_view gpu) const;
};

// Builds the planner's cluster from the store as `tx` sees it: hosts (state, manager version,
// hypervisor, hotmigrate, labels), their GPUs, the VMs and their desired instances. A GPU stored
// as unconfigured that holds desired instances is equal-size, carved for their type. Errors:
// the store's, or FailedPrecondition for stored rows the catalog cannot resolve.
absl::StatusOr<FleetState> BuildFleetState(store::ReadTx& tx, const core::Catalog& catalog);

// Names and JSON forms of the planner's answers, as the API prints them.
[[nodiscard]] std::string VmName(const planner::Cluster& c, int vm);
[[nodiscard]] std::string HostName(const planner::Cluster& c, int host);  // "" for -1
// {host, gpus: [id...], types: [name...]}
[[nodiscard]] nlohmann::json AssignmentJson(const planner::Cluster& c,
                                            const planner::Assignment& a);
// {vm, from, to: AssignmentJson, stun_seconds}
[[nodiscard]] nlohmann::json MoveJson(const planner::Cluster& c, const planner::Move& m);
// [{vm, reason}...]
[[nodiscard]] nlohmann::json StuckJson(const planner::Cluster& c,
                                       const std::vector<planner::Stuck>& stuck);

// The host label that carries hotmigrate ("false" disables it); the store's Host has no field.
inline constexpr std::string_view kHotmigrateLabel = "gpufleet.io/hotmigrate";

// One planner::Fleet per controller, behind one mutex: every placement decision, and the store
// write that records it, runs inside Locked(), so two requests can never book the same slot.
// Thread-safe.
class Placement {
 public:
  Placement(store::Store& store, const core::Catalog& catalog) : store_(store), catalog_(catalog) {}

  // Rebuilds the fleet from the store (at start, and after inventory changes). Until the first
  // success ready() is false and Locked() fails with Unavailable.
  absl::Status Rebuild();
  [[nodiscard]] bool ready() const;

  // Runs `fn(state)` with the fleet locked. `fn` may call the store (Write) but not Locked().
  template <typename Fn>
  auto Locked(Fn&& fn) -> decltype(fn(std::declval<FleetState&>())) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!state_.fleet) return absl::UnavailableError("the placement engine is not built yet");
    auto result = fn(state_);
    if (state_.dead_vms > 1000 && state_.dead_vms > static_cast<int>(state_.vms.size())) {
      (void)RebuildLocked();
    }
    return result;
  }

  // Rebuild() for a caller inside Locked().
  absl::Status RebuildLocked();

 private:
  store::Store& store_;
  const core::Catalog& catalog_;
  mutable std::mutex mu_;
  FleetState state_;  // guarded by mu_
};

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_PLACEMENT_H_
