// The license ledger over real HTTP: pools, seats taken by placements and returned by deletes,
// placements refused when an edition is out of seats, leases reported by the agent, metrics.

#include "controller/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gpufleet::controller {
namespace {

using testing::Bearer;
using ::testing::HasSubstr;
using testing::JsonOf;
using testing::P40Host;
using testing::TempDir;
using testing::TestController;

class LicensesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    op_ = tc_.TokenFor("ops", "operator");
    for (int i = 1; i <= 2; ++i) {
      auto r = tc_.Client().Put(StrCat("/api/v1/hosts/r730-", i), Bearer(tc_.admin_token()),
                                P40Host(1).dump(), "application/json");
      ASSERT_TRUE(r && (r->status == 201 || r->status == 200));
    }
  }
  httplib::Result PutPool(std::string_view name, const nlohmann::json& body) {
    return tc_.Client().Put(StrCat("/api/v1/licenses/pools/", name), Bearer(tc_.admin_token()),
                            body.dump(), "application/json");
  }
  httplib::Result CreateVm(std::string_view name, std::string_view type) {
    return tc_.Client().Post("/api/v1/vms", Bearer(op_),
                             nlohmann::json({{"name", name}, {"type", type}}).dump(),
                             "application/json");
  }
  nlohmann::json Ledger() { return JsonOf(tc_.Client().Get("/api/v1/licenses", Bearer(op_))); }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string op_;
};

TEST_F(LicensesTest, PlacementsTakeSeatsUntilTheEditionRunsOut) {
  ASSERT_EQ(CreateVm("early", "P40-2Q")->status, 201);  // before any pool: not limited
  auto made = PutPool("vws-a", {{"edition", "vws"}, {"seats", 2}});
  ASSERT_TRUE(made);
  ASSERT_EQ(made->status, 201) << made->body;
  EXPECT_EQ(JsonOf(made)["edition"], "vWS");
  nlohmann::json ledger = Ledger();
  ASSERT_EQ(ledger["seats"].size(), 1u);  // the running VM took a seat of the new pool
  EXPECT_EQ(ledger["seats"][0]["vm"], "early");
  EXPECT_EQ(ledger["seats"][0]["lease"], "unknown");

  ASSERT_EQ(CreateVm("web-1", "P40-2Q")->status, 201);
  auto refused = CreateVm("web-2", "P40-2Q");
  EXPECT_EQ(refused->status, 409);
  EXPECT_THAT(JsonOf(refused)["message"].get<std::string>(), HasSubstr("vWS"));
  // vCS (a C type) has no pool: not limited.
  EXPECT_EQ(CreateVm("cuda-1", "P40-4C")->status, 201);

  ledger = Ledger();
  ASSERT_EQ(ledger["editions"].size(), 1u);
  EXPECT_EQ(ledger["editions"][0]["used"], 2);
  EXPECT_EQ(ledger["editions"][0]["free"], 0);
  auto shrink = PutPool("vws-a", {{"edition", "vWS"}, {"seats", 1}});
  EXPECT_EQ(shrink->status, 409);
  EXPECT_EQ(JsonOf(shrink)["field"], "seats");
  auto busy = tc_.Client().Delete("/api/v1/licenses/pools/vws-a", Bearer(tc_.admin_token()));
  EXPECT_EQ(busy->status, 409);
  EXPECT_THAT(JsonOf(busy)["message"].get<std::string>(), HasSubstr("early"));

  ASSERT_EQ(tc_.Client().Delete("/api/v1/vms/web-1", Bearer(op_))->status, 204);
  EXPECT_EQ(Ledger()["editions"][0]["used"], 1);
  EXPECT_EQ(CreateVm("web-2", "P40-2Q")->status, 201);  // the freed seat
}

TEST_F(LicensesTest, PoolsAreAdminOnlyAndChecked) {
  auto as_operator = tc_.Client().Put("/api/v1/licenses/pools/x", Bearer(op_),
                                      R"({"edition":"vWS","seats":1})", "application/json");
  EXPECT_EQ(as_operator->status, 403);
  auto bad = PutPool("x", {{"edition", "vGPU"}, {"seats", 1}});
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(JsonOf(bad)["field"], "edition");
  auto negative = PutPool("x", {{"edition", "vWS"}, {"seats", -1}});
  EXPECT_EQ(negative->status, 400);
  EXPECT_EQ(JsonOf(negative)["field"], "seats");
  auto created = PutPool("x", {{"edition", "vApps"}, {"seats", 4}});
  ASSERT_EQ(created->status, 201);
  auto stale = tc_.Client().Put(
      "/api/v1/licenses/pools/x",
      {{"Authorization", StrCat("Bearer ", tc_.admin_token())}, {"If-Match", "\"v9\""}},
      R"({"edition":"vApps","seats":8})", "application/json");
  EXPECT_EQ(stale->status, 412);
  EXPECT_EQ(PutPool("x", {{"edition", "vApps"}, {"seats", 8}})->status, 200);
  EXPECT_EQ(tc_.Client().Delete("/api/v1/licenses/pools/x", Bearer(tc_.admin_token()))->status,
            204);
  EXPECT_TRUE(Ledger()["pools"].empty());
}

