// The state file of the simulated hosts (sim_persist.h): a second cluster built from the same
// scenario and file sees what the first left; a bad file is refused naming the field; a failed
// write fails the call that changed the state.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "backends/sim/sim_persist.h"
#include "backends/sim/sim_testing.h"
#include "common/json.h"
#include "gmock/gmock.h"

namespace gpufleet::backends::sim {
namespace {

using ::testing::HasSubstr;
using testing::kGpu;
using ::testing::SizeIs;
using testing::U;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class PersistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::string(::testing::TempDir()) + "/sim_persist_" + std::to_string(::getpid()) + "_" +
           info->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/sim-state.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<SimCluster>> Open(const Scenario& scenario) {
    SimOptions options;
    options.sleep = [this](absl::Duration d) { clock_.Advance(d); };
    options.state_file = path_;
    options.write_file = [this](const std::string& path, std::string_view text) {
      if (!write_error_.ok()) return write_error_;
      ++writes_;
      std::ofstream(path) << text;
      return absl::OkStatus();
    };
    return SimCluster::Create(scenario, clock_, std::move(options));
  }
  std::unique_ptr<SimCluster> MustOpen(const Scenario& scenario) {
    absl::StatusOr<std::unique_ptr<SimCluster>> c = Open(scenario);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? std::move(*c) : nullptr;
  }
  static Scenario Seed() { return testing::Example("examples/seed/scenario.yaml"); }
  static absl::Status Create(SimCluster& c, std::string_view host, int uuid, std::string type,
                             int placement = -1) {
    return std::move(c.NewVgpuHost(host))
        .value()
        ->CreateInstance(VgpuInstance{U(uuid), kGpu, std::move(type), placement, "", false});
  }
  static std::vector<VgpuInstance> Instances(SimCluster& c, std::string_view host) {
    return std::move(c.NewVgpuHost(host)).value()->ListInstances().value();
  }

  os::FakeClock clock_{testing::T0()};
  std::string dir_;
  std::string path_;
  absl::Status write_error_;
  int writes_ = 0;
};

TEST_F(PersistTest, FirstStartWritesTheScenariosState) {
  std::unique_ptr<SimCluster> c = MustOpen(Seed());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(writes_, 1);
  absl::StatusOr<nlohmann::json> j = ParseJson(ReadAll(path_), path_);
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["version"], 1);
  ASSERT_EQ((*j)["hosts"].size(), 3u);
  EXPECT_EQ((*j)["hosts"][0]["gpus"][0]["mode"], "unconfigured");
}

TEST_F(PersistTest, EveryChangeIsWrittenAndAReloadSeesIt) {
  std::unique_ptr<SimCluster> c = MustOpen(Seed());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Create(*c, "r730-1", 1, "P40-8Q").ok());
  ASSERT_TRUE(Create(*c, "r730-1", 2, "P40-8Q").ok());
  ASSERT_TRUE(Create(*c, "r730-2", 3, "P40-4Q").ok());
  EXPECT_EQ(writes_, 4);
  // Teardown in progress (3 s): still there after a reload, gone once the clock passes it.
  EXPECT_TRUE(absl::IsUnavailable(c->NewVgpuHost("r730-1").value()->RemoveInstance(U(2))));
  ASSERT_TRUE(c->NewHypervisor("r730-1").value()->StartVm("vm-1", {U(1)}).ok());
  const std::string text = ReadAll(path_);

  std::unique_ptr<SimCluster> again = MustOpen(Seed());
  ASSERT_NE(again, nullptr);
  for (const char* host : {"r730-1", "r730-2", "r730-3"}) {
    EXPECT_EQ(Instances(*again, host), Instances(*c, host)) << host;
    EXPECT_EQ(again->NewVgpuHost(host).value()->Facts().value(),
              c->NewVgpuHost(host).value()->Facts().value());
  }
  EXPECT_EQ(ReadAll(path_), text);  // the reload wrote back what it read
  absl::StatusOr<std::vector<GuestVm>> vms = again->NewHypervisor("r730-1").value()->ListVms();
  ASSERT_TRUE(vms.ok()) << vms.status();
  ASSERT_THAT(*vms, SizeIs(1));
  EXPECT_TRUE((*vms)[0].running);
  EXPECT_EQ((*vms)[0].vgpus, std::vector<Uuid>{U(1)});
  EXPECT_THAT(Instances(*again, "r730-1"), SizeIs(2));
  clock_.Advance(absl::Seconds(3));
  EXPECT_THAT(Instances(*again, "r730-1"), SizeIs(1));
}

