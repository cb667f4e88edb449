#include "planner/cluster_yaml.h"

#include <string>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/planner.h"

namespace gpufleet::planner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const core::Catalog& Cat() { return core::Catalog::Embedded(); }

constexpr char kGood[] = R"(# every mode and most keys
hosts:
  - name: r730-1
    vgpu_manager: 525.105.14
    labels: {rack: a}
    cpus: 56
    memory_gib: 512
    link_gbps: 10
    gpus:
      - id: "0000:82:00.0"
        board: Tesla P40
        instances:
          - {vm: ml-1, type: grid_p40-8q}
          - {vm: ml-2}
      - board: P40
        mode: equal-size
        carved: P40-3Q
  - name: esx-2
    state: maintenance
    hypervisor: vsphere
    hotmigrate: false
    gpus:
      - id: gpu0
        board: A100D
        mode: mig
        ecc: true
        instances:
          - {vm: train-1, type: A100D-3-40C, placement: 4}
      - board: L40S
        mode: mixed-size
        instances:
          - {vm: viz-1, type: L40S-8Q, placement: 0}
          - {vm: viz-2, type: L40S-16Q, placement: 16}
      - board: T4
        passthrough_vm: whole
      - board: T4
vms:
  - {name: ml-1, type: P40-8Q, license: vws, guest_driver: 525.105.17, anti_affinity: ml}
  - {name: ml-2, type: P40-8Q, live_migratable: false, cpus: 8, memory_gib: 32}
  - {name: train-1, type: A100D-3-40C, host_labels: {rack: b}}
  - {name: viz-1, type: L40S-8Q}
  - {name: viz-2, type: L40S-16Q}
  - name: whole
    requirement: {passthrough: true, boards: [T4]}
  - name: later
    requirement: {min_framebuffer: 8G, cuda: true, series: Q, boards: [P40, L40S], mig: false}
    vgpus: 2
licenses: {vWS: 16, vApps: 16}
mixed_size: {L40S: {slot_mib: 1024, slots: 48, reserved_slots: 0}}
)";