TEST_F(LicensesTest, AgentsReportLeasesOfTheirOwnVms) {
  ASSERT_EQ(PutPool("vws", {{"edition", "vWS"}, {"seats", 4}})->status, 201);
  auto vm = CreateVm("web-1", "P40-8Q");
  ASSERT_EQ(vm->status, 201);
  const std::string host = JsonOf(vm)["vgpus"][0]["host"];
  const std::string other = host == "r730-1" ? "r730-2" : "r730-1";
  const std::string agent = tc_.AgentFor(host);
  const std::string stranger = tc_.AgentFor(other);
  auto path = [](std::string_view h) { return StrCat("/api/v1/hosts/", h, "/leases/web-1"); };
  auto lease = tc_.Client().Put(path(host), Bearer(agent), R"({"expires_in_seconds":86400})",
                                "application/json");
  ASSERT_TRUE(lease);
  ASSERT_EQ(lease->status, 200) << lease->body;
  EXPECT_EQ(JsonOf(lease)["lease"], "valid");
  EXPECT_EQ(
      tc_.Client()
          .Put(path(host), Bearer(stranger), R"({"expires_in_seconds":1})", "application/json")
          ->status,
      403);
  auto elsewhere = tc_.Client().Put(path(other), Bearer(stranger), R"({"expires_in_seconds":1})",
                                    "application/json");
  EXPECT_EQ(elsewhere->status, 404);
  EXPECT_EQ(JsonOf(elsewhere)["field"], "vm");

  clock_.Advance(absl::Hours(23) + absl::Minutes(30));
  nlohmann::json seat = Ledger()["seats"][0];
  EXPECT_EQ(seat["lease"], "expiring");
  EXPECT_EQ(seat["expires_in_seconds"], 1800);
  auto metrics = tc_.Client().Get("/metrics", Bearer(op_));
  EXPECT_THAT(metrics->body,
              HasSubstr(R"(gpufleet_license_lease_expiry_seconds{vm="web-1",edition="vWS"} 1800)"));
  EXPECT_THAT(metrics->body, HasSubstr(R"(gpufleet_license_seats{edition="vWS",state="used"} 1)"));
  EXPECT_THAT(metrics->body, HasSubstr(R"(gpufleet_license_seats{edition="vWS",state="total"} 4)"));

  auto lost = tc_.Client().Put(path(host), Bearer(agent), R"({"expires_in_seconds":0})",
                               "application/json");
  EXPECT_EQ(JsonOf(lost)["lease"], "expired");
  auto events = JsonOf(tc_.Client().Get("/api/v1/events?kind=license.lost", Bearer(op_)));
  ASSERT_EQ(events["items"].size(), 1u);
  EXPECT_THAT(events["items"][0]["message"].get<std::string>(), HasSubstr("3 fps"));
  EXPECT_EQ(
      JsonOf(tc_.Client().Get("/api/v1/events?kind=license.acquired", Bearer(op_)))["items"].size(),
      1u);
}

TEST_F(LicensesTest, TheControllerWarnsBeforeAndAfterAnUnrenewedLeaseEnds) {
  ASSERT_EQ(PutPool("vws", {{"edition", "vWS"}, {"seats", 4}})->status, 201);
  auto vm = CreateVm("web-1", "P40-8Q");
  ASSERT_EQ(vm->status, 201);
  const std::string host = JsonOf(vm)["vgpus"][0]["host"];
  const std::string agent = tc_.AgentFor(host);
  auto report = [&](int seconds) {
    return tc_.Client()
        .Put(StrCat("/api/v1/hosts/", host, "/leases/web-1"), Bearer(agent),
             nlohmann::json({{"expires_in_seconds", seconds}}).dump(), "application/json")
        ->status;
  };
  auto count = [&](std::string_view kind) {
    return JsonOf(tc_.Client().Get(StrCat("/api/v1/events?kind=", kind), Bearer(op_)))["items"]
        .size();
  };
  auto sweep = [&](absl::Duration step) {
    clock_.Advance(step);
    ASSERT_TRUE(tc_.controller().SweepLiveness().ok());
  };
  ASSERT_EQ(report(2 * 3600), 200);
  sweep(absl::Minutes(30));  // 90 min left: nothing to say
  EXPECT_EQ(count("license.expiring"), 0u);
  sweep(absl::Minutes(40));  // 50 min left and not renewed
  EXPECT_EQ(count("license.expiring"), 1u);
  sweep(absl::Minutes(20));  // still expiring: said once
  EXPECT_EQ(count("license.expiring"), 1u);
  EXPECT_EQ(count("license.expired"), 0u);
  sweep(absl::Minutes(31));  // ran out with no report
  EXPECT_EQ(count("license.expired"), 1u);
  sweep(absl::Minutes(5));
  EXPECT_EQ(count("license.expired"), 1u);
  auto expired = JsonOf(tc_.Client().Get("/api/v1/events?kind=license.expired", Bearer(op_)));
  EXPECT_THAT(expired["items"][0]["message"].get<std::string>(), HasSubstr("CUDA disabled"));
  // A renewal, then a report of no lease at all: license.lost from the report, no second event.
  ASSERT_EQ(report(86400), 200);
  ASSERT_EQ(report(0), 200);
  sweep(absl::Minutes(5));
  EXPECT_EQ(count("license.expired"), 1u);
  EXPECT_EQ(count("license.lost"), 1u);
}

}  // namespace
}  // namespace gpufleet::controller