TEST_F(PersistTest, MixedSizeMigAndRunningVmsSurviveAReload) {
  const Scenario mixed = testing::Example("examples/mixed-kvm/scenario.yaml");
  std::unique_ptr<SimCluster> c = MustOpen(mixed);
  ASSERT_NE(c, nullptr);
  std::unique_ptr<VgpuHost> a100 = c->NewVgpuHost("kvm-a100").value();
  ASSERT_TRUE(
      a100->CreateInstance(VgpuInstance{U(9), "0000:17:00.0", "A100-1-5C", 5, "", false}).ok());
  ASSERT_TRUE(c->NewHypervisor("kvm-l40s").value()->StopVm("cad-2").ok());

  std::unique_ptr<SimCluster> again = MustOpen(mixed);
  ASSERT_NE(again, nullptr);
  for (const std::string& host : c->HostNames()) {
    EXPECT_EQ(Instances(*again, host), Instances(*c, host)) << host;
    EXPECT_EQ(again->NewHypervisor(host).value()->ListVms().value().size(),
              c->NewHypervisor(host).value()->ListVms().value().size());
  }
  const std::vector<GuestVm> l40s = again->NewHypervisor("kvm-l40s").value()->ListVms().value();
  for (const GuestVm& vm : l40s) {
    EXPECT_EQ(vm.running, vm.name == "cad-1") << vm.name;
  }
}

// Writes a valid file, lets `mutate` spoil one field, and expects the load to name it.
class MalformedTest : public PersistTest {
 protected:
  void ExpectRefused(const std::function<void(nlohmann::json&)>& mutate, std::string_view field,
                     std::string_view why = "") {
    std::filesystem::remove(path_);
    {
      std::unique_ptr<SimCluster> c = MustOpen(Seed());
      ASSERT_NE(c, nullptr);
      ASSERT_TRUE(Create(*c, "r730-1", 1, "P40-8Q").ok());
      ASSERT_TRUE(Create(*c, "r730-1", 2, "P40-8Q").ok());
    }
    nlohmann::json j = ParseJson(ReadAll(path_), path_).value();
    mutate(j);
    const std::string text = j.dump();
    std::ofstream(path_) << text;
    absl::StatusOr<std::unique_ptr<SimCluster>> c = Open(Seed());
    ASSERT_FALSE(c.ok()) << "accepted: " << text;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), HasSubstr(path_ + ": " + std::string(field)));
    EXPECT_THAT(c.status().message(), HasSubstr(std::string(why)));
    EXPECT_EQ(ReadAll(path_), text);  // never replaced
  }
  static nlohmann::json& Gpu(nlohmann::json& j) { return j["hosts"][0]["gpus"][0]; }
  static nlohmann::json& Instance(nlohmann::json& j) { return Gpu(j)["instances"][0]; }
};

TEST_F(MalformedTest, Version) {
  ExpectRefused([](auto& j) { j["version"] = 2; }, "version", "reads version 1");
  ExpectRefused([](auto& j) { j.erase("version"); }, "version", "required");
}
TEST_F(MalformedTest, Hosts) {
  ExpectRefused([](auto& j) { j["hosts"] = "r730-1"; }, "hosts", "expected a list");
  ExpectRefused([](auto& j) { j["hosts"].erase(std::size_t{2}); }, "hosts", "2 hosts");
  ExpectRefused([](auto& j) { j["hosts"][0]["name"] = "r730-9"; }, "hosts[0].name", "r730-1");
  ExpectRefused([](auto& j) { j["extra"] = 1; }, "extra", "unknown field");
}
TEST_F(MalformedTest, GpuIdBoardModeCarved) {
  ExpectRefused([](auto& j) { Gpu(j)["id"] = "0000:83:00.0"; }, "hosts[0].gpus[0].id");
  ExpectRefused([](auto& j) { Gpu(j)["board"] = "T4"; }, "hosts[0].gpus[0].board", "P40");
  ExpectRefused([](auto& j) { Gpu(j)["mode"] = "sliced"; }, "hosts[0].gpus[0].mode", "unknown");
  ExpectRefused([](auto& j) { Gpu(j)["mode"] = "mig"; }, "hosts[0].gpus[0].mode", "never");
  ExpectRefused([](auto& j) { Gpu(j)["mode"] = "unconfigured"; }, "hosts[0].gpus[0].mode");
  ExpectRefused([](auto& j) { Gpu(j)["carved"] = "P40-9Q"; }, "hosts[0].gpus[0].carved",
                "unknown vGPU type");
  ExpectRefused([](auto& j) { Gpu(j)["carved"] = "T4-8Q"; }, "hosts[0].gpus[0].carved",
                "not a type of");
  ExpectRefused([](auto& j) { Gpu(j)["carved"] = nullptr; }, "hosts[0].gpus[0].carved");
  ExpectRefused([](auto& j) { Gpu(j)["instances"] = 3; }, "hosts[0].gpus[0].instances");
}
TEST_F(MalformedTest, InstanceFields) {
  const std::string at = "hosts[0].gpus[0].instances[0].";
  ExpectRefused([](auto& j) { Instance(j)["uuid"] = "x"; }, at + "uuid", "not a UUID");
  ExpectRefused([](auto& j) { Gpu(j)["instances"][1]["uuid"] = Instance(j)["uuid"]; },
                "hosts[0].gpus[0].instances[1].uuid", "duplicate");
  ExpectRefused([](auto& j) { Instance(j)["type"] = "P40-99Q"; }, at + "type", "unknown");
  ExpectRefused([](auto& j) { Instance(j)["type"] = "T4-8Q"; }, at + "type", "not a type of");
  ExpectRefused([](auto& j) { Instance(j)["type"] = "P40-4Q"; }, at + "type", "carved for");
  ExpectRefused([](auto& j) { Instance(j)["placement"] = 3; }, at + "placement");
  ExpectRefused([](auto& j) { Instance(j)["placement"] = "-1"; }, at + "placement");
  ExpectRefused([](auto& j) { Instance(j)["vm"] = 7; }, at + "vm");
  ExpectRefused([](auto& j) { Instance(j)["active"] = "yes"; }, at + "active");
  ExpectRefused([](auto& j) { Instance(j)["active"] = true; }, at + "active", "no vm");
  ExpectRefused([](auto& j) { Instance(j)["teardown_until"] = "soon"; }, at + "teardown_until");
  ExpectRefused([](auto& j) { Instance(j)["colour"] = "red"; }, at + "colour", "unknown field");
  ExpectRefused([](auto& j) { Instance(j).erase("type"); }, at + "type", "required");
}
TEST_F(MalformedTest, MoreInstancesThanTheGpuHolds) {
  ExpectRefused(
      [](auto& j) {
        auto& list = Gpu(j)["instances"];
        for (int n = 3; n <= 4; ++n) {
          nlohmann::json extra = list[0];
          extra["uuid"] = U(n).ToString();
          list.push_back(extra);
        }
      },
      "hosts[0].gpus[0].instances[3].placement", "3 of 3 instances exist");
}

