// The agent against the real simulator (not a fake): random desired states, 20% of backend
// writes failing, and the agent killed at a random backend call and restarted from its state
// file. Every run must converge within 3 resync periods with no orphan and no duplicate.

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "agent/agent.h"
#include "agent/testing.h"
#include "backends/sim/sim_cluster.h"
#include "common/strings.h"
#include "core/catalog.h"
#include "gtest/gtest.h"

namespace gpufleet::agent {
namespace {

// Forwards to the simulated host until `crash_at` writes have been made, then behaves like a
// killed process: the write in flight may or may not have taken effect, and nothing answers.
class KillableHost final : public backends::VgpuHost {
 public:
  KillableHost(backends::VgpuHost& inner, int crash_at, bool last_write_lands)
      : inner_(inner), crash_at_(crash_at), last_write_lands_(last_write_lands) {}
  bool killed() const { return killed_; }

  absl::StatusOr<backends::HostFacts> Facts() override {
    if (killed_) return Dead();
    return inner_.Facts();
  }
  absl::StatusOr<std::vector<backends::VgpuInstance>> ListInstances() override {
    if (killed_) return Dead();
    return inner_.ListInstances();
  }
  absl::StatusOr<std::vector<backends::CreatableType>> Creatable(const std::string& g) override {
    if (killed_) return Dead();
    return inner_.Creatable(g);
  }
  absl::Status CreateInstance(const backends::VgpuInstance& i) override {
    return Write([&] { return inner_.CreateInstance(i); });
  }
  absl::Status RemoveInstance(const Uuid& uuid) override {
    return Write([&] { return inner_.RemoveInstance(uuid); });
  }

 private:
  static absl::Status Dead() { return absl::UnavailableError("agent killed"); }
  template <typename F>
  absl::Status Write(F&& write) {
    if (killed_) return Dead();
    if (++writes_ < crash_at_) return write();
    killed_ = true;
    if (last_write_lands_) (void)write();
    return Dead();
  }

