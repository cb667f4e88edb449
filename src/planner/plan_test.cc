#include <algorithm>
#include <random>

#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "planner/placer.h"
#include "planner/plan_json.h"
#include "planner/planner.h"
#include "planner/testing.h"

namespace gpufleet::planner {
namespace {

using testing::AddHost;
using testing::AddVm;
using testing::BoardNamed;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TypeNamed;

// The seed: three R730 hosts with one P40 each.
Cluster Seed() {
  Cluster c;
  for (int i = 1; i <= 3; ++i) AddHost(c, "r730-" + std::to_string(i), "P40", 1);
  return c;
}

std::vector<int> AddMany(Cluster& c, std::string_view prefix, std::string_view type, int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i) out.push_back(AddVm(c, StrCat(prefix, i), type));
  return out;
}

TEST(PlaceTest, FragmentationAwareFillsACarvedGpuBeforeOpeningAnother) {
  Cluster c = Seed();
  int a = AddVm(c, "a", "P40-8Q");
  int b = AddVm(c, "b", "P40-8Q");
  Decision d = Place(c, a);
  ASSERT_TRUE(d.assignment) << d.explanation;
  Apply(c, *d.assignment);
  Decision e = Place(c, b);
  ASSERT_TRUE(e.assignment);
  EXPECT_EQ(e.assignment->host, d.assignment->host);
}

// Fills `gpu` of `host` with `n` VMs of `type` (equal-size).
void Occupy(Cluster& c, int host, int gpu, std::string_view type, int n) {
  for (int i = 0; i < n; ++i) {
    const int vm = AddVm(c, StrCat("h", host, "g", gpu, "-", i), type);
    Apply(c, Assignment{vm, host, {gpu}, {&TypeNamed(type)}, {Fit{GpuMode::kEqualSize, -1}}});
  }
}

// A board of 36 T4 GPUs (9 hosts of 4): every GPU of hosts 0..`full_hosts`-1 holds a T4-16Q,
// and the last host's gpu0 one T4-2Q (7 of 8 instances free).
Cluster NearlyFullT4Board(int full_hosts) {
  Cluster c;
  for (int h = 0; h < 9; ++h) AddHost(c, StrCat("h", h), "T4", 4);
  for (int h = 0; h < full_hosts; ++h) {
    for (int g = 0; g < 4; ++g) Occupy(c, h, g, "T4-16Q", 1);
  }
  Occupy(c, 8, 0, "T4-2Q", 1);
  return c;
}

TEST(PlaceTest, ReserveOpensAnEmptyGpuWhenALargeBoardRunsOutOfThem) {
  // 3 empty GPUs left of 36, and T4-2Q has less than a GPU's worth free: the next T4-2Q takes
  // an empty GPU, so the last ones do not all go to whole-GPU VMs.
  Cluster c = NearlyFullT4Board(8);
  const int next = AddVm(c, "next", "T4-2Q");
  Decision d = Place(c, next);
  ASSERT_TRUE(d.assignment) << d.explanation;
  EXPECT_EQ(d.assignment->host, 8);
  EXPECT_EQ(d.assignment->gpus, std::vector<int>{1});
  // The engine without the reserve (Plan, evacuation, HA) fills the carved GPU.
  Decision planned = internal::Placer(c, {}).Decide(c, next);
  ASSERT_TRUE(planned.assignment) << planned.explanation;
  EXPECT_EQ(planned.assignment->gpus, std::vector<int>{0});
  // Once the type holds a GPU's worth of free instances, it fills them again.
  Apply(c, *d.assignment);
  Decision e = Place(c, AddVm(c, "after", "T4-2Q"));
  ASSERT_TRUE(e.assignment) << e.explanation;
  EXPECT_EQ(e.assignment->gpus, std::vector<int>{0});
}

TEST(PlaceTest, ReserveWaitsForTheLastEmptyGpusOfALargeBoard) {
  // 7 empty GPUs of 36: the carved GPU is filled first.
  Cluster c = NearlyFullT4Board(7);
  Decision d = Place(c, AddVm(c, "next", "T4-2Q"));
  ASSERT_TRUE(d.assignment) << d.explanation;
  EXPECT_EQ(d.assignment->host, 8);
  EXPECT_EQ(d.assignment->gpus, std::vector<int>{0});
}

TEST(PlaceTest, SmallBoardsHaveNoReserve) {
  // 8 GPUs, 3 of them empty: a board this small fills its carved GPU first.
  Cluster c;
  for (int h = 0; h < 2; ++h) AddHost(c, StrCat("h", h), "T4", 4);
  for (int g = 0; g < 4; ++g) Occupy(c, 0, g, "T4-16Q", 1);
  Occupy(c, 1, 0, "T4-2Q", 1);
  Decision d = Place(c, AddVm(c, "next", "T4-2Q"));
  ASSERT_TRUE(d.assignment) << d.explanation;
  EXPECT_EQ(d.assignment->host, 1);
  EXPECT_EQ(d.assignment->gpus, std::vector<int>{0});
}

TEST(PlaceTest, MigPlacementKeepsRoomForTheObservedMix) {
  // Three A100D GPUs in MIG mode: gpu0 holds a 3g.40gb at slices 0-3, gpu1 a 2g.20gb at slices
  // 0-1, gpu2 two 3g.40gb (full). The observed mix is mostly 3g.40gb. A 2g.20gb on gpu0 would go
  // to slices 4-5 and leave no room for another 3g.40gb; on gpu1 it goes to slices 2-3 and keeps
  // slices 4-7 for one. Counting only the 2g.20gb left free would pick gpu0 (none left there).
  Cluster c;
  AddHost(c, "h0", "A100D", 3);
  for (Gpu& g : c.hosts[0].gpus) g.mode = GpuMode::kMig;
  auto put = [&](int gpu, std::string_view type, int slice) {
    const int vm = AddVm(c, StrCat("g", gpu, "-", slice), type);
    Apply(c, Assignment{vm, 0, {gpu}, {&TypeNamed(type)}, {Fit{GpuMode::kMig, slice}}});
  };
  put(0, "A100D-3-40C", 0);
  put(1, "A100D-2-20C", 0);
  put(2, "A100D-3-40C", 0);
  put(2, "A100D-3-40C", 4);
  for (bool indexed : {true, false}) {
    Cluster work = c;
    internal::Placer placer(work, {}, indexed);
    const int vm = AddVm(work, "next", "A100D-2-20C");
    Decision d = placer.Decide(work, vm);
    ASSERT_TRUE(d.assignment) << d.explanation;
    EXPECT_EQ(d.assignment->gpus, std::vector<int>{1}) << (indexed ? "index" : "scan");
  }
}

TEST(PlaceTest, SpreadUsesTheLeastLoadedGpu) {
  Cluster c = Seed();
  int a = AddVm(c, "a", "P40-8Q");
  int b = AddVm(c, "b", "P40-8Q");
  PlaceOptions spread{Policy::kSpread, {}};
  Decision d = Place(c, a, spread);
  Apply(c, *d.assignment);
  Decision e = Place(c, b, spread);
  ASSERT_TRUE(e.assignment);
  EXPECT_NE(e.assignment->host, d.assignment->host);
}

TEST(PlaceTest, ConsolidateUsesTheFullestGpu) {
  Cluster c = Seed();
  for (int i = 0; i < 2; ++i) {
    int vm = AddVm(c, StrCat("x", i), "P40-3Q");
    Apply(c, *Place(c, vm, {Policy::kConsolidate, {}}).assignment);
  }
  EXPECT_EQ(c.hosts[0].gpus[0].instances.size(), 2u);
}

TEST(PlaceTest, RejectionNamesTheBindingConstraint) {
  Cluster c = Seed();
  c.hosts[2].state = HostState::kMaintenance;
  for (int i = 0; i < 2; ++i) {
    int vm = AddVm(c, StrCat("light", i), "P40-3Q");
    Decision d = Place(c, vm, {Policy::kSpread, {}});
    Apply(c, *d.assignment);
  }
  int big = AddVm(c, "big", "P40-8Q");
  Decision d = Place(c, big);
  ASSERT_FALSE(d.assignment);
  EXPECT_THAT(d.explanation, HasSubstr("no place for P40-8Q:"));
  EXPECT_THAT(d.explanation, HasSubstr("2 GPUs: carved for P40-3Q (equal-size: one type per GPU)"));
  EXPECT_THAT(d.explanation, HasSubstr("1 host: in maintenance"));
}

TEST(PlaceTest, RequirementPicksTheSmallestFittingType) {
  Cluster c = Seed();
  Vm vm;
  vm.name = "req";
  vm.need.min_framebuffer_mib = 5 * 1024;
  vm.need.cuda = true;
  vm.need.series = core::Series::kQ;
  c.vms.push_back(vm);
  Decision d = Place(c, 0);
  ASSERT_TRUE(d.assignment) << d.explanation;
  EXPECT_EQ(d.assignment->types[0]->name, "P40-6Q");
}

TEST(PlaceTest, MultiVgpuVmsNeedDistinctGpusOnOneHost) {
  Cluster c;
  AddHost(c, "one", "A40", 1);
  AddHost(c, "two", "A40", 2);
  int vm = AddVm(c, "duo", "A40-24Q", 2);
  Decision d = Place(c, vm);
  ASSERT_TRUE(d.assignment) << d.explanation;
  EXPECT_EQ(d.assignment->host, 1);
  EXPECT_NE(d.assignment->gpus[0], d.assignment->gpus[1]);
  c.hosts.pop_back();
  Decision none = Place(c, vm);
  EXPECT_THAT(none.explanation, HasSubstr("with only 1 of the 2 GPUs the VM needs"));
}

TEST(PlaceTest, AntiAffinityLicensesAndCapacity) {
  Cluster c = Seed();
  c.hosts[0].cpus = 8;
  int a = AddVm(c, "a", "P40-3Q");
  int b = AddVm(c, "b", "P40-3Q");
  c.vms[static_cast<std::size_t>(a)].anti_affinity = "db";
  c.vms[static_cast<std::size_t>(b)].anti_affinity = "db";
  c.vms[static_cast<std::size_t>(a)].cpus = 8;
  Apply(c, *Place(c, a).assignment);
  Decision d = Place(c, b);
  ASSERT_TRUE(d.assignment);
  EXPECT_NE(d.assignment->host, 0);
  c.license_seats["vWS"] = 1;
  int e = AddVm(c, "e", "P40-3Q");
  Decision no_seat = Place(c, e);
  EXPECT_FALSE(no_seat.assignment);
  EXPECT_THAT(no_seat.explanation, HasSubstr("all 1 vWS license seats in use"));
}

TEST(PlanTest, SeedDemandDedicatesGpusPerTypeAndMeetsTheBound) {
  Cluster c = Seed();
  std::vector<int> demand = AddMany(c, "light-", "P40-3Q", 8);
  for (int vm : AddMany(c, "model-", "P40-8Q", 4)) demand.push_back(vm);
  PlanResult r = Plan(c, demand);
  EXPECT_THAT(Violations(r.cluster), IsEmpty());
  // 8 x 3Q fill one P40 (max 8); 4 x 8Q need two (max 3): three GPUs, the bound.
  EXPECT_THAT(r.rejected, IsEmpty());
  EXPECT_EQ(r.gpus_used, 3);
  ASSERT_EQ(r.bounds.size(), 1u);
  EXPECT_EQ(r.bounds[0].gpus_needed, 3);
  EXPECT_EQ(r.bounds[0].gpus_used, 3);
  EXPECT_EQ(r.free_by_type["P40-8Q"], 2);
  // One more 3Q VM has nowhere to go although 16 GB sit free on the 8Q GPU; the bound of a
  // demand that includes it says a fourth GPU is needed.
  {
    Cluster more = Seed();
    std::vector<int> d = AddMany(more, "light-", "P40-3Q", 9);
    for (int vm : AddMany(more, "model-", "P40-8Q", 4)) d.push_back(vm);
    PlanResult over = Plan(more, d);
    ASSERT_EQ(over.rejected.size(), 1u);
    EXPECT_EQ(over.bounds[0].gpus_needed, 4);
    EXPECT_EQ(over.bounds[0].gpus_used, 3);
  }
  int extra = AddVm(r.cluster, "light-9", "P40-3Q");
  Decision d = Place(r.cluster, extra);
  EXPECT_FALSE(d.assignment);
  EXPECT_THAT(d.explanation, HasSubstr("carved for P40-8Q"));
}

TEST(PlanTest, AssignmentsComeInVmOrderWithoutTheRejectedOnes) {
  // Largest first: the 8Q VMs are planned before the 3Q ones, one 3Q VM finds no GPU.
  Cluster c = Seed();
  std::vector<int> demand = AddMany(c, "light-", "P40-3Q", 9);
  for (int vm : AddMany(c, "model-", "P40-8Q", 4)) demand.push_back(vm);
  std::reverse(demand.begin(), demand.end());  // the demand's own order does not matter
  const PlanResult copied = Plan(c, demand);
  ASSERT_EQ(copied.rejected.size(), 1u);
  ASSERT_EQ(copied.placed.size(), 12u);
  for (std::size_t i = 1; i < copied.placed.size(); ++i) {
    EXPECT_LT(copied.placed[i - 1].vm, copied.placed[i].vm);
  }
  for (const Assignment& a : copied.placed) EXPECT_NE(a.vm, copied.rejected[0].vm);
  // Handing the cluster over plans the same.
  const PlanResult moved = Plan(Cluster(c), demand);
  EXPECT_EQ(PlanResultJson(moved).dump(), PlanResultJson(copied).dump());
  EXPECT_EQ(moved.cluster.vms.size(), c.vms.size());
}

TEST(PlanTest, FromScratchReplansEverything) {
  Cluster c = Seed();
  std::vector<int> first = AddMany(c, "a", "P40-3Q", 3);
  PlanResult spread = Plan(c, first, {{Policy::kSpread, {}}, false});
  EXPECT_EQ(spread.gpus_used, 3);
  PlanResult packed = Plan(spread.cluster, {}, {{Policy::kFragmentationAware, {}}, true});
  EXPECT_EQ(packed.gpus_used, 1);
  EXPECT_THAT(Violations(packed.cluster), IsEmpty());
}

TEST(PlanTest, MigBoundCountsSlices) {
  Cluster c;
  AddHost(c, "h", "A100D", 2);
  std::vector<int> demand;
  for (int i = 0; i < 2; ++i) demand.push_back(AddVm(c, StrCat("big", i), "A100D-3-40C"));
  for (int i = 0; i < 2; ++i) demand.push_back(AddVm(c, StrCat("mid", i), "A100D-2-20C"));
  PlanResult r = Plan(c, demand);
  EXPECT_THAT(r.rejected, IsEmpty());
  EXPECT_THAT(Violations(r.cluster), IsEmpty());
  ASSERT_EQ(r.bounds.size(), 1u);
  EXPECT_EQ(r.bounds[0].gpus_needed, 2);  // 10 compute slices > 7
  EXPECT_EQ(r.gpus_used, 2);
}

// Property: on random clusters and demands, no plan violates a constraint, every plan uses at
// least its lower bound of GPUs, and planning is deterministic.
TEST(PlanPropertyTest, RandomClustersNeverViolateConstraints) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> boards = {
      {"P40", {"P40-1Q", "P40-3Q", "P40-8Q", "P40-12Q", "P40-2B", "P40-4A"}},
      {"T4", {"T4-2Q", "T4-4Q", "T4-8C", "T4-16Q"}},
      {"A16", {"A16-1B", "A16-2Q", "A16-4Q", "A16-16Q"}},
      {"A100D", {"A100D-1-10C", "A100D-2-20C", "A100D-3-40C", "A100D-7-80C", "A100D-8C"}},
      {"L40S", {"L40S-4Q", "L40S-8Q", "L40S-12Q", "L40S-24Q"}},
  };
  for (unsigned seed = 1; seed <= 60; ++seed) {
    std::mt19937 rng(seed);
    Cluster c;
    const int hosts = 1 + static_cast<int>(rng() % 5);
    for (int h = 0; h < hosts; ++h) {
      const auto& [board, types] = boards[rng() % boards.size()];
      AddHost(c, StrCat("h", h), board, 1 + static_cast<int>(rng() % 4));
      if (rng() % 5 == 0) c.hosts.back().state = HostState::kMaintenance;
    }
    std::vector<int> demand;
    const int vms = static_cast<int>(rng() % 40);
    for (int v = 0; v < vms; ++v) {
      const auto& [board, types] = boards[rng() % boards.size()];
      int vm = AddVm(c, StrCat("vm", v), types[rng() % types.size()], 1 + (rng() % 6 == 0 ? 1 : 0));
      if (rng() % 4 == 0) c.vms.back().anti_affinity = StrCat("g", rng() % 3);
      demand.push_back(vm);
    }
    const Policy policy = static_cast<Policy>(rng() % 3);
    PlanResult r = Plan(c, demand, {{policy, {}}, false});
    EXPECT_THAT(Violations(r.cluster), IsEmpty()) << "seed " << seed;
    EXPECT_EQ(r.placed.size() + r.rejected.size(), demand.size()) << "seed " << seed;
    // The plan's GPUs never beat the bound of what it placed (the reported bound also counts
    // rejected VMs, which the plan could not place).
    std::vector<int> placed;
    for (const Assignment& a : r.placed) placed.push_back(a.vm);
    for (const BoardBound& b : LowerBounds(r.cluster, placed)) {
      int used = 0;
      for (const BoardBound& rb : r.bounds) {
        if (rb.board == b.board) used = rb.gpus_used;
      }
      EXPECT_GE(used, b.gpus_needed) << "seed " << seed << " board " << b.board;
    }
    if (r.rejected.empty()) {
      for (const BoardBound& b : r.bounds) EXPECT_GE(b.gpus_used, b.gpus_needed);
    }
    PlanResult again = Plan(c, demand, {{policy, {}}, false});
    ASSERT_EQ(again.placed.size(), r.placed.size()) << "seed " << seed;
    for (std::size_t i = 0; i < r.placed.size(); ++i) {
      EXPECT_EQ(again.placed[i].host, r.placed[i].host);
      EXPECT_EQ(again.placed[i].gpus, r.placed[i].gpus);
    }
  }
}

