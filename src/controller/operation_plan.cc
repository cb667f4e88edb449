#include "controller/operation_plan.h"

#include <cmath>
#include <set>
#include <utility>

#include "common/status_field.h"
#include "common/strings.h"
#include "planner/planner.h"

namespace gpufleet::controller {
namespace {

constexpr int kFirstMixedSizeBranch = 17;

absl::Status NotFound(std::string_view field, std::string_view what) {
  return WithField(absl::NotFoundError(StrCat(what, " not found")), field);
}

int HostIndex(const FleetState& state, const std::string& name) {
  auto it = state.hosts.find(name);
  return it == state.hosts.end() ? -1 : it->second;
}

nlohmann::json GpuRef(std::string_view host, std::string_view gpu) {
  return {{"host", host}, {"gpu", gpu}};
}

std::string StuckText(const planner::Cluster& c, const std::vector<planner::Stuck>& stuck) {
  std::vector<std::string> parts;
  for (const planner::Stuck& s : stuck) parts.push_back(StrCat(VmName(c, s.vm), ": ", s.reason));
  return StrJoin(parts, "; ");
}

nlohmann::json BudgetOrNull(const OperationRequest& r) {
  if (!r.stun_budget_seconds) return nullptr;
  return *r.stun_budget_seconds;
}

absl::StatusOr<PlannedOperation> PlanMigrate(const OperationRequest& r, FleetState& state) {
  PlannedOperation p;
  p.target = StrCat("vm/", r.vm);
  auto vm = state.vms.find(r.vm);
  if (vm == state.vms.end()) return NotFound("vm", StrCat("vm ", QuoteForMessage(r.vm)));
  int to = -1;
  if (!r.to.empty()) {
    to = HostIndex(state, r.to);
    if (to < 0) return NotFound("to", StrCat("host ", QuoteForMessage(r.to)));
  }
  const planner::Cluster& c = state.fleet->cluster();
  planner::MovePlan plan = state.fleet->PlanMove(vm->second, to, /*live=*/true);
  nlohmann::json moves = nlohmann::json::array();
  nlohmann::json stuck = nlohmann::json::array();
  if (plan.move && r.stun_budget_seconds && plan.move->stun_seconds > *r.stun_budget_seconds) {
    plan.reason = StrCat("estimated stun time ", std::lround(plan.move->stun_seconds),
                         " s exceeds the budget of ", *r.stun_budget_seconds, " s");
    plan.move.reset();
  }
  if (plan.move) {
    moves.push_back(MoveJson(c, *plan.move));
    nlohmann::json detail = MoveJson(c, *plan.move);
    detail["required"] = !r.to.empty();
    detail["stun_budget_seconds"] = BudgetOrNull(r);
    p.steps.push_back({"move", detail});
  } else {
    stuck.push_back({{"vm", r.vm}, {"reason", plan.reason}});
    p.blocked = StrCat("vm ", r.vm, " cannot move: ", plan.reason);
  }
  p.preview = {{"moves", moves}, {"stuck", stuck}};
  return p;
}

absl::StatusOr<PlannedOperation> PlanEvacuate(const OperationRequest& r, FleetState& state) {
  PlannedOperation p;
  p.target = StrCat("host/", r.host);
  const int host = HostIndex(state, r.host);
  if (host < 0) return NotFound("host", StrCat("host ", QuoteForMessage(r.host)));
  const planner::Cluster& c = state.fleet->cluster();
  if (c.hosts[static_cast<std::size_t>(host)].state == planner::HostState::kDown) {
    p.blocked = StrCat("host ", r.host,
                       " is down: its VMs cannot be live-migrated; run an ha-restart instead");
  }
  planner::EvacuateOptions options;
  if (r.stun_budget_seconds) options.stun_budget_seconds = *r.stun_budget_seconds;
  const planner::EvacuationResult result = state.fleet->PlanEvacuation(host, options);
  nlohmann::json moves = nlohmann::json::array();
  for (const planner::Move& m : result.moves) moves.push_back(MoveJson(c, m));
  p.preview = {{"moves", moves}, {"stuck", StuckJson(c, result.stuck)}};
  if (p.blocked.empty() && !result.stuck.empty()) {
    p.blocked = StrCat(result.stuck.size(), " of ", result.stuck.size() + result.moves.size(),
                       " VMs cannot leave ", r.host, ": ", StuckText(c, result.stuck));
  }
  p.steps.push_back({"maintenance", {{"host", r.host}}});
  p.steps.push_back(
      {"plan-evacuation", {{"host", r.host}, {"stun_budget_seconds", BudgetOrNull(r)}}});
  return p;
}

absl::StatusOr<PlannedOperation> PlanExitMaintenance(const OperationRequest& r, FleetState& state) {
  PlannedOperation p;
  p.target = StrCat("host/", r.host);
  const int host = HostIndex(state, r.host);
  if (host < 0) return NotFound("host", StrCat("host ", QuoteForMessage(r.host)));
  const planner::HostState now = state.fleet->cluster().hosts[static_cast<std::size_t>(host)].state;
  if (now != planner::HostState::kMaintenance) {
    p.blocked = StrCat("host ", r.host, " is not in maintenance (it is ",
                       now == planner::HostState::kDown ? "down" : "ready", ")");
  }
  p.preview = {{"host", r.host}};
  p.steps.push_back({"exit-maintenance", {{"host", r.host}}});
  return p;
}

absl::StatusOr<PlannedOperation> PlanHaRestart(const OperationRequest& r, FleetState& state) {
  PlannedOperation p;
  p.target = StrCat("host/", r.host);
  const int host = HostIndex(state, r.host);
  if (host < 0) return NotFound("host", StrCat("host ", QuoteForMessage(r.host)));
  const planner::Cluster& c = state.fleet->cluster();
  if (c.hosts[static_cast<std::size_t>(host)].state != planner::HostState::kDown) {
    p.blocked = StrCat("host ", r.host,
                       " is not down: an HA restart is for the VMs of a failed host; to empty a "
                       "running host, evacuate it");
  }
  const planner::HostFailure f = state.fleet->SimulateFailure(host);
  p.preview = {{"vms", f.vms},
               {"cannot_restart", StuckJson(c, f.cannot_restart)},
               {"missing_by_type", f.missing_by_type}};
  p.steps.push_back({"plan-restart", {{"host", r.host}}});
  return p;
}

absl::StatusOr<PlannedOperation> PlanRecarve(const OperationRequest& r, FleetState& state,
                                             const core::Catalog& catalog) {
  PlannedOperation p;
  p.target = StrCat("gpu/", r.host, "/", r.gpu);
  const int host = HostIndex(state, r.host);
  if (host < 0) return NotFound("host", StrCat("host ", QuoteForMessage(r.host)));
  const auto [h, g] = state.FindGpu(r.host, r.gpu);
  if (g < 0) return NotFound("gpu", StrCat("gpu ", r.gpu, " on ", r.host));
  const planner::Cluster& c = state.fleet->cluster();
  const planner::Host& ph = c.hosts[static_cast<std::size_t>(h)];
  const planner::Gpu& gpu = ph.gpus[static_cast<std::size_t>(g)];
  const core::VgpuType* type = r.type.empty() ? nullptr : catalog.FindTypeByName(r.type);
  if (std::string why = CarvingProblem(catalog, ph, *gpu.board, r.mode, type); !why.empty()) {
    return WithField(absl::InvalidArgumentError(why), r.mode == "equal-size" ? "type" : "mode");
  }
  std::set<std::string> vms;
  for (const planner::Instance& i : gpu.instances) vms.insert(VmName(c, i.vm));
  if (gpu.passthrough_vm >= 0) vms.insert(VmName(c, gpu.passthrough_vm));
  if (!vms.empty()) {
    p.blocked = StrCat("gpu ", r.gpu, " on ", r.host, " runs ", vms.size(), " VM(s) (",
                       StrJoin(std::vector<std::string>(vms.begin(), vms.end()), ", "),
                       "): migrate them away first, or run a defrag for the type you need");
  }
  p.preview = {{"host", r.host},
               {"gpu", r.gpu},
               {"from",
                {{"mode", planner::GpuModeName(gpu.mode)},
                 {"type", gpu.carved != nullptr ? gpu.carved->name : ""}}},
               {"to", {{"mode", r.mode}, {"type", r.type}}}};
  const nlohmann::json gpus = nlohmann::json::array({GpuRef(r.host, r.gpu)});
  p.steps.push_back({"hold", {{"gpus", gpus}}});
  p.steps.push_back(
      {"recarve", {{"host", r.host}, {"gpu", r.gpu}, {"mode", r.mode}, {"type", r.type}}});
  p.steps.push_back({"release", {{"gpus", gpus}}});
  return p;
}

absl::StatusOr<PlannedOperation> PlanDefrag(const OperationRequest& r, FleetState& state,
                                            const core::Catalog& catalog) {
  PlannedOperation p;
  p.target = StrCat("type/", r.type);
  const core::VgpuType* type = catalog.FindTypeByName(r.type);
  if (type == nullptr) return NotFound("type", StrCat("type ", r.type));
  const planner::Cluster& c = state.fleet->cluster();
  const planner::DefragResult d = planner::Defrag(c, *type, r.count);
  nlohmann::json moves = nlohmann::json::array();
  for (const planner::Move& m : d.moves) moves.push_back(MoveJson(c, m));
  nlohmann::json recarves = nlohmann::json::array();
  nlohmann::json gpus = nlohmann::json::array();
  for (const planner::Recarve& rc : d.recarves) {
    const planner::Host& h = c.hosts[static_cast<std::size_t>(rc.host)];
    const std::string& id = h.gpus[static_cast<std::size_t>(rc.gpu)].id;
    recarves.push_back({{"host", h.name},
                        {"gpu", id},
                        {"from", rc.from != nullptr ? rc.from->name : ""},
                        {"to", rc.to != nullptr ? rc.to->name : ""}});
    gpus.push_back(GpuRef(h.name, id));
  }
  p.preview = {{"satisfied", d.satisfied},   {"free_before", d.free_before},
               {"free_after", d.free_after}, {"moves_lower_bound", d.moves_lower_bound},
               {"minimal", d.minimal},       {"moves", moves},
               {"recarves", recarves},       {"explanation", d.explanation}};
  if (!d.satisfied) {
    p.blocked = d.explanation;
    return p;
  }
  if (d.moves.empty() && d.recarves.empty()) {
    p.blocked = StrCat("nothing to do: ", d.explanation);
    return p;
  }
  p.steps.push_back({"hold", {{"gpus", gpus}}});
  for (const planner::Move& m : d.moves) {
    nlohmann::json detail = MoveJson(c, m);
    detail["required"] = false;
    detail["stun_budget_seconds"] = nullptr;
    p.steps.push_back({"move", detail});
  }
  for (const nlohmann::json& rc : recarves) {
    p.steps.push_back(
        {"recarve",
         {{"host", rc["host"]}, {"gpu", rc["gpu"]}, {"mode", "equal-size"}, {"type", rc["to"]}}});
  }
  p.steps.push_back({"release", {{"gpus", gpus}}});
  return p;
}

}  // namespace

std::string CarvingProblem(const core::Catalog& catalog, const planner::Host& host,
                           const core::Board& board, std::string_view mode,
                           const core::VgpuType* type) {
  if (mode == "equal-size") {
    if (type == nullptr) return "equal-size carving needs a vGPU type";
    if (type->board_prefix != board.prefix) {
      return StrCat(type->name, " is not a type of ", board.prefix);
    }
    if (type->mig_backed) {
      return StrCat(type->name, " is MIG-backed: carve the GPU in mode mig instead");
    }
    return "";
  }
  if (mode == "mig" && !board.mig.has_value()) {
    return StrCat(board.prefix, " has no MIG: use equal-size or mixed-size");
  }
  if (mode == "mixed-size") {
    if (board.mixed_size == false) return StrCat(board.prefix, " does not support mixed-size vGPU");
    if (board.support.last_branch && *board.support.last_branch < kFirstMixedSizeBranch) {
      return StrCat(board.prefix, " cannot run mixed-size vGPU: it needs vGPU ",
                    kFirstMixedSizeBranch, " or later, and ", board.prefix, " support ended with ",
                    *board.support.last_branch, ".x");
    }
    if (host.manager) {
      const core::DriverMatch m = catalog.FindByHostDriver(*host.manager);
      if (m.branch != nullptr && m.branch->branch < kFirstMixedSizeBranch) {
        return StrCat("mixed-size vGPU needs a vGPU ", kFirstMixedSizeBranch,
                      " (R550) or later manager; host ", host.name, " runs ",
                      host.manager->ToString());
      }
    }
  }
  return "";
}

absl::StatusOr<PlannedOperation> PlanOperation(const OperationRequest& request, FleetState& state,
                                               const core::Catalog& catalog) {
  switch (request.kind) {
    case OperationKind::kMigrate:
      return PlanMigrate(request, state);
    case OperationKind::kEvacuate:
      return PlanEvacuate(request, state);
    case OperationKind::kExitMaintenance:
      return PlanExitMaintenance(request, state);
    case OperationKind::kHaRestart:
      return PlanHaRestart(request, state);
    case OperationKind::kRecarve:
      return PlanRecarve(request, state, catalog);
    case OperationKind::kDefrag:
      return PlanDefrag(request, state, catalog);
  }
  return absl::InternalError("unknown operation kind");
}

}  // namespace gpufleet::controller
