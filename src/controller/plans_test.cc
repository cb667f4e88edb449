// The dry-run plans over real HTTP: the types that fit now, a placement preview, a VM's
// migration destinations, a demand planned on the live fleet, and whoami; none changes anything.

#include "controller/plans.h"

#include <chrono>
#include <thread>

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

constexpr std::string_view kSeedDemand = R"(vms:
  - name: "light-{n}"
    type: P40-3Q
    count: 12
  - name: "model-{n}"
    type: P40-8Q
    count: 3
)";

class PlansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Start().ok());
    op_ = tc_.TokenFor("ops", "operator");
    viewer_ = tc_.TokenFor("eyes", "viewer");
    for (int i = 1; i <= 3; ++i) {
      auto r = tc_.Client().Put(StrCat("/api/v1/hosts/r730-", i), Bearer(tc_.admin_token()),
                                P40Host(1).dump(), "application/json");
      ASSERT_TRUE(r && (r->status == 201 || r->status == 200));
    }
  }
  int CreateVm(std::string_view name, std::string_view type) {
    auto r = tc_.Client().Post("/api/v1/vms", Bearer(op_),
                               nlohmann::json({{"name", name}, {"type", type}}).dump(),
                               "application/json");
    return r ? r->status : 0;
  }
  nlohmann::json Types() {
    auto r = tc_.Client().Get("/api/v1/plans/types", Bearer(viewer_));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    const nlohmann::json body = JsonOf(r);
    nlohmann::json by_type = nlohmann::json::object();
    for (const nlohmann::json& item : body["items"]) by_type[item["type"]] = item;
    return by_type;
  }
  httplib::Result PostAs(const std::string& token, std::string_view path,
                         const nlohmann::json& body) {
    return tc_.Client().Post(std::string(path), Bearer(token), body.dump(), "application/json");
  }

  TempDir dir_;
  os::FakeClock clock_{testing::TestEpoch()};
  TestController tc_{dir_.path(), &clock_};
  std::string op_, viewer_;
};

TEST_F(PlansTest, TypesSayWhatFitsNowAndHowManyMore) {
  nlohmann::json types = Types();
  ASSERT_TRUE(types.contains("P40-8Q"));
  EXPECT_EQ(types["P40-8Q"]["fits"], true);
  EXPECT_EQ(types["P40-8Q"]["free"], 9);  // three empty P40s, three 8Q slots each
  EXPECT_EQ(types["P40-8Q"]["board"], "P40");
  EXPECT_EQ(types["P40-8Q"]["framebuffer_mib"], 8192);
  EXPECT_EQ(types["P40-8Q"]["edition"], "vWS");
  EXPECT_EQ(types["P40-24Q"]["free"], 3);

  // Three 3Q VMs carve one P40 for 3Q: 8Q is left the two other GPUs; 3Q has 5 + 2 x 8 slots.
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(CreateVm(StrCat("light-", i), "P40-3Q"), 201);
  types = Types();
  EXPECT_EQ(types["P40-8Q"]["free"], 6);
  EXPECT_EQ(types["P40-3Q"]["free"], 21);

  // Fill the other two GPUs with 8Q: nothing fits for 8Q or 24Q, and the reason says why.
  for (int i = 1; i <= 6; ++i) ASSERT_EQ(CreateVm(StrCat("model-", i), "P40-8Q"), 201);
  types = Types();
  EXPECT_EQ(types["P40-8Q"]["fits"], false);
  EXPECT_EQ(types["P40-8Q"]["free"], 0);
  EXPECT_THAT(types["P40-8Q"]["explanation"].get<std::string>(), HasSubstr("P40"));
  EXPECT_EQ(types["P40-24Q"]["fits"], false);
  EXPECT_EQ(types["P40-3Q"]["fits"], true);
  EXPECT_EQ(types["P40-3Q"]["free"], 5);
  // A dry run adds no VM.
  EXPECT_EQ(JsonOf(tc_.Client().Get("/api/v1/vms", Bearer(viewer_)))["items"].size(), 9u);
}