// Equal-size demand on enough empty GPUs: the default policy reaches the bound exactly.
TEST(PlanPropertyTest, EqualSizeDemandHasNoGapToTheBound) {
  for (unsigned seed = 1; seed <= 30; ++seed) {
    std::mt19937 rng(seed);
    Cluster c;
    for (int h = 0; h < 8; ++h) AddHost(c, StrCat("h", h), "P40", 4);
    const std::vector<std::string> types = {"P40-1Q", "P40-2Q", "P40-3Q",  "P40-4Q",
                                            "P40-6Q", "P40-8Q", "P40-12Q", "P40-24Q"};
    std::vector<int> demand;
    for (int v = 0; v < 60; ++v) {
      demand.push_back(AddVm(c, StrCat("vm", v), types[rng() % types.size()]));
    }
    PlanResult r = Plan(c, demand);
    ASSERT_THAT(r.rejected, IsEmpty()) << "seed " << seed;
    ASSERT_EQ(r.bounds.size(), 1u);
    EXPECT_EQ(r.bounds[0].gpus_used, r.bounds[0].gpus_needed) << "seed " << seed;
  }
}

// The indexed fast path decides exactly as the full scan does, decision after decision, for exact
// types (time-sliced and MIG-backed), requirements, pass-through and several vGPUs per VM, with
// VMs leaving, under every policy.
void ExpectFastPathMatchesTheFullScan(Policy policy) {
  SCOPED_TRACE(PolicyName(policy));
  PlaceOptions options;
  options.policy = policy;
  const std::vector<std::string> types = {"P40-3Q",    "P40-8Q",      "P40-24Q",     "T4-4Q",
                                          "T4-16Q",    "A16-2Q",      "A16-4Q",      "L40S-8Q",
                                          "L40S-48Q",  "A100D-2-20C", "A100D-1-10C", "A100D-3-40C",
                                          "A100D-20C", "L40S-4Q",     "L40S-12Q",    "L40S-24Q"};
  const std::vector<std::string> boards = {"P40", "T4", "A16", "L40S", "A100D"};
  int decisions = 0, placed = 0, removed = 0;
  long long fast = 0;
  for (unsigned seed = 1; seed <= 60; ++seed) {
    std::mt19937 rng(seed);
    Cluster c;
    const int hosts = 2 + static_cast<int>(rng() % 8);
    for (int h = 0; h < hosts; ++h) {
      AddHost(c, StrCat("h", h), boards[rng() % boards.size()], 1 + static_cast<int>(rng() % 4));
      if (rng() % 6 == 0) c.hosts.back().state = HostState::kMaintenance;
      if (rng() % 3 == 0) c.hosts.back().cpus = 16;
      if (rng() % 4 == 0) c.hosts.back().labels["zone"] = StrCat("z", rng() % 2);
      for (Gpu& g : c.hosts.back().gpus) {
        if (g.board->mig && rng() % 2 == 0) g.mode = GpuMode::kMig;
        if (g.board->prefix == "L40S" && rng() % 2 == 0) g.mode = GpuMode::kMixedSize;
      }
    }
    c.mixed_size["L40S"] = MixedSizeGeometry{.slot_mib = 1024, .slots = 48, .reserved_slots = 2};
    if (rng() % 3 == 0) c.license_seats["vCS"] = 10;
    std::vector<int> vms;
    for (int v = 0; v < 80; ++v) {
      const auto kind = rng() % 10;
      int vm = AddVm(c, StrCat("vm", v), types[rng() % types.size()], kind == 0 ? 2 : 1);
      Vm& x = c.vms.back();
      if (kind == 1 || kind == 2) {  // a requirement instead of a type
        x.need = Requirement{};
        x.need.min_framebuffer_mib = 1024 * static_cast<int>(1 + rng() % 16);
        x.need.cuda = rng() % 2 == 0;
        if (rng() % 4 == 0) x.need.mig = true;
        if (rng() % 4 == 0) x.need.boards = {&BoardNamed(boards[rng() % boards.size()])};
        if (kind == 2 && rng() % 2 == 0) x.vgpus = 2;  // by family: one board and series
      }
      if (kind == 3) {  // whole GPUs, one or two
        x.need = Requirement{};
        x.need.passthrough = true;
        x.vgpus = 1 + static_cast<int>(rng() % 2);
        if (rng() % 2 == 0) x.need.boards = {&BoardNamed(boards[rng() % boards.size()])};
      }
      x.cpus = static_cast<int>(rng() % 8);
      if (rng() % 5 == 0) x.anti_affinity = StrCat("g", rng() % 2);
      if (rng() % 8 == 0) x.host_labels["zone"] = "z1";
      vms.push_back(vm);
    }
    Cluster a = c, b = c;
    internal::Placer indexed(a, options, true), scan(b, options, false);
    std::vector<int> running;
    for (int vm : vms) {
      Decision x = indexed.Decide(a, vm);
      Decision y = scan.Decide(b, vm);
      ++decisions;
      ASSERT_EQ(x.assignment.has_value(), y.assignment.has_value())
          << "seed " << seed << " vm " << vm << ": " << x.explanation << " | " << y.explanation;
      if (x.assignment) {
        ASSERT_EQ(x.assignment->host, y.assignment->host) << "seed " << seed << " vm " << vm;
        ASSERT_EQ(x.assignment->gpus, y.assignment->gpus) << "seed " << seed << " vm " << vm;
        ASSERT_EQ(x.assignment->types, y.assignment->types) << "seed " << seed << " vm " << vm;
        EXPECT_EQ(x.explanation, y.explanation);
        indexed.Commit(a, *x.assignment);
        scan.Commit(b, *y.assignment);
        running.push_back(vm);
        ++placed;
      } else {
        EXPECT_EQ(x.explanation, y.explanation);
      }
      if (!running.empty() && rng() % 4 == 0) {  // a departure
        const std::size_t k = rng() % running.size();
        indexed.Remove(a, running[k]);
        scan.Remove(b, running[k]);
        EXPECT_EQ(indexed.LocationOf(running[k]).host, -1);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
        ++removed;
      }
    }
    EXPECT_THAT(Violations(a), IsEmpty()) << "seed " << seed;
    fast += indexed.index_answers();
    EXPECT_EQ(scan.index_answers(), 0);
    // Removing every VM leaves the cluster as empty as it started.
    for (int vm : running) indexed.Remove(a, vm);
    for (const Host& h : a.hosts) {
      for (const Gpu& g : h.gpus) EXPECT_THAT(g.instances, IsEmpty()) << "seed " << seed;
    }
  }
  EXPECT_GT(placed, 1500);
  EXPECT_GT(removed, 300);
  EXPECT_GT(decisions, placed);
  EXPECT_GT(fast, placed * 9 / 10);  // the index answered nearly every placement
}

