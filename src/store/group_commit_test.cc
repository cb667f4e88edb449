#include <atomic>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/status_macros.h"
#include "common/strings.h"
#include "gtest/gtest.h"
#include "store/sqlite_store.h"
#include "store/store_testing.h"

namespace gpufleet::store {
namespace {

using testing::TempDir;
using testing::TestEpoch;
using testing::TestOptions;

class GroupCommitTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    SqliteStoreOptions options = TestOptions(clock_);
    options.group_commit = GetParam();
    absl::StatusOr<std::unique_ptr<SqliteStore>> s = SqliteStore::Open(dir_.path(), options);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override { EXPECT_TRUE(store_->CheckIntegrity().ok()); }

  // Waits until `n` Write calls are queued behind the one the committer is running.
  void AwaitQueued(int64_t n) {
    while (store_->stats().queued < n) std::this_thread::yield();
  }

  TempDir dir_;
  os::FakeClock clock_{TestEpoch()};
  std::unique_ptr<SqliteStore> store_;
};

INSTANTIATE_TEST_SUITE_P(GroupCommit, GroupCommitTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "On" : "Off";
                         });

TEST_P(GroupCommitTest, ConcurrentWritersAreAllDurableAndCounted) {
  constexpr int kThreads = 8;
  constexpr int kWrites = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
          Vm vm{.name = StrCat("vm-", t, "-", i), .spec_json = "{}"};
          GPUFLEET_RETURN_IF_ERROR(tx.CreateVm(vm));
          Event e{.kind = "vm.created", .object = StrCat("vm/", vm.name)};
          return tx.AppendEvent(e);
        });
        if (!s.ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  SqliteStore::Stats stats = store_->stats();
  EXPECT_EQ(stats.writes, kThreads * kWrites);
  EXPECT_LE(stats.commits, stats.writes);
  if (!GetParam()) {
    EXPECT_EQ(stats.commits, stats.writes);
  }

  std::vector<Vm> vms;
  std::vector<Event> events;
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(vms, tx.ListVms());
                    GPUFLEET_ASSIGN_OR_RETURN(events, tx.ListEvents({.limit = 10000}));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(vms.size(), static_cast<std::size_t>(kThreads * kWrites));
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kThreads * kWrites));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<int64_t>(i) + 1);  // dense and ordered
  }
  EXPECT_EQ(store_->LastEventSeq(), kThreads * kWrites);
}

// One batch of three callers, the middle one failing: only its writes are rolled back.
TEST_P(GroupCommitTest, OneFailingCallerDoesNotRollBackTheOthers) {
  std::promise<void> first_running;
  std::promise<void> release_first;
  std::thread first([&] {
    EXPECT_TRUE(store_
                    ->Write([&](WriteTx& tx) {
                      first_running.set_value();
                      release_first.get_future().wait();
                      Vm vm{.name = "first", .spec_json = "{}"};
                      return tx.CreateVm(vm);
                    })
                    .ok());
  });
  first_running.get_future().wait();
  // The committer is busy with `first`; these three queue up and go into one batch.
  SqliteStore::Stats before = store_->stats();
  absl::Status results[3];
  std::vector<std::thread> callers;
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&, i] {
      results[i] = store_->Write([i](WriteTx& tx) -> absl::Status {
        Vm vm{.name = StrCat("caller-", i), .spec_json = "{}"};
        GPUFLEET_RETURN_IF_ERROR(tx.CreateVm(vm));
        Event e{.kind = "vm.created", .object = StrCat("vm/caller-", i)};
        GPUFLEET_RETURN_IF_ERROR(tx.AppendEvent(e));
        if (i == 1) {
          Vm dup{.name = "first", .spec_json = "{}"};  // created by `first`, in the batch before
          return tx.CreateVm(dup);
        }
        return absl::OkStatus();
      });
    });
    AwaitQueued(i + 1);  // in this order, so caller 1 sits between the two others
  }
  release_first.set_value();
  first.join();
  for (std::thread& t : callers) t.join();

  EXPECT_TRUE(results[0].ok()) << results[0];
  EXPECT_EQ(results[1].code(), absl::StatusCode::kAlreadyExists) << results[1];
  EXPECT_TRUE(results[2].ok()) << results[2];
  SqliteStore::Stats after = store_->stats();
  EXPECT_EQ(after.writes - before.writes, 4);
  // Group commit: `first`, then the three in one transaction. Off: one transaction each.
  EXPECT_EQ(after.commits - before.commits, GetParam() ? 2 : 3);

  std::set<std::string> names;
  std::vector<Event> events;
  ASSERT_TRUE(store_
                  ->Read([&](ReadTx& tx) -> absl::Status {
                    GPUFLEET_ASSIGN_OR_RETURN(auto vms, tx.ListVms());
                    for (const Vm& vm : vms) names.insert(vm.name);
                    GPUFLEET_ASSIGN_OR_RETURN(events, tx.ListEvents({}));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(names, (std::set<std::string>{"caller-0", "caller-2", "first"}));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].object, "vm/caller-0");
  EXPECT_EQ(events[0].seq, 1);
  EXPECT_EQ(events[1].object, "vm/caller-2");
  EXPECT_EQ(events[1].seq, 2);  // the failed caller's seq was rolled back with it
}