TEST_F(PlansTest, TypesCountEachBoardOnItsOwnGpusAndOnlyOnReadyHosts) {
  nlohmann::json t4 = P40Host(2);
  t4["gpus"][0]["board"] = "T4";
  t4["gpus"][1]["board"] = "T4";
  auto put = tc_.Client().Put("/api/v1/hosts/t4-1", Bearer(tc_.admin_token()), t4.dump(),
                              "application/json");
  ASSERT_TRUE(put && put->status == 201) << (put ? put->body : "no response");
  nlohmann::json types = Types();
  EXPECT_EQ(types["T4-4Q"]["board"], "T4");
  EXPECT_EQ(types["T4-4Q"]["free"], 8);   // two T4s, four 4Q slots each
  EXPECT_EQ(types["P40-8Q"]["free"], 9);  // unchanged by the T4s

  // A host in maintenance offers nothing.
  auto evacuate = PostAs(op_, "/api/v1/operations", {{"kind", "evacuate"}, {"host", "t4-1"}});
  ASSERT_TRUE(evacuate && evacuate->status == 202) << (evacuate ? evacuate->body : "");
  for (int i = 0; i < 500 && Types()["T4-4Q"]["fits"] == true; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  types = Types();
  EXPECT_EQ(types["T4-4Q"]["fits"], false);
  EXPECT_EQ(types["T4-4Q"]["free"], 0);
  EXPECT_EQ(types["P40-8Q"]["free"], 9);
}

TEST_F(PlansTest, PlacePreviewsAndRecordsNothing) {
  auto r = PostAs(viewer_, "/api/v1/plans/place", {{"name", "big"}, {"type", "p40-8q"}});
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  nlohmann::json j = JsonOf(r);
  EXPECT_EQ(j["fits"], true);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_THAT(j["host"].get<std::string>(), HasSubstr("r730-"));
  ASSERT_EQ(j["vgpus"].size(), 1u);
  EXPECT_EQ(j["vgpus"][0]["type"], "P40-8Q");
  EXPECT_EQ(j["vgpus"][0]["gpu"], "0000:01:00.0");
  EXPECT_EQ(tc_.Client().Get("/api/v1/vms/big", Bearer(viewer_))->status, 404);

  // Four vGPUs on one host with one GPU each: does not fit, and the reason names the need.
  j = JsonOf(
      PostAs(viewer_, "/api/v1/plans/place", {{"name", "quad"}, {"type", "P40-8Q"}, {"vgpus", 4}}));
  EXPECT_EQ(j["fits"], false);
  EXPECT_FALSE(j["explanation"].get<std::string>().empty());

  ASSERT_EQ(CreateVm("big", "P40-8Q"), 201);
  j = JsonOf(PostAs(viewer_, "/api/v1/plans/place", {{"name", "big"}, {"type", "P40-8Q"}}));
  EXPECT_EQ(j["fits"], false);
  EXPECT_THAT(j["explanation"].get<std::string>(), HasSubstr("exists already"));

  r = PostAs(viewer_, "/api/v1/plans/place", {{"name", "x"}, {"type", "P40-9Q"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(JsonOf(r)["field"], "type");
}

TEST_F(PlansTest, DestinationsGiveAVerdictPerOtherHost) {
  ASSERT_EQ(CreateVm("a", "P40-8Q"), 201);
  ASSERT_EQ(CreateVm("b", "P40-3Q"), 201);  // carves a second GPU for 3Q
  auto r = tc_.Client().Get("/api/v1/vms/a/destinations", Bearer(viewer_));
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  nlohmann::json j = JsonOf(r);
  const std::string from = j["from"];
  ASSERT_EQ(j["items"].size(), 2u);
  int ok = 0;
  for (const nlohmann::json& item : j["items"]) {
    EXPECT_NE(item["host"], from);
    if (item["ok"] == true) {
      ++ok;
      EXPECT_EQ(item["live"], true);
      EXPECT_GT(item["stun_seconds"].get<double>(), 1.0);
    } else {
      EXPECT_FALSE(item["reason"].get<std::string>().empty());
    }
  }
  EXPECT_EQ(ok, 1);  // the empty P40; the one carved for 3Q cannot take an 8Q

  r = tc_.Client().Get("/api/v1/vms/nope/destinations", Bearer(viewer_));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(PlansTest, DemandIsPlannedOnTheLiveFleet) {
  ASSERT_EQ(CreateVm("running", "P40-8Q"), 201);
  auto r = PostAs(viewer_, "/api/v1/plans/demand", {{"demand_yaml", kSeedDemand}});
  ASSERT_TRUE(r && r->status == 200) << (r ? r->body : "");
  nlohmann::json j = JsonOf(r);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_EQ(j["policy"], "fragmentation-aware");
  // 12 x 3Q (8 per GPU) and 3 x 8Q next to the running 8Q need four P40s: some are refused.
  EXPECT_EQ(j["summary"]["vms"], 15);
  EXPECT_GE(j["summary"]["rejected"].get<int>(), 1);
  ASSERT_FALSE(j["rejected"].empty());
  EXPECT_THAT(j["rejected"][0]["reason"].get<std::string>(), HasSubstr("P40"));
  ASSERT_EQ(j["bounds"].size(), 1u);
  EXPECT_EQ(j["bounds"][0]["board"], "P40");
  bool running_seen = false;
  for (const nlohmann::json& h : j["hosts"]) {
    for (const nlohmann::json& g : h["gpus"]) {
      for (const nlohmann::json& i : g["instances"]) running_seen |= i["vm"] == "running";
    }
  }
  EXPECT_TRUE(running_seen);
  // Nothing was recorded.
  EXPECT_EQ(JsonOf(tc_.Client().Get("/api/v1/vms", Bearer(viewer_)))["items"].size(), 1u);

  j = JsonOf(PostAs(viewer_, "/api/v1/plans/demand",
                    {{"demand_yaml", kSeedDemand}, {"from_scratch", true}}));
  EXPECT_EQ(j["from_scratch"], true);
  EXPECT_GE(j["summary"]["rejected"].get<int>(), 1);  // 4 GPUs' worth on 3, from scratch too

  r = PostAs(viewer_, "/api/v1/plans/demand",
             {{"demand_yaml", "vms:\n  - name: x\n    type: P40-9Q\n"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(JsonOf(r)["field"], "demand_yaml");
  EXPECT_THAT(JsonOf(r)["message"].get<std::string>(), HasSubstr("demand_yaml:3"));
  r = PostAs(viewer_, "/api/v1/plans/demand", {{"demand_yaml", kSeedDemand}, {"policy", "fast"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(JsonOf(r)["field"], "policy");
  r = PostAs(viewer_, "/api/v1/plans/demand", {{"demand", "x"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(PlansTest, WhoAmINamesTheRole) {
  nlohmann::json j = JsonOf(tc_.Client().Get("/api/v1/whoami", Bearer(viewer_)));
  EXPECT_EQ(j["name"], "eyes");
  EXPECT_EQ(j["role"], "viewer");
  EXPECT_EQ(JsonOf(tc_.Client().Get("/api/v1/whoami", Bearer(op_)))["role"], "operator");
  auto r = tc_.Client().Get("/api/v1/whoami");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST_F(PlansTest, ServesTheNotBuiltPageWithoutAWebDir) {
  auto r = tc_.Client().Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("dashboard was not built"));
  EXPECT_THAT(r->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  EXPECT_EQ(tc_.Client().Get("/assets/index.js")->status, 404);
}

}  // namespace
}  // namespace gpufleet::controller
