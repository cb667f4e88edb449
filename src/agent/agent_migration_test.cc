// Live migration by the agents over the real simulator: the destination's agent creates the
// VM's vGPU, the source's agent migrates the running VM onto it through the hypervisor and
// reports the stun time; an agent that does not migrate live reports the departure refused and
// stops the VM, so that it moves cold.

#include <filesystem>

#include "agent/agent.h"
#include "agent/testing.h"
#include "agent/wire.h"
#include "backends/sim/sim_cluster.h"
#include "common/strings.h"
#include "core/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/planner.h"

namespace gpufleet::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kGpu[] = "0000:82:00.0";

backends::sim::HostSpec P40Host(std::string name) {
  backends::sim::HostSpec host;
  host.name = std::move(name);
  host.vgpu_manager = "525.105.14";
  backends::sim::GpuSpec gpu;
  gpu.id = kGpu;
  gpu.board = core::Catalog::Embedded().FindBoard("P40");
  host.gpus.push_back(gpu);
  return host;
}

class AgentMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backends::sim::Scenario s;
    s.hosts = {P40Host("h1"), P40Host("h2")};
    backends::sim::VmSpec vm;
    vm.name = "ws";
    vm.host = "h1";
    vm.type = core::Catalog::Embedded().FindTypeByName("P40-8Q");
    vm.gpu = kGpu;
    s.vms.push_back(vm);
    backends::sim::SimOptions options;
    options.sleep = [this](absl::Duration d) { clock_.Advance(d); };
    auto cluster = backends::sim::SimCluster::Create(s, clock_, options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    uuid_ = backends::sim::DerivedUuid("ws");
    for (const char* h : {"h1", "h2"}) {
      vgpu_.push_back(*cluster_->NewVgpuHost(h));
      hypervisor_.push_back(*cluster_->NewHypervisor(h));
    }
    dir_ = StrCat(::testing::TempDir(), "/agent_migration_", ::getpid());
    std::filesystem::remove_all(dir_);
    // The controller moved ws to h2: h2 wants its vGPU, h1 is to migrate it there.
    dest_.desired = {.generation = "g1",
                     .instances = {{.uuid = uuid_, .vm = "ws", .gpu = kGpu, .type = "P40-8Q"}}};
    source_.desired = {.generation = "g0",
                       .instances = {{.uuid = uuid_, .vm = "ws", .gpu = kGpu, .type = "P40-8Q"}}};
  }
  // h1's agent, converged on ws running there; then the controller's next document tells it to
  // migrate ws to h2 (the destination has reported its copy).
  std::unique_ptr<Agent> SourceAgent(bool live, bool ready = true) {
    std::unique_ptr<Agent> agent = MakeAgent(0, source_, live);
    agent->Tick();
    EXPECT_THAT(VmsOn(0), SizeIs(1));
    source_.desired = {.generation = "g1",
                       .departures = {{.vm = "ws", .to = "h2", .ready = ready}}};
    clock_.Advance(absl::Seconds(11));  // the next heartbeat fetches it
    agent->Tick();
    return agent;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // h2's agent creates ws's vGPU, h1's agent runs ws; then h1's state file as its agent leaves
  // it when it dies right after writing its intent to migrate ws to h2 (the controller lists
  // the departure, ready).
  void LeaveAMigrationIntent() {
    MakeAgent(1, dest_, true)->Tick();
    MakeAgent(0, source_, true)->Tick();
    source_.desired = {.generation = "g1", .departures = {{.vm = "ws", .to = "h2"}}};
    absl::StatusOr<std::optional<AgentState>> saved = state_.back()->Load();
    ASSERT_TRUE(saved.ok() && saved->has_value());
    AgentState s = **saved;
    s.desired = source_.desired;
    s.migrating = Departure{.vm = "ws", .to = "h2"};
    ASSERT_TRUE(state_.back()->Save(s).ok());
    state_.clear();
  }

  std::unique_ptr<Agent> MakeAgent(int i, testing::FakeController& controller, bool live,
                                   std::vector<std::string>* log = nullptr) {
    const std::string host = StrCat("h", i + 1);
    state_.push_back(std::make_unique<StateFile>(*fs_, StrCat(dir_, "/", host)));
    AgentOptions options{
        .host = host, .enrolment_token = "gfe_token", .manage_vms = true, .live_migration = live};
    if (log != nullptr) options.log = [log](std::string_view line) { log->emplace_back(line); };
    auto agent = std::make_unique<Agent>(
        options,
        AgentBackends{.vgpu = vgpu_[static_cast<std::size_t>(i)].get(),
                      .hypervisor = hypervisor_[static_cast<std::size_t>(i)].get()},
        controller, clock_, *state_.back());
    EXPECT_TRUE(agent->Start().ok());
    return agent;
  }
  std::vector<backends::GuestVm> VmsOn(int i) {
    return *hypervisor_[static_cast<std::size_t>(i)]->ListVms();
  }

  os::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<os::FileSystem> fs_ = os::NewPosixFileSystem("/");
  std::unique_ptr<backends::sim::SimCluster> cluster_;
  std::vector<std::unique_ptr<backends::VgpuHost>> vgpu_;
  std::vector<std::unique_ptr<backends::Hypervisor>> hypervisor_;
  std::vector<std::unique_ptr<StateFile>> state_;
  std::string dir_;
  Uuid uuid_;
  testing::FakeController source_, dest_;
};

