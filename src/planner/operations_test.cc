// Evacuation, HA N+1 and defragmentation.

#include <random>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/fleet.h"
#include "planner/planner.h"
#include "planner/testing.h"

namespace gpufleet::planner {
namespace {

using testing::AddHost;
using testing::AddVm;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TypeNamed;

core::DriverVersion V(std::string_view s) { return *core::DriverVersion::Parse(s); }

// Places `vm` on host `h` through the planner (the only host left ready).
void PutOn(Cluster& c, int vm, int h) {
  std::vector<HostState> saved;
  for (Host& host : c.hosts) saved.push_back(host.state);
  for (std::size_t i = 0; i < c.hosts.size(); ++i) {
    c.hosts[i].state = static_cast<int>(i) == h ? HostState::kReady : HostState::kMaintenance;
  }
  Decision d = Place(c, vm);
  ASSERT_TRUE(d.assignment) << d.explanation;
  Apply(c, *d.assignment);
  for (std::size_t i = 0; i < c.hosts.size(); ++i) c.hosts[i].state = saved[i];
}

Cluster ThreeP40s() {
  Cluster c;
  for (int i = 1; i <= 3; ++i) {
    AddHost(c, StrCat("r730-", i), "P40", 1);
    c.hosts.back().manager = V("525.105.14");
  }
  return c;
}

TEST(StunTest, FollowsThePublishedCurve) {
  EXPECT_NEAR(EstimateStunSeconds(1024, 10), 2, 1e-9);
  EXPECT_NEAR(EstimateStunSeconds(32 * 1024, 10), 39, 1e-9);
  EXPECT_NEAR(EstimateStunSeconds(8 * 1024, 25), 12 * 10.0 / 25, 1e-9);
  EXPECT_GT(EstimateStunSeconds(48 * 1024, 10), 39);
  EXPECT_NEAR(EstimateStunSeconds(3 * 1024, 10), 5, 1e-9);
}

TEST(EvacuateTest, MovesEveryVmKeepingItsType) {
  Cluster c = ThreeP40s();
  int a = AddVm(c, "a", "P40-8Q");
  int b = AddVm(c, "b", "P40-8Q");
  PutOn(c, a, 0);
  PutOn(c, b, 0);
  EvacuationResult r = Evacuate(c, 0);
  EXPECT_THAT(r.stuck, IsEmpty());
  ASSERT_EQ(r.moves.size(), 2u);
  EXPECT_NE(r.moves[0].to.host, 0);
  EXPECT_EQ(r.moves[0].to.types[0]->name, "P40-8Q");
  EXPECT_NEAR(r.moves[0].stun_seconds, 12, 1e-9);
  EXPECT_TRUE(r.cluster.hosts[0].gpus[0].instances.empty());
  EXPECT_EQ(r.cluster.hosts[0].state, HostState::kMaintenance);
  EXPECT_THAT(Violations(r.cluster), IsEmpty());
}

TEST(EvacuateTest, StuckVmsNameTheReason) {
  Cluster c = ThreeP40s();
  c.hosts[1].manager = V("525.85.07");  // KVM needs identical managers
  c.hosts[2].state = HostState::kMaintenance;
  int a = AddVm(c, "a", "P40-8Q");
  int frozen = AddVm(c, "frozen", "P40-8Q");
  c.vms[static_cast<std::size_t>(frozen)].live_migratable = false;
  PutOn(c, a, 0);
  PutOn(c, frozen, 0);
  EvacuationResult r = Evacuate(c, 0);
  EXPECT_THAT(r.moves, IsEmpty());
  ASSERT_EQ(r.stuck.size(), 2u);
  EXPECT_THAT(r.stuck[0].reason, HasSubstr("vGPU manager versions differ"));
  EXPECT_THAT(r.stuck[1].reason, HasSubstr("not live-migratable"));
  // Stuck VMs stay where they were.
  EXPECT_EQ(r.cluster.hosts[0].gpus[0].instances.size(), 2u);
}

TEST(EvacuateTest, StunBudgetRefusesLargeProfiles) {
  Cluster c = ThreeP40s();
  int big = AddVm(c, "big", "P40-24Q");
  PutOn(c, big, 0);
  EvacuationResult r = Evacuate(c, 0, {{}, 20.0});
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_THAT(r.stuck[0].reason, HasSubstr("exceeds the budget of 20 s"));
}

TEST(EvacuateTest, VsphereNeedsHotmigrate) {
  Cluster c = ThreeP40s();
  for (Host& h : c.hosts) h.hypervisor = core::Hypervisor::kVsphere;
  c.hosts[1].hotmigrate = false;
  c.hosts[2].hotmigrate = false;
  int a = AddVm(c, "a", "P40-8Q");
  PutOn(c, a, 0);
  EvacuationResult r = Evacuate(c, 0);
  ASSERT_EQ(r.stuck.size(), 1u);
  EXPECT_THAT(r.stuck[0].reason, HasSubstr("vgpu.hotmigrate.enabled"));
}

TEST(HaTest, SeedClusterWithThreeFullGpusIsNotNPlusOne) {
  Cluster c = ThreeP40s();
  for (int h = 0; h < 3; ++h) {
    for (int i = 0; i < 3; ++i) PutOn(c, AddVm(c, StrCat("m", h, i), "P40-8Q"), h);
  }
  HaResult r = CheckHa(c);
  EXPECT_FALSE(r.n_plus_one);
  ASSERT_EQ(r.failures.size(), 3u);
  EXPECT_EQ(r.failures[0].missing_by_type["P40-8Q"], 3);
  ASSERT_EQ(r.reserve.size(), 1u);
  EXPECT_EQ(r.reserve[0].type, "P40-8Q");
  EXPECT_EQ(r.reserve[0].instances, 3);
}

TEST(HaTest, SpareGpuMakesItNPlusOne) {
  Cluster c = ThreeP40s();
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 2; ++i) PutOn(c, AddVm(c, StrCat("m", h, i), "P40-8Q"), h);
  }
  HaResult r = CheckHa(c);
  EXPECT_TRUE(r.n_plus_one);
  EXPECT_EQ(r.failures.size(), 2u);
  EXPECT_THAT(r.reserve, IsEmpty());
}

