#ifndef GPUFLEET_BACKENDS_SIM_SIM_TESTING_H_
#define GPUFLEET_BACKENDS_SIM_SIM_TESTING_H_

// Test helpers for the simulator's tests: scenarios, a cluster on a FakeClock, UUIDs.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "backends/sim/scenario_yaml.h"
#include "backends/sim/sim_cluster.h"
#include "core/catalog.h"
#include "gtest/gtest.h"
#include "os/clock.h"

namespace gpufleet::backends::sim::testing {

inline absl::Time T0() { return absl::FromUnixSeconds(1'700'000'000); }

inline const core::VgpuType* Type(std::string_view name) {
  return core::Catalog::Embedded().FindTypeByName(name);
}
inline const core::Board* Board(std::string_view name) {
  return core::Catalog::Embedded().FindBoard(name);
}

inline Uuid U(int n) {
  std::array<uint8_t, 16> bytes{};
  bytes[15] = static_cast<uint8_t>(n);
  bytes[0] = 0xc0;
  return Uuid(bytes);
}

inline std::string ReadSource(std::string_view relative) {
  std::ifstream in(std::string(GPUFLEET_SOURCE_DIR) + "/" + std::string(relative));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline Scenario Example(std::string_view relative) {
  absl::StatusOr<Scenario> s =
      ParseScenarioYaml(ReadSource(relative), relative, core::Catalog::Embedded());
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Scenario{};
}

inline HostSpec Host(std::string name, std::string board = "P40", bool ecc = false) {
  HostSpec h;
  h.name = std::move(name);
  h.vgpu_manager = "525.105.14";
  GpuSpec gpu;
  gpu.id = "0000:82:00.0";
  gpu.board = Board(board);
  gpu.ecc = ecc;
  h.gpus.push_back(gpu);
  return h;
}

inline VmSpec Vm(std::string name, std::string host, std::string_view type, bool running = true) {
  VmSpec vm;
  vm.name = std::move(name);
  vm.host = std::move(host);
  vm.type = Type(type);
  vm.gpu = "0000:82:00.0";
  vm.running = running;
  return vm;
}

// A cluster on a FakeClock whose sysfs delays advance the clock.
class SimTest : public ::testing::Test {
 protected:
  void Build(const Scenario& scenario) {
    SimOptions options;
    options.sleep = [this](absl::Duration d) { clock_.Advance(d); };
    absl::StatusOr<std::unique_ptr<SimCluster>> c =
        SimCluster::Create(scenario, clock_, std::move(options));
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
  }
  std::unique_ptr<VgpuHost> VgpuHostOf(std::string_view host) {
    return std::move(cluster_->NewVgpuHost(host)).value();
  }
  std::unique_ptr<Hypervisor> HypervisorOf(std::string_view host) {
    return std::move(cluster_->NewHypervisor(host)).value();
  }

  os::FakeClock clock_{T0()};
  std::unique_ptr<SimCluster> cluster_;
};

inline constexpr char kGpu[] = "0000:82:00.0";

}  // namespace gpufleet::backends::sim::testing

#endif  // GPUFLEET_BACKENDS_SIM_SIM_TESTING_H_
