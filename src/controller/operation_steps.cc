#include "controller/operation_steps.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/await_step.h"
#include "controller/operation_plan.h"
#include "controller/placement.h"
#include "controller/step_tx.h"
#include "controller/vms.h"

namespace gpufleet::controller {
namespace {

using steps::AppendSteps;
using steps::DetailOf;
using steps::Flag;
using steps::MarkStep;
using steps::StillWanted;
using steps::Str;
using store::OperationStep;
using store::StepState;
using store::WriteTx;

std::optional<int> BudgetOf(const nlohmann::json& d) {
  auto it = d.find("stun_budget_seconds");
  if (it == d.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int>();
}

absl::Status ActMove(const Context& c, const std::string& op_id, const OperationStep& step,
                     const nlohmann::json& d, bool live) {
  const std::string vm = Str(d, "vm");
  const std::string from = Str(d, "from");
  std::string planned;
  if (auto to = d.find("to"); to != d.end() && to->is_object()) planned = Str(*to, "host");
  const bool required = Flag(d, "required");
  const std::optional<int> budget = BudgetOf(d);
  const std::string verb = live ? "migrate" : "restart";
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    const planner::Cluster& cl = state.fleet->cluster();
    std::optional<planner::Move> move;
    nlohmann::json result;
    auto it = state.vms.find(vm);
    const int at = it == state.vms.end() ? -1 : state.fleet->HostOf(it->second);
    if (it == state.vms.end()) {
      result = {{"skipped", "the VM was deleted"}};
    } else if (at < 0) {
      result = {{"skipped", "the VM is not placed"}};
    } else if (HostName(cl, at) != from) {
      result = {{"skipped", StrCat("the VM runs on ", HostName(cl, at), " already")}};
    } else {
      int to = -1;
      if (!planned.empty()) {
        auto h = state.hosts.find(planned);
        if (h != state.hosts.end()) {
          to = h->second;
        } else if (required) {
          return absl::FailedPreconditionError(StrCat("host ", planned, " is gone"));
        }
      }
      planner::MovePlan p = state.fleet->PlanMove(it->second, to, live);
      if (!p.move && !required && to >= 0) p = state.fleet->PlanMove(it->second, -1, live);
      if (p.move && live && budget && p.move->stun_seconds > *budget) {
        p.reason = StrCat("estimated stun time ", static_cast<long>(p.move->stun_seconds + 0.5),
                          " s exceeds the budget of ", *budget, " s");
        p.move.reset();
      }
      if (!p.move) {
        return absl::FailedPreconditionError(StrCat("cannot ", verb, " vm ", vm, ": ", p.reason));
      }
      move = p.move;
      result = MoveJson(cl, *move);
    }
    absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, StillWanted(tx, op_id));
      if (move) {
        GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> instances,
                                  tx.ListDesiredInstances({.host = "", .gpu = "", .vm = vm}));
        std::sort(instances.begin(), instances.end(),
                  [](const auto& a, const auto& b) { return a.index < b.index; });
        if (instances.size() != move->to.gpus.size()) {
          return absl::FailedPreconditionError(StrCat("vm ", vm, " has ", instances.size(),
                                                      " desired vGPU(s); the plan moves ",
                                                      move->to.gpus.size()));
        }
        const planner::Host& dest = cl.hosts[static_cast<std::size_t>(move->to.host)];
        // A live migration of a VM that runs (its vGPUs in use where they are) waits for the
        // source's agent to migrate it (live_migration.h); anything else moves cold.
        std::string migrate_from;
        if (live) {
          for (const store::DesiredInstance& di : instances) {
            absl::StatusOr<store::ObservedInstance> o = tx.GetObservedInstance(di.uuid);
            if (!o.ok() && !absl::IsNotFound(o.status())) return o.status();
            if (o.ok() && o->host == di.host && o->active) migrate_from = di.host;
          }
        }
        for (std::size_t i = 0; i < instances.size(); ++i) {
          store::DesiredInstance& di = instances[i];
          di.migrate_from = migrate_from == dest.name ? "" : migrate_from;
          di.host = dest.name;
          di.gpu = dest.gpus[static_cast<std::size_t>(move->to.gpus[i])].id;
          di.type = move->to.types[i] != nullptr ? move->to.types[i]->name : di.type;
          di.placement = move->to.fits[i].placement;
          GPUFLEET_RETURN_IF_ERROR(tx.UpdateDesiredInstance(di));
        }
        GPUFLEET_RETURN_IF_ERROR(CheckGpuCapacity(tx, *c.catalog, instances));
        GPUFLEET_RETURN_IF_ERROR(
            AppendEvent(tx, live ? "vm.migrated" : "vm.restarted", StrCat("vm/", vm), op.actor,
                        StrCat("vm ", vm, live ? " migrated from " : " restarted from ", from,
                               " to ", dest.name, " (operation ", op_id, ")"),
                        result));
        const absl::Time deadline = c.clock->Now() + c.converge_timeout;
        GPUFLEET_RETURN_IF_ERROR(
            AppendSteps(tx, op_id,
                        {{"await",
                          {{"vm", vm},
                           {"host", dest.name},
                           {"live", live},
                           {"deadline", TimeText(deadline)},
                           {"deadline_unix", absl::ToUnixSeconds(deadline)}}}}));
      }
      return MarkStep(tx, step, StepState::kDone, d, result);
    });
    if (!written.ok()) return written;
    if (move) state.fleet->ApplyMove(*move);
    return absl::OkStatus();
  });
}