TEST(ClusterYamlTest, DecodesEveryModeAndKey) {
  absl::StatusOr<Cluster> c = ParseClusterYaml(kGood, "cluster.yaml", Cat());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->catalog, &Cat());
  ASSERT_EQ(c->hosts.size(), 2u);
  const Host& h0 = c->hosts[0];
  EXPECT_EQ(h0.name, "r730-1");
  EXPECT_EQ(h0.state, HostState::kReady);
  EXPECT_EQ(h0.hypervisor, core::Hypervisor::kKvm);
  ASSERT_TRUE(h0.manager);
  EXPECT_EQ(h0.manager->ToString(), "525.105.14");
  EXPECT_TRUE(h0.hotmigrate);
  EXPECT_EQ(h0.labels.at("rack"), "a");
  EXPECT_EQ(h0.cpus, 56);
  EXPECT_EQ(h0.memory_gib, 512);
  EXPECT_EQ(h0.link_gbps, 10);
  ASSERT_EQ(h0.gpus.size(), 2u);
  const Gpu& p40 = h0.gpus[0];
  EXPECT_EQ(p40.id, "0000:82:00.0");
  EXPECT_EQ(p40.board->prefix, "P40");
  EXPECT_EQ(p40.mode, GpuMode::kEqualSize);  // implied by the instances
  EXPECT_EQ(p40.carved->name, "P40-8Q");
  ASSERT_EQ(p40.instances.size(), 2u);
  EXPECT_EQ(p40.instances[0].vm, 0);
  EXPECT_EQ(p40.instances[1].type->name, "P40-8Q");  // the VM's type
  EXPECT_EQ(p40.instances[1].placement, -1);
  EXPECT_EQ(h0.gpus[1].id, "gpu1");
  EXPECT_EQ(h0.gpus[1].carved->name, "P40-3Q");
  EXPECT_TRUE(h0.gpus[1].instances.empty());

  const Host& h1 = c->hosts[1];
  EXPECT_EQ(h1.state, HostState::kMaintenance);
  EXPECT_EQ(h1.hypervisor, core::Hypervisor::kVsphere);
  EXPECT_FALSE(h1.hotmigrate);
  EXPECT_FALSE(h1.cpus);
  EXPECT_EQ(h1.gpus[0].mode, GpuMode::kMig);
  EXPECT_TRUE(h1.gpus[0].ecc);
  EXPECT_EQ(h1.gpus[0].instances[0].placement, 4);
  EXPECT_EQ(h1.gpus[1].mode, GpuMode::kMixedSize);
  EXPECT_EQ(h1.gpus[1].instances[1].placement, 16);
  EXPECT_EQ(h1.gpus[2].mode, GpuMode::kPassthrough);
  EXPECT_EQ(h1.gpus[2].passthrough_vm, 5);
  EXPECT_EQ(h1.gpus[3].mode, GpuMode::kUnconfigured);

  ASSERT_EQ(c->vms.size(), 7u);
  EXPECT_EQ(c->vms[0].license, "vWS");
  EXPECT_EQ(c->vms[0].anti_affinity, "ml");
  EXPECT_EQ(c->vms[0].guest_driver->ToString(), "525.105.17");
  EXPECT_FALSE(c->vms[1].live_migratable);
  EXPECT_EQ(c->vms[1].cpus, 8);
  EXPECT_EQ(c->vms[2].host_labels.at("rack"), "b");
  EXPECT_TRUE(c->vms[5].need.passthrough);
  const Vm& later = c->vms[6];
  EXPECT_EQ(later.need.type, nullptr);
  EXPECT_EQ(later.need.min_framebuffer_mib, 8192);
  EXPECT_TRUE(later.need.cuda);
  EXPECT_EQ(later.need.series, core::Series::kQ);
  ASSERT_EQ(later.need.boards.size(), 2u);
  EXPECT_EQ(later.need.boards[1]->prefix, "L40S");
  EXPECT_EQ(later.vgpus, 2);
  EXPECT_EQ(c->license_seats.at("vWS"), 16);
  EXPECT_EQ(c->license_seats.at("vApps"), 16);
  EXPECT_EQ(c->mixed_size.at("L40S").slots, 48);

  // The decoded state satisfies the planner's own constraints.
  EXPECT_THAT(Violations(*c), ElementsAre());
  std::map<int, Location> where = Locate(*c);
  EXPECT_EQ(where.at(0).host, 0);
  EXPECT_EQ(where.at(5).host, 1);
  EXPECT_FALSE(where.contains(6));
}

TEST(ClusterYamlTest, InstancesOnAnUnconfiguredGpuImplyEqualSizeOrMig) {
  constexpr char kYaml[] = R"(hosts:
  - name: a
    gpus:
      - {board: P40, mode: unconfigured, instances: [{vm: x}]}
      - {board: A100D, instances: [{vm: y, placement: 0}]}
vms: [{name: x, type: P40-8Q}, {name: y, type: A100D-1-10C}]
)";
  absl::StatusOr<Cluster> c = ParseClusterYaml(kYaml, "cluster.yaml", Cat());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hosts[0].gpus[0].mode, GpuMode::kEqualSize);
  EXPECT_EQ(c->hosts[0].gpus[0].carved->name, "P40-8Q");
  EXPECT_EQ(c->hosts[0].gpus[1].mode, GpuMode::kMig);
}

TEST(ClusterYamlTest, DemandExpandsCountsAndAppends) {
  absl::StatusOr<Cluster> c = ParseClusterYaml(kGood, "cluster.yaml", Cat());
  ASSERT_TRUE(c.ok()) << c.status();
  constexpr char kDemand[] = R"(vms:
  - {name: "light-{n}", type: P40-3Q, count: 3}
  - {name: big, type: P40-8Q, count: 2}
  - {name: one, requirement: {min_framebuffer: 512M}}
)";
  absl::StatusOr<std::vector<int>> added = AppendDemandYaml(kDemand, "demand.yaml", Cat(), *c);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_THAT(*added, ElementsAre(7, 8, 9, 10, 11, 12));
  std::vector<std::string> names;
  for (int i : *added) names.push_back(c->vms[static_cast<std::size_t>(i)].name);
  EXPECT_THAT(names, ElementsAre("light-1", "light-2", "light-3", "big-1", "big-2", "one"));
  EXPECT_EQ(c->vms[12].need.min_framebuffer_mib, 512);
}