TEST(HaTest, GuestDriverMustSuitTheDestinationManager) {
  Cluster c = ThreeP40s();
  c.hosts[1].manager = V("470.103.02");  // 13.x cannot run a 15.x guest
  c.hosts[2].manager = V("470.103.02");
  int a = AddVm(c, "a", "P40-8Q");
  c.vms[static_cast<std::size_t>(a)].guest_driver = V("525.105.17");
  PutOn(c, a, 0);
  HaResult r = CheckHa(c);
  ASSERT_EQ(r.failures.size(), 1u);
  ASSERT_EQ(r.failures[0].cannot_restart.size(), 1u);
  EXPECT_THAT(r.failures[0].cannot_restart[0].reason, HasSubstr("newer than the vGPU manager"));
}

TEST(DefragTest, FreesAGpuWithTheFewestMoves) {
  Cluster c = ThreeP40s();
  // Host 0: 1 x 3Q, host 1: 3 x 3Q, host 2: empty but in maintenance. Want one 24Q.
  c.hosts[2].state = HostState::kMaintenance;
  PutOn(c, AddVm(c, "x", "P40-3Q"), 0);
  for (int i = 0; i < 3; ++i) PutOn(c, AddVm(c, StrCat("y", i), "P40-3Q"), 1);
  DefragResult r = Defrag(c, TypeNamed("P40-24Q"), 1);
  EXPECT_TRUE(r.satisfied) << r.explanation;
  EXPECT_EQ(r.free_before, 0);
  EXPECT_EQ(r.free_after, 1);
  ASSERT_EQ(r.moves.size(), 1u);  // only "x" moves
  EXPECT_EQ(r.cluster.vms[static_cast<std::size_t>(r.moves[0].vm)].name, "x");
  ASSERT_EQ(r.recarves.size(), 1u);
  EXPECT_EQ(r.recarves[0].host, 0);
  EXPECT_THAT(Violations(r.cluster), IsEmpty());
}

TEST(DefragTest, ExplainsWhenImpossible) {
  Cluster c = ThreeP40s();
  for (int h = 0; h < 3; ++h) {
    for (int i = 0; i < 3; ++i) PutOn(c, AddVm(c, StrCat("m", h, i), "P40-8Q"), h);
  }
  DefragResult r = Defrag(c, TypeNamed("P40-24Q"), 1);
  EXPECT_FALSE(r.satisfied);
  EXPECT_THAT(r.explanation, HasSubstr("cannot be emptied"));
  Unplace(c, 0);
  DefragResult none = Defrag(c, TypeNamed("P40-8Q"), 1);
  EXPECT_TRUE(none.satisfied);
  EXPECT_THAT(none.moves, IsEmpty());
  EXPECT_THAT(none.explanation, HasSubstr("fit already"));
}

