#include "cmd/gpufleetd/demo_run.h"

#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "cli/client.h"
#include "cmd/gpufleetd/controller_run.h"
#include "cmd/gpufleetd/sim_agents.h"
#include "cmd/gpufleetd/sim_control.h"
#include "common/strings.h"
#include "os/clock.h"
#include "os/durable_file.h"

namespace gpufleet::gpufleetd {
namespace {

// The first admin token: printed by a fresh controller, else read back from its file.
absl::StatusOr<std::string> AdminToken(const RunningController& ctl, const os::FileSystem& fs,
                                       const std::string& data_dir) {
  if (ctl.initial_admin_token().has_value()) return *ctl.initial_admin_token();
  absl::StatusOr<std::string> text =
      fs.ReadFile(StrCat(data_dir, "/", controller::kAdminTokenFile), 4096);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        StrCat("--data-dir ", data_dir,
               " has been used before and its admin-token file cannot be "
               "read (",
               text.status().message(), "); use a fresh directory"));
  }
  std::string token(StripAsciiWhitespace(*text));
  return token;
}

absl::StatusOr<nlohmann::json> Call(cli::Client& client, std::string method, std::string path,
                                    std::optional<nlohmann::json> body, std::string what) {
  absl::StatusOr<cli::ApiReply> r = client.Do({.method = std::move(method),
                                               .path = std::move(path),
                                               .body = std::move(body),
                                               .what = std::move(what),
                                               .needs_role = "admin"});
  if (!r.ok()) return r.status();
  return r->body;
}

