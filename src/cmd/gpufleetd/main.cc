// gpufleetd: the daemons. `gpufleetd controller` opens the SQLite store in the data directory,
// wires the controller's services to the HTTP server, runs the liveness sweep, and stops cleanly
// on SIGINT or SIGTERM; `gpufleetd agent` runs one host's agent; `gpufleetd demo` runs a
// controller and a simulated cluster together. This directory is the only place that chooses
// implementations (SqliteStore, the real clock, the simulated backends).

#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "cmd/gpufleetd/agent_run.h"
#include "cmd/gpufleetd/controller_run.h"
#include "cmd/gpufleetd/demo_run.h"
#include "common/strings.h"
#include "controller/auth.h"

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
A host is marked down after 3 missed heartbeats (--heartbeat-interval, default 10s); its VMs
are then restarted elsewhere by an ha-restart operation, unless --no-auto-ha-restart.

Examples:
  gpufleetd controller --data-dir /var/lib/gpufleet
  gpufleetd controller --data-dir ./data --listen 127.0.0.1:0
  gpufleetd controller --data-dir /var/lib/gpufleet --listen 0.0.0.0:8470 \
                       --tls-cert /etc/gpufleet/tls.crt --tls-key /etc/gpufleet/tls.key

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start or failed while running, 2 bad usage.)help";

int RunController(const gpufleetd::ControllerFlags& flags) {
  sigset_t stop_signals = gpufleetd::BlockStopSignals();
  std::unique_ptr<os::Clock> clock = os::NewRealClock();
  auto run = gpufleetd::RunningController::Start(flags, *clock);
  if (!run.ok()) {
    std::cerr << "gpufleetd: " << ToStd(run.status().message()) << "\n";
    return run.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << "gpufleetd: listening on " << (*run)->url() << std::endl;
  if (const auto& token = (*run)->initial_admin_token(); token.has_value()) {
    std::cout << "gpufleetd: first start: admin token (shown once, also in " << flags.data_dir
              << "/" << controller::kAdminTokenFile << "):\n"
              << *token << std::endl;
  }
  return (*run)->ServeUntilSignal(stop_signals);
}

constexpr char kAgentHelp[] = R"help(
Runs the agent of one host: it enrols once with a single-use token (from an admin's
`gpufleet tokens enrol HOST`), keeps its credential and the last desired state in
--state-dir (mode 0600, written atomically), heartbeats, reports the host's GPUs, converges the
host's vGPU instances to what the controller wants (level-triggered, with a full resync every
--resync-interval), reports instances, telemetry and guest license leases. When the controller
is away it keeps the host as last wanted. See docs/agents.md.

The token may also come from --enrol-token-file or $GPUFLEET_ENROL_TOKEN (not visible in ps).

Backends: sim (a host of a simulated cluster, from --scenario; docs/simulator.md). The real
ones (sysfs mdev, vendor VFIO, vSphere) come in later releases.

The simulated host lives in the agent's process, so by default its vGPU instances die with it.
--sim-state FILE keeps them in FILE (JSON, rewritten durably after every change) and loads them
at start over the scenario's, as a real host's driver keeps its instances while only the agent
restarts. A FILE that does not match the scenario is an error (exit 2), never ignored.

Examples:
  gpufleetd agent --server http://127.0.0.1:8470 --host r730-1 --enrol-token gfe_... \
                  --state-dir ./agent-r730-1 --backend sim --scenario seed
  gpufleetd agent --server http://127.0.0.1:8470 --host r730-1 --state-dir ./agent-r730-1 \
                  --backend sim --scenario lab.yaml --sim-state ./agent-r730-1/sim-state.json

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 failed while running, 2 bad usage or state.)help";

constexpr char kDemoHelp[] = R"help(
Runs a whole vGPU cluster on this machine, no GPU needed: a controller (fresh SQLite data
directory, removed at exit unless --data-dir is given), a simulated cluster, and one agent per
simulated host, enrolled over the API like real ones. The license pools and VMs of the scenario
are created through the API, so the planner places every vGPU and the agents create them.