TEST_F(AgentMigrationTest, TheSourceMigratesOntoTheDestinationsDeviceAndReportsTheStun) {
  std::unique_ptr<Agent> dest = MakeAgent(1, dest_, true);
  dest->Tick();  // creates the vGPU on h2; cannot start ws there while it runs on h1
  ASSERT_THAT(*vgpu_[1]->ListInstances(), SizeIs(1));
  EXPECT_FALSE((*vgpu_[1]->ListInstances())[0].active);

  std::unique_ptr<Agent> source = SourceAgent(true);
  ASSERT_THAT(source_.migrations, SizeIs(1));
  const MigrationResult& m = source_.migrations[0];
  EXPECT_EQ(m.vm, "ws");
  EXPECT_EQ(m.to, "h2");
  ASSERT_TRUE(m.stun.has_value()) << m.error;
  EXPECT_EQ(*m.stun, absl::Seconds(planner::EstimateStunSeconds(8192, 10)));
  // The VM runs on h2 on the device h2's agent made; nothing is left on h1.
  EXPECT_THAT(*vgpu_[0]->ListInstances(), IsEmpty());
  EXPECT_THAT(VmsOn(0), IsEmpty());
  ASSERT_THAT(VmsOn(1), SizeIs(1));
  EXPECT_TRUE(VmsOn(1)[0].running);
  std::vector<backends::VgpuInstance> there = *vgpu_[1]->ListInstances();
  ASSERT_THAT(there, SizeIs(1));
  EXPECT_EQ(there[0].uuid, uuid_);
  EXPECT_TRUE(there[0].active);
  // The reports carry what each GPU's driver can still create: h2's P40 holds one 8Q of 3.
  ASSERT_THAT(dest_.creatable, SizeIs(1));
  EXPECT_EQ(dest_.creatable[0].gpu, kGpu);
  EXPECT_THAT(dest_.creatable[0].types,
              ::testing::ElementsAre(backends::CreatableType{.type = "P40-8Q", .available = 2}));
  // Reported once: the departure is still listed until the controller drops it.
  clock_.Advance(absl::Seconds(61));
  source->Tick();
  EXPECT_THAT(source_.migrations, SizeIs(1));
}