// Count-then-insert under 8 threads never puts more than kSlots instances on a GPU.
TEST_P(GroupCommitTest, ReadCheckWriteNeverDoubleBooks) {
  constexpr int kThreads = 8;
  constexpr int kAttempts = 12;
  constexpr std::size_t kSlots = 3;
  const std::vector<std::string> gpus = {"gpu0", "gpu1", "gpu2"};
  ASSERT_TRUE(store_
                  ->Write([&](WriteTx& tx) -> absl::Status {
                    Host h{.name = "h1"};
                    GPUFLEET_RETURN_IF_ERROR(tx.CreateHost(h));
                    for (const std::string& id : gpus) {
                      Gpu g{.host = "h1", .id = id};
                      GPUFLEET_RETURN_IF_ERROR(tx.CreateGpu(g));
                    }
                    for (int t = 0; t < kThreads; ++t) {
                      Vm vm{.name = StrCat("vm-", t), .spec_json = "{}"};
                      GPUFLEET_RETURN_IF_ERROR(tx.CreateVm(vm));
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  std::atomic<int> placed{0};
  std::atomic<int> full{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int a = 0; a < kAttempts; ++a) {
        absl::Status s = store_->Write([&](WriteTx& tx) -> absl::Status {
          // First GPU with a free slot, as a placer would choose.
          for (const std::string& gpu : gpus) {
            GPUFLEET_ASSIGN_OR_RETURN(auto on_gpu,
                                      tx.ListDesiredInstances({.host = "h1", .gpu = gpu}));
            if (on_gpu.size() >= kSlots) continue;
            std::array<uint8_t, 16> bytes{};
            bytes[0] = static_cast<uint8_t>(t);
            bytes[1] = static_cast<uint8_t>(a);
            DesiredInstance d{.uuid = Uuid(bytes),
                              .vm = StrCat("vm-", t),
                              .index = a,
                              .host = "h1",
                              .gpu = gpu,
                              .type = "P40-8Q"};
            return tx.CreateDesiredInstance(d);
          }
          return absl::ResourceExhaustedError("no free slot");
        });
        if (s.ok()) {
          placed.fetch_add(1);
        } else if (s.code() == absl::StatusCode::kResourceExhausted) {
          full.fetch_add(1);
        } else {
          other.fetch_add(1);
          ADD_FAILURE() << s;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(placed.load(), static_cast<int>(kSlots * gpus.size()));
  EXPECT_EQ(full.load(), kThreads * kAttempts - placed.load());
  EXPECT_EQ(other.load(), 0);
  for (const std::string& gpu : gpus) {
    std::size_t count = 0;
    ASSERT_TRUE(store_
                    ->Read([&](ReadTx& tx) -> absl::Status {
                      GPUFLEET_ASSIGN_OR_RETURN(
                          auto rows, tx.ListDesiredInstances({.host = "h1", .gpu = gpu}));
                      count = rows.size();
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(count, kSlots) << gpu;
  }
}

// Optimistic concurrency across transactions: of 8 read-modify-write callers that all read
// version 1 before anyone writes, exactly one wins.
TEST_P(GroupCommitTest, StaleUpdatesLoseToTheFirstWriter) {
  Vm vm{.name = "web-1", .spec_json = "{}"};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateVm(vm); }).ok());
  constexpr int kThreads = 8;
  std::atomic<int> ok{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Vm mine = vm;  // version 1, as read by an API request earlier
      mine.phase = StrCat("set by ", t);
      absl::Status s = store_->Write([&](WriteTx& tx) {
        Vm attempt = mine;
        return tx.UpdateVm(attempt);
      });
      if (s.ok()) ok.fetch_add(1);
      if (s.code() == absl::StatusCode::kFailedPrecondition) conflicts.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
}

TEST_P(GroupCommitTest, OneEnrolmentTokenEnrolsOneAgent) {
  EnrolmentToken token{
      .sha256 = std::string(64, 'e'), .name = "h3", .expires_at = TestEpoch() + absl::Hours(1)};
  ASSERT_TRUE(store_->Write([&](WriteTx& tx) { return tx.CreateEnrolmentToken(token); }).ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      absl::Status s = store_->Write([&](WriteTx& tx) {
        return ConsumeEnrolmentToken(tx, token.sha256, StrCat("agent-", t), TestEpoch()).status();
      });
      if (s.ok()) ok.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
}

}  // namespace
}  // namespace gpufleet::store
