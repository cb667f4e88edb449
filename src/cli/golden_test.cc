// Golden-file tests of the whole CLI: argv in, exit code + stdout + stderr out, compared with
// tests/testdata/golden/<case>.txt. After an intended change, regenerate with
//   GPUFLEET_REGENERATE_GOLDEN=1 ctest --preset dev -R Golden
// and review the diff like code.

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "cli/app.h"
#include "common/strings.h"
#include "core/catalog.h"
#include "gtest/gtest.h"

namespace gpufleet::cli {
namespace {

struct Case {
  const char* name;
  std::vector<const char*> args;
  int exit_code;
};

const Case kCases[] = {
    {"help", {"--help"}, 0},
    {"compat_help", {"compat", "--help"}, 0},
    {"version", {"version"}, 0},
    {"version_json", {"version", "-o", "json"}, 0},
    {"catalog_boards", {"catalog", "boards"}, 0},
    {"catalog_types_p40", {"catalog", "types", "--board", "P40"}, 0},
    {"catalog_types_p40_q_json",
     {"catalog", "types", "--board", "Tesla P40", "--series", "Q", "-o", "json"},
     0},
    {"catalog_types_a100d_mig_yaml",
     {"catalog", "types", "--board", "A100D", "--mig", "-o", "yaml"},
     0},
    {"catalog_types_a16", {"catalog", "types", "--board", "A16", "--series", "B"}, 0},
    {"catalog_releases_15", {"catalog", "releases", "--branch", "15"}, 0},
    {"catalog_releases_16_json", {"catalog", "releases", "--branch", "16.x", "-o", "json"}, 0},
    {"catalog_cuda", {"catalog", "cuda"}, 0},
    {"catalog_editions", {"catalog", "editions"}, 0},
    {"compat_seed",
     {"compat", "--board", "P40", "--release", "15.2", "--host-driver", "525.105.14",
      "--guest-driver", "525.105.17", "--cuda", "12.1", "--profile", "P40-3Q", "--profile",
      "P40-8Q"},
     0},
    {"compat_seed_json",
     {"compat", "--board", "P40", "--host-driver", "525.105.14", "--guest-driver", "525.105.17",
      "--cuda", "12.1", "--profile", "P40-3Q", "--profile", "P40-8Q", "-o", "json"},
     0},
    {"compat_seed_yaml",
     {"compat", "--board", "P40", "--host-driver", "525.105.14", "--guest-driver", "525.105.17",
      "-o", "yaml"},
     0},
    {"compat_newer_guest_fails",
     {"compat", "--host-driver", "525.105.14", "--guest-driver", "535.104.06"},
     1},
    {"compat_p40_on_17_fails",
     {"compat", "--profile", "grid_p40-8q", "--host-driver", "550.54.10", "--cuda", "12.4"},
     1},
    {"compat_partial", {"compat", "--host-driver", "525.105.14"}, 0},
    {"compat_nothing", {"compat"}, 0},
    {"compat_license_fail",
     {"compat", "--profile", "GRID P40-8Q", "--license", "vApps", "--feature-type", "0"},
     1},
    {"compat_description",
     {"compat", "--board", "P40", "--profile",
      "num_heads=4, frl_config=60, framebuffer=8192M, max_resolution=7680x4320, max_instance=3"},
     0},
    {"compat_migration_kvm",
     {"compat", "migration", "--src-host-driver", "535.161.05", "--dst-host-driver", "535.183.04",
      "--guest-driver", "535.161.07", "--src-profile", "A40-8Q", "--dst-profile", "A40-8Q",
      "--src-ecc", "on", "--dst-ecc", "off"},
     1},
    {"compat_migration_vsphere",
     {"compat", "migration", "--hypervisor", "vsphere", "--hotmigrate", "false"},
     1},
    {"bad_driver", {"compat", "--host-driver", "r525"}, 2},
    {"bad_profile", {"compat", "--profile", "P40-9Q"}, 2},
    {"bad_board", {"catalog", "types", "--board", "P4O"}, 2},
    {"bad_series", {"catalog", "types", "--series", "X"}, 2},
    {"bad_output", {"catalog", "boards", "-o", "xml"}, 2},
    {"bad_flag", {"catalog", "boards", "--colour"}, 2},
    {"bad_today", {"compat", "--today", "2026-02-30", "--release", "16"}, 2},
    {"bad_hotmigrate", {"compat", "migration", "--hotmigrate", "true"}, 2},
    {"no_command", {}, 2},
    {"missing_catalog_file", {"--catalog", "/nowhere/catalog.json", "version"}, 2},
    {"broken_catalog_file", {"--catalog", "/cat/broken.json", "version"}, 2},
    {"catalog_from_directory", {"--catalog", "/cat/full", "version"}, 0},
    {"plan_help", {"plan", "--help"}, 0},
    {"plan_seed",
     {"plan", "--cluster", "examples/seed/cluster.yaml", "--demand", "examples/seed/demand.yaml"},
     0},
    {"plan_seed_json",
     {"plan", "--cluster", "examples/seed/cluster.yaml", "--demand", "examples/seed/demand.yaml",
      "-o", "json"},
     0},
    {"plan_seed_one_more_8q",
     {"plan", "--cluster", "examples/seed/cluster.yaml", "--demand", "/plan/one-more-8q.yaml"},
     1},
    {"plan_bad_board", {"plan", "--cluster", "/plan/bad-board.yaml"}, 2},
    {"plan_two_types_on_one_gpu", {"plan", "--cluster", "/plan/two-types.yaml"}, 2},
    {"plan_demand_typo",
     {"plan", "--cluster", "examples/seed/cluster.yaml", "--demand", "/plan/typo.yaml"},
     2},
    {"plan_malformed_yaml", {"plan", "--cluster", "/plan/malformed.yaml"}, 2},
    {"plan_missing_file", {"plan", "--cluster", "/nowhere/cluster.yaml"}, 2},
    {"plan_ha_seed_running", {"plan", "ha", "--cluster", "examples/seed/running.yaml"}, 1},
    {"plan_ha_seed_running_json",
     {"plan", "ha", "--cluster", "examples/seed/running.yaml", "-o", "json"},
     1},
    {"plan_ha_seed_empty", {"plan", "--cluster", "examples/seed/cluster.yaml", "ha"}, 0},
    {"plan_evacuate_stuck",
     {"plan", "evacuate", "--cluster", "examples/seed/running.yaml", "--host", "r730-1"},
     1},
    {"plan_evacuate_ok",
     {"plan", "evacuate", "--cluster", "/plan/half.yaml", "--host", "r730-1", "--stun-budget",
      "30"},
     0},
    {"plan_evacuate_unknown_host",
     {"plan", "evacuate", "--cluster", "examples/seed/running.yaml", "--host", "r730-4"},
     2},
    {"plan_evacuate_no_host", {"plan", "evacuate", "--cluster", "examples/seed/running.yaml"}, 2},
    {"plan_defrag_impossible",
     {"plan", "defrag", "--cluster", "examples/seed/running.yaml", "--type", "P40-8Q", "--count",
      "3"},
     1},
    {"plan_defrag_ok",
     {"plan", "defrag", "--cluster", "/plan/half.yaml", "--type", "grid_p40-24q"},
     0},
    {"plan_defrag_bad_type",
     {"plan", "defrag", "--cluster", "examples/seed/running.yaml", "--type", "P40-9Q"},
     2},
};

// The files the plan cases read: the shipped examples, and broken variants.
void AddPlanFiles(os::MemoryFileSystem& fs) {
  for (const char* name :
       {"examples/seed/cluster.yaml", "examples/seed/demand.yaml", "examples/seed/running.yaml"}) {
    std::ifstream in(StrCat(GPUFLEET_SOURCE_DIR, "/", name), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    fs.AddFile(name, text.str());
  }
  fs.AddFile("/plan/one-more-8q.yaml",
             "vms:\n"
             "  - {name: \"light-{n}\", type: P40-3Q, count: 12}\n"
             "  - {name: \"model-{n}\", type: P40-8Q, count: 4}\n");
  fs.AddFile("/plan/bad-board.yaml",
             "hosts:\n"
             "  - name: r730-1\n"
             "    gpus:\n"
             "      - {id: \"0000:82:00.0\", board: Tesla P-40}\n");
  fs.AddFile("/plan/two-types.yaml",
             "hosts:\n"
             "  - name: r730-1\n"
             "    gpus:\n"
             "      - board: P40\n"
             "        instances:\n"
             "          - {vm: light-1, type: P40-3Q}\n"
             "          - {vm: model-1, type: P40-8Q}\n"
             "vms:\n"
             "  - {name: light-1, type: P40-3Q}\n"
             "  - {name: model-1, type: P40-8Q}\n");
  fs.AddFile("/plan/typo.yaml",
             "vms:\n"
             "  - name: \"light-{n}\"\n"
             "    type: P40-3Q\n"
             "    cuont: 12\n");
  // Two P40s with one 8Q VM each: r730-1 can be emptied, and a 24Q fits after one move.
  fs.AddFile(
      "/plan/half.yaml",
      "hosts:\n"
      "  - {name: r730-1, vgpu_manager: 525.105.14, gpus: [{id: g0, board: P40, carved: P40-8Q,"
      " instances: [{vm: a}]}]}\n"
      "  - {name: r730-2, vgpu_manager: 525.105.14, gpus: [{id: g0, board: P40, carved: P40-8Q,"
      " instances: [{vm: b}]}]}\n"
      "vms:\n"
      "  - {name: a, type: P40-8Q, guest_driver: 525.105.17}\n"
      "  - {name: b, type: P40-8Q, guest_driver: 525.105.17}\n");
  fs.AddFile("/plan/malformed.yaml",
             "hosts:\n"
             "  - name: r730-1\n"
             "    gpus: [{board: P40}\n"
             "  - name: r730-2\n");
}

std::string GoldenPath(const std::string& name) {
  return StrCat(GPUFLEET_SOURCE_DIR, "/tests/testdata/golden/", name, ".txt");
}

class GoldenTest : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenTest, MatchesGoldenFile) {
  const Case& c = GetParam();
  os::MemoryFileSystem fs;
  fs.AddFile("/cat/broken.json", "{\"schema_version\": 1, \"boards\": [ {\"name\": 3} ]}");
  for (const core::CatalogDocument& d : core::Catalog::EmbeddedDocuments()) {
    fs.AddFile(StrCat("/cat/full/", d.name), d.text);
  }
  AddPlanFiles(fs);
  os::FakeClock clock(absl::FromCivil(absl::CivilDay(2026, 11, 28), absl::UTCTimeZone()));
  std::vector<const char*> argv = {"gpufleet"};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  std::ostringstream out, err;
  int code = RunCli(static_cast<int>(argv.size()), argv.data(), Environment{&fs, &clock}, out, err);
  EXPECT_EQ(code, c.exit_code) << err.str();
  const std::string actual =
      StrCat("exit: ", code, "\n--- stdout\n", out.str(), "--- stderr\n", err.str());
  const std::string path = GoldenPath(c.name);
  if (std::getenv("GPUFLEET_REGENERATE_GOLDEN") != nullptr) {
    std::ofstream(path, std::ios::binary) << actual;
    GTEST_SKIP() << "regenerated " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << "; run with GPUFLEET_REGENERATE_GOLDEN=1";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str())
      << "golden file " << path << " differs; if intended, regenerate and review the diff";
}

INSTANTIATE_TEST_SUITE_P(Cli, GoldenTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace gpufleet::cli
