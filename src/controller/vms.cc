#include "controller/vms.h"

#include <set>
#include <string>
#include <utility>

#include "common/json.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/licenses.h"
#include "controller/placement.h"
#include "controller/secrets.h"
#include "controller/vm_spec.h"
#include "planner/planner.h"

namespace gpufleet::controller {
namespace {

nlohmann::json InstanceJson(const store::DesiredInstance& d) {
  return {{"uuid", d.uuid.ToString()},
          {"index", d.index},
          {"host", d.host},
          {"gpu", d.gpu},
          {"type", d.type},
          {"placement", d.placement}};
}

// VmJson(vm, instances) with each vGPU's "observed": whether the agent of its host reports it.
absl::StatusOr<nlohmann::json> VmJsonObserved(
    store::ReadTx& tx, const store::Vm& vm, const std::vector<store::DesiredInstance>& instances) {
  nlohmann::json out = VmJson(vm, instances);
  for (std::size_t i = 0; i < instances.size(); ++i) {
    absl::StatusOr<store::ObservedInstance> o = tx.GetObservedInstance(instances[i].uuid);
    if (!o.ok() && !absl::IsNotFound(o.status())) return o.status();
    out["vgpus"][i]["observed"] = o.ok() && o->host == instances[i].host;
  }
  return out;
}

}  // namespace

nlohmann::json VmJson(const store::Vm& vm, const std::vector<store::DesiredInstance>& instances) {
  nlohmann::json spec = nlohmann::json::object();
  if (absl::StatusOr<nlohmann::json> j = ParseJson(vm.spec_json, "spec"); j.ok()) spec = *j;
  nlohmann::json vgpus = nlohmann::json::array();
  for (const store::DesiredInstance& d : instances) vgpus.push_back(InstanceJson(d));
  return {{"name", vm.name},       {"spec", spec},          {"phase", vm.phase},
          {"license", vm.license}, {"version", vm.version}, {"created_at", TimeText(vm.created_at)},
          {"vgpus", vgpus}};
}

absl::Status CheckGpuCapacity(store::WriteTx& tx, const core::Catalog& catalog,
                              const std::vector<store::DesiredInstance>& added) {
  std::set<std::pair<std::string, std::string>> touched;
  for (const store::DesiredInstance& d : added) touched.insert({d.host, d.gpu});
  for (const auto& key : touched) {
    // Named references, not structured bindings: clang 14 (the fuzz preset) cannot capture
    // those in the lambda below.
    const std::string& host = key.first;
    const std::string& id = key.second;
    GPUFLEET_ASSIGN_OR_RETURN(store::Gpu gpu, tx.GetGpu(host, id));
    GPUFLEET_ASSIGN_OR_RETURN(auto on_gpu,
                              tx.ListDesiredInstances({.host = host, .gpu = id, .vm = ""}));
    const core::Board* board = catalog.FindBoard(gpu.board);
    if (board == nullptr || on_gpu.empty()) continue;
    auto fail = [&](std::string_view why) {
      return absl::AbortedError(
          StrCat("gpu ", host, "/", id, ": ", why, "; the placement was not recorded"));
    };
    if (gpu.mode == "unconfigured" || gpu.mode == "equal-size") {
      const core::VgpuType* type = catalog.FindTypeByName(on_gpu.front().type);
      for (const store::DesiredInstance& d : on_gpu) {
        if (d.type != on_gpu.front().type) return fail("two vGPU types on an equal-size GPU");
      }
      if (type != nullptr && static_cast<int>(on_gpu.size()) > type->max_instances) {
        return fail(StrCat(on_gpu.size(), " x ", type->name, " exceed its ", type->max_instances,
                           " slots"));
      }
    } else {
      int used = 0;
      for (const store::DesiredInstance& d : on_gpu) {
        if (const core::VgpuType* t = catalog.FindTypeByName(d.type)) used += t->framebuffer_mib;
      }
      if (used > board->framebuffer_mib) {
        return fail(StrCat(used, " MiB of vGPU framebuffer exceed the board's ",
                           board->framebuffer_mib, " MiB"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Vms::AddRoutes(api::Router& router) {
  using api::Access;
  GPUFLEET_RETURN_IF_ERROR(router.Add("POST", "/api/v1/vms", Access::Operator(),
                                      [this](const api::Request& r) { return Create(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/vms", Access::Viewer(),
                                      [this](const api::Request& r) { return List(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/vms/{vm}", Access::Viewer(),
                                      [this](const api::Request& r) { return Get(r); }));
  return router.Add("DELETE", "/api/v1/vms/{vm}", Access::Operator(),
                    [this](const api::Request& r) { return Delete(r); });
}

api::Response Vms::Create(const api::Request& request) {
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<VmSpec> spec = DecodeVmSpec(*body, *context_.catalog);
  if (!spec.ok()) return api::Response::Error(spec.status());
  absl::StatusOr<planner::Vm> planned = ToPlannerVm(*spec, *context_.catalog);
  if (!planned.ok()) return api::Response::Error(planned.status());
  const std::string actor = ActorOf(request);
  store::Vm vm;
  std::vector<store::DesiredInstance> instances;
  nlohmann::json out;
  absl::Status s = context_.placement->Locked([&](FleetState& state) -> absl::Status {
    if (state.vms.contains(spec->name)) {
      return WithField(
          absl::AlreadyExistsError(StrCat("vm ", QuoteForMessage(spec->name), " exists already")),
          "name");
    }
    const int index = state.fleet->AddVm(*planned);
    planner::Decision decision = state.fleet->Place(index);
    if (!decision.assignment.has_value()) {
      ++state.dead_vms;
      return absl::FailedPreconditionError(decision.explanation);
    }
    const planner::Assignment& a = *decision.assignment;
    const planner::Cluster& cluster = state.fleet->cluster();
    const planner::Host& host = cluster.hosts[static_cast<std::size_t>(a.host)];
    absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
      instances.clear();
      vm = store::Vm{};
      vm.name = spec->name;
      vm.spec_json = EncodeVmSpec(*spec).dump();
      vm.phase = "placed";
      vm.license = spec->license;
      absl::Status created = tx.CreateVm(vm);
      if (absl::IsAlreadyExists(created)) {
        return WithField(
            absl::AlreadyExistsError(StrCat("vm ", QuoteForMessage(spec->name), " exists already")),
            "name");
      }
      GPUFLEET_RETURN_IF_ERROR(created);
      for (std::size_t i = 0; i < a.gpus.size(); ++i) {
        store::DesiredInstance d;
        d.uuid = VgpuUuid(spec->name, static_cast<int>(i));
        d.vm = spec->name;
        d.index = static_cast<int>(i);
        d.host = host.name;
        d.gpu = host.gpus[static_cast<std::size_t>(a.gpus[i])].id;
        d.type = a.types[i]->name;
        d.placement = a.fits[i].placement;
        GPUFLEET_RETURN_IF_ERROR(tx.CreateDesiredInstance(d));
        instances.push_back(d);
      }
      GPUFLEET_RETURN_IF_ERROR(CheckGpuCapacity(tx, *context_.catalog, instances));
      std::string pool;
      GPUFLEET_RETURN_IF_ERROR(AssignSeat(tx, spec->name,
                                          EditionOf(*context_.catalog, spec->license, a.types[0]),
                                          context_.clock->Now(), &pool));
      GPUFLEET_ASSIGN_OR_RETURN(out, VmJsonObserved(tx, vm, instances));
      return AppendEvent(
          tx, "vm.placed", StrCat("vm/", spec->name), actor,
          StrCat("vm ", spec->name, " placed on ", host.name, ": ", decision.explanation),
          AssignmentJson(cluster, a));
    });
    if (!written.ok()) {
      ++state.dead_vms;
      return written;
    }
    state.fleet->Commit(a);
    state.vms[spec->name] = index;
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(out, 201)
      .SetHeader("Location", StrCat("/api/v1/vms/", vm.name))
      .SetETag(vm.version);
}

api::Response Vms::List(const api::Request& request) {
  absl::StatusOr<api::PageRequest> page = api::ParsePageRequest(request);
  if (!page.ok()) return api::Response::Error(page.status());
  std::string after;
  if (!page->cursor.empty()) {
    absl::StatusOr<std::string> decoded = Base64UrlDecode(page->cursor);
    if (!decoded.ok()) {
      return api::Response::Error(WithField(
          absl::InvalidArgumentError("cursor: not a cursor this server issued"), "cursor"));
    }
    after = *decoded;
  }
  nlohmann::json items = nlohmann::json::array();
  std::string next;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Vm> vms, tx.ListVms());
    for (const store::Vm& vm : vms) {
      if (!after.empty() && vm.name <= after) continue;
      if (static_cast<int>(items.size()) == page->limit) {
        next = Base64UrlEncode(items.back()["name"].get<std::string>());
        break;
      }
      GPUFLEET_ASSIGN_OR_RETURN(auto instances,
                                tx.ListDesiredInstances({.host = "", .gpu = "", .vm = vm.name}));
      GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json item, VmJsonObserved(tx, vm, instances));
      items.push_back(std::move(item));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  nlohmann::json out = {{"items", items}};
  if (!next.empty()) out["next_cursor"] = next;
  return api::Response::Json(out);
}

api::Response Vms::Get(const api::Request& request) {
  const std::string name(request.PathParam("vm"));
  store::Vm vm;
  nlohmann::json out;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(vm, tx.GetVm(name));
    GPUFLEET_ASSIGN_OR_RETURN(auto instances,
                              tx.ListDesiredInstances({.host = "", .gpu = "", .vm = name}));
    GPUFLEET_ASSIGN_OR_RETURN(out, VmJsonObserved(tx, vm, instances));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(out).SetETag(vm.version);
}

api::Response Vms::Delete(const api::Request& request) {
  const std::string name(request.PathParam("vm"));
  const std::string actor = ActorOf(request);
  absl::Status s = context_.placement->Locked([&](FleetState& state) -> absl::Status {
    if (absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
          GPUFLEET_ASSIGN_OR_RETURN(store::Vm vm, tx.GetVm(name));
          GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, vm.version));
          GPUFLEET_RETURN_IF_ERROR(tx.DeleteVm(name, vm.version));
          return AppendEvent(tx, "vm.deleted", StrCat("vm/", name), actor,
                             StrCat("vm ", name, " deleted; its vGPUs are released"));
        });
        !written.ok())
      return written;
    auto it = state.vms.find(name);
    if (it != state.vms.end()) {
      state.fleet->Remove(it->second);
      state.vms.erase(it);
      ++state.dead_vms;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::NoContent();
}

}  // namespace gpufleet::controller