// Several vGPUs by requirement: h0's best GPU (an 8C slot that fills its GPU) is of a family
// with one GPU there, so h0 offers its Q family, whose best GPU scores worse than h1's. The
// index must not stop at the first host it meets.
TEST(PlacerIndexTest, SeveralVgpusByRequirementTakeTheBestFamilyOfAnyHost) {
  Cluster c;
  AddHost(c, "h0", "P40", 3);
  AddHost(c, "h1", "P40", 2);
  Occupy(c, 0, 0, "P40-8C", 2);  // one 8C left: the best single slot of the cluster
  Occupy(c, 0, 1, "P40-8Q", 1);
  Occupy(c, 0, 2, "P40-8Q", 1);
  Occupy(c, 1, 0, "P40-8Q", 2);
  Occupy(c, 1, 1, "P40-8Q", 2);
  const int vm = AddVm(c, "pair", "P40-8Q", 2);
  c.vms.back().need = Requirement{};
  c.vms.back().need.min_framebuffer_mib = 8192;
  c.vms.back().need.cuda = true;
  Cluster scanned = c;
  internal::Placer indexed(c, {}, true), scan(scanned, {}, false);
  Decision x = indexed.Decide(c, vm);
  Decision y = scan.Decide(scanned, vm);
  ASSERT_TRUE(x.assignment) << x.explanation;
  ASSERT_TRUE(y.assignment) << y.explanation;
  EXPECT_EQ(y.assignment->host, 1) << y.explanation;
  EXPECT_EQ(x.explanation, y.explanation);
  EXPECT_EQ(indexed.index_answers(), 1);
}

