#ifndef GPUFLEET_CMD_GPUFLEETD_CONTROLLER_RUN_H_
#define GPUFLEET_CMD_GPUFLEETD_CONTROLLER_RUN_H_

// The controller as a running thing: store + services + HTTP server, started by
// `gpufleetd controller` and by `gpufleetd demo`.

#include <signal.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/http_server.h"
#include "api/router.h"
#include "api/static_site.h"
#include "controller/controller.h"
#include "os/clock.h"
#include "store/sqlite_store.h"

namespace gpufleet::gpufleetd {

struct ControllerFlags {
  std::string data_dir{};
  std::string listen = "127.0.0.1:8470";
  std::string tls_cert{};
  std::string tls_key{};
  std::string heartbeat_interval = "10s";
  bool access_log = false;
  bool auto_ha_restart = true;  // start an ha-restart operation when a host with VMs goes down
  // How long an operation waits for a moved VM's vGPUs to be reported by its new host.
  std::string converge_timeout = "10m";
  // The dashboard's files (the web/ build output). "" = the build's own output
  // (GPUFLEET_DEFAULT_WEB_DIR) or the installed <prefix>/share/gpufleet/web, whichever has an
  // index.html, else a "dashboard not built" page; a directory given explicitly must hold
  // index.html.
  std::string web_dir{};
};

// The dashboard for `web_dir` as ControllerFlags::web_dir describes it. InvalidArgument naming
// --web-dir when an explicit directory cannot be served.
absl::StatusOr<api::StaticSite> LoadDashboard(const std::string& web_dir);

class RunningController {
 public:
  // Validates the flags (InvalidArgument naming the flag), opens the store, starts the services
  // and the server. The caller must have blocked SIGINT/SIGTERM (BlockStopSignals) first.
  // `extra_routes`, when set, adds routes of the caller's (the demo's) to the controller's.
  static absl::StatusOr<std::unique_ptr<RunningController>> Start(
      const ControllerFlags& flags, const os::Clock& clock,
      const std::function<absl::Status(api::Router&)>& extra_routes = {});
  ~RunningController();

  [[nodiscard]] std::string url() const { return url_; }
  // Whether "/" serves the dashboard (false: the "not built" page).
  [[nodiscard]] bool dashboard_built() const { return dashboard_built_; }
  [[nodiscard]] const std::optional<std::string>& initial_admin_token() const {
    return controller_->initial_admin_token();
  }
  [[nodiscard]] absl::Duration heartbeat_interval() const { return interval_; }
  controller::Controller& controller() { return *controller_; }

  // Runs the liveness sweep until SIGINT or SIGTERM; returns the exit code (0, or 1 when waiting
  // for signals failed). `between_sweeps`, when set, runs after every sweep.
  int ServeUntilSignal(const sigset_t& stop_signals,
                       const std::function<void()>& between_sweeps = {});

 private:
  RunningController() = default;

  absl::Duration interval_;
  bool dashboard_built_ = false;
  std::string url_{};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<controller::Controller> controller_;
  std::unique_ptr<api::HttpServer> server_;
};

// Blocks SIGINT and SIGTERM in this thread (and every thread it starts later), for sigtimedwait.
sigset_t BlockStopSignals();

}  // namespace gpufleet::gpufleetd

#endif  // GPUFLEET_CMD_GPUFLEETD_CONTROLLER_RUN_H_