  backends::VgpuHost& inner_;
  int crash_at_;
  bool last_write_lands_;
  int writes_ = 0;
  bool killed_ = false;
};

backends::sim::Scenario TwoP40s(uint64_t seed) {
  backends::sim::HostSpec host;
  host.name = "h1";
  host.vgpu_manager = "525.105.14";
  for (std::string id : {"0000:82:00.0", "0000:83:00.0"}) {
    backends::sim::GpuSpec gpu;
    gpu.id = id;
    gpu.board = core::Catalog::Embedded().FindBoard("P40");
    host.gpus.push_back(gpu);
  }
  backends::sim::Scenario s;
  s.hosts.push_back(host);
  s.sim.seed = seed;
  return s;
}

// A random valid desired state: each GPU carved for one type and filled partly; sometimes a
// 2-vGPU VM spanning both GPUs when they share a type.
DesiredState RandomDesired(std::mt19937_64& rng, int generation) {
  static const std::pair<const char*, int> kTypes[] = {
      {"P40-3Q", 8}, {"P40-4Q", 6}, {"P40-8Q", 3}, {"P40-12Q", 2}, {"P40-24Q", 1}};
  DesiredState d{.generation = StrCat("g", generation)};
  const char* gpus[] = {"0000:82:00.0", "0000:83:00.0"};
  int shared = std::uniform_int_distribution<int>(0, 4)(rng);
  int vm = 0;
  for (int g = 0; g < 2; ++g) {
    int t = std::uniform_int_distribution<int>(0, 4)(rng);
    if (g == 1 && std::bernoulli_distribution(0.3)(rng)) t = shared;
    if (g == 0) shared = t;
    int n = std::uniform_int_distribution<int>(0, kTypes[t].second)(rng);
    for (int i = 0; i < n; ++i, ++vm) {
      d.instances.push_back({.uuid = testing::TestUuid(generation * 100 + vm),
                             .vm = StrCat("vm-", generation, "-", vm),
                             .gpu = gpus[g],
                             .type = kTypes[t].first});
    }
  }
  // Pair the first instances of each GPU into one 2-vGPU VM when both GPUs have one.
  auto first_on = [&](const char* gpu) {
    for (DesiredInstance& i : d.instances) {
      if (i.gpu == gpu) return &i;
    }
    return static_cast<DesiredInstance*>(nullptr);
  };
  DesiredInstance* a = first_on(gpus[0]);
  DesiredInstance* b = first_on(gpus[1]);
  if (a != nullptr && b != nullptr && std::bernoulli_distribution(0.5)(rng)) {
    b->vm = a->vm;
    b->index = 1;
  }
  return d;
}

TEST(AgentSimTest, ConvergesUnderFaultsAndKillsWithNoOrphanOrDuplicate) {
  const int kRuns = 1000;
  const absl::Duration kResync = absl::Seconds(60);
  std::unique_ptr<os::FileSystem> fs = os::NewPosixFileSystem("/");
  std::string dir = ::testing::TempDir() + "/agent_sim_" + std::to_string(::getpid());
  int killed_runs = 0, recarves = 0;
  for (int run = 1; run <= kRuns; ++run) {
    SCOPED_TRACE(StrCat("run ", run));
    std::mt19937_64 rng(static_cast<uint64_t>(run));
    std::filesystem::remove_all(dir);
    os::FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
    backends::sim::SimOptions sim_options;
    sim_options.sleep = [&clock](absl::Duration d) { clock.Advance(d); };
    auto cluster =
        backends::sim::SimCluster::Create(TwoP40s(static_cast<uint64_t>(run)), clock, sim_options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    ASSERT_TRUE((*cluster)->SetSysfsFaults("h1", 0.2, absl::ZeroDuration()).ok());
    auto sim_host = (*cluster)->NewVgpuHost("h1");
    ASSERT_TRUE(sim_host.ok());
    testing::FakeController controller;
    controller.desired = RandomDesired(rng, 1);
    StateFile state(*fs, dir);
    AgentOptions options{.host = "h1",
                         .enrolment_token = "gfe_token",
                         .resync_interval = kResync,
                         .reconcile = {.seed = static_cast<uint64_t>(run)}};
    auto run_for = [&](Agent& agent, absl::Duration d, KillableHost* host) {
      absl::Time until = clock.Now() + d;
      while (clock.Now() < until && (host == nullptr || !host->killed())) {
        absl::Time next = agent.Tick();
        clock.Set(std::min(until, std::max(next, clock.Now() + absl::Milliseconds(1))));
      }
    };
    // First life: converge part of the way, possibly change the desired state (a re-carve
    // needs every instance of a GPU gone first), and die at a random write.
    int crash_at = std::uniform_int_distribution<int>(1, 30)(rng);
    KillableHost first(**sim_host, crash_at, std::bernoulli_distribution(0.5)(rng));
    {
      Agent agent(options, AgentBackends{.vgpu = &first}, controller, clock, state);
      absl::Status started = agent.Start();
      ASSERT_TRUE(started.ok()) << started;
      run_for(agent, absl::Seconds(std::uniform_int_distribution<int>(0, 20)(rng)), &first);
      if (!first.killed() && std::bernoulli_distribution(0.5)(rng)) {
        controller.desired = RandomDesired(rng, 2);
        ++recarves;
        run_for(agent, absl::Seconds(std::uniform_int_distribution<int>(0, 20)(rng)), &first);
      }
    }
    killed_runs += first.killed() ? 1 : 0;
    // Second life, from the state file, with the backend still failing 20% of writes. The
    // token is passed again, as a service unit would; it is used only if the first life died
    // before enrolling.
    Agent agent(options, AgentBackends{.vgpu = sim_host->get()}, controller, clock, state);
    absl::Status started = agent.Start();
    ASSERT_TRUE(started.ok()) << started;
    run_for(agent, 3 * kResync, nullptr);

    absl::StatusOr<std::vector<backends::VgpuInstance>> observed = (*sim_host)->ListInstances();
    ASSERT_TRUE(observed.ok()) << observed.status();
    std::map<Uuid, const DesiredInstance*> want;
    for (const DesiredInstance& d : controller.desired.instances) want[d.uuid] = &d;
    std::set<Uuid> seen;
    for (const backends::VgpuInstance& o : *observed) {
      EXPECT_TRUE(seen.insert(o.uuid).second) << "duplicate " << o.uuid.ToString();
      auto it = want.find(o.uuid);
      ASSERT_NE(it, want.end()) << "orphan " << o.uuid.ToString() << " " << o.type;
      EXPECT_EQ(o.gpu, it->second->gpu);
      EXPECT_EQ(o.type, it->second->type);
    }
    EXPECT_EQ(seen.size(), want.size()) << "not converged: " << agent.stats().last_error;
    EXPECT_TRUE(agent.stats().converged) << agent.stats().last_error;
    if (::testing::Test::HasFailure()) break;
  }
  std::filesystem::remove_all(dir);
  RecordProperty("killed_runs", killed_runs);
  RecordProperty("recarves", recarves);
  EXPECT_GT(killed_runs, kRuns / 4);
  EXPECT_GT(recarves, kRuns / 10);
}

}  // namespace
}  // namespace gpufleet::agent
