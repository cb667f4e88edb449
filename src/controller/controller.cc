#include "controller/controller.h"

#include <map>
#include <utility>
#include <vector>

#include "common/status_macros.h"
#include "planner/capacity.h"

namespace gpufleet::controller {

Controller::Controller(store::Store& store, const os::Clock& clock, ControllerOptions options)
    : options_(std::move(options)),
      placement_(store,
                 options_.catalog != nullptr ? *options_.catalog : core::Catalog::Embedded()) {
  context_.store = &store;
  context_.clock = &clock;
  context_.catalog = options_.catalog != nullptr ? options_.catalog : &core::Catalog::Embedded();
  context_.placement = &placement_;
  context_.converge_timeout = options_.converge_timeout;
  auth_ = std::make_unique<TokenAuth>(context_, options_.auth);
  InventoryOptions inventory = options_.inventory;
  inventory.credentials_revoked = [this] { auth_->ForgetAll(); };
  inventory.host_deleted = [this](const std::string& host) { agent_sync_->ForgetHost(host); };
  inventory_ = std::make_unique<Inventory>(context_, inventory);
  vms_ = std::make_unique<Vms>(context_);
  plans_ = std::make_unique<Plans>(context_);
  events_ = std::make_unique<Events>(context_);
  operations_ = std::make_unique<Operations>(context_);
  licenses_ = std::make_unique<Licenses>(context_);
  // A report that changes what is observed may be what a parked operation waits for.
  agent_sync_ = std::make_unique<AgentSync>(context_, [this] { operations_->runner().Wake(); });
  telemetry_ = std::make_unique<Telemetry>(
      context_, TelemetryOptions{.heartbeat_interval = options_.inventory.heartbeat_interval});
}

Controller::~Controller() {
  if (operations_) operations_->Stop();
}

absl::StatusOr<std::vector<std::string>> Controller::SweepLiveness() {
  GPUFLEET_ASSIGN_OR_RETURN(std::vector<std::string> down, inventory_->SweepLiveness());
  GPUFLEET_RETURN_IF_ERROR(licenses_->SweepLeases());
  // Last-use times are advisory: a failed write keeps them for the next sweep.
  (void)auth_->FlushLastUse();
  if (!options_.auto_ha_restart) return down;
  for (const std::string& host : down) {
    const bool runs_vms =
        placement_
            .Locked([&](FleetState& state) -> absl::Status {
              auto it = state.hosts.find(host);
              if (it == state.hosts.end()) return absl::NotFoundError("");
              for (const planner::Gpu& g :
                   state.fleet->cluster().hosts[static_cast<std::size_t>(it->second)].gpus) {
                if (!g.instances.empty() || g.passthrough_vm >= 0) return absl::OkStatus();
              }
              return absl::NotFoundError("");
            })
            .ok();
    if (!runs_vms) continue;
    // A refusal (another operation already on the host) is recorded by the store's events of
    // that operation; the sweep goes on with the next host.
    (void)operations_->Submit({{"kind", "ha-restart"}, {"host", host}}, "");
  }
  return down;
}

absl::StatusOr<std::unique_ptr<Controller>> Controller::Create(store::Store& store,
                                                               const os::Clock& clock,
                                                               ControllerOptions options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("controller: the data directory is required");
  }
  std::unique_ptr<Controller> c(new Controller(store, clock, std::move(options)));
  GPUFLEET_RETURN_IF_ERROR(c->placement_.Rebuild());
  GPUFLEET_ASSIGN_OR_RETURN(c->initial_admin_token_,
                            c->auth_->BootstrapAdminToken(c->options_.data_dir));
  GPUFLEET_RETURN_IF_ERROR(c->RegisterMetrics());
  GPUFLEET_RETURN_IF_ERROR(c->operations_->RegisterMetrics(c->metrics_));
  GPUFLEET_RETURN_IF_ERROR(c->licenses_->RegisterMetrics(c->metrics_));
  GPUFLEET_RETURN_IF_ERROR(c->telemetry_->RegisterMetrics(c->metrics_));
  GPUFLEET_RETURN_IF_ERROR(c->operations_->Start());
  return c;
}

absl::StatusOr<api::Router> Controller::BuildRouter() {
  api::Router router;
  GPUFLEET_RETURN_IF_ERROR(auth_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(inventory_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(vms_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(plans_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(events_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(operations_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(licenses_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(agent_sync_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(telemetry_->AddRoutes(router));
  GPUFLEET_RETURN_IF_ERROR(options_.web.AddRoutes(router));
  return router;
}

api::ServerDeps Controller::ServerDeps() {
  api::ServerDeps deps;
  deps.clock = context_.clock;
  deps.authenticator = auth_.get();
  deps.audit = auth_.get();
  deps.metrics = &metrics_;
  deps.readiness = [this] { return Ready(); };
  return deps;
}

absl::Status Controller::Ready() const {
  if (!placement_.ready()) return absl::UnavailableError("the placement engine is not built yet");
  return absl::OkStatus();
}

absl::Status Controller::RegisterMetrics() {
  GPUFLEET_ASSIGN_OR_RETURN(host_up_,
                            metrics_.AddGauge("gpufleet_host_up",
                                              "1 when the host's agent is heartbeating, 0 when "
                                              "the host is down",
                                              {"host"}));
  GPUFLEET_ASSIGN_OR_RETURN(
      vgpu_slots_,
      metrics_.AddGauge("gpufleet_vgpu_slots",
                        "vGPU instances per GPU and type: used (desired by VMs) and free (more "
                        "that fit in the GPU's current carving)",
                        {"host", "gpu", "board", "vgpu_type", "state"}));
  metrics_.AddCollector([this] { CollectMetrics(); });
  return absl::OkStatus();
}

void Controller::CollectMetrics() {
  std::vector<std::pair<api::LabelValues, double>> up;
  std::vector<std::pair<api::LabelValues, double>> slots;
  (void)placement_.Locked([&](FleetState& state) -> absl::Status {
    const planner::Cluster& c = state.fleet->cluster();
    for (const planner::Host& h : c.hosts) {
      up.push_back({{h.name}, h.state == planner::HostState::kDown ? 0.0 : 1.0});
      for (const planner::Gpu& g : h.gpus) {
        if (g.board == nullptr) continue;
        planner::MixedSizeGeometry geometry;
        if (auto it = c.mixed_size.find(g.board->prefix); it != c.mixed_size.end()) {
          geometry = it->second;
        }
        std::map<const core::VgpuType*, int> used;
        for (const planner::Instance& i : g.instances) ++used[i.type];
        if (g.carved != nullptr) used.try_emplace(g.carved, 0);
        for (const auto& [type, n] : used) {
          if (type == nullptr) continue;
          slots.push_back(
              {{h.name, g.id, g.board->prefix, type->name, "used"}, static_cast<double>(n)});
          slots.push_back({{h.name, g.id, g.board->prefix, type->name, "free"},
                           static_cast<double>(planner::FreeCount(g, *type, geometry))});
        }
      }
    }
    return absl::OkStatus();
  });
  host_up_->ReplaceAll(up);
  vgpu_slots_->ReplaceAll(slots);
}

}  // namespace gpufleet::controller