absl::Status CreatePools(cli::Client& client, const backends::sim::Scenario& scenario) {
  for (const auto& [edition, seats] : scenario.license_server.pools) {
    std::string pool = AsciiLower(edition);
    absl::StatusOr<nlohmann::json> r =
        Call(client, "PUT", StrCat("/api/v1/licenses/pools/", pool),
             nlohmann::json{{"edition", edition}, {"seats", seats}}, StrCat("pool ", pool));
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status WaitForHosts(cli::Client& client, std::size_t hosts, absl::Duration timeout) {
  absl::Time until = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<nlohmann::json> r = Call(client, "GET", "/api/v1/hosts", std::nullopt, "hosts");
    if (r.ok() && r->value("items", nlohmann::json::array()).size() >= hosts) {
      return absl::OkStatus();
    }
    if (absl::Now() > until) {
      return absl::DeadlineExceededError(StrCat("the simulated agents did not register ", hosts,
                                                " hosts within ", absl::FormatDuration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// The seed's scenario starts empty; the demo adds a few of the seed's VMs so that there is
// something to look at and to move, and room left for the commands it suggests.
constexpr std::pair<const char*, const char*> kSeedStarterVms[] = {
    {"model-1", "P40-8Q"}, {"light-1", "P40-3Q"}, {"light-2", "P40-3Q"}, {"light-3", "P40-3Q"}};

void CreateVms(cli::Client& client, const backends::sim::Scenario& scenario,
               const std::string& scenario_name) {
  std::vector<nlohmann::json> bodies;
  for (const backends::sim::VmSpec& vm : scenario.vms) {
    if (vm.type == nullptr) continue;
    nlohmann::json body = {{"name", vm.name}, {"type", vm.type->name}};
    if (!vm.license.empty()) body["license"] = vm.license;
    bodies.push_back(std::move(body));
  }
  if (bodies.empty() && scenario_name == "seed") {
    for (const auto& [name, type] : kSeedStarterVms) {
      bodies.push_back({{"name", name}, {"type", type}, {"license", "vWS"}});
    }
  }
  for (const nlohmann::json& body : bodies) {
    std::string name = body["name"].get<std::string>();
    absl::StatusOr<nlohmann::json> r =
        Call(client, "POST", "/api/v1/vms", body, StrCat("vm create ", name));
    if (!r.ok()) std::cerr << "gpufleetd demo: " << r.status().message() << "\n";
  }
}

// The CLI built beside this binary (build/<preset>/src/cmd/gpufleet/gpufleet), if there is one.
std::string CliBesideUs() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  std::filesystem::path cli = self.parent_path().parent_path() / "gpufleet" / "gpufleet";
  return std::filesystem::exists(cli, ec) ? cli.string() : "";
}

void PrintWelcome(const std::string& url, const std::string& token,
                  const backends::sim::Scenario& scenario, const std::string& data_dir,
                  bool dashboard) {
  std::string first_host = scenario.hosts.empty() ? "r730-1" : scenario.hosts.front().name;
  std::string type = "P40-3Q";
  for (const backends::sim::VmSpec& vm : scenario.vms) {
    if (vm.type != nullptr) {
      type = vm.type->name;
      break;
    }
  }
  const std::pair<std::string, std::string> tries[] = {
      {StrCat("gpufleet vm create demo-1 --type ", type), "place a vGPU VM"},
      {"gpufleet vm migrate demo-1", "move it to another host"},
      {StrCat("gpufleet host maintenance ", first_host), "evacuate a host"},
      {"gpufleet ha check", "could every host fail and its VMs restart?"},
      {"gpufleet events --follow", "watch it happen (Ctrl-C ends)"}};
  std::size_t width = 0;
  for (const auto& [command, what] : tries) width = std::max(width, command.size());
  std::cout << "\ngpufleet demo: a simulated cluster of " << scenario.hosts.size()
            << " hosts is running.\n\n"
            << "  URL:    " << url << "\n"
            << "  token:  " << token << "   (admin; also in " << data_dir << "/admin-token)\n"
            << "  dashboard: "
            << (dashboard ? StrCat(url, "/  (log in with the token)")
                          : StrCat("not built (", url, "/ says why; make demo builds it)"))
            << "\n\nIn another terminal:\n";
  if (std::string cli = CliBesideUs(); !cli.empty())
    std::cout << "  alias gpufleet=" << cli << "\n";
  std::cout << "  export GPUFLEET_SERVER=" << url << " GPUFLEET_TOKEN=" << token << "\n";
  for (const auto& [command, what] : tries) {
    std::cout << "  " << command << std::string(width + 2 - command.size(), ' ') << "# " << what
              << "\n";
  }
  std::cout << "\nFaults on demand: docs/simulator.md (\"The demo's controls\"). Ctrl-C stops the "
               "demo.\n"
            << std::endl;
}

}  // namespace

int RunDemo(const DemoFlags& flags) {
  sigset_t stop_signals = BlockStopSignals();
  std::unique_ptr<os::FileSystem> fs = os::NewPosixFileSystem("/");
  absl::StatusOr<backends::sim::Scenario> scenario = LoadScenario(flags.scenario, *fs);
  if (!scenario.ok()) {
    std::cerr << "gpufleetd demo: " << scenario.status().message() << "\n";
    return 2;
  }
  std::string data_dir = flags.data_dir;
  bool temporary = data_dir.empty();
  if (temporary) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gpufleet-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << "gpufleetd demo: cannot create a temporary data directory\n";
      return 1;
    }
    data_dir = tmpl;
  }
  int code = 0;
  {
    std::unique_ptr<os::Clock> clock = os::NewRealClock();
    ControllerFlags cflags{.data_dir = data_dir,
                           .listen = flags.listen,
                           .heartbeat_interval = flags.heartbeat_interval,
                           .web_dir = flags.web_dir};
    // The simulated hardware starts with no VMs: the demo asks the controller for them, so
    // every vGPU is placed by the planner and created by an agent, as on real hosts.
    backends::sim::Scenario hardware = *scenario;
    hardware.vms.clear();
    absl::StatusOr<std::unique_ptr<backends::sim::SimCluster>> cluster =
        backends::sim::SimCluster::Create(hardware, *clock);
    if (!cluster.ok()) {
      std::cerr << "gpufleetd demo: " << cluster.status().message() << "\n";
      return 2;
    }
    auto ctl = RunningController::Start(cflags, *clock, [&](api::Router& router) {
      return AddSimControlRoutes(router, **cluster);
    });
    if (!ctl.ok()) {
      std::cerr << "gpufleetd demo: " << ctl.status().message() << "\n";
      return ctl.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
    }
    absl::StatusOr<std::string> token = AdminToken(**ctl, *fs, data_dir);
    absl::StatusOr<std::unique_ptr<cli::Client>> client =
        token.ok() ? cli::Client::Create({.server = (*ctl)->url(), .token = *token})
                   : absl::StatusOr<std::unique_ptr<cli::Client>>(token.status());
    absl::Status ready = client.ok() ? CreatePools(**client, *scenario) : client.status();
    std::vector<std::unique_ptr<SimAgent>> agents;
    const absl::Duration interval = (*ctl)->heartbeat_interval();
    for (const backends::sim::HostSpec& host : scenario->hosts) {
      if (!ready.ok()) break;
      absl::StatusOr<nlohmann::json> enrol =
          Call(**client, "POST", "/api/v1/enrolment-tokens", nlohmann::json{{"host", host.name}},
               StrCat("enrolment token for ", host.name));
      if (!enrol.ok()) {
        ready = enrol.status();
        break;
      }
      SimAgentOptions options{.server = (*ctl)->url(),
                              .enrolment_token = enrol->value("token", ""),
                              .state_dir = StrCat(data_dir, "/agents/", host.name),
                              .agent = {.host = host.name,
                                        .heartbeat_interval = interval,
                                        .resync_interval = absl::Seconds(60),
                                        .telemetry_interval = interval,
                                        .license_interval = interval * 5,
                                        .manage_vms = true,
                                        // One simulated cluster for all: migrations reach.
                                        .live_migration = true,
                                        .log = [](std::string_view line) {
                                          std::cerr << "gpufleetd demo: " << line << "\n";
                                        }}};
      auto a = SimAgent::Create(**cluster, *clock, *fs, std::move(options));
      if (!a.ok()) {
        ready = a.status();
        break;
      }
      ready = (*a)->Launch();
      agents.push_back(*std::move(a));
    }
    if (ready.ok()) ready = WaitForHosts(**client, scenario->hosts.size(), absl::Seconds(20));
    if (!ready.ok()) {
      std::cerr << "gpufleetd demo: " << ready.message() << "\n";
      code = 1;
    } else {
      if (!flags.no_vms) CreateVms(**client, *scenario, flags.scenario);
      std::map<std::string, double> loads;
      for (const backends::sim::VmSpec& vm : scenario->vms) loads[vm.name] = vm.load_pct;
      if (flags.scenario == "seed") {
        for (const auto& [name, type] : kSeedStarterVms) loads.try_emplace(name, 35.0);
      }
      PrintWelcome((*ctl)->url(), *token, *scenario, data_dir, (*ctl)->dashboard_built());
      code = (*ctl)->ServeUntilSignal(stop_signals, [&] {
        // A VM gets its load once the agent has started it.
        for (auto it = loads.begin(); it != loads.end();) {
          it = (*cluster)->SetVmLoad(it->first, it->second).ok() ? loads.erase(it) : ++it;
        }
      });
    }
    for (auto& a : agents) a->Stop();
  }
  if (temporary) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir, ec);
  }
  return code;
}

}  // namespace gpufleet::gpufleetd
