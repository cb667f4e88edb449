#ifndef GPUFLEET_CONTROLLER_CONTROLLER_H_
#define GPUFLEET_CONTROLLER_CONTROLLER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/router.h"
#include "api/static_site.h"
#include "controller/agent_sync.h"
#include "controller/auth.h"
#include "controller/context.h"
#include "controller/events.h"
#include "controller/inventory.h"
#include "controller/licenses.h"
#include "controller/operations.h"
#include "controller/placement.h"
#include "controller/plans.h"
#include "controller/telemetry.h"
#include "controller/vms.h"
#include "core/catalog.h"
#include "os/clock.h"
#include "store/store.h"

namespace gpufleet::controller {

struct ControllerOptions {
  // Where the first admin token is written (the store's data directory). Required.
  std::string data_dir;
  InventoryOptions inventory;
  AuthOptions auth;
  // Nullptr: the embedded catalog.
  const core::Catalog* catalog = nullptr;
  // When the liveness sweep marks a host down, start an ha-restart operation for its VMs.
  bool auto_ha_restart = true;
  // How long an operation waits for the destination host to report a moved VM's vGPUs.
  absl::Duration converge_timeout = absl::Minutes(10);
  // The dashboard served at "/" (api/static_site.h): the web/ build, or a page saying why it is
  // missing.
  api::StaticSite web = api::StaticSite::NotBuilt("no dashboard directory was given (--web-dir)");
};

// The services of `gpufleetd controller`, wired together: auth, inventory and liveness, VMs and
// plans, events, licenses, agent sync (desired and observed instances), telemetry, metrics and
// readiness. It chooses no implementation: the binary (or a test)
// passes the store and the clock, and serves the router with the deps it hands out.
//
// Lifetime: `store` and `clock` are not owned and must outlive the controller; the HTTP server
// built from router() and server_deps() must be stopped before the controller is destroyed.
// Thread-safe.
class Controller {
 public:
  // Builds the placement engine from the store, on a store with no API token creates the first
  // admin token (see TokenAuth::BootstrapAdminToken), and starts the operation runner, which
  // resumes every unfinished operation. Errors: the store's, the token file's, a stored row the
  // catalog cannot read.
  static absl::StatusOr<std::unique_ptr<Controller>> Create(store::Store& store,
                                                            const os::Clock& clock,
                                                            ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // The secret of the admin token created by this start, or nullopt (tokens existed already).
  [[nodiscard]] const std::optional<std::string>& initial_admin_token() const {
    return initial_admin_token_;
  }

  // Every route of the controller (the server adds /healthz, /readyz and /metrics).
  absl::StatusOr<api::Router> BuildRouter();
  // Authenticator, audit sink, metrics registry and readiness for HttpServer::Start; the caller
  // adds the clock's pointer and its log sinks.
  [[nodiscard]] api::ServerDeps ServerDeps();

  // OK once the store is open and the placement engine built.
  [[nodiscard]] absl::Status Ready() const;

  // Inventory::SweepLiveness, Licenses::SweepLeases, TokenAuth::FlushLastUse, then
  // (auto_ha_restart) an ha-restart operation for every host it marked down that runs VMs.
  // Returns the hosts marked down.
  absl::StatusOr<std::vector<std::string>> SweepLiveness();

  [[nodiscard]] Inventory& inventory() { return *inventory_; }
  [[nodiscard]] Operations& operations() { return *operations_; }
  [[nodiscard]] TokenAuth& auth() { return *auth_; }
  [[nodiscard]] api::MetricsRegistry& metrics() { return metrics_; }
  [[nodiscard]] Telemetry& telemetry() { return *telemetry_; }

 private:
  Controller(store::Store& store, const os::Clock& clock, ControllerOptions options);
  absl::Status RegisterMetrics();
  void CollectMetrics();

  ControllerOptions options_;
  Placement placement_;
  Context context_;
  api::MetricsRegistry metrics_;
  api::GaugeFamily* host_up_ = nullptr;
  api::GaugeFamily* vgpu_slots_ = nullptr;
  std::unique_ptr<TokenAuth> auth_;
  std::unique_ptr<Inventory> inventory_;
  std::unique_ptr<Vms> vms_;
  std::unique_ptr<Plans> plans_;
  std::unique_ptr<Events> events_;
  std::unique_ptr<Operations> operations_;
  std::unique_ptr<Licenses> licenses_;
  std::unique_ptr<AgentSync> agent_sync_;
  std::unique_ptr<Telemetry> telemetry_;
  std::optional<std::string> initial_admin_token_;
};

}  // namespace gpufleet::controller

#endif  // GPUFLEET_CONTROLLER_CONTROLLER_H_
