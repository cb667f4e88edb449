#include "cmd/gpufleetd/controller_run.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iostream>

#include "api/server_options.h"
#include "common/strings.h"
#include "os/file_system.h"

namespace gpufleet::gpufleetd {

sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

absl::StatusOr<api::StaticSite> LoadDashboard(const std::string& web_dir) {
  std::unique_ptr<os::FileSystem> fs = os::NewPosixFileSystem();
  if (!web_dir.empty()) {
    absl::StatusOr<api::StaticSite> site = api::StaticSite::Load(*fs, web_dir);
    if (!site.ok()) {
      return absl::InvalidArgumentError(StrCat("--web-dir: ", site.status().message()));
    }
    return site;
  }
  // This build's own output first, then an installed tree (<prefix>/share/gpufleet/web beside
  // <prefix>/bin/gpufleetd).
  std::vector<std::string> candidates;
#ifdef GPUFLEET_DEFAULT_WEB_DIR
  candidates.emplace_back(GPUFLEET_DEFAULT_WEB_DIR);
#endif
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back((self.parent_path().parent_path() / "share/gpufleet/web").string());
  }
  for (const std::string& dir : candidates) {
    if (fs->Exists(StrCat(dir, "/index.html"))) return api::StaticSite::Load(*fs, dir);
  }
  return api::StaticSite::NotBuilt(
      StrCat("There is no index.html in ", StrJoin(candidates, " or "),
             ": npm was missing when gpufleetd was built, or the web target was not built."));
}

absl::StatusOr<std::unique_ptr<RunningController>> RunningController::Start(
    const ControllerFlags& flags, const os::Clock& clock,
    const std::function<absl::Status(api::Router&)>& extra_routes) {
  std::unique_ptr<RunningController> run(new RunningController());
  if (!absl::ParseDuration(flags.heartbeat_interval, &run->interval_) ||
      run->interval_ <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        StrCat("--heartbeat-interval: ", QuoteForMessage(flags.heartbeat_interval),
               " is not a positive duration such as 10s or 500ms"));
  }
  absl::Duration converge_timeout;
  if (!absl::ParseDuration(flags.converge_timeout, &converge_timeout) ||
      converge_timeout <= absl::ZeroDuration() || converge_timeout > absl::Hours(24)) {
    return absl::InvalidArgumentError(
        StrCat("--converge-timeout: ", QuoteForMessage(flags.converge_timeout),
               " is not a positive duration of at most 24h, such as 10m or 90s"));
  }
  api::ServerOptions server_options;
  server_options.listen = flags.listen;
  if (!flags.tls_cert.empty() || !flags.tls_key.empty()) {
    server_options.tls = api::TlsOptions{flags.tls_cert, flags.tls_key};
  }
  if (absl::Status s = api::CheckListenPolicy(server_options, /*auth_configured=*/true); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  store::SqliteStoreOptions store_options;
  store_options.clock = &clock;
  auto store = store::SqliteStore::Open(flags.data_dir, store_options);
  if (!store.ok()) {
    return absl::Status(store.status().code(), StrCat("cannot open the store in ", flags.data_dir,
                                                      ": ", store.status().message()));
  }
  run->store_ = *std::move(store);
  controller::ControllerOptions options;
  options.data_dir = flags.data_dir;
  options.inventory.heartbeat_interval = run->interval_;
  options.auto_ha_restart = flags.auto_ha_restart;
  options.converge_timeout = converge_timeout;
  absl::StatusOr<api::StaticSite> web = LoadDashboard(flags.web_dir);
  if (!web.ok()) return web.status();
  run->dashboard_built_ = web->built();
  options.web = *std::move(web);
  auto ctl = controller::Controller::Create(*run->store_, clock, options);
  if (!ctl.ok()) {
    return absl::Status(ctl.status().code(),
                        StrCat("cannot start the controller: ", ctl.status().message()));
  }
  run->controller_ = *std::move(ctl);
  auto router = run->controller_->BuildRouter();
  if (!router.ok()) return router.status();
  if (extra_routes) {
    if (absl::Status s = extra_routes(*router); !s.ok()) return s;
  }
  api::ServerDeps deps = run->controller_->ServerDeps();
  deps.error_log = [](std::string_view message) { std::cerr << "gpufleetd: " << message << "\n"; };
  if (flags.access_log) {
    deps.access_log = [](const api::AccessLogEntry& e) {
      std::cerr << StrCat(e.method, " ", e.route, " ", e.status, " ",
                          absl::FormatDuration(e.duration), " ", e.peer_address, " ",
                          e.principal.empty() ? "-" : e.principal, "\n");
    };
  }
  auto server = api::HttpServer::Start(server_options, *std::move(router), std::move(deps));
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        StrCat("cannot serve on ", flags.listen, ": ", server.status().message()));
  }
  run->server_ = *std::move(server);
  const char* scheme = server_options.tls ? "https" : "http";
  auto address = api::ParseListenAddress(flags.listen);
  std::string host = address.ok() ? address->host : "127.0.0.1";
  if (host.find(':') != std::string::npos) host = StrCat("[", host, "]");
  run->url_ = StrCat(scheme, "://", host, ":", run->server_->port());
  return run;
}

RunningController::~RunningController() {
  if (server_ != nullptr) server_->Stop();
  server_.reset();
  controller_.reset();
  store_.reset();
}

int RunningController::ServeUntilSignal(const sigset_t& stop_signals,
                                        const std::function<void()>& between_sweeps) {
  const absl::Duration sweep_every = std::min(interval_, absl::Seconds(1));
  while (true) {
    timespec wait = absl::ToTimespec(sweep_every);
    int sig = sigtimedwait(&stop_signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      std::cerr << "gpufleetd: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping\n";
      return 0;
    }
    if (sig < 0 && errno != EAGAIN && errno != EINTR) {
      std::cerr << "gpufleetd: sigtimedwait failed; stopping\n";
      return 1;
    }
    if (auto swept = controller_->SweepLiveness(); !swept.ok()) {
      std::cerr << "gpufleetd: liveness sweep: " << ToStd(swept.status().message()) << "\n";
    }
    if (between_sweeps) between_sweeps();
  }
}

}  // namespace gpufleet::gpufleetd
