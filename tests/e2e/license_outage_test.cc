// End to end in one process, on one FakeClock: the real controller over real HTTP, the seed's
// cluster in the simulator, and one real agent per host talking HTTP to the controller. The
// license server goes down; guests keep their leases until they run out; the controller warns
// (event license.expiring, metric below an hour) before the end and records the loss after it,
// and the guest runs unlicensed (3 fps, no CUDA).

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "agent/agent.h"
#include "agent/http_controller_api.h"
#include "backends/sim/scenario_yaml.h"
#include "backends/sim/sim_cluster.h"
#include "common/strings.h"
#include "controller/test_util.h"
#include "core/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet {
namespace {

using controller::testing::Bearer;
using controller::testing::JsonOf;
using ::testing::HasSubstr;

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(GPUFLEET_SOURCE_DIR) + "/" + relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct HostAgent {
  std::unique_ptr<backends::VgpuHost> vgpu;
  std::unique_ptr<backends::GpuTelemetry> telemetry;
  std::unique_ptr<backends::Bmc> bmc;
  std::unique_ptr<backends::Hypervisor> hypervisor;
  std::unique_ptr<agent::ControllerApi> api;
  std::unique_ptr<agent::StateFile> state;
  std::unique_ptr<agent::Agent> agent;
};

class LicenseOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start({.heartbeat_interval = absl::Minutes(10)}).ok());
    admin_ = tc_.admin_token();
    auto pool = tc_.Client().Put("/api/v1/licenses/pools/vws", Bearer(admin_),
                                 R"({"edition":"vWS","seats":16})", "application/json");
    ASSERT_TRUE(pool && pool->status == 201);
    absl::StatusOr<backends::sim::Scenario> scenario = backends::sim::ParseScenarioYaml(
        ReadSource("examples/seed/scenario.yaml"), "seed", core::Catalog::Embedded());
    ASSERT_TRUE(scenario.ok()) << scenario.status();
    auto cluster = backends::sim::SimCluster::Create(*scenario, clock_);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (const std::string& host : cluster_->HostNames()) {
      auto enrol = tc_.Client().Post("/api/v1/enrolment-tokens", Bearer(admin_),
                                     nlohmann::json({{"host", host}}).dump(), "application/json");
      ASSERT_TRUE(enrol && enrol->status == 201);
      HostAgent a;
      a.vgpu = *cluster_->NewVgpuHost(host);
      a.telemetry = *cluster_->NewTelemetry(host);
      a.bmc = *cluster_->NewBmc(host);
      a.hypervisor = *cluster_->NewHypervisor(host);
      a.api = *agent::NewHttpControllerApi({.server = StrCat("http://127.0.0.1:", tc_.port())});
      a.state = std::make_unique<agent::StateFile>(*fs_, StrCat(dir_.path(), "/agent-", host));
      agent::AgentOptions options{
          .host = host, .enrolment_token = JsonOf(enrol)["token"], .manage_vms = true};
      a.agent =
          std::make_unique<agent::Agent>(options,
                                         agent::AgentBackends{.vgpu = a.vgpu.get(),
                                                              .telemetry = a.telemetry.get(),
                                                              .bmc = a.bmc.get(),
                                                              .hypervisor = a.hypervisor.get()},
                                         *a.api, clock_, *a.state);
      ASSERT_TRUE(a.agent->Start().ok());
      agents_.push_back(std::move(a));
    }
  }

  // Moves the clock by `step`, lets every agent do what is due, then runs the controller's sweep.
  void Step(absl::Duration step) {
    clock_.Advance(step);
    for (int round = 0; round < 2; ++round) {
      for (HostAgent& a : agents_) a.agent->Tick();
    }
    ASSERT_TRUE(tc_.controller().SweepLiveness().ok());
  }

  size_t Events(std::string_view kind) {
    return JsonOf(tc_.Client().Get(StrCat("/api/v1/events?kind=", kind), Bearer(admin_)))["items"]
        .size();
  }

  std::optional<double> ExpiryMetric(std::string_view vm) {
    auto metrics = tc_.Client().Get("/metrics", Bearer(admin_));
    std::string key = StrCat("gpufleet_license_lease_expiry_seconds{vm=\"", vm, "\",");
    size_t at = metrics->body.find(key);
    if (at == std::string::npos) return std::nullopt;
    size_t space = metrics->body.find(' ', at + key.size());
    return std::stod(metrics->body.substr(space + 1));
  }

  controller::testing::TempDir dir_;
  os::FakeClock clock_{controller::testing::TestEpoch()};
  controller::testing::TestController tc_{dir_.path(), &clock_};
  std::unique_ptr<os::FileSystem> fs_ = os::NewPosixFileSystem("/");
  std::unique_ptr<backends::sim::SimCluster> cluster_;
  std::vector<HostAgent> agents_;
  std::string admin_;
};