TEST(PlacerIndexTest, FastPathMatchesTheFullScan) {
  ExpectFastPathMatchesTheFullScan(Policy::kFragmentationAware);
}

TEST(PlacerIndexTest, FastPathMatchesTheFullScanWhenSpreading) {
  ExpectFastPathMatchesTheFullScan(Policy::kSpread);
}

TEST(PlacerIndexTest, FastPathMatchesTheFullScanWhenConsolidating) {
  ExpectFastPathMatchesTheFullScan(Policy::kConsolidate);
}

// The same on boards large enough for the reserve (placer.h), driven near full with VMs leaving,
// so that the reserve and the observed MIG mix decide many placements.
TEST(PlacerIndexTest, FastPathMatchesTheFullScanOnNearlyFullLargeBoards) {
  const std::vector<std::string> types = {"T4-2Q",       "T4-4Q",       "T4-8C",
                                          "T4-16Q",      "A100D-1-10C", "A100D-2-20C",
                                          "A100D-3-40C", "A100D-7-80C"};
  int reserved = 0;
  long long fast = 0;
  int placed = 0;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    std::mt19937 rng(seed);
    Cluster c;
    for (int h = 0; h < 10; ++h) AddHost(c, StrCat("t", h), "T4", 4);
    for (int h = 0; h < 10; ++h) {
      AddHost(c, StrCat("a", h), "A100D", 4);
      for (Gpu& g : c.hosts.back().gpus) g.mode = GpuMode::kMig;
    }
    std::vector<int> vms;
    for (int v = 0; v < 700; ++v) {
      vms.push_back(
          AddVm(c, StrCat("vm", v), types[rng() % types.size()], rng() % 30 == 0 ? 2 : 1));
    }
    Cluster a = c, b = c;
    internal::Placer indexed(a, {}, true), scan(b, {}, false);
    indexed.set_reserve(true);
    scan.set_reserve(true);
    std::vector<int> running;
    for (int vm : vms) {
      Decision x = indexed.Decide(a, vm);
      Decision y = scan.Decide(b, vm);
      ASSERT_EQ(x.assignment.has_value(), y.assignment.has_value()) << "seed " << seed;
      EXPECT_EQ(x.explanation, y.explanation) << "seed " << seed << " vm " << vm;
      if (x.assignment) {
        ASSERT_EQ(x.assignment->host, y.assignment->host) << "seed " << seed << " vm " << vm;
        ASSERT_EQ(x.assignment->gpus, y.assignment->gpus) << "seed " << seed << " vm " << vm;
        const Gpu& gpu = a.hosts[static_cast<std::size_t>(x.assignment->host)]
                             .gpus[static_cast<std::size_t>(x.assignment->gpus.front())];
        // A reserve placement opens an empty GPU while a partly filled one of the type exists.
        if (gpu.instances.empty() && x.assignment->types.front()->max_instances > 1) {
          const core::VgpuType* t = x.assignment->types.front();
          for (const Host& h : a.hosts) {
            bool partial = false;
            for (const Gpu& g : h.gpus) {
              partial = partial || (!g.instances.empty() && FreeCount(g, *t, {}) > 0);
            }
            if (partial) {
              ++reserved;
              break;
            }
          }
        }
        indexed.Commit(a, *x.assignment);
        scan.Commit(b, *y.assignment);
        running.push_back(vm);
        ++placed;
      }
      // Departures at about the arrival rate once the cluster is loaded keep it near full.
      while (running.size() > 150 && rng() % 2 == 0) {
        const std::size_t k = rng() % running.size();
        indexed.Remove(a, running[k]);
        scan.Remove(b, running[k]);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
      }
    }
    EXPECT_THAT(Violations(a), IsEmpty()) << "seed " << seed;
    fast += indexed.index_answers();
  }
  EXPECT_GT(reserved, 10);
  EXPECT_GT(fast, placed * 9 / 10);
}