TEST(ClusterYamlTest, DemandErrorLeavesTheClusterUnchanged) {
  absl::StatusOr<Cluster> c = ParseClusterYaml(kGood, "cluster.yaml", Cat());
  ASSERT_TRUE(c.ok()) << c.status();
  constexpr char kDemand[] =
      "vms:\n  - {name: a, type: P40-3Q, count: 2}\n  - {name: ml-1, type: P40-3Q}\n";
  absl::StatusOr<std::vector<int>> added = AppendDemandYaml(kDemand, "demand.yaml", Cat(), *c);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.status().message(),
            "demand.yaml:3:12: vms[1].name: duplicate VM name 'ml-1' (also in the cluster)");
  EXPECT_EQ(c->vms.size(), 7u);
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* expected;  // a substring of the message: file:line:col: path: why
};

// A minimal valid cluster, edited by each case.
const ErrorCase kClusterErrors[] = {
    {"malformed", "hosts:\n  - name: a\n    gpus: [\n", "cluster.yaml:4:1: invalid YAML: "},
    {"empty", "", "cluster.yaml:1:1: the file is empty"},
    {"top_level_not_a_map", "- a\n", "cluster.yaml:1:1: expected a map, got a list"},
    {"unknown_top_key", "hosts: []\nlicences: {vWS: 1}\n",
     "cluster.yaml:2:1: licences: unknown field; did you mean licenses?"},
    {"missing_hosts", "vms: []\n", "cluster.yaml:1:1: hosts: required field is missing"},
    {"unknown_host_key", "hosts:\n  - name: a\n    colour: red\n",
     "cluster.yaml:3:5: hosts[0].colour: unknown field"},
    {"typo_in_required_key", "hosts:\n  - naem: a\n",
     "cluster.yaml:2:5: hosts[0].naem: unknown field; did you mean name?"},
    {"hosts_not_a_list", "hosts: {a: 1}\n", "cluster.yaml:1:8: hosts: expected a list, got a map"},
    {"unknown_board", "hosts:\n  - name: a\n    gpus:\n      - board: P4O\n",
     "cluster.yaml:4:16: hosts[0].gpus[0].board: unknown board 'P4O'; did you mean P4?"},
    {"unknown_type", "hosts: []\nvms:\n  - {name: x, type: P40-9Q}\n",
     "cluster.yaml:3:21: vms[0].type: unknown vGPU type 'P40-9Q'"},
    {"type_of_another_board",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        carved: T4-8Q\n",
     "cluster.yaml:5:17: hosts[0].gpus[0].carved: vGPU type T4-8Q belongs to board T4, not P40"},
    {"instance_type_of_another_board",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        instances: [{vm: x}]\n"
     "vms: [{name: x, type: T4-8Q}]\n",
     "cluster.yaml:5:21: hosts[0].gpus[0].instances[0]: VM 'x' has type T4-8Q, which belongs to "
     "board T4, not P40"},
    {"unknown_edition", "hosts: []\nlicenses: {vWX: 3}\n",
     "cluster.yaml:2:12: licenses.vWX: unknown license edition 'vWX'; did you mean vWS?"},
    {"bad_state", "hosts:\n  - name: a\n    state: maintainance\n",
     "cluster.yaml:3:12: hosts[0].state: 'maintainance' is not one of ready, maintenance, down; "
     "did you mean maintenance?"},
    {"bad_mode", "hosts:\n  - name: a\n    gpus: [{board: P40, mode: equal_size}]\n",
     "cluster.yaml:3:31: hosts[0].gpus[0].mode: 'equal_size' is not one of unconfigured, "
     "equal-size, mixed-size, mig, passthrough; did you mean equal-size?"},
    {"wrong_type_bool", "hosts:\n  - name: a\n    hotmigrate: sometimes\n",
     "cluster.yaml:3:17: hosts[0].hotmigrate: expected true or false, got 'sometimes'"},
    {"wrong_type_list_for_string", "hosts:\n  - name: [a, b]\n",
     "cluster.yaml:2:11: hosts[0].name: expected a string, got a list"},
    {"negative_number", "hosts:\n  - name: a\n    cpus: -4\n",
     "cluster.yaml:3:11: hosts[0].cpus: expected an integer from 0 to 16777216, got -4"},
    {"not_a_number", "hosts:\n  - name: a\n    memory_gib: lots\n",
     "cluster.yaml:3:17: hosts[0].memory_gib: expected an integer, got 'lots'"},
    {"bad_size", "hosts: []\nvms:\n  - name: x\n    requirement: {min_framebuffer: 8T}\n",
     "cluster.yaml:4:36: vms[0].requirement.min_framebuffer: expected a size such as 8G"},
    {"duplicate_host", "hosts:\n  - name: a\n  - name: a\n",
     "cluster.yaml:3:11: hosts[1].name: duplicate host name 'a' (also hosts[0])"},
    {"duplicate_gpu", "hosts:\n  - name: a\n    gpus: [{id: g, board: P40}, {id: g, board: P40}]\n",
     "cluster.yaml:3:38: hosts[0].gpus[1].id: duplicate GPU id 'g' on host 'a' (also gpus[0])"},
    {"duplicate_vm", "hosts: []\nvms:\n  - {name: x, type: P40-8Q}\n  - {name: x, type: P40-8Q}\n",
     "cluster.yaml:4:12: vms[1].name: duplicate VM name 'x' (also vms[0])"},
    {"duplicate_key", "hosts:\n  - name: a\n    name: b\n",
     "cluster.yaml:3:5: duplicate key 'name'"},
    {"instance_names_unknown_vm",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        instances: [{vm: ml-9, type: "
     "P40-8Q}]\nvms: [{name: ml-1, type: P40-8Q}]\n",
     "cluster.yaml:5:26: hosts[0].gpus[0].instances[0].vm: unknown VM 'ml-9'; list it under vms "
     "(did you mean ml-1?)"},
    {"two_types_on_equal_size",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        instances:\n"
     "          - {vm: x, type: P40-3Q}\n          - {vm: y, type: P40-8Q}\n"
     "vms: [{name: x, type: P40-3Q}, {name: y, type: P40-8Q}]\n",
     "cluster.yaml:7:27: hosts[0].gpus[0].instances[1].type: an equal-size GPU holds one type, but "
     "instances[0] is P40-3Q and instances[1] is P40-8Q"},
    {"too_many_instances",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        carved: P40-12Q\n"
     "        instances: [{vm: x}, {vm: y}, {vm: z}]\n"
     "vms: [{name: x, type: P40-12Q}, {name: y, type: P40-12Q}, {name: z, type: P40-12Q}]\n",
     "cluster.yaml:6:20: hosts[0].gpus[0].instances: 3 instances of P40-12Q, but a P40 GPU holds "
     "at most 2"},
    {"carved_differs_from_instance",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        carved: P40-3Q\n"
     "        instances: [{vm: x, type: P40-8Q}]\nvms: [{name: x, type: P40-8Q}]\n",
     "cluster.yaml:6:35: hosts[0].gpus[0].instances[0].type: the GPU is carved for P40-3Q, not "
     "P40-8Q"},
    {"vm_type_differs_from_instance",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        instances: [{vm: x, type: "
     "P40-3Q}]"
     "\nvms: [{name: x, type: P40-8Q}]\n",
     "cluster.yaml:5:35: hosts[0].gpus[0].instances[0].type: VM 'x' has type P40-8Q, not P40-3Q"},
    {"mig_type_on_equal_size",
     "hosts:\n  - name: a\n    gpus:\n      - board: A100D\n        mode: equal-size\n"
     "        instances: [{vm: x}]\nvms: [{name: x, type: A100D-1-10C}]\n",
     "hosts[0].gpus[0].instances[0].type: A100D-1-10C is MIG-backed; it needs a GPU in mode mig"},
    {"mig_on_board_without_mig", "hosts:\n  - name: a\n    gpus: [{board: P40, mode: mig}]\n",
     "cluster.yaml:3:31: hosts[0].gpus[0].mode: P40 has no MIG mode"},
    {"mig_instance_without_placement",
     "hosts:\n  - name: a\n    gpus:\n      - board: A100D\n        instances: [{vm: x}]\n"
     "vms: [{name: x, type: A100D-1-10C}]\n",
     "cluster.yaml:5:21: hosts[0].gpus[0].instances[0].placement: required on a mig GPU"},
    {"placement_on_equal_size",
     "hosts:\n  - name: a\n    gpus:\n      - board: P40\n        instances: [{vm: x, placement: "
     "0}]"
     "\nvms: [{name: x, type: P40-8Q}]\n",
     "hosts[0].gpus[0].instances[0].placement: placement is only for mixed-size and MIG instances"},
    {"mixed_size_on_t4", "hosts:\n  - name: a\n    gpus: [{board: T4, mode: mixed-size}]\n",
     "cluster.yaml:3:30: hosts[0].gpus[0].mode: T4 does not support mixed-size vGPU"},
    {"passthrough_vm_on_vgpu_gpu",
     "hosts:\n  - name: a\n    gpus: [{board: T4, mode: equal-size, passthrough_vm: x}]\n"
     "vms: [{name: x, requirement: {passthrough: true}}]\n",
     "hosts[0].gpus[0].passthrough_vm: only a GPU in mode passthrough has a passthrough_vm"},
    {"passthrough_vm_without_passthrough_need",
     "hosts:\n  - name: a\n    gpus: [{board: T4, passthrough_vm: x}]\n"
     "vms: [{name: x, type: T4-8Q}]\n",
     "hosts[0].gpus[0].passthrough_vm: VM 'x' does not ask for a passthrough GPU"},
    {"vm_on_two_hosts",
     "hosts:\n  - name: a\n    gpus: [{board: P40, instances: [{vm: x}]}]\n"
     "  - name: b\n    gpus: [{board: P40, instances: [{vm: x}]}]\n"
     "vms: [{name: x, type: P40-8Q, vgpus: 2}]\n",
     "cluster.yaml:5:37: hosts[1].gpus[0].instances[0].vm: VM 'x' already runs on host 'a'"},
    {"vm_placed_partly",
     "hosts:\n  - name: a\n    gpus: [{board: P40, instances: [{vm: x}]}]\n"
     "vms:\n  - {name: x, type: P40-8Q, vgpus: 2}\n",
     "cluster.yaml:5:5: vms[0]: VM 'x' needs 2 vGPUs but the hosts place 1"},
    {"vm_without_type", "hosts: []\nvms: [{name: x}]\n",
     "cluster.yaml:2:7: vms[0]: a VM needs a type (P40-8Q) or a requirement"},
    {"type_and_requirement",
     "hosts: []\nvms: [{name: x, type: P40-8Q, requirement: {cuda: true}}]\n",
     "vms[0].requirement: give either type or requirement, not both"},
    {"bad_driver", "hosts:\n  - name: a\n    vgpu_manager: r525\n",
     "cluster.yaml:3:19: hosts[0].vgpu_manager: driver version 'r525'"},
    {"too_many_gpus",
     "hosts:\n  - name: a\n    gpus: [P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, "
     "P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, "
     "P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, "
     "P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40, P40]\n",
     "cluster.yaml:3:11: hosts[0].gpus: more than 64 GPUs"},
    {"gpu_not_a_map", "hosts:\n  - name: a\n    gpus: [P40]\n",
     "cluster.yaml:3:12: hosts[0].gpus[0]: expected a map, got 'P40'"},
    {"name_with_control_character", "hosts:\n  - name: \"a\\tb\"\n",
     "hosts[0].name: expected a name of 1 to 253 characters without control characters"},
    {"unknown_series", "hosts: []\nvms: [{name: x, requirement: {series: X}}]\n",
     "vms[0].requirement.series: 'X' is not one of Q, C, B, A"},
    {"mixed_size_reserves_everything",
     "hosts: []\nmixed_size: {L40S: {slots: 4, reserved_slots: 4}}\n",
     "mixed_size.L40S.reserved_slots: reserves 4 of 4 slots"},
    {"alias", "hosts:\n  - &h {name: a}\n  - *h\n", "cluster.yaml:3:5: aliases"},
};

class ClusterYamlErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ClusterYamlErrorTest, NamesFileLineColumnAndPath) {
  const ErrorCase& c = GetParam();
  absl::StatusOr<Cluster> cluster = ParseClusterYaml(c.yaml, "cluster.yaml", Cat());
  ASSERT_FALSE(cluster.ok()) << c.yaml;
  EXPECT_EQ(cluster.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(cluster.status().message()), HasSubstr(c.expected));
  EXPECT_THAT(cluster.status().message(), HasSubstr("cluster.yaml:"));
}

INSTANTIATE_TEST_SUITE_P(Errors, ClusterYamlErrorTest, ::testing::ValuesIn(kClusterErrors),
                         [](const ::testing::TestParamInfo<ErrorCase>& p) {
                           return std::string(p.param.name);
                         });

const ErrorCase kDemandErrors[] = {
    {"no_vms", "{}\n", "demand.yaml:1:1: vms: required field is missing"},
    {"count_zero", "vms: [{name: a, type: P40-3Q, count: 0}]\n",
     "demand.yaml:1:38: vms[0].count: expected an integer from 1 to 100000, got 0"},
    {"count_too_big", "vms: [{name: a, type: P40-3Q, count: 100001}]\n",
     "vms[0].count: expected an integer from 1 to 100000"},
    {"placeholder_without_count", "vms: [{name: \"a-{n}\", type: P40-3Q}]\n",
     "demand.yaml:1:14: vms[0].name: the name holds {n} but the VM has no count"},
    {"duplicate_after_expansion",
     "vms:\n  - {name: a, type: P40-3Q, count: 2}\n  - {name: a-2, type: P40-3Q}\n",
     "demand.yaml:3:12: vms[1].name: duplicate VM name 'a-2' (also in vms[0])"},
    {"unknown_key", "vms: [{name: a, type: P40-3Q, cuont: 2}]\n",
     "demand.yaml:1:31: vms[0].cuont: unknown field; did you mean count?"},
    {"unknown_edition", "vms: [{name: a, type: P40-3Q, license: gold}]\n",
     "vms[0].license: unknown license edition 'gold'"},
};

class DemandYamlErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DemandYamlErrorTest, NamesFileLineColumnAndPath) {
  const ErrorCase& c = GetParam();
  Cluster cluster;
  Vm existing;
  existing.name = "existing";
  cluster.vms.push_back(existing);
  absl::StatusOr<std::vector<int>> added = AppendDemandYaml(c.yaml, "demand.yaml", Cat(), cluster);
  ASSERT_FALSE(added.ok()) << c.yaml;
  EXPECT_THAT(std::string(added.status().message()), HasSubstr(c.expected));
  EXPECT_EQ(cluster.vms.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Errors, DemandYamlErrorTest, ::testing::ValuesIn(kDemandErrors),
                         [](const ::testing::TestParamInfo<ErrorCase>& p) {
                           return std::string(p.param.name);
                         });

TEST(DemandYamlTest, BoundsTheTotalNumberOfVms) {
  Cluster cluster;
  std::string yaml = "vms:\n";
  for (int i = 0; i < 11; ++i) {
    yaml += StrCat("  - {name: \"g", i, "-{n}\", type: P40-1Q, count: 100000}\n");
  }
  absl::StatusOr<std::vector<int>> added = AppendDemandYaml(yaml, "demand.yaml", Cat(), cluster);
  ASSERT_FALSE(added.ok());
  EXPECT_THAT(std::string(added.status().message()),
              HasSubstr("demand.yaml:12:44: vms[10].count: cluster and demand hold more than "
                        "1000000 VMs"));
  EXPECT_TRUE(cluster.vms.empty());
}

}  // namespace
}  // namespace gpufleet::planner