TEST_F(PersistTest, NotJsonIsRefusedNamingTheFile) {
  std::ofstream(path_) << "{\"version\": 1,";
  absl::StatusOr<std::unique_ptr<SimCluster>> c = Open(Seed());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(path_ + ": invalid JSON"));
}

TEST_F(PersistTest, AFileOfAnotherScenarioIsRefused) {
  ASSERT_NE(MustOpen(Seed()), nullptr);
  Scenario other = Seed();
  other.hosts[1].name = "r640-2";
  absl::StatusOr<std::unique_ptr<SimCluster>> c = Open(other);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("hosts[1].name: \"r730-2\", but the scenario's"));
  other = Seed();
  other.hosts[2].gpus[0].board = testing::Board("T4");
  c = Open(other);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("hosts[2].gpus[0].board: \"P40\""));
  other = Seed();
  other.hosts.pop_back();
  c = Open(other);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("hosts: 3 hosts, but the scenario has 2"));
}

TEST_F(PersistTest, AFailedWriteFailsTheCallAndChangesNothing) {
  std::unique_ptr<SimCluster> c = MustOpen(Seed());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(Create(*c, "r730-1", 1, "P40-8Q").ok());
  write_error_ = absl::InternalError("disk full");
  absl::Status s = Create(*c, "r730-1", 2, "P40-8Q");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr(path_));
  EXPECT_THAT(s.message(), HasSubstr("disk full"));
  EXPECT_THAT(Instances(*c, "r730-1"), SizeIs(1));
  s = c->NewVgpuHost("r730-1").value()->RemoveInstance(U(1));
  EXPECT_THAT(s.message(), HasSubstr("disk full"));
  s = c->NewVgpuHost("r730-1").value()->RemoveInstance(U(1));
  EXPECT_THAT(s.message(), HasSubstr("disk full"));  // not "tearing down": nothing happened
  EXPECT_THAT(c->NewHypervisor("r730-1").value()->StartVm("vm-1", {U(1)}).message(),
              HasSubstr("disk full"));

  write_error_ = absl::OkStatus();
  ASSERT_TRUE(Create(*c, "r730-1", 2, "P40-8Q").ok());
  std::unique_ptr<SimCluster> again = MustOpen(Seed());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Instances(*again, "r730-1"), Instances(*c, "r730-1"));
  EXPECT_THAT(Instances(*again, "r730-1"), SizeIs(2));
}

TEST_F(PersistTest, AnUnwritableStateFileStopsTheStart) {
  write_error_ = absl::InternalError("read-only file system");
  absl::StatusOr<std::unique_ptr<SimCluster>> c = Open(Seed());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("read-only file system"));
}

TEST_F(PersistTest, TheRealWriterReplacesTheFileDurably) {
  SimOptions options;
  options.state_file = path_;
  std::unique_ptr<SimCluster> c = SimCluster::Create(Seed(), clock_, options).value();
  ASSERT_TRUE(Create(*c, "r730-3", 5, "P40-12Q").ok());
  EXPECT_THAT(ReadAll(path_), HasSubstr("P40-12Q"));
  options.state_file = dir_ + "/no-such-dir/state.json";
  EXPECT_FALSE(SimCluster::Create(Seed(), clock_, options).ok());
}

}  // namespace
}  // namespace gpufleet::backends::sim
