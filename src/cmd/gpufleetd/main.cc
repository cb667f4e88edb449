// gpufleetd: the daemons. `gpufleetd controller` opens the SQLite store in the data directory,
// wires the controller's services to the HTTP server, runs the liveness sweep, and stops cleanly
// on SIGINT or SIGTERM. This is the only place that chooses implementations (SqliteStore, the
// real clock).

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "api/http_server.h"
#include "api/server_options.h"
#include "common/strings.h"
#include "controller/auth.h"
#include "controller/controller.h"
#include "os/clock.h"
#include "store/sqlite_store.h"

namespace gpufleet {
namespace {

constexpr char kControllerHelp[] = R"help(
Runs the control plane: the REST API under /api/v1 (see docs/api/openapi.yaml), /healthz,
/readyz and /metrics, with its state in DIR/gpufleet.db (SQLite, WAL).

First start: a fresh data directory gets one admin token. It is printed once on standard output
and written to DIR/admin-token (mode 0600); it is never logged. Use it to create more tokens:
  curl -H "Authorization: Bearer $(cat DIR/admin-token)" -d '{"name":"ops","role":"operator"}' \
       http://127.0.0.1:8470/api/v1/tokens

Safe by default: listens on 127.0.0.1:8470. Any other address needs --tls-cert and --tls-key.
A host is marked down after 3 missed heartbeats (--heartbeat-interval, default 10s).

Examples:
  gpufleetd controller --data-dir /var/lib/gpufleet
  gpufleetd controller --data-dir ./data --listen 127.0.0.1:0
  gpufleetd controller --data-dir /var/lib/gpufleet --listen 0.0.0.0:8470 \
                       --tls-cert /etc/gpufleet/tls.crt --tls-key /etc/gpufleet/tls.key

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start or failed while running, 2 bad usage.)help";

struct Flags {
  std::string data_dir;
  std::string listen = "127.0.0.1:8470";
  std::string tls_cert;
  std::string tls_key;
  std::string heartbeat_interval = "10s";
  bool access_log = false;
};

int RunController(const Flags& flags) {
  absl::Duration interval;
  if (!absl::ParseDuration(flags.heartbeat_interval, &interval) ||
      interval <= absl::ZeroDuration()) {
    std::cerr << "gpufleetd: --heartbeat-interval: " << QuoteForMessage(flags.heartbeat_interval)
              << " is not a positive duration such as 10s or 500ms\n";
    return 2;
  }
  api::ServerOptions server_options;
  server_options.listen = flags.listen;
  if (!flags.tls_cert.empty() || !flags.tls_key.empty()) {
    server_options.tls = api::TlsOptions{flags.tls_cert, flags.tls_key};
  }
  if (absl::Status s = api::CheckListenPolicy(server_options, /*auth_configured=*/true); !s.ok()) {
    std::cerr << "gpufleetd: " << ToStd(s.message()) << "\n";
    return 2;
  }

  // Signals are taken by sigtimedwait below; block them before any thread starts, so that every
  // thread inherits the mask and none is interrupted.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<os::Clock> clock = os::NewRealClock();
  store::SqliteStoreOptions store_options;
  store_options.clock = clock.get();
  auto store = store::SqliteStore::Open(flags.data_dir, store_options);
  if (!store.ok()) {
    std::cerr << "gpufleetd: cannot open the store in " << flags.data_dir << ": "
              << ToStd(store.status().message()) << "\n";
    return 1;
  }
  controller::ControllerOptions options;
  options.data_dir = flags.data_dir;
  options.inventory.heartbeat_interval = interval;
  auto ctl = controller::Controller::Create(**store, *clock, options);
  if (!ctl.ok()) {
    std::cerr << "gpufleetd: cannot start the controller: " << ToStd(ctl.status().message())
              << "\n";
    return 1;
  }
  auto router = (*ctl)->BuildRouter();
  if (!router.ok()) {
    std::cerr << "gpufleetd: " << ToStd(router.status().message()) << "\n";
    return 1;
  }
  api::ServerDeps deps = (*ctl)->ServerDeps();
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
    std::cerr << "gpufleetd: cannot serve on " << flags.listen << ": "
              << ToStd(server.status().message()) << "\n";
    return 1;
  }
  const char* scheme = server_options.tls ? "https" : "http";
  auto address = api::ParseListenAddress(flags.listen);
  std::string host = address.ok() ? address->host : "127.0.0.1";
  if (host.find(':') != std::string::npos) host = StrCat("[", host, "]");
  std::cout << "gpufleetd: listening on " << scheme << "://" << host << ":" << (*server)->port()
            << std::endl;
  if (const auto& token = (*ctl)->initial_admin_token(); token.has_value()) {
    std::cout << "gpufleetd: first start: admin token (shown once, also in " << flags.data_dir
              << "/" << controller::kAdminTokenFile << "):\n"
              << *token << std::endl;
  }

  // The liveness sweep runs on this thread between signals.
  const absl::Duration sweep_every = std::min(interval, absl::Seconds(1));
  int exit_code = 0;
  while (true) {
    timespec wait = absl::ToTimespec(sweep_every);
    int sig = sigtimedwait(&stop_signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      std::cerr << "gpufleetd: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping\n";
      break;
    }
    if (sig < 0 && errno != EAGAIN && errno != EINTR) {
      std::cerr << "gpufleetd: sigtimedwait failed; stopping\n";
      exit_code = 1;
      break;
    }
    if (auto swept = (*ctl)->SweepLiveness(); !swept.ok()) {
      std::cerr << "gpufleetd: liveness sweep: " << ToStd(swept.status().message()) << "\n";
    }
  }
  (*server)->Stop();
  server->reset();
  ctl->reset();
  store->reset();
  return exit_code;
}

int Main(int argc, char** argv) {
  CLI::App app{"gpufleetd: the gpufleet daemons (controller; agent and demo come later)",
               "gpufleetd"};
  app.require_subcommand(1);
  Flags flags;
  CLI::App* controller = app.add_subcommand("controller", "Run the control plane (REST API)");
  controller->footer(kControllerHelp);
  controller->add_option("--data-dir", flags.data_dir, "Directory of the store and admin token")
      ->required();
  controller->add_option("--listen", flags.listen, "host:port to serve on; port 0 picks one")
      ->capture_default_str();
  controller->add_option("--tls-cert", flags.tls_cert, "PEM certificate (chain) for HTTPS");
  controller->add_option("--tls-key", flags.tls_key, "PEM private key for HTTPS");
  controller
      ->add_option("--heartbeat-interval", flags.heartbeat_interval,
                   "How often agents heartbeat; a host is down after 3 missed")
      ->capture_default_str();
  controller->add_flag("--access-log", flags.access_log,
                       "Log one line per request to stderr (never tokens or bodies)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return RunController(flags);
}

}  // namespace
}  // namespace gpufleet

int main(int argc, char** argv) { return gpufleet::Main(argc, argv); }