absl::Status ActMaintenance(const Context& c, const std::string& op_id, const OperationStep& step,
                            const nlohmann::json& d) {
  const std::string host = Str(d, "host");
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, StillWanted(tx, op_id));
      GPUFLEET_ASSIGN_OR_RETURN(store::Host h, tx.GetHost(host));
      if (h.state == store::HostState::kDown) {
        return absl::FailedPreconditionError(
            StrCat("host ", host, " is down: its VMs need an ha-restart, not an evacuation"));
      }
      const std::string was(store::HostStateName(h.state));
      if (h.state != store::HostState::kMaintenance) {
        h.state = store::HostState::kMaintenance;
        GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(h));
        GPUFLEET_RETURN_IF_ERROR(AppendEvent(
            tx, "host.maintenance", StrCat("host/", host), op.actor,
            StrCat("host ", host, " entered maintenance: it takes no new VMs (operation ", op_id,
                   ")")));
      }
      return MarkStep(tx, step, StepState::kDone, d, {{"was", was}});
    });
    if (!written.ok()) return written;
    if (auto it = state.hosts.find(host); it != state.hosts.end()) {
      state.fleet->SetHostState(it->second, planner::HostState::kMaintenance);
    }
    return absl::OkStatus();
  });
}

absl::Status ActExitMaintenance(const Context& c, const std::string& op_id,
                                const OperationStep& step, const nlohmann::json& d) {
  const std::string host = Str(d, "host");
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    bool changed = false;
    absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
      changed = false;
      GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, StillWanted(tx, op_id));
      GPUFLEET_ASSIGN_OR_RETURN(store::Host h, tx.GetHost(host));
      const std::string was(store::HostStateName(h.state));
      if (h.state == store::HostState::kMaintenance) {
        h.state = store::HostState::kReady;
        GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(h));
        GPUFLEET_RETURN_IF_ERROR(AppendEvent(
            tx, "host.ready", StrCat("host/", host), op.actor,
            StrCat("host ", host, " left maintenance: it takes new VMs (operation ", op_id, ")")));
        changed = true;
      }
      return MarkStep(tx, step, StepState::kDone, d, {{"was", was}});
    });
    if (!written.ok()) return written;
    if (auto it = state.hosts.find(host); changed && it != state.hosts.end()) {
      state.fleet->SetHostState(it->second, planner::HostState::kReady);
    }
    return absl::OkStatus();
  });
}

