// Eight clients create VMs at once on a small cluster: no GPU ever holds more vGPUs than its
// type allows, every refusal is a 409 naming the binding constraint, and the number placed is
// exactly the capacity.

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using ::testing::HasSubstr;
using testing::JsonOf;
using testing::TempDir;
using testing::TestController;

TEST(ConcurrencyTest, ParallelCreatesNeverExceedAGpu) {
  TempDir dir;
  os::FakeClock clock(testing::TestEpoch());
  TestController tc(dir.path(), &clock);
  ASSERT_TRUE(tc.Start().ok());
  // Two hosts, three P40s: 3 x 8Q each = 9 slots.
  for (auto [host, gpus] : {std::pair{"h1", 2}, std::pair{"h2", 1}}) {
    auto r = tc.Client().Put(StrCat("/api/v1/hosts/", host), Bearer(tc.admin_token()),
                             testing::P40Host(gpus).dump(), "application/json");
    ASSERT_EQ(r->status, 201);
  }
  const std::string op = tc.TokenFor("olga", "operator");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 3;
  std::atomic<int> created{0};
  std::mutex mu;
  std::vector<std::string> unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c = tc.Client();
      for (int i = 0; i < kPerThread; ++i) {
        nlohmann::json body = {{"name", StrCat("vm-", t, "-", i)}, {"type", "P40-8Q"}};
        auto r = c.Post("/api/v1/vms", Bearer(op), body.dump(), "application/json");
        std::lock_guard<std::mutex> lock(mu);
        if (!r) {
          unexpected.push_back("no response");
        } else if (r->status == 201) {
          ++created;
        } else if (r->status != 409 || JsonOf(r)["message"].get<std::string>().find(
                                           "no place for P40-8Q") == std::string::npos) {
          unexpected.push_back(StrCat(r->status, " ", r->body));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(unexpected.empty()) << unexpected.front();
  EXPECT_EQ(created.load(), 9);

  std::map<std::string, int> per_gpu;
  auto vms = tc.Client().Get("/api/v1/vms?limit=1000", Bearer(op));
  const nlohmann::json listed = JsonOf(vms);
  for (const auto& vm : listed["items"]) {
    for (const auto& g : vm["vgpus"]) {
      ++per_gpu[StrCat(g["host"].get<std::string>(), "/", g["gpu"].get<std::string>())];
    }
  }
  EXPECT_EQ(per_gpu.size(), 3u);
  for (const auto& [gpu, n] : per_gpu) EXPECT_LE(n, 3) << gpu;
  EXPECT_TRUE(tc.store().CheckIntegrity().ok());
}

}  // namespace
}  // namespace gpufleet::controller