// An agent restarted after migrating but before its report got through neither migrates the
// VM again nor calls it "not running here": the result waits in the state file.
TEST_F(AgentMigrationTest, ARestartedAgentStillReportsTheStunItMeasured) {
  std::unique_ptr<Agent> dest = MakeAgent(1, dest_, true);
  dest->Tick();
  std::unique_ptr<Agent> source = MakeAgent(0, source_, true);
  source->Tick();
  source_.desired = {.generation = "g1", .departures = {{.vm = "ws", .to = "h2"}}};
  clock_.Advance(absl::Seconds(11));
  // The document arrives, but the report after the migration does not get through.
  ASSERT_THAT(VmsOn(0), SizeIs(1));
  source_.fail_put_instances = true;
  source->Tick();
  EXPECT_THAT(VmsOn(0), IsEmpty());  // migrated
  EXPECT_THAT(source_.migrations, IsEmpty());
  source.reset();  // the agent dies

  source_.fail_put_instances = false;
  state_.clear();
  source = MakeAgent(0, source_, true);
  clock_.Advance(absl::Seconds(11));
  source->Tick();
  ASSERT_THAT(source_.migrations, SizeIs(1));
  ASSERT_TRUE(source_.migrations[0].stun.has_value()) << source_.migrations[0].error;
  EXPECT_EQ(*source_.migrations[0].stun, absl::Seconds(planner::EstimateStunSeconds(8192, 10)));
  // Reported once; then the controller stops listing the departure and the file forgets it.
  clock_.Advance(absl::Seconds(61));
  source->Tick();
  EXPECT_THAT(source_.migrations, SizeIs(1));
  source_.desired = {.generation = "g2"};
  clock_.Advance(absl::Seconds(11));
  source->Tick();
  EXPECT_TRUE(source->state().departed.empty());
  EXPECT_TRUE(source->state().unreported.empty());
}

// An agent killed during a migration finds its intent in the state file on restart: the VM
// gone from the host means it migrated (reported with its pause unmeasured, not "not running
// here"); still there means it did not, and the agent migrates it now.
TEST_F(AgentMigrationTest, AnAgentKilledDuringAMigrationThatWentThroughReportsIt) {
  LeaveAMigrationIntent();
  ASSERT_TRUE(hypervisor_[0]->MigrateVm("ws", "h2").ok());  // it went through, unseen
  std::vector<std::string> log;
  std::unique_ptr<Agent> source = MakeAgent(0, source_, true, &log);
  source->Tick();
  ASSERT_THAT(source_.migrations, SizeIs(1));
  const MigrationResult& m = source_.migrations[0];
  EXPECT_EQ(m.to, "h2");
  EXPECT_TRUE(m.unmeasured);
  EXPECT_FALSE(m.stun.has_value());
  EXPECT_TRUE(m.error.empty()) << m.error;
  EXPECT_THAT(log, ::testing::Contains(HasSubstr("pause not measured")));
  EXPECT_FALSE(source->state().migrating.has_value());
  EXPECT_THAT(VmsOn(0), IsEmpty());
  EXPECT_THAT(VmsOn(1), SizeIs(1));
}

TEST_F(AgentMigrationTest, AnAgentKilledBeforeItsMigrationHappenedMigratesOnRestart) {
  LeaveAMigrationIntent();
  std::unique_ptr<Agent> source = MakeAgent(0, source_, true);
  source->Tick();
  ASSERT_THAT(source_.migrations, SizeIs(1));
  EXPECT_FALSE(source_.migrations[0].unmeasured);
  ASSERT_TRUE(source_.migrations[0].stun.has_value()) << source_.migrations[0].error;
  EXPECT_FALSE(source->state().migrating.has_value());
  EXPECT_THAT(VmsOn(0), IsEmpty());
  EXPECT_THAT(VmsOn(1), SizeIs(1));
}

// Before the destination has the vGPU, the VM keeps running where it is: not stopped as
// unwanted, not migrated yet.
TEST_F(AgentMigrationTest, ADepartureNotReadyKeepsTheVmRunning) {
  std::unique_ptr<Agent> source = SourceAgent(true, /*ready=*/false);
  clock_.Advance(absl::Seconds(61));
  source->Tick();
  EXPECT_THAT(source_.migrations, IsEmpty());
  ASSERT_THAT(VmsOn(0), SizeIs(1));
  EXPECT_TRUE(VmsOn(0)[0].running);
}