absl::Status ActPlanEvacuation(const Context& c, const std::string& op_id,
                               const OperationStep& step, const nlohmann::json& d) {
  const std::string host = Str(d, "host");
  const std::optional<int> budget = BudgetOf(d);
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    auto it = state.hosts.find(host);
    if (it == state.hosts.end()) {
      return absl::FailedPreconditionError(StrCat("host ", host, " is gone"));
    }
    planner::EvacuateOptions options;
    if (budget) options.stun_budget_seconds = *budget;
    const planner::EvacuationResult r = state.fleet->PlanEvacuation(it->second, options);
    const planner::Cluster& cl = state.fleet->cluster();
    if (!r.stuck.empty()) {
      std::vector<std::string> parts;
      for (const planner::Stuck& s : r.stuck)
        parts.push_back(StrCat(VmName(cl, s.vm), ": ", s.reason));
      return absl::FailedPreconditionError(
          StrCat(r.stuck.size(), " VM(s) cannot leave ", host, ": ", StrJoin(parts, "; ")));
    }
    std::vector<std::pair<std::string, nlohmann::json>> moves;
    for (const planner::Move& m : r.moves) {
      nlohmann::json detail = MoveJson(cl, m);
      detail["required"] = false;
      detail["stun_budget_seconds"] = budget ? nlohmann::json(*budget) : nlohmann::json(nullptr);
      moves.emplace_back("move", std::move(detail));
    }
    return c.store->Write([&](WriteTx& tx) -> absl::Status {
      GPUFLEET_RETURN_IF_ERROR(StillWanted(tx, op_id).status());
      GPUFLEET_RETURN_IF_ERROR(AppendSteps(tx, op_id, moves));
      return MarkStep(tx, step, StepState::kDone, d, {{"moves", moves.size()}});
    });
  });
}

absl::Status ActPlanRestart(const Context& c, const std::string& op_id, const OperationStep& step,
                            const nlohmann::json& d) {
  const std::string host = Str(d, "host");
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    auto it = state.hosts.find(host);
    if (it == state.hosts.end()) {
      return absl::FailedPreconditionError(StrCat("host ", host, " is gone"));
    }
    const planner::Cluster& cl = state.fleet->cluster();
    const planner::Host& h = cl.hosts[static_cast<std::size_t>(it->second)];
    nlohmann::json result;
    std::vector<std::pair<std::string, nlohmann::json>> restarts;
    if (h.state != planner::HostState::kDown) {
      result = {{"skipped", StrCat("host ", host, " is up again: nothing to restart")}};
    } else {
      std::set<std::string> names;
      for (const planner::Gpu& g : h.gpus) {
        if (g.passthrough_vm >= 0) names.insert(VmName(cl, g.passthrough_vm));
        for (const planner::Instance& i : g.instances) names.insert(VmName(cl, i.vm));
      }
      for (const std::string& vm : names) {
        restarts.emplace_back("restart", nlohmann::json{{"vm", vm}, {"from", host}});
      }
      result = {{"restarts", restarts.size()}};
    }
    return c.store->Write([&](WriteTx& tx) -> absl::Status {
      GPUFLEET_RETURN_IF_ERROR(StillWanted(tx, op_id).status());
      GPUFLEET_RETURN_IF_ERROR(AppendSteps(tx, op_id, restarts));
      return MarkStep(tx, step, StepState::kDone, d, result);
    });
  });
}

struct GpuKey {
  std::string host;
  std::string gpu;
};

std::vector<GpuKey> GpusOf(const nlohmann::json& d) {
  std::vector<GpuKey> out;
  auto it = d.find("gpus");
  if (it == d.end() || !it->is_array()) return out;
  for (const nlohmann::json& g : *it) {
    if (g.is_object()) out.push_back({Str(g, "host"), Str(g, "gpu")});
  }
  return out;
}

// Sets `held` on the GPUs the step names, returning what each was before (hold), or clears it
// on those `release_only` says the operation itself held.
absl::Status SetHeld(WriteTx& tx, const std::vector<GpuKey>& gpus, bool held,
                     const std::vector<bool>* release_only, nlohmann::json* was) {
  *was = nlohmann::json::array();
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    GPUFLEET_ASSIGN_OR_RETURN(store::Gpu g, tx.GetGpu(gpus[i].host, gpus[i].gpu));
    was->push_back(g.held);
    if (release_only != nullptr && (i >= release_only->size() || (*release_only)[i])) continue;
    if (g.held == held) continue;
    g.held = held;
    GPUFLEET_RETURN_IF_ERROR(tx.UpdateGpu(g));
  }
  return absl::OkStatus();
}

std::string GpuList(const std::vector<GpuKey>& gpus) {
  std::vector<std::string> parts;
  for (const GpuKey& g : gpus) parts.push_back(StrCat(g.host, "/", g.gpu));
  return StrJoin(parts, ", ");
}

