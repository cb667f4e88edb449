#include "controller/inventory.h"

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "common/json.h"
#include "common/pci_address.h"
#include "common/status_field.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/placement.h"
#include "core/version.h"
#include "planner/model.h"

namespace gpufleet::controller {
namespace {

constexpr std::size_t kMaxGpus = 64;
constexpr std::size_t kMaxLabels = 64;
constexpr std::size_t kMaxLabelLength = 253;

absl::Status FieldError(std::string_view field, std::string_view why) {
  return WithField(absl::InvalidArgumentError(StrCat(field, ": ", why)), field);
}

struct HostReport {
  std::string hypervisor = "kvm";
  std::optional<store::HostState> state;
  std::string manager_version;
  std::optional<bool> hotmigrate;
  std::map<std::string, std::string> labels;
  std::vector<store::Gpu> gpus;
};

absl::StatusOr<store::Gpu> DecodeGpu(const nlohmann::json& j, std::string path,
                                     const core::Catalog& catalog) {
  if (!j.is_object()) return FieldError(path, "expected an object");
  JsonReader r(j, path);
  store::Gpu gpu;
  std::string pci = r.String("pci");
  std::string board = r.String("board");
  gpu.mode = r.OptString("mode").value_or("unconfigured");
  std::string carved = r.OptString("carved_type").value_or("");
  gpu.ecc = r.OptBool("ecc").value_or(false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  absl::StatusOr<PciAddress> address = PciAddress::Parse(pci);
  if (!address.ok()) return FieldError(r.PathOf("pci"), ToStd(address.status().message()));
  gpu.id = address->ToString();
  absl::StatusOr<const core::Board*> b = catalog.ResolveBoard(board);
  if (!b.ok()) return FieldError(r.PathOf("board"), ToStd(b.status().message()));
  gpu.board = (*b)->prefix;
  bool known_mode = false;
  std::vector<std::string> modes;
  for (planner::GpuMode m :
       {planner::GpuMode::kUnconfigured, planner::GpuMode::kEqualSize, planner::GpuMode::kMixedSize,
        planner::GpuMode::kMig, planner::GpuMode::kPassthrough}) {
    modes.emplace_back(planner::GpuModeName(m));
    if (planner::GpuModeName(m) == gpu.mode) known_mode = true;
  }
  if (!known_mode) {
    return FieldError(r.PathOf("mode"),
                      StrCat(QuoteForMessage(gpu.mode), " is not one of ", StrJoin(modes, ", ")));
  }
  if (!carved.empty()) {
    absl::StatusOr<const core::VgpuType*> t = catalog.ResolveType(carved, *b);
    if (!t.ok()) return FieldError(r.PathOf("carved_type"), ToStd(t.status().message()));
    if ((*t)->board_prefix != gpu.board) {
      return FieldError(r.PathOf("carved_type"),
                        StrCat((*t)->name, " is not a type of board ", gpu.board));
    }
    gpu.carved_type = (*t)->name;
  }
  return gpu;
}

absl::StatusOr<HostReport> DecodeHostReport(const nlohmann::json& body,
                                            const core::Catalog& catalog) {
  JsonReader r(body, "");
  HostReport report;
  report.hypervisor = r.OptString("hypervisor").value_or("kvm");
  std::optional<std::string> state = r.OptString("state");
  report.manager_version = r.OptString("manager_version").value_or("");
  report.hotmigrate = r.OptBool("hotmigrate");
  const nlohmann::json* labels = r.Object("labels", false);
  const nlohmann::json* gpus = r.Array("gpus", false);
  GPUFLEET_RETURN_IF_ERROR(r.Finish());
  if (report.hypervisor != "kvm" && report.hypervisor != "vsphere") {
    return FieldError("hypervisor",
                      StrCat(QuoteForMessage(report.hypervisor), " is not one of kvm, vsphere"));
  }
  if (state.has_value()) {
    if (*state != "ready" && *state != "maintenance") {
      return FieldError("state", StrCat(QuoteForMessage(*state),
                                        " is not one of ready, maintenance (down is decided by "
                                        "the controller)"));
    }
    report.state = *state == "ready" ? store::HostState::kReady : store::HostState::kMaintenance;
  }
  if (!report.manager_version.empty()) {
    absl::StatusOr<core::DriverVersion> v = core::DriverVersion::Parse(report.manager_version);
    if (!v.ok()) return FieldError("manager_version", ToStd(v.status().message()));
  }
  if (labels != nullptr) {
    if (labels->size() > kMaxLabels) return FieldError("labels", "more than 64 labels");
    for (const auto& [key, value] : labels->items()) {
      std::string path = StrCat("labels.", QuoteForMessage(key, 40));
      if (!value.is_string()) return FieldError(path, "expected a string");
      if (key.empty() || key.size() > kMaxLabelLength ||
          value.get<std::string>().size() > kMaxLabelLength) {
        return FieldError(path, "keys must be 1 to 253 characters, values at most 253");
      }
      if (key.starts_with("gpufleet.io/"))
        return FieldError(path, "the gpufleet.io/ prefix is reserved");
      report.labels[key] = value.get<std::string>();
    }
  }
  if (report.hotmigrate.has_value()) {
    report.labels[std::string(kHotmigrateLabel)] = *report.hotmigrate ? "true" : "false";
  }
  if (gpus != nullptr) {
    if (gpus->size() > kMaxGpus) return FieldError("gpus", "more than 64 GPUs");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < gpus->size(); ++i) {
      GPUFLEET_ASSIGN_OR_RETURN(store::Gpu gpu,
                                DecodeGpu((*gpus)[i], StrCat("gpus[", i, "]"), catalog));
      if (!seen.insert(gpu.id).second) {
        return FieldError(StrCat("gpus[", i, "].pci"), StrCat("duplicate GPU ", gpu.id));
      }
      report.gpus.push_back(std::move(gpu));
    }
  }
  return report;
}

}  // namespace

nlohmann::json GpuJson(const store::Gpu& gpu) {
  return {{"host", gpu.host}, {"pci", gpu.id},  {"board", gpu.board},
          {"mode", gpu.mode}, {"ecc", gpu.ecc}, {"carved_type", gpu.carved_type},
          {"held", gpu.held}};
}

nlohmann::json HostJson(const store::Host& host, const std::vector<store::Gpu>& gpus) {
  nlohmann::json labels = nlohmann::json::object();
  bool hotmigrate = true;
  for (const auto& [k, v] : host.labels) {
    if (k == kHotmigrateLabel) {
      hotmigrate = v != "false";
    } else {
      labels[k] = v;
    }
  }
  nlohmann::json g = nlohmann::json::array();
  for (const store::Gpu& gpu : gpus) g.push_back(GpuJson(gpu));
  return {{"name", host.name},
          {"state", store::HostStateName(host.state)},
          {"hypervisor", host.hypervisor},
          {"manager_version", host.manager_version},
          {"hotmigrate", hotmigrate},
          {"labels", labels},
          {"agent", host.agent},
          {"last_heartbeat", TimeOrNull(host.last_heartbeat)},
          {"version", host.version},
          {"gpus", g}};
}

absl::Status Inventory::AddRoutes(api::Router& router) {
  using api::Access;
  using api::Role;
  const Access agent_or_admin = Access::AgentOwnHost("host").Or(Role::kAdmin);
  GPUFLEET_RETURN_IF_ERROR(router.Add("PUT", "/api/v1/hosts/{host}", agent_or_admin,
                                      [this](const api::Request& r) { return PutHost(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/hosts", Access::Viewer(),
                                      [this](const api::Request& r) { return ListHosts(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/hosts/{host}", Access::Viewer(),
                                      [this](const api::Request& r) { return GetHost(r); }));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/api/v1/gpus", Access::Viewer(),
                                      [this](const api::Request& r) { return ListGpus(r); }));
  return router.Add("POST", "/api/v1/hosts/{host}/heartbeat", agent_or_admin,
                    [this](const api::Request& r) { return Heartbeat(r); });
}

api::Response Inventory::PutHost(const api::Request& request) {
  const std::string name(request.PathParam("host"));
  if (absl::Status s = CheckName(name, "host"); !s.ok()) return api::Response::Error(s);
  absl::StatusOr<nlohmann::json> body = JsonObjectBody(request);
  if (!body.ok()) return api::Response::Error(body.status());
  absl::StatusOr<HostReport> report = DecodeHostReport(*body, *context_.catalog);
  if (!report.ok()) return api::Response::Error(report.status());
  const std::string actor = ActorOf(request);
  const bool by_agent = request.principal && request.principal->role == api::Role::kAgent;
  store::Host saved;
  std::vector<store::Gpu> saved_gpus;
  bool created = false;
  absl::Status s = context_.placement->Locked([&](FleetState&) -> absl::Status {
    if (absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
          absl::StatusOr<store::Host> existing = tx.GetHost(name);
          if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
          created = !existing.ok();
          store::Host host = created ? store::Host{} : *existing;
          if (!created) GPUFLEET_RETURN_IF_ERROR(api::CheckIfMatch(request, host.version));
          host.name = name;
          host.hypervisor = report->hypervisor;
          if (report->state.has_value()) host.state = *report->state;
          host.manager_version = report->manager_version;
          host.labels = report->labels;
          if (!report->hotmigrate.has_value() && !created) {
            auto old = existing->labels.find(std::string(kHotmigrateLabel));
            if (old != existing->labels.end()) host.labels[old->first] = old->second;
          }
          if (by_agent) host.agent = request.principal->agent_host;
          GPUFLEET_RETURN_IF_ERROR(created ? tx.CreateHost(host) : tx.UpdateHost(host));
          GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> old_gpus, tx.ListGpus(name));
          std::map<std::string, store::Gpu> old_by_id;
          for (store::Gpu& g : old_gpus) old_by_id[g.id] = std::move(g);
          saved_gpus.clear();
          for (store::Gpu gpu : report->gpus) {
            gpu.host = name;
            auto it = old_by_id.find(gpu.id);
            if (it == old_by_id.end()) {
              GPUFLEET_RETURN_IF_ERROR(tx.CreateGpu(gpu));
            } else {
              gpu.version = it->second.version;
              gpu.held = it->second.held;
              GPUFLEET_RETURN_IF_ERROR(tx.UpdateGpu(gpu));
              old_by_id.erase(it);
            }
            saved_gpus.push_back(gpu);
          }
          for (const auto& [id, gone] : old_by_id) {
            absl::Status removed = tx.DeleteGpu(name, id, store::kAnyVersion);
            if (absl::IsFailedPrecondition(removed)) {
              return absl::FailedPreconditionError(
                  StrCat("host ", name, ": gpu ", id,
                         " is missing from the report but still holds "
                         "desired vGPUs; delete or evacuate its VMs first"));
            }
            GPUFLEET_RETURN_IF_ERROR(removed);
          }
          saved = host;
          return AppendEvent(tx, created ? "host.registered" : "host.updated",
                             StrCat("host/", name), actor,
                             StrCat("host ", name, created ? " registered" : " updated", " with ",
                                    saved_gpus.size(), " GPUs"));
        });
        !written.ok())
      return written;
    return context_.placement->RebuildLocked();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(HostJson(saved, saved_gpus), created ? 201 : 200)
      .SetETag(saved.version);
}

api::Response Inventory::ListHosts(const api::Request&) {
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Host> hosts, tx.ListHosts());
    for (const store::Host& h : hosts) {
      GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(h.name));
      items.push_back(HostJson(h, gpus));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response Inventory::GetHost(const api::Request& request) {
  const std::string name(request.PathParam("host"));
  store::Host host;
  std::vector<store::Gpu> gpus;
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(host, tx.GetHost(name));
    GPUFLEET_ASSIGN_OR_RETURN(gpus, tx.ListGpus(name));
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(HostJson(host, gpus)).SetETag(host.version);
}

api::Response Inventory::ListGpus(const api::Request& request) {
  const std::string host(request.Query("host").value_or(""));
  const std::string board_query(request.Query("board").value_or(""));
  std::string board;
  if (!board_query.empty()) {
    absl::StatusOr<const core::Board*> b = context_.catalog->ResolveBoard(board_query);
    if (!b.ok()) return api::Response::Error(WithField(b.status(), "board"));
    board = (*b)->prefix;
  }
  nlohmann::json items = nlohmann::json::array();
  absl::Status s = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(host));
    for (const store::Gpu& g : gpus) {
      if (board.empty() || g.board == board) items.push_back(GpuJson(g));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json({{"items", items}});
}

api::Response Inventory::Heartbeat(const api::Request& request) {
  const std::string name(request.PathParam("host"));
  const std::string actor = ActorOf(request);
  store::Host saved;
  absl::Status s = context_.placement->Locked([&](FleetState& state) -> absl::Status {
    bool came_back = false;
    if (absl::Status written = context_.store->Write([&](store::WriteTx& tx) -> absl::Status {
          GPUFLEET_ASSIGN_OR_RETURN(store::Host host, tx.GetHost(name));
          host.last_heartbeat = context_.clock->Now();
          came_back = host.state == store::HostState::kDown;
          if (came_back) host.state = store::HostState::kReady;
          GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(host));
          saved = host;
          if (!came_back) return absl::OkStatus();
          return AppendEvent(tx, "host.up", StrCat("host/", name), actor,
                             StrCat("host ", name, " is up again: heartbeat received"));
        });
        !written.ok())
      return written;
    if (came_back) {
      auto it = state.hosts.find(name);
      if (it != state.hosts.end())
        state.fleet->SetHostState(it->second, planner::HostState::kReady);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return api::Response::Error(s);
  return api::Response::Json(
      {{"host", name},
       {"state", store::HostStateName(saved.state)},
       {"next_heartbeat_seconds", absl::ToInt64Seconds(options_.heartbeat_interval)}});
}

absl::StatusOr<std::vector<std::string>> Inventory::SweepLiveness() {
  const absl::Time now = context_.clock->Now();
  const absl::Duration grace = kMissedHeartbeats * options_.heartbeat_interval;
  auto silent = [&](const store::Host& h) {
    if (h.state == store::HostState::kDown) return false;
    absl::Time last = h.last_heartbeat.value_or(h.created_at);
    return now - last >= grace;
  };
  std::vector<std::string> candidates;
  if (absl::Status listed = context_.store->Read([&](store::ReadTx& tx) -> absl::Status {
        GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Host> hosts, tx.ListHosts());
        for (const store::Host& h : hosts) {
          if (silent(h)) candidates.push_back(h.name);
        }
        return absl::OkStatus();
      });
      !listed.ok())
    return listed;
  if (candidates.empty()) return candidates;
  std::vector<std::string> marked;
  auto mark_down = [&](store::WriteTx& tx) -> absl::Status {
    marked.clear();
    for (const std::string& name : candidates) {
      absl::StatusOr<store::Host> host = tx.GetHost(name);
      if (absl::IsNotFound(host.status())) continue;
      GPUFLEET_RETURN_IF_ERROR(host.status());
      if (!silent(*host)) continue;  // a heartbeat arrived meanwhile
      host->state = store::HostState::kDown;
      GPUFLEET_RETURN_IF_ERROR(tx.UpdateHost(*host));
      GPUFLEET_RETURN_IF_ERROR(AppendEvent(
          tx, "host.down", StrCat("host/", name), "",
          StrCat("host ", name, " is down: no heartbeat for ",
                 absl::FormatDuration(now - host->last_heartbeat.value_or(host->created_at)), " (",
                 kMissedHeartbeats, " intervals of ",
                 absl::FormatDuration(options_.heartbeat_interval), ")")));
      marked.push_back(name);
    }
    return absl::OkStatus();
  };
  absl::Status swept = context_.placement->Locked([&](FleetState& state) -> absl::Status {
    absl::Status written = context_.store->Write(mark_down);
    if (!written.ok()) return written;
    for (const std::string& name : marked) {
      auto it = state.hosts.find(name);
      if (it != state.hosts.end()) {
        state.fleet->SetHostState(it->second, planner::HostState::kDown);
      }
    }
    return absl::OkStatus();
  });
  if (!swept.ok()) return swept;
  return marked;
}

}  // namespace gpufleet::controller