// On a mixed-size GPU one instance may block a large type: moving it alone is cheaper than
// emptying the GPU, and the knapsack proves no plan moves fewer VMs.
TEST(DefragTest, MovesOnlyTheInstanceThatBlocksOnAMixedSizeGpu) {
  Cluster c;
  for (const char* name : {"a", "b"}) {
    const int h = AddHost(c, name, "L40S", 1);
    c.hosts[static_cast<std::size_t>(h)].manager = V("550.54.10");
    c.hosts[static_cast<std::size_t>(h)].gpus[0].mode = GpuMode::kMixedSize;
  }
  auto put = [&](const char* vm, const char* type, int host, int slot) {
    const int v = AddVm(c, vm, type);
    c.hosts[static_cast<std::size_t>(host)].gpus[0].instances.push_back(
        Instance{v, &TypeNamed(type), slot});
  };
  put("small1", "L40S-4Q", 0, 0);   // blocks a 24Q at 0
  put("small2", "L40S-4Q", 0, 24);  // blocks a 24Q at 24
  put("big1", "L40S-16Q", 1, 0);
  put("big2", "L40S-16Q", 1, 16);
  put("mid", "L40S-8Q", 1, 32);  // b keeps slots 40-47: room for a 4Q, none for a 24Q
  ASSERT_THAT(Violations(c), IsEmpty());
  DefragResult r = Defrag(c, TypeNamed("L40S-24Q"), 1);
  ASSERT_TRUE(r.satisfied) << r.explanation;
  ASSERT_EQ(r.moves.size(), 1u);
  EXPECT_EQ(r.moves[0].to.host, 1);
  EXPECT_TRUE(r.recarves.empty());
  EXPECT_EQ(r.moves_lower_bound, 1);
  EXPECT_TRUE(r.minimal);
  EXPECT_THAT(r.explanation, HasSubstr("no plan moves fewer VMs"));
  EXPECT_THAT(Violations(r.cluster), IsEmpty());
  // Two 24Q need both 4Q off a: two moves, still minimal.
  DefragResult two = Defrag(c, TypeNamed("L40S-24Q"), 2);
  ASSERT_TRUE(two.satisfied) << two.explanation;
  EXPECT_EQ(two.moves.size(), 2u);
  EXPECT_TRUE(two.minimal);
}

// Random clusters: a satisfied defragmentation never moves fewer VMs than its bound, leaves a
// valid cluster, and the same input gives the same answer.
TEST(DefragTest, NeverBeatsItsBoundOnRandomClusters) {
  int satisfied = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    Cluster c;
    const bool mig = seed % 2 == 0;
    const std::vector<std::string> types =
        mig ? std::vector<std::string>{"A100D-1-10C", "A100D-2-20C", "A100D-3-40C"}
            : std::vector<std::string>{"P40-1Q", "P40-3Q", "P40-8Q", "P40-12Q"};
    for (int h = 0; h < 4; ++h) {
      AddHost(c, StrCat("h", h), mig ? "A100D" : "P40", 2);
      c.hosts.back().manager = V("550.54.10");
    }
    for (int i = 0; i < 14; ++i) {
      const int vm = AddVm(c, StrCat("v", i), types[rng() % types.size()]);
      Decision d = Place(c, vm);
      if (d.assignment) Apply(c, *d.assignment);
    }
    const core::VgpuType& target = TypeNamed(mig ? "A100D-4-40C" : "P40-24Q");
    for (int count = 1; count <= 3; ++count) {
      DefragResult r = Defrag(c, target, count);
      DefragResult again = Defrag(c, target, count);
      EXPECT_EQ(r.explanation, again.explanation) << seed;
      EXPECT_THAT(Violations(r.cluster), IsEmpty()) << seed;
      if (!r.satisfied) continue;
      ++satisfied;
      EXPECT_GE(static_cast<int>(r.moves.size()), r.moves_lower_bound) << seed << r.explanation;
      EXPECT_GE(r.free_after, count);
    }
  }
  EXPECT_GT(satisfied, 20);
}