// A what-if move (Remove, Commit elsewhere) is undone exactly by Remove + Commit of the
// assignment the VM had.
TEST(PlacerIndexTest, UndoRestoresTheDecisions) {
  Cluster c;
  for (int h = 0; h < 4; ++h) AddHost(c, StrCat("h", h), "A100D", 2);
  for (Gpu& g : c.hosts[0].gpus) g.mode = GpuMode::kMig;
  std::vector<int> vms;
  for (int v = 0; v < 12; ++v) {
    vms.push_back(AddVm(c, StrCat("vm", v), v % 2 ? "A100D-2-20C" : "A100D-20C"));
  }
  internal::Placer placer(c, {});
  for (int vm : vms) {
    Decision d = placer.Decide(c, vm);
    ASSERT_TRUE(d.assignment) << d.explanation;
    placer.Commit(c, *d.assignment);
  }
  const int probe = AddVm(c, "probe", "A100D-1-10C");
  const Decision expected = placer.Decide(c, probe);
  for (int vm : vms) {
    const Assignment was = placer.CurrentAssignment(c, vm);
    placer.Remove(c, vm);
    placer.Exclude(was.host);
    Decision d = placer.Decide(c, vm);
    if (d.assignment) {
      placer.Commit(c, *d.assignment);
      placer.Remove(c, vm);
    }
    placer.ClearExclusions();
    placer.Commit(c, was);
    EXPECT_EQ(placer.CurrentAssignment(c, vm).gpus, was.gpus);
  }
  const Decision after = placer.Decide(c, probe);
  ASSERT_TRUE(expected.assignment && after.assignment);
  EXPECT_EQ(after.assignment->host, expected.assignment->host);
  EXPECT_EQ(after.assignment->gpus, expected.assignment->gpus);
  EXPECT_EQ(after.assignment->fits[0].placement, expected.assignment->fits[0].placement);
  EXPECT_THAT(Violations(c), IsEmpty());
}

