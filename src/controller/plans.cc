#include "controller/plans.h"

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/placement.h"
#include "controller/vm_spec.h"
#include "planner/capacity.h"
#include "planner/cluster_yaml.h"
#include "planner/fleet.h"
#include "planner/plan_json.h"
#include "planner/planner.h"

namespace gpufleet::controller {
namespace {

using nlohmann::json;

// The GPUs of ready hosts, by board (GET /plans/types counts each type's free instances on its
// own board's GPUs only: one pass per type over all GPUs was types x GPUs under the lock).
std::map<const core::Board*, std::vector<const planner::Gpu*>> ReadyGpusByBoard(
    const planner::Cluster& c) {
  std::map<const core::Board*, std::vector<const planner::Gpu*>> out;
  for (const planner::Host& h : c.hosts) {
    if (h.state != planner::HostState::kReady) continue;
    for (const planner::Gpu& g : h.gpus) {
      if (g.board != nullptr) out[g.board].push_back(&g);
    }
  }
  return out;
}

// Instances of `type` the given GPUs (of its board) could still take as they are carved.
int FreeOn(const planner::Cluster& c, const std::vector<const planner::Gpu*>& gpus,
           const core::VgpuType& type) {
  if (gpus.empty()) return 0;
  auto geometry = c.mixed_size.find(gpus.front()->board->prefix);
  const planner::MixedSizeGeometry geo =
      geometry != c.mixed_size.end() ? geometry->second : planner::MixedSizeGeometry{};
  int free = 0;
  for (const planner::Gpu* g : gpus) free += planner::FreeCount(*g, type, geo);
  return free;
}

json DecisionJson(const planner::Cluster& c, const planner::Decision& d) {
  if (!d.assignment.has_value()) {
    return {{"fits", false}, {"explanation", d.explanation}};
  }
  const planner::Assignment& a = *d.assignment;
  const planner::Host& host = c.hosts[static_cast<std::size_t>(a.host)];
  json vgpus = json::array();
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    const core::VgpuType* t = i < a.types.size() ? a.types[i] : nullptr;
    vgpus.push_back({{"type", t != nullptr ? json(t->name) : json("passthrough")},
                     {"gpu", host.gpus[static_cast<std::size_t>(a.gpus[i])].id}});
  }
  return {{"fits", true}, {"host", host.name}, {"vgpus", vgpus}, {"explanation", d.explanation}};
}

}  // namespace