// A Fleet answers what-ifs as the one-shot functions do, and leaves itself as it was: after every
// evacuation plan and failure simulation, the next placement is the same as before.
TEST(FleetTest, WhatIfsMatchTheOneShotFunctionsAndUndoThemselves) {
  for (unsigned seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    Cluster c;
    const std::vector<std::string> boards = {"P40", "T4", "A100D"};
    for (int h = 0; h < 6; ++h) {
      AddHost(c, StrCat("h", h), boards[rng() % boards.size()], 2);
      for (Gpu& g : c.hosts.back().gpus) {
        if (g.board->mig && rng() % 2 == 0) g.mode = GpuMode::kMig;
      }
    }
    const std::vector<std::string> types = {"P40-8Q",      "P40-3Q",      "T4-4Q",    "T4-16Q",
                                            "A100D-2-20C", "A100D-1-10C", "A100D-20C"};
    for (int v = 0; v < 40; ++v) {
      const int vm = AddVm(c, StrCat("vm", v), types[rng() % types.size()]);
      if (rng() % 6 == 0) c.vms.back().anti_affinity = "g";
      Decision d = Place(c, vm);
      if (d.assignment) Apply(c, *d.assignment);
    }
    Fleet fleet(c);
    const int probe = fleet.AddVm(c.vms.front());
    c.vms.push_back(c.vms.front());
    const Decision before = fleet.Place(probe);
    for (int h = 0; h < static_cast<int>(c.hosts.size()); ++h) {
      const EvacuationResult one_shot = Evacuate(c, h);
      const EvacuationResult what_if = fleet.PlanEvacuation(h);
      ASSERT_EQ(one_shot.moves.size(), what_if.moves.size()) << "seed " << seed << " host " << h;
      for (std::size_t i = 0; i < what_if.moves.size(); ++i) {
        EXPECT_EQ(one_shot.moves[i].vm, what_if.moves[i].vm);
        EXPECT_EQ(one_shot.moves[i].to.host, what_if.moves[i].to.host);
        EXPECT_EQ(one_shot.moves[i].to.gpus, what_if.moves[i].to.gpus);
      }
      ASSERT_EQ(one_shot.stuck.size(), what_if.stuck.size());
      for (std::size_t i = 0; i < what_if.stuck.size(); ++i) {
        EXPECT_EQ(one_shot.stuck[i].reason, what_if.stuck[i].reason);
      }
      const HostFailure failure = fleet.SimulateFailure(h);
      const Decision after = fleet.Place(probe);
      ASSERT_EQ(before.assignment.has_value(), after.assignment.has_value());
      if (before.assignment) {
        EXPECT_EQ(before.assignment->host, after.assignment->host) << "seed " << seed;
        EXPECT_EQ(before.assignment->gpus, after.assignment->gpus) << "seed " << seed;
      }
      EXPECT_EQ(before.explanation, after.explanation);
      (void)failure;
    }
    // A dry-run placement answers as Place on the VM added, and adds nothing.
    const std::size_t vms = fleet.cluster().vms.size();
    const Decision dry = fleet.PlaceWhatIf(c.vms.front());
    EXPECT_EQ(fleet.cluster().vms.size(), vms);
    EXPECT_EQ(dry.explanation, before.explanation);
    ASSERT_EQ(dry.assignment.has_value(), before.assignment.has_value());
    if (dry.assignment) {
      EXPECT_EQ(dry.assignment->gpus, before.assignment->gpus);
    }
    const HaResult a = CheckHa(c), b = fleet.CheckHa();
    EXPECT_EQ(a.n_plus_one, b.n_plus_one);
    ASSERT_EQ(a.failures.size(), b.failures.size());
    for (std::size_t i = 0; i < a.failures.size(); ++i) {
      EXPECT_EQ(a.failures[i].missing_by_type, b.failures[i].missing_by_type);
    }
    EXPECT_THAT(Violations(fleet.cluster()), IsEmpty());
  }
}

