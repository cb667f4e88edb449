#include "controller/placement.h"

#include <utility>

#include "common/json.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "controller/licenses.h"
#include "controller/vm_spec.h"
#include "core/version.h"

namespace gpufleet::controller {
namespace {

planner::HostState PlannerState(store::HostState s) {
  switch (s) {
    case store::HostState::kReady:
      return planner::HostState::kReady;
    case store::HostState::kMaintenance:
      return planner::HostState::kMaintenance;
    case store::HostState::kDown:
      return planner::HostState::kDown;
  }
  return planner::HostState::kDown;
}

std::optional<planner::GpuMode> ParseMode(std::string_view name) {
  for (planner::GpuMode m :
       {planner::GpuMode::kUnconfigured, planner::GpuMode::kEqualSize, planner::GpuMode::kMixedSize,
        planner::GpuMode::kMig, planner::GpuMode::kPassthrough}) {
    if (planner::GpuModeName(m) == name) return m;
  }
  return std::nullopt;
}

}  // namespace

std::pair<int, int> FleetState::FindGpu(std::string_view host, std::string_view gpu) const {
  auto it = hosts.find(host);
  if (it == hosts.end()) return {-1, -1};
  const planner::Host& h = fleet->cluster().hosts[static_cast<std::size_t>(it->second)];
  for (std::size_t g = 0; g < h.gpus.size(); ++g) {
    if (h.gpus[g].id == gpu) return {it->second, static_cast<int>(g)};
  }
  return {-1, -1};
}

std::string VmName(const planner::Cluster& c, int vm) {
  return c.vms[static_cast<std::size_t>(vm)].name;
}

std::string HostName(const planner::Cluster& c, int host) {
  return host < 0 ? std::string() : c.hosts[static_cast<std::size_t>(host)].name;
}

nlohmann::json AssignmentJson(const planner::Cluster& c, const planner::Assignment& a) {
  nlohmann::json gpus = nlohmann::json::array();
  nlohmann::json types = nlohmann::json::array();
  const planner::Host& h = c.hosts[static_cast<std::size_t>(a.host)];
  for (std::size_t i = 0; i < a.gpus.size(); ++i) {
    gpus.push_back(h.gpus[static_cast<std::size_t>(a.gpus[i])].id);
    types.push_back(a.types[i] != nullptr ? a.types[i]->name : "");
  }
  return {{"host", h.name}, {"gpus", gpus}, {"types", types}};
}

nlohmann::json MoveJson(const planner::Cluster& c, const planner::Move& m) {
  return {{"vm", VmName(c, m.vm)},
          {"from", HostName(c, m.from_host)},
          {"to", AssignmentJson(c, m.to)},
          {"stun_seconds", m.stun_seconds}};
}

nlohmann::json StuckJson(const planner::Cluster& c, const std::vector<planner::Stuck>& stuck) {
  nlohmann::json out = nlohmann::json::array();
  for (const planner::Stuck& s : stuck) {
    out.push_back({{"vm", VmName(c, s.vm)}, {"reason", s.reason}});
  }
  return out;
}

absl::StatusOr<FleetState> BuildFleetState(store::ReadTx& tx, const core::Catalog& catalog) {
  planner::Cluster cluster;
  cluster.catalog = &catalog;
  FleetState state;
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Host> hosts, tx.ListHosts());
  for (const store::Host& row : hosts) {
    planner::Host h;
    h.name = row.name;
    h.state = PlannerState(row.state);
    if (!row.manager_version.empty()) {
      absl::StatusOr<core::DriverVersion> v = core::DriverVersion::Parse(row.manager_version);
      if (v.ok()) h.manager = *v;
    }
    h.hypervisor =
        row.hypervisor == "vsphere" ? core::Hypervisor::kVsphere : core::Hypervisor::kKvm;
    for (const auto& [key, value] : row.labels) {
      if (key == kHotmigrateLabel) {
        h.hotmigrate = value != "false";
      } else {
        h.labels[key] = value;
      }
    }
    GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Gpu> gpus, tx.ListGpus(row.name));
    for (const store::Gpu& g : gpus) {
      planner::Gpu pg;
      pg.id = g.id;
      pg.board = catalog.FindBoard(g.board);
      std::optional<planner::GpuMode> mode = ParseMode(g.mode);
      if (pg.board == nullptr || !mode.has_value()) {
        return absl::FailedPreconditionError(
            StrCat("gpu ", row.name, "/", g.id, ": board ", QuoteForMessage(g.board), " or mode ",
                   QuoteForMessage(g.mode), " unknown to this catalog"));
      }
      pg.mode = *mode;
      pg.ecc = g.ecc;
      pg.held = g.held;
      if (!g.carved_type.empty()) pg.carved = catalog.FindTypeByName(g.carved_type);
      h.gpus.push_back(std::move(pg));
    }
    state.hosts[h.name] = static_cast<int>(cluster.hosts.size());
    cluster.hosts.push_back(std::move(h));
  }
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::Vm> vms, tx.ListVms());
  for (const store::Vm& row : vms) {
    GPUFLEET_ASSIGN_OR_RETURN(nlohmann::json j, ParseJson(row.spec_json, StrCat("vm ", row.name)));
    GPUFLEET_ASSIGN_OR_RETURN(VmSpec spec, DecodeVmSpec(j, catalog));
    GPUFLEET_ASSIGN_OR_RETURN(planner::Vm vm, ToPlannerVm(spec, catalog));
    state.vms[row.name] = static_cast<int>(cluster.vms.size());
    cluster.vms.push_back(std::move(vm));
  }
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<store::DesiredInstance> instances,
                            tx.ListDesiredInstances());
  for (const store::DesiredInstance& d : instances) {
    auto host = state.hosts.find(d.host);
    auto vm = state.vms.find(d.vm);
    const core::VgpuType* type = catalog.FindTypeByName(d.type);
    if (host == state.hosts.end() || vm == state.vms.end() || type == nullptr) {
      return absl::FailedPreconditionError(StrCat("desired instance ", d.uuid.ToString(), " of vm ",
                                                  d.vm,
                                                  " names an unknown host, "
                                                  "vm or type"));
    }
    planner::Host& h = cluster.hosts[static_cast<std::size_t>(host->second)];
    planner::Gpu* gpu = nullptr;
    for (planner::Gpu& g : h.gpus) {
      if (g.id == d.gpu) gpu = &g;
    }
    if (gpu == nullptr) {
      return absl::FailedPreconditionError(
          StrCat("desired instance ", d.uuid.ToString(), ": no gpu ", d.gpu, " on ", d.host));
    }
    if (gpu->mode == planner::GpuMode::kUnconfigured) {
      gpu->mode = planner::GpuMode::kEqualSize;
      gpu->carved = type;
    }
    gpu->instances.push_back(
        planner::Instance{.vm = vm->second, .type = type, .placement = d.placement});
  }
  GPUFLEET_ASSIGN_OR_RETURN(cluster.license_seats, SeatsByEdition(tx));
  state.fleet = std::make_unique<planner::Fleet>(std::move(cluster));
  return state;
}

absl::Status Placement::Rebuild() {
  std::lock_guard<std::mutex> lock(mu_);
  return RebuildLocked();
}

absl::Status Placement::RebuildLocked() {
  FleetState built;
  if (absl::Status read = store_.Read([&](store::ReadTx& tx) -> absl::Status {
        GPUFLEET_ASSIGN_OR_RETURN(built, BuildFleetState(tx, catalog_));
        return absl::OkStatus();
      });
      !read.ok())
    return read;
  state_ = std::move(built);
  return absl::OkStatus();
}

bool Placement::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_.fleet != nullptr;
}

}  // namespace gpufleet::controller