// The plan report draws MIG and mixed-size GPUs as rows of slots: each instance has its
// placement and span, the GPU its slot count.
TEST(PlanJsonTest, MigAndMixedSizeGpusCarryTheirGeometry) {
  Cluster c;
  AddHost(c, "a100", "A100", 1);
  c.hosts[0].gpus[0].mode = GpuMode::kMig;
  AddHost(c, "l40s", "L40S", 1);
  c.hosts[1].gpus[0].mode = GpuMode::kMixedSize;
  c.hosts[1].manager = *core::DriverVersion::Parse("550.54.10");  // mixed-size needs vGPU 17
  c.mixed_size["L40S"] = MixedSizeGeometry{.slot_mib = 1024, .slots = 48, .reserved_slots = 2};
  for (const char* type : {"A100-3-20C", "A100-1-5C", "L40S-24Q", "L40S-8Q"}) {
    const int vm = AddVm(c, type, type);
    Decision d = Place(c, vm);
    ASSERT_TRUE(d.assignment) << type << ": " << d.explanation;
    Apply(c, *d.assignment);
  }
  const nlohmann::json mig = GpuJson(c, c.hosts[0].gpus[0]);
  EXPECT_EQ(mig["slots"], 8);
  ASSERT_EQ(mig["instances"].size(), 2u);
  for (const nlohmann::json& i : mig["instances"]) {
    EXPECT_EQ(i["span"], i["type"] == "A100-3-20C" ? 4 : 1) << i.dump();
    EXPECT_TRUE(i.contains("placement"));
  }
  const nlohmann::json mixed = GpuJson(c, c.hosts[1].gpus[0]);
  EXPECT_EQ(mixed["slots"], 46);
  EXPECT_EQ(mixed["reserved_slots"], 2);
  for (const nlohmann::json& i : mixed["instances"]) {
    EXPECT_EQ(i["span"], i["type"] == "L40S-24Q" ? 24 : 8) << i.dump();
  }
  EXPECT_FALSE(GpuJson(c, c.hosts[0].gpus[0]).contains("reserved_slots"));
}

}  // namespace
}  // namespace gpufleet::planner