// What the operation's hold step found: per GPU, whether it was held already.
absl::StatusOr<std::vector<bool>> HeldBefore(WriteTx& tx, const std::string& op_id) {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<OperationStep> steps, tx.ListSteps(op_id));
  std::vector<bool> out;
  for (const OperationStep& s : steps) {
    if (s.kind != "hold" || s.state != StepState::kDone) continue;
    GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json d, DetailOf(s));
    if (!d["result"].is_object()) continue;
    const nlohmann::json& was = d["result"]["was"];
    if (!was.is_array()) continue;
    for (const nlohmann::json& w : was) out.push_back(w.is_boolean() && w.get<bool>());
  }
  return out;
}

absl::Status ActHold(const Context& c, const std::string& op_id, const OperationStep& step,
                     const nlohmann::json& d, bool hold) {
  const std::vector<GpuKey> gpus = GpusOf(d);
  return c.placement->Locked([&](FleetState&) -> absl::Status {
    absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, StillWanted(tx, op_id));
      nlohmann::json was;
      if (hold) {
        GPUFLEET_RETURN_IF_ERROR(SetHeld(tx, gpus, true, nullptr, &was));
      } else {
        GPUFLEET_ASSIGN_OR_RETURN(std::vector<bool> before, HeldBefore(tx, op_id));
        GPUFLEET_RETURN_IF_ERROR(SetHeld(tx, gpus, false, &before, &was));
      }
      GPUFLEET_RETURN_IF_ERROR(AppendEvent(
          tx, hold ? "gpu.held" : "gpu.released", StrCat("operation/", op_id), op.actor,
          StrCat(hold ? "held out of placement: " : "back in placement: ", GpuList(gpus),
                 " (operation ", op_id, ")")));
      return MarkStep(tx, step, StepState::kDone, d, {{"was", was}});
    });
    if (!written.ok()) return written;
    return c.placement->RebuildLocked();
  });
}

absl::Status ActRecarve(const Context& c, const std::string& op_id, const OperationStep& step,
                        const nlohmann::json& d) {
  const std::string host = Str(d, "host");
  const std::string id = Str(d, "gpu");
  const std::string mode = Str(d, "mode");
  const std::string type_name = Str(d, "type");
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    const auto [h, g] = state.FindGpu(host, id);
    if (g < 0) return absl::FailedPreconditionError(StrCat("gpu ", host, "/", id, " is gone"));
    const planner::Host& ph = state.fleet->cluster().hosts[static_cast<std::size_t>(h)];
    const core::VgpuType* type = type_name.empty() ? nullptr : c.catalog->FindTypeByName(type_name);
    const std::string problem =
        CarvingProblem(*c.catalog, ph, *ph.gpus[static_cast<std::size_t>(g)].board, mode, type);
    if (!problem.empty()) return absl::FailedPreconditionError(problem);
    absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
      GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, StillWanted(tx, op_id));
      GPUFLEET_ASSIGN_OR_RETURN(store::Gpu gpu, tx.GetGpu(host, id));
      GPUFLEET_ASSIGN_OR_RETURN(auto on_gpu,
                                tx.ListDesiredInstances({.host = host, .gpu = id, .vm = ""}));
      if (!on_gpu.empty()) {
        std::set<std::string> vms;
        for (const store::DesiredInstance& di : on_gpu) vms.insert(di.vm);
        return absl::FailedPreconditionError(
            StrCat("gpu ", host, "/", id, " still runs vGPUs of ",
                   StrJoin(std::vector<std::string>(vms.begin(), vms.end()), ", "),
                   ": it can be re-carved only when empty"));
      }
      const nlohmann::json from = {{"mode", gpu.mode}, {"type", gpu.carved_type}};
      gpu.mode = mode;
      gpu.carved_type = type_name;
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateGpu(gpu));
      GPUFLEET_RETURN_IF_ERROR(AppendEvent(
          tx, "gpu.recarved", StrCat("gpu/", host, "/", id), op.actor,
          StrCat("gpu ", host, "/", id, " re-carved from ", from["mode"].get<std::string>(),
                 from["type"].get<std::string>().empty()
                     ? std::string()
                     : StrCat(" ", from["type"].get<std::string>()),
                 " to ", mode, type_name.empty() ? std::string() : StrCat(" ", type_name),
                 " (operation ", op_id, ")")));
      return MarkStep(tx, step, StepState::kDone, d, {{"from", from}});
    });
    if (!written.ok()) return written;
    return c.placement->RebuildLocked();
  });
}

}  // namespace

