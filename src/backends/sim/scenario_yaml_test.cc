#include "backends/sim/scenario_yaml.h"

#include "backends/sim/sim_testing.h"
#include "gmock/gmock.h"

namespace gpufleet::backends::sim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Status Parse(std::string_view text) {
  return ParseScenarioYaml(text, "scenario.yaml", core::Catalog::Embedded()).status();
}

TEST(ScenarioYaml, SeedExample) {
  Scenario s = testing::Example("examples/seed/scenario.yaml");
  ASSERT_EQ(s.hosts.size(), 3u);
  for (const HostSpec& h : s.hosts) {
    EXPECT_EQ(h.vgpu_manager, "525.105.14");
    EXPECT_EQ(h.hypervisor, "kvm");
    EXPECT_TRUE(h.hotmigrate);
    ASSERT_EQ(h.gpus.size(), 1u);
    EXPECT_EQ(h.gpus[0].id, "0000:82:00.0");
    EXPECT_EQ(h.gpus[0].board->name, "Tesla P40");
  }
  EXPECT_EQ(s.hosts[2].name, "r730-3");
  EXPECT_EQ(s.license_server.pools, (std::map<std::string, int>{{"vApps", 16}, {"vWS", 16}}));
  EXPECT_EQ(s.license_server.lease, absl::Hours(24));
  EXPECT_EQ(s.sim.teardown_delay, absl::Seconds(3));
}

class MixedExample : public testing::SimTest {};

TEST_F(MixedExample, BuildsWithItsVmsPlaced) {
  Build(testing::Example("examples/mixed-kvm/scenario.yaml"));
  std::vector<int> placements;
  const std::vector<VgpuInstance> instances = *VgpuHostOf("kvm-a100")->ListInstances();
  for (const VgpuInstance& i : instances) {
    placements.push_back(i.placement);
  }
  EXPECT_THAT(placements, ElementsAre(0, 4));
  EXPECT_EQ(VgpuHostOf("kvm-a16")->Facts()->gpus[0].carved_type, "A16-2B");
  EXPECT_EQ(cluster_->Guest("vdi-1")->edition, "vPC");
  EXPECT_TRUE(cluster_->Guest("train-1")->licensed);
  EXPECT_FALSE(cluster_->Guest("vws-t4")->licensed);  // not running
}

TEST(ScenarioYaml, ErrorsNameTheField) {
  absl::Status s = Parse(R"(hosts:
  - {name: a, gpus: [{id: "0000:82:00.0", board: P40}]}
  - {name: b, gpus: [{id: "0000:82:00.0", board: P41}]}
)");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("scenario.yaml:3:"));
  EXPECT_THAT(s.message(), HasSubstr("hosts[1].gpus[0].board: unknown board"));

  EXPECT_THAT(Parse("hosts: [{name: a, bmcc: {}}]").message(),
              HasSubstr("hosts[0].bmcc: unknown field"));
  EXPECT_THAT(Parse("hosts: [{name: a}]\nsim: {teardown_delay: soon}").message(),
              HasSubstr("sim.teardown_delay: expected a duration"));
  EXPECT_THAT(Parse("hosts: [{name: a}]\nvms: [{name: v, host: b}]").message(),
              HasSubstr("vms[0].host: unknown host \"b\""));
  EXPECT_THAT(Parse("hosts: [{name: a, gpus: [{id: g, board: P40}]}]\n"
                    "vms: [{name: v, host: a, gpu: g, type: T4-4Q}]")
                  .message(),
              HasSubstr("vms[0].type"));
  EXPECT_THAT(Parse("hosts: [{name: a, gpus: [{id: g, board: T4, mode: mig}]}]").message(),
              HasSubstr("hosts[0].gpus[0].mode: Tesla T4 has no MIG"));
  EXPECT_THAT(Parse("hosts: [{name: a}]\nlicenses: {vWZ: 3}").message(),
              HasSubstr("unknown license edition"));
  EXPECT_THAT(Parse("hosts: [{name: a}]\nfaults: {lost_gpus: [{host: a, gpu: x}]}").message(),
              HasSubstr("faults.lost_gpus[0].gpu: host a has no GPU \"x\""));
  EXPECT_THAT(Parse("hosts: [{name: a, bmc: {inlet_c: hot}}]").message(),
              HasSubstr("hosts[0].bmc.inlet_c: expected a number"));
  EXPECT_THAT(Parse("hosts: [{name: a}]\nhosts2: 1").message(), HasSubstr("hosts2"));
  EXPECT_THAT(Parse("hosts: [").message(), HasSubstr("invalid YAML"));
}

TEST(ScenarioYaml, CapacityIsCheckedWhenTheClusterIsBuilt) {
  absl::StatusOr<Scenario> s = ParseScenarioYaml(R"(hosts:
  - {name: a, gpus: [{id: g, board: P40}]}
vms:
  - {name: v1, host: a, gpu: g, type: P40-12Q}
  - {name: v2, host: a, gpu: g, type: P40-12Q}
  - {name: v3, host: a, gpu: g, type: P40-12Q}
)",
                                                 "scenario.yaml", core::Catalog::Embedded());
  ASSERT_TRUE(s.ok()) << s.status();
  os::FakeClock clock(testing::T0());
  absl::Status built = SimCluster::Create(*s, clock).status();
  EXPECT_EQ(built.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(built.message(), HasSubstr("vms[2].type: cannot create P40-12Q on g"));
}

}  // namespace
}  // namespace gpufleet::backends::sim
