#include "cmd/gpufleetd/sim_agents.h"

#include <utility>

#include "backends/sim/scenario_yaml.h"
#include "common/embedded_file.h"
#include "common/strings.h"
#include "core/catalog.h"

namespace gpufleet {
std::vector<EmbeddedFile> EmbeddedSeedScenario();
std::vector<EmbeddedFile> EmbeddedMixedKvmScenario();
}  // namespace gpufleet

namespace gpufleet::gpufleetd {

constexpr std::size_t kMaxScenarioBytes = 4 << 20;

absl::StatusOr<backends::sim::Scenario> LoadScenario(const std::string& name_or_path,
                                                     const os::FileSystem& fs) {
  const core::Catalog& catalog = core::Catalog::Embedded();
  if (name_or_path == "seed" || name_or_path == "mixed-kvm") {
    std::vector<EmbeddedFile> files =
        name_or_path == "seed" ? EmbeddedSeedScenario() : EmbeddedMixedKvmScenario();
    return backends::sim::ParseScenarioYaml(files.at(0).data, StrCat(name_or_path, " (built in)"),
                                            catalog);
  }
  absl::StatusOr<std::string> text = fs.ReadFile(name_or_path, kMaxScenarioBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(), StrCat("--scenario: ", text.status().message(),
                                                     " (built-in scenarios: seed, mixed-kvm)"));
  }
  return backends::sim::ParseScenarioYaml(*text, name_or_path, catalog);
}

absl::StatusOr<std::unique_ptr<SimAgent>> SimAgent::Create(backends::sim::SimCluster& cluster,
                                                           const os::Clock& clock,
                                                           const os::FileSystem& fs,
                                                           SimAgentOptions options) {
  std::unique_ptr<SimAgent> a(new SimAgent());
  a->host_ = options.agent.host;
  auto vgpu = cluster.NewVgpuHost(a->host_);
  if (!vgpu.ok()) return vgpu.status();
  a->vgpu_ = *std::move(vgpu);
  auto telemetry = cluster.NewTelemetry(a->host_);
  if (!telemetry.ok()) return telemetry.status();
  a->telemetry_ = *std::move(telemetry);
  auto bmc = cluster.NewBmc(a->host_);
  if (!bmc.ok()) return bmc.status();
  a->bmc_ = *std::move(bmc);
  auto hypervisor = cluster.NewHypervisor(a->host_);
  if (!hypervisor.ok()) return hypervisor.status();
  a->hypervisor_ = *std::move(hypervisor);
  auto api = agent::NewHttpControllerApi({.server = options.server});
  if (!api.ok()) return api.status();
  a->api_ = *std::move(api);
  a->state_file_ = std::make_unique<agent::StateFile>(fs, options.state_dir);
  options.agent.enrolment_token = options.enrolment_token;
  a->agent_ =
      std::make_unique<agent::Agent>(options.agent,
                                     agent::AgentBackends{.vgpu = a->vgpu_.get(),
                                                          .telemetry = a->telemetry_.get(),
                                                          .bmc = a->bmc_.get(),
                                                          .hypervisor = a->hypervisor_.get()},
                                     *a->api_, clock, *a->state_file_);
  return a;
}

absl::Status SimAgent::Launch() {
  if (absl::Status s = agent_->Start(); !s.ok()) return s;
  thread_ = std::jthread([this](std::stop_token stop) { agent_->Run(stop); });
  return absl::OkStatus();
}

absl::Status SimAgent::RunHere(std::stop_token stop) {
  if (absl::Status s = agent_->Start(); !s.ok()) return s;
  agent_->Run(stop);
  return absl::OkStatus();
}

void SimAgent::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

}  // namespace gpufleet::gpufleetd