Scenarios: seed (built in: three Dell R730 hosts, one Tesla P40 each, vGPU 15.2, 16 vWS + 16
vApps seats), mixed-kvm (built in: T4, A16, L40S, A100 with MIG), or a file
(docs/simulator.md; examples/ has both built-in ones).

Examples:
  gpufleetd demo
  gpufleetd demo --scenario mixed-kvm --listen 127.0.0.1:0
  gpufleetd demo --scenario my-lab.yaml --data-dir ./demo-data

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start, 2 bad usage or scenario.)help";

int Main(int argc, char** argv) {
  CLI::App app{"gpufleetd: the gpufleet daemons (controller, agent, demo)", "gpufleetd"};
  app.require_subcommand(1);
  gpufleetd::ControllerFlags flags;
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
  controller
      ->add_option("--converge-timeout", flags.converge_timeout,
                   "How long an operation waits for a moved VM's new host to report its vGPUs")
      ->capture_default_str();
  controller->add_flag("!--no-auto-ha-restart", flags.auto_ha_restart,
                       "Do not restart a down host's VMs elsewhere by itself (ha restart by hand)");
  controller->add_option("--web-dir", flags.web_dir,
                         "The dashboard's files (web/ build); default: this build's own");
  controller->add_flag("--access-log", flags.access_log,
                       "Log one line per request to stderr (never tokens or bodies)");

  gpufleetd::AgentFlags aflags;
  CLI::App* agent = app.add_subcommand("agent", "Run the agent of one host");
  agent->footer(kAgentHelp);
  agent->add_option("--server", aflags.server, "The controller's URL")->required();
  agent->add_option("--host", aflags.host, "This host's name in the controller")->required();
  agent->add_option("--enrol-token", aflags.enrol_token, "Single-use enrolment token (gfe_...)");
  agent->add_option("--enrol-token-file", aflags.enrol_token_file,
                    "File holding the enrolment token");
  agent->add_option("--state-dir", aflags.state_dir, "Where the credential and state live")
      ->capture_default_str();
  agent->add_option("--backend", aflags.backend, "sim")->capture_default_str();
  agent->add_option("--scenario", aflags.scenario, "sim: seed, mixed-kvm or a scenario file")
      ->capture_default_str();
  agent->add_option("--sim-state", aflags.sim_state,
                    "sim: keep the simulated hosts' vGPU state in this file across restarts");
  agent
      ->add_option("--resync-interval", aflags.resync_interval,
                   "Full reconcile this often even with no change")
      ->capture_default_str();
  agent
      ->add_option("--telemetry-interval", aflags.telemetry_interval,
                   "Sample the GPUs and the BMC and report this often")
      ->capture_default_str();
  agent->add_flag("--manage-vms", aflags.manage_vms,
                  "sim: start VMs once their vGPUs exist, stop those moved away");

  gpufleetd::DemoFlags dflags;
  CLI::App* demo = app.add_subcommand("demo", "Run a controller and a simulated cluster");
  demo->footer(kDemoHelp);
  demo->add_option("--scenario", dflags.scenario, "seed, mixed-kvm or a scenario file")
      ->capture_default_str();
  demo->add_option("--data-dir", dflags.data_dir, "Keep the controller's data here");
  demo->add_option("--listen", dflags.listen, "host:port to serve on; port 0 picks one")
      ->capture_default_str();
  demo->add_option("--heartbeat-interval", dflags.heartbeat_interval,
                   "How often the simulated agents heartbeat")
      ->capture_default_str();
  demo->add_flag("--no-vms", dflags.no_vms, "Do not create the scenario's VMs");
  demo->add_option("--web-dir", dflags.web_dir,
                   "The dashboard's files (web/ build); default: this build's own");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (app.got_subcommand(agent)) return gpufleetd::RunAgent(aflags);
  if (app.got_subcommand(demo)) return gpufleetd::RunDemo(dflags);
  return RunController(flags);
}

}  // namespace
}  // namespace gpufleet

int main(int argc, char** argv) { return gpufleet::Main(argc, argv); }