TEST_F(LicenseOutageTest, LeasesRunOutAndTheControllerWarnsFirst) {
  for (int i = 0; i < 3; ++i) Step(absl::Seconds(1));
  auto vm =
      tc_.Client().Post("/api/v1/vms", Bearer(admin_),
                        R"({"name":"web-1","type":"P40-8Q","license":"vWS"})", "application/json");
  ASSERT_TRUE(vm && vm->status == 201) << (vm ? vm->body : "no answer");
  // The agent creates the vGPU at its next heartbeat and starts the VM; the guest takes a lease
  // and the agent reports it.
  for (int i = 0; i < 12 && ExpiryMetric("web-1").value_or(0) <= 0; ++i) Step(absl::Minutes(1));
  ASSERT_GT(ExpiryMetric("web-1").value_or(0), 20 * 3600.0);
  EXPECT_TRUE(cluster_->Guest("web-1")->licensed);
  cluster_->SetLicenseServerUp(false);

  bool warned_in_time = false;
  absl::Time deadline = clock_.Now() + absl::Hours(26);
  while (cluster_->Guest("web-1")->licensed && clock_.Now() < deadline) {
    Step(absl::Minutes(5));
    std::optional<double> left = ExpiryMetric("web-1");
    if (Events("license.expiring") > 0 && left.has_value() && *left > 0) warned_in_time = true;
  }
  EXPECT_TRUE(warned_in_time) << "no license.expiring event while the lease still ran";
  backends::sim::GuestCapabilities guest = *cluster_->Guest("web-1");
  EXPECT_FALSE(guest.licensed);
  EXPECT_FALSE(guest.cuda);
  EXPECT_EQ(guest.frame_rate_limit_fps, 3);
  for (int i = 0; i < 3; ++i) Step(absl::Minutes(5));
  EXPECT_EQ(Events("license.lost") + Events("license.expired"), 1u)
      << tc_.Client().Get("/api/v1/events?limit=30&kind=license.expiring", Bearer(admin_))->body
      << tc_.Client().Get("/api/v1/licenses", Bearer(admin_))->body;
  EXPECT_LE(ExpiryMetric("web-1").value_or(1), 0);
  auto ledger = JsonOf(tc_.Client().Get("/api/v1/licenses", Bearer(admin_)));
  EXPECT_EQ(ledger["seats"][0]["lease"], "expired");
  // The server comes back: the guest gets a lease again and the controller records it.
  cluster_->SetLicenseServerUp(true);
  for (int i = 0; i < 60 && !cluster_->Guest("web-1")->licensed; ++i) Step(absl::Minutes(5));
  for (int i = 0; i < 3; ++i) Step(absl::Minutes(5));
  EXPECT_TRUE(cluster_->Guest("web-1")->licensed);
  EXPECT_GT(ExpiryMetric("web-1").value_or(0), 3600);
  EXPECT_GE(Events("license.acquired"), 2u);
}

}  // namespace
}  // namespace gpufleet