TEST_F(AgentMigrationTest, AnAgentThatDoesNotMigrateLiveReportsItAndStopsTheVm) {
  std::unique_ptr<Agent> dest = MakeAgent(1, dest_, true);
  dest->Tick();
  std::unique_ptr<Agent> source = SourceAgent(/*live=*/false);
  ASSERT_THAT(source_.migrations, SizeIs(1));
  EXPECT_FALSE(source_.migrations[0].stun.has_value());
  EXPECT_THAT(source_.migrations[0].error, HasSubstr("does not migrate VMs live"));
  // Cold: h1 stops ws, and h2's agent starts it on its own device.
  ASSERT_THAT(VmsOn(0), SizeIs(1));
  EXPECT_FALSE(VmsOn(0)[0].running);
  clock_.Advance(absl::Seconds(61));
  dest->Tick();
  ASSERT_THAT(VmsOn(1), SizeIs(1));
  EXPECT_TRUE(VmsOn(1)[0].running);
}

TEST_F(AgentMigrationTest, ARefusedMigrationIsReportedWithTheHypervisorsReason) {
  // h2's device is of another type: the hypervisor refuses, the VM moves cold.
  dest_.desired.instances[0].type = "P40-4Q";
  std::unique_ptr<Agent> dest = MakeAgent(1, dest_, true);
  dest->Tick();
  std::unique_ptr<Agent> source = SourceAgent(true);
  ASSERT_THAT(source_.migrations, SizeIs(1));
  EXPECT_THAT(source_.migrations[0].error, HasSubstr("is a P40-4Q, not the P40-8Q"));
  ASSERT_THAT(VmsOn(0), SizeIs(1));
  EXPECT_FALSE(VmsOn(0)[0].running);
}

// A hypervisor's message goes up as the controller accepts it: no control characters, at most
// 1,024 bytes, not cut inside a UTF-8 character.
TEST(MigrationWireTest, ErrorsAreMadeReportable) {
  std::string long_text(1023, 'x');
  long_text += "\xc3\xa9tail";  // an e-acute straddling the limit
  const nlohmann::json body =
      ObservedJson({}, {{.vm = "a", .to = "b", .error = "line one\nline two"},
                        {.vm = "c", .to = "b", .error = long_text},
                        {.vm = "d", .to = "b", .stun = absl::Milliseconds(2500)},
                        {.vm = "e", .to = "b", .error = ""}});
  EXPECT_EQ(body["migrations"][0]["error"], "line one line two");
  EXPECT_EQ(body["migrations"][1]["error"].get<std::string>(), std::string(1023, 'x'));
  EXPECT_EQ(body["migrations"][2]["stun_ms"], 2500);
  // The controller refuses an empty error, and a refused result would go up again with every
  // report: a failure without a message still says it failed.
  EXPECT_EQ(body["migrations"][3]["error"], "the migration failed (no message)");
  EXPECT_NO_THROW((void)body.dump());
}

// A VM the controller holds (it may still run on another host) is not started, even where the
// hypervisor would allow it; once the hold is lifted, it starts.
TEST_F(AgentMigrationTest, AHeldVmStartsOnlyOnceTheControllerLiftsTheHold) {
  ASSERT_TRUE(hypervisor_[0]->StopVm("ws").ok());  // nothing would refuse a start on h2 now
  dest_.desired.holds = {{.vm = "ws", .reason = "still on h1"}};
  std::vector<std::string> log;
  std::unique_ptr<Agent> dest = MakeAgent(1, dest_, true, &log);
  dest->Tick();
  ASSERT_THAT(*vgpu_[1]->ListInstances(), SizeIs(1));  // its vGPU is made, ready
  EXPECT_THAT(VmsOn(1), IsEmpty());
  EXPECT_THAT(log, ::testing::Contains(HasSubstr("not starting vm ws yet: still on h1")));
  clock_.Advance(absl::Seconds(61));  // a resync changes nothing
  dest->Tick();
  EXPECT_THAT(VmsOn(1), IsEmpty());

  dest_.desired.generation = "g2";
  dest_.desired.holds.clear();
  clock_.Advance(absl::Seconds(11));  // the next heartbeat fetches the document without it
  dest->Tick();
  ASSERT_THAT(VmsOn(1), SizeIs(1));
  EXPECT_TRUE(VmsOn(1)[0].running);
}

}  // namespace
}  // namespace gpufleet::agent