// The generation moves with every change and with no what-if; two fleets never share one.
TEST(FleetTest, GenerationChangesWithTheFleetOnly) {
  Cluster c = ThreeP40s();
  Fleet fleet(c);
  const Fleet other(c);
  EXPECT_NE(fleet.generation(), other.generation());
  std::uint64_t g = fleet.generation();
  auto changed = [&] {
    const bool moved = fleet.generation() != g;
    g = fleet.generation();
    return moved;
  };
  Vm vm;
  vm.name = "a";
  vm.need.type = &TypeNamed("P40-8Q");
  (void)fleet.PlaceWhatIf(vm);
  (void)fleet.PlanEvacuation(0);
  (void)fleet.SimulateFailure(0);
  (void)fleet.CheckHa();
  EXPECT_FALSE(changed());
  const int a = fleet.AddVm(vm);
  EXPECT_TRUE(changed());
  const Decision d = fleet.Place(a);
  ASSERT_TRUE(d.assignment) << d.explanation;
  EXPECT_FALSE(changed());
  fleet.Commit(*d.assignment);
  EXPECT_TRUE(changed());
  const MovePlan move = fleet.PlanMove(a);
  EXPECT_FALSE(changed());
  ASSERT_TRUE(move.move) << move.reason;
  fleet.ApplyMove(*move.move);
  EXPECT_TRUE(changed());
  fleet.SetHostState(1, HostState::kMaintenance);
  EXPECT_TRUE(changed());
  fleet.Remove(a);
  EXPECT_TRUE(changed());
}

// A what-if right after the build leaves the fleet's VMs where they are: it does not move every
// VM to a new buffer (which cost 0.19 s at 225,000 VMs, under the controller's lock).
TEST(FleetTest, AWhatIfAfterTheBuildDoesNotMoveTheVms) {
  Cluster c = ThreeP40s();
  for (int i = 0; i < 100; ++i) AddVm(c, StrCat("v", i), "P40-1Q");
  c.vms.shrink_to_fit();
  Fleet fleet(std::move(c));
  const Vm* first = &fleet.cluster().vms[0];
  Vm probe;
  probe.name = "probe";
  probe.need.type = &TypeNamed("P40-8Q");
  (void)fleet.PlaceWhatIf(probe);
  EXPECT_EQ(&fleet.cluster().vms[0], first);
  EXPECT_EQ(fleet.cluster().vms.size(), 100u);
}

// One VM's move: to a named host or anywhere, refused with the binding reason, and applied.
TEST(FleetTest, PlansAndAppliesOneVmsMove) {
  Cluster c = ThreeP40s();
  c.hosts[2].manager = V("470.63");  // an older branch: live migration from 525 is refused
  const int a = AddVm(c, "a", "P40-8Q");
  const int b = AddVm(c, "b", "P40-3Q");
  c.vms[static_cast<std::size_t>(a)].guest_driver = V("525.105.17");
  PutOn(c, a, 0);
  PutOn(c, b, 1);
  Fleet fleet(c);
  const Decision probe_before = fleet.Place(fleet.AddVm(c.vms[static_cast<std::size_t>(a)]));

  // Anywhere: r730-2 is carved for 3Q, r730-3 runs an older manager; no destination.
  MovePlan anywhere = fleet.PlanMove(a);
  EXPECT_FALSE(anywhere.move);
  EXPECT_THAT(anywhere.reason, HasSubstr("r730-3"));

  MovePlan same = fleet.PlanMove(a, 0);
  EXPECT_FALSE(same.move);
  EXPECT_THAT(same.reason, HasSubstr("already runs on r730-1"));

  fleet.Remove(b);  // r730-2's P40 is empty again: it can be re-carved for 8Q
  MovePlan to_two = fleet.PlanMove(a, 1);
  ASSERT_TRUE(to_two.move) << to_two.reason;
  EXPECT_EQ(to_two.move->to.host, 1);
  EXPECT_EQ(to_two.move->from_host, 0);
  EXPECT_NEAR(to_two.move->stun_seconds, EstimateStunSeconds(8192, 10), 1e-9);
  // A what-if: the fleet is unchanged, so placing the probe gives the same answer.
  EXPECT_EQ(fleet.Place(static_cast<int>(fleet.cluster().vms.size()) - 1).explanation,
            probe_before.explanation);
  EXPECT_FALSE(fleet.PlanMove(a, 2).move);  // named host refused, the other not offered

  fleet.ApplyMove(*to_two.move);
  EXPECT_TRUE(fleet.cluster().hosts[0].gpus[0].instances.empty());
  ASSERT_EQ(fleet.cluster().hosts[1].gpus[0].instances.size(), 1u);
  EXPECT_EQ(fleet.cluster().hosts[1].gpus[0].instances[0].vm, a);
  EXPECT_THAT(Violations(fleet.cluster()), IsEmpty());
  // A cold restart ignores live-migration rules but keeps the type.
  MovePlan back = fleet.PlanMove(a, 0, /*live=*/false);
  ASSERT_TRUE(back.move) << back.reason;
  EXPECT_EQ(back.move->stun_seconds, 0);
}

}  // namespace
}  // namespace gpufleet::planner