absl::Status Plans::AddRoutes(api::Router& router) {
  using api::Access;
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/plans/types", Access::Viewer(),
                                      [this](const api::Request& r) { return Types(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/plans/place", Access::Viewer(),
                                      [this](const api::Request& r) { return Place(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/vms/{vm}/destinations", Access::Viewer(),
                                      [this](const api::Request& r) { return Destinations(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/plans/demand", Access::Viewer(),
                                      [this](const api::Request& r) { return Demand(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/plans/evacuate", Access::Viewer(),
                                      [this](const api::Request& r) { return Evacuate(r); }));
  return router.Add("POST", "/api/v1/plans/ha", Access::Viewer(),
                    [this](const api::Request& r) { return Ha(r); });
}

api::Response Plans::Types(const api::Request&) {
  absl::StatusOr<json> out =
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<json> {
        planner::Fleet& fleet = *state.fleet;
        if (types_generation_ == fleet.generation() && types_generation_ != 0) {
          return json{{"items", types_items_}};
        }
        // The boards of the fleet, in the order their first GPU appears.
        std::vector<const core::Board*> boards;
        std::set<const core::Board*> seen;
        for (const planner::Host& h : fleet.cluster().hosts) {
          for (const planner::Gpu& g : h.gpus) {
            if (g.board != nullptr && seen.insert(g.board).second) boards.push_back(g.board);
          }
        }
        const auto ready = ReadyGpusByBoard(fleet.cluster());
        const std::vector<const planner::Gpu*> none;
        json items = json::array();
        for (const core::Board* board : boards) {
          auto on_board = ready.find(board);
          const auto& gpus = on_board != ready.end() ? on_board->second : none;
          for (const core::VgpuType& type : board->types) {
            planner::Vm probe;
            probe.name = StrCat("(a new ", type.name, " VM)");
            probe.need.type = &type;
            const planner::Decision d = fleet.PlaceWhatIf(std::move(probe));
            const core::Edition* edition = context_.catalog->EditionForSeries(type.series);
            json item = {
                {"type", type.name},
                {"board", board->prefix},
                {"framebuffer_mib", type.framebuffer_mib},
                {"edition", edition != nullptr ? json(edition->id) : json(nullptr)},
                {"mig_backed", type.mig_backed},
                {"fits", d.assignment.has_value()},
                {"free", d.assignment.has_value() ? FreeOn(fleet.cluster(), gpus, type) : 0},
                {"explanation", d.explanation}};
            items.push_back(std::move(item));
          }
        }
        types_generation_ = fleet.generation();
        types_items_ = items;
        return json{{"items", std::move(items)}};
      });
  return api::Response::FromStatusOr(out);
}

api::Response Plans::Place(const api::Request& request) {
  absl::StatusOr<json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<VmSpec> spec = DecodeVmSpec(*body, *context_.catalog);
  if (!spec.ok()) return api::Response::Error(spec.status());
  absl::StatusOr<planner::Vm> planned = ToPlannerVm(*spec, *context_.catalog);
  if (!planned.ok()) return api::Response::Error(planned.status());
  absl::StatusOr<json> out =
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<json> {
        json result = DecisionJson(state.fleet->cluster(), state.fleet->PlaceWhatIf(*planned));
        result["vm"] = spec->name;
        result["dry_run"] = true;
        if (state.vms.contains(spec->name)) {
          result["fits"] = false;
          result["explanation"] = StrCat("vm ", spec->name, " exists already");
        }
        return result;
      });
  return api::Response::FromStatusOr(out);
}

api::Response Plans::Destinations(const api::Request& request) {
  const std::string name(request.PathParam("vm"));
  absl::StatusOr<json> out =
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<json> {
        auto vm = state.vms.find(name);
        if (vm == state.vms.end()) {
          return WithField(absl::NotFoundError(StrCat("vm ", QuoteForMessage(name), " not found")),
                           "vm");
        }
        planner::Fleet& fleet = *state.fleet;
        const int from = fleet.HostOf(vm->second);
        json items = json::array();
        for (int h = 0; h < static_cast<int>(fleet.cluster().hosts.size()); ++h) {
          if (h == from) continue;
          const planner::MovePlan plan = fleet.PlanMove(vm->second, h, /*live=*/true);
          json item = {{"host", HostName(fleet.cluster(), h)},
                       {"ok", plan.move.has_value()},
                       {"live", plan.move.has_value()},
                       {"reason", plan.reason}};
          if (plan.move) item["stun_seconds"] = plan.move->stun_seconds;
          items.push_back(std::move(item));
        }
        return json{{"vm", name}, {"from", HostName(fleet.cluster(), from)}, {"items", items}};
      });
  return api::Response::FromStatusOr(out);
}

api::Response Plans::Demand(const api::Request& request) {
  absl::StatusOr<json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  JsonReader reader(*body, "");
  const std::string text = reader.String("demand_yaml");
  const bool from_scratch = reader.OptBool("from_scratch").value_or(false);
  const std::string policy_name = reader.OptString("policy").value_or("fragmentation");
  if (absl::Status s = reader.Finish(); !s.ok()) return api::Response::Error(s);
  if (text.size() > kMaxDemandYamlBytes) {
    return api::Response::Error(
        WithField(absl::InvalidArgumentError(StrCat("demand_yaml: ", text.size(),
                                                    " bytes, at most ", kMaxDemandYamlBytes)),
                  "demand_yaml"));
  }
  std::optional<planner::Policy> policy = planner::PolicyFromName(policy_name);
  if (!policy) {
    return api::Response::Error(WithField(
        absl::InvalidArgumentError(StrCat("policy: ", QuoteForMessage(policy_name),
                                          " is not fragmentation, spread or consolidate")),
        "policy"));
  }
  // A copy of the fleet's cluster, with only the VMs that run (refused and deleted ones dropped
  // by their absence from state.vms), so demand names may reuse a gone VM's name.
  absl::StatusOr<planner::Cluster> cluster =
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<planner::Cluster> {
        const planner::Cluster& live = state.fleet->cluster();
        planner::Cluster copy = live;
        copy.vms.clear();
        std::vector<int> renumber(live.vms.size(), -1);
        for (const auto& [vm_name, index] : state.vms) {
          renumber[static_cast<std::size_t>(index)] = static_cast<int>(copy.vms.size());
          copy.vms.push_back(live.vms[static_cast<std::size_t>(index)]);
        }
        for (planner::Host& h : copy.hosts) {
          for (planner::Gpu& g : h.gpus) {
            for (planner::Instance& i : g.instances)
              i.vm = renumber[static_cast<std::size_t>(i.vm)];
            if (g.passthrough_vm >= 0) {
              g.passthrough_vm = renumber[static_cast<std::size_t>(g.passthrough_vm)];
            }
          }
        }
        return copy;
      });
  if (!cluster.ok()) return api::Response::Error(cluster.status());
  absl::StatusOr<std::vector<int>> demand =
      planner::AppendDemandYaml(text, "demand_yaml", *context_.catalog, *cluster);
  if (!demand.ok()) {
    return api::Response::Error(WithField(demand.status(), "demand_yaml"));
  }
  planner::PlanOptions options;
  options.place.policy = *policy;
  options.from_scratch = from_scratch;
  const planner::PlanResult result = planner::Plan(*std::move(cluster), *demand, options);
  json doc = planner::PlanResultJson(result);
  doc["dry_run"] = true;
  doc["policy"] = planner::PolicyName(*policy);
  doc["from_scratch"] = from_scratch;
  return api::Response::Json(doc);
}

api::Response Plans::Evacuate(const api::Request& request) {
  absl::StatusOr<json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  JsonReader reader(*body, "");
  std::string host = reader.String("host");
  if (absl::Status s = reader.Finish(); !s.ok()) return api::Response::Error(s);
  absl::StatusOr<json> out =
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<json> {
        auto it = state.hosts.find(host);
        if (it == state.hosts.end()) {
          return WithField(
              absl::NotFoundError(StrCat("host ", QuoteForMessage(host), " not found")), "host");
        }
        planner::EvacuationResult r = state.fleet->PlanEvacuation(it->second);
        const planner::Cluster& c = state.fleet->cluster();
        json moves = json::array();
        for (const planner::Move& m : r.moves) moves.push_back(MoveJson(c, m));
        return json{
            {"host", host}, {"dry_run", true}, {"moves", moves}, {"stuck", StuckJson(c, r.stuck)}};
      });
  return api::Response::FromStatusOr(out);
}

api::Response Plans::Ha(const api::Request&) {
  absl::StatusOr<json> out =
      context_.placement->Locked([&](FleetState& state) -> absl::StatusOr<json> {
        planner::HaResult r = state.fleet->CheckHa();
        const planner::Cluster& c = state.fleet->cluster();
        json failures = json::array();
        for (const planner::HostFailure& f : r.failures) {
          failures.push_back({{"host", HostName(c, f.host)},
                              {"vms", f.vms},
                              {"cannot_restart", StuckJson(c, f.cannot_restart)},
                              {"missing_by_type", f.missing_by_type}});
        }
        json reserve = json::array();
        for (const planner::Reservation& v : r.reserve) {
          json item = {{"type", v.type}, {"instances", v.instances}, {"hosts", v.hosts}};
          if (!v.note.empty()) item["note"] = v.note;
          reserve.push_back(std::move(item));
        }
        return json{{"dry_run", true},
                    {"n_plus_one", r.n_plus_one},
                    {"failures", failures},
                    {"reserve", reserve}};
      });
  return api::Response::FromStatusOr(out);
}

}  // namespace gpufleet::controller
