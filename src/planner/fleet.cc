#include "planner/fleet.h"

#include <atomic>

#include "planner/moves.h"
#include "planner/placer.h"

namespace gpufleet::planner {
namespace {

// One sequence for every Fleet of the process: a rebuilt fleet never repeats a generation its
// predecessor had.
std::uint64_t NextGeneration() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}

// Room for VMs to come, so that the first what-if after a build (it appends its VM for the
// decision) does not move every VM of a large fleet to a new buffer: 0.19 s at 225,000 VMs,
// under the controller's placement lock. Appends later grow the buffer geometrically.
Cluster WithRoom(Cluster cluster) {
  cluster.vms.reserve(cluster.vms.size() + cluster.vms.size() / 8 + 16);
  return cluster;
}

}  // namespace

Fleet::Fleet(Cluster cluster, const PlaceOptions& options)
    : cluster_(WithRoom(std::move(cluster))),
      options_(options),
      placer_(std::make_unique<internal::Placer>(cluster_, options_)),
      generation_(NextGeneration()) {
  placer_->set_reserve(true);  // Place answers VMs arriving one at a time (what-ifs turn it off)
}

Fleet::~Fleet() = default;
Fleet::Fleet(Fleet&&) noexcept = default;
Fleet& Fleet::operator=(Fleet&&) noexcept = default;

int Fleet::AddVm(Vm vm) {
  generation_ = NextGeneration();
  cluster_.vms.push_back(std::move(vm));
  return static_cast<int>(cluster_.vms.size()) - 1;
}

Decision Fleet::Place(int vm) const { return placer_->Decide(cluster_, vm); }

Decision Fleet::PlaceWhatIf(Vm vm) {
  cluster_.vms.push_back(std::move(vm));
  Decision decision = placer_->Decide(cluster_, static_cast<int>(cluster_.vms.size()) - 1);
  cluster_.vms.pop_back();
  return decision;
}

void Fleet::Commit(const Assignment& assignment) {
  generation_ = NextGeneration();
  placer_->Commit(cluster_, assignment);
}

void Fleet::Remove(int vm) {
  generation_ = NextGeneration();
  placer_->Remove(cluster_, vm);
}

int Fleet::HostOf(int vm) const { return placer_->LocationOf(vm).host; }

void Fleet::SetHostState(int host, HostState state) {
  generation_ = NextGeneration();
  cluster_.hosts[static_cast<std::size_t>(host)].state = state;
}

EvacuationResult Fleet::PlanEvacuation(int host, const EvacuateOptions& options) {
  EvacuationResult result;
  internal::EvacuateHost(cluster_, *placer_, host, options, /*keep=*/false, result);
  return result;
}

MovePlan Fleet::PlanMove(int vm, int to_host, bool live) {
  return internal::PlanVmMove(cluster_, *placer_, vm, to_host, live);
}

void Fleet::ApplyMove(const Move& move) {
  generation_ = NextGeneration();
  placer_->Remove(cluster_, move.vm);
  placer_->Commit(cluster_, move.to);
}

HostFailure Fleet::SimulateFailure(int host) {
  return internal::SimulateFailure(cluster_, *placer_, host);
}

}  // namespace gpufleet::planner