absl::StatusOr<StepOutcome> ActStep(const Context& context, const std::string& op_id,
                                    OperationStep step) {
  GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json d, DetailOf(step));
  if (step.kind == "await") return steps::ActAwait(context, op_id, step, d);
  absl::Status acted;
  if (step.kind == "move") {
    acted = ActMove(context, op_id, step, d, /*live=*/true);
  } else if (step.kind == "restart") {
    acted = ActMove(context, op_id, step, d, /*live=*/false);
  } else if (step.kind == "maintenance") {
    acted = ActMaintenance(context, op_id, step, d);
  } else if (step.kind == "exit-maintenance") {
    acted = ActExitMaintenance(context, op_id, step, d);
  } else if (step.kind == "plan-evacuation") {
    acted = ActPlanEvacuation(context, op_id, step, d);
  } else if (step.kind == "plan-restart") {
    acted = ActPlanRestart(context, op_id, step, d);
  } else if (step.kind == "hold") {
    acted = ActHold(context, op_id, step, d, /*hold=*/true);
  } else if (step.kind == "release") {
    acted = ActHold(context, op_id, step, d, /*hold=*/false);
  } else if (step.kind == "recarve") {
    acted = ActRecarve(context, op_id, step, d);
  } else {
    return absl::InternalError(StrCat("operation ", op_id, " step ", step.index, ": unknown kind ",
                                      QuoteForMessage(step.kind)));
  }
  if (!acted.ok()) return acted;
  return StepOutcome::kActed;
}

bool StepUndoable(std::string_view kind) { return kind == "maintenance" || kind == "hold"; }

bool StepBestEffort(std::string_view kind) { return kind == "restart" || kind == "await"; }

absl::Status UndoStep(const Context& c, const std::string& op_id, OperationStep step) {
  GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json d, DetailOf(step));
  const nlohmann::json result =
      d.contains("result") && d["result"].is_object() ? d["result"] : nlohmann::json::object();
  return c.placement->Locked([&](FleetState& state) -> absl::Status {
    bool back_to_ready = false;
    absl::Status written = c.store->Write([&](WriteTx& tx) -> absl::Status {
      back_to_ready = false;
      GPUFLEET_ASSIGN_OR_RETURN(store::Operation op, tx.GetOperation(op_id));
      if (step.kind == "maintenance") {
        const std::string host = Str(d, "host");
        absl::StatusOr<store::Host> h = tx.GetHost(host);
        if (h.ok() && h->state == store::HostState::kMaintenance && Str(result, "was") == "ready") {
          h->state = store::HostState::kReady;
          GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(*h));
          GPUFLEET_RETURN_IF_ERROR(AppendEvent(
              tx, "host.ready", StrCat("host/", host), op.actor,
              StrCat("host ", host, " left maintenance: operation ", op_id, " did not finish")));
          back_to_ready = true;
        } else if (!h.ok() && !absl::IsNotFound(h.status())) {
          return h.status();
        }
      } else if (step.kind == "hold") {
        const std::vector<GpuKey> gpus = GpusOf(d);
        std::vector<bool> before;
        if (auto was = result.find("was"); was != result.end() && was->is_array()) {
          for (const nlohmann::json& w : *was) before.push_back(w.is_boolean() && w.get<bool>());
        }
        nlohmann::json ignored;
        GPUFLEET_RETURN_IF_ERROR(SetHeld(tx, gpus, false, &before, &ignored));
      }
      return MarkStep(tx, step, StepState::kRolledBack, d, result);
    });
    if (!written.ok()) return written;
    if (step.kind == "hold") return c.placement->RebuildLocked();
    if (back_to_ready) {
      if (auto it = state.hosts.find(Str(d, "host")); it != state.hosts.end()) {
        state.fleet->SetHostState(it->second, planner::HostState::kReady);
      }
    }
    return absl::OkStatus();
  });
}

}  // namespace gpufleet::controller
